#!/bin/sh
# --on-error continue (the default) applies per document to a Python hook's
# exception, as it does to a backend's failure (issue 15): the document is
# reported (task, document, hook, the traceback's last frame) and counted,
# the others are scored, and the run ends with exit 1. Both while prompts
# are built (doc_to_text, hk_err's third document) and while scoring
# (process_results, hk_res_err's second); also for --show-prompts, which
# runs the hooks of the first documents without a model. --on-error stop
# ends the run at the first one.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
run_err() {
	want=$1 out=$2
	shift 2
	expect "hooks that raise, $*" "$want" llm-eval --include-path "$TOP/tests/hooks/tasks" run \
		--data-dir "$TOP/tests/hooks/data" --model-path "$MODEL" --tasks hk_err,hk_res_err \
		--output "$T/$out" --log-samples --no-progress --no-cache "$@"
}
run_err 1 c
err_has "error: task 'hk_err': doc 2: doc_to_text: 'utils.doc_to_text': KeyError: 'no_such_field' (at $TOP/tests/hooks/tasks/hk_err/utils.py:4 in doc_to_text)"
err_has "error: task 'hk_res_err': doc 1: process_results: 'utils.process_results': KeyError: 'no_such_field' (at $TOP/tests/hooks/tasks/hk_res_err/utils.py:5 in process_results)"
err_has "some documents failed"
docs() { # the doc_ids of a task's sample log
	python3 -c 'import glob, json, sys
print(" ".join(str(json.loads(l)["doc_id"]) for l in open(glob.glob(sys.argv[1])[0])))' "$T/$1/tiny/samples_$2_*.jsonl"
}
check "hk_err: the other documents are scored" test "$(docs c hk_err)" = "0 1"
check "hk_res_err: the other documents are scored" test "$(docs c hk_res_err)" = "0 2"
check "the results have both tasks" python3 -c 'import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/tiny/results_*.json")[0]))["results"]
assert "acc" in str(r["hk_err"]) and "picked_first" in str(r["hk_res_err"]), r' "$T/c"
# the first documents' prompts, without a model: the hooks run, a failing
# one is reported the same way, the others are shown, exit 1
expect "--show-prompts 3 with a hook that raises on the third" 1 llm-eval --include-path "$TOP/tests/hooks/tasks" \
	run --data-dir "$TOP/tests/hooks/data" --tasks hk_err --show-prompts 3
err_has "error: task 'hk_err': doc 2: doc_to_text: 'utils.doc_to_text': KeyError: 'no_such_field'"
out_has "task 'hk_err'; document 1; context prompt"
run_err 4 s --on-error stop
err_has "error: task 'hk_err': doc 2: doc_to_text: 'utils.doc_to_text': KeyError: 'no_such_field'"
done_testing
