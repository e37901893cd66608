# The prompts lm-evaluation-harness builds for zero-shot multiple_choice
# tasks of a tree, worked out here from the harness's documented rules and
# the task's own hook functions (imported by plain Python, not through
# llm-eval's worker), compared byte for byte with the `arguments` of
# llm-eval's sample logs. Used by bench/hooks_e2e.sh:
#   python3 bench/hooks_prompts.py TREE DATA OUT LIMIT TASK...
# Rules (lm_eval/api/task.py ConfigurableTask, lm_eval/utils.py):
#   - docs = process_docs(split) (a function given the split: rows here
#     offer the `map` the tree's functions call, one row at a time);
#   - doc_to_text / doc_to_choice / doc_to_target: a function is called; a
#     string naming a field is that field; else a Jinja2 template rendered
#     with StrictUndefined and keep_trailing_newline, a doc_to_choice's
#     rendering read back with ast.literal_eval, a doc_to_text's all-digit
#     rendering made an int when there are choices;
#   - zero-shot, no description: ctx = doc_to_text; requests
#     (ctx, target_delimiter + choice) per choice, or, when doc_to_text
#     gives an index (multiple inputs), (choice, target_delimiter + target)
#     per choice.
# Prints one line per task: "same" or the first difference.
import ast
import glob
import importlib.util
import json
import os
import random
import sys

import types

import jinja2
import yaml

# the tree's hook modules `import datasets` (for annotations and map): the
# oracle's rows stand for it
sys.modules.setdefault("datasets", types.ModuleType("datasets"))

tree, data, out, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tasks = sys.argv[5:]


class Fn:
    def __init__(self, base, spec):
        self.base, self.spec = base, spec

    def get(self):
        mod, name = self.spec.rsplit(".", 1)
        path = os.path.join(self.base, mod.replace(".", "/") + ".py")
        spec = importlib.util.spec_from_file_location("oracle_" + mod.replace(".", "_"), path)
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        return getattr(m, name)


def load(path):
    base = os.path.dirname(path)

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!function", lambda l, n: Fn(base, l.construct_scalar(n)))
    cfg = yaml.load(open(path, encoding="utf-8"), Loader=Loader) or {}
    inc = cfg.pop("include", None)
    merged = {}
    for i in ([inc] if isinstance(inc, str) else inc or []):
        merged.update(load(os.path.join(base, i)))
    merged.update(cfg)
    return merged


def find(task):
    for p in glob.glob(os.path.join(tree, "**", "*.yaml"), recursive=True):
        try:
            txt = open(p, encoding="utf-8").read()
        except OSError:
            continue
        if "task: " + task not in txt:
            continue
        c = load(p)
        if c.get("task") == task:
            return c
    return None


class Rows(list):
    def map(self, fn, **kw):
        return Rows(dict(r, **fn(dict(r))) for r in self)


sys.modules["datasets"].Dataset = Rows


env = jinja2.Environment(loader=jinja2.BaseLoader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def field(v, doc, kind, has_choices):
    if isinstance(v, Fn):
        return v.get()(doc)
    if isinstance(v, (list, int)):
        return v
    if v in doc:
        return doc[v]
    s = env.from_string(v).render(**doc)
    if kind == "choice":
        return ast.literal_eval(s)
    if s.isdigit() and (kind == "target" or has_choices):
        return int(s)
    return s


for task in tasks:
    c = find(task)
    if c is None or c.get("output_type") != "multiple_choice" or c.get("num_fewshot") or c.get("description"):
        print("%-36s not checked (not a zero-shot multiple_choice task without description)" % task)
        continue
    split = c.get("test_split") or c.get("validation_split")
    d = os.path.join(data, c["dataset_path"], c["dataset_name"]) if c.get("dataset_name") else \
        os.path.join(data, c["dataset_path"])
    docs = Rows(json.loads(l) for l in open(os.path.join(d, split + ".jsonl"), encoding="utf-8"))
    if c.get("process_docs"):
        # lm_eval/evaluator.py simple_evaluate: random.seed(0) before the
        # tasks are built (gpqa's process_docs shuffles with it); one task
        # per llm-eval run here, so the generator starts from the seed
        random.seed(0)
        docs = Rows(c["process_docs"].get()(docs))
    delim = c.get("target_delimiter", " ")
    want = []
    for doc in docs[:limit]:
        choices = field(c["doc_to_choice"], doc, "choice", True)
        text = field(c["doc_to_text"], doc, "text", True)
        if isinstance(text, int):
            target = field(c["doc_to_target"], doc, "target", True)
            if isinstance(target, int):
                target = choices[target]
            want.append([[ch, delim + str(target)] for ch in choices])
        else:
            want.append([[text, delim + str(ch)] for ch in choices])
    f = glob.glob(os.path.join(out, "*", "samples_%s_*.jsonl" % task))
    got = [json.loads(l)["arguments"] for l in open(sorted(f)[-1], encoding="utf-8")] if f else None
    if got == want:
        print("%-36s same (%d documents)" % (task, len(want)))
    elif got is None:
        print("%-36s no sample log" % task)
    else:
        diff = next(((i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w), (len(want), got, want))
        print("%-36s DIFFERS at document %d: llm-eval %r, harness %r" % (task, diff[0], diff[1], diff[2]))
