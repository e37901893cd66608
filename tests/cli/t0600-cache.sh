#!/bin/sh
# `llm-eval cache`: path, stats of an absent, a filled and a damaged cache, clear,
# and the usage errors. The cache is filled by bench/store_cache.c's `fill`
# mode through the real cache code.
. "$(dirname "$0")/lib.sh"
FILL="$BUILD/bench/store-cache"
C="$XDG_CACHE_HOME/llm-eval/cache.sqlite"

expect "cache path is under XDG_CACHE_HOME" 0 llm-eval cache path && out_has "$C"
expect "cache path honours --cache" 0 llm-eval cache path --cache "$T/x.sqlite" && out_has "$T/x.sqlite"
expect "stats of an absent cache" 0 llm-eval cache stats && out_has "no cache at '$C' yet"
[ ! -e "$C" ] || fail "stats created the cache file"
expect "stats --json of an absent cache" 0 llm-eval cache stats --json && out_has '"exists": false'
expect "clear of an absent cache" 0 llm-eval cache clear && out_has "nothing to clear"

check "fill a cache: 250 responses, a run of 300 requests with 250 done" "$FILL" fill "$C" 300 gsm8k@1 250
expect "stats counts responses by kind" 0 llm-eval cache stats && \
	out_has "responses  250 (loglikelihood 150, rolling 25, generate_until 75)"
out_has "gsm8k@1"
out_has "250/300 done (resumable)"
expect "stats --json" 0 llm-eval cache stats --json && out_has '"entries": 250, "loglikelihood": 150'
out_has '{"name": "gsm8k@1", "total": 300, "done": 250,'
check "stats --json is valid JSON" python3 -m json.tool "$OUT"
expect "--cache=PATH form" 0 llm-eval cache stats --cache="$C" && out_has "responses  250"
expect "clear removes everything" 0 llm-eval cache clear && out_has "removed 250 cached responses"
expect "stats after clear" 0 llm-eval cache stats && out_has "responses  0 (" && out_lacks "gsm8k@1"

# A damaged file is reported, named, and left alone.
head -c 4096 /dev/urandom >"$T/bad.sqlite"
cp "$T/bad.sqlite" "$T/bad.copy"
expect "a damaged cache is an i/o error" 6 llm-eval cache stats --cache "$T/bad.sqlite" && \
	err_has "error: cache '$T/bad.sqlite' is damaged"
check "the damaged file is left as it was" cmp "$T/bad.sqlite" "$T/bad.copy"
expect "clear refuses a damaged cache too" 6 llm-eval cache clear --cache "$T/bad.sqlite" && err_has "is damaged"
check "still left as it was" cmp "$T/bad.sqlite" "$T/bad.copy"
# Truncated after a clean close: whatever part fails names the damage.
check "fill a second cache" "$FILL" fill "$T/t.sqlite" 2000
size=$(wc -c <"$T/t.sqlite")
check "truncate it to half" truncate -s $((size / 2)) "$T/t.sqlite"
expect "stats of a truncated cache" 6 llm-eval cache stats --cache "$T/t.sqlite" && err_has "is damaged"

expect "no action" 2 llm-eval cache && err_has "say what to do: stats, clear or path"
expect "unknown action" 2 llm-eval cache frob && err_has "unknown action 'frob'"
expect "unknown option" 2 llm-eval cache stats --frob && err_has "unknown option '--frob'"
expect "--cache without a value" 2 llm-eval cache stats --cache && err_has "option '--cache' needs a value"
expect "cache --help" 0 llm-eval cache --help && out_has "usage: llm-eval cache stats|clear|path"
done_testing
