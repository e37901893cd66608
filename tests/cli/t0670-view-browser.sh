#!/bin/sh
# The viewer's page in a real browser: headless Chromium (Debian's `chromium`)
# driven over the DevTools protocol (tests/browser/cdp.py, standard library
# only) against `llm-eval view` serving a real llm-eval run of the tiny model
# (3-shot, --log-samples), two lm-evaluation-harness runs with samples, a run
# whose every text is hostile markup, and a run journal in progress. As a user
# would: open the runs list (searchable, charts), open a run (metrics with
# standard errors, configs, versions), open a task's samples, filter to the
# incorrect ones, step with the keyboard and open a sample (prompt with the
# few-shot part folded, target, answers, scores), compare two runs and open a
# flipped document, watch a live run advance without a reload. The hostile
# run's <script>, <img onerror> and javascript: links must show as text and
# never run. No console error, exception or CSP report anywhere. Screenshots of
# each step are kept in $LLE_KEEP_SCREENSHOTS (a directory) when set.
# Without chromium the browser part is skipped (tools/install-deps.sh installs it).
. "$(dirname "$0")/lib.sh"
FIX="$TOP/tests/fixtures/results/paired"

if ! command -v chromium >/dev/null 2>&1; then
	echo "ok - view in a browser # skip chromium is not installed (tools/install-deps.sh installs it)"
	done_testing
	exit $?
fi

expect "a real run of the tiny model, 3-shot, with samples" 0 llm-eval --include-path "$TOP/examples/demo" run \
	--data-dir "$TOP/examples/demo/data" --model-path "$BUILD/models/tiny.gguf" --tasks demo_arith_mc --limit 12 \
	--output "$T/out" --log-samples --threads 1
expect "import two harness runs with samples" 0 llm-eval results import "$FIX/a" "$FIX/b"

# A run whose model name, documents, prompts, targets and answers are markup.
mkdir "$T/evil"
python3 - "$T/evil" <<'EOF'
import json, sys
d = sys.argv[1]
P = ['<script>window.__xss = 1</script>', '<img src=x onerror="window.__xss = 2">',
     '<a href="javascript:window.__xss = 3">click me</a>', 'javascript:window.__xss = 4',
     '<svg onload="window.__xss = 5"></svg>', '"><iframe src="javascript:window.__xss=6">']
bad = " ".join(P)
res = {"results": {"xss_task": {"alias": "xss_task", "acc,none": 0.5, "acc_stderr,none": 0.1}},
       "group_subtasks": {"xss_task": []},
       "configs": {"xss_task": {"task": "xss_task", "description": bad, "num_fewshot": 1}},
       "versions": {"xss_task": bad}, "n-shot": {"xss_task": 1},
       "higher_is_better": {"xss_task": {"acc": True}}, "n-samples": {"xss_task": {"original": 2, "effective": 2}},
       "config": {"model": "hf", "model_args": "pretrained=" + P[1]}, "model_name": P[1] + P[0],
       "date": 1767000000, "total_evaluation_time_seconds": "3.0"}
json.dump(res, open(d + "/results_2026-01-03T00-00-00.json", "w"))
with open(d + "/samples_xss_task_2026-01-03T00-00-00.jsonl", "w") as f:
    for i in range(2):
        f.write(json.dumps({"doc_id": i, "doc": {"q": bad, "i": i}, "target": bad,
                            "arguments": [["Example: " + P[2] + "\n\nQuestion: " + bad, " " + P[3]]],
                            "resps": [[[-1.0, False]]], "filtered_resps": [bad], "filter": "none",
                            "metrics": ["acc"], "acc": i % 2, "doc_hash": "h%d" % i}) + "\n")
EOF
expect "import the hostile run" 0 llm-eval results import "$T/evil"
expect "a run journal in progress: 10 of 40 done" 0 "$BUILD/bench/store-cache" fill "$XDG_CACHE_HOME/llm-eval/cache.sqlite" 40 "tiny/demo_live @abc" 10

"$LLM_EVAL" view --port 0 >"$T/view.out" 2>"$T/view.err" &
VPID=$!
i=0
while ! grep -q '^llm-eval view: http' "$T/view.out" && [ $i -lt 600 ] && kill -0 $VPID 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
URL=$(sed -n 's/^llm-eval view: \(http[^ ]*\) .*/\1/p' "$T/view.out")
mkdir "$T/shots"

