#!/bin/sh
# run's options to choose documents and look at prompts (issue 18, "also
# wanted"): --samples (TASK:IDS and the harness's JSON form), --show-prompts N
# (no model, then exit), --write-out / -w (the first document's requests on
# stderr, then the run) and --metadata (merged into each task's metadata in
# the results' configs). The test backend answers; no model file.
. "$(dirname "$0")/lib.sh"
export LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins"
mkdir -p "$T/reg/models"
cat >"$T/reg/models/tb.yaml" <<EOF2
name: tb
description: test backend
hf_repo: none/none
categories: [demo]
backend: testbackend
backends:
  testbackend:
    model: tb
EOF2
D="--include-path $TOP/examples/demo --include-path $T/reg run --data-dir $TOP/examples/demo/data --no-store --no-cache --no-progress"

# --samples: the sample log has exactly the chosen documents, n-samples counts them
# shellcheck disable=SC2086
expect "--samples TASK:IDS" 0 llm-eval $D --model tb --tasks demo_arith_mc --samples demo_arith_mc:3,7-8 \
	--output "$T/o1" --log-samples
check "only documents 3, 7 and 8 are logged and counted" python3 - "$T/o1/tb" <<'PY'
import glob, json, sys
d = sys.argv[1]
ids = sorted(json.loads(l)["doc_id"] for l in open(glob.glob(d + "/samples_demo_arith_mc_*.jsonl")[0]))
assert ids == [3, 7, 8], ids
r = json.load(open(glob.glob(d + "/results_*.json")[0]))
assert r["n-samples"]["demo_arith_mc"]["effective"] == 3, r["n-samples"]
PY
# shellcheck disable=SC2086
expect "--samples in the harness's JSON form" 0 llm-eval $D --model tb --tasks demo_arith_mc \
	--samples '{"demo_arith_mc": [8, 3, 7, 3]}' --output "$T/o2" --log-samples
check "the same documents, the same prompts" sh -c "
	cut -d, -f1-3 '$T'/o1/tb/samples_*.jsonl | sort >'$T/a' &&
	cut -d, -f1-3 '$T'/o2/tb/samples_*.jsonl | sort >'$T/b' && cmp -s '$T/a' '$T/b'"
# shellcheck disable=SC2086
expect "--samples naming a task not run" 2 llm-eval $D --model tb --tasks demo_arith_mc --samples demo_arith_gen:1 &&
	err_has "--samples: task 'demo_arith_gen' is not one this run evaluates"
# shellcheck disable=SC2086
expect "--samples past the split" 2 llm-eval $D --model tb --tasks demo_arith_mc --samples demo_arith_mc:99999 &&
	err_has "there is no document 99999"
# shellcheck disable=SC2086
expect "--samples with --limit" 2 llm-eval $D --model tb --tasks demo_arith_mc --samples demo_arith_mc:1 --limit 3
# shellcheck disable=SC2086
expect "--samples not ids" 2 llm-eval $D --model tb --tasks demo_arith_mc --samples demo_arith_mc:1,x &&
	err_has "is not a list of document ids"

# --show-prompts: no model, the prompts as the run builds them, then exit
# shellcheck disable=SC2086
expect "--show-prompts 2 without a model" 0 llm-eval $D --tasks demo_arith_gen --show-prompts 2 &&
	out_has "task 'demo_arith_gen'; document 0; context prompt (starting on next line):" &&
	out_has "task 'demo_arith_gen'; document 1;" && out_has "(end of prompt on previous line)"
check "exactly two documents" sh -c "[ \$(grep -c '^task ' '$OUT') = 2 ] && ! grep -q 'document 2;' '$OUT'"
check "nothing ran (no table)" sh -c "! grep -q exact_match '$OUT'"
# The prompt printed is the one the run sends: the sample log's arguments.
# shellcheck disable=SC2086
expect "--show-prompts 1 of a multiple-choice task" 0 llm-eval $D --tasks demo_arith_mc --show-prompts 1 &&
	out_has "continuation (starting on next line):"
