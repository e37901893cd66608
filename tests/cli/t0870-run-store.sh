#!/bin/sh
# run adds each model's results to the run store (no import needed): results
# list/show and report see the run; the results file carries what the store
# reads (llm_eval_version, model_name, configs[task].category, hardware,
# backend_versions); importing the same file again finds it already stored;
# --no-store and an unwritable store.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
RUN="run --include-path $TOP/examples/demo --data-dir $TOP/examples/demo/data --model-path $MODEL
     --tasks demo --limit 4 --bootstrap-iters 50 --gen-kwargs max_gen_toks=4 --threads 1 --no-progress --no-cache"

expect "run with the default store" 0 llm-eval -v $RUN --output "$T/o" --log-samples &&
	err_has "results stored in the run store as run 1"
check "the store is under XDG_DATA_HOME" test -f "$XDG_DATA_HOME/llm-eval/runs.sqlite"
expect "results list shows it" 0 llm-eval results list && out_has "llm-eval" && out_has "tiny"
expect "results show last" 0 llm-eval results show last --json
check "stored with categories, hardware and per-document scores" python3 - "$OUT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = json.dumps(r)
assert "demo_arith_mc" in s and "hardware" in s, s[:400]
PY
expect "report shows the model and tasks" 0 llm-eval report --subtasks && out_has "tiny" && out_has "demo_arith_gen"
check "the results file carries what the store reads" python3 - "$T/o/tiny" <<'PY'
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/results_*.json")[0]))
assert r["llm_eval_version"] and r["model_name"] == "tiny"
assert all(r["configs"][t]["category"] == "demo" for t in ("demo_arith_mc", "demo_arith_gen", "demo_prose_ppl"))
hw = r["hardware"]
assert hw["cpus"] >= 1 and "os" in hw and isinstance(hw["gpus"], list), hw
assert "llamacpp" in r["backend_versions"], r["backend_versions"]
assert r["requests"]["sent"] > 0 and r["requests"]["cached"] == 0
PY
expect "importing the written file finds it stored" 0 llm-eval results import "$T/o" &&
	! grep -q "^2 " "$OUT"
expect "still one run" 0 llm-eval results list --json
check "one run in the store" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d) == 1, d' "$OUT"
expect "--no-store" 0 llm-eval $RUN --no-store --output "$T/o2"
expect "--store PATH" 0 llm-eval $RUN --store "$T/other.sqlite" --output "$T/o3"
expect "the other store has it" 0 llm-eval results list --store "$T/other.sqlite" && out_has "tiny"
expect "the default store did not get the --no-store run" 0 llm-eval results list --json
check "still one run by default" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d) == 1, d' "$OUT"
printf 'garbage that is no database %0300d' 0 >"$T/bad.sqlite"
expect "a damaged store stops the run before it starts" 6 llm-eval $RUN --store "$T/bad.sqlite" --output "$T/o4" &&
	err_has "$T/bad.sqlite"
check "nothing was evaluated" test ! -d "$T/o4"
expect "--store and --no-store" 2 llm-eval $RUN --store x --no-store && err_has "exclude each other"
done_testing
