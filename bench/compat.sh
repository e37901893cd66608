#!/bin/sh
# Compatibility with an lm-evaluation-harness tasks tree: how many of its
# tasks plan (compile as `run` would, without a model and without data:
# `llm-eval validate --report`, the one compile step of run, validate and
# show), split by whether the config holds Python (`!function` or `class:`
# after includes), the refusals grouped by reason (the message without its
# file, task name and the names a reason quotes), and the time it took.
#   bench/compat.sh PATH/lm_eval/tasks
# The tree is not in this repository (CI does not need it); for example:
#   git --git-dir=MIRROR archive HEAD lm_eval/tasks | tar -x -C /tmp/lmeh
# DEEP=1 plans as `run` does before any model loads, but without data:
# every hook module imported and every class: task described in the python3
# worker (LLM_EVAL_CHECK_HOOKS=1), so a module the python3 in use lacks
# (LLM_EVAL_PYTHON picks it) is a refusal. TOPN=N: reasons shown per list.
. "$(dirname "$0")/lib.inc"
TREE=${1:?usage: bench/compat.sh PATH/lm_eval/tasks}
[ -d "$TREE" ] || { echo "bench/compat.sh: no directory '$TREE'" >&2; exit 2; }
mkdir -p "$B/empty"
s=$(date +%s%N)
# An empty built-in registry, so only the tree is counted.
if [ "${DEEP:-0}" = 1 ]; then export LLM_EVAL_CHECK_HOOKS=1; else unset LLM_EVAL_CHECK_HOOKS; fi
LLM_EVAL_DATADIR="$B/empty" "$LLM_EVAL" validate --report --include-path "$TREE" >"$B/report.tsv" 2>"$B/err"
rc=$?
e=$(date +%s%N)
[ "$rc" -le 3 ] || { echo "bench/compat.sh: validate exited $rc: $(tail -n 3 "$B/err")" >&2; exit 1; }
echo "llm-eval validate --report over $TREE: $(( (e - s) / 1000000 )) ms (one run)$([ "${DEEP:-0}" = 1 ] && echo ", DEEP=1 with ${LLM_EVAL_PYTHON:-python3}")"
awk -F'\t' '
$2 == "task" || $2 == "python-task" {
	n++; ok += $4 == "ok"
	if ($3 == "python") { np++; okp += $4 == "ok" } else { nf++; okf += $4 == "ok" }
}
$2 == "group" { g++; okg += $4 == "ok" }
END {
	printf "tasks:            %6d, %6d plan (%.1f%%)\n", n, ok, n ? 100 * ok / n : 0
	printf "  without Python: %6d, %6d plan (%.1f%%)\n", nf, okf, nf ? 100 * okf / nf : 0
	printf "  with Python:    %6d, %6d plan (!function or class: after includes)\n", np, okp
	printf "groups:           %6d, %6d plan\n", g, okg
}' "$B/report.tsv"
reasons() { # the refusals of the rows awk's condition $1 keeps, by reason
	awk -F'\t' "($1) && \$4 != \"ok\" { print \$4 }" "$B/report.tsv" |
		sed -E "s#^[^ ]*:[0-9]+:[0-9]+: ##; s#^/[^ ]*: ##; s#^task '[^']*': ##; s# \((known|built-in): [^)]*\)##;
			s#'!function [^']*'#'!function ...'#g; s#unknown task '[^']*'#unknown task '...'#;
			s#(group|task) '[^']*'#\1 '...'#g" |
		sort | uniq -c | sort -rn | head -n "${TOPN:-25}"
}
echo "refusals of tasks without Python, by reason:"
reasons '($2 == "task" || $2 == "python-task") && $3 != "python"'
echo "refusals of tasks with Python, by reason:"
TOPN=${TOPN:-10} reasons '($2 == "task" || $2 == "python-task") && $3 == "python"'
