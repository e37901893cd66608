#!/bin/sh
# Benchmarks of the data and task layers: time to stream MMLU's full test
# split (the baseline) against building every 5-shot MMLU prompt from it,
# GSM8K 5-shot prompt building and scoring, and the bootstrap's cost. Each
# figure is the median of $RUNS runs, each in its own process, with the
# process's peak RSS (getrusage). Needs ../shared/datasets and a build
# (`make`); prints "skipped" without the data.
#   bench/tasks.sh            BUILD=build RUNS=5 by default
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
DATA=${DATA:-$TOP/../shared/datasets}
if [ ! -d "$DATA/mmlu" ] || [ ! -d "$DATA/gsm8k" ]; then
	echo "bench/tasks.sh: skipped: no datasets in $DATA"
	exit 0
fi
OBJS=$(find "$BUILD/src" -name '*.o' ! -path '*/cli/main.o' | sort)
[ -n "$OBJS" ] || { echo "bench/tasks.sh: build first (make)" >&2; exit 1; }
DRV="$BUILD/bench/tasks_driver"
mkdir -p "$BUILD/bench"
# shellcheck disable=SC2086
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Isrc -Iinclude -o "$DRV" bench/tasks_driver.c $OBJS \
	$(pkg-config --cflags --libs yaml-0.1 jansson libpcre2-8 zlib sqlite3 libseccomp) -lm -ldl -lpthread

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

measure() { # MODE ARGS... -> sets SEC DOCS KIB
	out=$(mktemp)
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		"$DRV" "$@" >>"$out"
		i=$((i + 1))
	done
	SEC=$(awk '{ print $2 }' "$out" | median)
	DOCS=$(awk 'NR == 1 { print $3 }' "$out")
	KIB=$(awk '{ print $4 }' "$out" | median)
	BYTES=$(awk 'NR == 1 { print $5 }' "$out")
	CPU=$(awk '{ print $6 }' "$out" | median)
	rm -f "$out"
}

echo "data and task layers, median of $RUNS runs: wall time, CPU time of the process, docs/s by"
echo "wall time, peak RSS of the process (on a shared machine wall time varies; CPU less so)"
measure read-mmlu "$DATA"
base_sec=$SEC base_kib=$KIB
printf '  %-36s %7.3f s  cpu %6.3f s  %9.0f docs/s  %7d KiB\n' "read MMLU test (baseline)" "$SEC" "$CPU" "$(echo "$DOCS / $SEC" | bc -l)" "$KIB"
base_cpu=$CPU
measure prompts-mmlu "$DATA"
printf '  %-36s %7.3f s  cpu %6.3f s  %9.0f docs/s  %7d KiB  (%s prompt bytes)\n' "MMLU 5-shot prompts, 57 subjects" "$SEC" "$CPU" "$(echo "$DOCS / $SEC" | bc -l)" "$KIB" "$BYTES"
printf '  %-36s %6.2fx wall, %.2fx cpu, %+d KiB peak over the baseline\n' "  ratio to the baseline" "$(echo "$SEC / $base_sec" | bc -l)" "$(echo "$CPU / $base_cpu" | bc -l)" $((KIB - base_kib))
measure prompts-gsm8k "$DATA"
printf '  %-36s %7.3f s  cpu %6.3f s  %9.0f docs/s  %7d KiB\n' "GSM8K 5-shot prompts (1319)" "$SEC" "$CPU" "$(echo "$DOCS / $SEC" | bc -l)" "$KIB"
measure score-gsm8k "$DATA"
printf '  %-36s %7.3f s  cpu %6.3f s  %9.0f docs/s  %7d KiB\n' "GSM8K prompts + 2 filters + scoring" "$SEC" "$CPU" "$(echo "$DOCS / $SEC" | bc -l)" "$KIB"
measure bootstrap 1000 1000
printf '  %-36s %7.3f s  cpu %6.3f s  %6.2f ns (cpu) per document per iteration\n' "bootstrap 1000 docs x 1000 iters" "$SEC" "$CPU" "$(echo "$CPU * 1000000000 / $DOCS" | bc -l)"
