#!/bin/sh
# Help, the command table and the README agree: every command of the table
# answers --help and `help NAME` with its usage, appears in `llm-eval --help`,
# and is documented in README.md (git's t0450 and curl's test1139 check the
# same kind of drift).
. "$(dirname "$0")/lib.sh"

expect "help lists commands" 0 llm-eval help
cmds=$(sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' "$OUT")
[ -n "$cmds" ] || fail "no command names found in 'llm-eval help'"
for c in $cmds; do
	expect "$c --help" 0 llm-eval "$c" --help && out_has "usage: llm-eval $c" && err_empty
	expect "help $c" 0 llm-eval help "$c" && out_has "usage: llm-eval $c"
	check "README documents '$c'" grep -q "llm-eval $c" "$TOP/README.md"
done
expect "--help maps no engine" 0 env LD_DEBUG=libs "$LLM_EVAL" --help
! grep -q 'libllm-eval-engine\|libsqlite3\|libcurl\|libllama\|libjansson' "$ERR" || fail "--help loaded a heavy library"
expect "ambiguous prefix" 2 llm-eval re && err_has "ambiguous command 're', could be:"
expect "alias works" 0 llm-eval ls categories
done_testing
