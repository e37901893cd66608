#!/bin/sh
# `llm-eval compare RUN_A RUN_B`: the table and CSV checked byte for byte
# (expected/compare-2-3.*: arc_easy acc differs by 0.4377 - 0.5185 = -0.0808,
# combined se sqrt(0.0103^2 + 0.0102^2) = 0.0144, z = -5.59: exceeds; gsm8k
# flexible-extract has an "N/A" stderr in run 2: unknown), JSON, and errors.
. "$(dirname "$0")/lib.sh"
FIX="$TOP/tests/fixtures/results"
EXP="$FIX/expected"

expect "import" 0 llm-eval results import "$FIX/llmeval_qwen2.5-0.5b.json" \
	"$FIX/lmeval-old_pythia-410m.json" "$FIX/lmeval_pythia-160m.json"
expect "compare table" 0 llm-eval compare 2 3
check "table is exactly as expected" diff -u "$EXP/compare-2-3.table" "$OUT"
out_has "Unpaired rows use sqrt(se_A^2 + se_B^2), treating the runs as independent"
expect "compare csv" 0 llm-eval compare 2 3 --format csv
check "csv is exactly as expected" diff -u "$EXP/compare-2-3.csv" "$OUT"
expect "compare json" 0 llm-eval compare 1 last --json
check "json is valid" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["a"]["run"] == 1 and d["b"]["run"] == 3 and d["paired"] == 0
assert d["compared"] == 10 and d["stderr_unknown"] == 1, d
for r in d["rows"]:
    if r["stderr"] is not None:
        assert (abs(r["diff"]) > r["stderr"]) == r["exceeds"], r
' "$OUT"
expect "markdown" 0 llm-eval compare 2 3 --format markdown && out_has "| arc\\_easy | acc | 0.5185 ± 0.0103 | 0.4377 ± 0.0102 | -0.0808 | 0.0144 | -5.59 | yes | unpaired |"

expect "one run is not enough" 2 llm-eval compare 1 && err_has "compare needs two runs"
expect "three runs are too many" 2 llm-eval compare 1 2 3 && err_has "two runs, not more"
expect "unknown run" 2 llm-eval compare 1 99 && err_has "no run '99'"
expect "html is not a compare format" 2 llm-eval compare 1 2 --format html && err_has "unknown format 'html'"
done_testing
