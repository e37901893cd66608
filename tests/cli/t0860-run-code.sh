#!/bin/sh
# llm-eval run on code tasks: programs built from completions run in the
# sandbox and scored as pass@k. The tiny model's random completions on real
# HumanEval problems fail (with their failure kinds in the samples); scripted
# completions (the test backend's replies=FILE) prove that real solutions
# pass end to end through the shipped humaneval and mbpp configs, and that
# repeats: 4 with a pass/fail mix gives the pass@1 and pass@2 worked out by
# hand.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
FIXD="$TOP/tests/fixtures/code"
export LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins"

# A registry model on the test backend whose generations are the entries of FILE.
scripted_model() { # NAME FILE
	mkdir -p "$T/reg/models"
	cat >"$T/reg/models/$1.yaml" <<EOF
name: $1
description: test backend with scripted completions
hf_repo: none/none
categories: [coding]
backend: testbackend
backends:
  testbackend:
    model: scripted
    replies: $2
EOF
}

expect "run --help names --allow-weak-sandbox" 0 llm-eval run --help && out_has "--allow-weak-sandbox"

# ---- repeats: 4, a scripted mix, pass@1 and pass@2 by hand ----
# doc 0 (add):           pass pass assertion syntax_error      c=2
# doc 1 (is_even):       pass exception timeout assertion      c=1
# doc 2 (reverse_words): pass pass pass pass                   c=4 (c = n)
# doc 3 (count_vowels):  killed assertion exception exception  c=0
cat >"$T/rep4.txt" <<'EOF'
    return a + b
%%
    return b + a
%%
    return a - b
%%
    return a +* b
%%
    return n % 2 == 0
%%
    return undefined_name
%%
    while True:
        pass
%%
    return True
%%
    return ' '.join(s.split()[::-1])
%%
    return ' '.join(reversed(s.split()))
%%
    words = s.split()
    words.reverse()
    return ' '.join(words)
%%
    return ' '.join(s.split()[::-1]) if s else ''
%%
    x = bytearray(10 ** 12)
    return len(x)
%%
    return 0
%%
    raise ValueError('no')
%%
    import sys
    sys.exit(0)
EOF
scripted_model scripted_rep4 "$T/rep4.txt"
REG="--include-path $T/reg --include-path $FIXD"
expect "repeats 4: scripted completions" 0 llm-eval $REG run --model scripted_rep4 --tasks code_rep4 \
	--data-dir "$FIXD/data" --output "$T/r4" --log-samples --no-progress &&
	out_has "pass@1" && out_has "pass@2"
check "pass@1 and pass@2 are the values worked out by hand" python3 - "$T/r4/scripted_rep4" <<'PY'
import glob, json, math, sys
r = json.load(open(glob.glob(sys.argv[1] + "/results_*.json")[0]))["results"]["code_rep4"]
# per document (n = 4): c = 2, 1, 4, 0
# pass@1 = c/4:                 0.5, 0.25, 1, 0   -> mean 0.4375
# pass@2 = 1 - C(4-c,2)/C(4,2): 5/6, 1/2,  1, 0   -> mean 7/12
p1 = [0.5, 0.25, 1.0, 0.0]
p2 = [5 / 6, 0.5, 1.0, 0.0]
def se(v):
    m = sum(v) / len(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) / math.sqrt(len(v))
assert abs(r["pass@1,none"] - 0.4375) < 1e-12, r
assert abs(r["pass@2,none"] - 7 / 12) < 1e-12, r
assert abs(r["pass@1_stderr,none"] - se(p1)) < 1e-12, r
assert abs(r["pass@2_stderr,none"] - se(p2)) < 1e-12, r
lines = sorted((json.loads(l) for l in open(glob.glob(sys.argv[1] + "/samples_code_rep4_*.jsonl")[0])),
               key=lambda d: d["doc_id"])
