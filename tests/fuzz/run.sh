#!/bin/sh
# Run fuzz drivers built by `make fuzz-build` for a set time each, one after
# the other, and summarise: executions, executions per second, corpus size,
# and any crash with the path of its reproducer.
#   tests/fuzz/run.sh SECONDS NAME...      (FUZZ_BUILD as for make, default build-fuzz)
# Inputs: the seed corpus $FUZZ_BUILD/corpus/NAME (tests/fuzz/mkcorpus.sh), the
# regressions tests/fuzz/regressions/NAME, and what earlier runs found
# ($FUZZ_BUILD/corpus-work/NAME, where new inputs go). Dictionaries
# tests/fuzz/NAME.dict are used when present.
# Exit status 1 when any driver found a crash, a leak, undefined behaviour,
# a timeout (10 s on one input) or ran out of memory (2 GB); 0 otherwise.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 2
FB=${FUZZ_BUILD:-build-fuzz}
secs=${1:?usage: run.sh SECONDS NAME...}
shift
failed=""
for name in "$@"; do
	bin=$FB/fuzz/fuzz_$name
	[ -x "$bin" ] || { echo "fuzz: $bin is not built (make fuzz-build)" >&2; exit 2; }
	work=$FB/corpus-work/$name
	art=$FB/artifacts/$name
	log=$FB/logs/$name.log
	mkdir -p "$work" "$art" "$FB/logs" "$FB/corpus/$name" "tests/fuzz/regressions/$name"
	set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/"
	[ -f "tests/fuzz/$name.dict" ] && set -- "$@" -dict="tests/fuzz/$name.dict"
	# Scratch files of the drivers go to a directory of this run, not $HOME:
	# under FUZZ_TMPDIR, else /dev/shm when writable (file-based drivers
	# rewrite a file per input, which costs milliseconds on a disk and
	# microseconds in memory), else $TMPDIR.
	base=${FUZZ_TMPDIR:-}
	[ -n "$base" ] || { [ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm; } || base=${TMPDIR:-/tmp}
	tmp=$(mktemp -d "$base/lle-fuzz-run.XXXXXX")
	TMPDIR=$tmp ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		"$bin" "$@" "$work" "$FB/corpus/$name" "tests/fuzz/regressions/$name" >"$log" 2>&1
	rc=$?
	rm -rf "$tmp"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*corp: \([0-9]*\).*/cov \1, corpus \2/p')
	printf 'fuzz %-16s %3ss  %10s execs  %7s exec/s  %s\n' "$name" "$secs" "${execs:-?}" "${speed:-?}" "$cov"
	if [ "$rc" -ne 0 ]; then
		failed="$failed $name"
		repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 | sed 's/^/    /'
		echo "    reproducer: ${repro:-none written (see $log)}"
		echo "    replay:     $bin ${repro:-INPUT}"
		echo "    log:        $log"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: findings in:$failed" >&2
	exit 1
fi
exit 0
