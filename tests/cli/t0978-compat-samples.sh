#!/bin/sh
# lm-evaluation-harness compatibility of the samples files (issue 14, item
# 14), on the harness-layout configs of tests/compat/samples run with the
# test backend, whose log-likelihoods are a hash the oracle recomputes
# (tests/plugins/testbackend.c): each line's resps, filtered_resps and
# per-document metric values are the harness's (lm_eval/evaluator.py
# evaluate writes [req.resps ...], [req.filtered_resps[key] ...] and the
# dict ConfigurableTask.process_results returns, lm_eval/api/task.py):
#   - multiple_choice: acc a float, exact_match int(is_greedy[gold]), f1 and
#     mcc the pair (gold, pred);
#   - loglikelihood: perplexity the log-likelihood, acc int(is_greedy);
#   - loglikelihood_rolling: resps [[ll]] (the model answers a float),
#     word_perplexity (ll, words), byte_perplexity and bits_per_byte
#     (ll, bytes) with words = len(re.split(r"\s+", text));
#   - generate_until: bleu, chrf and ter the pair [target, response].
. "$(dirname "$0")/lib.sh"
export LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins"
C="$TOP/tests/compat/samples"
mkdir -p "$T/reg/models"
printf 'Paris\n%%%%\nfive\n%%%%\nblue sky\n' >"$T/replies.txt"
cat >"$T/reg/models/scripted.yaml" <<EOF
name: scripted
description: test backend with scripted completions
hf_repo: none/none
categories: [coding]
backend: testbackend
backends:
  testbackend:
    model: scripted
    replies: $T/replies.txt
EOF

expect "the four output types" 0 llm-eval --include-path "$T/reg" --include-path "$C" run --model scripted \
	--tasks cs_mc,cs_roll,cs_ll,cs_gen --data-dir "$C/data" --output "$T/o" --log-samples --no-progress
check "samples as the harness writes them" python3 - "$T/o/scripted" "$C/data/cs" <<'PY'
import glob, json, re, sys
d, data = sys.argv[1:3]

def samples(task):
    return [json.loads(l) for l in open(glob.glob("%s/samples_%s_*.jsonl" % (d, task))[0], encoding="utf-8")]

def rows(name):
    return [json.loads(l) for l in open("%s/%s.jsonl" % (data, name), encoding="utf-8")]

def fnv1a(h, b):
    for c in b:
        h = ((h ^ c) * 0x100000001b3) % (1 << 64)
    return h

def loglik(c, x):
    """the test backend's loglikelihood(c, x): (logprob, is_greedy)"""
    h = fnv1a(fnv1a(fnv1a(0xcbf29ce484222325, c.encode()), b"\x1f"), x.encode())
    lp = -(h % 1000) / 100.0
    return [lp, lp > -1.0]

# multiple_choice
for s, doc in zip(samples("cs_mc"), rows("mc")):
    want = [loglik(c, x) for c, x in s["arguments"]]
    assert s["arguments"] == [["Q: %s?\nA:" % doc["q"], " no"], ["Q: %s?\nA:" % doc["q"], " yes"]]
    assert s["resps"] == [[w] for w in want], (s["resps"], want)
    assert s["filtered_resps"] == want
    lls = [w[0] for w in want]
    gold, pred = doc["label"], lls.index(max(lls))
    assert s["acc"] == (1.0 if pred == gold else 0.0) and isinstance(s["acc"], float)
    assert s["exact_match"] == int(want[gold][1]) and isinstance(s["exact_match"], int)
    assert s["f1"] == [gold, pred], s["f1"]
    assert s["mcc"] == [gold, pred], s["mcc"]

# loglikelihood
for s, doc in zip(samples("cs_ll"), rows("ll")):
    w = loglik(doc["ctx"], doc["cont"])
    assert s["arguments"] == [[doc["ctx"], doc["cont"]]]
    assert s["resps"] == [[w]] and s["filtered_resps"] == [w], s
    assert s["perplexity"] == w[0]
    assert s["acc"] == int(w[1]) and isinstance(s["acc"], int)

# loglikelihood_rolling: -0.5 per byte
for s, doc in zip(samples("cs_roll"), rows("text")):
    text = doc["text"]
    nb = len(text.encode("utf-8"))
    ll = -0.5 * nb
    assert s["arguments"] == [[text]]
    assert s["resps"] == [[ll]], s["resps"]
    assert s["filtered_resps"] == [ll], s["filtered_resps"]
    assert s["word_perplexity"] == [ll, len(re.split(r"\s+", text))], s["word_perplexity"]
    assert s["byte_perplexity"] == [ll, nb] and s["bits_per_byte"] == [ll, nb]

# generate_until
replies = ["Paris", "five", "blue sky"]
for s, doc, rep in zip(samples("cs_gen"), rows("ll"), replies):
    assert s["resps"] == [[rep]] and s["filtered_resps"] == [rep], s
    for m in ("bleu", "chrf", "ter"):
        assert s[m] == [doc["cont"], rep], (m, s[m])
    assert s["exact_match"] == (1.0 if rep == doc["cont"] else 0.0)
PY
done_testing