assert all(abs(a["pass@1"] - b) < 1e-15 for a, b in zip(lines, p1)), [l["pass@1"] for l in lines]
assert all(abs(a["pass@2"] - b) < 1e-15 for a, b in zip(lines, p2)), [l["pass@2"] for l in lines]
assert [l["code_exec"][0]["passed"] for l in lines] == [2, 1, 4, 0]
# the harness's resps: one request holding the 4 repeats, [[t1, t2, t3, t4]]
assert all(l["code_exec"][0]["n"] == 4 and len(l["resps"]) == 1 and len(l["resps"][0]) == 4 for l in lines)
PY
check "each completion's failure kind is in the sample log" python3 - "$T/r4/scripted_rep4" <<'PY'
import glob, json, sys
lines = sorted((json.loads(l) for l in open(glob.glob(sys.argv[1] + "/samples_code_rep4_*.jsonl")[0])),
               key=lambda d: d["doc_id"])
kinds = [[o["status"] for o in l["code_exec"][0]["outcomes"]] for l in lines]
want = [["passed", "passed", "assertion", "syntax_error"],
        ["passed", "exception", "timeout", "assertion"],
        ["passed"] * 4,
        ["killed", "assertion", "exception", "exception"]]
assert kinds == want, kinds
PY
expect "repeats 4: one document per chunk gives the same scores" 0 llm-eval $REG run --model scripted_rep4 \
	--tasks code_rep4 --data-dir "$FIXD/data" --batch-size 1 --json --no-progress &&
	python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"]["code_rep4"]
assert abs(r["pass@1,none"] - 0.4375) < 1e-12 and abs(r["pass@2,none"] - 7 / 12) < 1e-12, r' "$OUT" ||
	fail "scores differ with --batch-size 1"
check "details name the exception" python3 - "$T/r4/scripted_rep4" <<'PY'
import glob, json, sys
lines = sorted((json.loads(l) for l in open(glob.glob(sys.argv[1] + "/samples_code_rep4_*.jsonl")[0])),
               key=lambda d: d["doc_id"])
o = [l["code_exec"][0]["outcomes"] for l in lines]
assert o[1][1]["exception"] == "NameError" and "undefined_name" in o[1][1]["detail"], o[1][1]
assert o[3][0]["exception"] == "MemoryError", o[3][0]
assert o[3][2]["exception"] == "ValueError", o[3][2]
assert o[0][0]["detail"] == "" and o[0][0]["exception"] == ""
PY

# ---- the shipped configs with scripted completions ----
if [ -f "$SHARED/datasets/humaneval/HumanEval.jsonl.gz" ]; then
	# The first three canonical solutions, then a completion that raises.
	python3 - "$SHARED/datasets/humaneval/HumanEval.jsonl.gz" "$T/he.txt" <<'PY'
import gzip, json, sys
docs = [json.loads(l) for l in gzip.open(sys.argv[1], "rt")][:3]
with open(sys.argv[2], "w") as f:
    f.write("\n%%\n".join([d["canonical_solution"] for d in docs] + ["    raise RuntimeError('wrong')"]))
PY
	scripted_model scripted_he "$T/he.txt"
	expect "humaneval: canonical solutions pass through the shipped config" 0 llm-eval --include-path "$T/reg" \
		run --model scripted_he --tasks humaneval --data-dir "$SHARED/datasets" --limit 4 \
		--output "$T/he" --log-samples --no-progress && out_has "create_test"
	check "humaneval: pass@1,create_test is 3/4, the fourth raised" python3 - "$T/he/scripted_he" <<'PY'
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/results_*.json")[0]))["results"]["humaneval"]
assert r["pass@1,create_test"] == 0.75, r
lines = sorted((json.loads(l) for l in open(glob.glob(sys.argv[1] + "/samples_humaneval_*.jsonl")[0])),
               key=lambda d: d["doc_id"])
kinds = [l["code_exec"][0]["outcomes"][0]["status"] for l in lines]
assert kinds == ["passed", "passed", "passed", "exception"], kinds
assert lines[3]["code_exec"][0]["outcomes"][0]["exception"] == "RuntimeError"
PY

	# The tiny model's random text: every program fails, pass@1 is 0.
	expect "humaneval with the tiny model" 0 llm-eval run --model-path "$MODEL" --tasks humaneval \
		--data-dir "$SHARED/datasets" --limit 3 --gen-kwargs max_gen_toks=24 --output "$T/tiny" \
		--log-samples --no-progress && out_has "pass@1"
	check "random completions fail with a failure kind, pass@1 is 0 with stderr 0" python3 - "$T/tiny/tiny" <<'PY'
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/results_*.json")[0]))["results"]["humaneval"]
assert r["pass@1,create_test"] == 0.0 and r["pass@1_stderr,create_test"] == 0.0, r
lines = [json.loads(l) for l in open(glob.glob(sys.argv[1] + "/samples_humaneval_*.jsonl")[0])]
assert len(lines) == 3
for l in lines:
    o = l["code_exec"][0]["outcomes"]
    assert len(o) == 1 and o[0]["status"] in ("syntax_error", "exception", "assertion", "timeout", "killed"), o
    assert o[0]["detail"], o
    assert l["pass@1"] == 0.0
