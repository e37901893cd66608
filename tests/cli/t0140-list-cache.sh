#!/bin/sh
# The index cache: used when fresh; a truncated, corrupted or foreign cache
# file is ignored and rebuilt; an unwritable cache directory means no cache;
# two processes building at once are safe; LLM_EVAL_FAST_MODE trusts it;
# LLM_EVAL_LAZY_LOADING=0 validates first.
. "$(dirname "$0")/lib.sh"
FX="$TOP/tests/fixtures"
export LLM_EVAL_DATADIR="$FX/registry"
cp -R "$FX/harness" "$T/h"
# Files written within a clock tick of a build are re-read by the next one
# (their mtime could still change unseen); these are older.
find "$T/h" -exec touch -d '1 minute ago' {} +
IDX="$T/cache/llm-eval/index"

expect "first list writes caches" 0 llm-eval -v list tasks --format tsv --include-path "$T/h" && err_has "cache written"
cp "$OUT" "$T/want"
check "one cache file per source" test "$(ls "$IDX" | wc -l)" -eq 2
check "no temporary files left" sh -c "! ls '$IDX' | grep -q tmp"
expect "from the cache" 0 llm-eval -v list tasks --format tsv --include-path "$T/h" && err_has "2 sources from the cache"
cmp -s "$OUT" "$T/want" || fail "cached listing differs"

tree_cache=$(grep -l "$T/h" "$IDX"/tasks-*.idx)
check "the tree's cache is found" test -n "$tree_cache"
size=$(wc -c <"$tree_cache")

head -c $((size / 2)) "$tree_cache" >"$T/x" && cp "$T/x" "$tree_cache"
expect "truncated cache" 0 llm-eval -v list tasks --format tsv --include-path "$T/h" && err_has "cache ignored: truncated"
cmp -s "$OUT" "$T/want" || fail "listing after truncation differs"
check "rebuilt whole" test "$(wc -c <"$tree_cache")" -eq "$size"
expect "rebuilt cache is used" 0 llm-eval -v list tasks --format tsv --include-path "$T/h" && err_has "2 sources from the cache"

# Flip one byte in the middle: the checksum catches it.
python3 -c '
import sys
p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=0x40; open(p,"wb").write(b)' "$tree_cache"
expect "corrupted cache" 0 llm-eval -v list tasks --format tsv --include-path "$T/h" && err_has "cache ignored: checksum mismatch"
cmp -s "$OUT" "$T/want" || fail "listing after corruption differs"

head -c "$size" /dev/urandom >"$tree_cache"
expect "foreign file" 0 llm-eval -v list tasks --format tsv --include-path "$T/h" && err_has "cache ignored: not an llm-eval index"
cmp -s "$OUT" "$T/want" || fail "listing after foreign file differs"
: >"$tree_cache"
expect "empty cache file" 0 llm-eval list tasks --format tsv --include-path "$T/h"
cmp -s "$OUT" "$T/want" || fail "listing after empty cache differs"

# Another directory's cache copied over this one: built for another root.
other=$(ls "$IDX"/tasks-*.idx | grep -v "$tree_cache" | head -n 1)
cp "$other" "$tree_cache"
expect "another directory's cache" 0 llm-eval -v list tasks --format tsv --include-path "$T/h" &&
	err_has "cache ignored: built for another directory"
cmp -s "$OUT" "$T/want" || fail "listing after swapped cache differs"

# Unwritable cache locations: no cache, same answers, no complaint.
printf 'x' >"$T/file"
expect "cache home is a file" 0 env XDG_CACHE_HOME="$T/file" "$LLM_EVAL" list tasks --format tsv --include-path "$T/h"
cmp -s "$OUT" "$T/want" || fail "listing without cache differs"
err_has "already registered"
[ "$(grep -vc 'already registered' "$ERR")" -eq 0 ] || fail "no other message"
expect "cache home in /proc (read-only)" 0 env XDG_CACHE_HOME=/proc/self "$LLM_EVAL" list tasks --format tsv --include-path "$T/h"
cmp -s "$OUT" "$T/want" || fail "listing without cache differs"
if [ "$(id -u)" -ne 0 ]; then
	mkdir -p "$T/ro/llm-eval/index" && chmod 555 "$T/ro/llm-eval/index"
	expect "read-only cache directory" 0 env XDG_CACHE_HOME="$T/ro" "$LLM_EVAL" list tasks --format tsv --include-path "$T/h"
	cmp -s "$OUT" "$T/want" || fail "listing with read-only cache differs"
	chmod 755 "$T/ro/llm-eval/index"
else
	echo "ok - read-only cache directory # SKIP running as root (covered by /proc above)"
fi
expect "no HOME, no XDG_CACHE_HOME" 0 env -u XDG_CACHE_HOME -u HOME "$LLM_EVAL" list tasks --format tsv --include-path "$T/h"
cmp -s "$OUT" "$T/want" || fail "listing without HOME differs"

# Two processes building the same caches at once.
rm -rf "$IDX"
for i in 1 2 3 4; do
	"$LLM_EVAL" list tasks --format tsv --include-path "$T/h" >"$T/par$i" 2>/dev/null &
done
wait
check "parallel builders agree" sh -c "cmp '$T/par1' '$T/want' && cmp '$T/par2' '$T/want' && cmp '$T/par3' '$T/want' && cmp '$T/par4' '$T/want'"
expect "and leave a good cache" 0 llm-eval -v list tasks --format tsv --include-path "$T/h" && err_has "2 sources from the cache"
check "no temporary files left after a race" sh -c "! ls '$IDX' | grep -q tmp"

# LLM_EVAL_FAST_MODE=1 trusts the cache without looking at the files.
sed -i 's/^task: arith_2$/task: arith_two/' "$T/h/arith/arith_2.yaml"
expect "fast mode uses the cache as is" 0 env LLM_EVAL_FAST_MODE=1 "$LLM_EVAL" list tasks --format tsv --include-path "$T/h" &&
	out_has "arith_2	task" && out_lacks "arith_two"
expect "normal mode sees the change" 0 llm-eval list tasks --format tsv --include-path "$T/h" && out_has "arith_two	task"

# LLM_EVAL_LAZY_LOADING=0: validate everything before the command.
expect "lazy loading off: a broken file stops list" 3 env LLM_EVAL_LAZY_LOADING=0 "$LLM_EVAL" list tasks --include-path "$T/h" &&
	err_has "$T/h/mmlu_mini/broken.yaml:2:1:" && out_lacks "arith_1"
expect "lazy loading off, clean registry" 0 env LLM_EVAL_LAZY_LOADING=0 "$LLM_EVAL" list models && out_has "qwen_math"
expect "lazy loading 1 is the default" 0 env LLM_EVAL_LAZY_LOADING=1 "$LLM_EVAL" list tasks --include-path "$T/h" && out_has "arith_1"
done_testing
