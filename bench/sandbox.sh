#!/bin/sh
# Sandbox overhead: wall time to run all 164 HumanEval canonical solutions in
# the sandbox against plain python3 without one, same workers, same run;
# medians of ROUNDS rounds (default 3), plus the per-program cost one at a
# time and peak memory. Target: overhead under 20%.
#   bench/sandbox.sh [ROUNDS] [WORKERS]      (after `make bench` or `make build/bench/sandbox_bench`)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHARED=${SHARED:-$TOP/../shared}
DATA="$SHARED/datasets/humaneval/HumanEval.jsonl.gz"
if [ ! -f "$DATA" ]; then
	echo "sandbox.sh: skipped: no $DATA"
	exit 0
fi
[ -x "$BUILD/bench/sandbox_bench" ] || make -C "$TOP" BUILD="$BUILD" "$BUILD/bench/sandbox_bench" >/dev/null
echo "== sandbox: HumanEval canonical solutions, sandbox vs plain python3"
"$BUILD/bench/sandbox_bench" "$DATA" "${1:-3}" "${2:-0}"