PY
else
	echo "ok - # skip humaneval: ../shared/datasets is absent"
fi

# MBPP's shipped config (3-shot from the prompt split) on three problems of
# the project's own in MBPP's format: two right, one wrong (and cut at [DONE]).
cat >"$T/mbpp.txt" <<'EOF'
def max_of_three(a, b, c):
    return max(a, b, c)
[DONE]
%%
def word_count(s):
    return len(s.split(' '))
%%
def scale(k):
    return [k * x for x in DATA]
EOF
scripted_model scripted_mbpp "$T/mbpp.txt"
expect "mbpp: shipped config, scripted completions" 0 llm-eval --include-path "$T/reg" run --model scripted_mbpp \
	--tasks mbpp --data-dir "$FIXD/data" --output "$T/mb" --log-samples --no-progress
check "mbpp: pass@1 is 2/3; the wrong one fails an assert" python3 - "$T/mb/scripted_mbpp" <<'PY'
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/results_*.json")[0]))["results"]["mbpp"]
assert abs(r["pass@1,none"] - 2 / 3) < 1e-12, r
lines = sorted((json.loads(l) for l in open(glob.glob(sys.argv[1] + "/samples_mbpp_*.jsonl")[0])),
               key=lambda d: d["doc_id"])
kinds = [l["code_exec"][0]["outcomes"][0]["status"] for l in lines]
assert kinds == ["passed", "assertion", "passed"], kinds
assert "[DONE]" not in lines[0]["resps"][0][0] if isinstance(lines[0]["resps"][0], list) else "[DONE]" not in lines[0]["resps"][0]
assert "[BEGIN]" in lines[0]["arguments"][0][0] and "max_of_three" in lines[0]["arguments"][0][0]
PY

# ---- a sandbox without a network namespace ----
# A user namespace whose limit on network namespaces is 0 is a system that
# refuses them (as some containers do): the run must stop before the model
# loads, naming the task and what is missing, unless --allow-weak-sandbox.
nonet() { python3 "$FIXD/nonet.py" "$@"; }
if nonet true 2>/dev/null; then
	expect "no network namespace: refused" 3 nonet "$LLM_EVAL" $REG run --model scripted_rep4 --tasks code_rep4 \
		--data-dir "$FIXD/data" --no-progress &&
		err_has "task 'code_rep4' runs model-written code, but this system does not allow a network namespace" &&
		err_has "pass --allow-weak-sandbox"
	expect "no network namespace: --allow-weak-sandbox runs it and says so" 0 nonet "$LLM_EVAL" $REG run \
		--model scripted_rep4 --tasks code_rep4 --data-dir "$FIXD/data" --no-progress --json --allow-weak-sandbox &&
		err_has "running without a network namespace" && out_has '"pass@2,none": 0.58333333333333'
else
	echo "ok - # skip weak sandbox: cannot make a user namespace with uids 0-65535 (needs root)"
fi

# ---- bad configs ----
expect "k above repeats" 3 llm-eval --include-path "$FIXD" run --model-path "$MODEL" --tasks code_bad_k \
	--data-dir "$FIXD/data" --no-progress &&
	err_has "code_bad_k.yaml:9:" && err_has "pass@10 needs at least 10 completions per problem, but 'repeats' is 1"
expect "code_exec on a multiple_choice task" 3 llm-eval --include-path "$FIXD" run --model-path "$MODEL" \
	--tasks code_bad_type --data-dir "$FIXD/data" --no-progress &&
	err_has "metric 'code_exec': applies only to output_type 'generate_until'"
done_testing
