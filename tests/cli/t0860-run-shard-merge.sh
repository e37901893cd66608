#!/bin/sh
# run --shard i/N and merge: N = 1, 3 and 7 shards of the demo tasks (one of
# each request kind, few-shot prompts, a group) merge into results equal to
# an unsharded run's; merge refuses missing, doubled and differently
# configured shards with a message naming the difference.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
RUN="run --include-path $TOP/examples/demo --data-dir $TOP/examples/demo/data --model-path $MODEL
     --tasks demo --limit 12 --bootstrap-iters 200 --gen-kwargs max_gen_toks=6 --threads 1 --no-progress
     --cache $T/cache.sqlite --no-store"

res() { ls "$1"/tiny/results_*.json 2>/dev/null | head -n 1; }
same_values() {
	python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("results", "groups", "group_subtasks", "n-samples", "configs", "versions", "n-shot", "higher_is_better"):
    assert a[k] == b[k], (k, a[k], b[k])
assert "shard" not in b and "shard_plan" not in b
PY
}

expect "unsharded run" 0 llm-eval $RUN --output "$T/full"
for n in 1 3 7; do
	i=0
	while [ $i -lt $n ]; do
		expect "shard $i/$n" 0 llm-eval $RUN --shard "$i/$n" --output "$T/s$n" || break
		i=$((i + 1))
	done
	check "shard results say which shard" grep -q "\"shard\": \"0/$n\"" $T/s$n/tiny/results_*.json
	expect "merge $n shards" 0 llm-eval merge "$T/s$n" --output "$T/m$n" --no-store &&
		out_has "tiny: $n shards merged into"
	check "$n shards merged equal the unsharded run" same_values "$(res "$T/full")" "$(res "$T/m$n")"
done
check "each shard scored only its documents" python3 - "$T/s3/tiny" "$(res "$T/full")" <<'PY'
import glob, json, sys
seen = {}
for f in glob.glob(sys.argv[1] + "/results_*.json"):
    r = json.load(open(f))
    i, n = map(int, r["shard"].split("/"))
    for task, name in r["shard_items"].items():
        for line in open(sys.argv[1] + "/" + name):
            d = json.loads(line)["doc_id"]
            assert d % n == i, (f, task, d)
            seen.setdefault(task, []).append(d)
full = json.load(open(sys.argv[2]))["n-samples"]
assert set(seen) == set(full), (seen.keys(), full.keys())
for task, ids in seen.items():
    assert sorted(ids) == list(range(full[task]["effective"])), (task, sorted(ids))
PY

# refusals
mkdir -p "$T/miss/tiny" && cp $T/s3/tiny/* "$T/miss/tiny/"
for f in $T/miss/tiny/results_*.json; do
	grep -q '"shard": "1/3"' "$f" && rm "$f"
done
expect "a missing shard" 4 llm-eval merge "$T/miss" --no-store --output "$T/mm" &&
	err_has "model 'tiny': shard 1/3 missing (found 2 of 3)"
expect "a shard given twice" 4 llm-eval merge "$T/s3" "$T/s3/tiny" --no-store --output "$T/mm" &&
	err_has "given twice"
expect "shard 2/3 with another limit" 0 llm-eval $RUN --shard 2/3 --limit 9 --output "$T/other"
mkdir -p "$T/mix/tiny" && cp $T/s3/tiny/* "$T/mix/tiny/"
for f in $T/mix/tiny/results_*.json; do
	grep -q '"shard": "2/3"' "$f" && rm "$f"
done
cp $T/other/tiny/* "$T/mix/tiny/"
expect "shards of different configurations" 3 llm-eval merge "$T/mix" --no-store --output "$T/mm" &&
	err_has "shards of different configurations: config.limit is 12.0 in shard 0/3" && err_has "but 9.0 in shard 2/3"
expect "shards of different N" 4 llm-eval merge "$T/s3" "$T/s7" --no-store --output "$T/mm" &&
	err_has "shards of different runs"
expect "no shards" 4 llm-eval merge "$T/full" --no-store && err_has "no shard results"
expect "merge needs a directory" 2 llm-eval merge
expect "bad --shard" 2 llm-eval $RUN --shard 3/3 --output "$T/x" && err_has "0 <= i < N"
expect "--shard needs --output" 2 llm-eval $RUN --shard 0/2 && err_has "--shard needs --output"
# `results list` marks the runs that are shards (issue 18, item 7).
expect "import the 3 shards and the unsharded run" 0 llm-eval results import "$T/s3" "$T/full"
expect "results list marks each shard" 0 llm-eval results list &&
	out_has "tiny (shard 0/3)" && out_has "tiny (shard 1/3)" && out_has "tiny (shard 2/3)"
[ "$(grep -c ' tiny$' "$OUT")" -eq 1 ] || fail "the unsharded run is not listed plainly"
done_testing
