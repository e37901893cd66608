#!/bin/sh
# `llm-eval monitor` until stopped: the full-screen view on a terminal (through
# script(1)), and a clean exit 0 on `q`, Ctrl-C (SIGINT) and SIGTERM, with the
# terminal restored. Waits are for output to appear, never for a set time.
. "$(dirname "$0")/lib.sh"
export LLM_EVAL_NVML_PATH=/nonexistent/libnvidia-ml.so.1
ESC=$(printf '\033')

# A safety net, not a check: a monitor that ignores its way out is killed
# after 120 s so the suite cannot hang (the check on its exit code then fails).
watchdog() { (sleep 120; kill -9 "$1" 2>/dev/null) >/dev/null 2>&1 & dog=$!; }
unwatch() { kill $(ps -o pid= --ppid "$dog") "$dog" 2>/dev/null; }

# wait_for FILE TEXT: until FILE holds TEXT (at most about 60 s).
wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 1200 ] || return 1
		sleep 0.05
	done
}

for sig in INT TERM; do
	"$LLM_EVAL" monitor --interval 20 >"$T/out.$sig" 2>"$T/err.$sig" </dev/null &
	pid=$!
	watchdog $pid
	check "SIG$sig: the monitor shows a view" wait_for "$T/out.$sig" "runs in progress"
	kill -$sig $pid
	wait $pid
	rc=$?
	unwatch
	check "SIG$sig: exit 0 (got $rc)" [ "$rc" -eq 0 ]
	check "SIG$sig: nothing on stderr" [ ! -s "$T/err.$sig" ]
done

# `q` in the input quits (from a pipe here; on a terminal without Enter).
mkfifo "$T/keys"
"$LLM_EVAL" monitor --interval 20 <"$T/keys" >"$T/out.q" 2>"$T/err.q" &
pid=$!
watchdog $pid
exec 3>"$T/keys"
check "q: the monitor shows a view" wait_for "$T/out.q" "runs in progress"
printf 'xq' >&3
wait $pid
rc=$?
unwatch
exec 3>&-
check "q: exit 0 (got $rc)" [ "$rc" -eq 0 ]

if command -v script >/dev/null 2>&1; then
	script -qec "'$LLM_EVAL' monitor --interval 20 --count 2" /dev/null >"$T/tty" 2>&1 </dev/null
	check "terminal: alternate screen entered and left" sh -c "grep -q '$ESC\[?1049h' '$T/tty' && grep -q '$ESC\[?1049l' '$T/tty'"
	check "terminal: redrawn in place" sh -c "[ \$(grep -o '$ESC\[H' '$T/tty' | wc -l) -eq 2 ]"
	check "terminal: says how to quit" grep -q "q or Ctrl-C quits" "$T/tty"
	(wait_for "$T/tty2" "runs in progress" && printf q) |
		timeout 120 script -qec "'$LLM_EVAL' monitor --interval 20" "$T/tty2" >/dev/null 2>&1
	check "terminal: q quits without Enter" grep -q "$ESC\[?1049l" "$T/tty2"
else
	echo "ok - # SKIP script(1) is not installed: full-screen view not tested"
fi
done_testing
