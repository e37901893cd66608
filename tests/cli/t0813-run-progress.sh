#!/bin/sh
# Progress never goes silent (issue 18, item 4). The test backend is slow on
# purpose (load_delay_ms, token_delay_ms: it sleeps and reports each token
# through the host's `generated`, ABI 1.2); a pseudo-terminal from script(1)
# makes stderr a terminal. Nothing here measures speed: each check looks for
# a line that the old code never printed, whatever the timing.
#  - a model that takes seconds to open shows its seconds;
#  - with fewer documents than the batch size the task's line is there
#    before any document is done, and generated tokens are counted as they
#    come (a token rate while no request has completed);
#  - work answered from the response cache says "cached", not "0.0 req/s";
#  - `monitor` sees the journal advance during one submission.
. "$(dirname "$0")/lib.sh"
export LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins"
mkdir -p "$T/reg/models"
cat >"$T/reg/models/slow.yaml" <<EOF2
name: slow
description: test backend, slow on purpose
hf_repo: none/none
categories: [demo]
backend: testbackend
backends:
  testbackend:
    model: slow
    reply: "12345678"
    load_delay_ms: 2500
    token_delay_ms: 250
EOF2
RUN="--include-path $TOP/examples/demo --include-path $T/reg run --data-dir $TOP/examples/demo/data
	--model slow --tasks demo_arith_gen --no-store --cache $T/cache.sqlite"
# The terminal's output with each redraw (CR, erase line) on a line of its own.
tty_run() {
	script -qec "'$LLM_EVAL' $*" /dev/null </dev/null 2>&1 | sed "s/$(printf '\r')$(printf '\033')\[K/\n/g" >"$T/tty"
}
if command -v script >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	tty_run $RUN --limit 3
	check "opening a slow model shows the seconds spent" grep -q "opening model 'slow'  [1-9]s" "$T/tty"
	check "the task's line is there before a document is done" \
		grep -q 'slow demo_arith_gen \[\.*\] 0/3  starting' "$T/tty"
	check "tokens are counted as they come (a token rate, no request done)" \
		grep -q '0/3  0\.0 req/s  [1-9][0-9]* tok/s' "$T/tty"
	check "the last line has every document" grep -q 'demo_arith_gen \[#*\] 3/3' "$T/tty"
	# shellcheck disable=SC2086
	tty_run $RUN --limit 3
	check "fully cached work says cached" grep -q 'demo_arith_gen \[#*\] 3/3  cached' "$T/tty"
	check "and never a rate of nothing" sh -c "! grep -q 'req/s' '$T/tty'"
else
	echo "ok - progress on a terminal # SKIP no script(1)"
fi
# Off a terminal: one plain line at the end says cached.
# shellcheck disable=SC2086
expect "off a terminal, cached work" 0 llm-eval $RUN --limit 3 &&
	err_has "slow demo_arith_gen: 3/3 documents, cached, ETA" && { ! grep -q "req/s" "$ERR" || fail "a rate"; }

# `monitor` reads a run's progress from its journal: within one submission
# (4 documents, batch size 32) it sees requests done before the run ends.
# The run uses the default cache, the one monitor reads (under $T).
# shellcheck disable=SC2086
"$LLM_EVAL" $(echo $RUN | sed 's/--cache [^ ]*//') --limit 4 --no-progress >/dev/null 2>&1 </dev/null &
run=$!
seen=0 i=0
while [ $i -lt 600 ] && kill -0 $run 2>/dev/null; do
	"$LLM_EVAL" monitor --once --json --interval 10 >"$T/j.json" 2>/dev/null
	if grep -q '"name":"slow/demo_arith_gen[^"]*","total":4,"done":[123]}' "$T/j.json"; then
		seen=1
		break
	fi
	i=$((i + 1))
	sleep 0.1
done
wait $run
check "monitor saw requests done while the submission ran" test $seen = 1
done_testing
