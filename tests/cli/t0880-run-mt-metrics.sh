#!/bin/sh
# bleu, chrf and ter end to end: a generate_until task with
# metric_list [bleu, chrf, ter] run on the tiny model gives the three corpus
# scores with bootstrap standard errors, per-document [target, response]
# pairs in the samples (the harness's items: its passthrough functions'
# fallback `fn([gold, result])`),
# and the same results when run in 3 shards and merged (the items log keeps
# each document's sacrebleu statistics). Where sacrebleu can be imported the
# results are compared with it bit for bit (test_metric_mt does that always,
# against values sacrebleu wrote).
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
RUN="run --include-path $TOP/tests/fixtures/mt/tasks --data-dir $TOP/examples/demo/data --model-path $MODEL
     --tasks mt_arith --limit 12 --threads 1 --no-progress --cache $T/cache.sqlite --no-store"
res() { ls "$1"/tiny/results_*.json 2>/dev/null | head -n 1; }

expect "run bleu, chrf, ter" 0 llm-eval $RUN --output "$T/full" --log-samples &&
	out_has "bleu" && out_has "chrf" && out_has "ter"
check "results and samples" python3 - "$T/full/tiny" <<'PY'
import glob, json, math, sys
d = sys.argv[1]
res = json.load(open(glob.glob(d + "/results_*.json")[0]))
r = res["results"]["mt_arith"]
for m in ("bleu", "chrf", "ter"):
    v, se = r[m + ",none"], r[m + "_stderr,none"]
    assert isinstance(v, float) and 0 <= v <= 100 or m == "ter", (m, v)
    # 100 resamples of 12 documents (bleu is 0 in each: the tiny model writes no 2-gram of the targets)
    assert isinstance(se, float) and (se > 0 or m == "bleu"), (m, se)
    assert res["higher_is_better"]["mt_arith"][m] is True  # as the harness registers them
lines = [json.loads(l) for l in open(glob.glob(d + "/samples_mt_arith_*.jsonl")[0])]
assert len(lines) == 12
for l in lines:
    assert l["target"].startswith("The answer is ")
    for m in ("bleu", "chrf", "ter"):
        assert l[m] == [l["target"], l["filtered_resps"][0]], (m, l)
try:
    import sacrebleu
except ImportError:
    print("# sacrebleu is not importable: the bit-for-bit comparison is test_metric_mt's")
    sys.exit(0)
refs = [[l["target"] for l in lines]]
preds = [l["filtered_resps"][0] for l in lines]
want = {"bleu": sacrebleu.corpus_bleu(preds, refs).score, "chrf": sacrebleu.corpus_chrf(preds, refs).score,
        "ter": sacrebleu.corpus_ter(preds, refs).score}
for m in want:
    assert r[m + ",none"] == want[m], (m, r[m + ",none"], want[m])
PY

for i in 0 1 2; do
	expect "shard $i/3" 0 llm-eval $RUN --shard "$i/3" --output "$T/s3" || break
done
expect "merge 3 shards" 0 llm-eval merge "$T/s3" --output "$T/m3" --no-store
check "3 shards merged equal the unsharded run" python3 - "$(res "$T/full")" "$(res "$T/m3")" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["results"] == b["results"], (a["results"], b["results"])
PY
done_testing
