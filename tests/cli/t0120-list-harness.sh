#!/bin/sh
# An lm-evaluation-harness tasks/ tree on the include path: kinds, includes,
# tags from included files, !function kept, broken files skipped, duplicates.
. "$(dirname "$0")/lib.sh"
FX="$TOP/tests/fixtures"
export LLM_EVAL_DATADIR="$T/no-builtin"

expect "list tasks over a harness tree" 0 llm-eval list tasks --format tsv --include-path "$FX/harness"
cut -f1,2 "$OUT" >"$T/got"
cat >"$T/want" <<'W'
name	kind
arith_1	task
arith_2	task
arith_all	group
arith_tag	tag
math_tag	tag
py_tag	tag
squad_py	python-task
W
cmp -s "$T/got" "$T/want" || fail "entries differ: $(diff "$T/want" "$T/got" | tr '\n' ' ')"
grep -q '^math_tag	tag		tag of 2 tasks$' "$OUT" || fail "math_tag has arith_1 (from the template) and arith_2 (own)"
grep -q '^arith_tag	tag		tag of 1 task$' "$OUT" || fail "arith_2's own tag replaces the template's"
err_has "warning: $FX/harness/mmlu_mini/dup.yaml:1:1: task 'arith_1' is already registered by $FX/harness/arith/arith_1.yaml:2:1; keeping the first"
[ "$(grep -c . "$ERR")" -eq 1 ] || fail "only the duplicate warns; broken files are skipped quietly"

expect "broken files are noted with -v" 0 llm-eval -v list tasks --include-path "$FX/harness" && err_has "note: registry index"
expect "--kind python-task" 0 llm-eval list tasks --format tsv --kind python-task --include-path "$FX/harness"
[ "$(cut -f1 "$OUT" | tail -n +2)" = "squad_py" ] || fail "python-task filter"
expect "the tag's JSON says how many tasks" 0 llm-eval list tasks --json --kind tag --include-path "$FX/harness"
check "json" python3 -c '
import json,sys
d={t["name"]:t for t in json.load(open(sys.argv[1]))}
assert d["math_tag"]["tasks"]==2 and d["py_tag"]["tasks"]==1, d
' "$OUT"

# Names in a tree that fill the same slot as built-in ones: the tree wins.
expect "a tree over the fixture registry" 0 env LLM_EVAL_DATADIR="$FX/registry" "$LLM_EVAL" list tasks --format tsv --include-path "$FX/harness"
out_has "gsm8k_fx	task" && out_has "arith_1	task"

# Include chains: a change deep in a chain is seen (no cache staleness).
cp -R "$FX/harness" "$T/h"
expect "warm" 0 llm-eval list tasks --format tsv --include-path "$T/h" && out_has "arith_tag"
sed -i 's/arith_tag/renamed_tag/' "$T/h/arith/_default_template_yaml"
expect "template change seen" 0 llm-eval list tasks --format tsv --include-path "$T/h" && out_has "renamed_tag" && out_lacks "arith_tag"
printf 'dataset_path: x\ndescription: from two includes down\n' >"$T/h/_common_yaml"
expect "change two includes deep" 0 llm-eval list tasks --format tsv --include-path "$T/h"
grep -q '^arith_2	task		from two includes down$' "$OUT" || fail "description from _common_yaml"
grep -q '^arith_1	task		from two includes down$' "$OUT" || fail "description from _common_yaml"
done_testing
