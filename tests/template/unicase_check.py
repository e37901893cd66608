#!/usr/bin/env python3
"""Unicode case mapping of llm-eval's templates against python3's own str
methods, for every code point: lower(), upper(), title(), capitalize() of
each character alone, and of strings where context matters (final sigma,
title case after cased and uncased characters, special casing). Rendered
through llm-eval's chat template driver (DRIVER --render FILE, JSON on
stdin) and jinja2, whose str methods are Python's.

Usage: unicase_check.py DRIVER TABLE_HEADER   (src/tasks/unicase_data.h)
Prints TAP; skips when python3's Unicode version differs from the tables'."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

import jinja2.sandbox

TEMPLATE = ("{% for m in messages %}{% for c in m.content %}"
            "{{ c.lower() }}\x01{{ c.upper() }}\x01{{ c.title() }}\x01{{ c.capitalize() }}\x02"
            "{% endfor %}{% endfor %}")
CONTEXT_TEMPLATE = ("{% for m in messages %}{{ m.content.lower() }}\x01{{ m.content.upper() }}\x01"
                    "{{ m.content.title() }}\x01{{ m.content.capitalize() }}\x01{{ m.content | upper }}\x01"
                    "{{ m.content | lower }}\x01{{ m.content | capitalize }}\x02{% endfor %}")
STRINGS = [
    "ΣΑΣ", "ΌΣΟΣ ΛΌΓΟΣ.", "Σ", "aΣ", "aΣb", "aΣ'", "a'Σ", "a\u0301Σ", "ΣΣ", "A.Σ.", "σς",
    "ǅungla ǆ ǈ", "İstanbul", "ﬁnance ﬂ ß straße", "ŉ", "ΐ", "the quick ǲ", "hello wORLD",
    "they're bill's", "ⅷ ⓐ", "𐐨𐐀", "ᾳ ᾼ ῳ", "ﬀ ﬃ", "Ǆ", "mIXed-case_words 123abc", "",
]


def render_ours(driver, tpl, msgs, tmp):
    path = os.path.join(tmp, "t.jinja")
    with open(path, "w", encoding="utf-8") as f:
        f.write(tpl)
    r = subprocess.run([driver, "--render", path], input=json.dumps({"messages": msgs}).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode:
        raise SystemExit("not ok - the driver failed: " + r.stderr.decode())
    return r.stdout.decode("utf-8", "surrogatepass")


def main():
    driver, header = sys.argv[1:3]
    version = re.search(r'LLE_UNICASE_UNICODE_VERSION "([^"]+)"', open(header).read()).group(1)
    if version != unicodedata.unidata_version:
        print(f"ok 1 # SKIP python3 has Unicode {unicodedata.unidata_version}, the tables {version}")
        return 0
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    # every code point but NUL (not in a JSON text llm-eval reads) and surrogates
    chars = "".join(chr(c) for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF)
    msgs = [{"role": "user", "content": chars[i:i + 65536]} for i in range(0, len(chars), 65536)]
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, tpl, ms) in enumerate((("every code point alone", TEMPLATE, msgs),
                                             ("strings in context", CONTEXT_TEMPLATE,
                                              [{"role": "user", "content": s} for s in STRINGS])), 1):
            if n == 1:  # what jinja2 would render, without its per-call sandbox cost
                want = "".join(c.lower() + "\x01" + c.upper() + "\x01" + c.title() + "\x01" + c.capitalize()
                               + "\x02" for m in ms for c in m["content"])
            else:
                want = env.from_string(tpl).render(messages=ms)
            got = render_ours(driver, tpl, ms, tmp)
            if got == want:
                print(f"ok {n} - {name}")
                continue
            failed += 1
            print(f"not ok {n} - {name}")
            sep = "\x02"
            src = [c for m in ms for c in m["content"]] if n == 1 else [m["content"] for m in ms]
            shown = 0
            for s, a, b in zip(src, got.split(sep), want.split(sep)):
                if a != b and shown < 10:
                    shown += 1
                    print(f"#   {s!r} (U+{ord(s[0]) if s else 0:04X}): llm-eval {a!r}, python {b!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
