#!/bin/sh
# Benchmark of the llama.cpp backend plugin on MMLU-style 4-choice questions
# with a 5-shot prefix, built from ../shared/datasets/mmlu/ (the driver reads
# the CSV files itself), on the generated tiny and small models. Prints, per
# model, medians over REPS runs:
#   documents per second;
#   tokens decoded / tokens a request-at-a-time evaluation decodes (target < 0.25);
#   the plugin's throughput (tokenising and scoring included) / a plain
#     llama_decode loop over the same tokens, already tokenised and warmed up,
#     run with 16 sequences per call and with one, measured in the same run,
#     against the faster of the two (target >= 0.9); and the same with only
#     the plugin's time inside llama_decode (what its scheduling costs);
#   time from process start to the first scored request (the model loads in
#     the background while the prompts are built), median of FIRST runs;
#   peak RSS and peak RSS beyond the model's weights.
# Needs `make all models` (or `make bench`). Timings depend on the load of the
# machine: compare numbers from the same run only.
#   bench/llamacpp.sh [tiny|small ...]      REPS=3 FIRST=5 THREADS=2
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
SHARED=${SHARED:-$TOP/../shared}
MMLU=$SHARED/datasets/mmlu
DRV=$BUILD/bench/llamacpp_bench
REPS=${REPS:-3}
FIRST=${FIRST:-5}
THREADS=${THREADS:-2}
export LLM_EVAL_PLUGIN_PATH="$TOP/$BUILD/lib"
[ -x "$DRV" ] || { echo "error: '$DRV' is missing: run 'make bench' first" >&2; exit 1; }
[ -d "$MMLU/dev" ] || { echo "error: MMLU data not found in '$MMLU'" >&2; exit 1; }

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

models=${*:-tiny small}
echo "llamacpp benchmark: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $THREADS threads"
for name in $models; do
	model=$BUILD/models/$name.gguf
	[ -f "$model" ] || { echo "error: model '$model' is missing: run 'make models'" >&2; exit 1; }
	case $name in
	small) docs=${DOCS:-12} ;;
	*) docs=${DOCS:-48} ;;
	esac
	# n_ctx=2048: the tiny model was trained (generated) for 512 tokens, shorter
	# than a 5-shot MMLU prompt, which would then be cut from the left.
	echo "== $name: $docs documents (4 requests each), $REPS runs"
	"$DRV" eval "$model" "$MMLU" "$docs" "$REPS" n_ctx=2048 n_threads="$THREADS" | sed 's/^/  /'
	i=0
	: >"${TMPDIR:-/tmp}/lle-first.$$"
	while [ $i -lt "$FIRST" ]; do
		start=$(date +%s%N)
		end=$("$DRV" first "$model" "$MMLU" 1 1 n_ctx=2048 n_threads="$THREADS" | awk '/first_result_ns/ { print $2 }')
		echo "$start $end" | awk '{ printf "%.1f\n", ($2 - $1) / 1e6 }' >>"${TMPDIR:-/tmp}/lle-first.$$"
		i=$((i + 1))
	done
	echo "  start_to_first_scored_ms $(median <"${TMPDIR:-/tmp}/lle-first.$$") (median of $FIRST processes)"
	rm -f "${TMPDIR:-/tmp}/lle-first.$$"
done
