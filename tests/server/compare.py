#!/usr/bin/env python3
"""Compare two llm-eval output directories (one model each): the same
documents, the same greedy generations, log-likelihoods within TOL, the same
metric values. Used by tests/cli/t09*-openai*.sh.
usage: compare.py DIR_A DIR_B [TOL]"""
import glob, json, math, sys

a, b = sys.argv[1], sys.argv[2]
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-3

def one(d):
    res = glob.glob(d + "/*/results_*.json")
    assert len(res) == 1, "%s: %d results files" % (d, len(res))
    samples = {}
    for f in glob.glob(d + "/*/samples_*.jsonl"):
        task = f.rsplit("/", 1)[1][len("samples_"):].rsplit("_", 1)[0]
        for line in open(f):
            s = json.loads(line)
            samples[(task, s["doc_id"], s["filter"])] = s
    return json.load(open(res[0])), samples

ra, sa = one(a)
rb, sb = one(b)
assert set(sa) == set(sb), "different documents: %s" % sorted(set(sa) ^ set(sb))[:5]

def same(x, y, where):
    if isinstance(x, float) or isinstance(y, float):
        assert isinstance(x, (int, float)) and isinstance(y, (int, float)), where
        assert abs(x - y) <= tol * max(1.0, abs(x)) or (math.isnan(x) and math.isnan(y)), "%s: %r != %r" % (where, x, y)
    elif isinstance(x, list):
        assert isinstance(y, list) and len(x) == len(y), "%s: %r != %r" % (where, x, y)
        for i, (p, q) in enumerate(zip(x, y)):
            same(p, q, "%s[%d]" % (where, i))
    else:
        assert x == y, "%s: %r != %r" % (where, x, y)

for k in sa:
    same(sa[k]["resps"], sb[k]["resps"], "%s resps" % (k,))
    same(sa[k]["filtered_resps"], sb[k]["filtered_resps"], "%s filtered" % (k,))
ta, tb = ra["results"], rb["results"]
assert set(ta) == set(tb)
for task in ta:
    for m in ta[task]:
        if m == "alias" or "stderr" in m and "perplexity" in m:
            continue
        same(ta[task][m], tb[task][m], "%s %s" % (task, m))
print("same: %d samples, %d tasks" % (len(sa), len(ta)))
