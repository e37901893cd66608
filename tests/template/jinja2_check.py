#!/usr/bin/env python3
"""Check tests/template/template.test against Jinja2, the oracle llm-eval's
template engine follows (tests/unit/test_template.c checks llm-eval against
the same file, so the two agree case by case).

Jinja2 is configured as lm-evaluation-harness configures it (docs/tasks.md,
"Templates"): StrictUndefined, keep_trailing_newline, no autoescape, and its
regex_replace filter (re.sub). Prints one TAP line per case; exit status 1
when any case disagrees. Usage: jinja2_check.py [FILE]"""
import json
import re
import sys

import jinja2


def regex_replace(string, pattern, repl, count=0):
    return re.sub(pattern, repl, string, count=count)


def environment():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["regex_replace"] = regex_replace
    return env


def load(path):
    """Blocks of the file, as dicts of section -> text, plus 'name' and 'line'."""
    blocks, cur, section, lines = [], None, None, []

    def close():
        if cur is not None and section is not None:
            if section in cur:
                raise SystemExit(f"{path}: block '{cur['name']}': repeated section '{section}'")
            cur[section] = "\n".join(lines)

    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f.read().split("\n"), 1):
            if line.startswith("=== ") or line.startswith("--- "):
                close()
                lines = []
                if line.startswith("=== "):
                    cur = {"name": line[4:], "line": n}
                    blocks.append(cur)
                    section = None
                else:
                    section = line[4:]
            elif section is not None:
                lines.append(line)
    # the file's last newline ends the last line; it is not a blank line
    if lines and lines[-1] == "":
        lines.pop()
    close()
    return blocks


def jinja2_result(env, case, contexts):
    """('output', text), ('compile', exception name) or ('render', exception name)."""
    try:
        tpl = env.from_string(case["template"])
    except jinja2.TemplateSyntaxError as e:
        return ("compile", type(e).__name__)
    ctx = case.get("context", "{}")
    ctx = json.loads(contexts[ctx] if ctx.startswith("@") else ctx)
    try:
        return ("output", tpl.render(**ctx))
    except Exception as e:  # noqa: BLE001 - any failure of jinja2 is the result
        return ("render", type(e).__name__)


def expected(case):
    if "output" in case:
        return ("output", case["output"])
    if "compile-error" in case:
        return ("compile", None)
    return ("render", None)


def describe(res):
    return repr(res[1]) if res[0] == "output" else f"raises {res[1]} when {res[0][:-1]}ing" if res[0] == "compile" else f"raises {res[1]} when rendering"


def version(text):
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/template/template.test"
    blocks = load(path)
    contexts = {b["name"]: b["context"] for b in blocks if b["name"].startswith("@")}
    env = environment()
    failed = 0
    for case in blocks:
        if case["name"].startswith("@"):
            continue
        since = case.get("jinja2-since")
        if since and version(jinja2.__version__) < version(since):
            print(f"ok - {case['name']} # skip jinja2 {jinja2.__version__} is older than {since}")
            continue
        try:
            got = jinja2_result(env, case, contexts)
        except (KeyError, ValueError) as e:  # the file's own mistake: a bad context
            failed += 1
            print(f"not ok - {path}:{case['line']}: {case['name']}")
            print(f"#   bad context: {e}")
            continue
        want = expected(case)
        agrees = got[0] == want[0] and (want[0] != "output" or got[1] == want[1])
        where = f"{path}:{case['line']}: {case['name']}"
        if "deviation" in case:
            # a marked deviation must still differ, and differ as recorded
            if "jinja2" not in case:
                problem = "a deviation without a 'jinja2' section"
            elif agrees:
                problem = "marked as a deviation, but jinja2 agrees: remove the mark"
            else:
                rec = case["jinja2"]
                shown = f"raises {got[1]}" if got[0] != "output" else got[1]
                problem = None if rec == shown else f"jinja2 gives {shown!r}, the file says {rec!r}"
        else:
            problem = None if agrees else f"jinja2 {describe(got)}, the file expects {describe(want) if want[0] == 'output' else 'an error when ' + ('compiling' if want[0] == 'compile' else 'rendering')}"
        if problem:
            failed += 1
            print(f"not ok - {where}")
            print(f"#   {problem}")
        else:
            print(f"ok - {case['name']}{' (deviation: ' + case['deviation'] + ')' if 'deviation' in case else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
