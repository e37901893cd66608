#!/bin/sh
# One compile step: `run`, `validate` and `show task` refuse the same task
# configs with the same line (issue 14 item 15), and `run` plans everything
# before it stops, printing every problem, one line each, with the first
# problem's exit code.
. "$(dirname "$0")/lib.sh"
FX="$TOP/tests/fixtures"
export LLM_EVAL_DATADIR="$FX/registry" # the fixture registry stands in for the built-in one

H="$T/harness"
mkdir -p "$H/t" "$T/data"
printf '{"question": "q1", "answer": "a1"}\n' >"$T/data/d.jsonl"
common='dataset_path: json\ndata_files: {test: ./d.jsonl}\noutput_type: generate_until\ndoc_to_target: "{{answer}}"\n'
cp "$T/data/d.jsonl" "$H/t/d.jsonl"
printf "task: good\n$common"'doc_to_text: "{{question}}"\nmetric_list: [{metric: exact_match}]\n' >"$H/t/good.yaml"
printf "task: titled\n$common"'doc_to_text: "{{question|title}}"\nmetric_list: [{metric: exact_match}]\n' >"$H/t/titled.yaml"
printf "task: badmetric\n$common"'doc_to_text: "{{question}}"\nmetric_list: [{metric: pass_at_1}]\n' >"$H/t/badmetric.yaml"
printf "task: pydocs\n$common"'doc_to_text: "{{question}}"\nprocess_docs: !function utils.process_docs\nmetric_list: [{metric: exact_match}]\n' >"$H/t/pydocs.yaml"
printf 'task: nodata\ndataset_path: json\ndata_files: {test: ./missing.jsonl}\noutput_type: generate_until\ndoc_to_text: "{{question}}"\ndoc_to_target: "{{answer}}"\nmetric_list: [{metric: exact_match}]\n' >"$H/t/nodata.yaml"
: >"$T/m.gguf"

TITLE="$H/t/titled.yaml:6:14: task 'titled': doc_to_text: at character 12: unsupported filter 'title'"
METRIC="task 'badmetric': unknown metric 'pass_at_1'"
# a Python hook runs (issue 15), but its module must be beside the YAML file
PYDOCS="task 'pydocs': process_docs: '!function utils.process_docs' needs $H/t/utils.py, which cannot be read"

for t in titled badmetric pydocs; do
	case $t in titled) msg=$TITLE ;; badmetric) msg=$METRIC ;; *) msg=$PYDOCS ;; esac
	expect "run refuses $t" 3 llm-eval run --include-path "$H" --model-path "$T/m.gguf" --tasks "$t" --no-store --no-cache &&
		err_has "error: " && err_has "$msg"
	cp "$ERR" "$T/run.err"
	expect "show task refuses $t the same way" 3 llm-eval show task "$t" --include-path "$H" &&
		err_has "$msg" && out_has "task: $t"
	grep "^error: .*$t" "$ERR" >"$T/show.line"
	grep -qxF -f "$T/show.line" "$T/run.err" || fail "show's line differs from run's: $(cat "$T/show.line")"
done
expect "validate refuses all three, each in one line" 3 llm-eval validate --include-path "$H" &&
	err_has "$TITLE" && err_has "$METRIC" && err_has "$PYDOCS" && err_has "3 errors, 0 warnings"
expect "a good task still shows" 0 llm-eval show task good --include-path "$H" && err_empty

# Three broken tasks, an unknown one, a good one and a missing data file:
# every problem is printed, in order, and the first one's code is the exit code.
expect "run prints every planning problem" 3 llm-eval run --include-path "$H" --model-path "$T/m.gguf" \
	--tasks titled,good,badmetric,nosuchtask,pydocs,nodata --no-store --no-cache
[ "$(grep -c '^error: ' "$ERR")" -eq 5 ] || fail "want 5 error lines, got: $(cat "$ERR")"
grep '^error: ' "$ERR" | sed 's/.*task .\([a-z]*\).*/\1/' | tr '\n' ' ' >"$T/order"
[ "$(cat "$T/order")" = "titled badmetric nosuchtask pydocs nodata " ] || fail "order: $(cat "$T/order")"
expect "a data problem alone exits 4" 4 llm-eval run --include-path "$H" --model-path "$T/m.gguf" \
	--tasks good,nodata --no-store --no-cache && err_has "task 'nodata'"
expect "a model problem does not hide the task problems" 3 llm-eval run --include-path "$H" \
	--model-path "$T/none.gguf" --tasks titled --no-store --no-cache &&
	err_has "--model-path '$T/none.gguf'" && err_has "$TITLE"
done_testing
