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
