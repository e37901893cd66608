"""A small client of the Chrome DevTools protocol over --remote-debugging-pipe,
for the viewer's browser tests (tests/cli/t067*-view-*.sh): headless Chromium
(Debian's `chromium`) started with two pipes, commands written to its fd 3 and
answers and events read from its fd 4, each a JSON text ended by a NUL byte.
No npm package, no websocket, no network: only the Python standard library.

    with Browser() as b:
        b.goto("http://127.0.0.1:PORT/")
        b.wait("document.querySelectorAll('#runs-body tr').length > 0")
        b.screenshot("runs.png")

Waits poll an expression until it is true, up to a limit (a limit, not a
measurement: the tests assert what the page shows, never how fast).
Console errors, uncaught exceptions and CSP reports are collected in
b.errors."""
import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time


class Error(Exception):
    pass


class Browser:
    def __init__(self, width=1280, height=900, limit=60.0):
        self.limit = limit
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            raise Error("chromium is not installed")
        self.profile = tempfile.mkdtemp(prefix="lle-chromium.")
        c_in, self.w = os.pipe()    # we write, chromium reads on fd 3
        self.r, c_out = os.pipe()   # chromium writes on fd 4, we read

        def child():
            # copies first: either pipe may already sit on fd 3 or 4, and
            # dup2 onto itself would keep it close-on-exec
            a, b = os.dup(c_in), os.dup(c_out)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--disable-dev-shm-usage", "--user-data-dir=" + self.profile,
                "--window-size=%d,%d" % (width, height), "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=child, close_fds=False,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.profile, "stderr.log"), "wb"))
        os.close(c_in)
        os.close(c_out)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.errors = []
        self.session = None
        tid = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        for m in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.call(m)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.session = None
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.w, self.r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Error("no answer from chromium")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 16)
                if not chunk:
                    raise Error("chromium closed its pipe (exit %s)" % self.proc.poll())
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def _event(self, m):
        method, p = m.get("method"), m.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.errors.append("exception: " + str(d.get("exception", {}).get("description") or d.get("text")))
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            self.errors.append("log (%s): %s %s" % (e.get("source"), e.get("text"), e.get("url", "")))
        self.events.append(m)

    def call(self, method, params=None, timeout=None):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.limit)
        while True:
            m = self._read_message(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise Error("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            if "method" in m:
                self._event(m)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise Error("%s: %s" % (expr, r["exceptionDetails"].get("exception", {}).get("description")))
        return r.get("result", {}).get("value")

    def goto(self, url):
        self.call("Page.navigate", {"url": url})
        self.wait("document.readyState === 'complete'")

    def wait(self, expr, what=None):
        deadline = time.monotonic() + self.limit
        last = None
        while time.monotonic() < deadline:
            try:
                if self.eval("!!(%s)" % expr):
                    return
            except Error as e:
                last = e
            time.sleep(0.05)
        raise Error("waited in vain for %s%s (page: %s)" % (what or expr, " (%s)" % last if last else "",
                                                           self.eval("document.getElementById('main') ? document.getElementById('main').innerText.slice(0, 300) : ''")))

    def click(self, selector):
        """A real mouse click in the middle of the element (scrolled into view)."""
        box = self.eval("(() => { const e = document.querySelector(%s); if (!e) return null;"
                        " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                        " return [r.x + r.width / 2, r.y + r.height / 2]; })()" % json.dumps(selector))
        if not box:
            raise Error("nothing matches " + selector)
        for t in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": t, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})

    KEYS = {"Enter": 13, "ArrowDown": 40, "ArrowUp": 38, "ArrowRight": 39, "ArrowLeft": 37, "Escape": 27}

    def key(self, key):
        """A key press as the keyboard sends it (keyDown with its text, keyUp)."""
        code = self.KEYS.get(key, ord(key.upper()) if len(key) == 1 else 0)
        down = {"type": "keyDown", "key": key, "windowsVirtualKeyCode": code}
        if len(key) == 1:
            down["text"] = key
        elif key == "Enter":
            down["text"] = "\r"
        self.call("Input.dispatchKeyEvent", down)
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "windowsVirtualKeyCode": code})

    def type(self, text):
        self.call("Input.insertText", {"text": text})

    def screenshot(self, path, full=True):
        params = {"format": "png"}
        if full:
            size = self.eval("[document.documentElement.scrollWidth, Math.min(document.documentElement.scrollHeight, 4000)]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
