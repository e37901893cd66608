#!/bin/sh
# llm-eval run with the response cache: a run killed with SIGKILL (at several
# points, chosen by how many responses the cache holds, read with
# `cache stats --json`) or stopped with Ctrl-C, then run again, sends exactly
# the requests the cache lacks and ends with the values of an uninterrupted
# run; two runs sharing one cache at once; a damaged cache or one in a
# read-only directory stops the run with a message naming it.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
# Small chunks (2 documents) so a kill lands between commits; short generations.
RUN="run --include-path $TOP/examples/demo --data-dir $TOP/examples/demo/data --model-path $MODEL
     --tasks demo --limit 10 --batch-size 2 --bootstrap-iters 50 --gen-kwargs max_gen_toks=6 --threads 1 --no-progress --no-store"

# results_*.json of DIR/tiny
res() { ls "$1"/tiny/results_*.json 2>/dev/null | head -n 1; }
# cache entries
entries() {
	"$LLM_EVAL" cache stats --json --cache "$1" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("entries", 0))' 2>/dev/null || echo 0
}

expect "baseline without a cache" 0 llm-eval $RUN --no-cache --output "$T/base"
TOTAL=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["requests"]; assert r["cached"] == 0; print(r["sent"])' "$(res "$T/base")")
check "the baseline sent requests" test "${TOTAL:-0}" -gt 20

# compare_runs A B SENT CACHED: same values; B's counters as given
compare_runs() {
	python3 - "$1" "$2" "$3" "$4" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("results", "groups", "n-samples", "configs", "n-shot", "higher_is_better"):
    assert a[k] == b[k], (k, a[k], b[k])
want = {"sent": int(sys.argv[3]), "cached": int(sys.argv[4])}
assert b["requests"] == want, (b["requests"], want)
PY
}

expect "first run fills the cache" 0 llm-eval $RUN --cache "$T/full.sqlite" --output "$T/full"
check "a cold cache sends everything" compare_runs "$(res "$T/base")" "$(res "$T/full")" "$TOTAL" 0
expect "a second run sends nothing" 0 llm-eval -v $RUN --cache "$T/full.sqlite" --output "$T/again" &&
	err_has "requests sent to the backend, $TOTAL found in the cache"
check "every request came from the cache" compare_runs "$(res "$T/base")" "$(res "$T/again")" 0 "$TOTAL"
check "journal: every request of every task done" python3 - "$LLM_EVAL" "$T/full.sqlite" "$TOTAL" <<'PY'
import json, subprocess, sys
st = json.loads(subprocess.check_output([sys.argv[1], "cache", "stats", "--json", "--cache", sys.argv[2]]))
runs = st["runs"]
assert len(runs) == 3 and all(r["done"] == r["total"] for r in runs), runs
assert sum(r["total"] for r in runs) == int(sys.argv[3]), runs
PY

# kill_at K SIGNAL: start the run on a fresh cache, send SIGNAL once the cache
# holds at least K responses (polled with `cache stats --json`; or the run
# ends first), then rerun it to completion. The poll decides when to kill,
# never whether the test passes.
kill_at() {
	k=$1 sig=$2 c="$T/kill$1$2.sqlite" o="$T/kill$1$2"
	have=$(python3 - "$LLM_EVAL" "$c" "$k" "$sig" "$o.1" $RUN <<'PY'
import json, signal, subprocess, sys, time
exe, cache, k, sig, out, args = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6:]
def entries():
    r = subprocess.run([exe, "cache", "stats", "--json", "--cache", cache], capture_output=True, text=True)
    return json.loads(r.stdout).get("entries", 0) if r.returncode == 0 and r.stdout else 0
p = subprocess.Popen([exe] + args + ["--cache", cache, "--output", out],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(20000):  # bounded
    if p.poll() is not None or entries() >= k:
        break
    time.sleep(0.002)
p.send_signal(getattr(signal, "SIG" + sig))
rc = p.wait()
n = entries()
print("# %s after >= %d responses: exit %d, %d in the cache" % (sig, k, rc, n), file=sys.stderr)
print(n)
PY
)
	expect "rerun after $sig at $k responses" 0 llm-eval $RUN --cache "$c" --output "$o.2" &&
		check "rerun after $sig at $k: sends the $((TOTAL - have)) missing, same values" \
			compare_runs "$(res "$T/base")" "$(res "$o.2")" "$((TOTAL - have))" "$have"
}
for k in 1 $((TOTAL / 3)) $((TOTAL * 2 / 3)); do
	kill_at "$k" KILL
done
kill_at $((TOTAL / 2)) INT

# Two runs on one cache at once: both finish, both right, and between them
# every request was answered once at least and at most twice.
"$LLM_EVAL" $RUN --cache "$T/shared.sqlite" --output "$T/p1" >"$T/p1.out" 2>"$T/p1.err" &
p1=$!
"$LLM_EVAL" $RUN --cache "$T/shared.sqlite" --output "$T/p2" >"$T/p2.out" 2>"$T/p2.err" &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check "two runs sharing a cache both succeed" test "$r1$r2" = 00 ||
	grep -hv '^tiny ' "$T/p1.err" "$T/p2.err" | sed 's/^/#   /' | head -n 6
check "both have the uninterrupted values" python3 - "$(res "$T/base")" "$(res "$T/p1")" "$(res "$T/p2")" "$TOTAL" <<'PY'
import json, sys
a, b, c = (json.load(open(p)) for p in sys.argv[1:4])
for x in (b, c):
    assert x["results"] == a["results"] and x["groups"] == a["groups"]
    assert x["requests"]["sent"] + x["requests"]["cached"] == int(sys.argv[4])
PY
check "the shared cache holds each response once" test "$(entries "$T/shared.sqlite")" = "$TOTAL"

# Damaged and unwritable caches stop the run before any model loads.
printf 'this is not a database, just some bytes %0500d' 0 >"$T/bad.sqlite"
expect "damaged cache" 6 llm-eval $RUN --cache "$T/bad.sqlite" --output "$T/bad" &&
	err_has "cache '$T/bad.sqlite' is damaged"
check "the damaged file is left as it was" grep -q "this is not a database" "$T/bad.sqlite"
mkdir "$T/ro" && chmod 555 "$T/ro"
if [ -w "$T/ro" ]; then
	echo "ok - read-only directory # SKIP running as root"
else
	expect "cache in a read-only directory" 6 llm-eval $RUN --cache "$T/ro/c.sqlite" --output "$T/rodir" &&
		err_has "'$T/ro'"
fi
chmod 755 "$T/ro"
expect "--cache and --no-cache" 2 llm-eval $RUN --cache "$T/x.sqlite" --no-cache && err_has "exclude each other"
done_testing
