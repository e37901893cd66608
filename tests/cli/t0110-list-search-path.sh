#!/bin/sh
# The search path: built-in, $XDG_CONFIG_HOME/llm-eval, LLM_EVAL_INCLUDE_PATH,
# --include-path; later wins with a warning naming both files.
. "$(dirname "$0")/lib.sh"
FX="$TOP/tests/fixtures"
export LLM_EVAL_DATADIR="$FX/registry"

expect "--include-path overrides a built-in model" 0 llm-eval list models --format tsv --include-path "$FX/override"
grep -q '^qwen_math	mathematics	7.62	15.2		The overriding maths model$' "$OUT" || fail "override not used"
err_has "warning: $FX/override/models/qwen_math.yaml:1:1: model 'qwen_math' overrides the one in $FX/registry/models/qwen_math.yaml:2:1"
[ "$(grep -c . "$ERR")" -eq 1 ] || fail "one warning expected"

expect "--include-path=DIR form" 0 llm-eval --include-path="$FX/override" list models --format tsv && out_has "overriding"
expect "LLM_EVAL_INCLUDE_PATH" 0 env LLM_EVAL_INCLUDE_PATH="$FX/override" "$LLM_EVAL" list models --format tsv &&
	out_has "overriding" && err_has "overrides the one in"

mkdir -p "$T/config/llm-eval/models" "$T/b/models"
sed -e 's/The overriding maths model/from XDG/' "$FX/override/models/qwen_math.yaml" >"$T/config/llm-eval/models/q.yaml"
sed -e 's/The overriding maths model/from B/' "$FX/override/models/qwen_math.yaml" >"$T/b/models/q.yaml"
expect "XDG config dir wins over built-in" 0 llm-eval list models --format tsv && out_has "from XDG" &&
	err_has "$T/config/llm-eval/models/q.yaml:1:1: model 'qwen_math' overrides the one in $FX/registry/models/qwen_math.yaml"
expect "env path wins over XDG, --include-path over env" 0 \
	env LLM_EVAL_INCLUDE_PATH="$FX/override" "$LLM_EVAL" --include-path "$T/b" list models --format tsv
out_has "from B" && err_has "$T/b/models/q.yaml:1:1: model 'qwen_math' overrides the one in $FX/override/models/qwen_math.yaml"
[ "$(grep -c overrides "$ERR")" -eq 3 ] || fail "three overrides: XDG, env, --include-path"
expect "several env paths, colon separated" 0 env LLM_EVAL_INCLUDE_PATH="$T/b:$FX/override" "$LLM_EVAL" list models --format tsv &&
	out_has "overriding"
expect "the same directory twice is read once" 0 llm-eval list models --format tsv --include-path "$FX/override" --include-path "$FX/override/" &&
	out_has "overriding" && ! grep -q "overrides the one in $FX/override" "$ERR" || fail "it overrides itself"
expect "-q silences override warnings" 0 llm-eval -q list models --include-path "$FX/override" && err_empty

expect "missing --include-path is a config error" 3 llm-eval list models --include-path "$T/nope" &&
	err_has "error: include path '$T/nope': no such directory"
expect "missing built-in registry is fine" 0 env LLM_EVAL_DATADIR="$T/none" XDG_CONFIG_HOME="$T/noconf" "$LLM_EVAL" list models --format tsv
[ "$(wc -l <"$OUT")" -eq 1 ] || fail "only the header"
expect "a harness tree adds tasks only" 0 llm-eval list models --format tsv --include-path "$FX/harness"
[ "$(wc -l <"$OUT")" -eq 4 ] || fail "models unchanged"
expect "relative include path" 0 sh -c "cd '$FX' && '$LLM_EVAL' list tasks --format tsv --include-path harness" &&
	out_has "squad_py	python-task"
rm -rf "$T/config/llm-eval"
mkdir -p "$T/config/llm-eval"
echo "task: not_a_registry" >"$T/config/llm-eval/stray.yaml"
expect "XDG dir is a registry layout, never a harness tree" 0 llm-eval list tasks --format tsv && out_lacks "not_a_registry"
done_testing
