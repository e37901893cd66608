#!/bin/sh
# Issue 18 item 8: a server's answer whose text holds \u0000 (a real
# llama-server did, for a random-weight model) is valid JSON: the openai
# backend takes it, and the text stays bytes with a length on its way: the
# filters see all of it (the regex finds the number after the NUL), the sample
# log writes it back as \u0000, the response cache holds every byte, and a run
# served from the cache logs the same text.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-openai.sh"
C="$XDG_CACHE_HOME/llm-eval/cache.sqlite"

start_server nul --no-inference --hostile nul-text
model nul "$(url "$PORT_nul")" 'backoff: 0.01' 'max_retries: 1'
RUN="run $DD --limit 2 --no-progress --no-store --tasks demo_arith_gen --model nul --log-samples"

expect "an answer with \\u0000 in its text is taken" 0 llm-eval $INC $RUN --output "$T/o1"
S1=$(find "$T/o1" -name 'samples_demo_arith_gen*.jsonl' | head -n 1)
check "the sample log exists" test -s "$S1"
check "the sample log writes the NUL as \\u0000" grep -qF '" \u000042"' "$S1"
check "each response is the whole text, and the regex saw past the NUL" python3 - "$S1" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 2, lines
for s in lines:
    assert s["resps"] == [[" \x0042"]], s["resps"]
    assert s["filtered_resps"] == ["42"], s["filtered_resps"]
EOF
check "the cache holds every byte of the text" python3 - "$C" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
texts = [bytes(r[0]) if not isinstance(r[0], str) else r[0].encode() for r in
         db.execute("select text from responses where text is not null and length(text) > 0")]
assert texts and all(t == b" \x0042" for t in texts), texts
EOF

expect "the same run from the cache" 0 llm-eval -v $INC $RUN --output "$T/o2" && err_has "2 requests, 0 to send"
S2=$(find "$T/o2" -name 'samples_demo_arith_gen*.jsonl' | head -n 1)
check "the cached run logs the same text" python3 - "$S1" "$S2" <<'EOF'
import json, sys
a = [json.loads(l)["resps"] for l in open(sys.argv[1])]
b = [json.loads(l)["resps"] for l in open(sys.argv[2])]
assert a == b, (a, b)
EOF
done_testing
