#!/bin/sh
# `llm-eval report`: the table, Markdown and CSV outputs checked byte for byte
# against tests/fixtures/results/expected/ (their category averages were worked
# out by hand: reasoning for qwen25_05b_instruct is (0.3259 + 0.6549) / 2 =
# 0.4904, se sqrt(0.0137^2 + 0.0098^2) / 2 = 0.0084; pythia-410m has no
# arc_challenge, so no reasoning average), JSON validity, --category, --metric,
# --subtasks, --output, and the errors.
. "$(dirname "$0")/lib.sh"
FIX="$TOP/tests/fixtures/results"
EXP="$FIX/expected"

expect "report with no runs" 2 llm-eval report && err_has "no runs stored yet"
expect "import the three fixtures" 0 llm-eval results import "$FIX/llmeval_qwen2.5-0.5b.json" \
	"$FIX/lmeval-old_pythia-410m.json" "$FIX/lmeval_pythia-160m.json"

expect "table" 0 llm-eval report
check "table is exactly as expected" diff -u "$EXP/report.table" "$OUT"
expect "markdown" 0 llm-eval report --format markdown
check "markdown is exactly as expected" diff -u "$EXP/report.md" "$OUT"
expect "md is markdown" 0 llm-eval report --format=md
check "md is exactly as expected" diff -u "$EXP/report.md" "$OUT"
expect "csv" 0 llm-eval report --format csv
check "csv is exactly as expected" diff -u "$EXP/report.csv" "$OUT"
check "csv reads back with Python's csv module, 3 models x 15 columns" python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert len(rows) == 4 and all(len(r) == 15 for r in rows), rows
assert rows[0][3] == "gsm8k:exact_match,strict-match", rows[0]
assert rows[1][0] == "qwen25_05b_instruct" and abs(float(rows[1][13]) - 0.49041036071752797) < 1e-15
' "$OUT"
expect "two runs, one category, with subtasks" 0 llm-eval report 3 1 --category reasoning --subtasks
check "category table is exactly as expected" diff -u "$EXP/report-reasoning.table" "$OUT"
expect "subtasks and a preferred metric" 0 llm-eval report --subtasks --metric acc_norm --format markdown
check "subtasks markdown is exactly as expected" diff -u "$EXP/report-subtasks-acc_norm.md" "$OUT"
expect "json" 0 llm-eval report --format json
check "json is valid and complete" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [t["task"] for t in d["tasks"]] == ["mmlu", "gsm8k", "arc_challenge", "arc_easy"], d["tasks"]
assert [m["model"] for m in d["models"]] == ["qwen25_05b_instruct", "EleutherAI/pythia-410m", "EleutherAI/pythia-160m"]
assert d["models"][1]["scores"]["mmlu"] is None and d["models"][1]["categories"]["reasoning"] is None
assert d["models"][0]["categories"]["reasoning"]["tasks"] == 2
' "$OUT"
cp "$OUT" "$T/format-json"
expect "--json, as compare, results and list have" 0 llm-eval report --json &&
	check "--json is --format json" cmp -s "$T/format-json" "$OUT"
expect "--output writes the file" 0 llm-eval report --format csv --output "$T/r.csv" && check "it is the csv" diff -u "$EXP/report.csv" "$T/r.csv"
[ ! -s "$OUT" ] || fail "stdout is not empty with --output"
expect "a later run of the same model wins" 0 llm-eval report 1 3 2 --format csv
check "same numbers whatever the order of distinct models" grep -q '^EleutherAI/pythia-160m,0.2459,0.0216,' "$OUT"

expect "unknown category" 2 llm-eval report --category cooking && err_has "no task of category 'cooking' in the selected runs"
expect "unknown format" 2 llm-eval report --format pdf && err_has "unknown format 'pdf'"
expect "unknown run" 2 llm-eval report 42 && err_has "no run '42'"
expect "unwritable --output" 6 llm-eval report --output "$T/no/such/dir/r.txt" && err_has "cannot write '$T/no/such/dir/r.txt'"
expect "unknown option" 2 llm-eval report --frob && err_has "unknown option '--frob'"
done_testing
