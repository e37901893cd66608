#!/bin/sh
# The openai backend against lle-testserver (real inference on the tiny model)
# gives the same greedy generations, log-likelihoods (within 1e-3) and scores
# as the in-process llama.cpp backend, on the completions and chat endpoints.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-openai.sh"
CMP="python3 $TOP/tests/server/compare.py"

start_server a --model "$TINY" --plugin "$LLAMAPLUG"
model served "$(url "$PORT_a")" "num_concurrent: 4"

expect "demo tasks through the openai backend" 0 llm-eval $INC run $DD --model served --tasks demo --limit 12 \
	--output "$T/oa" --log-samples --no-progress && out_has "served (openai)" && out_has "demo_prose_ppl"
expect "demo tasks in process" 0 llm-eval $INC run $DD --model served --backend llamacpp --model-dir "$BUILD/models" \
	--tasks demo --limit 12 --output "$T/lc" --log-samples --no-progress
check "same generations, log-likelihoods within 1e-3, same scores" $CMP "$T/oa" "$T/lc" 1e-3

model chat "$(url "$PORT_a")" "endpoint: chat"
expect "generation on the chat endpoint" 0 llm-eval $INC run $DD --model chat --tasks demo_arith_gen --limit 6 \
	--apply-chat-template --output "$T/oac" --log-samples --no-progress
expect "the same in process with the chat template" 0 llm-eval $INC run $DD --model chat --backend llamacpp \
	--model-dir "$BUILD/models" --tasks demo_arith_gen --limit 6 --apply-chat-template --output "$T/lcc" \
	--log-samples --no-progress
check "chat generations are the same" $CMP "$T/oac" "$T/lcc" 0

done_testing
