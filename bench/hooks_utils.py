# Hooks for bench/hooks.sh, in the shape of typical task hooks (a few
# string operations on a document of a few fields); also its baseline: the
# same calls in a loop inside one python3 process.
import json
import sys
import time


def doc_to_text(doc):
    return "Question: " + doc["question"].strip() + "\nAnswer:"


def doc_to_target(doc):
    return int(doc["label"])


def doc_to_choice(doc):
    return [c.strip() for c in doc["choices"]]


def make_docs(n):
    return [{"question": "  What is item %d of the list?  " % i, "label": str(i % 4),
             "choices": [" alpha %d" % i, "beta ", " gamma", "delta %d " % (i * 7)], "id": i}
            for i in range(n)]


if __name__ == "__main__":
    # baseline: N documents through the three functions, as JSON text in
    # (what the worker receives) and each result kept
    n = int(sys.argv[1])
    lines = [json.dumps(d) for d in make_docs(n)]
    t0 = time.perf_counter()
    out = []
    for line in lines:
        d = json.loads(line)
        out.append((doc_to_text(d), doc_to_target(d), doc_to_choice(d)))
    t1 = time.perf_counter()
    print("%.6f" % (t1 - t0))
