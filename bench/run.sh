#!/bin/sh
# The driver behind `make bench`: runs every bench/*.sh but itself, in name
# order, each printing its own medians, peak memory and ratios. Exit status
# is 1 when a benchmark script failed to run (a slow result is not a failure:
# numbers are for people to read, see HACKING.md).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
export BUILD="${BUILD:-build}"
rc=0
for b in bench/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "### $b"
	sh "$b" || { echo "### $b failed"; rc=1; }
	echo
done
exit $rc
