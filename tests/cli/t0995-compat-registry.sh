#!/bin/sh
# Issue 14, "our own registry": the built-in tasks that the harness writes
# with Python hooks run natively here, with the harness's requests and
# scores. Each runs on small fixtures of the real datasets' schema
# (tests/compat/registry/data) with the test backend, whose log-likelihoods
# are a hash the oracle recomputes (tests/plugins/testbackend.c); python3
# rebuilds each request and score as the harness's Python does (the
# functions of lm-evaluation-harness's lm_eval/tasks/<task>/utils.py,
# written out below and cited).
. "$(dirname "$0")/lib.sh"
export LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins"
D="$TOP/tests/compat/registry/data"
mkdir -p "$T/reg/models"
cat >"$T/reg/models/hashed.yaml" <<EOT
name: hashed
description: test backend, hashed log-likelihoods
hf_repo: none/none
categories: [coding]
backend: testbackend
backends:
  testbackend:
    model: hashed
EOT
RUN="--include-path $T/reg run --model hashed --data-dir $D --log-samples --no-progress --no-store --no-cache"

# the oracle's helpers, imported by each check
cat >"$T/oracle.py" <<'PY'
import glob, json, math, re, sys

def samples(d, task):
    return [json.loads(l) for l in open(glob.glob("%s/hashed/samples_%s_*.jsonl" % (d, task))[0], encoding="utf-8")]

def rows(path):
    return [json.loads(l) for l in open(path, encoding="utf-8")]

def fnv1a(h, b):
    for c in b:
        h = ((h ^ c) * 0x100000001b3) % (1 << 64)
    return h

def loglik(c, x):
    """the test backend's loglikelihood(c, x): (logprob, is_greedy)"""
    h = fnv1a(fnv1a(fnv1a(0xcbf29ce484222325, c.encode()), b"\x1f"), x.encode())
    lp = -(h % 1000) / 100.0
    return [lp, lp > -1.0]

def mc_scores(lls, choices, gold):
    """lm_eval/api/task.py ConfigurableTask.process_results, multiple_choice:
    acc = argmax(lls) == gold, acc_norm = argmax(lls / len(choice))"""
    pred = max(range(len(lls)), key=lambda i: (lls[i], -i))
    norm = [ll / float(len(c)) for ll, c in zip(lls, choices)]
    pn = max(range(len(norm)), key=lambda i: (norm[i], -i))
    return 1.0 if pred == gold else 0.0, 1.0 if pn == gold else 0.0
PY

# hellaswag: lm_eval/tasks/hellaswag/utils.py, process_docs and preprocess
expect "hellaswag runs natively" 0 llm-eval $RUN --tasks hellaswag --output "$T/hs"
check "hellaswag: the harness's queries, choices and scores" python3 - "$T/hs" "$D/Rowan/hellaswag/validation.jsonl" "$T" <<'PY'
import re, sys
sys.path.insert(0, sys.argv[3])
from oracle import *

def preprocess(text):  # hellaswag/utils.py
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text

got = samples(sys.argv[1], "hellaswag")
docs = rows(sys.argv[2])
assert len(got) == len(docs) == 3, len(got)
for s, doc in zip(got, docs):
    query = preprocess(doc["activity_label"] + ": " + doc["ctx_a"] + " " + doc["ctx_b"].capitalize())
    choices = [preprocess(e) for e in doc["endings"]]
    gold = int(doc["label"])
    assert s["arguments"] == [[query, " " + c] for c in choices], (s["arguments"], query, choices)
    lls = [loglik(query, " " + c)[0] for c in choices]
    acc, acc_norm = mc_scores(lls, choices, gold)
    assert s["acc"] == acc and s["acc_norm"] == acc_norm, (s["acc"], s["acc_norm"], acc, acc_norm)
PY
done_testing
