#!/bin/sh
# process_results hooks (issue 15) for each output type and a `!function`
# aggregation, on tests/hooks/tasks/hk_results (own utils.py), run with the
# tiny model. The figures in the results file are recomputed here from the
# responses in the sample log, with the `results` shapes the harness passes
# (lm_eval/evaluator.py: [req.filtered_resps[key] for req in requests]):
# generate_until [text], multiple_choice [[ll, is_greedy], ...],
# loglikelihood_rolling [ll]; a custom aggregation gets every document's
# value as returned (lists too); its stderr is N/A. Without process_results,
# a '!function' metric is called as the harness calls one
# (fn(references=[gold], predictions=[pred], **kwargs), else fn([gold, pred]))
# and a built-in metric's values reach a '!function' aggregation in the
# harness's shapes (f1: (gold, pred) pairs). Python filters: a `!function`
# class made with the step's keys and `custom` with filter_fn, each given
# one entry per document (lm_eval/filters/__init__.py, custom.py).
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
expect "process_results tasks run" 0 llm-eval --include-path "$TOP/tests/hooks/tasks" run \
	--data-dir "$TOP/tests/hooks/data" --model-path "$MODEL" --tasks hk_res_gen,hk_res_mc,hk_res_roll,hk_metric_gen,hk_metric_mc,hk_filter \
	--output "$T/o" --log-samples --no-progress
cat >"$T/check.py" <<'PY'
import glob, json, math, sys
out = sys.argv[1]
res = json.load(open(glob.glob(out + "/tiny/results_*.json")[0]))["results"]

def samples(task):
    return [json.loads(l) for l in open(glob.glob("%s/tiny/samples_%s_*.jsonl" % (out, task))[0])]

def close(a, b):
    assert abs(a - b) <= 1e-9 * max(1, abs(b)), (a, b)

g = samples("hk_res_gen")
preds = [s["filtered_resps"][0] for s in g]
close(res["hk_res_gen"]["exact,none"],
      sum(p.strip() == s["doc"]["endings"][0] for p, s in zip(preds, g)) / len(g))
close(res["hk_res_gen"]["chars,none"], sum(len(p) for p in preds) + 1000 * len(g))
assert res["hk_res_gen"]["chars_stderr,none"] == "N/A"
close(res["hk_res_gen"]["shape,none"], 1.0)

m = samples("hk_res_mc")
def mc(s):
    lls = [r[0][0] for r in s["resps"]]
    return lls, max(range(len(lls)), key=lambda i: lls[i]) == int(s["doc"]["label"])
close(res["hk_res_mc"]["acc,none"], sum(mc(s)[1] for s in m) / len(m))
close(res["hk_res_mc"]["n,none"], sum(len(s["doc"]["endings"]) for s in m) / len(m))
close(res["hk_res_mc"]["ll0,none"], sum(mc(s)[0][0] for s in m) / len(m))

r = samples("hk_res_roll")
lls = [s["resps"][0][0] if isinstance(s["resps"][0], list) else s["resps"][0] for s in r]
lls = [x[0] if isinstance(x, list) else x for x in lls]
close(res["hk_res_roll"]["ll,none"], sum(lls) / len(lls))
# weighted_perplexity of the (ll, 2) pairs: exp(-sum(ll) / sum(2))
close(res["hk_res_roll"]["pair,none"], math.exp(-sum(lls) / (2 * len(lls))))
g = samples("hk_metric_gen")
preds = [s["filtered_resps"][0] for s in g]
golds = [s["doc"]["endings"][0] for s in g]
close(res["hk_metric_gen"]["first_char,none"],
      sum(p.strip()[:1].lower() == r[:1].lower() for p, r in zip(preds, golds)) / len(g))
close(res["hk_metric_gen"]["pair_metric,none"], sum(len(p) > len(r) for p, r in zip(preds, golds)) / len(g))
close(res["hk_metric_gen"]["exact_match,none"], 10 * len(g) + sum(p == r for p, r in zip(preds, golds)))
# acc's function returns its items: a generation's value is the (gold, result) pair
close(res["hk_metric_gen"]["acc,none"], sum(len(r) * 1000 + len(p) for p, r in zip(preds, golds)))
m = samples("hk_metric_mc")
hits = 0
for s in m:
    lls = [r[0][0] for r in s["resps"]]
    hits += s["f1"] == max(range(len(lls)), key=lambda i: lls[i])
close(res["hk_metric_mc"]["f1,none"], 100 * len(m) + hits)
f = samples("hk_filter")
cls = [s for s in f if s["filter"] == "cls"]
cust = [s for s in f if s["filter"] == "cust"]
assert len(cls) == len(cust) == 3, f
for s in cls:
    assert s["filtered_resps"] == [s["resps"][0][0].upper() + "!" + s["doc"]["label"]], s
for s in cust:
    assert s["filtered_resps"] == [(s["resps"][0][0].split() or [""])[0]], s
print("ok")
PY
check "the figures follow from the responses" python3 "$T/check.py" "$T/o"
done_testing
