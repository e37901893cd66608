#!/bin/sh
# `llm-eval view` as an HTTP server (docs/view.md), without a browser: it
# prints its URL; answers GET and HEAD only; refuses every path outside its
# page and its API (traversal, encoded traversal, a results file's own path),
# and a Host that is not its own; every answer carries the strict
# Content-Security-Policy; the API's pages of samples agree with the samples
# file read whole by Python (filters correct/incorrect, filter chain, text
# search, doc_id, paging), compare agrees with `compare --json` and its
# flipped documents with the two samples files; the live journals come from
# the cache; a non-loopback --host is warned about; --open hands the URL to
# xdg-open. Nothing is written: the
# store and the cache are byte-identical afterwards.
. "$(dirname "$0")/lib.sh"
FIX="$TOP/tests/fixtures/results/paired"

expect "import two runs with samples" 0 llm-eval results import "$FIX/a" "$FIX/b"
expect "a cache with a journal half done" 0 "$BUILD/bench/store-cache" fill "$T/cache.sqlite" 20 "tiny/demo_task @abc" 7

expect "usage: a bad port" 2 llm-eval view --port 70000
err_has "--port takes a number from 0 to 65535"
expect "usage: an argument" 2 llm-eval view extra
expect "usage: an unknown option" 2 llm-eval view --bogus

STORE="$XDG_DATA_HOME/llm-eval/runs.sqlite"
sha() { sha256sum "$STORE" "$T/cache.sqlite" | awk '{print $1}' | tr '\n' ' '; }
before=$(sha)

start_view() { # ARGS...: start the viewer, wait for its URL line; sets $VPID and $URL
	"$LLM_EVAL" view --port 0 --cache "$T/cache.sqlite" "$@" >"$T/view.out" 2>"$T/view.err" &
	VPID=$!
	i=0
	while ! grep -q "^llm-eval view: http" "$T/view.out" && [ $i -lt 600 ] && kill -0 $VPID 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	URL=$(sed -n 's/^llm-eval view: \(http[^ ]*\) .*/\1/p' "$T/view.out")
}
stop_view() { kill -TERM "$VPID" 2>/dev/null; wait "$VPID"; }

start_view
check "it prints its URL, on 127.0.0.1" sh -c "echo '$URL' | grep -Eq '^http://127\.0\.0\.1:[0-9]+/$'"
check "no warning on loopback" sh -c "! grep -q warning '$T/view.err'"

check "API and page answers" python3 - "$URL" "$FIX" "$LLM_EVAL" <<'EOF'
import glob, http.client, json, subprocess, sys, urllib.parse
url, fix, exe = sys.argv[1:4]
u = urllib.parse.urlsplit(url)
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

def req(path, method="GET", host=None, body=None):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    c.putrequest(method, path, skip_host=True)
    c.putheader("Host", host or u.netloc)
    if body is not None:
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body.encode() if body is not None else None)
    r = c.getresponse()
    data = r.read()
    c.close()
    assert r.getheader("Content-Security-Policy") == CSP, (path, r.getheader("Content-Security-Policy"))
    assert r.getheader("X-Content-Type-Options") == "nosniff", path
    return r.status, r.getheader("Content-Type"), data

def get(path):
    st, ct, data = req(path)
    assert st == 200, (path, st, data[:200])
    assert ct == "application/json", ct
    return json.loads(data)

# the page and its two files, and nothing else
st, ct, page = req("/")
assert st == 200 and ct.startswith("text/html") and b'<script src="/view.js"' in page, (st, ct)
assert b"http" not in page.replace(b"http-equiv", b""), "the page names no outside URL"
for p, t in (("/view.js", "text/javascript"), ("/view.css", "text/css")):
    st, ct, body = req(p)
    assert st == 200 and ct.startswith(t) and len(body) > 1000, (p, st, ct)
    assert b"innerHTML" not in body and b"outerHTML" not in body and b"insertAdjacentHTML" not in body, p
