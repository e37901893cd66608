#!/bin/sh
# Registry listing: `list models` and `list tasks` over the built-in registry,
# and `list tasks` over a generated 14,000-file lm-evaluation-harness tree,
# cold (no index cache) and warm; against /bin/true in the same run. Also the
# shared objects `list` maps. Targets on the 2-core dev machine: built-in
# lists under 3 ms; 14,000 files cold under 400 ms, warm under 15 ms.
. "$(dirname "$0")/lib.inc"
GEN="$BUILD/tools/gen-task-tree"

builtin_note="the built-in registry"
if [ -z "${LLM_EVAL_DATADIR:-}" ] && [ ! -d "$TOP/registry/models" ]; then
	# No registry/ in this tree yet: one of the same size, generated.
	"$GEN" --registry "$B/registry"
	export LLM_EVAL_DATADIR="$B/registry"
	builtin_note="a generated registry of 40 models, 30 tasks, 8 categories (no registry/ here)"
fi
"$GEN" -n 14000 "$B/tree" "$B/expected" || exit 1
sleep 0.1 # let the last files age past the index's "just written" window

RUNS_COLD=${BENCH_RUNS_COLD:-10}
true_ms=$(median_ms "$RUNS" "" /bin/true)
"$LLM_EVAL" list models >/dev/null 2>&1 # build the built-in caches
m_ms=$(median_ms "$RUNS" "" "$LLM_EVAL list models")
t_ms=$(median_ms "$RUNS" "" "$LLM_EVAL list tasks")
c_ms=$(median_ms "$RUNS" "" "$LLM_EVAL list categories")
tree="$LLM_EVAL -q list tasks --include-path $B/tree"
cold_ms=$(median_ms "$RUNS_COLD" "rm -rf $B/cache" "$tree")
"$LLM_EVAL" -q list tasks --include-path "$B/tree" >/dev/null 2>&1
"$LLM_EVAL" -q list tasks --include-path "$B/tree" >/dev/null 2>&1
warm_ms=$(median_ms "$RUNS" "" "$tree")
fast_ms=$(median_ms "$RUNS" "" "env LLM_EVAL_FAST_MODE=1 $tree")
rm -rf "$B/cache"
cold_kb=$(peak_kb "$LLM_EVAL" -q list tasks --include-path "$B/tree")
warm_kb=$(peak_kb "$LLM_EVAL" -q list tasks --include-path "$B/tree")

echo "built-in: $builtin_note"
echo "tree: 14,000 files, $(($(wc -l <"$B/expected"))) entries; index cache $(du -k "$B/cache" | tail -n 1 | cut -f1) KB"
header
row "/bin/true (baseline)" "$true_ms" "$true_ms" "$(peak_kb /bin/true)" ""
row "list models (built-in)" "$m_ms" "$true_ms" "$(peak_kb "$LLM_EVAL" list models)" "< 3 ms"
row "list tasks (built-in)" "$t_ms" "$true_ms" "$(peak_kb "$LLM_EVAL" list tasks)" "< 3 ms"
row "list categories (built-in)" "$c_ms" "$true_ms" "$(peak_kb "$LLM_EVAL" list categories)" ""
row "list tasks, 14,000 files, cold (no cache)" "$cold_ms" "$true_ms" "$cold_kb" "< 400 ms"
row "list tasks, 14,000 files, warm" "$warm_ms" "$true_ms" "$warm_kb" "< 15 ms"
row "list tasks, 14,000 files, warm, FAST_MODE=1" "$fast_ms" "$true_ms" "$(peak_kb env LLM_EVAL_FAST_MODE=1 "$LLM_EVAL" -q list tasks --include-path "$B/tree")" ""
echo "shared objects of list models: $(libs "$LLM_EVAL" list models)"
echo "shared objects of list tasks (tree): $(libs "$LLM_EVAL" -q list tasks --include-path "$B/tree")"
# What a warm list cannot go below here: one stat per file of the tree.
python3 - "$B/tree" <<'PY'
import os, sys, time
paths = [os.path.join(d, f) for d, _, fs in os.walk(sys.argv[1]) for f in fs]
t = time.perf_counter()
for p in paths:
    os.stat(p)
dt = time.perf_counter() - t
print("floor: stat of the tree's %d files, one process: %.1f ms (%.2f us each, python)" % (len(paths), dt * 1e3, dt / len(paths) * 1e6))
PY
