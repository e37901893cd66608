#!/bin/sh
# Commands that need no backend never map a plugin or llama.cpp: --help,
# help, version (LD_DEBUG=libs lists every object the loader maps).
. "$(dirname "$0")/lib.sh"

for args in "--help" "help" "version" "version --json"; do
	# shellcheck disable=SC2086
	expect "llm-eval $args maps no plugin" 0 env LD_DEBUG=libs "$LLM_EVAL" $args &&
		{ ! grep -Eq 'libllama|libggml|llamacpp\.so' "$ERR" || fail "it mapped llama.cpp"; }
done
# the loader's own tests put the plugins on the path: still nothing is mapped
expect "--help with LLM_EVAL_PLUGIN_PATH maps no plugin" 0 \
	env LD_DEBUG=libs LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins:$BUILD/lib" "$LLM_EVAL" --help &&
	{ ! grep -Eq 'libllama|testbackend\.so|llamacpp\.so' "$ERR" || fail "it mapped a plugin"; }
done_testing
