#!/bin/sh
# A synthetic lm-evaluation-harness tree of 14,000 files (tools/gen-task-tree):
# `list tasks` returns exactly the expected entries with their kinds, cold
# (no cache), warm (from the cache), and after files are added, changed and
# removed, re-indexing exactly the files that depend on what changed.
. "$(dirname "$0")/lib.sh"
GEN="$BUILD/tools/gen-task-tree"
export LLM_EVAL_DATADIR="$T/no-builtin"
TREE="$T/tasks"

check "generate 14000 files" "$GEN" -n 14000 "$TREE" "$T/expected"
check "14000 yaml files" test "$(find "$TREE" -name '*.yaml' | wc -l)" -eq 14000

listing() { # -> $T/got: name<TAB>kind, no header
	tail -n +2 "$OUT" | cut -f1,2 >"$T/got"
}
same() { # DESCRIPTION
	cmp -s "$T/got" "$T/expected" || fail "$1: $(diff "$T/expected" "$T/got" | head -n 6 | tr '\n' ' ')"
}
indexed() { # the "N files indexed" of the -v note
	sed -n 's/.*registry index: \([0-9]*\) files\{0,1\} indexed.*/\1/p' "$ERR"
}

expect "cold list" 0 llm-eval -v list tasks --format tsv --include-path "$TREE" && listing && same "cold"
[ "$(indexed)" -eq 14000 ] || fail "cold indexes every file ($(indexed))"
err_has "cache written"
[ "$(grep -c "already registered" "$ERR")" -eq 20 ] || fail "20 duplicates warned"
check "expected entries are many" test "$(wc -l <"$T/expected")" -gt 14000
check "expected has every kind" sh -c "cut -f2 '$T/expected' | sort -u | tr '\n' ' ' | grep -qx 'group python-task tag task '"

# Files written moments before a build are re-read once more (their time
# stamps could still change within one clock tick); after that, nothing.
expect "warm list" 0 llm-eval -v list tasks --format tsv --include-path "$TREE" && listing && same "warm"
expect "warm again: nothing indexed" 0 llm-eval -v list tasks --format tsv --include-path "$TREE" && listing && same "warm 2"
[ "$(indexed)" -eq 0 ] || fail "warm list indexed $(indexed) files"
err_has "1 source from the cache"

# Add, change, remove; and change a template that 99 files include.
mkdir -p "$TREE/fam001/new"
printf 'task: brand_new_task\ntag: brand_new_tag\n' >"$TREE/fam001/new/brand_new.yaml"
sed -i 's/^task: fam002_s1_t030$/task: renamed_task_x/' "$TREE/fam002/sub1/fam002_s1_t030.yaml"
rm "$TREE/fam003/sub2/fam003_s2_t060.yaml"
sed -i 's/^tag: fam004_tag$/tag: fam004_newtag/' "$TREE/fam004/_default_template_yaml"
deps=$(grep -rl '_default_template_yaml' "$TREE/fam004" | wc -l)
{
	grep -v -e '^fam002_s1_t030	' -e '^fam003_s2_t060	' -e '^fam004_tag	' "$T/expected"
	printf 'brand_new_task\ttask\nbrand_new_tag\ttag\nrenamed_task_x\ttask\nfam004_newtag\ttag\n'
} | LC_ALL=C sort >"$T/expected2"
mv "$T/expected2" "$T/expected"
expect "after add, change, remove" 0 llm-eval -v list tasks --format tsv --include-path "$TREE" && listing && same "after changes"
[ "$(indexed)" -eq $((deps + 2)) ] || fail "indexed $(indexed) files, want $((deps + 2)): the new, the changed and the template's $deps"
expect "and warm again" 0 llm-eval -v list tasks --format tsv --include-path "$TREE" && listing && same "after changes, warm"

# A file changed in place with the same size (only its mtime moves).
sed -i 's/^task: fam005_s0_t010$/task: fam005_s0_t01X/' "$TREE/fam005/sub0/fam005_s0_t010.yaml"
sed -e 's/^fam005_s0_t010	task$/fam005_s0_t01X	task/' "$T/expected" | LC_ALL=C sort >"$T/expected2"
mv "$T/expected2" "$T/expected"
expect "same-size change" 0 llm-eval -v list tasks --format tsv --include-path "$TREE" && listing && same "same size"

# A whole directory removed, and one renamed.
rm -r "$TREE/fam006"
mv "$TREE/fam007" "$TREE/zfam007"
grep -v '^fam006' "$T/expected" >"$T/expected2"
mv "$T/expected2" "$T/expected"
expect "directory removed and renamed" 0 llm-eval list tasks --format tsv --include-path "$TREE" && listing && same "dirs"

# Fixing a broken file makes it appear.
printf 'task: fixed_now\n' >"$TREE/fam000/broken_syntax.yaml"
printf 'fixed_now\ttask\n' >>"$T/expected"
LC_ALL=C sort "$T/expected" >"$T/expected2"
mv "$T/expected2" "$T/expected"
expect "broken file fixed" 0 llm-eval list tasks --format tsv --include-path "$TREE" && listing && same "fixed"
done_testing
