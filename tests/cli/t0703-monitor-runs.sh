#!/bin/sh
# `llm-eval monitor`'s section of runs in progress: processes named llm-eval
# whose command is `run`. Another llm-eval command is not a run. A stand-in
# process named llm-eval (a link to sh running a script called "run") checks
# that a run is listed, once the command table has a `run` command.
. "$(dirname "$0")/lib.sh"
CHECKER="$BUILD/tests/monitor-json-check"
export LLM_EVAL_NVML_PATH=/nonexistent/libnvidia-ml.so.1

wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 1200 ] || return 1
		sleep 0.05
	done
}

# Another monitor is an llm-eval process, but not a run.
"$LLM_EVAL" monitor --interval 20 >"$T/other.out" 2>&1 </dev/null &
other=$!
check "a second monitor is running" wait_for "$T/other.out" "runs in progress"
# Other runs may be in progress on this machine (other test suites), so the
# checks are about the second monitor, not about an empty list.
expect "another command is not a run" 0 llm-eval monitor --once --interval 20 && out_lacks "monitor --interval 20"
expect "nor in JSON" 0 llm-eval monitor --once --json --interval 20 && out_lacks "\"pid\":$other,"
kill -TERM $other
wait $other

if "$LLM_EVAL" help run >/dev/null 2>&1; then
	mkdir "$T/fake"
	ln -s /bin/sh "$T/fake/llm-eval"
	printf 'echo started >"%s/fake/started"\nexec 3<>"%s/fake/fifo"\nread x <&3\n' "$T" "$T" >"$T/fake/run"
	mkfifo "$T/fake/fifo"
	(cd "$T/fake" && exec ./llm-eval run --tasks gsm8k) &
	fake=$!
	check "the stand-in run started" wait_for "$T/fake/started" started
	expect "a run is listed" 0 llm-eval monitor --once --interval 20 &&
		out_has "./llm-eval run --tasks gsm8k" && out_lacks "no runs in progress" &&
		out_has "llm-eval does not write run journals yet"
	expect "and in JSON" 0 llm-eval monitor --once --json --interval 20 &&
		out_has "\"pid\":$fake,\"command\":\"./llm-eval run --tasks gsm8k\""
	check "the JSON is valid" "$CHECKER" <"$OUT"
	echo done >"$T/fake/fifo"
	wait $fake
else
	echo "ok - # SKIP no 'run' command in this build: listing a run not tested"
fi
done_testing