for bad in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/etc/passwd", "/index.html/../../x",
            "/api/../../etc/passwd", "/api/runs/1/../../../etc/passwd", "/api/runs/..%2f..%2fetc",
            "/api/runs/%2e%2e", "/api/runs/1/samples/../../etc/passwd", "/web/view.js", "/view.js/x",
            "/api/runs/1/samples?task=../../../../etc/passwd",
            "/api/runs/1/samples?task=" + urllib.parse.quote(glob.glob(fix + "/a/samples_arc*")[0]),
            "/api/runs/1/sample?task=arc_easy&line=99999"):
    st, ct, body = req(bad)
    assert st in (400, 404), (bad, st)
    assert b"root:" not in body and b"doc_hash" not in body, bad
# read-only: only GET and HEAD
for m in ("POST", "PUT", "DELETE", "PATCH"):
    st, _, _ = req("/api/runs", m, body="{}")
    assert st == 405, (m, st)
st, _, body = req("/api/runs", "HEAD")
assert st == 200 and body == b"", st
# a page of another origin (DNS rebinding) cannot read the API
st, _, _ = req("/api/runs", host="evil.example:%d" % u.port)
assert st == 403, st
st, _, _ = req("/api/runs", host="localhost:%d" % u.port)
assert st == 200, st

runs = get("/api/runs")["runs"]
assert [r["id"] for r in runs] == [2, 1] and runs[1]["model"] == "org/model-a", runs
assert runs[1]["tasks"] == ["arc_easy", "gsm8k"] and runs[1]["n_scores"] == 140, runs[1]
run = get("/api/runs/1")
assert sorted(run["samples"]) == ["arc_easy", "gsm8k"], run["samples"]
acc = [x for x in run["results"] if x["task"] == "arc_easy" and x["metric"] == "acc"][0]
assert acc["value"] == 0.55 and abs(acc["stderr"] - 0.07966275068156915) < 1e-15, acc
assert run["config"]["n-shot"]["gsm8k"] == 5, run["config"]
assert get("/api/runs/last")["id"] == 2

# samples pages against the file read whole
def lines(task, run="a"):
    return [json.loads(l) for l in open(glob.glob("%s/%s/samples_%s_*.jsonl" % (fix, run, task))[0])]
arc = lines("arc_easy")
def page(q):
    return get("/api/runs/1/samples?" + urllib.parse.urlencode(q))
p = page({"task": "arc_easy"})
assert p["total"] == len(arc) == p["matched"] and p["metric"] == "acc" and p["metrics"] == ["acc", "acc_norm"], p
assert [s["doc_id"] for s in p["samples"]] == [l["doc_id"] for l in arc]
for want, res in ((1, "correct"), (0, "incorrect")):
    docs = [l["doc_id"] for l in arc if (l["acc"] > 0) == bool(want)]
    got, off = [], 0
    while True:  # paged, 7 at a time
        q = page({"task": "arc_easy", "result": res, "offset": off, "limit": 7})
        assert q["matched"] == len(docs), (res, q["matched"], len(docs))
        got += [s["doc_id"] for s in q["samples"]]
        off += 7
        if off >= q["matched"]:
            break
    assert got == docs, (res, got, docs)
    byn = page({"task": "arc_easy", "result": res, "metric": "acc_norm", "limit": 500})
    assert [s["doc_id"] for s in byn["samples"]] == [l["doc_id"] for l in arc if (l["acc_norm"] > 0) == bool(want)]
gsm = lines("gsm8k")
for f in ("strict-match", "flexible-extract"):
    q = page({"task": "gsm8k", "filter": f, "result": "incorrect", "limit": 500})
    want = [l["doc_id"] for l in gsm if l["filter"] == f and l["exact_match"] == 0]
    assert [s["doc_id"] for s in q["samples"]] == want and all(s["filter"] == f for s in q["samples"]), f
