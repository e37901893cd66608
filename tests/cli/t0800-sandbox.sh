#!/bin/sh
# llm-eval sandbox: --check, running a program, exit statuses, flags and errors.
. "$(dirname "$0")/lib.sh"

expect "--check reports every protection" 0 llm-eval sandbox --check &&
	out_has "network namespace    yes" && out_has "seccomp filter       yes" &&
	out_has "trial run            ok" && out_has "complete: every protection is available" &&
	out_has "cgroup limits        "
expect "--help" 0 llm-eval sandbox --help && out_has "usage: llm-eval sandbox" && out_has "--allow-weak-sandbox"
expect "runs a program, output passed through" 0 llm-eval sandbox -- python3 -c 'import sys; print("out"); sys.stderr.write("err\n")' &&
	out_has "out" && err_has "err"
expect "exit status is the program's" 7 llm-eval sandbox -- python3 -c 'raise SystemExit(7)'
expect "a signal gives 128+N" 137 llm-eval sandbox -- python3 -c 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)' &&
	err_has "killed by signal 9"
expect "the timeout gives 124" 124 llm-eval sandbox --timeout 1 -- python3 -c 'while True: pass' &&
	err_has "timed out after 1 s"
expect "the memory limit" 1 llm-eval sandbox --memory 100 -- python3 -c 'x = bytearray(200 << 20)' &&
	err_has "MemoryError"
printf 'print("from a file")\n' >"$T/prog.py"
expect "--file copies a file in" 0 llm-eval sandbox --file "$T/prog.py" -- python3 prog.py && out_has "from a file"
expect "--stdin passes input" 0 sh -c "echo piped | '$LLM_EVAL' sandbox --stdin -- python3 -c 'import sys; print(sys.stdin.read().upper())'" &&
	out_has "PIPED"
expect "stdin is /dev/null without --stdin" 0 sh -c "echo piped | '$LLM_EVAL' sandbox -- python3 -c 'import sys; print(repr(sys.stdin.read()))'" &&
	out_has "''"
# Not under $T: the sandbox has its own /tmp. /etc is visible in it.
escaped="/etc/lle-t0800-escaped-$$"
expect "the file system is read-only" 2 llm-eval sandbox -- sh -c "echo x > '$escaped'" &&
	err_has "Read-only file system"
check "no file appeared" test ! -e "$escaped"
rm -f "$escaped"
expect "the environment is empty" 0 env OPENAI_API_KEY=sk-test-secret "$LLM_EVAL" sandbox -- env &&
	out_lacks "sk-test-secret" && out_has "HOME=/tmp"
expect "unknown program" 3 llm-eval sandbox -- no-such-program-xyz && err_has "cannot run 'no-such-program-xyz'"
expect "no program" 2 llm-eval sandbox && err_has "no program to run"
expect "bad --timeout" 2 llm-eval sandbox --timeout -1 -- true && err_has "option '--timeout' needs a number"
expect "unknown option" 2 llm-eval sandbox --frob -- true && err_has "unknown option '--frob'"
expect "missing --file" 6 llm-eval sandbox --file "$T/nope.py" -- true && err_has "cannot read '$T/nope.py'"
# Through the helper executable (what a large caller such as a run uses).
helper="$BUILD/lib/llm-eval-sandbox-init"
expect "through the helper" 0 env LLM_EVAL_SANDBOX_INIT="$helper" "$LLM_EVAL" sandbox -- python3 -c 'import os; print("pid", os.getpid())' &&
	out_has "pid 2"
expect "through the helper, the timeout" 124 env LLM_EVAL_SANDBOX_INIT="$helper" "$LLM_EVAL" sandbox --timeout 1 -- python3 -c 'while True: pass'
expect "a missing helper" 70 env LLM_EVAL_SANDBOX_INIT="$T/none-here" "$LLM_EVAL" sandbox -- true &&
	err_has "cannot start '$T/none-here'"
done_testing