check "the page, step by step, in Chromium" env PYTHONPATH="$TOP/tests/browser" python3 - "$URL" "$T/shots" \
	"$T/out" "$FIX" "$XDG_CACHE_HOME/llm-eval/cache.sqlite" <<'EOF'
import glob, json, sqlite3, sys
from cdp import Browser
url, shots, out, fix, cache = sys.argv[1:6]
mine = [json.loads(l) for l in open(glob.glob(out + "/tiny/samples_demo_arith_mc_*.jsonl")[0])]
res = json.load(open(glob.glob(out + "/tiny/results_*.json")[0]))

def text(sel):
    return b.eval("(document.querySelector(%s) || {}).textContent || ''" % json.dumps(sel))

def count(sel):
    return b.eval("document.querySelectorAll(%s).length" % json.dumps(sel))

with Browser(width=1300, height=900) as b:
    # 1. the runs list: four runs, searchable, a chart per task and category
    b.goto(url)
    b.wait("document.querySelectorAll('#runs-body tr').length === 4", "four runs")
    assert count("#charts svg") >= 4, count("#charts svg")
    b.screenshot(shots + "/1-runs.png")
    b.click("#run-search")
    b.type("model-b")
    b.wait("[...document.querySelectorAll('#runs-body tr')].filter(r => !r.hidden).length === 1", "search keeps one run")
    b.eval("document.getElementById('run-search').value = ''; document.getElementById('run-search').dispatchEvent(new Event('input'))")

    # 2. a run: the tiny model's, with every metric and its standard error
    tiny = b.eval("[...document.querySelectorAll('#runs-body tr')].findIndex(r => r.textContent.includes('tiny')) + 1")
    b.click("#runs-body tr:nth-child(%d) td:nth-child(4) a" % tiny)
    b.wait("document.querySelector('#results-body')", "the run page")
    r = res["results"]["demo_arith_mc"]
    body = text("#results-body")
    for m in ("acc", "acc_norm"):
        want = "%.4f ± %.4f" % (r[m + ",none"], r[m + "_stderr,none"])
        assert want in body, (want, body)
    assert "demo_arith_mc" in text("#configs") and "llm_eval_version" in text("#versions")
    b.screenshot(shots + "/2-run.png")

    # 3. its samples, then only the incorrect ones
    b.click("#results-body a")
    b.wait("document.querySelectorAll('#samples-body tr').length === %d" % len(mine), "every sample")
    b.eval("const s = document.getElementById('result-select'); s.value = 'incorrect'; s.dispatchEvent(new Event('change'))")
    wrong = [l["doc_id"] for l in mine if l["acc"] == 0]
    b.wait("document.querySelectorAll('#samples-body tr').length === %d && location.hash.includes('incorrect')" % len(wrong),
           "%d incorrect samples" % len(wrong))
    shown = b.eval("[...document.querySelectorAll('#samples-body tr td:first-child')].map(t => Number(t.textContent))")
    assert shown == wrong, (shown, wrong)
    assert ("of %d matching" % len(wrong)) in text("#sample-count")
    b.key("j")
    b.key("j")
    b.screenshot(shots + "/3-samples-incorrect.png")

    # 4. the second one opened from the keyboard, then the next with 'n'
    b.key("Enter")
    b.wait("document.getElementById('prompt')", "the sample page")
    want = [l for l in mine if l["doc_id"] == wrong[1]][0]
    assert text("#target") == str(want["target"]), (text("#target"), want["target"])
    prompt = want["arguments"][0][0]
    cut = prompt.rindex("\n\n") + 2
    assert text("#prompt-rest") == prompt[cut:], text("#prompt-rest")
    assert b.eval("!document.getElementById('fewshot').open"), "the few-shot part starts folded"
    assert b.eval("document.querySelector('#fewshot pre').textContent") == prompt[:cut]
    assert count("#requests tbody tr") == len(want["arguments"])
    b.click("#fewshot summary")
    b.wait("document.getElementById('fewshot').open")
    b.screenshot(shots + "/4-sample.png")
    b.key("n")
    b.wait("document.title.includes('doc %d ')" % wrong[2], "the next incorrect document")
    b.key("u")
    b.wait("document.querySelectorAll('#samples-body tr').length === %d" % len(wrong), "back to the list")

    # 5. compare the two harness runs; open a flipped document in B
    ids = b.eval("fetch('/api/runs').then(r => r.json()).then(j => j.runs.filter(r => r.model.startsWith('org/')).map(r => r.id))")
    a_id, b_id = sorted(ids)
    b.goto(url + "#/compare/%d/%d" % (a_id, b_id))
    b.wait("document.querySelectorAll('#compare-body tr').length === 4", "four compared metrics")
    n_flips = count("#flips-body tr")
    assert n_flips > 0
    first = b.eval("[...document.querySelector('#flips-body tr').children].slice(0, 4).map(t => t.textContent)")
    b.screenshot(shots + "/5-compare.png")
    b.click("#flips-body tr:first-child td:last-child a:last-child")
    b.wait("document.getElementById('prompt') && document.title.includes('doc %s ')" % first[3], "the flipped document in B")
    assert ("run #%d" % b_id) in b.eval("document.title")
    b.screenshot(shots + "/6-flipped-doc.png")

    # 6. live: the journal advances while the page stays (no reload)
    b.goto(url + "#/live")
    b.wait("[...document.querySelectorAll('.live-row')].some(r => r.textContent.includes('tiny/demo_live') && r.dataset.done === '10')", "10 done")
    b.eval("window.__same_page = 1")
    db = sqlite3.connect(cache)
    db.execute("UPDATE jreqs SET done = 1 WHERE idx < 30 AND run = (SELECT id FROM jruns WHERE name = 'tiny/demo_live @abc')")
    db.commit()
    db.close()
    b.wait("[...document.querySelectorAll('.live-row')].some(r => r.textContent.includes('tiny/demo_live') && r.dataset.done === '30')", "30 done")
    assert b.eval("window.__same_page === 1"), "the page was reloaded"
    assert "30 / 40 (75.0%)" in text("#live-body")
    b.screenshot(shots + "/7-live.png")

    # 7. hostile content: shown as text, never run
    seen = ""
    evil = b.eval("fetch('/api/runs').then(r => r.json()).then(j => j.runs.find(r => r.tasks.includes('xss_task')).id)")
    for route in ("#/", "#/run/%d" % evil, "#/run/%d/samples/xss_task" % evil, "#/run/%d/sample/xss_task/0" % evil,
                  "#/compare/%d/%d" % (evil, evil)):
        b.eval("document.getElementById('main').replaceChildren()")  # so the wait sees the new page
        b.goto(url + route)
        b.wait("document.querySelector('main h1')")
        if "sample/" in route:
            b.click("#fewshot summary")
            b.screenshot(shots + "/8-xss-sample.png")
        elif route.endswith("samples/xss_task"):
            b.screenshot(shots + "/8-xss-samples.png")
        seen += b.eval("document.querySelector('main').textContent")
        assert b.eval("window.__xss === undefined"), (route, b.eval("window.__xss"))
        assert count("main img, main script, main iframe, main svg[onload], main [onerror], main [onload]") == 0, route
        assert b.eval("[...document.querySelectorAll('a')].every(a => a.getAttribute('href').startsWith('#') || a.getAttribute('href').startsWith('/'))"), route
    for p in ('<script>window.__xss = 1</script>', '<img src=x onerror="window.__xss = 2">', 'javascript:window.__xss = 4'):
        assert p in seen, p
    b.goto(url + "#/run/%d" % evil)
    b.wait("document.querySelector('#results-body')")
    assert '<img src=x onerror="window.__xss = 2"><script>window.__xss = 1</script>' in b.eval("document.title")
    errs = [e for e in b.errors if "favicon" not in e]
    assert not errs, errs
print("ok")
EOF
kill -TERM $VPID
wait $VPID
[ -z "${LLE_KEEP_SCREENSHOTS:-}" ] || { mkdir -p "$LLE_KEEP_SCREENSHOTS" && cp "$T/shots/"*.png "$LLE_KEEP_SCREENSHOTS/"; }
check "screenshots are PNG files" sh -c "for f in '$T/shots/'*.png; do head -c 8 \"\$f\" | od -An -c | grep -q 'P   N   G' || exit 1; done; ls '$T/shots' | grep -c png | grep -qx 9"
done_testing
