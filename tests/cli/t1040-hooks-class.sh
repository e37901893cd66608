#!/bin/sh
# `class:` tasks (issue 15) on tests/hooks/tasks/hk_class, in the harness's
# layout with its own task.py: subclasses of the harness's Task,
# ConfigurableTask and MultipleChoiceTask (served by llm-eval's stand-in
# lm_eval.api modules, since the harness is not installed here), run with
# the tiny model:
#   - generate_until requests with construct_requests' own context and
#     arguments; loglikelihood requests each with its own context; the
#     base MultipleChoiceTask's requests and process_results;
#   - the class's <split>_docs process the documents, few-shot examples
#     included (Task.fewshot_context: text + target, "\n\n" after each);
#   - process_results per document, aggregations: lm_eval.api.metrics.mean
#     (a standard error), a registered function and a plain one (N/A);
#   - validate checks class tasks without starting Python;
#   - refusals, one line each, before any model loads: requests of two
#     kinds, a base method the stand-in does not serve, a class that loads
#     its own data, a class that is no Task, a missing module.
# The expected prompts and figures are worked out here from the documents
# and the sample log's responses, by the harness's documented rules.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
INC="--include-path $TOP/tests/hooks/tasks/hk_class"
DD="--data-dir $TOP/tests/hooks/data"
# a python3 that says so on stderr when started (the worker's stderr is
# llm-eval's; from its sandbox it cannot leave a file on the host). As
# root the worker runs as nobody, who must reach the script and the tree.
mkdir -p "$T/bin"
cat >"$T/bin/py" <<'SH'
#!/bin/sh
echo py-started >&2
exec python3 "$@"
SH
chmod 755 "$T" "$T/bin" "$T/bin/py"
export LLM_EVAL_PYTHON="$T/bin/py"

expect "validate checks class tasks without python" 0 llm-eval $INC validate --report &&
	out_has "hk_cls_gen	python-task	python	ok" && out_has "hk_cls_mixed	python-task	python	ok"
check "validate started no python" [ "$(grep -c '^py-started$' "$ERR")" -eq 0 ]

expect "class tasks run" 0 llm-eval $INC run $DD --model-path "$MODEL" --tasks hk_cls_gen,hk_cls_choice,hk_cls_mc \
	--output "$T/o" --log-samples --no-progress
cat >"$T/check.py" <<'PY'
import glob, json, math, random, sys
out, data = sys.argv[1:3]
res = json.load(open(glob.glob(out + "/tiny/results_*.json")[0]))
r = res["results"]

def rows(p):
    return [json.loads(l) for l in open(p, encoding="utf-8")]

def samples(task):
    f = glob.glob("%s/tiny/samples_%s_*.jsonl" % (out, task))
    assert len(f) == 1, f
    return [json.loads(l) for l in open(f[0], encoding="utf-8")]

def close(a, b):
    assert abs(a - b) <= 1e-9 * max(1, abs(b)), (a, b)

def stderr(xs):  # lm_eval/api/metrics.py mean_stderr: sample stddev / sqrt(n)
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) / math.sqrt(len(xs))

val, train = rows(data + "/hkcls/validation.jsonl"), rows(data + "/hkcls/train.jsonl")

# GenTask: the context and arguments construct_requests gives, its docs numbered by validation_docs
g = samples("hk_cls_gen")
assert [s["arguments"][0][0] for s in g] == ["Q%d: %s A:" % (i, d["question"]) for i, d in enumerate(val)], g
for s in g:
    a = s["arguments"][0][1]
    assert a["until"] == ["\n", "."] and a["max_gen_toks"] == 5, a
preds = [s["resps"][0][0] for s in g]
hits = [float(d["answer"] in p.lower()) for d, p in zip(val, preds)]
close(r["hk_cls_gen"]["hit,none"], sum(hits) / len(hits))
close(r["hk_cls_gen"]["hit_stderr,none"], stderr(hits))
close(r["hk_cls_gen"]["chars,none"], sum(len(p) for p in preds))
assert r["hk_cls_gen"]["chars_stderr,none"] == "N/A"
close(r["hk_cls_gen"]["pred,none"], max(len(p) for p in preds))
assert res["higher_is_better"]["hk_cls_gen"] == {"hit": True, "chars": False, "pred": True}, res["higher_is_better"]
assert str(res["versions"]["hk_cls_gen"]) in ("2", "2.0"), res["versions"]

