#!/bin/sh
# llm-eval run takes lm-evaluation-harness's spellings (issue 18, item 1):
# every flag of docs/run.md's lm_eval column is accepted by the parser, the
# short options and underscore forms give the same run as llm-eval's own
# spellings, `--batch-size auto` is the default, and a missing value or a
# flag given a value says so.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
DEMO="--include-path $TOP/examples/demo"
DD="--data-dir $TOP/examples/demo/data"

# Every code span of the lm_eval column of the mapping table, split into
# flag [value] pairs: each must get past option parsing (to the check that
# asks for a model or tasks, or to the plan), never "unknown option".
python3 - "$TOP/docs/run.md" >"$T/spans" <<'PY'
import re, sys
rows = [l for l in open(sys.argv[1]) if l.startswith("| `-")]
assert len(rows) >= 12, rows
for row in rows:
    for span in re.findall(r"`([^`]*)`", row.split("|")[1]):
        toks = span.split()
        for i, t in enumerate(toks):
            if t.startswith("-"):
                val = toks[i + 1] if i + 1 < len(toks) and not toks[i + 1].startswith("-") else ""
                if re.fullmatch(r"[A-Z]+", val):
                    val = "1"  # a placeholder: N, K, DIR, TEXT
                print(t, val)
PY
n=0
while read -r flag val; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	expect "docs/run.md: '$flag${val:+ $val}' is accepted" 2 llm-eval run $flag $val &&
		! grep -q "unknown option\|needs a value\|takes no value" "$ERR" &&
		grep -q "give --model\|give --tasks" "$ERR" || fail "$(head -n 1 "$ERR")"
done <"$T/spans"
check "docs/run.md maps at least 20 harness spellings ($n)" test "$n" -ge 20

# The same run in both spellings: identical results.
expect "llm-eval's spellings" 0 llm-eval $DEMO run $DD --model-path "$MODEL" --tasks demo_arith_mc,demo_arith_gen \
	--num-fewshot 1 --limit 3 --batch-size 2 --output "$T/a" --log-samples --model-args n_ctx=512 --no-progress --no-store
expect "the harness's short options" 0 llm-eval $DEMO run $DD --model-path "$MODEL" -t demo_arith_mc,demo_arith_gen \
	-f 1 -L 3 -b 2 -o "$T/b" -s -a n_ctx=512 --no-progress --no-store
expect "the harness's underscore spellings, --batch_size auto" 0 llm-eval run --include_path "$TOP/examples/demo" \
	--data_dir "$TOP/examples/demo/data" --model_path "$MODEL" --tasks demo_arith_mc,demo_arith_gen \
	--num_fewshot 1 --limit 3 --batch_size auto --output_path "$T/c" --log_samples --model_args n_ctx=512 \
	--no_progress --no_store --seed 5,None,None,1234
check "all three give the same results and samples; auto is the default batch size" python3 - "$T" <<'PY'
import glob, json, sys
t = sys.argv[1]
res = {k: json.load(open(glob.glob("%s/%s/tiny/results_*.json" % (t, k))[0])) for k in "abc"}
for k in "bc":
    assert res[k]["results"] == res["a"]["results"], k
    assert res[k]["n-shot"] == res["a"]["n-shot"] == {"demo_arith_mc": 1, "demo_arith_gen": 1}, res[k]["n-shot"]
    assert res[k]["config"]["limit"] == 3 and "n_ctx=512" in res[k]["config"]["model_args"], res[k]["config"]
    assert len(glob.glob("%s/%s/tiny/samples_*.jsonl" % (t, k))) == 2, k
assert res["b"]["config"]["batch_size"] == 2
assert res["c"]["config"]["batch_size"] == 32, res["c"]["config"]["batch_size"]
# the harness's --seed list: the first is the sampling seed, the fourth the few-shot seed
assert res["c"]["config"]["random_seed"] == 5 and res["c"]["config"]["fewshot_seed"] == 1234, res["c"]["config"]
PY

expect "--batch-size auto:4 is accepted" 2 llm-eval run --batch-size auto:4 && err_has "give --model"
expect "--batch-size autox is refused" 2 llm-eval run --batch-size autox && err_has "option '--batch-size' needs an integer >= 1, not 'autox'"
expect "--seed list of two" 2 llm-eval run --seed 1,2 && err_has "option '--seed' takes S or the harness's R,N,T[,F], not '1,2'"
expect "--seed list with a word" 2 llm-eval run --seed 1,x,2 && err_has "option '--seed': 'x' is not an integer >= 0 or None"
expect "a long option's missing value" 2 llm-eval run --tasks && err_has "error: option '--tasks' needs a value"
expect "a short option's missing value" 2 llm-eval run -o && err_has "error: option '-o' needs a value"
expect "a flag given a value" 2 llm-eval run --log_samples=1 && err_has "error: option '--log_samples=1' takes no value"
expect "an unknown short option" 2 llm-eval run -z && err_has "error: unknown option '-z'"
done_testing
