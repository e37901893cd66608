#!/bin/sh
# `llm-eval list backends`: every installed plugin, whether it loads, and one
# clear message for each that does not. The `list` command lives in another
# area (cmd_list.c routes `list backends` to lle_list_backends); until it is
# in this build these checks are skipped, and test_backend covers the same
# output through the function itself.
. "$(dirname "$0")/lib.sh"

if ! "$LLM_EVAL" help list >/dev/null 2>&1; then
	echo "ok - list backends # SKIP no 'list' command in this build"
	done_testing
	exit
fi

expect "list backends with the test plugins" 0 env LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins" \
	"$LLM_EVAL" list backends &&
	out_has "testbackend    ok" && out_has "nosym          error" &&
	out_has "has no entry symbol 'lle_backend_entry'" &&
	out_has "was built for backend ABI 2.3, but this llm-eval supports ABI 1.3" &&
	out_has "a library it needs, 'libllemissing.so', is missing" &&
	out_has "refused to start: no device found"
expect "list backends finds llamacpp in the build" 0 "$LLM_EVAL" list backends &&
	out_has "llamacpp       ok" && out_has "devices:"
expect "list backends --json" 0 "$LLM_EVAL" list backends --json &&
	out_has '"name": "llamacpp"' && out_has '"status": "ok"'
expect "list backends -v: capabilities and options from each plugin's table" 0 "$LLM_EVAL" list backends -v &&
	out_has "capabilities: model-file, prompt-logprobs, chat-template, exact" &&
	out_has "capabilities: chat-messages" &&
	out_has "n_gpu_layers=int  layers offloaded" && out_has "headers=list (secret)" &&
	{ ! grep -q loglikelihood_tasks "$OUT" || fail "an option the host sets is offered"; }
expect "list backends --json: caps and options" 0 "$LLM_EVAL" list backends --json &&
	out_has '"caps": ["model-file", "prompt-logprobs", "chat-template", "exact"]' &&
	out_has '{"key": "headers", "type": "list", "secret": true, "set_by_host": false'
expect "a plugin without a table" 0 env LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins" "$LLM_EVAL" -v list backends &&
	out_has "options: not declared (any key=value is passed on)"
expect "list backends loads the plugins (and only then llama.cpp)" 0 \
	env LD_DEBUG=libs "$LLM_EVAL" list backends &&
	{ grep -q 'libllama' "$ERR" || fail "llama.cpp was not loaded"; }
mkdir -p "$T/p" && cp "$BUILD/lib/llamacpp.so" "$T/p/"
expect "a plugin without its llama.cpp libraries" 0 env LLM_EVAL_PLUGIN_PATH="$T/p" \
	"$LLM_EVAL" list backends &&
	out_has "llamacpp       error" && out_has "llamacpp.so' cannot be loaded: a library it needs, 'libllama"
expect "bad option" 2 "$LLM_EVAL" list backends --frob && err_has "unknown option '--frob'"
done_testing