cp "$OUT" "$T/shown"
check "the context shown is the sample log's" python3 - "$T/shown" "$T/o1/tb" <<'PY'
import glob, json, re, sys
shown = open(sys.argv[1]).read()
m = re.search(r"document 0; context prompt \(starting on next line\):\n(.*?)\n\(end of prompt on previous line\)", shown, re.S)
assert m, shown[:200]
# documents 3, 7, 8 were logged with --samples; --show-prompts without it starts at 0,
# whose few-shot draws are the first of the sampler, as document 3's are under --samples
s = [json.loads(l) for l in open(glob.glob(sys.argv[2] + "/samples_demo_arith_mc_*.jsonl")[0])]
ctx = s[0]["arguments"][0][0]
assert ctx.rsplit("Question:", 1)[0] == m.group(1).rsplit("Question:", 1)[0], (ctx, m.group(1))
PY
# --write-out / -w: the first document's requests on stderr, and the run goes on
# shellcheck disable=SC2086
expect "-w prints the first document's prompt and runs" 0 llm-eval $D --model tb --tasks demo_arith_gen -w --limit 3 &&
	err_has "task 'demo_arith_gen'; document 0; context prompt" && out_has "exact_match"
check "only the first document" sh -c "! grep -q 'document 1;' '$ERR'"

# --metadata: merged into each task's metadata in the results' configs
# shellcheck disable=SC2086
expect "--metadata" 0 llm-eval $D --model tb --tasks demo_arith_gen --limit 2 --output "$T/o3" \
	--metadata '{"max_seq_lengths": [4096], "version": 7}'
check "configs show it, its keys winning" python3 - "$T/o3/tb" <<'PY'
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/results_*.json")[0]))
m = r["configs"]["demo_arith_gen"]["metadata"]
assert m["max_seq_lengths"] == [4096] and m["version"] == 7, m
assert "description" in m, m
PY
# shellcheck disable=SC2086
expect "--metadata not an object" 2 llm-eval $D --model tb --tasks demo_arith_gen --metadata '[1]' &&
	err_has "option '--metadata' takes a JSON object"

# --config FILE: the harness's YAML of run options; the command line wins
cat >"$T/cfg.yaml" <<EOF2
model: tb
tasks: [demo_arith_gen]
limit: 2
output_path: $T/o6
log_samples: true
gen_kwargs: {max_gen_toks: 4}
EOF2
# shellcheck disable=SC2086
expect "--config" 0 llm-eval $D --config "$T/cfg.yaml"
check "the file's options ran: 2 documents, samples logged, gen_kwargs applied" python3 - "$T/o6/tb" <<'PY'
import glob, json, sys
d = sys.argv[1]
r = json.load(open(glob.glob(d + "/results_*.json")[0]))
assert r["n-samples"]["demo_arith_gen"]["effective"] == 2, r["n-samples"]
s = [json.loads(l) for l in open(glob.glob(d + "/samples_demo_arith_gen_*.jsonl")[0])]
assert len(s) == 2 and all(len(x["resps"][0][0]) <= 4 for x in s), s[0]["resps"]
PY
# shellcheck disable=SC2086
expect "--config with the command line's --limit" 0 llm-eval $D --config "$T/cfg.yaml" --limit 1 --output "$T/o7"
check "the command line wins" python3 - "$T/o7/tb" <<'PY'
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/results_*.json")[0]))
assert r["n-samples"]["demo_arith_gen"]["effective"] == 1, r["n-samples"]
PY
printf 'model: tb\nnope: 1\n' >"$T/bad.yaml"
# shellcheck disable=SC2086
expect "--config with an unknown key" 3 llm-eval $D --config "$T/bad.yaml" --tasks demo_arith_gen &&
	err_has "bad.yaml:2:7: 'nope' is not an option of run"

# prompt_tokens in the results (issue 18, item 7): the backend's count of the
# input it read (backend ABI 1.2, lle_result.n_prompt_tokens), added up. The
# test backend reads one token per byte of the context (and continuation).
# shellcheck disable=SC2086
expect "prompt_tokens counted" 0 llm-eval $D --model tb --tasks demo_arith_mc,demo_arith_gen --limit 3 \
	--output "$T/o5" --log-samples
check "prompt_tokens is the bytes of every request's input" python3 - "$T/o5/tb" <<'PY'
import glob, json, sys
d = sys.argv[1]
r = json.load(open(glob.glob(d + "/results_*.json")[0]))
want = 0
for f in glob.glob(d + "/samples_*.jsonl"):
    for line in open(f):
        for a in json.loads(line)["arguments"]:
            want += len(a[0].encode()) + (len(a[1].encode()) if isinstance(a[1], str) else 0)
got = r["monitor"]["progress"]["prompt_tokens"]
assert want > 0 and got == want, (got, want)
PY
done_testing
