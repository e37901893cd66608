#!/bin/sh
# list models|tasks|categories over a fixture registry: tables, TSV, JSON,
# filters, verb prefixes, the old flags, colour.
. "$(dirname "$0")/lib.sh"
export LLM_EVAL_DATADIR="$TOP/tests/fixtures/registry"

expect "list models" 0 llm-eval list models && out_has "qwen_math" && out_has "NAME" && err_empty
grep -q '^qwen_math  *mathematics  *1.54  *3.1  *llamacpp  *A maths model for the fixtures$' "$OUT" ||
	fail "model row not aligned as expected"

expect "list models --format tsv" 0 llm-eval list models --format tsv
cat >"$T/want" <<'W'
name	categories	params_b	size_gb	backend	description
llama_small	knowledge	1.24	2.5	llamacpp	A general model
qwen_math	mathematics	1.54	3.1	llamacpp	A maths model for the fixtures
tiny_coder	coding,mathematics	0.5	1.0	openai	A small coding model
W
cmp -s "$OUT" "$T/want" || fail "tsv differs: $(diff "$T/want" "$OUT" | head -5)"

expect "list tasks --format=tsv" 0 llm-eval list tasks --format=tsv
cat >"$T/want" <<'W'
name	kind	category	description
arith_fx	task	mathematics	Two-digit sums
gsm8k_fx	task	mathematics	Grade-school maths word problems
humaneval_fx	task	coding	Python functions from docstrings
math_fx	tag		tag of 2 tasks
mmlu_fx	group	knowledge	
mmlu_fx_algebra	task	knowledge	Abstract algebra questions
W
cmp -s "$OUT" "$T/want" || fail "tsv differs: $(diff "$T/want" "$OUT" | head -5)"

expect "list categories counts members" 0 llm-eval list categories --format tsv
grep -q '^mathematics	2	2	Arithmetic, algebra and competition maths$' "$OUT" || fail "mathematics row"
grep -q '^knowledge	1	2	' "$OUT" || fail "knowledge row"

expect "list models --json is valid JSON" 0 llm-eval list models --json
check "json parses and has numbers" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert [m["name"] for m in d]==["llama_small","qwen_math","tiny_coder"], d
assert d[1]["params_b"]==1.54 and d[2]["categories"]==["coding","mathematics"], d
assert d[1]["file"].endswith("models/qwen_math.yaml") and d[1]["line"]==2, d
' "$OUT"
expect "list tasks --format json" 0 llm-eval list tasks --format json
check "tasks json has kinds" python3 -c '
import json,sys
d={t["name"]:t for t in json.load(open(sys.argv[1]))}
assert d["math_fx"]["kind"]=="tag" and d["math_fx"]["tasks"]==2
assert d["mmlu_fx"]["kind"]=="group"
' "$OUT"
expect "empty result is an empty JSON array" 0 llm-eval list models --json zzz && out_has "[]"

expect "substring filter" 0 llm-eval list models --format tsv MATH
[ "$(cut -f1 "$OUT" | tail -n +2)" = "qwen_math" ] || fail "substring filter, any case"
expect "glob filter" 0 llm-eval list tasks --format tsv '*_fx'
[ "$(tail -n +2 "$OUT" | wc -l)" -eq 5 ] || fail "glob should match 5 tasks"
expect "glob is anchored" 0 llm-eval list tasks --format tsv 'fx*'
[ "$(tail -n +2 "$OUT" | wc -l)" -eq 0 ] || fail "glob fx* matches nothing"
expect "--category on models (list of categories)" 0 llm-eval list models --format tsv --category mathematics
[ "$(cut -f1 "$OUT" | tail -n +2 | tr '\n' ' ')" = "qwen_math tiny_coder " ] || fail "category filter"
expect "--category on tasks" 0 llm-eval list tasks --format tsv --category=coding
[ "$(cut -f1 "$OUT" | tail -n +2)" = "humaneval_fx" ] || fail "task category filter"
expect "unknown --category suggests" 2 llm-eval list models --category mathematic &&
	err_has "error: unknown category 'mathematic' (did you mean 'mathematics'?)"
