#!/bin/sh
# A backend's model_identity hook (ABI 1.1) is part of the model's identity
# in the response cache: the test backend's identity is the text of its
# scripted replies, so editing the replies file (same option, same file
# name) sends the requests again instead of answering from the cache.
. "$(dirname "$0")/lib.sh"
export LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins"
mkdir -p "$T/reg/models"
cat >"$T/reg/models/scripted.yaml" <<EOF2
name: scripted
description: test backend with scripted completions
hf_repo: none/none
categories: [demo]
backend: testbackend
backends:
  testbackend:
    model: scripted
    replies: $T/replies.txt
EOF2
RUN="--include-path $TOP/examples/demo --include-path $T/reg run --data-dir $TOP/examples/demo/data
	--model scripted --tasks demo_arith_gen --limit 2 --no-progress --cache $T/cache.sqlite"
printf ' 4\n%%%%\n 5\n' >"$T/replies.txt"
# shellcheck disable=SC2086
expect "first run sends every request" 0 llm-eval -v $RUN && err_has "2 requests sent to the backend, 0 found in the cache"
# shellcheck disable=SC2086
expect "the same replies: all from the cache" 0 llm-eval -v $RUN && err_has "0 requests sent to the backend, 2 found in the cache"
printf ' 7\n%%%%\n 8\n' >"$T/replies.txt"
# shellcheck disable=SC2086
expect "edited replies: another model, sent again" 0 llm-eval -v $RUN && err_has "2 requests sent to the backend, 0 found in the cache"
done_testing
