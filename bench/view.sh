#!/bin/sh
# The viewer on a big run: one task of 14,042 MMLU-sized samples (5-shot
# prompts of about 2.5 KB, four requests each, as llm-eval's samples files
# hold them: about 150 MB), stored as a run with its per-document scores.
# Measured through `llm-eval view` itself, from the Server-Timing header
# (the wall and CPU milliseconds the server spent on an answer; medians over
# REPS fresh servers for the cold numbers):
#   - the samples page's first screen, cold: a server just started, so the
#     file is indexed on the way (GET /api/runs/ID + the first page of 50);
#   - the same warm (index kept), and filtered to the incorrect documents;
#   - a text search over the whole file;
#   - the server's peak resident memory (VmHWM) after all of that;
# against a baseline in the same invocation: the same first page by parsing
# the whole file with Python's json (what a viewer that loads the file does).
#   bench/view.sh [DOCS [REPS]]     (default 14042 5)
. "$(dirname "$0")/lib.inc"
DOCS=${1:-14042}
REPS=${2:-5}
export XDG_DATA_HOME="$B/data"

python3 - "$B/run" "$DOCS" <<'EOF'
import json, os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
rng = random.Random(7)
words = "the of a which following is are most likely answer best describes statement true false cell energy law".split()
def text(k):
    return " ".join(rng.choice(words) for _ in range(k))
shots = "".join("%s?\nA. %s\nB. %s\nC. %s\nD. %s\nAnswer: %s\n\n" % (text(40), text(8), text(8), text(8), text(8), "ABCD"[i % 4]) for i in range(5))
accs = []
with open(d + "/samples_mmlu_all_2026-01-01T00-00-00.jsonl", "w") as f:
    for i in range(n):
        q = text(35) + "?"
        ch = [text(7) for _ in range(4)]
        prompt = "The following are multiple choice questions (with answers).\n\n" + shots + "%s\nA. %s\nB. %s\nC. %s\nD. %s\nAnswer:" % (q, *ch)
        lls = [-rng.random() * 5 for _ in range(4)]
        tgt = i % 4
        acc = float(max(range(4), key=lambda j: lls[j]) == tgt)
        accs.append(acc)
        f.write(json.dumps({"doc_id": i, "doc": {"question": q, "subject": "x", "choices": ch, "answer": tgt},
                            "target": tgt, "arguments": [[prompt, " " + "ABCD"[j]] for j in range(4)],
                            "resps": [[[l, False]] for l in lls], "filtered_resps": [[l, False] for l in lls],
                            "filter": "none", "acc": acc, "metrics": ["acc"], "doc_hash": "%064x" % i,
                            "prompt_hash": "%064x" % i, "target_hash": "%064x" % tgt}, separators=(",", ":")) + "\n")
m = sum(accs) / n
se = (sum((a - m) ** 2 for a in accs) / (n - 1) / n) ** 0.5
json.dump({"results": {"mmlu_all": {"alias": "mmlu_all", "acc,none": m, "acc_stderr,none": se}},
           "group_subtasks": {"mmlu_all": []}, "configs": {"mmlu_all": {"task": "mmlu_all", "num_fewshot": 5}},
           "versions": {"mmlu_all": 1}, "n-shot": {"mmlu_all": 5}, "higher_is_better": {"mmlu_all": {"acc": True}},
           "n-samples": {"mmlu_all": {"original": n, "effective": n}}, "model_name": "bench-model",
           "config": {"model": "hf", "model_args": "pretrained=bench-model"}, "date": 1767225600},
          open(d + "/results_2026-01-01T00-00-00.json", "w"))
EOF
"$LLM_EVAL" results import "$B/run" >/dev/null || exit 1
SIZE=$(du -m "$B/run/samples_mmlu_all_2026-01-01T00-00-00.jsonl" | cut -f1)
echo "view: one task of $DOCS samples ($SIZE MB), $REPS fresh servers"

python3 - "$LLM_EVAL" "$B/run/samples_mmlu_all_2026-01-01T00-00-00.jsonl" "$REPS" <<'EOF'
import http.client, json, statistics, subprocess, sys, time
exe, path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])

def start():
    p = subprocess.Popen([exe, "view", "--port", "0"], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    return p, line.split()[2].rstrip("/").split("//")[1].split(":")

def get(addr, path):
    c = http.client.HTTPConnection(addr[0], int(addr[1]), timeout=120)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    assert r.status == 200, (path, r.status, body[:200])
    st = r.getheader("Server-Timing")  # app;dur=WALL, cpu;dur=CPU
    ms = float(st.split("dur=")[1].split(",")[0])
    cpu_ms.append(float(st.split("dur=")[2]))
    c.close()
    return ms, json.loads(body)

cpu_ms = []

first = "/api/runs/1/samples?task=mmlu_all&offset=0&limit=50"
wrong = "/api/runs/1/samples?task=mmlu_all&result=incorrect&offset=0&limit=50"
cold, warm, bad, search, rss, cold_cpu = [], [], [], [], [], []
for i in range(reps):
    p, addr = start()
    a, _ = get(addr, "/api/runs/1")
    b, page = get(addr, first)
    assert len(page["samples"]) == 50 and page["total"] > 0
    cold.append(a + b)
    cold_cpu.append(cpu_ms[-1] + cpu_ms[-2])
    for _ in range(5):
        warm.append(get(addr, "/api/runs/1")[0] + get(addr, first)[0])
        bad.append(get(addr, wrong)[0])
    search.append(get(addr, "/api/runs/1/samples?task=mmlu_all&q=energy+law+cell+the&limit=50")[0])
    rss.append(int([l for l in open("/proc/%d/status" % p.pid) if l.startswith("VmHWM")][0].split()[1]))
    p.terminate()
    p.wait()

# baseline: what a viewer that loads the file does for the same first page
base = []
for i in range(reps):
    t = time.perf_counter()
    lines = [json.loads(l) for l in open(path)]
    pg = lines[:50]
    base.append((time.perf_counter() - t) * 1000)
    del lines, pg

med = statistics.median
print("  samples page, first screen, cold (index built):  %8.1f ms   (limit 300 ms)" % med(cold))
print("  the same, the server's CPU time:                 %8.1f ms   (what the load of other processes does not inflate)" % med(cold_cpu))
print("  samples page, first screen, warm:                %8.1f ms" % med(warm))
print("  first screen filtered to incorrect, warm:        %8.1f ms" % med(bad))
print("  text search over every sample:                   %8.1f ms" % med(search))
print("  server peak resident memory:                     %8.1f MB   (limit 50 MB)" % (max(rss) / 1024))
print("  baseline, parsing the whole file (python json):  %8.1f ms   = %.1fx the cold first screen" % (med(base), med(base) / med(cold)))
EOF
