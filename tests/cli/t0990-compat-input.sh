#!/bin/sh
# lm-evaluation-harness compatibility: gen_prefix and multiple-input
# (winogrande-style) tasks, run on the tiny model from the harness-layout
# configs in tests/compat/{gen_prefix,multiple_input}/. The sample logs'
# arguments are compared byte for byte with what lm-evaluation-harness
# v0.4.9.2 builds (sources cited beside each expectation), and the scores
# are recomputed from the logged log-likelihoods as its process_results does.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
GP="--include-path $TOP/tests/compat/gen_prefix"
MI="--include-path $TOP/tests/compat/multiple_input"
DD="--data-dir $TOP/tests/compat/multiple_input/data"
RUN="run $DD --model-path $MODEL --log-samples --no-progress"
# a registry model on the tiny GGUF with a chat template, for the refusals
mkdir -p "$T/reg/models"
printf '%s\n' "name: tinychat" "description: the tiny test model with a chat template" "hf_repo: none/tiny" \
	"categories: [demo]" "chat_template: chatml" "backend: llamacpp" "backends:" "  llamacpp:" \
	"    gguf: tiny.gguf" >"$T/reg/models/tinychat.yaml"
CHAT="run $DD --include-path $T/reg --model-dir $BUILD/models --model tinychat --apply-chat-template --no-progress"

expect "gen_prefix tasks run" 0 llm-eval $GP $RUN --tasks compat_gp_gen,compat_gp_field,compat_gp_empty --output "$T/gp"
check "gen_prefix requests are the harness's" python3 - "$T/gp" <<'PY'
import glob, json, sys
d = sys.argv[1]
def samples(task):
    return [json.loads(l) for l in open(glob.glob(d + "/*/samples_%s_*.jsonl" % task)[0])]
gk = {"until": ["\n"], "max_gen_toks": 4, "temperature": 0.0, "do_sample": False}
# lm_eval/api/samplers.py (v0.4.9.2), ContextSampler.get_context: each example
# is text + target_delimiter + (gen_prefix + " ") + target + fewshot_delimiter,
# and nothing but its text when its target is "" (train doc 1);
# lm_eval/api/task.py, ConfigurableTask.fewshot_context: the question is
# followed by target_delimiter + gen_prefix.
want = {
    "compat_gp_gen": [
        [["Q: 1+3 The answer is 4\n\nQ: 9-9Q: 2+3 The answer is", gk]],
        [["Q: 1+3 The answer is 4\n\nQ: 9-9Q: 7-1 The answer is", gk]],
    ],
    # gen_prefix names a field: doc_to_prefix gives doc["lead"] of the
    # evaluated document, and build_all_requests passes that one prefix to
    # its few-shot examples too; continuations are target_delimiter + choice
    # (construct_requests, multiple_choice, no chat template)
    "compat_gp_field": [
        [["Q: 1+3 Well, yes\n\nQ: 2+3 Well,", " yes"], ["Q: 1+3 Well, yes\n\nQ: 2+3 Well,", " no"]],
        [["Q: 1+3 Sure: yes\n\nQ: 7-1 Sure:", " yes"], ["Q: 1+3 Sure: yes\n\nQ: 7-1 Sure:", " no"]],
    ],
    # gen_prefix "": examples get no prefix (`if gen_prefix`), the question
    # still gets the delimiter (`if gen_prefix is not None`)
    "compat_gp_empty": [
        [["Q: 1+3 4\n\nQ: 2+3 ", gk]],
        [["Q: 1+3 4\n\nQ: 7-1 ", gk]],
    ],
}
for task, args in want.items():
    got = [s["arguments"] for s in sorted(samples(task), key=lambda s: s["doc_id"])]
    assert got == args, (task, got)
PY

expect "gen_prefix with a llama.cpp built-in chat template is refused" 3 llm-eval $GP $CHAT --tasks compat_gp_gen \
	--output "$T/gpc" && err_has "task 'compat_gp_gen': gen_prefix with --apply-chat-template needs a Jinja chat template"

expect "multiple-input tasks run" 0 llm-eval $MI $RUN --tasks compat_idx,compat_wino --output "$T/mi"
check "multiple-input requests and scores are the harness's" python3 - "$T/mi" "$TOP/tests/compat/multiple_input/data" <<'PY'
import glob, json, random, sys
d, data = sys.argv[1:3]
def samples(task):
    return sorted((json.loads(l) for l in open(glob.glob(d + "/*/samples_%s_*.jsonl" % task)[0])),
                  key=lambda s: s["doc_id"])
