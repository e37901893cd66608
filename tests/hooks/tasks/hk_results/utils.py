# process_results hooks and a custom aggregation, one per output type
# (written for these tests). Each returns what it was given, so the test can
# compare the `results` argument with the responses in the sample log.
def gen_results(doc, results):
    pred = results[0]
    return {
        "exact": float(pred.strip() == doc["endings"][0]),
        "chars": [len(pred), len(pred) + 1],     # a list: only the custom aggregation can take it
        "shape": float(isinstance(results, list) and len(results) == 1 and isinstance(pred, str)),
    }


def agg_total(items):
    # the custom aggregation gets every document's value as process_results returned it
    return float(sum(a for a, b in items) + 1000 * len(items))


def mc_results(doc, results):
    lls = [ll for ll, _ in results]
    best = max(range(len(lls)), key=lambda i: lls[i])
    return {"acc": float(best == int(doc["label"])), "n": len(results), "ll0": results[0][0],
            "greedy0": bool(results[0][1])}


def rolling_results(doc, results):
    (ll,) = results
    return {"ll": ll, "pair": [ll, 2]}


def first_char(references, predictions, ignore_case=False):
    # a metric function in the shape of the harness's own (references=, predictions=)
    r, p = references[0], predictions[0].strip()
    if ignore_case:
        r, p = r.lower(), p.lower()
    return float(p[:1] == r[:1])


def pair_metric(items):
    # the other calling convention: fn([gold, result]) after a TypeError
    gold, result = items
    return {"pair_metric": float(len(result) > len(gold))}


def agg_pairs(items):
    # a built-in f1 metric's values are (gold, pred) pairs
    assert all(isinstance(i, list) and len(i) == 2 for i in items), items
    return float(sum(1 for g, p in items if g == p) + 100 * len(items))


def agg_count(items):
    return float(len(items) * 10 + sum(items))


class UpperFilter:
    # a filter class as the harness calls one: made with the step's other
    # keys, then apply(resps, docs) with one list of responses per document
    def __init__(self, suffix=""):
        self.suffix = suffix

    def apply(self, resps, docs):
        return map(lambda rs, d: [r.upper() + self.suffix + d["label"] for r in rs], resps, docs)


def first_word(resps, docs):
    # CustomFilter's filter_fn: after take_first, each document's value is a string
    return [(r.split() or [""])[0] for r in resps]


def agg_gold_pred(items):
    # a passthrough metric (acc) of a generation: (gold, result) pairs
    return float(sum(len(g) * 1000 + len(p) for g, p in items))
