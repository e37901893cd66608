#!/bin/sh
# Issue 13 item 8 through `llm-eval run`: records of the response cache that
# were damaged after they were stored (a flipped byte in a generated text or a
# log-probability, a NULL put into a column) are not served. The rerun says
# so, requests exactly those again, stores the new answers in their place and
# ends with the values of a clean run; a third run finds everything.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
RUN="run --include-path $TOP/examples/demo --data-dir $TOP/examples/demo/data --model-path $MODEL
     --tasks demo --limit 6 --bootstrap-iters 50 --gen-kwargs max_gen_toks=6 --threads 1 --no-progress --no-store"
C="$T/cache.sqlite"
res() { ls "$1"/tiny/results_*.json 2>/dev/null | head -n 1; }
# compare_runs A B SENT CACHED: same values; B's counters as given
compare_runs() {
	python3 - "$1" "$2" "$3" "$4" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("results", "groups", "n-samples"):
    assert a[k] == b[k], (k, a[k], b[k])
want = {"sent": int(sys.argv[3]), "cached": int(sys.argv[4])}
assert b["requests"] == want, (b["requests"], want)
PY
}

expect "a first run fills the cache" 0 llm-eval $RUN --cache "$C" --output "$T/first"
TOTAL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"]["sent"])' "$(res "$T/first")")
check "it sent requests" test "${TOTAL:-0}" -gt 10

# one generated text with a byte flipped, one log-probability with a byte
# flipped, one rolling log-probability set to NULL
damage() {
	python3 - "$C" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
def flip(kind, col):
    key, v = db.execute(f"SELECT key, {col} FROM responses WHERE kind = ? AND length({col}) > 0 ORDER BY key LIMIT 1", (kind,)).fetchone()
    b = bytearray(v)
    b[len(b) // 2] ^= 0x04
    db.execute(f"UPDATE responses SET {col} = ? WHERE key = ?", (bytes(b), key))
flip(3, "text")
flip(1, "logprob")
db.execute("UPDATE responses SET logprob = NULL WHERE key = (SELECT key FROM responses WHERE kind = 2 ORDER BY key LIMIT 1)")
db.commit()
PY
}
check "damage three records" damage
expect "the rerun treats them as missing and says so" 0 llm-eval -v $RUN --cache "$C" --output "$T/second" &&
	err_has "warning: cache '$C': the stored response " && err_has "fails its check (a damaged record): it is treated as missing and requested again" &&
	err_has "3 damaged records in all were treated as missing"
check "it sent exactly the three again, and the values are a clean run's" \
	compare_runs "$(res "$T/first")" "$(res "$T/second")" 3 $((TOTAL - 3))
expect "the new answers replaced them: a third run finds everything" 0 llm-eval $RUN --cache "$C" --output "$T/third" &&
	{ ! grep -q "damaged" "$ERR" || fail "stderr mentions damaged records"; }
check "nothing sent" compare_runs "$(res "$T/first")" "$(res "$T/third")" 0 "$TOTAL"
done_testing