# ChoiceTask: one example from the training docs (random.Random(1234).sample
# per document, Task.fewshot_context), then the upper-cased question;
# each choice its own context
c = samples("hk_cls_choice")
rnd = random.Random(1234)
for s, d in zip(c, val):
    ex = rnd.sample(train, 1)
    ctx = "".join(x["question"] + x["choices"][x["gold"]] for x in ex) + "\n\n" + d["question"].upper()
    want = [[ctx + " (%d)" % i, " " + ch] for i, ch in enumerate(d["choices"])]
    assert s["arguments"] == want, (s["arguments"], want)
accs, greedy = [], 0
for s, d in zip(c, val):
    lls = [x[0][0] for x in s["resps"]]
    accs.append(1.0 if lls.index(max(lls)) == d["gold"] else 0.0)
    greedy += sum(1 for x in s["resps"] if x[0][1])
close(r["hk_cls_choice"]["acc,none"], sum(accs) / len(accs))
close(r["hk_cls_choice"]["greedy,none"], greedy)
assert r["hk_cls_choice"]["greedy_stderr,none"] == "N/A"

# MultipleChoiceTask: (ctx, " " + choice) per choice; acc and acc_norm
# (log-likelihood over the choice's length in characters)
m = samples("hk_cls_mc")
acc, norm = [], []
for s, d in zip(m, val):
    ctx = "Question: " + d["question"] + "\nAnswer:"
    assert s["arguments"] == [[ctx, " " + ch] for ch in d["choices"]], s["arguments"]
    lls = [x[0][0] for x in s["resps"]]
    n = [ll / len(ch) for ll, ch in zip(lls, d["choices"])]
    acc.append(float(lls.index(max(lls)) == d["gold"]))
    norm.append(float(n.index(max(n)) == d["gold"]))
close(r["hk_cls_mc"]["acc,none"], sum(acc) / len(acc))
close(r["hk_cls_mc"]["acc_norm,none"], sum(norm) / len(norm))
close(r["hk_cls_mc"]["acc_norm_stderr,none"], stderr(norm))
PY
check "prompts and figures as the harness's rules give them" python3 "$T/check.py" "$T/o" "$TOP/tests/hooks/data"

printf '%s' '{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>' >"$T/chat.jinja"
expect "a class task with a chat template" 3 llm-eval $INC run $DD --model-path "$MODEL" --tasks hk_cls_gen \
	--apply-chat-template="$T/chat.jinja" --output "$T/x" --no-progress &&
	err_has "task 'hk_cls_gen': a class task with --apply-chat-template is not supported"
expect "requests of two kinds for one document" 3 llm-eval $INC run $DD --model-path "$MODEL" --tasks hk_cls_mixed \
	--output "$T/x" --no-progress &&
	err_has "task 'hk_cls_mixed': doc 0: construct_requests: 'task.Mixed@hk_cls_mixed.construct_requests' makes generate_until and loglikelihood requests for one document; llm-eval runs one request kind per task" &&
	{ [ "$(grep -vc '^py-started$' "$ERR")" -eq 1 ] || fail "more than one line"; }
expect "a base method the stand-in does not serve" 3 llm-eval $INC run $DD --model-path "$MODEL" --tasks hk_cls_bare \
	--output "$T/x" --no-progress &&
	err_has "hk_cls_bare.yaml:2:8: task 'hk_cls_bare': class: 'task.Bare': class Bare uses ConfigurableTask.aggregation of the harness's lm_eval.api.task, which llm-eval's stand-in does not serve; the class must define aggregation"
expect "a class that loads its own data" 3 llm-eval $INC run $DD --model-path "$MODEL" --tasks hk_cls_own \
	--output "$T/x" --no-progress &&
	err_has "task 'hk_cls_own': class: 'task.OwnData': class OwnData loads its own data (OwnData.download), which llm-eval does not run: it reads the splits of the task's dataset_path instead"
expect "a class that is no Task" 3 llm-eval $INC run $DD --model-path "$MODEL" --tasks hk_cls_plain \
	--output "$T/x" --no-progress &&
	err_has "task 'hk_cls_plain': class: 'task.NotATask': class NotATask is not a subclass of lm_eval.api.task.Task (its bases: object)"
expect "a missing module" 3 llm-eval $INC run $DD --model-path "$MODEL" --tasks hk_cls_missing \
	--output "$T/x" --no-progress &&
	err_has "task 'hk_cls_missing': class: 'missing.Cls': python module 'llm_eval_no_such_module' is not installed (pip install llm_eval_no_such_module)"
check "no model was loaded for the refusals" test ! -d "$T/x/tiny"
done_testing
