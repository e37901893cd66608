#!/bin/sh
# run reads a task's few-shot split once: planning opens it (a missing file
# or too few examples fail before any model loads) and hands it to the
# task's first run, which used to read and parse it a second time (GSM8K's
# 4 MB training split: 0.06 to 0.09 CPU-s of a 3.3 CPU-s greedy run on the
# tiny model). Here the split is a named pipe written once, so a second
# read would wait for a writer that never comes; the prompts must be those
# of the demo's own files. The test backend answers; no model file.
. "$(dirname "$0")/lib.sh"
export LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins"
mkdir -p "$T/reg/models" "$T/data/arith"
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
cp "$TOP/examples/demo/data/arith/test.jsonl" "$T/data/arith/"
mkfifo "$T/data/arith/train.jsonl"
cat "$TOP/examples/demo/data/arith/train.jsonl" >"$T/data/arith/train.jsonl" &
feeder=$!
R="--include-path $TOP/examples/demo --include-path $T/reg run --no-progress --no-cache --no-store --model tb"

# shellcheck disable=SC2086
expect "a 3-shot task whose few-shot split can be read only once" 0 timeout 60 "$LLM_EVAL" $R \
	--data-dir "$T/data" --tasks demo_arith_gen --limit 4 --output "$T/once" --log-samples
kill $feeder 2>/dev/null
# shellcheck disable=SC2086
expect "the same task from the demo's files" 0 llm-eval $R --data-dir "$TOP/examples/demo/data" \
	--tasks demo_arith_gen --limit 4 --output "$T/files" --log-samples
check "the same prompts both ways" python3 - "$T" <<'PY'
import glob, json, sys
def prompts(d):
    f = glob.glob(sys.argv[1] + "/" + d + "/*/samples_demo_arith_gen_*.jsonl")[0]
    return sorted((json.loads(l)["doc_id"], json.dumps(json.loads(l)["arguments"])) for l in open(f))
a, b = prompts("once"), prompts("files")
assert len(a) == 4 and a == b, (a, b)
assert "Question:" in a[0][1] and a[0][1].count("Answer:") == 4, a[0][1]
PY
done_testing
