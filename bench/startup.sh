#!/bin/sh
# Start-up: `llm-eval --help` against /bin/true (process start-up, the
# baseline, measured in the same run), its peak memory, and the shared
# objects it maps. Target on the 2-core dev machine: within 1 ms of
# /bin/true, under 3 MB peak, only libc and libyaml (plus the loader, vdso).
. "$(dirname "$0")/lib.inc"

true_ms=$(median_ms "$RUNS" "" /bin/true)
help_ms=$(median_ms "$RUNS" "" "$LLM_EVAL --help")
ver_ms=$(median_ms "$RUNS" "" "$LLM_EVAL version")
echo "$RUNS runs each; $(command -v hyperfine >/dev/null && echo hyperfine || echo shell loop)"
header
row "/bin/true (baseline)" "$true_ms" "$true_ms" "$(peak_kb /bin/true)" ""
row "llm-eval --help" "$help_ms" "$true_ms" "$(peak_kb "$LLM_EVAL" --help)" "<= +1 ms, < 3 MB"
row "llm-eval version" "$ver_ms" "$true_ms" "$(peak_kb "$LLM_EVAL" version)" ""
echo "shared objects of --help: $(libs "$LLM_EVAL" --help)"
