#!/bin/sh
# The response cache's cost per request against a run without a cache, and
# the time a resumed 10,000-request run (90% done) takes to find what is
# missing, through bench/store_cache.c. Medians; peak memory from getrusage
# and from /usr/bin/time. The cache file lives in $TMPDIR (or /tmp): put
# TMPDIR on the disk you care about, since sync=FULL costs one fsync per commit.
#   bench/cache.sh [N [REPS]]     (defaults: 1000 requests, 3 repetitions)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
DRIVER="$BUILD/bench/store-cache"
[ -x "$DRIVER" ] || { echo "bench/cache.sh: build $DRIVER first (make bench or make $BUILD/bench/store-cache)" >&2; exit 1; }
N=${1:-1000}
REPS=${2:-3}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/lle-cache-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
echo "# bench/cache.sh: $N requests x $REPS, cache files in $DIR ($(df -PT "$DIR" | awk 'NR==2 {print $2}'))"
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f "peak resident memory (time -f %%M): %M KiB" "$DRIVER" bench "$N" "$REPS" "$DIR"
else
	"$DRIVER" bench "$N" "$REPS" "$DIR"
fi
