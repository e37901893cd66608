#!/bin/sh
# lm-evaluation-harness compatibility of metric options and YAML quirks
# (issue 14, item 9), on the harness-layout configs of tests/compat/options
# run with the test backend (scripted generations, hashed log-likelihoods):
#   - options the harness passes to metric functions that a multiple_choice
#     task never calls (belebele's `weight_by_size` on acc, evalita's
#     `average: macro` on f1, `hf_evaluate`) are ignored, so f1 stays the
#     binary F1 of the aggregation `f1` (sklearn's f1_score defaults);
#   - a repeated YAML key keeps its last value, with one warning (PyYAML);
#   - flags are Python's truth of what PyYAML read (`ignore_case: true` run
#     on into a folded plain scalar is a non-empty string: true; `0` is
#     false);
#   - a string metadata.version is kept, as ConfigurableTask.VERSION;
#   - options the harness fails on are refused, naming them.
. "$(dirname "$0")/lib.sh"
export LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins"
C="$TOP/tests/compat/options"
mkdir -p "$T/reg/models"
# The scripted generations, one per document of co/gen.jsonl in order.
printf 'answer: PARIS\n%%%%\nanswer: rome.\n%%%%\nanswer: Oslo\n\nQ: more\n%%%%\nthe answer is Bern\n' >"$T/replies.txt"
cat >"$T/reg/models/scripted.yaml" <<EOF
name: scripted
description: test backend with scripted completions
hf_repo: none/none
categories: [coding]
backend: testbackend
backends:
  testbackend:
    model: scripted
    replies: $T/replies.txt
EOF
RUN="--include-path $T/reg --include-path $C run --model scripted --data-dir $C/data --no-progress"

expect "options the harness ignores or reads loosely" 0 llm-eval $RUN --tasks co_mc,co_gen \
	--output "$T/o" --log-samples &&
	err_has "warning: $C/co_gen.yaml:16:9: duplicate key 'regex_pattern': the last value is used, as PyYAML does"
[ "$(grep -c "duplicate key" "$ERR")" = 1 ] || fail "the duplicate key is not warned about exactly once"
check "scores and versions as the harness computes them" python3 - "$T/o/scripted" <<'PY'
import glob, json, math, sys
d = sys.argv[1]
res = json.load(open(glob.glob(d + "/results_*.json")[0]))
r = res["results"]

def samples(task):
    return [json.loads(l) for l in open(glob.glob("%s/samples_%s_*.jsonl" % (d, task))[0])]

# multiple_choice (ConfigurableTask.process_results, lm_eval/api/task.py):
# pred = np.argmax(lls); acc = pred == gold; f1 and mcc items (gold, pred),
# aggregated by f1_score (sklearn, average="binary", pos_label=1) and
# matthews_corrcoef (lm_eval/api/metrics.py); no option reaches them.
pairs = []
for s in samples("co_mc"):
    lls = [x[0] for x in s["filtered_resps"]]
    pairs.append((s["doc"]["label"], lls.index(max(lls))))
tp = sum(g == 1 and p == 1 for g, p in pairs)
fp = sum(g == 0 and p == 1 for g, p in pairs)
fn = sum(g == 1 and p == 0 for g, p in pairs)
tn = len(pairs) - tp - fp - fn
acc = sum(g == p for g, p in pairs) / len(pairs)
f1 = 2 * tp / (2 * tp + fp + fn)
den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
mcc = (tp * tn - fp * fn) / den if den else 0.0
# average: macro would have been the mean of both classes' F1: not asked for
f1_neg = 2 * tn / (2 * tn + fn + fp)
assert abs((f1 + f1_neg) / 2 - f1) > 1e-6, "the data does not tell binary from macro F1"
m = r["co_mc"]
assert m["acc,none"] == acc, (m["acc,none"], acc)
assert abs(m["f1,none"] - f1) < 1e-15, (m["f1,none"], f1)
assert abs(m["mcc,none"] - mcc) < 1e-15, (m["mcc,none"], mcc)
assert res["higher_is_better"]["co_mc"]["mcc"] is True, res["higher_is_better"]["co_mc"]

# generate_until: regex with the LAST regex_pattern, "answer: (\S+)", then
# take_first; exact_match_hf_evaluate with ignore_case truthy (lower both)
# and ignore_punctuation falsy (0):
#   "answer: PARIS" -> "PARIS" ~ "Paris": 1; "answer: rome." -> "rome." vs
#   "rome": 0 (punctuation kept); "answer: Oslo" -> 1 (cut at "\n\n");
#   "the answer is Bern" -> no match, fallback "[invalid]": 0
em = [s["exact_match"] for s in samples("co_gen")]
assert em == [1.0, 0.0, 1.0, 0.0], em
assert [s["filtered_resps"] for s in samples("co_gen")] == [["PARIS"], ["rome."], ["Oslo"], ["[invalid]"]]
assert r["co_gen"]["exact_match,get"] == 0.5, r["co_gen"]

# versions: metadata.version as PyYAML read it
assert res["versions"] == {"co_mc": "1.0.0", "co_gen": 2}, res["versions"]
assert res["configs"]["co_mc"]["metadata"]["version"] == "1.0.0"
PY
out_has "|co_mc |1.0.0  |"

expect "an option exact_match_hf_evaluate does not take" 3 llm-eval $RUN --tasks co_bad --output "$T/b" &&
	err_has "$C/co_bad.yaml:11:21: task 'co_bad': unknown option 'weight_by_size' for metric 'exact_match' (lm-evaluation-harness's exact_match_hf_evaluate fails on it too)"
expect "hf_evaluate: true on a generate_until metric" 3 llm-eval $RUN --tasks co_hf --output "$T/h" &&
	err_has "$C/co_hf.yaml:12:18: task 'co_hf': metric 'f1' with 'hf_evaluate: true' is Hugging Face evaluate's 'f1', which llm-eval does not implement"
expect "validate: the same, with the warning counted" 3 llm-eval validate --include-path "$T/reg" --include-path "$C" &&
	err_has "unknown option 'weight_by_size' for metric 'exact_match'" && err_has "'hf_evaluate: true'" &&
	err_has "duplicate key 'regex_pattern'"
done_testing
