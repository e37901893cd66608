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
#   - options the harness fails on are refused, naming them;
#   - wer (item 10) as Hugging Face evaluate and jiwer compute it, and
#     likelihood refused with the reason.
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

# wer (item 10): Hugging Face evaluate's metric, which the harness loads for
# a name its registry lacks; the oracle is jiwer's default transform and
# HF evaluate's sum of its counts written out in Python (jiwer/transforms.py
# RemoveMultipleSpaces, Strip, ReduceToListOfListOfWords; evaluate's
# metrics/wer/wer.py: (S + D + I) / (S + D + H), the word-level Levenshtein
# distance over the reference's length). The replies test runs of Unicode
# whitespace (NBSP, U+001C), a lone newline inside a word and an empty answer.
printf 'the cat sat on mat\n%%%%\na b c d e\n%%%%\none two three\n%%%%\nx\034\034y z\n%%%%\n' >"$T/wer.txt"
sed "s#replies: .*#replies: $T/wer.txt#; s#^name: scripted#name: scripted_wer#" "$T/reg/models/scripted.yaml" \
	>"$T/reg/models/scripted_wer.yaml"
expect "wer" 0 llm-eval --include-path "$T/reg" --include-path "$C" run --model scripted_wer --data-dir "$C/data" \
	--no-progress --tasks co_wer --output "$T/w" --log-samples
check "wer as jiwer and HF evaluate compute it" python3 - "$T/w/scripted_wer" "$C/data/co/wer.jsonl" <<'PY'
import glob, json, re, sys
d, data = sys.argv[1:3]
res = json.load(open(glob.glob(d + "/results_*.json")[0]))
lines = [json.loads(l) for l in open(glob.glob(d + "/samples_co_wer_*.jsonl")[0], encoding="utf-8")]
refs = [json.loads(l)["a"] for l in open(data, encoding="utf-8")]

def words(s):
    s = re.sub(r"\s\s+", " ", s)   # RemoveMultipleSpaces
    s = s.strip()                   # Strip
    return [w for w in s.split(" ") if len(w) >= 1]   # ReduceToListOfListOfWords

def lev(a, b):
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, row[j] = row[j], cur
    return row[-1]

want = []
for l, ref in zip(lines, refs):
    hyp = l["filtered_resps"][0]
    r, h = words(ref), words(hyp)
    want.append(lev(r, h) / len(r))
got = [l["wer"] for l in lines]
assert got == want, (got, want)
# the cases the data was written for: 1/6, 2/4 ("c\td" is one word), 2/2
# ("one\ntwo" is one word), 0 (U+001C U+001C is a run), 1 (empty answer)
assert want == [1 / 6, 0.5, 1.0, 0.0, 1.0], want
assert res["results"]["co_wer"]["wer,none"] == sum(want) / len(want), res["results"]["co_wer"]
assert res["higher_is_better"]["co_wer"]["wer"] is False
PY
expect "likelihood is refused, naming why" 3 llm-eval $RUN --tasks co_like --output "$T/l" &&
	err_has "$C/co_like.yaml:11:13: task 'co_like': metric 'likelihood' is not supported: its items are (gold, log-likelihoods) pairs, which only a Python aggregation combines (lm-evaluation-harness's mean fails on them)"

expect "an option exact_match_hf_evaluate does not take" 3 llm-eval $RUN --tasks co_bad --output "$T/b" &&
	err_has "$C/co_bad.yaml:11:21: task 'co_bad': unknown option 'weight_by_size' for metric 'exact_match' (lm-evaluation-harness fails on it too: exact_match_hf_evaluate takes only ignore_case, ignore_punctuation, ignore_numbers and regexes_to_ignore)"
expect "hf_evaluate: true on a generate_until metric" 3 llm-eval $RUN --tasks co_hf --output "$T/h" &&
	err_has "$C/co_hf.yaml:12:18: task 'co_hf': metric 'f1' with 'hf_evaluate: true' is Hugging Face evaluate's 'f1', which llm-eval does not implement"
expect "validate: the same, with the warning counted" 3 llm-eval validate --include-path "$T/reg" --include-path "$C" &&
	err_has "unknown option 'weight_by_size' for metric 'exact_match'" && err_has "'hf_evaluate: true'" &&
	err_has "duplicate key 'regex_pattern'"
done_testing
