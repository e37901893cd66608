#!/bin/sh
# The openai backend through server faults: with 20% of requests failing in
# each injected way (500, 503, 429 with Retry-After, a connection dropped
# mid-body, an answer that is not JSON, JSON cut short, a trickle slower than
# the timeout) a run ends with results identical to a clean run; a server
# that keeps failing ends with a clear error and keeps what completed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-openai.sh"
CMP="python3 $TOP/tests/server/compare.py"
RUN="run $DD --limit 6 --log-samples --no-progress"
FAST="max_retries: 8"
BO="backoff: 0.01"

start_server clean --model "$TINY" --plugin "$LLAMAPLUG"
model clean "$(url "$PORT_clean")" "$FAST" "$BO"
expect "clean run" 0 llm-eval $INC $RUN --tasks demo --model clean --output "$T/clean"

for kind in 500 503 429 drop malformed truncated trickle; do
	start_server "f$kind" --model "$TINY" --plugin "$LLAMAPLUG" --fault "$kind:0.2" --trickle-ms 500 --retry-after 0.02
	eval "port=\$PORT_f$kind"
	# a trickled answer takes seconds: it times out and is retried
	to=300
	[ "$kind" != trickle ] || to=3
	model "f$kind" "$(url "$port")" "$FAST" "$BO" "timeout: $to"
	expect "20% $kind: the run finishes" 0 llm-eval -v -v $INC $RUN --tasks demo --model "f$kind" --output "$T/f$kind" &&
		err_has "retry"
	check "20% $kind: results identical to the clean run" $CMP "$T/f$kind" "$T/clean" 0
	stop_server "f$kind"
done

start_server always --model "$TINY" --plugin "$LLAMAPLUG" --fault 500:1
model always "$(url "$PORT_always")" "max_retries: 2" "$BO"
expect "a server that always fails: documents fail with its message" 1 llm-eval $INC $RUN --model always \
	--tasks demo_arith_gen --output "$T/always" &&
	err_has "failed after 3 tries: HTTP 500: injected fault 500" && err_has "task 'demo_arith_gen': doc 0"
expect "--on-error stop: the run ends at the first failed document" 1 llm-eval $INC $RUN --model always \
	--tasks demo_arith_gen --batch-size 2 --on-error stop --output "$T/stop" &&
	err_has "stopped at the first failed document (--on-error stop)" && err_has "doc 1" &&
	{ ! grep -q "doc 2" "$ERR" || fail "documents after the first chunk were tried"; }

start_server dies --model "$TINY" --plugin "$LLAMAPLUG" --die-after 12
model dies "$(url "$PORT_dies")" "max_retries: 2" "$BO"
expect "a server that dies mid-run: a clear error" 5 llm-eval $INC run $DD --tasks demo_arith_gen --limit 20 \
	--batch-size 4 --log-samples --no-progress --model dies --output "$T/dies" && err_has "no server answers"
check "the documents done before it died are kept (samples .part)" sh -c \
	"n=\$(cat '$T'/dies/dies/samples_demo_arith_gen_*.jsonl* | wc -l); [ \"\$n\" -ge 4 ] && [ \"\$n\" -lt 20 ]"
done_testing
