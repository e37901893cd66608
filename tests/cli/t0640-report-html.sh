#!/bin/sh
# The HTML report: one self-contained file (no scripts, no external fonts,
# styles or images), opened in headless Chromium, which must log no console
# error and whose DOM must show every model and every task; a screenshot is
# taken (kept in $LLE_KEEP_SCREENSHOT when set, to look at). A page with a
# deliberate script error first shows that the console check can fail.
# Without Chromium (Debian's `chromium`) the browser checks are skipped.
. "$(dirname "$0")/lib.sh"
FIX="$TOP/tests/fixtures/results"

expect "import" 0 llm-eval results import "$FIX/llmeval_qwen2.5-0.5b.json" \
	"$FIX/lmeval-old_pythia-410m.json" "$FIX/lmeval_pythia-160m.json"
# A model name that must be escaped, not interpreted.
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["model_name"] = "<b>bold</b> & \"q\""
json.dump(d, open(sys.argv[2], "w"))
' "$FIX/llmeval_qwen2.5-0.5b.json" "$T/evil.json"
expect "import a model with markup in its name" 0 llm-eval results import "$T/evil.json"
expect "html report" 0 llm-eval report --subtasks --format html --output "$T/report.html"
expect "json of the same report" 0 llm-eval report --subtasks --format json --output "$T/report.json"
check "self-contained: no script, link, import, url() or external source" python3 -c '
import re, sys
h = open(sys.argv[1], encoding="utf-8").read()
assert h.startswith("<!DOCTYPE html>") and h.rstrip().endswith("</html>")
for bad in ("<script", "<link", "@import", "url(", " src=", "<img", "<iframe", "@font-face"):
    assert bad not in h.lower(), bad
# The only URL is the SVG namespace, which is never fetched.
assert set(re.findall(r"https?://[^\"\x27 >]+", h)) <= {"http://www.w3.org/2000/svg"}
assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot;" in h and "<b>bold</b>" not in h
' "$T/report.html"

if ! command -v chromium >/dev/null 2>&1; then
	echo "ok - chromium checks # skip chromium is not installed (tools/install-deps.sh installs it)"
	done_testing
	exit $?
fi

browse() { # OUTFILE LOGFILE ARGS...: run headless Chromium on a file
	out=$1 log=$2
	shift 2
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --no-first-run --disable-sync --user-data-dir="$(mktemp -d "$T/chr.XXXXXX")" \
		--enable-logging=stderr --v=0 "$@" >"$out" 2>"$log"
}
console_errors() { grep -E 'Uncaught|CONSOLE\([0-9]+\)|INFO:CONSOLE|ERROR:CONSOLE' "$1"; }

printf '<!DOCTYPE html><html><body><p>x</p><script>notDefined();</script></body></html>\n' >"$T/bad.html"
check "control: chromium runs on a page with a script error" browse "$T/bad.dom" "$T/bad.log" --dump-dom "file://$T/bad.html"
check "control: its console error is seen" sh -c "grep -q 'Uncaught ReferenceError' '$T/bad.log'"

check "chromium loads the report" browse "$T/report.dom" "$T/report.log" --dump-dom "file://$T/report.html"
if console_errors "$T/report.log" >"$T/console.txt"; then
	echo "not ok - no console errors"
	sed 's/^/#   /' "$T/console.txt" | head -n 5
	n_failed=$((n_failed + 1))
else
	echo "ok - no console errors"
fi
check "the DOM shows every model and every task, a chart per task and category" python3 -c '
import json, sys
from html.parser import HTMLParser
rep = json.load(open(sys.argv[2]))
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.text = []; self.svgs = 0; self.bars = 0
    def handle_starttag(self, tag, attrs):
        self.svgs += tag == "svg"; self.bars += tag == "rect"
    def handle_data(self, d): self.text.append(d)
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
text = "".join(p.text)
for m in rep["models"]:
    assert m["model"] in text, "model missing: " + m["model"]
for t in rep["tasks"]:
    assert t["task"] in text, "task missing: " + t["task"]
assert p.svgs == len(rep["tasks"]) + len(rep["categories"]), (p.svgs, len(rep["tasks"]), len(rep["categories"]))
scored = sum(1 for m in rep["models"] for t in rep["tasks"] if m["scores"][t["task"]] is not None)
cats = sum(1 for m in rep["models"] for c in rep["categories"] if m["categories"][c] is not None)
assert p.bars == scored + cats, (p.bars, scored, cats)
' "$T/report.dom" "$T/report.json"
check "chromium takes a screenshot" browse "$T/shot.out" "$T/shot.log" --window-size=1200,2400 \
	--screenshot="$T/report.png" "file://$T/report.html"
check "the screenshot is a 1200x2400 PNG" python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read(32)
assert b[:8] == b"\x89PNG\r\n\x1a\n", b[:8]
assert struct.unpack(">II", b[16:24]) == (1200, 2400), struct.unpack(">II", b[16:24])
' "$T/report.png"
[ -z "${LLE_KEEP_SCREENSHOT:-}" ] || cp "$T/report.png" "$LLE_KEEP_SCREENSHOT"
done_testing
