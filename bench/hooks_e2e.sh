#!/bin/sh
# End to end with an lm-evaluation-harness tree (issue 15): the tasks of
# the issue's list run with the tiny model on synthetic documents of their
# real schemas (bench/hooks_e2e.py), each task's own Python hooks from the
# tree; prints each task's outcome (its first line of error when it fails)
# and the run's time (generations cut to 16 tokens: the tiny model is slow),
# then compares the prompts of the zero-shot multiple_choice tasks byte for
# byte with the harness's rules (bench/hooks_prompts.py). Needs the tree
# (not in this repository) and a build:
#   bench/hooks_e2e.sh PATH/lm_eval/tasks     LLM_EVAL_PYTHON=python3 by default
. "$(dirname "$0")/lib.inc"
TREE=${1:?usage: bench/hooks_e2e.sh PATH/lm_eval/tasks}
MODEL="$BUILD/models/tiny.gguf"
[ -f "$MODEL" ] || { echo "bench/hooks_e2e.sh: make $MODEL first" >&2; exit 1; }
python3 "$TOP/bench/hooks_e2e.py" "$B/data"
mkdir -p "$B/empty"
TASKS=${TASKS:-"hellaswag winogrande truthfulqa_mc2 ifeval mmlu_pro_math gpqa_main_zeroshot minerva_math_algebra
drop race mathqa logiqa copa leaderboard_musr_murder_mysteries leaderboard_math_algebra_hard"}
for t in $TASKS; do
	s=$(date +%s%N)
	LLM_EVAL_DATADIR="$B/empty" "$LLM_EVAL" --include-path "$TREE" run --data-dir "$B/data" --model-path "$MODEL" \
		--tasks "$t" --limit 3 --gen-kwargs max_gen_toks=16 --output "$B/out" --log-samples --no-progress >"$B/o" 2>"$B/e"
	rc=$?
	e=$(date +%s%N)
	if [ "$rc" -eq 0 ]; then
		printf '%-36s ok    %6d ms\n' "$t" $(( (e - s) / 1000000 ))
	else
		printf '%-36s exit %d: %s\n' "$t" "$rc" "$(grep -m1 '^error' "$B/e" | cut -c1-220)"
	fi
done
echo "prompts against the harness's rules (bench/hooks_prompts.py):"
python3 "$TOP/bench/hooks_prompts.py" "$TREE" "$B/data" "$B/out" 3 $TASKS
