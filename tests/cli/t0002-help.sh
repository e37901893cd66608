#!/bin/sh
# Help, the command table, the README, docs/run.md, the man page and the
# shell completion agree: every command of the table answers --help and
# `help NAME` with its usage, appears in `llm-eval --help`, is documented in
# README.md, has its section in the man page, and the completion script
# offers it and every option its help lists; the man page's exit codes are
# the README's; every
# llm-eval option docs/run.md maps is one `run --help` lists (git's t0450
# and curl's test1139 check the same kind of drift).
. "$(dirname "$0")/lib.sh"

expect "help lists commands" 0 llm-eval help
cmds=$(sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' "$OUT")
[ -n "$cmds" ] || fail "no command names found in 'llm-eval help'"
for c in $cmds; do
	expect "$c --help" 0 llm-eval "$c" --help && out_has "usage: llm-eval $c" && err_empty
	expect "help $c" 0 llm-eval help "$c" && out_has "usage: llm-eval $c"
	check "README documents '$c'" grep -q "llm-eval $c" "$TOP/README.md"
done
# The completion script, run by bash as it completes a word: comp WORD... CUR
expect "completion bash" 0 llm-eval completion bash && err_empty
cp "$OUT" "$T/comp.bash"
check "the bash script parses" bash -n "$T/comp.bash"
comp() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _llm_eval; printf "%s\n" "${COMPREPLY[@]}"' \
		comp "$T/comp.bash" "$LLM_EVAL" "$@"
}
expect "help --man" 0 llm-eval help --man && err_empty
cp "$OUT" "$T/man"
check "the man page renders without a groff warning" sh -c "groff -man -ww -z '$T/man' 2>'$T/groff' && ! test -s '$T/groff'"
comp "" >"$T/top"
for c in $cmds; do
	grep -qx "$c" "$T/top" || fail "completion does not offer the command '$c'"
	llm_eval "$c" --help >"$T/help" 2>&1
	# each option the help lists: those beginning an indented line, and the usage line's
	opts=$( (sed -n 's/^ \{1,\}\(-[-a-zA-Z0-9_]*\).*/\1/p' "$T/help";
		sed -n '1s/^usage: //p' "$T/help" | grep -o '[[ (|]-[-a-z0-9]*' | cut -c2-) | sort -u)
	comp "$c" -- >"$T/copts"
	grep -qx ".SS $c" "$T/man" || fail "the man page has no section for '$c'"
	for o in $opts; do
		[ "$o" = "--" ] && continue
		grep -qx -- "$o" "$T/copts" || fail "completion of '$c' lacks '$o', which its help lists"
		grep -q -- "$(echo "$o" | sed 's/-/\\\\-/g')" "$T/man" || fail "the man page lacks '$o' of '$c'"
	done
done
[ "$(comp run --num)" = "--num-fewshot" ] || fail "run --num does not complete to --num-fewshot"
[ "$(comp list --format '')" = "$(printf 'table\ntsv\njson')" ] || fail "list --format values"
[ "$(comp show task gsm8k_c)" = "gsm8k_cot" ] || fail "show task: task names"
comp run --tasks gsm8k,gsm8k_c | grep -qx "gsm8k,gsm8k_cot" || fail "run --tasks: the last of a comma list"
comp run --model qwen25_math_7 | grep -qx "qwen25_math_7b" || fail "run --model: model names"
comp run --category mathemat | grep -qx "mathematics" || fail "run --category: category names"
comp cache '' | grep -qx "stats" || fail "cache: its actions"
expect "completion zsh" 0 llm-eval completion zsh && out_has "bashcompinit" && out_has "complete -o default -F _llm_eval llm-eval"
expect "completion names tasks" 0 llm-eval completion names tasks && out_has "gsm8k"
expect "completion powershell" 2 llm-eval completion powershell && err_has "unknown shell 'powershell' (bash or zsh)"

# The exit codes: the man page's (enum lle_exit) are the README's table.
sed -n '/^## Exit codes/,/^## /s/^| \([0-9][0-9]*\) |.*/\1/p' "$TOP/README.md" >"$T/readme-codes"
awk '/^\.SH EXIT STATUS/ { on = 1 } on && prev == ".TP" { print } { prev = $0 }' "$T/man" >"$T/man-codes"
check "exit codes: the man page's are the README's" cmp "$T/readme-codes" "$T/man-codes"
check "exit codes: nine of them" test "$(wc -l <"$T/man-codes")" -eq 9

# docs/run.md's llm-eval column: each option there is one `run --help` (or,
# for a global option, `llm-eval --help`) lists.
llm_eval run --help >"$T/runhelp"
llm_eval --help >>"$T/runhelp"
for o in $(sed -n 's/^| [^|]* | \([^|]*\) |.*/\1/p' "$TOP/docs/run.md" | grep -o '`--[a-z-]*' | cut -c2- | sort -u); do
	grep -q -- "$o\b" "$T/runhelp" || { cur="docs/run.md"; fail "maps '$o', which 'run --help' does not list"; }
done

expect "--help maps no engine" 0 env LD_DEBUG=libs "$LLM_EVAL" --help
! grep -q 'libllm-eval-engine\|libsqlite3\|libcurl\|libllama\|libjansson' "$ERR" || fail "--help loaded a heavy library"
expect "ambiguous prefix" 2 llm-eval re && err_has "ambiguous command 're', could be:"
expect "alias works" 0 llm-eval ls categories
done_testing
