#!/bin/sh
# Paired comparisons: `results import` reads the samples_TASK_DATE.jsonl files
# beside results_DATE.json, and `compare` pairs two runs over the documents both
# scored. The paired mean difference and its standard error are recomputed here
# in Python from the samples files themselves. Documents whose doc_hash differs
# are left out of the pairing; a bad samples line stores nothing.
. "$(dirname "$0")/lib.sh"
P="$TOP/tests/fixtures/results/paired"
A=$(ls "$P"/a/results_*.json)
B=$(ls "$P"/b/results_*.json)

expect "import with samples" 0 llm-eval results import "$A" "$B" && \
	out_has "as run 1: org/model-a, 4 results, 140 per-document scores from 2 samples files"
expect "show counts the per-document scores" 0 llm-eval results show 1 && out_has "samples   140 per-document scores"
expect "compare is paired" 0 llm-eval compare 1 2 && out_has "paired, 40 docs" && out_has "paired, 30 docs"
out_lacks "unpaired"
out_has "arc_easy  acc                           0.5500 ± 0.0797  0.8000 ± 0.0641  +0.2500  0.0693  +3.61  yes      paired, 40 docs"
expect "compare --json" 0 llm-eval compare 1 2 --json
check "paired numbers agree with the samples files" python3 -c '
import glob, json, math, sys
out, a_dir, b_dir = sys.argv[1:4]
def scores(d):
    s = {}
    for f in glob.glob(d + "/samples_*.jsonl"):
        task = f.rsplit("/", 1)[1][len("samples_"):].rsplit("_", 1)[0]
        for line in open(f):
            o = json.loads(line)
            for m in o["metrics"]:
                s[(task, o["filter"], m, o["doc_id"])] = (o[m], o["doc_hash"])
    return s
a, b = scores(a_dir), scores(b_dir)
rep = json.load(open(out))
assert rep["compared"] == 4 and rep["paired"] == 4, rep
for r in rep["rows"]:
    d = [b[k][0] - a[k][0] for k in a if k[:3] == (r["task"], r["filter"], r["metric"]) and k in b]
    n = len(d); m = sum(d) / n
    se = math.sqrt(sum((x - m) ** 2 for x in d) / (n - 1) / n)
    assert r["paired_docs"] == n, (r, n)
    assert abs(r["diff"] - m) < 1e-12 and abs(r["stderr"] - se) < 1e-12, (r, m, se)
    assert r["exceeds"] == (abs(m) > se)
' "$OUT" "$P/a" "$P/b"

expect "--no-samples imports without them" 0 llm-eval results import --no-samples --store "$T/u.sqlite" "$A" "$B"
out_lacks "per-document"
expect "then compare is unpaired" 0 llm-eval compare 1 2 --store "$T/u.sqlite" && out_has "unpaired" && \
	out_has "Unpaired rows use sqrt(se_A^2 + se_B^2)"
out_has "gsm8k     exact_match,strict-match      0.1667 ± 0.0692  0.2667 ± 0.0821  +0.1000  0.1074  +0.93  no       unpaired"

# A changed document is not paired: change doc 0's hash in a copy of run b.
mkdir -p "$T/b2"
d=$(basename "$B" .json | sed 's/^results_//')
python3 -c '
import json, sys
src, dst = sys.argv[1], sys.argv[2]
with open(dst, "w") as f:
    for line in open(src):
        o = json.loads(line)
        if o["doc_id"] == 0:
            o["doc_hash"] = "0" * 64
        f.write(json.dumps(o) + "\n")
' "$P/b/samples_arc_easy_$d.jsonl" "$T/b2/samples_arc_easy_$d.jsonl"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["date"]=1.0; json.dump(d, open(sys.argv[2], "w"))' "$B" "$T/b2/results_$d.json"
expect "import the changed run" 0 llm-eval results import "$T/b2/results_$d.json" && out_has "as run 3: org/model-b, 4 results, 80 per-document scores from 1 samples file"
expect "the changed document is left out" 0 llm-eval compare 1 3 && out_has "paired, 39 docs"
out_has "unpaired" # gsm8k: run 3 has no gsm8k samples

# A directory: every results file in it and one level down.
expect "import a directory" 0 llm-eval results import --store "$T/dir.sqlite" "$P" && \
	out_has "as run 1: org/model-a, 4 results, 140 per-document scores" && out_has "as run 2: org/model-b"
mkdir -p "$T/empty"
expect "a directory without results files" 6 llm-eval results import --store "$T/dir.sqlite" "$T/empty" && \
	err_has "no results_*.json in"
expect "report --output FILE.html writes HTML" 0 llm-eval report --store "$T/dir.sqlite" --output "$T/r.html"
check "it is HTML" grep -q "<!DOCTYPE html>" "$T/r.html"

# A bad samples line: a clear message, and the run is not stored.
mkdir -p "$T/bad"
cp "$A" "$T/bad/results_$d.json"
sed '3s/.*/{"doc_id": "three"}/' "$P/a/samples_gsm8k_$d.jsonl" >"$T/bad/samples_gsm8k_$d.jsonl"
expect "a bad samples line" 4 llm-eval results import --store "$T/bad.sqlite" "$T/bad/results_$d.json" && \
	err_has "error: $T/bad/samples_gsm8k_$d.jsonl:3:1: a sample needs an object with an integer \"doc_id\""
expect "nothing was stored" 0 llm-eval results list --store "$T/bad.sqlite" && out_has "no runs stored yet"
done_testing