def check_scores(s, gold, choices):
    # lm_eval/api/task.py (v0.4.9.2), process_results, multiple_choice: gold is
    # doc_to_text (multiple_input); acc_norm divides by len(choice), the
    # choices being the contexts; exact_match is is_greedy[gold]
    lls = [r[0] for r in s["filtered_resps"]]
    greedy = [r[1] for r in s["filtered_resps"]]
    pred = max(range(len(lls)), key=lambda i: (lls[i], -i))
    pred_norm = max(range(len(lls)), key=lambda i: (lls[i] / len(choices[i]), -i))
    if "acc" in s: assert s["acc"] == float(pred == gold), s
    if "acc_norm" in s: assert s["acc_norm"] == float(pred_norm == gold), s
    if "exact_match" in s: assert s["exact_match"] == float(bool(greedy[gold])), s
# compat_idx: "{{answer_idx}}" renders digits and doc_to_choice is set, so
# doc_to_text is an int (ConfigurableTask.doc_to_text: isdigit ->
# ast.literal_eval) and the task has multiple inputs (__init__, "Test One
# Doc"). fewshot_context returns only the examples, where the example's text
# is doc_to_choice(doc)[doc_to_text(doc)] (samplers.get_context);
# construct_requests pairs ctx + choice with target_delimiter + doc_to_target.
want = [
    [["The dog|sat down.\n\nA fox", "|ran away."], ["The dog|sat down.\n\nA big bear", "|ran away."],
     ["The dog|sat down.\n\nSome hens", "|ran away."]],
    [["The dog|sat down.\n\nBob", "|flew."], ["The dog|sat down.\n\nAnn", "|flew."],
     ["The dog|sat down.\n\nThe bird", "|flew."]],
]
got = samples("compat_idx")
assert [s["arguments"] for s in got] == want, [s["arguments"] for s in got]
for s in got:
    check_scores(s, s["doc"]["answer_idx"], s["doc"]["ctxs"])
# compat_wino: the harness's winogrande (preprocess_winogrande.py's three
# functions, reproduced here) with 2 examples drawn by the default sampler.
# The config has neither test_split nor fewshot_split, and the harness's
# ContextSampler.get_context (lm_eval/api/samplers.py) compares them as
# None == None: it draws num_fewshot + 1 = 3 with
# random.Random(1234).sample(train, 3), once per document in order, drops
# the evaluated document and keeps the first 2.
def text(doc): return {"1": 0, "2": 1}[doc["answer"]]
def target(doc):
    idx = doc["sentence"].index("_") + 1
    return doc["sentence"][idx:].strip()
def choice(doc):
    idx = doc["sentence"].index("_")
    return [doc["sentence"][:idx] + opt for opt in (doc["option1"], doc["option2"])]
load = lambda n: [json.loads(l) for l in open(data + "/winogrande/winogrande_xl/%s.jsonl" % n)]
train, val = load("train"), load("validation")
rnd = random.Random(1234)
got = samples("compat_wino")
assert len(got) == len(val)
for doc, s in zip(val, got):
    ex = "".join(choice(e)[text(e)] + " " + target(e) + "\n\n" for e in [x for x in rnd.sample(train, 3) if x != doc][:2])
    want = [[ex + c, " " + target(doc)] for c in choice(doc)]
    assert s["arguments"] == want, (s["arguments"], want)
    assert s["target"] == target(doc)
    check_scores(s, text(doc), choice(doc))
res = json.load(open(glob.glob(d + "/*/results_*.json")[0]))
for task, n in (("compat_idx", 2), ("compat_wino", 3)):
    sm = samples(task)
    assert abs(res["results"][task]["acc,none"] - sum(s["acc"] for s in sm) / n) < 1e-12
PY

# the built-in registry's winogrande is the same task, native (it was
# refused for its !function hooks)
expect "built-in winogrande runs natively" 0 llm-eval $RUN --tasks winogrande --num-fewshot 2 --output "$T/wg"
check "built-in winogrande sends what compat_wino sends" python3 - "$T/wg" "$T/mi" <<'PY'
import glob, json, sys
a, b = (glob.glob(d + "/*/samples_%s_*.jsonl" % t)[0] for d, t in zip(sys.argv[1:3], ("winogrande", "compat_wino")))
ra, rb = ([json.loads(l) for l in open(f)] for f in (a, b))
assert [s["arguments"] for s in ra] == [s["arguments"] for s in rb]
assert [s["acc"] for s in ra] == [s["acc"] for s in rb]
PY

expect "multiple inputs with a built-in chat template are refused" 3 llm-eval $MI $CHAT --tasks compat_idx \
	--output "$T/mic" && err_has "multiple inputs with --apply-chat-template need a Jinja chat template"

done_testing
