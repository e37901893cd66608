#!/bin/sh
# run --predict-only (issue 18, "also wanted"): lm-evaluation-harness's
# --predict_only / -x. The harness (lm_eval/evaluator.py simple_evaluate)
# overrides every task's metrics with "bypass" (api/task.py override_metric)
# and turns log_samples on; bypass gives None per document and its
# aggregation bypass_agg returns 999 (api/metrics.py), with no standard error
# ("N/A"); a log-likelihood task's process_results returns no key for it, so
# its results hold only the alias. Here: the same results file, the sample
# logs, no sandboxed programs for code tasks, and a table, results show and
# report that show no number. The test backend answers; no model file.
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
D="--include-path $TOP/examples/demo --include-path $T/reg run --data-dir $TOP/examples/demo/data --no-progress"

# shellcheck disable=SC2086
expect "--predict-only on the demo's three kinds of task" 0 llm-eval $D --model tb --tasks demo --limit 6 \
	--predict-only --output "$T/p" --store "$T/runs.sqlite" --cache "$T/cache.sqlite" &&
	out_has "predicted only" && out_lacks "999" && out_lacks "exact_match" && out_lacks "acc_norm"
check "the results file is the harness's: bypass 999 / N/A for generations, only the alias otherwise" \
	python3 - "$T/p/tb" <<'PY'
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/results_*.json")[0]))
res = r["results"]
assert res["demo_arith_gen"] == {"alias": "demo_arith_gen", "bypass,first-number": 999,
                                 "bypass_stderr,first-number": "N/A"}, res["demo_arith_gen"]
assert res["demo_arith_mc"] == {"alias": "demo_arith_mc"}, res["demo_arith_mc"]
assert res["demo_prose_ppl"] == {"alias": "demo_prose_ppl"}, res["demo_prose_ppl"]
for t in ("demo_arith_gen", "demo_arith_mc", "demo_prose_ppl"):
    assert r["higher_is_better"][t] == {"bypass": True}, r["higher_is_better"]
    assert r["configs"][t]["metric_list"] == [{"metric": "bypass"}], r["configs"][t]
    assert r["n-samples"][t]["effective"] == 6, r["n-samples"]
PY
check "samples are logged without --log-samples: predictions, no scores" python3 - "$T/p/tb" <<'PY'
import glob, json, sys
d = sys.argv[1]
gen = [json.loads(l) for l in open(glob.glob(d + "/samples_demo_arith_gen_*.jsonl")[0])]
assert len(gen) == 6 and all(l["metrics"] == ["bypass"] and l["bypass"] is None for l in gen), gen[0]
assert all(len(l["resps"][0]) == 1 and "filtered_resps" in l for l in gen), gen[0]
mc = [json.loads(l) for l in open(glob.glob(d + "/samples_demo_arith_mc_*.jsonl")[0])]
assert len(mc) == 6 and all(l["metrics"] == [] and "acc" not in l for l in mc), mc[0]
assert all(len(l["resps"]) == len(l["doc"]["choices"]) for l in mc), mc[0]
PY
# The same predictions as a scored run: the response cache serves them, and
# the scored run after a predict-only one sends nothing.
# shellcheck disable=SC2086
expect "a scored run afterwards, from the cache" 0 llm-eval $D --model tb --tasks demo --limit 6 \
	--output "$T/s" --log-samples --store "$T/runs.sqlite" --cache "$T/cache.sqlite" &&
	out_has "exact_match" && out_lacks "predicted only"
check "every request came from the cache; the resps are the predict-only run's" \
	python3 - "$T/p/tb" "$T/s/tb" <<'PY'
