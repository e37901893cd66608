#!/bin/sh
# The response cache inside a real `llm-eval run` (real inference on the
# generated tiny GGUF model, one thread), against the same invocation with
# --no-cache, and the time to resume a 10,000-request run that is 90% done.
#
#   1. cost per request: a synthetic loglikelihood task (short documents, one
#      request each) run with --no-cache, with a fresh cache (every request
#      looked up, sent, committed in one transaction per chunk), and with a
#      full cache (every request found, nothing sent). Medians of REPS runs;
#      (cache - no cache) / requests is the cache's cost per request.
#   2. resume: the same task with N (10,000) documents; a run with --limit
#      9000 fills the cache with 90% of the answers, then the full command is
#      run again (it finds 9,000, sends 1,000). Compared with a --no-cache run
#      of the 1,000 missing documents alone (the work that is left) and of all
#      10,000 (starting over).
# Peak resident memory from /usr/bin/time -f %M. Timings are the machine's:
# on a shared, loaded machine they vary; the ratios in one invocation are
# what to read.
#   bench/resume.sh [N [REPS [N_COST]]]   (defaults 10000, 3, 2000)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
EXE="$BUILD/llm-eval"
MODEL="$BUILD/models/tiny.gguf"
[ -x "$EXE" ] && [ -f "$MODEL" ] || { echo "bench/resume.sh: run make and make $BUILD/models/tiny.gguf first" >&2; exit 1; }
N=${1:-10000}
REPS=${2:-3}
NC=${3:-2000}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/lle-resume-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
export XDG_CACHE_HOME="$DIR/xdg-cache" XDG_DATA_HOME="$DIR/xdg-data" XDG_CONFIG_HOME="$DIR/xdg-config"

# The synthetic task: "Q: what follows W?" -> " W2", one loglikelihood request per document.
mkdir -p "$DIR/reg/tasks" "$DIR/data/bench"
cat >"$DIR/reg/tasks/bench_ll.yaml" <<'YAML'
task: bench_ll
dataset_path: bench
data_files: {test: bench/test.jsonl}
output_type: loglikelihood
test_split: test
doc_to_text: "Q: what follows {{a}}?\nA:"
doc_to_target: " {{b}}"
metric_list: [{metric: acc, aggregation: mean, higher_is_better: true}]
metadata: {version: 1.0, description: "synthetic loglikelihood task for bench/resume.sh"}
YAML
python3 - "$DIR/data/bench/test.jsonl" "$N" <<'PY'
import json, sys
words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau".split()
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"a": "%s %d" % (words[i % len(words)], i), "b": words[(i * 7 + 3) % len(words)]}) + "\n")
PY
RUN="run --include-path $DIR/reg --data-dir $DIR/data --model-path $MODEL --tasks bench_ll --threads 1
     --no-progress --no-store --bootstrap-iters 10"

# timed LABEL ARGS...: one run; prints "seconds peak_kib sent cached"
timed() {
	out="$DIR/out.$$"
	rm -rf "$out"
	/usr/bin/time -f "%e %M" -o "$DIR/time" "$EXE" $RUN --output "$out" "$@" >/dev/null 2>"$DIR/err" ||
		{ cat "$DIR/err" >&2; exit 1; }
	python3 - "$DIR/time" "$out" <<'PY'
import glob, json, sys
e, m = open(sys.argv[1]).read().split()[-2:]
r = json.load(open(glob.glob(sys.argv[2] + "/*/results_*.json")[0]))["requests"]
print(e, m, r["sent"], r["cached"])
PY
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

echo "# bench/resume.sh: tiny model, 1 thread; $NC documents for the cost, $N for the resume; $REPS repetitions"
echo "# cache files in $DIR ($(df -PT "$DIR" | awk 'NR==2 {print $2}'))"
echo
echo "## 1. the cache's cost per request ($NC requests, medians of $REPS)"
: >"$DIR/nocache"; : >"$DIR/cold"; : >"$DIR/warm"
r=0
while [ $r -lt "$REPS" ]; do
	timed --limit "$NC" --no-cache >>"$DIR/nocache"
	rm -f "$DIR/c.sqlite" "$DIR/c.sqlite-wal" "$DIR/c.sqlite-shm"
	timed --limit "$NC" --cache "$DIR/c.sqlite" >>"$DIR/cold"
	timed --limit "$NC" --cache "$DIR/c.sqlite" >>"$DIR/warm"
	r=$((r + 1))
done
t0=$(cut -d' ' -f1 "$DIR/nocache" | median)
t1=$(cut -d' ' -f1 "$DIR/cold" | median)
t2=$(cut -d' ' -f1 "$DIR/warm" | median)
printf '%-40s %8s s  %6s KiB peak  sent %s cached %s\n' "--no-cache" "$t0" "$(cut -d' ' -f2 "$DIR/nocache" | median)" \
	"$(head -n1 "$DIR/nocache" | cut -d' ' -f3)" "$(head -n1 "$DIR/nocache" | cut -d' ' -f4)"
printf '%-40s %8s s  %6s KiB peak  sent %s cached %s\n' "--cache, empty (look up, send, commit)" "$t1" \
	"$(cut -d' ' -f2 "$DIR/cold" | median)" "$(head -n1 "$DIR/cold" | cut -d' ' -f3)" "$(head -n1 "$DIR/cold" | cut -d' ' -f4)"
printf '%-40s %8s s  %6s KiB peak  sent %s cached %s\n' "--cache, full (every answer found)" "$t2" \
	"$(cut -d' ' -f2 "$DIR/warm" | median)" "$(head -n1 "$DIR/warm" | cut -d' ' -f3)" "$(head -n1 "$DIR/warm" | cut -d' ' -f4)"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$NC" 'BEGIN {
	printf "cache cost per request (empty - no cache) / n: %.1f us (%+.1f%% of the run)\n", (b - a) / n * 1e6, (b - a) / a * 100
	printf "a run answered from the cache takes %.2fx the time of the run without it\n", c / a }'
echo
echo "## 2. resuming a $N-request run that is 90% done"
rm -f "$DIR/r.sqlite"*
done90=$((N * 9 / 10))
set -- $(timed --limit "$done90" --cache "$DIR/r.sqlite")
echo "first $done90 documents into the cache: $1 s"
set -- $(timed --cache "$DIR/r.sqlite")
echo "resume (the full command again):          $1 s, $2 KiB peak, sent $3, cached $4"
resume=$1
python3 - "$DIR/data/bench/test.jsonl" "$DIR/data/bench/tail.jsonl" "$done90" <<'PY'
import sys
lines = open(sys.argv[1]).readlines()
open(sys.argv[2], "w").writelines(lines[int(sys.argv[3]):])
PY
sed -e 's/task: bench_ll/task: bench_tail/' -e 's#bench/test.jsonl#bench/tail.jsonl#' "$DIR/reg/tasks/bench_ll.yaml" >"$DIR/reg/tasks/bench_tail.yaml"
RUN=$(echo "$RUN" | sed 's/--tasks bench_ll/--tasks bench_tail/')
set -- $(timed --no-cache)
echo "the $((N - done90)) missing documents alone, --no-cache: $1 s (the work left)"
left=$1
RUN=$(echo "$RUN" | sed 's/--tasks bench_tail/--tasks bench_ll/')
set -- $(timed --no-cache)
echo "all $N documents again, --no-cache:     $1 s (starting over)"
awk -v r="$resume" -v l="$left" -v a="$1" 'BEGIN {
	printf "resume / work left: %.2fx; resume / starting over: %.2fx; resume overhead: %.2f s\n", r / l, r / a, r - l }'
