#!/bin/sh
# The openai backend on bad input: each a clear message and exit code. An
# unreachable URL, an answer that is not JSON, answers without 'choices', a
# model name the server does not serve, a server without prompt
# log-probabilities (refused before the run, naming the tasks), bad options.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-openai.sh"
RUN="run $DD --limit 2 --no-progress"

# a port nothing listens on: a server started and stopped
start_server gone --no-inference
stop_server gone
model gone "$(url "$PORT_gone")" "max_retries: 1" "backoff: 0.01"
expect "unreachable URL" 5 llm-eval $INC $RUN --tasks demo_arith_gen --model gone &&
	err_has "server 'http://127.0.0.1:$PORT_gone' does not answer" && err_has "onnect"

start_server html --no-inference --bad-answer nonjson
model html "$(url "$PORT_html")" "max_retries: 1" "backoff: 0.01"
expect "an answer that is not JSON" 5 llm-eval $INC $RUN --tasks demo_arith_gen --model html &&
	err_has "is not an OpenAI model list (not JSON)" && err_has "It works!"

start_server nochoices --no-inference --bad-answer nochoices
model nochoices "$(url "$PORT_nochoices")" "max_retries: 1" "backoff: 0.01"
expect "answers without 'choices': every document fails with the reason" 1 llm-eval $INC $RUN \
	--tasks demo_arith_gen --model nochoices && err_has "answer has no 'choices'" && err_has "doc 1"
expect "answers without 'choices': refused before log-likelihood tasks run" 5 llm-eval $INC $RUN \
	--tasks demo_arith_mc --model nochoices && err_has "answer has no 'choices'" && err_has "demo_arith_mc"

start_server fixed --no-inference
cat >"$T/reg/models/nope.yaml" <<EOF2
name: nope
description: a served name the server does not have
hf_repo: none/none
categories: [demo]
backend: openai
backends:
  openai:
    model: no-such-model
    base_url: $(url "$PORT_fixed")
EOF2
expect "a model the server does not serve" 5 llm-eval $INC $RUN --tasks demo_arith_gen --model nope &&
	err_has "does not serve model 'no-such-model' (it serves: 'tiny')"

start_server nolp --no-inference --no-logprobs
model nolp "$(url "$PORT_nolp")" "backoff: 0.01"
expect "no prompt log-probabilities: refused before the run, naming the tasks" 5 llm-eval $INC $RUN \
	--tasks demo --model nolp && err_has "returns no prompt log-probabilities" &&
	err_has "tasks 'demo_arith_mc', 'demo_prose_ppl'" && err_has "--backend llamacpp"
expect "no prompt log-probabilities: generation tasks still run" 0 llm-eval $INC $RUN --tasks demo_arith_gen --model nolp

model badopt "$(url "$PORT_fixed")" "num_concurent: 4"
expect "an unknown option" 5 llm-eval $INC $RUN --tasks demo_arith_gen --model badopt &&
	err_has "unknown option 'num_concurent'"
model badval "$(url "$PORT_fixed")" "num_concurrent: lots"
expect "a bad option value" 5 llm-eval $INC $RUN --tasks demo_arith_gen --model badval &&
	err_has "option 'num_concurrent' has a bad value"
model badurl "ftp://127.0.0.1:1/v1"
expect "a base_url that is not http" 5 llm-eval $INC $RUN --tasks demo_arith_gen --model badurl &&
	err_has "is not an http:// or https:// URL"
model tok "$(url "$PORT_fixed")" "tokenizer: /tmp/tokenizer.json"
expect "a local tokenizer file is refused clearly" 5 llm-eval $INC $RUN --tasks demo_arith_gen --model tok &&
	err_has "local tokenizer files are not"
done_testing
