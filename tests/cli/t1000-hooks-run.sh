#!/bin/sh
# Python hooks (issue 15) on the task tree of tests/hooks/tasks, in the
# harness's layout with its own utils.py files, run with the tiny model:
#   - process_docs runs on the whole split (filter + map with indices) and
#     its documents make the prompts, few-shot examples included;
#   - doc_to_text / doc_to_target / doc_to_choice hooks, named in an
#     included file, are found beside that file;
#   - few-shot examples from a fewshot_config.samples function;
#   - the prompts equal what the harness builds from the same functions
#     (the oracle below applies lm_eval/api/task.py's rules in Python);
#   - process_docs' output is cached: a rerun starts no Python;
#   - a run without hooks starts no Python;
#   - a hook's exception names task, document, hook and the last frame
#     (with --on-error stop it ends the run);
#   - a missing module is one line with how to install it, exit 3.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
INC="--include-path $TOP/tests/hooks/tasks"
DD="--data-dir $TOP/tests/hooks/data"
# a python3 that says so on stderr when started (the worker's stderr is
# llm-eval's; from its sandbox it cannot leave a file on the host). As
# root the worker runs as nobody, who must reach the script.
mkdir "$T/bin"
cat >"$T/bin/py" <<'SH'
#!/bin/sh
echo py-started >&2
exec python3 "$@"
SH
chmod 755 "$T" "$T/bin" "$T/bin/py"
export LLM_EVAL_PYTHON="$T/bin/py"
started() { grep -c '^py-started$' "$ERR"; }

expect "a task without hooks runs" 0 llm-eval $INC run $DD --model-path "$MODEL" --tasks hk_plain \
	--output "$T/p" --no-progress
check "and starts no python" test "$(started)" -eq 0

expect "hook tasks run" 0 llm-eval $INC run $DD --model-path "$MODEL" --tasks hk_mc,hk_docfn,hk_samples \
	--output "$T/o" --log-samples --no-progress
check "python was started once" test "$(started)" -eq 1

cat >"$T/oracle.py" <<'PY'
# The harness's prompts from the same hook functions: ConfigurableTask
# (lm_eval/api/task.py): docs = process_docs(split); few-shot examples from
# the processed training split, random.Random(1234).sample(docs, k + 1)
# without the document itself when fewshot_split == test_split (both None);
# an example is doc_to_text + target_delimiter + choices[doc_to_target] +
# fewshot_delimiter; multiple_choice requests are (ctx, " " + choice).
import glob, importlib.util, json, random, sys
drv, tasks, data, out = sys.argv[1:5]

def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m

load(drv, "lle_driver")  # the datasets stand-in, as the worker has it
import datasets

def rows(p):
    return [json.loads(l) for l in open(p, encoding="utf-8")]

def samples(task):
    f = glob.glob("%s/tiny/samples_%s_*.jsonl" % (out, task))
    assert len(f) == 1, f
    return [json.loads(l)["arguments"] for l in open(f[0], encoding="utf-8")]

u = load(tasks + "/hk_mc/utils.py", "utils")
train = u.process_docs(datasets.Dataset.from_list(rows(data + "/hkdata/train.jsonl"))).to_list()
val = u.process_docs(datasets.Dataset.from_list(rows(data + "/hkdata/validation.jsonl"))).to_list()
assert len(val) == 2  # the skipped one is gone
rnd = random.Random(1234)
want = []
for doc in val:
    ex = [x for x in rnd.sample(train, 2) if x != doc][:1]
    ctx = "".join(x["query"] + " " + x["choices"][x["label"]] + "\n\n" for x in ex) + doc["query"]
    want.append([[ctx, " " + c] for c in doc["choices"]])
got = samples("hk_mc")
assert got == want, (got, want)

d = load(tasks + "/hk_docfn/sub/utils.py", "utils")
want = [[[d.doc_to_text(doc), " " + c] for c in d.doc_to_choice(doc)]
        for doc in rows(data + "/hkdata/validation.jsonl")]
got = samples("hk_docfn")
assert got == want, (got, want)

# fewshot_config.samples from a function, first_n: its first 2 documents
# (lm_eval/api/samplers.py FirstNSampler; the evaluated split differs)
p = load(tasks + "/hk_samples/prompts.py", "prompts")
ex = p.examples()[:2]
pre = "".join("Q: %s %s\n\n" % (x["ctx"], x["endings"][int(x["label"])]) for x in ex)
want = [[[pre + "Q: " + doc["ctx"], " " + c] for c in doc["endings"]]
        for doc in rows(data + "/hkdata/validation.jsonl")]
got = samples("hk_samples")
assert got == want, (got, want)
print("ok")
PY
check "prompts equal the harness's from the same hooks" \
	python3 "$T/oracle.py" "$TOP/src/hooks/driver.py" "$TOP/tests/hooks/tasks" "$TOP/tests/hooks/data" "$T/o"

expect "a rerun of a process_docs task" 0 llm-eval $INC run $DD --model-path "$MODEL" --tasks hk_mc \
	--output "$T/o2" --no-progress --no-cache
check "takes process_docs' output from the cache: no python" test "$(started)" -eq 0

# (--on-error continue, the default, goes on with the other documents: t1031)
expect "with --on-error stop, a hook's exception ends the run" 4 llm-eval $INC run $DD --model-path "$MODEL" \
	--tasks hk_err --output "$T/e" --no-progress --on-error stop
err_has "task 'hk_err': doc 2: doc_to_text: 'utils.doc_to_text': KeyError: 'no_such_field' (at $TOP/tests/hooks/tasks/hk_err/utils.py:4 in doc_to_text)"

expect "a missing module is a config error" 3 llm-eval $INC run $DD --model-path "$MODEL" --tasks hk_missing \
	--output "$T/m" --no-progress
err_has "task 'hk_missing': split 'validation': process_docs: 'utils.process_docs': python module 'llm_eval_test_no_such_module' is not installed (pip install llm_eval_test_no_such_module)"
check "in one line" test "$(grep -vc '^py-started$' "$ERR")" -eq 1
done_testing
