#!/bin/sh
# Code tasks through `llm-eval run`: all 164 HumanEval problems with the
# canonical solutions as the model's completions (the test backend's
# replies=FILE), so the time is the run's own cost around the programs:
# building them, the sandbox pool, scoring, sample logs. Baseline, in the
# same invocation: the same 164 programs with plain python3, no sandbox,
# as many at once as the run uses (one per CPU). Medians of ROUNDS rounds
# (default 3), rounds alternating which goes first; peak memory of the run.
#   bench/code_run.sh [ROUNDS]      (after `make test` built the test backend)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHARED=${SHARED:-$TOP/../shared}
DATA="$SHARED/datasets/humaneval/HumanEval.jsonl.gz"
if [ ! -f "$DATA" ]; then
	echo "code_run.sh: skipped: no $DATA"
	exit 0
fi
[ -f "$BUILD/tests/plugins/testbackend.so" ] ||
	make -C "$TOP" BUILD="$BUILD" "$BUILD/tests/plugins/testbackend.so" >/dev/null
ROUNDS=${1:-3}
W=$(mktemp -d "${TMPDIR:-/tmp}/lle-bench-code.XXXXXX")
trap 'rm -rf "$W"' EXIT
export XDG_CONFIG_HOME="$W/config" XDG_CACHE_HOME="$W/cache" XDG_DATA_HOME="$W/data" LLM_EVAL_MONITOR=0
export LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins"
mkdir -p "$W/reg/models" "$W/progs"
python3 - "$DATA" "$W" <<'PY'
import gzip, json, sys
docs = [json.loads(l) for l in gzip.open(sys.argv[1], "rt")]
w = sys.argv[2]
with open(w + "/replies.txt", "w") as f:
    f.write("\n%%\n".join(d["canonical_solution"] for d in docs))
for i, d in enumerate(docs):
    with open("%s/progs/p%03d.py" % (w, i), "w") as f:
        f.write(d["prompt"] + d["canonical_solution"] + "\n" + d["test"] + "\n" + "check(%s)\n" % d["entry_point"])
PY
cat >"$W/reg/models/canonical.yaml" <<EOF
name: canonical
description: HumanEval's canonical solutions as completions
hf_repo: none/none
categories: [coding]
backend: testbackend
backends:
  testbackend:
    model: scripted
    replies: $W/replies.txt
EOF
CPUS=$(nproc)
# The interpreter the sandbox runs: the first python3 of its PATH (not a
# wrapper such as a pyenv shim earlier in the caller's PATH).
PY=$(PATH=/usr/local/bin:/usr/bin:/bin command -v python3)
run_once() {
	/usr/bin/time -f "%e %M" -o "$W/time" "$BUILD/llm-eval" --include-path "$W/reg" run --model canonical \
		--tasks humaneval --data-dir "$SHARED/datasets" --json --no-progress >"$W/out.json"
	python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))["results"]["humaneval"]["pass@1,create_test"]
assert v == 1.0, v' "$W/out.json"
	cat "$W/time" >>"$W/run.times"
}
plain_once() {
	s=$(date +%s.%N)
	ls "$W"/progs/*.py | xargs -P "$CPUS" -n 1 "$PY" >/dev/null
	e=$(date +%s.%N)
	echo "$s $e" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$W/plain.times"
}
: >"$W/run.times"
: >"$W/plain.times"
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	if [ $((i % 2)) -eq 0 ]; then run_once; plain_once; else plain_once; run_once; fi
	i=$((i + 1))
done
echo "== code tasks: llm-eval run on 164 HumanEval problems (canonical completions) vs plain python3"
python3 - "$W/run.times" "$W/plain.times" "$CPUS" "$ROUNDS" "$PY" <<'PY'
import statistics, sys
run = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
plain = [float(l) for l in open(sys.argv[2])]
rw = statistics.median(r[0] for r in run)
pw = statistics.median(plain)
print("rounds %s, %s programs at once, %s" % (sys.argv[4], sys.argv[3], sys.argv[5]))
print("plain python3, 164 programs:         median wall %.2f s" % pw)
print("llm-eval run --tasks humaneval:      median wall %.2f s, peak RSS %.1f MB" %
      (rw, max(r[1] for r in run) / 1024))
print("ratio run / plain:                   %.2f" % (rw / pw))
PY
