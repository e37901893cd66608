#!/bin/sh
# An lm-evaluation-harness tree that shadows built-in task names (the
# README's `list tasks --include-path .../lm_eval/tasks` shadows about a
# hundred) says so once per tree, with the count; -v lists each override
# (issue 18, item 7). A registry layout's override stays one line each.
. "$(dirname "$0")/lib.sh"
FX="$TOP/tests/fixtures"
mkdir -p "$T/tasks/gsm8k" "$T/tasks/arc"
for t in gsm8k gsm8k_cot; do printf 'task: %s\ndataset_path: x\n' "$t" >"$T/tasks/gsm8k/$t.yaml"; done
for t in arc_easy arc_challenge; do printf 'task: %s\ndataset_path: x\n' "$t" >"$T/tasks/arc/$t.yaml"; done
printf 'task: not_builtin_task\ndataset_path: x\n' >"$T/tasks/arc/own.yaml"

expect "a harness tree shadowing 4 built-in tasks" 0 llm-eval list tasks --include-path "$T/tasks" &&
	err_has "warning: lm-evaluation-harness tree '$T/tasks' overrides 4 tasks of the same name earlier on the search path (-v lists them)"
[ "$(grep -c . "$ERR")" -eq 1 ] || fail "more than one line: $(wc -l <"$ERR")"
expect "-v lists each override" 0 llm-eval -v list tasks --include-path "$T/tasks" &&
	err_has "$T/tasks/gsm8k/gsm8k.yaml:1:1: task 'gsm8k' overrides the one in" &&
	err_has "$T/tasks/arc/arc_easy.yaml:1:1: task 'arc_easy' overrides the one in"
[ "$(grep -c "overrides the one in" "$ERR")" -eq 4 ] || fail "not 4 override lines"
grep -q "lm-evaluation-harness tree" "$ERR" && fail "-v also prints the summary"
expect "a registry layout's override is still one line each" 0 llm-eval list models \
	--include-path "$FX/registry" --include-path "$FX/override" &&
	err_has "model 'qwen_math' overrides the one in"
done_testing
