#!/bin/sh
# Hooks and class: tasks inside a checked-out lm_eval tree (issue 15), made
# here in the harness's layout with our own files:
#   - lm_eval/__init__.py needs an installed distribution and
#     lm_eval/tasks/__init__.py (the task manager) a module that is not
#     installed: a hook's `from lm_eval.tasks.tk.helper import f` still
#     works (both become plain packages), and a hook that imports a name of
#     lm_eval.tasks itself gets the real package's error, naming the module;
#   - the tree's lm_eval.api.instance and .registry import and are used;
#     its lm_eval.api.metrics (which needs a missing module) is replaced by
#     llm-eval's, whose other names raise that module's absence;
#   - LLM_EVAL_CHECK_HOOKS=1 (bench/compat.sh DEEP=1) makes validate import
#     the hooks and describe the classes; without it validate starts no Python.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
L="$T/tree/lm_eval"
mkdir -p "$L/api" "$L/tasks/tk"
cat >"$L/__init__.py" <<'PY'
from importlib.metadata import version
__version__ = version("llm_eval_test_not_a_distribution")
PY
echo 'import llm_eval_test_manager_dep  # noqa: F401' >"$L/tasks/__init__.py"
: >"$L/api/__init__.py"
cat >"$L/api/instance.py" <<'PY'
# the tree's own Instance: marks what it makes
from dataclasses import dataclass, field
@dataclass
class Instance:
    request_type: str
    doc: dict
    arguments: tuple
    idx: int
    metadata: tuple = field(default_factory=lambda: (None, None, None))
    FROM_TREE = True
PY
cat >"$L/api/registry.py" <<'PY'
SEEN = []
def register_aggregation(name):
    def deco(fn):
        SEEN.append(name)
        return fn
    return deco
PY
cat >"$L/api/metrics.py" <<'PY'
import llm_eval_test_metrics_dep  # noqa: F401
PY
cat >"$L/tasks/tk/helper.py" <<'PY'
def text(doc):
    return "T: " + doc["question"]
PY
cat >"$L/tasks/tk/utils.py" <<'PY'
from lm_eval.tasks.tk.helper import text
def doc_to_text(doc):
    return text(doc)
PY
cat >"$L/tasks/tk/bad.py" <<'PY'
from lm_eval.tasks import TaskManager
def doc_to_text(doc):
    return ""
PY
cat >"$L/tasks/tk/metricsuse.py" <<'PY'
from lm_eval.api.metrics import exact_match_fn
def doc_to_text(doc):
    return ""
PY
cat >"$L/tasks/tk/task.py" <<'PY'
from lm_eval.api.instance import Instance
from lm_eval.api.metrics import mean
from lm_eval.api.registry import SEEN, register_aggregation
from lm_eval.api.task import ConfigurableTask

@register_aggregation("tk_first")
def first(items):
    return float(items[0])

class Tk(ConfigurableTask):
    DATASET_PATH = "hkcls"
    def __init__(self, config=None):
        super().__init__(config={"metadata": {"version": 1}})
    def has_test_docs(self):
        return False
    def has_validation_docs(self):
        return True
    def validation_docs(self):
        return self.dataset["validation"]
    def doc_to_text(self, doc):
        return doc["question"]
    def doc_to_target(self, doc):
        return doc["answer"]
    def construct_requests(self, doc, ctx, chat_template=None, apply_chat_template=False, **kwargs):
        i = Instance(request_type="generate_until", doc=doc, arguments=(ctx, {"until": ["\n"], "max_gen_toks": 3}),
                     idx=0, **kwargs)
        assert i.FROM_TREE and SEEN == ["tk_first"]
        return [i]
    def process_results(self, doc, results):
        return {"one": 1.0, "first": len(doc["question"])}
    def aggregation(self):
        return {"one": mean, "first": first}
    def higher_is_better(self):
        return {"one": True, "first": True}
PY
printf 'task: tk_fn\ndataset_path: hkcls\ntest_split: validation\noutput_type: generate_until\ndoc_to_text: !function utils.doc_to_text\ndoc_to_target: answer\n' >"$L/tasks/tk/tk_fn.yaml"
printf 'task: tk_bad\ndataset_path: hkcls\ntest_split: validation\ndoc_to_text: !function bad.doc_to_text\ndoc_to_target: answer\n' >"$L/tasks/tk/tk_bad.yaml"
printf 'task: tk_metrics\ndataset_path: hkcls\ntest_split: validation\ndoc_to_text: !function metricsuse.doc_to_text\ndoc_to_target: answer\n' >"$L/tasks/tk/tk_metrics.yaml"
printf 'task: tk_cls\nclass: !function task.Tk\n' >"$L/tasks/tk/tk_cls.yaml"
INC="--include-path $L/tasks"
mkdir -p "$T/empty"
export LLM_EVAL_DATADIR="$T/empty"  # only this tree (not the built-in registry)
DD="--data-dir $TOP/tests/hooks/data"
# a python3 that says so on stderr when started (the worker's stderr is
# llm-eval's; from its sandbox it cannot leave a file on the host). As
# root the worker runs as nobody, who must reach the script and the tree.
mkdir -p "$T/bin"
cat >"$T/bin/py" <<'SH'
#!/bin/sh
echo py-started >&2
exec python3 "$@"
SH
chmod 755 "$T" "$T/bin" "$T/bin/py"
export LLM_EVAL_PYTHON="$T/bin/py"

expect "validate without python" 0 llm-eval $INC validate
check "started no python" [ "$(grep -c '^py-started$' "$ERR")" -eq 0 ]
expect "validate with the hooks imported" 3 env LLM_EVAL_CHECK_HOOKS=1 "$LLM_EVAL" $INC validate --report &&
	out_has "tk_fn	task	python	ok" && out_has "tk_cls	python-task	python	ok" &&
	out_has "tk_bad	task	python	" && out_has "python module 'llm_eval_test_manager_dep' is not installed" &&
	out_has "tk_metrics	task	python	" && out_has "python module 'llm_eval_test_metrics_dep' is not installed"
check "python was started" [ "$(grep -c '^py-started$' "$ERR")" -ge 1 ]

expect "a hook importing from lm_eval.tasks.tk, and a class task, run" 0 llm-eval $INC run $DD \
	--model-path "$MODEL" --tasks tk_fn,tk_cls --output "$T/o" --log-samples --no-progress
check "the hook's prompts" python3 -c '
import glob, json, sys
s = [json.loads(l) for l in open(glob.glob(sys.argv[1] + "/tiny/samples_tk_fn_*.jsonl")[0])]
d = [json.loads(l) for l in open(sys.argv[2] + "/hkcls/validation.jsonl")]
assert [x["arguments"][0][0] for x in s] == ["T: " + x["question"] for x in d], s
r = json.load(open(glob.glob(sys.argv[1] + "/tiny/results_*.json")[0]))["results"]["tk_cls"]
assert r["one,none"] == 1.0 and r["first,none"] == float(len(d[0]["question"])), r
' "$T/o" "$TOP/tests/hooks/data"
done_testing
