#!/bin/sh
# The hook worker's costs (issue 15), each the median of $RUNS runs:
#   - per document: N documents through three doc_to_* hooks, one request
#     per chunk of CHUNK documents (as a run asks) and one per document,
#     against the same three calls in a loop
#     inside one python3 process (JSON text in, as the worker gets it); the
#     difference per document is the worker's overhead (target < 50 us);
#   - start: starting the worker and one answered request, against
#     `python3 -c pass` (target < 150 ms beyond it).
#   bench/hooks.sh            BUILD=build RUNS=7 N=20000 CHUNK=32
# The baselines run $LLM_EVAL_PYTHON when it is set (the worker's
# interpreter then), else python3.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
RUNS=${RUNS:-7}
N=${N:-20000}
CHUNK=${CHUNK:-32}   # a run's chunk: LLE_RUN_BATCH_SIZE (src/run/run.h)
OBJS=$(find "$BUILD/src" -name '*.o' ! -path '*/cli/*' ! -path '*/sandbox/init/*' | sort)
[ -n "$OBJS" ] || { echo "bench/hooks.sh: build first (make)" >&2; exit 1; }
DRV="$BUILD/bench/hooks_driver"
mkdir -p "$BUILD/bench"
# shellcheck disable=SC2086
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Isrc -Iinclude -o "$DRV" bench/hooks_driver.c $OBJS \
	$(pkg-config --cflags --libs yaml-0.1 jansson libpcre2-8 zlib sqlite3 libseccomp) -lm -ldl -lpthread

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
runs() { i=0; while [ "$i" -lt "$RUNS" ]; do "$@"; i=$((i + 1)); done; }

W=$(runs "$DRV" docs "$N" | median)
C=$(runs "$DRV" docs "$N" "$CHUNK" | median)
PY=${LLM_EVAL_PYTHON:-python3}
P=$(runs "$PY" bench/hooks_utils.py "$N" | median)
echo "per document, $N documents, 3 hooks each (median of $RUNS):"
awk -v w="$W" -v c="$C" -v p="$P" -v n="$N" -v b="$CHUNK" 'BEGIN {
	printf "  python loop:                 %8.1f us/doc (baseline)\n", p / n * 1e6
	printf "  worker, chunks of %4d:      %8.1f us/doc, overhead %6.1f us/doc (ratio %.1fx)\n", b, c / n * 1e6, (c - p) / n * 1e6, c / p
	printf "  worker, a request per doc:   %8.1f us/doc, overhead %6.1f us/doc (ratio %.1fx)\n", w / n * 1e6, (w - p) / n * 1e6, w / p }'

S=$(runs "$DRV" start | median)
pass() { s=$(date +%s%N); "$PY" -c pass; e=$(date +%s%N); echo "$(( (e - s) / 1000 ))" | awk '{ print $1 / 1e6 }'; }
Q=$(runs pass | median)
echo "worker start (median of $RUNS):"
awk -v s="$S" -v q="$Q" 'BEGIN {
	printf "  start + first answer: %7.1f ms\n", s * 1000
	printf "  python3 -c pass:      %7.1f ms (baseline)\n", q * 1000
	printf "  beyond it:            %7.1f ms\n", (s - q) * 1000 }'
