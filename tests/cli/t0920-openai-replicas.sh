#!/bin/sh
# The openai backend across replicas and with an API key: two replicas, one
# dying mid-run, give results identical to one clean server; the key set in
# the environment reaches the server and appears in no file the run writes
# and in no message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-openai.sh"
CMP="python3 $TOP/tests/server/compare.py"
RUN="run $DD --tasks demo --limit 8 --log-samples --no-progress"

start_server one --model "$TINY" --plugin "$LLAMAPLUG"
model one "$(url "$PORT_one")" "backoff: 0.01"
expect "one server" 0 llm-eval $INC $RUN --model one --output "$T/one"

start_server r1 --model "$TINY" --plugin "$LLAMAPLUG"
start_server r2 --model "$TINY" --plugin "$LLAMAPLUG" --die-after 25
model two "$(url "$PORT_r1"),$(url "$PORT_r2")" "backoff: 0.01" "num_concurrent: 8"
expect "two replicas, one dies mid-run: the run completes" 0 llm-eval $INC $RUN --model two --output "$T/two" &&
	err_has "stopped answering"
check "the replica that died did serve requests" sh -c "! kill -0 $PID_r2 2>/dev/null"
check "results identical to one clean server" $CMP "$T/two" "$T/one" 0

KEY="sk-lle-test-4f9a0c2e7d1b"
export LLE_TEST_KEY="$KEY"
start_server keyed --model "$TINY" --plugin "$LLAMAPLUG" --require-key-env LLE_TEST_KEY
model keyed "$(url "$PORT_keyed")" "api_key_env: LLE_TEST_KEY" "backoff: 0.01"
expect "the key reaches the server" 0 llm-eval -v -v $INC $RUN --model keyed --output "$T/keyed"
cp "$ERR" "$T/keyed.stderr"
cp "$OUT" "$T/keyed.stdout"
check "the key is in no file the run wrote, nor its output" sh -c "! grep -r -F -l -- '$KEY' '$T/keyed' '$T/keyed.stderr' '$T/keyed.stdout'"
check "the key is in no cache or state file" sh -c "! grep -r -F -l -- '$KEY' '$T/cache' '$T/data' '$T/config' 2>/dev/null"
LLE_TEST_KEY=sk-wrong-key-3c1d
export LLE_TEST_KEY
model keyed2 "$(url "$PORT_keyed")" "api_key_env: LLE_TEST_KEY" "backoff: 0.01"
expect "a wrong key: the server's refusal, without the key" 5 llm-eval $INC $RUN --model keyed2 --output "$T/k2" &&
	err_has "HTTP 401" && { ! grep -q "sk-wrong-key" "$ERR" "$OUT" || fail "the key was printed"; }
unset LLE_TEST_KEY
expect "api_key_env names an unset variable" 5 llm-eval $INC $RUN --model keyed2 --output "$T/k3" &&
	err_has "api_key_env names 'LLE_TEST_KEY', which is not set"
done_testing