# text search: what the documents say, case aside, including quotes and newlines
needle = arc[13]["doc"]["question"]
q = page({"task": "arc_easy", "q": needle.upper()})
assert [s["doc_id"] for s in q["samples"]] == [l["doc_id"] for l in arc if needle.lower() in json.dumps(l).lower()], q
q = page({"task": "arc_easy", "q": "?\nAnswer:"})
assert q["matched"] == len(arc), q["matched"]
assert page({"task": "arc_easy", "q": "no such text anywhere"})["matched"] == 0
one = page({"task": "gsm8k", "doc_id": 3, "filter": "flexible-extract"})
assert one["matched"] == 1 and one["samples"][0]["doc_id"] == 3
full = get("/api/runs/1/sample?task=gsm8k&line=%d" % one["samples"][0]["line"])
assert full["doc"] == [l for l in gsm if l["doc_id"] == 3 and l["filter"] == "flexible-extract"][0]["doc"]
for bad in ({"task": "arc_easy", "result": "maybe"}, {"task": "arc_easy", "limit": "100000"},
            {"task": "arc_easy", "metric": "nope"}, {"task": "arc_easy", "filter": "nope"}, {"task": "nope"}, {}):
    st, _, body = req("/api/runs/1/samples?" + urllib.parse.urlencode(bad))
    assert st in (400, 404) and json.loads(body)["error"], (bad, st, body)

# compare: the command's numbers, and the documents whose score flipped
c = get("/api/compare?a=1&b=2")
cli = json.loads(subprocess.run([exe, "compare", "1", "2", "--json"], capture_output=True, check=True).stdout)
assert c["compare"] == cli, "compare differs from `compare --json`"
flips = []
arcb, gsmb = lines("arc_easy", "b"), lines("gsm8k", "b")
for la, lb in ((arc, arcb), (gsm, gsmb)):
    for x in la:
        y = [l for l in lb if l["doc_id"] == x["doc_id"] and l["filter"] == x["filter"]][0]
        for m in x["metrics"]:
            if x[m] != y[m]:
                flips.append((x["doc"].get("id", ""), m, x["filter"], x["doc_id"]))
assert c["n_flipped"] == len(flips) > 0, (c["n_flipped"], len(flips))
assert sorted((f["metric"], f["filter"], f["doc_id"]) for f in c["flipped"]) == sorted(f[1:] for f in flips)

live = get("/api/live")["journals"]
assert len(live) == 1 and live[0]["name"] == "tiny/demo_task @abc" and live[0]["done"] == 7 and live[0]["total"] == 20, live
assert live[0]["state"] == "running"
rep = get("/api/report")
assert [m["model"] for m in rep["models"]] == ["org/model-a", "org/model-b"], rep
EOF
stop_view
check "it stops cleanly on SIGTERM" sh -c "[ \$(cat '$T/view.out' | wc -l) -eq 1 ]"
check "nothing was written to the store or the cache" sh -c "[ '$(sha)' = '$before' ]"

start_view --host 0.0.0.0
check "a non-loopback address is warned about" grep -q "warning: serving on 0.0.0.0, which is not a loopback address" "$T/view.err"
stop_view

# --open hands the URL to xdg-open (a stand-in here that writes it down)
mkdir "$T/bin"
printf '#!/bin/sh\necho "$@" >"%s/opened"\n' "$T" >"$T/bin/xdg-open"
chmod +x "$T/bin/xdg-open"
PATH="$T/bin:$PATH" start_view --open
i=0
while [ ! -s "$T/opened" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check "--open opens the printed URL" sh -c "[ \"\$(cat '$T/opened')\" = '$URL' ]"
stop_view

# the store need not exist: no runs, no error
start_view --store "$T/none/runs.sqlite"
check "no store yet: an empty list" python3 -c '
import json, sys, urllib.request
assert json.load(urllib.request.urlopen(sys.argv[1] + "api/runs")) == {"runs": []}
' "$URL"
check "no store is created" sh -c "[ ! -e '$T/none' ]"
stop_view
done_testing