expect "--kind group" 0 llm-eval list tasks --format tsv --kind group
[ "$(cut -f1 "$OUT" | tail -n +2)" = "mmlu_fx" ] || fail "kind filter"
expect "--kind tag" 0 llm-eval list tasks --format tsv --kind tag && out_has "math_fx"
expect "bad --kind" 2 llm-eval list tasks --kind bogus && err_has "unknown kind 'bogus'"
expect "--kind only for tasks" 2 llm-eval list models --kind task && err_has "applies to 'list tasks' only"
expect "bad --format" 2 llm-eval list models --format xml && err_has "unknown format 'xml'"
expect "--format needs a value" 2 llm-eval list models --format && err_has "needs a value"
expect "no verb" 2 llm-eval list && err_has "what to list?" && err_has "usage: llm-eval list"
expect "unknown verb" 2 llm-eval list frobs && err_has "unknown list 'frobs'"
expect "verb prefix" 0 llm-eval list mod --format tsv && out_has "tiny_coder"
expect "singular verb" 0 llm-eval list category --format tsv && out_has "coding"
expect "too many arguments" 2 llm-eval list models a b && err_has "too many arguments"
expect "unknown option" 2 llm-eval list models --frob && err_has "unknown option '--frob'"
expect "alias ls" 0 llm-eval ls models && out_has "qwen_math"
expect "command prefix" 0 llm-eval li models && out_has "qwen_math"
expect "list --help" 0 llm-eval list --help && out_has "usage: llm-eval list"
expect "old flag --list-models" 0 llm-eval --list-models && out_has "tiny_coder"
expect "old flag --list-categories" 0 llm-eval --list-categories && out_has "knowledge"

expect "no colour when not a terminal" 0 llm-eval list tasks
! grep -q "$(printf '\033')" "$OUT" || fail "escape codes in a pipe"
expect "--color always" 0 llm-eval --color always list tasks
grep -q "$(printf '\033')\[1m" "$OUT" || fail "no bold header"
grep -q "$(printf '\033')\[36mgroup" "$OUT" || fail "group not coloured"
expect "--color always, tsv has no colour" 0 llm-eval --color always list tasks --format tsv
! grep -q "$(printf '\033')" "$OUT" || fail "escape codes in tsv"
if command -v script >/dev/null 2>&1; then
	# A real terminal through script(1): colour, unless NO_COLOR is set.
	script -qec "env -u NO_COLOR '$LLM_EVAL' list tasks" /dev/null >"$T/tty" 2>&1 </dev/null
	check "colour on a terminal" grep -q "$(printf '\033')\[1m" "$T/tty"
	script -qec "env NO_COLOR=1 '$LLM_EVAL' list tasks" /dev/null >"$T/tty" 2>&1 </dev/null
	check "NO_COLOR on a terminal" sh -c "! grep -q '$(printf '\033')\[' '$T/tty' && grep -q gsm8k_fx '$T/tty'"
else
	echo "ok - colour on a terminal # SKIP no script(1)"
fi
# What `--help` and `list` load: libc and libyaml only (sanitizer runtimes
# aside). Speed is for bench/; this checks nothing heavy is linked in.
loaded() {
	LD_DEBUG=libs "$@" 2>&1 >/dev/null | sed -n 's/.*calling init: //p' | sed 's|.*/||' |
		grep -v -E '^(ld-linux|libc\.so|libyaml-0\.so|libasan|libubsan|libstdc\+\+|libm\.so|libgcc_s|liblsan)' | tr '\n' ' '
}
check "--help maps only libc and libyaml" test -z "$(loaded "$LLM_EVAL" --help)"
check "list maps only libc and libyaml" test -z "$(loaded "$LLM_EVAL" list tasks --include-path "$TOP/tests/fixtures/harness")"
done_testing
