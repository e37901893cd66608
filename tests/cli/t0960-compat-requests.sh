#!/bin/sh
# lm-evaluation-harness compatibility of the requests a run sends (issue 14),
# on the task configs of tests/compat/requests in the harness's layout, run
# with the tiny model: the sample logs' `arguments` and filtered responses are
# checked byte for byte against what the harness's source builds (each
# expected value cites the file and function it comes from):
#   - the default data file includes dataset_name (two configurations of one
#     dataset path read two files);
#   - loglikelihood continuations carry no target_delimiter (lambada);
#   - acc_mutual_info's unconditional requests carry it;
#   - few-shot draws with neither test_split nor fewshot_split, and with
#     only a validation split, as the harness draws them (Python's random
#     module is the oracle here);
#   - --num-fewshot leaves an explicit num_fewshot: 0 at 0;
#   - remove_whitespace strips both ends;
#   - a generation's resps are [[text]].
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
INC="--include-path $TOP/tests/compat/requests"
DD="--data-dir $TOP/tests/compat/requests/data"

expect "the compat tasks run" 0 llm-eval $INC run $DD --model-path "$MODEL" \
	--tasks cr_lambada,cr_lambada_other,cr_piqa,cr_valonly,cr_mi,cr_ws \
	--output "$T/o" --log-samples --no-progress
expect "--num-fewshot 2 on a task whose config says num_fewshot: 0" 0 llm-eval $INC run $DD --model-path "$MODEL" \
	--tasks cr_zero,cr_piqa --num-fewshot 2 --output "$T/z" --log-samples --no-progress

cat >"$T/check.py" <<'PY'
import glob, json, random, sys
out, zout, data = sys.argv[1:4]

def samples(d, task):
    f = glob.glob("%s/samples_%s_[0-9]*.jsonl" % (d, task))
    assert len(f) == 1, (task, f)
    return [json.loads(l) for l in open(f[0], encoding="utf-8")]

def rows(p):
    return [json.loads(l) for l in open(p, encoding="utf-8")]

def args(task, d=out):
    return [s["arguments"] for s in samples(d, task)]

what = sys.argv[4]

def check_data():
    # 1. dataset_name is part of the default path: <dataset_path>/<dataset_name>/<split>.jsonl
    #    (the harness loads datasets.load_dataset(dataset_path, dataset_name); each
    #    configuration is its own data). cr_lambada_other reads other/test.jsonl.
    assert args("cr_lambada_other") == [[["other configuration", " here"]]], args("cr_lambada_other")

def check_loglik():
    # 2. loglikelihood: (ctx, doc_to_target(doc)), no delimiter
    #    (lm_eval/api/task.py ConfigurableTask.construct_requests).
    assert args("cr_lambada") == [[["she looked up and said", " \u201cwow\u201d"]],
                                  [["the cat sat on the", " mat"]]], args("cr_lambada")

def check_mi():
    # 7. acc_mutual_info: the unconditional requests are ("", f"{target_delimiter}{choice}")
    #    (construct_requests, aux_arguments, since the harness's PR #3035).
    assert args("cr_mi") == [[["Pick one:", " red"], ["Pick one:", " blue"], ["", " red"], ["", " blue"]]], args("cr_mi")

# 3. few-shot: ConfigurableTask.fewshot_context passes eval_doc=doc when
#    `self.fewshot_cfg.split == self.config.test_split` (None == None for
#    these tasks), and ContextSampler.sample (lm_eval/api/samplers.py) then
#    draws self.rnd.sample(docs, n + 1) and keeps [x for x in it if x != doc][:n].
#    self.rnd is random.Random(1234) (set_fewshot_seed, evaluator's default
#    fewshot_random_seed), one generator drawn once per document in order.
#    Few-shot docs: Task.fewshot_docs: training docs, else validation docs.
#    An example is text + target_delimiter + target + fewshot_delimiter.
def expected(fs_docs, eval_docs, n, text, target):
    rnd = random.Random(1234)
    want = []
    for doc in eval_docs:
        ex = [x for x in rnd.sample(fs_docs, n + 1) if x != doc][:n]
        ctx = "".join(text(x) + " " + target(x) + "\n\n" for x in ex) + text(doc)
        want.append([[ctx, target(doc)]])
    return want

pq_train, pq_val = rows(data + "/pq/train.jsonl"), rows(data + "/pq/validation.jsonl")
pq = expected(pq_train, pq_val, 2, lambda d: "Goal: %s\nAnswer:" % d["goal"], lambda d: d["sol"])
def check_fewshot():
    assert args("cr_piqa") == pq, (args("cr_piqa"), pq)
    vo = rows(data + "/vo/validation.jsonl")
    want = expected(vo, vo, 3, lambda d: d["q"] + ":", lambda d: d["a"])
    got = args("cr_valonly")
    assert got == want, (got, want)
    # no document is its own example
    assert all("%s: %s\n\n" % (d["q"], d["a"]) not in g[0][0] for d, g in zip(vo, got))

def check_zero():
    # 4. --num-fewshot 2: cr_zero's num_fewshot: 0 is kept (lm_eval/evaluator.py
    #    simple_evaluate: "num_fewshot has been set to 0 ... in its config");
    #    cr_piqa, which says 2, gets the flag's 2.
    assert args("cr_zero", zout) == [[["Goal: %s\nAnswer:" % d["goal"], d["sol"]]] for d in pq_val], args("cr_zero", zout)
    assert args("cr_piqa", zout) == pq
    res = json.load(open(glob.glob(zout + "/results_*.json")[0]))
    assert res["n-shot"]["cr_zero"] == 0 and res["n-shot"]["cr_piqa"] == 2, res["n-shot"]

def check_ws():
    # 5. remove_whitespace: resp.strip() (lm_eval/filters/extraction.py
    #    WhitespaceFilter); the generation stops before "fins", after a space.
    s = samples(out, "cr_ws")[0]
    resp = s["resps"][0][0]
    assert resp != resp.strip(), repr(resp)  # the test needs surrounding whitespace
    assert s["filtered_resps"] == [resp.strip()], (s["filtered_resps"], resp)

def check_resps():
    # 14. resps: [req.resps for req in requests] (lm_eval/evaluator.py
    #     evaluate, the sample log): a generation's request holds a list of
    #     repeats, so [[text]]; filtered_resps after take_first: [text].
    s = samples(out, "cr_ws")[0]
    assert isinstance(s["resps"], list) and len(s["resps"]) == 1, s["resps"]
    assert isinstance(s["resps"][0], list) and len(s["resps"][0]) == 1, s["resps"]
    assert isinstance(s["resps"][0][0], str) and isinstance(s["filtered_resps"][0], str), s
    # a log-likelihood request's resps are [[ll, is_greedy]], its filtered one [ll, is_greedy]
    m = samples(out, "cr_mi")[0]
    assert all(len(r) == 1 and len(r[0]) == 2 for r in m["resps"]), m["resps"]
    assert [r[0] for r in m["resps"]] == m["filtered_resps"], m

globals()['check_' + what]()
PY
for what in data loglik mi fewshot zero ws resps; do
	check "harness requests: $what" python3 "$T/check.py" "$T/o/tiny" "$T/z/tiny" "$TOP/tests/compat/requests/data/cr" $what
done
done_testing
