#!/bin/sh
# What the resource monitor costs:
#  1. CPU time per sample of the sampler thread, against a baseline of the same
#     waits without a sampler (bench/monitor_cost.c, medians of 5 runs);
#  2. peak memory (/usr/bin/time -f %M, median of 5) of `llm-eval monitor
#     --once`, against `llm-eval --help` (which loads no engine and no NVML).
# Run after `make bench` (or `make all $(BUILD)/bench/monitor-cost`).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
LLM_EVAL="$BUILD/llm-eval"
STANDIN="$BUILD/tests/nvml-standin/libnvidia-ml.so.1"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lle-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

cat >"$TMP/gpus" <<'SCRIPT'
count=2
0.name=GPU A
0.memory.total=85899345920
0.memory.used=65712999628
0.utilization.gpu=87
0.utilization.memory=40
0.power=250000
0.temperature=65
0.clock.graphics=1755
0.clock.sm=1980
0.clock.mem=2619
1.name=GPU B
1.memory.total=85899345920
1.memory.used=1073741824
1.utilization.gpu=3
1.utilization.memory=1
1.power=70000
1.temperature=31
1.clock.graphics=345
1.clock.sm=345
1.clock.mem=2619
SCRIPT

echo "# monitor: sampler CPU cost"
"$BUILD/bench/monitor-cost" "$STANDIN" "$TMP/gpus" 100 5 || exit 1

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
peak() { # CMD...: median peak RSS in kB over 5 runs
	for i in 1 2 3 4 5; do
		/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1
	done | median
}
echo "# monitor: peak memory (kB, median of 5)"
base=$(peak "$LLM_EVAL" --help)
mon=$(LLM_EVAL_NVML_PATH=/nonexistent peak "$LLM_EVAL" monitor --once --interval 10)
gpu=$(LLM_EVAL_NVML_PATH="$STANDIN" LLE_NVML_STANDIN="$TMP/gpus" peak "$LLM_EVAL" monitor --once --interval 10)
echo "llm-eval --help (baseline)                $base"
echo "llm-eval monitor --once, no GPU           $mon  ratio $(awk "BEGIN { printf \"%.2f\", $mon / $base }")"
echo "llm-eval monitor --once, 2 stand-in GPUs  $gpu  ratio $(awk "BEGIN { printf \"%.2f\", $gpu / $base }")"
