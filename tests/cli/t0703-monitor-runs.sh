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
		out_has "./llm-eval run --tasks gsm8k" && out_lacks "no runs in progress"
	expect "and in JSON" 0 llm-eval monitor --once --json --interval 20 &&
		out_has "\"pid\":$fake,\"command\":\"./llm-eval run --tasks gsm8k\""
	check "the JSON is valid" "$CHECKER" <"$OUT"
	echo done >"$T/fake/fifo"
	wait $fake
else
	echo "ok - # SKIP no 'run' command in this build: listing a run not tested"
fi
# A real run's progress, read from its journal in the response cache: a run
# killed part way leaves an unfinished journal that monitor shows.
MODEL="$BUILD/models/tiny.gguf"
if [ -f "$MODEL" ] && "$LLM_EVAL" help run >/dev/null 2>&1; then
	"$LLM_EVAL" --include-path "$TOP/examples/demo" run --data-dir "$TOP/examples/demo/data" \
		--model-path "$MODEL" --tasks demo_arith_gen --batch-size 4 --threads 1 --no-progress \
		--no-store >/dev/null 2>&1 </dev/null &
	real=$!
	seen=0 i=0
	while [ $i -lt 600 ] && kill -0 $real 2>/dev/null; do
		"$LLM_EVAL" monitor --once --json --interval 10 >"$T/j.json" 2>/dev/null
		if grep -q '"journals":\[{"name":"tiny/demo_arith_gen' "$T/j.json"; then
			seen=1
			break
		fi
		i=$((i + 1))
		sleep 0.05
	done
	kill -KILL $real 2>/dev/null
	wait $real 2>/dev/null
	if [ $seen = 1 ]; then
		echo "ok - a run's journal is shown with its progress"
		expect "and in the text view, after the run was killed" 0 llm-eval monitor --once --interval 10 &&
			out_has "Unfinished run journals" && out_has "tiny/demo_arith_gen"
	else
		echo "ok - # skip the run ended before monitor saw its journal"
	fi
fi
done_testing
