#!/bin/sh
# Benchmark of the openai backend: requests per second and client CPU time per
# request at concurrency 1, 8, 32 and 128, against lle-testserver
# --no-inference (answers that cost nothing: the figure is llm-eval's own
# overhead, server included, on this machine) and against the tiny model
# (real inference: generation of up to 8 tokens, and log-likelihood requests
# that cost a /tokenize pair and a scoring call each). Every figure is the
# median of $RUNS runs; each run is its own process (bench/openai_driver.c,
# the plugin loaded as llm-eval loads it). The baseline in the same run is
# concurrency 1; "x c1" is the speed-up over it. Peak RSS of the client is the
# largest of the runs (getrusage through /usr/bin/time).
#   bench/openai.sh        BUILD=build RUNS=5 N=3000 (no inference), NM=200 (tiny model)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
N=${N:-3000}
NM=${NM:-200}
SRV="$BUILD/tools/lle-testserver"
[ -x "$SRV" ] && [ -f "$BUILD/lib/openai.so" ] || { echo "bench/openai.sh: build first (make $SRV)" >&2; exit 1; }
OBJS=$(find "$BUILD/src" -name '*.o' ! -path '*/cli/*' \( -path '*/util/*' -o -path '*/backend/*' -o -path '*/registry/*' -o -path '*/data/yaml*' \) | sort)
DRV="$BUILD/bench/openai_driver"
mkdir -p "$BUILD/bench"
# shellcheck disable=SC2086
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Isrc -Iinclude -o "$DRV" bench/openai_driver.c $OBJS \
	$(pkg-config --cflags --libs yaml-0.1) -ldl -lpthread
T=$(mktemp -d)
SRV_PID=""
trap '[ -z "$SRV_PID" ] || kill "$SRV_PID" 2>/dev/null; rm -rf "$T"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

start() {
	rm -f "$T/port"
	"$SRV" "$@" >"$T/port" 2>"$T/srv.err" &
	SRV_PID=$!
	while [ ! -s "$T/port" ]; do
		kill -0 "$SRV_PID" 2>/dev/null || { cat "$T/srv.err" >&2; exit 1; }
		sleep 0.05
	done
	URL="http://127.0.0.1:$(awk '{ print $2 }' "$T/port")/v1"
}
stop() { kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""; }
srv_cpu() { awk '{ print ($14 + $15) / 100 }' "/proc/$SRV_PID/stat"; }

# series LABEL KIND N: one table row per concurrency
series() {
	label=$1 kind=$2 n=$3 base=""
	for c in 1 8 32 128; do
		: >"$T/runs"
		i=0
		while [ "$i" -lt "$RUNS" ]; do
			s0=$(srv_cpu)
			/usr/bin/time -f "%M" -o "$T/rss" "$DRV" "$BUILD/lib/openai.so" "$URL" "$c" "$n" "$kind" >"$T/one"
			s1=$(srv_cpu)
			echo "$(cat "$T/one") $(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }') $(cat "$T/rss")" >>"$T/runs"
			i=$((i + 1))
		done
		rps=$(awk '{ print $1 / $2 }' "$T/runs" | median)
		cpu=$(awk '{ print 1e6 * $3 / $1 }' "$T/runs" | median)
		scpu=$(awk '{ print 1e6 * $5 / $1 }' "$T/runs" | median)
		rss=$(awk '{ print $6 }' "$T/runs" | sort -n | tail -1)
		[ -n "$base" ] || base=$rps
		printf "%-28s %5s %10.0f %8.2fx %12.1f %12.1f %10s\n" "$label" "$c" "$rps" \
			"$(awk -v a="$rps" -v b="$base" 'BEGIN { print a / b }')" "$cpu" "$scpu" "$rss"
	done
}

printf "%-28s %5s %10s %9s %12s %12s %10s\n" "server" "conc" "req/s" "x c1" "client us/req" "server us/req" "peak KiB"
start --no-inference
series "no inference, generate" gen "$N"
series "no inference, loglikelihood" ll "$N"
stop
if [ -f "$BUILD/models/tiny.gguf" ] && [ -f "$BUILD/lib/llamacpp.so" ]; then
	start --model "$BUILD/models/tiny.gguf" --plugin "$BUILD/lib/llamacpp.so"
	series "tiny model, generate 8" gen "$NM"
	series "tiny model, loglikelihood" ll "$NM"
	stop
else
	echo "tiny model: skipped (make $BUILD/models/tiny.gguf $BUILD/lib/llamacpp.so)"
fi
echo "(medians of $RUNS runs; $(nproc) CPUs, load average $(cut -d' ' -f1 /proc/loadavg))"
