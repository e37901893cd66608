#!/bin/sh
# Issue 13 items 5 and 9: the openai backend against a server whose answers
# are hostile (lle-testserver --hostile). A body past max_response_mb, plain
# or as a gzip bomb, fails its documents without being kept; Retry-After
# "inf", garbage or 1e9 does not hang the run; a max_model_len of 2^31, a
# log-probability of +15, a completion token count of -2^31 and top_logprobs
# in the wrong shape are refused with a message naming them. Memory-bounded
# cases use a cap of 2 MiB set in the test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-openai.sh"
RUN="run $DD --limit 2 --no-progress --no-cache --no-store"
FAST='backoff: 0.01'

# --- item 5: answer size -----------------------------------------------------
start_server big --no-inference --hostile big-body:8388608
model big "$(url "$PORT_big")" "$FAST" "max_response_mb: 2"
expect "an 8 MiB answer past a 2 MiB cap fails each document" 1 llm-eval $INC $RUN --tasks demo_arith_gen --model big &&
	err_has "generation answer larger than max_response_mb (2097152 bytes); it was not read" && err_has "doc 1"
model bigok "$(url "$PORT_big")" "$FAST"
expect "the default cap (32 MiB) takes it" 0 llm-eval $INC $RUN --tasks demo_arith_gen --model bigok

start_server bomb --no-inference --hostile gzip-bomb:16777216
model bomb "$(url "$PORT_bomb")" "$FAST" "max_response_mb: 2"
expect "a gzip bomb (16 KiB on the wire, 16 MiB decoded) stops at the cap" 1 llm-eval $INC $RUN \
	--tasks demo_arith_gen --model bomb && err_has "generation answer larger than max_response_mb (2097152 bytes)"
model badcap "$(url "$PORT_bomb")" "max_response_mb: 0"
expect "a cap of 0 is a bad value" 5 llm-eval $INC $RUN --tasks demo_arith_gen --model badcap &&
	err_has "option 'max_response_mb' has a bad value"

# --- item 5: Retry-After -----------------------------------------------------
i=0
for ra in inf nan garbage -3 0x10; do
	i=$((i + 1))
	start_server "ra$i" --no-inference --fault 429:0.4 --retry-after "$ra"
	eval "port=\$PORT_ra$i"
	model "ra$i" "$(url "$port")" "$FAST" "max_retries: 20"
	expect "Retry-After: $ra is taken as absent (backoff applies)" 0 timeout 120 \
		"$LLM_EVAL" $INC $RUN --tasks demo_arith_gen --model "ra$i"
done
start_server ra1e9 --no-inference --fault 429:0.4 --retry-after 1e9
model ra1e9 "$(url "$PORT_ra1e9")" "$FAST" "max_retries: 20" "retry_after_max: 0.05"
expect "Retry-After: 1e9 is capped at retry_after_max" 0 timeout 120 "$LLM_EVAL" $INC $RUN \
	--tasks demo_arith_gen --model ra1e9

# --- item 5: max_model_len ---------------------------------------------------
start_server huge --no-inference --hostile models-max-len:2147483648
model huge "$(url "$PORT_huge")" "$FAST"
expect "max_model_len 2^31 is refused before the run" 5 llm-eval $INC $RUN --tasks demo_prose_ppl --model huge &&
	err_has "/models gives model 'tiny' a max_model_len 2147483648, outside 2..16777217; set max_length"
model hugeset "$(url "$PORT_huge")" "$FAST" "max_length: 64"
expect "with max_length set, the server's value is not used" 0 llm-eval $INC $RUN --tasks demo_prose_ppl --model hugeset
start_server neg --no-inference --hostile models-max-len:-5
model neg "$(url "$PORT_neg")" "$FAST"
expect "a negative max_model_len is refused" 5 llm-eval $INC $RUN --tasks demo_prose_ppl --model neg &&
	err_has "max_model_len -5, outside"

# --- item 9: values ----------------------------------------------------------
start_server lp15 --no-inference --hostile logprob:15
model lp15 "$(url "$PORT_lp15")" "$FAST"
expect "a log-probability of +15 is refused" 5 llm-eval $INC $RUN --tasks demo_arith_mc --model lp15 &&
	err_has "token_logprobs[1] is 15, not a finite log-probability <= 0"
model lp15p "$(url "$PORT_lp15")" "$FAST" "logprobs: prompt_logprobs"
expect "also in prompt_logprobs form" 5 llm-eval $INC $RUN --tasks demo_arith_mc --model lp15p &&
	err_has "a log-probability of 15, not a finite number <= 0"
start_server lpeps --no-inference --hostile logprob:0.00001
model lpeps "$(url "$PORT_lpeps")" "$FAST"
expect "a rounding-sized positive value (1e-5 <= 1e-4) is taken" 0 llm-eval $INC $RUN --tasks demo_arith_mc --model lpeps

start_server ct --no-inference --hostile completion-tokens:-2147483648
model ct "$(url "$PORT_ct")" "$FAST"
expect "a completion token count of -2^31 fails each document" 1 llm-eval $INC $RUN --tasks demo_arith_gen --model ct &&
	err_has "answer's usage.completion_tokens is -2147483648, outside 0..16777216" && err_has "doc 1"

start_server toplist --no-inference --hostile top-logprobs-list
model toplist "$(url "$PORT_toplist")" "$FAST" "logprobs: echo"
expect "top_logprobs as a list is refused, not counted as greedy" 5 llm-eval $INC $RUN --tasks demo_arith_mc \
	--model toplist && err_has "top_logprobs[1] is a list, not an object of token: log-probability"
model toplist2 "$(url "$PORT_toplist")" "$FAST"
expect "with logprobs: auto the well-formed prompt_logprobs form is used instead" 0 llm-eval -v $INC $RUN \
	--tasks demo_arith_mc --model toplist2 && err_has "prompt log-probabilities: prompt_logprobs"
done_testing