import glob, json, sys
p, s = sys.argv[1:]
r = json.load(open(glob.glob(s + "/results_*.json")[0]))
assert r["requests"]["sent"] == 0 and r["requests"]["cached"] > 0, r["requests"]
for t in ("demo_arith_gen", "demo_arith_mc", "demo_prose_ppl"):
    a = [json.loads(l) for l in open(glob.glob(p + "/samples_%s_*.jsonl" % t)[0])]
    b = [json.loads(l) for l in open(glob.glob(s + "/samples_%s_*.jsonl" % t)[0])]
    key = lambda l: (l["doc_id"], l["filter"])
    assert [(key(l), l["resps"], l["arguments"]) for l in sorted(a, key=key)] == \
           [(key(l), l["resps"], l["arguments"]) for l in sorted(b, key=key)], t
PY
expect "results show: the predict-only run has no number" 0 llm-eval results show 1 --store "$T/runs.sqlite" &&
	out_has "predicted" && out_lacks "999"
expect "report of the predict-only run alone: no scores" 2 llm-eval report 1 --store "$T/runs.sqlite" &&
	err_has "has predictions, no scores"
expect "report of both runs: the scored run's numbers only" 0 llm-eval report 1 2 --store "$T/runs.sqlite" &&
	out_lacks "999" && out_lacks "bypass"
expect "compare: nothing to compare against a predict-only run" 2 llm-eval compare 1 2 --store "$T/runs.sqlite" &&
	err_has "run 1 was --predict-only: it has predictions, no scores"

# The harness's spellings: --predict_only and -x, each implying --log-samples.
# shellcheck disable=SC2086
expect "--predict_only" 0 llm-eval $D --model tb --tasks demo_arith_gen --limit 2 --predict_only \
	--output "$T/u" --no-store --no-cache
check "... logs samples" sh -c "ls '$T'/u/tb/samples_demo_arith_gen_*.jsonl"
# shellcheck disable=SC2086
expect "-x" 0 llm-eval $D --model tb --tasks demo_arith_gen --limit 2 -x -o "$T/x" --no-store --no-cache
check "... logs samples" sh -c "ls '$T'/x/tb/samples_demo_arith_gen_*.jsonl"
# shellcheck disable=SC2086
expect "--predict-only needs --output (the harness: needs --output_path)" 2 llm-eval $D --model tb \
	--tasks demo_arith_gen --predict-only && err_has "--predict-only needs --output DIR"
# shellcheck disable=SC2086
expect "--predict-only with --shard: merge has no metrics to merge" 2 llm-eval $D --model tb \
	--tasks demo_arith_gen --predict-only --output "$T/sh" --shard 0/2 && err_has "exclude each other"

# A code task: the completions are logged, no program runs (no sandbox, no
# pass@k), even the scripted one that would allocate a terabyte.
FIXD="$TOP/tests/fixtures/code"
cat >"$T/reg/models/sc.yaml" <<EOF2
name: sc
description: test backend with scripted completions
hf_repo: none/none
categories: [coding]
backend: testbackend
backends:
  testbackend:
    model: scripted
    replies: $T/replies.txt
EOF2
printf '    return a + b\n%%%%\n    x = bytearray(10 ** 12)\n    return len(x)\n' >"$T/replies.txt"
expect "a code task: predictions only" 0 llm-eval --include-path "$T/reg" --include-path "$FIXD" run --model sc \
	--tasks code_rep4 --data-dir "$FIXD/data" --predict-only --output "$T/c" --no-store --no-cache --no-progress &&
	out_lacks "pass@"
check "no program ran: no code_exec outcomes, no pass@k" python3 - "$T/c/sc" <<'PY'
import glob, json, sys
d = sys.argv[1]
r = json.load(open(glob.glob(d + "/results_*.json")[0]))["results"]["code_rep4"]
assert r == {"alias": "code_rep4", "bypass,none": 999, "bypass_stderr,none": "N/A"}, r
lines = [json.loads(l) for l in open(glob.glob(d + "/samples_code_rep4_*.jsonl")[0])]
assert lines and all("code_exec" not in l and l["metrics"] == ["bypass"] for l in lines), lines[0]
assert len(lines[0]["resps"][0]) == 4, lines[0]["resps"]
PY
done_testing
