#!/bin/sh
# Groups as lm-evaluation-harness aggregates them (issue 14, item 6), on the
# harness-layout configs in tests/compat/groups run with the tiny model:
# weight_by_size defaults to true, no filter_list means every filter, values
# and standard errors are taken over the LEAF tasks (not over sub-groups),
# member entries with overrides apply them; and the built-in openllm group
# plans up to the first member whose data is missing, which it names.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
C="$TOP/tests/compat/groups"
RUN="--include-path $C run --data-dir $C/data --model-path $MODEL --no-progress"

# The oracle: Group.aggregate (lm_eval/api/group.py) over the leaf tasks'
# results, with aggregate_subtask_metrics and pooled_sample_stderr
# (lm_eval/api/metrics.py) written out in Python; sizes are the tasks'
# sample counts. Usage: oracle DIR GROUP METRIC FILTER WEIGHT LEAF...
cat >"$T/oracle.py" <<'PY'
import glob, json, math, sys
d, group, metric, flt, weight = sys.argv[1:6]
leaves = sys.argv[6:]
res = json.load(open(glob.glob(d + "/results_*.json")[0]))
r = res["results"]
key, skey = metric + "," + flt, metric + "_stderr," + flt
vals = [r[t][key] for t in leaves]
ses = [r[t][skey] for t in leaves]
sizes = [res["n-samples"][t]["effective"] for t in leaves]
# aggregate_subtask_metrics: sizes become 1s when not weight_by_size
w = sizes if weight == "true" else [1] * len(sizes)
value = sum(v * s for v, s in zip(vals, w)) / sum(w)
# pooled_sample_stderr: always the true sizes
var = sum((s - 1) * e ** 2 * s for s, e in zip(sizes, ses)) / (sum(sizes) - len(sizes))
se = math.sqrt(var / sum(sizes))
g = res["groups"][group]
assert abs(g[key] - value) < 1e-12, (key, g[key], value)
assert abs(g[skey] - se) < 1e-12, (skey, g[skey], se)
assert r[group][key] == g[key]
print(group, key, value, se)
PY

expect "group without weight_by_size" 0 llm-eval $RUN --tasks cg_sub --output "$T/sub"
check "weight_by_size defaults to true (AggMetricConfig)" \
	python3 "$T/oracle.py" "$T/sub/tiny" cg_sub acc none true cg_a cg_b

expect "group of a group and a task" 0 llm-eval $RUN --tasks cg_nest --output "$T/nest"
check "nested group: value and pooled stderr over the leaf tasks" \
	python3 "$T/oracle.py" "$T/nest/tiny" cg_nest acc none true cg_a cg_b cg_c
check "nested group, weight_by_size false: plain mean over the leaf tasks" \
	python3 "$T/oracle.py" "$T/nest/tiny" cg_nest acc_norm none false cg_a cg_b cg_c

expect "group of tasks with two filters, no filter_list" 0 llm-eval $RUN --tasks cg_gen --output "$T/gen"
check "every filter is aggregated" sh -c "
	python3 '$T/oracle.py' '$T/gen/tiny' cg_gen exact_match first true cg_g1 cg_g2 &&
	python3 '$T/oracle.py' '$T/gen/tiny' cg_gen exact_match strict true cg_g1 cg_g2"

expect "members with overrides" 0 llm-eval $RUN --tasks cg_ovr --output "$T/ovr"
check "overrides reach the task and every task under a group" python3 - "$T/ovr/tiny" <<'PY'
import glob, json, sys
res = json.load(open(glob.glob(sys.argv[1] + "/results_*.json")[0]))
# cg_c's validation split has 6 documents (its test split 8)
assert res["n-samples"]["cg_c"] == {"original": 6, "effective": 6}, res["n-samples"]["cg_c"]
assert res["configs"]["cg_c"]["test_split"] == "validation"
# num_fewshot: 2 given to the group cg_shot reaches its task cg_d
assert res["n-shot"]["cg_d"] == 2, res["n-shot"]
assert res["group_subtasks"]["cg_ovr"] == ["cg_c", "cg_shot"], res["group_subtasks"]
PY
check "overridden members aggregate as the others" \
	python3 "$T/oracle.py" "$T/ovr/tiny" cg_ovr acc none true cg_c cg_d

# openllm: arc_challenge (named with fewshot_split and num_fewshot
# overrides) plans once its data is there; the run then stops at hellaswag,
# whose data is missing here, and says which member and why (every member
# runs once its data is there: t0995).
DD="$T/dd/allenai/ai2_arc/ARC-Challenge"
mkdir -p "$DD"
i=0
while [ $i -lt 30 ]; do
	echo '{"id": "x", "question": "q", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "A"}'
	i=$((i + 1))
done >"$DD/test.jsonl"
cp "$DD/test.jsonl" "$DD/validation.jsonl"
expect "openllm plans to the member it cannot run" 4 llm-eval run --tasks openllm --model-path "$MODEL" \
	--data-dir "$T/dd" --limit 1 --no-progress --output "$T/ol"
grep -q "^error: group 'openllm': member 'hellaswag': task 'hellaswag': split 'validation': expected data file '.*/Rowan/hellaswag/validation.jsonl' .* is missing" "$ERR" ||
	fail "the refusal names the group, the member and the reason"

done_testing
