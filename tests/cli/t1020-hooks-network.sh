#!/bin/sh
# The hook worker has no network (issue 15): a hook connecting to 127.0.0.1
# finds no network in the worker's own network namespace, where the host's
# loopback would refuse the connection; LLM_EVAL_HOOK_NETWORK=1 gives the
# host's network back.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
run_net() {
	expect "$1" 0 llm-eval --include-path "$TOP/tests/hooks/tasks" run --data-dir "$TOP/tests/hooks/data" \
		--model-path "$MODEL" --tasks hk_net --limit 1 --output "$T/$2" --log-samples --no-progress
}
run_net "a hook's connection by default" o
check "finds no network" grep -q '"arguments":\[\["ENETUNREACH"' "$T"/o/tiny/samples_hk_net_*.jsonl
LLM_EVAL_HOOK_NETWORK=1
export LLM_EVAL_HOOK_NETWORK
run_net "with LLM_EVAL_HOOK_NETWORK=1" n
check "reaches the host's loopback" grep -q '"arguments":\[\["ECONNREFUSED"' "$T"/n/tiny/samples_hk_net_*.jsonl
done_testing
