#!/bin/sh
# The cache and the run store on a read-only directory and on a full disk (a
# file size limit): each gives a clear message naming the file, and nothing
# committed before is lost. As root the read-only directory is a read-only bind
# mount in a private mount namespace (root ignores permissions); otherwise a
# directory without write permission.
. "$(dirname "$0")/lib.sh"
FILL="$BUILD/bench/store-cache"
FIX="$TOP/tests/fixtures/results"
RO="$T/ro"
mkdir -p "$RO"

check "a cache with 40 of a run's 100 requests answered" "$FILL" fill "$RO/c.sqlite" 100 run1 40
expect "import a run into a store there" 0 llm-eval results import --store "$RO/s.sqlite" "$FIX/lmeval_pythia-160m.json"

if [ "$(id -u)" -eq 0 ]; then
	if unshare -m sh -c "mount --bind '$RO' '$RO' && mount -o remount,bind,ro '$RO' && ! touch '$RO/probe'" 2>/dev/null; then
		in_ro() { unshare -m sh -c 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"' "$RO" "$@"; }
	else
		in_ro=""
	fi
else
	chmod 555 "$RO"
	in_ro() { "$@"; }
fi
if ! command -v in_ro >/dev/null 2>&1; then
	echo "ok - read-only directory checks # skip cannot make a read-only directory here (root without mount namespaces)"
else
	expect "cache stats still reads a cache in a read-only directory" 0 in_ro "$LLM_EVAL" cache stats --cache "$RO/c.sqlite" && \
		out_has "responses  40 (" && out_has "40/100 done"
	expect "cache clear there is refused clearly" 6 in_ro "$LLM_EVAL" cache clear --cache "$RO/c.sqlite" && \
		err_has "error: cache '$RO/c.sqlite': cannot read: its directory '$RO' is not writable"
	err_has "give a path in a writable directory"
	expect "writing the cache there is refused clearly" 6 in_ro "$FILL" fill "$RO/c.sqlite" 200 && \
		err_has "cache '$RO/c.sqlite': cannot read: its directory '$RO' is not writable"
	expect "a new cache in a sub-directory" 6 in_ro "$FILL" fill "$RO/new/c.sqlite" 10 && \
		err_has "cannot create directory '$RO/new'"
	expect "results list still reads the store" 0 in_ro "$LLM_EVAL" results list --store "$RO/s.sqlite" && \
		out_has "EleutherAI/pythia-160m"
	expect "results import there is refused clearly" 6 in_ro "$LLM_EVAL" results import --store "$RO/s.sqlite" \
		"$FIX/lmeval-old_pythia-410m.json" && err_has "run store '$RO/s.sqlite': cannot read: its directory '$RO' is not writable"
	chmod 755 "$RO"
	expect "afterwards the cache has all it had" 0 llm-eval cache stats --cache "$RO/c.sqlite" && out_has "responses  40 ("
	expect "and the store too" 0 llm-eval results list --store "$RO/s.sqlite" && out_has "EleutherAI/pythia-160m"
fi

# A full disk: a file size limit (200 KiB for the cache, 64 KiB for the store) (SIGXFSZ ignored, so writes fail with EFBIG).
limited() { sh -c 'trap "" XFSZ; ulimit -f 128; exec "$@"' limited "$@"; }
check "filling a cache with 2000 responses fails under the limit" \
	sh -c 'trap "" XFSZ; ulimit -f 400; ! "$0" fill "$1" 2000 2>"$2"' "$FILL" "$T/full.sqlite" "$T/fill.err"
check "the failed write is reported clearly" grep -q "cache '$T/full.sqlite': .*the disk may be full or a file size limit reached.*what was committed before is kept" "$T/fill.err"
expect "what was committed is there" 0 llm-eval cache stats --cache "$T/full.sqlite" && out_has "responses  "
n=$(sed -n 's/^responses  \([0-9]*\) .*/\1/p' "$OUT")
check "some but not all responses were committed ($n)" test "$n" -gt 0 -a "$n" -lt 2000
expect "import into a store under the limit" 0 llm-eval results import --store "$T/fs.sqlite" "$FIX/lmeval_pythia-160m.json"
python3 -c '
import json, sys
for i in range(1, 9):
    d = json.load(open(sys.argv[1])); d["date"] = float(i); d["pad"] = "x" * 20000
    json.dump(d, open("%s/big%d.json" % (sys.argv[2], i), "w"))' "$FIX/llmeval_qwen2.5-0.5b.json" "$T"
expect "imports that outgrow the limit fail clearly" 6 limited "$LLM_EVAL" results import --store "$T/fs.sqlite" "$T"/big*.json && \
	err_has "run store '$T/fs.sqlite': "
err_has "what was committed before is kept"
expect "the runs stored before are intact" 0 llm-eval results show 1 --store "$T/fs.sqlite" && out_has "EleutherAI/pythia-160m"
expect "without the limit the imports go through" 0 llm-eval results import --store "$T/fs.sqlite" "$T"/big*.json
done_testing
