#!/bin/sh
# run --shard auto: the shard from a Slurm job array (SLURM_ARRAY_TASK_ID,
# _COUNT, _MIN, _MAX) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, the
# count given as auto/N), the same shard as the explicit i/N; and each way
# it can be wrong, refused before anything runs.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
RUN="run --include-path $TOP/examples/demo --data-dir $TOP/examples/demo/data --model-path $MODEL
     --tasks demo_arith_mc,demo_arith_gen --limit 9 --gen-kwargs max_gen_toks=4 --threads 1 --no-progress
     --cache $T/cache.sqlite --no-store"
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_MAX JOB_COMPLETION_INDEX
same_shard() {
	python3 - "$1" "$2" "$3" <<'PY'
import glob, json, sys
a, b = (json.load(open(glob.glob(d + "/tiny/results_*.json")[0])) for d in sys.argv[1:3])
assert a["shard"] == b["shard"] == sys.argv[3], (a["shard"], b["shard"])
assert a["results"] == b["results"] and a["shard_plan"] == b["shard_plan"]
PY
}

expect "explicit shard 1/3" 0 llm-eval $RUN --shard 1/3 --output "$T/explicit"
expect "Slurm array 1-3, task 2" 0 env SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=1 \
	SLURM_ARRAY_TASK_MAX=3 "$LLM_EVAL" $RUN --shard auto --output "$T/slurm"
check "it is shard 1/3" same_shard "$T/explicit" "$T/slurm" 1/3
expect "Kubernetes index 1 of auto/3" 0 env JOB_COMPLETION_INDEX=1 "$LLM_EVAL" $RUN --shard auto/3 --output "$T/k8s"
check "it is shard 1/3 too" same_shard "$T/explicit" "$T/k8s" 1/3

expect "no job array" 2 llm-eval $RUN --shard auto --output "$T/x" &&
	err_has "--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX"
expect "Kubernetes without the count" 2 env JOB_COMPLETION_INDEX=0 "$LLM_EVAL" $RUN --shard auto --output "$T/x" &&
	err_has "give the number of completions as --shard auto/N"
expect "an index past the count" 2 env JOB_COMPLETION_INDEX=3 "$LLM_EVAL" $RUN --shard auto/3 --output "$T/x" &&
	err_has "index 3 is not below the count 3"
expect "a Slurm array with gaps" 2 env SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=1 \
	SLURM_ARRAY_TASK_MAX=5 "$LLM_EVAL" $RUN --shard auto --output "$T/x" && err_has "not a contiguous range"
expect "a count other than the array's" 2 env SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=3 \
	"$LLM_EVAL" $RUN --shard auto/4 --output "$T/x" && err_has "--shard auto/4: the Slurm array has 3 tasks"
expect "not a number" 2 env JOB_COMPLETION_INDEX=x "$LLM_EVAL" $RUN --shard auto/3 --output "$T/x" &&
	err_has "JOB_COMPLETION_INDEX is 'x', not an integer >= 0"
expect "auto needs --output too" 2 env JOB_COMPLETION_INDEX=0 "$LLM_EVAL" $RUN --shard auto/3 &&
	err_has "--shard needs --output DIR"
check "nothing was written by a refused run" test ! -e "$T/x"
done_testing
