#!/bin/sh
# llm-eval run, end to end with real inference on the generated tiny model:
# the demo tasks (one of each request kind), GSM8K and an MMLU group on the
# real data in ../shared, the results layout, sample logs that agree with the
# aggregates, reproducibility, and every bad-input case with its exit code.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
DEMO="--include-path $TOP/examples/demo"
DD="--data-dir $TOP/examples/demo/data"
FIX="--include-path $TOP/tests/fixtures/run --data-dir $TOP/tests/fixtures/run/data --model-path $MODEL --no-progress"

expect "run --help" 0 llm-eval run --help && out_has "--model-path"
expect "demo group end to end" 0 llm-eval $DEMO run $DD --model-path "$MODEL" --tasks demo \
	--output "$T/o1" --log-samples --no-progress &&
	out_has "demo_arith_mc" && out_has "demo_arith_gen" && out_has "demo_prose_ppl" &&
	out_has "acc_norm" && out_has "bits_per_byte" && out_has "first-number"

check "results JSON has the harness layout and samples agree with it" python3 - "$T/o1/tiny" <<'PY'
import glob, json, math, sys
d = sys.argv[1]
res = json.load(open(glob.glob(d + "/results_*.json")[0]))
for k in ("results", "groups", "group_subtasks", "configs", "versions", "n-shot",
          "higher_is_better", "n-samples", "config", "date", "total_evaluation_time_seconds"):
    assert k in res, k
