#!/usr/bin/env python3
"""Chat templates rendered by llm-eval's template engine against python3's
jinja2 in the environment the transformers library renders chat templates in
(src/transformers/utils/chat_template_utils.py, _compile_jinja_template):
an ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the
loopcontrols extension and transformers' `{% generation %}` tag, a tojson
filter that is json.dumps(ensure_ascii=False, indent, separators, sort_keys),
and the globals raise_exception and strftime_now. The variables are those
of tokenizer.apply_chat_template: messages, add_generation_prompt,
bos_token, eos_token (plus tools/documents left undefined).

Templates: every tests/template/chat/*.jinja (our own corpus), the
tokenizer.chat_template* keys of every GGUF file named with --gguf, and
every *.jinja file named with --dir (llama.cpp's models/templates, taken
from its bundle at test time). Each template is rendered with every message
list below, with add_generation_prompt true and false. A case passes when
both engines render the same bytes, or both fail; a template jinja2 itself
cannot compile is skipped (it is not a template transformers could use).

Usage: chat_check.py DRIVER [--gguf FILE]... [--dir DIR]... [--verbose]
DRIVER renders: `DRIVER --render TEMPLATE_FILE` with the context as JSON on
stdin prints the text (exit 0) or an error (exit 2). One TAP line per
template; exit status 1 when any differs."""
import datetime
import json
import os
import struct
import subprocess
import sys
import tempfile

import jinja2
import jinja2.ext
import jinja2.sandbox
from jinja2 import nodes


class Generation(jinja2.ext.Extension):
    """transformers' AssistantTracker without the tracking: the body renders as is."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.datetime.now().strftime(fmt)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


SYSTEM = "You are a careful assistant. Answer with one letter."
Q1 = ("The following are multiple choice questions (with answers) about anatomy.\n\n"
      "What is the smallest bone?\nA. stapes\nB. femur\nC. ulna\nD. tibia\nAnswer:")
CONVERSATIONS = {
    "user": [{"role": "user", "content": Q1}],
    "system+user": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": Q1}],
    "multiturn": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "2+2?\nAnswer:"},
        {"role": "assistant", "content": " 4"},
        {"role": "user", "content": "  Ünïcode «quotes» \"and\" 'apostrophes'\t\n"},
        {"role": "assistant", "content": "<think>\nreasoning\n</think>\n\nB"},
        {"role": "user", "content": Q1},
    ],
    "no-system-multiturn": [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "second"},
        {"role": "user", "content": "third"},
    ],
}


# Templates llm-eval renders differently on purpose, with the reason; each
# must still differ (a fix shows up as a failure asking to remove it here).
DEVIATIONS = {
    "ByteDance-Seed-OSS.jinja": "a dict literal with integer keys: llm-eval's values are JSON, "
                                "whose keys are strings, so `dictsort` and `<=` see '512', not 512",
}


def gguf_templates(path):
    """The tokenizer.chat_template* string values of a GGUF file's header."""
    out = {}
    with open(path, "rb") as f:
        def u(fmt):
            return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))[0]

        def s():
            return f.read(u("Q")).decode("utf-8")
        if f.read(4) != b"GGUF":
            raise SystemExit(f"{path}: not a GGUF file")
        u("I")
        u("Q")
        nkv = u("Q")
        fixed = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
        for _ in range(nkv):
            key, t = s(), u("I")
            if t == 8:
                v = s()
                if key.startswith("tokenizer.chat_template"):
                    out[key] = v
            elif t == 9:
                et, n = u("I"), u("Q")
                if et == 8:
                    for _ in range(n):
                        s()
                else:
                    f.seek(n * struct.calcsize(fixed[et]), 1)
            else:
                u(fixed[t])
    return out


def ours(driver, path, ctx):
    r = subprocess.run([driver, "--render", path], input=json.dumps(ctx).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode == 0:
        return ("output", r.stdout.decode("utf-8", "replace"))
    if r.returncode == 2:
        return ("error", r.stderr.decode("utf-8", "replace").strip())
    return ("crash", f"exit {r.returncode}: {r.stderr.decode('utf-8', 'replace')}")


def theirs(tpl, ctx):
    try:
        return ("output", tpl.render(**ctx))
    except Exception as e:  # noqa: BLE001 - any failure is "fails"
        return ("error", f"{type(e).__name__}: {e}")


def main():
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    driver, rest = args[0], args[1:]
    verbose = "--verbose" in rest
    templates = []  # (name, source)
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chat")
    for fn in sorted(os.listdir(here)):
        if fn.endswith(".jinja"):
            with open(os.path.join(here, fn), encoding="utf-8") as f:
                templates.append((f"corpus/{fn}", f.read()))
    i = 0
    while i < len(rest):
        if rest[i] == "--gguf":
            for k, v in sorted(gguf_templates(rest[i + 1]).items()):
                templates.append((f"{os.path.basename(rest[i + 1])}:{k}", v))
            i += 2
        elif rest[i] == "--dir":
            for fn in sorted(os.listdir(rest[i + 1])):
                if fn.endswith(".jinja"):
                    with open(os.path.join(rest[i + 1], fn), encoding="utf-8") as f:
                        templates.append((fn, f.read()))
            i += 2
        else:
            i += 1
    env = environment()
    failed = skipped = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, src) in enumerate(templates, 1):
            try:
                tpl = env.from_string(src)
            except jinja2.exceptions.TemplateSyntaxError as e:
                print(f"ok {n} - {name} # SKIP jinja2 cannot compile it: {e}")
                skipped += 1
                continue
            path = os.path.join(tmp, "t.jinja")
            with open(path, "w", encoding="utf-8") as f:
                f.write(src)
            bad = []
            for cname, msgs in CONVERSATIONS.items():
                for agp in (True, False):
                    ctx = {"messages": msgs, "add_generation_prompt": agp,
                           "bos_token": "<s>", "eos_token": "</s>"}
                    a, b = ours(driver, path, ctx), theirs(tpl, ctx)
                    if a[0] != b[0] or (a[0] == "output" and a[1] != b[1]):
                        bad.append((cname, agp, a, b))
            if name in DEVIATIONS:
                if bad:
                    print(f"ok {n} - {name} # SKIP known deviation: {DEVIATIONS[name]}")
                else:
                    failed += 1
                    print(f"not ok {n} - {name}: listed as a deviation but renders as jinja2 does")
                continue
            if bad:
                failed += 1
                print(f"not ok {n} - {name}: {len(bad)} of {2 * len(CONVERSATIONS)} renderings differ")
                for cname, agp, a, b in bad[: (8 if verbose else 1)]:
                    print(f"# {cname}, add_generation_prompt={agp}")
                    print(f"#   llm-eval: {a[0]}: {a[1]!r}"[:2000])
                    print(f"#   jinja2:   {b[0]}: {b[1]!r}"[:2000])
            else:
                print(f"ok {n} - {name}")
    print(f"# {len(templates)} templates, {failed} differ, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
