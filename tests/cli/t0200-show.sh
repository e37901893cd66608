#!/bin/sh
# show model|task|category NAME: the merged config and where each key came from.
. "$(dirname "$0")/lib.sh"
FX="$TOP/tests/fixtures"
R="$FX/registry"
export LLM_EVAL_DATADIR="$R"

expect "show model" 0 llm-eval show model qwen_math && err_empty
out_has "# model 'qwen_math' (model) from $R/models/qwen_math.yaml"
out_has "# includes $R/models/_common_yaml"
grep -q "^license: apache-2.0  *# $R/models/_common_yaml:1$" "$OUT" || fail "license from the include, line 1"
grep -q "^name: qwen_math  *# $R/models/qwen_math.yaml:2$" "$OUT" || fail "name from the file, line 2"
grep -q "^backends:  *# $R/models/qwen_math.yaml:11$" "$OUT" || fail "block value: the key's line"
out_has "    gguf: Qwen2.5-Math-1.5B-Instruct-Q4_K_M.gguf"
out_lacks "include:"

expect "the file's own keys win over an include" 0 llm-eval show model tiny_coder && out_has "backend: openai"
mkdir -p "$T/o/models"
printf 'include: ../base_yaml\nname: m1\nbackend: openai\n' >"$T/o/models/m1.yaml"
printf 'include: [b1_yaml, b2_yaml]\n' >"$T/o/base_yaml"
printf 'backend: llamacpp\nlicense: mit\nfamily: one\n' >"$T/o/b1_yaml"
printf 'license: apache-2.0\n' >"$T/o/b2_yaml"
expect "includes: later wins, own keys win, recursive, relative" 0 llm-eval show model m1 --include-path "$T/o"
grep -q "^backend: openai  *# $T/o/models/m1.yaml:3$" "$OUT" || fail "own key wins"
grep -q "^license: apache-2.0  *# $T/o/b2_yaml:1$" "$OUT" || fail "later include wins"
grep -q "^family: one  *# $T/o/b1_yaml:3$" "$OUT" || fail "first include still contributes"

expect "show task with a template" 0 llm-eval show task gsm8k_fx
grep -q "^category: mathematics  *# $R/tasks/_math_template_yaml:1$" "$OUT" || fail "category from the template"
grep -q "^metric_list:  *# $R/tasks/_math_template_yaml:4$" "$OUT" || fail "metric_list key line"
out_has "  - metric: exact_match"
out_has '"Question: {{question}}\nAnswer:"'
expect "!function is kept as written" 0 llm-eval show task arith_fx && out_has "process_docs: !function utils.parse_ints"
expect "show task --json" 0 llm-eval show task arith_fx --json
check "json is right" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["type"]=="task" and d["kind"]=="task" and d["name"]=="arith_fx", d
assert d["config"]["process_docs"]=="!function utils.parse_ints", d
assert d["config"]["metric_list"][0]["higher_is_better"] is True
assert d["origin"]["task"].endswith("tasks/arith_fx.yaml:2:1"), d["origin"]
assert d["origin"]["category"].endswith("tasks/_math_template_yaml:1:1")
assert len(d["includes"])==1 and d["includes"][0].endswith("_math_template_yaml")
' "$OUT"
expect "show a group" 0 llm-eval show task mmlu_fx && out_has "(group)" && out_has "  - mmlu_fx_algebra"
expect "show a tag" 0 llm-eval show task math_fx && out_has "# tag 'math_fx'" && out_has "  - arith_fx" && out_has "  - gsm8k_fx"
expect "show a tag --json" 0 llm-eval show task math_fx --json
check "tag json" python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); assert d["kind"]=="tag" and d["tasks"]==["arith_fx","gsm8k_fx"], d' "$OUT"
expect "show category lists members" 0 llm-eval show category mathematics
out_has "description: Arithmetic, algebra and competition maths"
out_has "models:" && out_has "  - tiny_coder" && out_has "  - gsm8k_fx"
expect "show category --json" 0 llm-eval show category coding --json
check "category json" python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); assert d["models"]==["tiny_coder"] and d["tasks"]==["humaneval_fx"], d' "$OUT"
expect "plural type and prefix" 0 llm-eval show models llama_small && out_has "llama_small"
# show prints a config run refuses, then refuses it as run does (exit 3)
expect "harness python task" 3 llm-eval show task squad_py --include-path "$FX/harness" && out_has "class: !function task.SQuAD" &&
	err_has "py.yaml:2:8: task 'squad_py': class: '!function task.SQuAD' needs $FX/harness/mmlu_mini/sub/task.py, which cannot be read"
expect "an overridden model shows the winner" 0 llm-eval show model qwen_math --include-path "$FX/override" &&
	out_has "The overriding maths model" && err_has "overrides the one in"

# show's YAML is YAML: read back, it is the config --json gives.
if python3 -c 'import yaml' 2>/dev/null; then
	for t in gsm8k_fx arith_fx humaneval_fx mmlu_fx mmlu_fx_algebra; do
		"$LLM_EVAL" show task "$t" >"$T/s.yaml" && "$LLM_EVAL" show task "$t" --json >"$T/s.json"
		check "show task $t reads back as the same config" python3 -c '
import json, sys, yaml
y = yaml.load(open(sys.argv[1]), Loader=yaml.BaseLoader)
j = json.load(open(sys.argv[2]))["config"]
def norm(x):
    if isinstance(x, dict): return {k: norm(v) for k, v in x.items()}
    if isinstance(x, list): return [norm(v) for v in x]
    if x is None: return "null"
    if isinstance(x, bool): return "true" if x else "false"
    x = str(x)
    return x[len("!function "):] if x.startswith("!function ") else x
assert norm(y) == norm(j), (norm(y), norm(j))
' "$T/s.yaml" "$T/s.json"
	done
else
	echo "ok - show reads back # SKIP no python3 yaml"
fi

expect "unknown name suggests" 2 llm-eval show model qwen_mth && err_has "error: unknown model 'qwen_mth' (did you mean 'qwen_math'?)"
expect "unknown name, nothing close" 2 llm-eval show task zzzzzzzz && err_has "unknown task 'zzzzzzzz'; see 'llm-eval list tasks'"
expect "unknown type" 2 llm-eval show frob x && err_has "unknown type 'frob'"
expect "missing name" 2 llm-eval show model && err_has "usage: llm-eval show"
expect "unknown option" 2 llm-eval show --yaml model x && err_has "unknown option '--yaml'"

mkdir -p "$T/c/tasks"
printf 'include: b_yaml\ntask: cyc\n' >"$T/c/tasks/a.yaml"
printf 'include: a.yaml\n' >"$T/c/tasks/b_yaml"
expect "include cycle is a config error" 3 llm-eval show task cyc --include-path "$T/c" &&
	err_has "error: $T/c/tasks/b_yaml:1:10: include cycle: $T/c/tasks/a.yaml -> $T/c/tasks/b_yaml -> $T/c/tasks/a.yaml"
printf 'include: gone_yaml\ntask: late\n' >"$T/c/tasks/late.yaml"
expect "a missing include is a config error" 3 llm-eval show task late --include-path "$T/c" &&
	err_has "error: $T/c/tasks/late.yaml:1:10: cannot include 'gone_yaml': No such file or directory"
printf 'task: [bad\n' >"$T/c/tasks/bad.yaml"
expect "a broken file is unknown to show (it has no name)" 2 llm-eval show task bad --include-path "$T/c"
done_testing