r = res["results"]
assert set(["demo_arith_mc", "demo_arith_gen", "demo_prose_ppl"]) <= set(r), r.keys()
assert "acc,none" in r["demo_arith_mc"] and "acc_stderr,none" in r["demo_arith_mc"]
assert "exact_match,first-number" in r["demo_arith_gen"]
assert res["n-shot"]["demo_arith_mc"] == 3 and res["n-samples"]["demo_arith_mc"]["effective"] == 40
assert res["group_subtasks"]["demo"] == ["demo_arith_mc", "demo_arith_gen", "demo_prose_ppl"]
assert res["config"]["model"] == "llamacpp"
for task, metric, flt in (("demo_arith_mc", "acc", "none"), ("demo_arith_mc", "acc_norm", "none"),
                          ("demo_arith_gen", "exact_match", "first-number")):
    lines = [json.loads(l) for l in open(glob.glob(d + "/samples_%s_*.jsonl" % task)[0])]
    lines = [l for l in lines if l["filter"] == flt]
    assert len(lines) == 40, len(lines)
    for l in lines:
        for key in ("doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "doc_hash", "prompt_hash"):
            assert key in l, key
    mean = sum(l[metric] for l in lines) / len(lines)
    assert abs(mean - r[task]["%s,%s" % (metric, flt)]) < 1e-12, (task, mean)
    n = len(lines)
    sd = math.sqrt(sum((l[metric] - mean) ** 2 for l in lines) / (n - 1))
    assert abs(sd / math.sqrt(n) - r[task]["%s_stderr,%s" % (metric, flt)]) < 1e-12
mc = [json.loads(l) for l in open(glob.glob(d + "/samples_demo_arith_mc_*.jsonl")[0])]
assert len(mc[0]["arguments"]) == 4 and mc[0]["arguments"][0][1].startswith(" ")
assert mc[0]["arguments"][0][0].endswith("Answer:")
PY

expect "same seed, same values" 0 llm-eval $DEMO run $DD --model-path "$MODEL" --tasks demo --output "$T/o2" --no-progress
check "two runs give identical result values" python3 - "$T/o1/tiny" "$T/o2/tiny" <<'PY'
import glob, json, sys
a, b = (json.load(open(glob.glob(d + "/results_*.json")[0])) for d in sys.argv[1:3])
assert a["results"] == b["results"], "results differ"
assert a["configs"] == b["configs"]
PY

expect "--json prints the results object" 0 llm-eval $DEMO run $DD --model-path "$MODEL" --tasks demo_prose_ppl --json --no-progress &&
	out_has '"word_perplexity,none"'

if [ -d "$SHARED/datasets" ]; then
	expect "gsm8k 5-shot on the real data, both filters" 0 llm-eval run --model-path "$MODEL" --tasks gsm8k \
		--data-dir "$SHARED/datasets" --limit 2 --gen-kwargs max_gen_toks=8 --no-progress &&
		out_has "strict-match" && out_has "flexible-extract"
	expect "mmlu group with sub-groups, one question per subject" 0 llm-eval run --model-path "$MODEL" \
		--tasks mmlu --data-dir "$SHARED/datasets" --limit 1 --no-progress --output "$T/o3" &&
		out_has "mmlu_stem" && out_has "mmlu_humanities" && out_has "mmlu_abstract_algebra"
	check "mmlu group is the size-weighted mean of its subjects" python3 - "$T/o3/tiny" <<'PY'
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/results_*.json")[0]))
res = r["results"]
subj = [k for k in res if k.startswith("mmlu_") and k not in ("mmlu_stem", "mmlu_humanities", "mmlu_other", "mmlu_social_sciences")]
assert len(subj) == 57, len(subj)
mean = sum(res[k]["acc,none"] for k in subj) / 57
assert abs(res["mmlu"]["acc,none"] - mean) < 1e-12, (res["mmlu"]["acc,none"], mean)
assert "mmlu" in r["groups"] and "mmlu_stem" in r["groups"]
PY
else
	echo "ok - # skip gsm8k and mmlu: ../shared/datasets is absent"
fi

# Bad input: each a one-line error naming the task, document or file, and its code.
expect "missing data file" 4 llm-eval run $FIX --tasks missing_data &&
	err_has "expected data file" && err_has "nowhere/test.jsonl"
expect "no data directory: the Hub cache, offline here" 4 llm-eval run --model-path "$MODEL" --tasks gsm8k --no-progress &&
	err_has "task 'gsm8k': split 'test': dataset 'openai/gsm8k' (revision 'main', split 'test') is not in the Hub cache at $T/hf/hub/datasets--openai--gsm8k, and HF_HUB_OFFLINE is set"
expect "document without a template field" 4 llm-eval run $FIX --tasks bad_field &&
	err_has "task 'bad_field': doc 0" && err_has "missing field 'a'"
expect "template syntax error" 3 llm-eval run $FIX --tasks bad_syntax &&
	err_has "bad_syntax.yaml:5:" && err_has "doc_to_text"
expect "unknown metric" 3 llm-eval run $FIX --tasks bad_metric && err_has "unknown metric 'accuracy_of_vibes'"
expect "unknown filter" 3 llm-eval run $FIX --tasks bad_filter && err_has "unknown filter 'telepathy'"
expect "regex that does not compile" 3 llm-eval run $FIX --tasks bad_regex && err_has "does not compile"
expect "empty split" 4 llm-eval run $FIX --tasks empty_split && err_has "has no documents"
expect "fewer few-shot examples than num_fewshot" 4 llm-eval run $FIX --tasks few_fewshot &&
	err_has "num_fewshot is 3"
expect "--limit 0" 2 llm-eval run $FIX --tasks empty_split --limit 0 && err_has "--limit"
expect "unknown task" 3 llm-eval run $FIX --tasks no_such_task && err_has "unknown task 'no_such_task'"
expect "missing model file" 3 llm-eval run --model-path "$T/none.gguf" --tasks gsm8k && err_has "none.gguf"
expect "registry model whose GGUF is absent" 3 llm-eval run --model qwen25_math_7b --tasks gsm8k \
	--model-dir "$T/models" && err_has "expected the GGUF file" && err_has "Qwen2.5-Math-7B-Instruct"
expect "no tasks" 2 llm-eval run --model-path "$MODEL" && err_has "--tasks"
expect "--log-samples without --output" 2 llm-eval run $FIX --tasks bad_field --log-samples
expect "bad --gen-kwargs" 2 llm-eval $DEMO run $DD --model-path "$MODEL" --tasks demo_arith_gen --gen-kwargs bogus=1 --no-progress &&
	err_has "unknown key 'bogus'"
done_testing
