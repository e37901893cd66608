#!/bin/sh
# Credentials given as backend options never reach a file or the terminal:
# a `headers` value (the openai plugin declares it secret in its option
# table) and the user-info of a base_url are scrubbed from the results file
# (model_args), the samples, the run store, the response cache, progress and
# -v output and error messages. The run itself still sends them (the server
# answers 401 without the key).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-openai.sh"
RUN="run $DD --tasks demo_arith_gen --limit 2 --no-progress"
KEY=SECRETk3y0123456789
export LLE_TEST_KEY="$KEY"
PW=PASSw0rdSECRET

# every file the runs write (output, store, cache) and every stream they print
leaks() {
	grep -rl -a -e "$KEY" -e "$PW" "$T/out" "$T/data" "$T/cache" "$OUT" "$ERR" 2>/dev/null
}

start_server keyed --model "$TINY" --plugin "$LLAMAPLUG" --require-key-env LLE_TEST_KEY
model keyed "$(url "$PORT_keyed")" "backoff: 0.01"
expect "headers from --model-args are sent" 0 llm-eval -v $INC $RUN --model keyed --log-samples \
	--output "$T/out" --model-args "headers=Authorization: Bearer $KEY" &&
	{ grep -rqF 'headers=<redacted>' "$T/out" || fail "model_args lacks 'headers=<redacted>'"; } &&
	{ [ -z "$(leaks)" ] || fail "the key was written to: $(leaks | tr '\n' ' ')"; }

expect "the run store lists the run without the key" 0 llm-eval results list --json &&
	{ [ -z "$(leaks)" ] || fail "the key was written to: $(leaks | tr '\n' ' ')"; }

# a wrong key: the 401 and whatever the plugin says about it, without the key
expect "a refused key is not repeated" 5 llm-eval -v -v $INC $RUN --model keyed --output "$T/out2" \
	--model-args "headers=Authorization: Bearer ${KEY}x,max_retries=0" &&
	{ [ -z "$(leaks)" ] || fail "the key was written to: $(leaks | tr '\n' ' ')"; }

# user-info in a URL: the server ignores it; the URL is shown without it
model userinfo "http://user:$PW@127.0.0.1:$PORT_keyed/v1" "backoff: 0.01" \
	"headers: 'Authorization: Bearer $KEY'"
expect "a URL with a password" 0 llm-eval -v -v $INC $RUN --model userinfo --output "$T/out3" &&
	{ grep -rqF "http://<redacted>@127.0.0.1:$PORT_keyed/v1" "$T/out3" || fail "no scrubbed URL in the results"; } &&
	{ [ -z "$(leaks)" ] || fail "the password was written to: $(leaks | tr '\n' ' ')"; }

# the same server, gone: the connection error names the server, not the password
stop_server keyed
expect "an unreachable URL with a password" 5 llm-eval -v $INC $RUN --model userinfo --no-cache \
	--model-args max_retries=0 &&
	err_has "127.0.0.1:$PORT_keyed" &&
	{ [ -z "$(leaks)" ] || fail "the password was shown: $(leaks | tr '\n' ' ')"; }
done_testing
