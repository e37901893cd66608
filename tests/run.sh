#!/bin/sh
# The test driver behind `make test`: runs every unit test binary
# ($BUILD/tests/test_*) and every command-line script (tests/cli/t*.sh, in
# order), reads their TAP lines, and ends with one line:
#     N passed, N failed
# Exit status 0 only when nothing failed and every script exited cleanly.
#   tests/run.sh [PATTERN]   run only the unit tests and scripts whose name has PATTERN
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
BUILD=${BUILD:-build}
export BUILD
# Sanitizer builds: LeakSanitizer does not scan thread-local storage for roots.
# Debian 12's libasan (gcc 12) reads a bogus dynamic-TLS range at exit ("DTLS 5
# at 0x3cf-0x10000014d1", then "Tracer caught signal 11") in a process that
# dlopened the engine and the llama.cpp plugin (libstdc++'s TLS) and forked the
# Python hook worker: a crash of the checker, not a leak. Without TLS roots a
# block only TLS points to would be reported, never hidden, so no leak is missed;
# tests/lsan.supp names the C library's own blocks of that kind.
if [ -n "${SAN:-}" ]; then
	LSAN_OPTIONS="use_tls=0:print_suppressions=0:suppressions=$TOP/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
	export LSAN_OPTIONS
fi
pattern=${1:-}
LOG=$(mktemp "${TMPDIR:-/tmp}/lle-run.XXXXXX")
trap 'rm -f "$LOG"' EXIT
pass=0 fail=0 broken=""

run_one() { # NAME CMD...
	name=$1
	shift
	printf '# %s\n' "$name"
	"$@" >"$LOG" 2>&1
	rc=$?
	grep -E '^(not ok|#)' "$LOG" | sed 's/^/    /'
	p=$(grep -c '^ok' "$LOG")
	f=$(grep -c '^not ok' "$LOG")
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# A crash or a script error without a failed check still fails the run.
		echo "    not ok - $name exited $rc"
		tail -n 20 "$LOG" | sed 's/^/    | /'
		fail=$((fail + 1))
	fi
	[ "$rc" -eq 0 ] || broken="$broken $name"
	printf '  %d ok, %d not ok\n' "$p" "$f"
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *"$pattern"*) ;; *) continue ;; esac
	run_one "$(basename "$t")" "$t"
done
for t in tests/cli/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	case "$t" in *"$pattern"*) ;; *) continue ;; esac
	run_one "$(basename "$t")" sh "$t"
done

[ -z "$broken" ] || echo "failing:$broken"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ -z "$broken" ]
