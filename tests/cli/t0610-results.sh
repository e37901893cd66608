#!/bin/sh
# `llm-eval results import|list|show|delete` on results JSON written by
# lm-evaluation-harness (0.4 layout, and an older one without n-samples) and by
# llm-eval; bad files; run references; usage errors.
. "$(dirname "$0")/lib.sh"
FIX="$TOP/tests/fixtures/results"
S="$XDG_DATA_HOME/llm-eval/runs.sqlite"

expect "list with no store" 0 llm-eval results list && out_has "no runs stored yet"
expect "list --json with no store" 0 llm-eval results list --json
[ "$(cat "$OUT")" = "[]" ] || fail "want []"
expect "import an lm-evaluation-harness file" 0 llm-eval results import "$FIX/lmeval_pythia-160m.json" && \
	out_has "imported '$FIX/lmeval_pythia-160m.json' as run 1: EleutherAI/pythia-160m, 10 results"
[ -f "$S" ] || fail "no run store at $S"
expect "import two more at once" 0 llm-eval results import "$FIX/lmeval-old_pythia-410m.json" "$FIX/llmeval_qwen2.5-0.5b.json" && \
	out_has "as run 2: EleutherAI/pythia-410m, 4 results"
out_has "as run 3: qwen25_05b_instruct, 10 results"
expect "importing the same file again stores nothing" 0 llm-eval results import "$FIX/lmeval_pythia-160m.json" && \
	out_has "is already stored as run 1"
expect "list" 0 llm-eval results list
check "list has three runs" test "$(grep -c '^[0-9]' "$OUT")" -eq 3
out_has "2024-11-28T00:00:00Z        10  lm-evaluation-harness   EleutherAI/pythia-160m"
out_has "llm-eval                qwen25_05b_instruct"
expect "list --json" 0 llm-eval results list --json && out_has '"run": 3, "uid": "'
check "list --json is valid JSON" python3 -m json.tool "$OUT"

expect "show a run" 0 llm-eval results show 1 && out_has "model     EleutherAI/pythia-160m"
out_has "args      pretrained=EleutherAI/pythia-160m,dtype=float16"
out_has "time      735.8 s"
out_has "hardware  PyTorch version: 2.4.0+cu121 ..."
out_has "gsm8k                    exact_match,strict-match          0.0129      0.0031    1319  -"
out_has "  mmlu_astronomy         acc,none                          0.2566           -     152  -"
expect "show last" 0 llm-eval results show last && out_has "model     qwen25_05b_instruct"
out_has "arc_easy                 acc,none                          0.6549      0.0098    2376  reasoning"
expect "show --json" 0 llm-eval results show 2 --json
check "show --json is valid JSON" python3 -m json.tool "$OUT"
out_has '"metric": "exact_match", "filter": "flexible-extract", "value": 0.026535253980288095, "stderr": null, "n": null'
uid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uid"][:6])' "$OUT")
expect "show by uid prefix" 0 llm-eval results show "$uid" && out_has "model     EleutherAI/pythia-410m"
expect "show an unknown run" 2 llm-eval results show 9 && err_has "error: no run '9' in '$S'"

# --category fills in tasks whose file names none.
expect "import with --category" 0 llm-eval results import --store "$T/other.sqlite" --category reasoning "$FIX/lmeval-old_pythia-410m.json"
expect "its tasks have the category" 0 llm-eval results show 1 --store "$T/other.sqlite" && out_has "  reasoning"

# Bad files: each named, nothing stored.
printf '{"results": {"a": {"acc,none": 0.5,}}}' >"$T/broken.json"
expect "a JSON syntax error names file, line and column" 4 llm-eval results import "$T/broken.json" && \
	err_has "error: $T/broken.json:1:"
printf '{"config": {}}' >"$T/nores.json"
expect "a file without results" 4 llm-eval results import "$T/nores.json" && \
	err_has "error: '$T/nores.json' is not a results file: it has no \"results\" object"
expect "a missing file" 6 llm-eval results import "$T/nope.json" && err_has "cannot open '$T/nope.json'"
expect "nothing was stored" 0 llm-eval results list && check "still three runs" test "$(grep -c '^[0-9]' "$OUT")" -eq 3

expect "delete a run" 0 llm-eval results delete 2 && out_has "deleted run 2"
expect "it is gone" 2 llm-eval results show 2 && err_has "no run '2'"
expect "a damaged store" 6 sh -c 'head -c 8192 /dev/urandom >"$0" && "$1" results list --store "$0"' "$T/bad.sqlite" "$LLM_EVAL" && \
	err_has "run store '$T/bad.sqlite' is damaged"

expect "no action" 2 llm-eval results && err_has "say what to do"
expect "unknown action" 2 llm-eval results frob && err_has "unknown action 'frob'"
expect "show needs a run" 2 llm-eval results show && err_has "'results show' needs one RUN"
expect "import needs a file" 2 llm-eval results import && err_has "needs at least one FILE"
expect "--category only with import" 2 llm-eval results list --category x && err_has "--category goes with 'results import'"
done_testing
