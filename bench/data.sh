#!/bin/sh
# Dataset readers: the MMLU test split (../shared/datasets/mmlu, 14,042 rows)
# as one Parquet file and as one JSONL file with the same rows (the Hub's
# cais/mmlu columns: question, subject, choices, answer), both written here
# (the Parquet one by DuckDB from the JSONL one), each read to the last
# document through the dataset reader (src/data/dataset.c) by
# build/tools/lle-parquet. Baselines in the same run: `lle-parquet load`
# (process start + loading libduckdb + opening DuckDB, nothing read) for
# Parquet, /bin/true for JSONL.
# Targets: Parquet under 50 ms beyond DuckDB's load, and no slower per row
# than JSONL.
. "$(dirname "$0")/lib.inc"
PQ="$BUILD/tools/lle-parquet"
MMLU="${SHARED:-$TOP/../shared}/datasets/mmlu/test"
[ -d "$MMLU" ] || { echo "data.sh: $MMLU is not here"; exit 1; }
python3 - "$MMLU" "$B/mmlu.jsonl" <<'PY'
import csv, glob, json, os, sys
with open(sys.argv[2], "w") as out:
    for f in sorted(glob.glob(sys.argv[1] + "/*_test.csv")):
        subject = os.path.basename(f)[:-len("_test.csv")]
        for r in csv.DictReader(open(f, newline="", encoding="utf-8")):
            out.write(json.dumps({"question": r["question"], "subject": subject,
                                  "choices": [r["choice%d" % i] for i in range(4)],
                                  "answer": int(r["answer"])}) + "\n")
PY
"$PQ" write "$B/mmlu.jsonl" "$B/mmlu.parquet" || exit 1
rows=$("$PQ" read "$B/mmlu.parquet") || exit 1
[ "$rows" = "$("$PQ" read "$B/mmlu.jsonl")" ] || { echo "data.sh: row counts differ"; exit 1; }
true_ms=$(median_ms "$RUNS" "" /bin/true)
load_ms=$(median_ms "$RUNS" "" "$PQ load")
pq_ms=$(median_ms "$RUNS" "" "$PQ read $B/mmlu.parquet")
js_ms=$(median_ms "$RUNS" "" "$PQ read $B/mmlu.jsonl")
echo "$RUNS runs each; $(command -v hyperfine >/dev/null && echo hyperfine || echo shell loop); $rows rows;" \
	"parquet $(wc -c <"$B/mmlu.parquet") bytes, jsonl $(wc -c <"$B/mmlu.jsonl") bytes; duckdb $("$PQ" load)"
header
row "/bin/true (baseline)" "$true_ms" "$true_ms" "$(peak_kb /bin/true)" ""
row "read MMLU test, JSONL" "$js_ms" "$true_ms" "$(peak_kb "$PQ" read "$B/mmlu.jsonl")" ""
row "load DuckDB only (baseline)" "$load_ms" "$load_ms" "$(peak_kb "$PQ" load)" ""
row "read MMLU test, Parquet" "$pq_ms" "$load_ms" "$(peak_kb "$PQ" read "$B/mmlu.parquet")" "< +50 ms"
awk -v p="$pq_ms" -v l="$load_ms" -v j="$js_ms" -v t="$true_ms" -v n="$rows" 'BEGIN {
	split(p, a, " "); split(l, b, " "); split(j, c, " "); split(t, d, " ")
	pr = (a[1] - b[1]) * 1000 / n; jr = (c[1] - d[1]) * 1000 / n
	printf "per row (wall median beyond the baseline): parquet %.2f us, jsonl %.2f us, ratio %.2f (target <= 1)\n", pr, jr, (jr > 0 ? pr / jr : 0)
	pr = (a[2] - b[2]) * 1000 / n; jr = (c[2] - d[2]) * 1000 / n
	printf "per row (CPU mean beyond the baseline):    parquet %.2f us, jsonl %.2f us, ratio %.2f (target <= 1)\n", pr, jr, (jr > 0 ? pr / jr : 0)
}'
