#!/bin/sh
# `llm-eval monitor`: options, their errors, and the view without any GPU
# (LLM_EVAL_NVML_PATH points nowhere, so a machine with a driver gives the
# same result). JSON lines are checked by monitor-json-check (schema in
# tests/monitor/sample_schema.h, fields in docs/monitor.md).
. "$(dirname "$0")/lib.sh"
CHECKER="$BUILD/tests/monitor-json-check"
export LLM_EVAL_NVML_PATH=/nonexistent/libnvidia-ml.so.1

expect "monitor --help" 0 llm-eval monitor --help && out_has "usage: llm-eval monitor [--once]"
expect "help monitor" 0 llm-eval help monitor && out_has "--interval MS"
expect "interval below the range" 2 llm-eval monitor --interval 5 &&
	err_has "error: option '--interval' takes milliseconds from 10 to 3600000, not '5'" &&
	err_has "see 'llm-eval help monitor'"
expect "interval above the range" 2 llm-eval monitor --interval=3600001 && err_has "not '3600001'"
expect "interval not a number" 2 llm-eval monitor --interval 1s && err_has "not '1s'"
expect "interval without a value" 2 llm-eval monitor --interval && err_has "option '--interval' needs milliseconds"
expect "count of zero" 2 llm-eval monitor --count 0 && err_has "option '--count' takes a number of samples from 1 to 1000000000, not '0'"
expect "negative count" 2 llm-eval monitor --count=-3 && err_has "not '-3'"
expect "unknown argument" 2 llm-eval monitor --frob && err_has "unknown argument '--frob'"

expect "--once prints one view" 0 llm-eval monitor --once --interval 20 &&
	out_has "GPUs" && out_has "none: no NVIDIA driver, or NVML failed" &&
	out_has "This machine" && out_has " of $(getconf _NPROCESSORS_ONLN) CPU" &&
	out_has "available of" && out_has "llm-eval runs in progress" && err_empty
# Nothing on the terminal: no escape sequences when stdout is a file.
check "--once writes no escape sequences" sh -c "! grep -q \"$(printf '\033')\" '$OUT'"
check "--once prints exactly one view" sh -c "[ \$(grep -c '^llm-eval monitor ' '$OUT') -eq 1 ]"

expect "--once --json" 0 llm-eval monitor --once --json --interval 20 && out_has '"gpus":[]' && err_empty
check "--once --json is one valid sample" sh -c "[ \$(wc -l <'$OUT') -eq 1 ] && '$CHECKER' <'$OUT'"
check "the sample is this process's" sh -c "grep -q '\"process\":{\"pid\":[0-9]' '$OUT'"

# Every field of a sample, and every option, is in the manual.
fields_documented() {
	for k in $(grep -o '"[a-z_]*":' "$1" | tr -d '":' | sort -u); do
		grep -qE "\`$k[\`.[]|\.$k\`" "$TOP/docs/monitor.md" || { echo "undocumented: $k"; return 1; }
	done
}
options_documented() {
	for o in --once --json --interval --count; do
		grep -q -- "\`$o" "$TOP/docs/monitor.md" || { echo "undocumented: $o"; return 1; }
	done
}
check "every JSON field is documented" fields_documented "$OUT"
check "every option is documented" options_documented

expect "--count 3 --json" 0 llm-eval monitor --count 3 --json --interval 20
check "--count 3 gives three valid samples" sh -c "[ \$(wc -l <'$OUT') -eq 3 ] && '$CHECKER' <'$OUT'"
check "their sequence numbers rise" sh -c "sed 's/.*\"seq\":\([0-9]*\).*/\1/' '$OUT' | sort -n -c -u"

expect "--count 2 text" 0 llm-eval monitor --count 2 --interval 20
check "two views, a blank line between" sh -c "[ \$(grep -c '^llm-eval monitor ' '$OUT') -eq 2 ] && grep -q '^\$' '$OUT'"

# Output that goes away or fills up.
( "$LLM_EVAL" monitor --json --interval 20 2>"$T/pipe.err"; echo $? >"$T/pipe.rc" ) | head -n 1 >"$T/pipe.out"
check "a reader that leaves ends the monitor with 0" sh -c "[ \"\$(cat '$T/pipe.rc')\" = 0 ] && [ ! -s '$T/pipe.err' ] && '$CHECKER' <'$T/pipe.out'"
if [ -w /dev/full ]; then
	expect "a full disk is an I/O error" 6 sh -c "'$LLM_EVAL' monitor --once --interval 20 >/dev/full" &&
		err_has "error: cannot write to standard output: No space left on device"
fi

# LLM_EVAL_MONITOR=0 turns off the sampler of runs; this command exists only
# to sample, so it still works (docs/monitor.md).
expect "LLM_EVAL_MONITOR=0 leaves the command working" 0 env LLM_EVAL_MONITOR=0 "$LLM_EVAL" monitor --once --json --interval 20
check "and its sample is valid" "$CHECKER" <"$OUT"

# Without NVML: said once, at debug level only.
expect "no NVML is silent" 0 llm-eval monitor --count 3 --interval 20 && err_empty
expect "no NVML is said once with -v -v" 0 llm-eval -v -v monitor --count 3 --interval 20 &&
	err_has "debug: monitor: no GPU figures: cannot load NVML '/nonexistent/libnvidia-ml.so.1'"
check "exactly once" sh -c "[ \$(grep -c 'no GPU figures' '$ERR') -eq 1 ]"
done_testing
