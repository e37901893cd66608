#!/bin/sh
# llm-eval run on Parquet data (src/data/parquet.c through DuckDB): the same
# task read from Parquet files and from the JSONL files they were written from
# (by DuckDB, at test time) gives the same requests, answers and scores, with
# the few-shot split read while the test split streams; libduckdb is mapped
# only by the run that reads Parquet; a missing DuckDB is an error that says
# what to do.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
PQ="$BUILD/tools/lle-parquet"
mkdir -p "$T/data/pq" "$T/inc/tasks"
cp "$TOP/tests/fixtures/runx/data/runx/frac.jsonl" "$T/data/pq/test.jsonl"
head -n 4 "$TOP/tests/fixtures/runx/data/runx/quick.jsonl" >"$T/data/pq/train.jsonl"
check "DuckDB writes the Parquet files from the JSONL ones" sh -c '
	"$1" write "$2/test.jsonl" "$2/test.parquet" 7 && "$1" write "$2/train.jsonl" "$2/train.parquet"' \
	sh "$PQ" "$T/data/pq"
for fmt in jsonl parquet; do
	cat >"$T/inc/tasks/pq_$fmt.yaml" <<YAML
task: pq_$fmt
dataset_path: pq
data_files: {test: pq/test.$fmt, train: pq/train.$fmt}
output_type: multiple_choice
test_split: test
fewshot_split: train
num_fewshot: 2
doc_to_text: "Q: {{q}}\nA:"
doc_to_choice: "{{choices}}"
doc_to_target: label
metric_list: [{metric: acc, aggregation: mean, higher_is_better: true}]
metadata: {version: 1.0}
YAML
done

expect "a task on Parquet files runs" 0 env LD_DEBUG=libs LD_DEBUG_OUTPUT="$T/ld-pq" "$LLM_EVAL" \
	--include-path "$T/inc" run --data-dir "$T/data" --model-path "$MODEL" --tasks pq_parquet \
	--output "$T/out-pq" --log-samples --no-progress
expect "the same task on the JSONL files runs" 0 env LD_DEBUG=libs LD_DEBUG_OUTPUT="$T/ld-js" "$LLM_EVAL" \
	--include-path "$T/inc" run --data-dir "$T/data" --model-path "$MODEL" --tasks pq_jsonl \
	--output "$T/out-js" --log-samples --no-progress
check "same documents, prompts, answers and scores from Parquet and JSONL" python3 - "$T" <<'PY'
import glob, json, sys
t = sys.argv[1]
def load(fmt):
    d = t + "/out-" + ("pq" if fmt == "parquet" else "js")
    r = json.load(open(glob.glob(d + "/*/results_*.json")[0]))
    s = [json.loads(l) for l in open(glob.glob(d + "/*/samples_pq_%s_*.jsonl" % fmt)[0])]
    return r, s
rp, sp = load("parquet")
rj, sj = load("jsonl")
assert rp["results"]["pq_parquet"]["acc,none"] == rj["results"]["pq_jsonl"]["acc,none"]
assert rp["n-samples"]["pq_parquet"] == rj["n-samples"]["pq_jsonl"] == {"original": 25, "effective": 25}, rp["n-samples"]
assert len(sp) == len(sj) == 25
for a, b in zip(sp, sj):
    for k in ("doc_id", "doc", "target", "arguments", "resps", "acc"):
        assert a[k] == b[k], (k, a[k], b[k])
# the few-shot examples came from the train file (2-shot)
assert sp[0]["arguments"][0][0].count("Q: ") == 3, sp[0]["arguments"][0][0]
PY
check "libduckdb is mapped by the Parquet run only" sh -c '
	cat "$1".* | grep -q "calling init: .*/duckdb/libduckdb.so" &&
	! cat "$2".* | grep -q "libduckdb"' sh "$T/ld-pq" "$T/ld-js"

expect "without DuckDB: exit 4, saying how to get it" 4 env LLM_EVAL_DUCKDB="$T/none/libduckdb.so" "$LLM_EVAL" \
	--include-path "$T/inc" run --data-dir "$T/data" --model-path "$MODEL" --tasks pq_parquet --output "$T/out-x" &&
	err_has "reading Parquet needs DuckDB's libduckdb.so (run \`make deps\`, or set LLM_EVAL_DUCKDB to its path)" &&
	err_has "$T/none/libduckdb.so"
cp "$T/data/pq/test.jsonl" "$T/data/pq/bad.parquet"
sed 's#pq/test.parquet#pq/bad.parquet#; s#task: pq_parquet#task: pq_bad#' "$T/inc/tasks/pq_parquet.yaml" >"$T/inc/tasks/pq_bad.yaml"
expect "a file that is not Parquet: exit 4 naming it" 4 "$LLM_EVAL" --include-path "$T/inc" run --data-dir "$T/data" \
	--model-path "$MODEL" --tasks pq_bad --output "$T/out-bad" && err_has "$T/data/pq/bad.parquet: cannot read as Parquet"
done_testing
