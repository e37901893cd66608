#!/bin/sh
# validate: every bad input gives one line naming path:line:column and what
# is wrong, and exit code 3 (config); warnings alone exit 0 (3 with --strict).
. "$(dirname "$0")/lib.sh"
FX="$TOP/tests/fixtures"
export LLM_EVAL_DATADIR="$FX/registry"

expect "a clean registry: nothing to say" 0 llm-eval validate && err_empty
[ ! -s "$OUT" ] || fail "stdout not empty"
expect "-v says how many files" 0 llm-eval -v validate && err_has "note: 11 files, no problems"
expect "validate --help" 0 llm-eval validate --help && out_has "usage: llm-eval validate"
expect "unknown option" 2 llm-eval validate --frob && err_has "unknown option '--frob'"

n=0
# case_file TYPE FILE TEXT: write TEXT (printf %b escapes) to a fresh include
# dir as TYPE/FILE; sets $D and $F.
case_file() {
	n=$((n + 1))
	D="$T/case$n"
	mkdir -p "$D/$1"
	F="$D/$1/$2"
	printf '%b' "$3" >"$F"
}
lines_ok() { # every line of stderr but the summary names path:line:col
	grep -v -E '^[0-9]+ errors?, [0-9]+ warnings? in [0-9]+ files?$' "$ERR" |
		grep -v -E '^(error|warning): /[^:]+:[0-9]+:[0-9]+: ' >"$T/badlines"
	[ ! -s "$T/badlines" ] || fail "a line without path:line:col: $(head -n 1 "$T/badlines")"
}

case_file models m.yaml 'name: x\ndescription: [unclosed\n'
expect "malformed YAML" 3 llm-eval validate --include-path "$D" &&
	err_has "error: $F:3:1: did not find expected ',' or ']' while parsing a flow sequence" && lines_ok
err_has "1 error, 0 warnings in 12 files"

case_file models t.yaml 'name: typed\ndescription: d\nhf_repo: a/b\nparams_b: big\nsize_gb: -1\ncontext_length: 4k\ncategories: mathematics\n'
expect "wrong types" 3 llm-eval validate --include-path "$D" && lines_ok &&
	err_has "error: $F:4:11: 'params_b' must be a positive number, not a string" &&
	err_has "error: $F:5:10: 'size_gb' must be a positive number, not a number" &&
	err_has "error: $F:6:17: 'context_length' must be a whole number, 0 or more, not a string" &&
	err_has "error: $F:7:13: 'categories' must be a list of strings, not a string"

case_file models r.yaml 'name: noreq\ncategories: [coding]\n'
expect "missing required keys" 3 llm-eval validate --include-path "$D" && lines_ok &&
	err_has "error: $F:1:1: missing required key 'description'" &&
	err_has "error: $F:1:1: missing required key 'hf_repo'"

case_file models u.yaml 'name: spelt\ndescription: d\nhf_repo: a/b\ncategories: [coding]\nlicence: mit\nbackends:\n  llamacpp:\n    guff: x.gguf\n'
expect "unknown keys warn with the closest key" 0 llm-eval validate --include-path "$D" && lines_ok &&
	err_has "warning: $F:5:1: unknown key 'licence' (did you mean 'license'?)" &&
	err_has "warning: $F:8:5: unknown key 'guff' (did you mean 'gguf'?)" &&
	err_has "0 errors, 2 warnings in 12 files"
expect "--strict makes warnings fail" 3 llm-eval validate --strict --include-path "$D"
case_file models far.yaml 'name: far\ndescription: d\nhf_repo: a/b\ncategories: [coding]\nzzzzzzzz: 1\n'
expect "unknown key, nothing close" 0 llm-eval validate --include-path "$D" && err_has "warning: $F:5:1: unknown key 'zzzzzzzz'" &&
	err_lacks_mean() { ! grep -q "zzzzzzzz' (did" "$ERR" || fail "no suggestion expected"; } && err_lacks_mean

mkdir -p "$T/dup/models"
printf 'name: twice\ndescription: d\nhf_repo: a/b\ncategories: [coding]\n' >"$T/dup/models/a.yaml"
cp "$T/dup/models/a.yaml" "$T/dup/models/b.yaml"
expect "duplicate names" 3 llm-eval validate --include-path "$T/dup" && lines_ok &&
	err_has "error: $T/dup/models/b.yaml:1:1: model 'twice' is already registered by $T/dup/models/a.yaml:1:1; keeping the first"

case_file tasks a.yaml 'include: b_yaml\ntask: cyc\n'
printf 'include: a.yaml\n' >"$D/tasks/b_yaml"
expect "include cycle" 3 llm-eval validate --include-path "$D" && lines_ok &&
	err_has "error: $D/tasks/b_yaml:1:10: include cycle: $D/tasks/a.yaml -> $D/tasks/b_yaml -> $D/tasks/a.yaml"
case_file tasks m.yaml 'include: [nope_yaml]\ntask: miss\n'
expect "missing include" 3 llm-eval validate --include-path "$D" && lines_ok &&
	err_has "error: $F:1:11: cannot include 'nope_yaml': No such file or directory"
case_file tasks i.yaml 'include: {a: b}\ntask: badinc\n'
expect "include of the wrong type" 3 llm-eval validate --include-path "$D" &&
	err_has "error: $F:1:10: 'include' must be a path or a list of paths"

if [ "$(id -u)" -ne 0 ]; then
	case_file models locked.yaml 'name: x\n'
	chmod 000 "$F"
	expect "unreadable file" 3 llm-eval validate --include-path "$D" && err_has "error: $F:1:1: cannot open: Permission denied"
	chmod 644 "$F"
else
	# root reads everything; /proc/self/mem opens but fails to read at 0.
	n=$((n + 1)); D="$T/case$n"; mkdir -p "$D/models"; F="$D/models/unreadable.yaml"
	ln -s /proc/self/mem "$F"
	expect "unreadable file" 3 llm-eval validate --include-path "$D" && lines_ok &&
		err_has "error: $F:1:1: cannot read: Input/output error"
	expect "unreadable file is skipped by list" 0 llm-eval list models --include-path "$D"
fi

case_file models utf.yaml 'name: caf\0351\ndescription: d\n'
expect "non-UTF-8 text" 3 llm-eval validate --include-path "$D" && lines_ok &&
	err_has "error: $F:1:10: not valid UTF-8 (byte 0xe9)"
case_file models empty.yaml ''
expect "empty file" 3 llm-eval validate --include-path "$D" && lines_ok && err_has "error: $F:1:1: empty file"
case_file categories c.yaml '# only a comment\n'
expect "a file with only comments is empty" 3 llm-eval validate --include-path "$D" && err_has "error: $F:1:1: empty file"
case_file categories l.yaml '- a\n- b\n'
expect "top level not a map" 3 llm-eval validate --include-path "$D" && err_has "error: $F:1:1: top level is not a map"
# a repeated key keeps its last value, as PyYAML (and so the harness) reads
# it: a warning, once, and the file is used
case_file categories k.yaml 'category: a\ndescription: d\ncategory: b\n'
expect "duplicate key: a warning" 0 llm-eval validate --include-path "$D" &&
	err_has "warning: $F:3:1: duplicate key 'category': the last value is used, as PyYAML does" &&
	err_has "0 errors, 1 warning in 12 files" && lines_ok
expect "duplicate key: --strict fails" 3 llm-eval validate --strict --include-path "$D" &&
	err_has "0 errors, 1 warning in 12 files"
expect "duplicate key: the last value is the category" 0 llm-eval list categories --format tsv --include-path "$D" &&
	out_has "b" 

n=$((n + 1)); D="$T/case$n"; mkdir -p "$D/models"; F="$D/models/big.yaml"
yes 'padding_key_that_is_long: and a value that is long too' | head -c 100000000 >"$F"
expect "a 100 MB file" 3 llm-eval validate --include-path "$D" && lines_ok &&
	err_has "error: $F:1:1: file is 100000000 bytes, larger than the 8388608 allowed"
expect "a 100 MB file is skipped by list" 0 llm-eval list models --format tsv --include-path "$D" && out_has "qwen_math"
rm -f "$F"

case_file models c.yaml 'name: catless\ndescription: d\nhf_repo: a/b\ncategories: [mathmatics, coding]\n'
expect "unknown category" 3 llm-eval validate --include-path "$D" &&
	err_has "error: $F:4:14: unknown category 'mathmatics' (did you mean 'mathematics'?)"
case_file models n.yaml 'name: Bad Name\ndescription: d\nhf_repo: a/b\ncategories: [coding]\nbackend: vllm\n'
expect "bad name and backend" 3 llm-eval validate --include-path "$D" &&
	err_has "error: $F:1:7: name 'Bad Name' may only have a-z, 0-9, '_', '.' and '-'" &&
	err_has "error: $F:5:10: 'backend' is 'vllm', expected one of: llamacpp, openai"
case_file models d.yaml 'name: nl\ndescription: |\n  two\n  lines\nhf_repo: a/b\ncategories: [coding]\nbackend: openai\nbackends: {llamacpp: {gguf: x}}\n'
expect "multi-line description, default backend missing" 3 llm-eval validate --include-path "$D" &&
	err_has "error: $F:2:14: 'description' must be one line" &&
	err_has "error: $F:7:10: default backend 'openai' has no entry under 'backends'"

# Backend sections are checked against the plugin's own option table (read
# from the plugin: no host file lists a backend's options).
case_file models o.yaml 'name: opts\ndescription: d\nhf_repo: a/b\ncategories: [coding]\nbackend: openai\nbackends:\n  openai:\n    model: m\n    base_url: [http://a/v1, http://b/v1]\n    num_concurent: 4\n    max_retries: many\n    backoff: 0\n    headers: ["X-A: 1"]\n    loglikelihood_tasks: x\n  vllm: {model: m}\n'
expect "backend options from the plugin's table" 3 llm-eval validate --include-path "$D" && lines_ok &&
	err_has "warning: $F:10:5: unknown key 'num_concurent' (did you mean 'num_concurrent'?)" &&
	err_has "error: $F:11:18: 'max_retries' must be a whole number, 0 or more, not a string" &&
	err_has "warning: $F:14:5: unknown key 'loglikelihood_tasks'" &&
	err_has "warning: $F:15:3: unknown key 'vllm'" &&
	{ ! grep -q "backoff\|headers\|base_url" "$ERR" || fail "a declared option was refused"; }
# a plugin without an option table (the test backend) is not checked; one
# that does not load is reported, its section left unchecked
case_file models p.yaml 'name: tb\ndescription: d\nhf_repo: a/b\ncategories: [coding]\nbackend: testbackend\nbackends:\n  testbackend: {model: x, reply: y}\n  refuse: {model: x}\n'
expect "test plugins" 0 env LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins" "$LLM_EVAL" validate --include-path "$D" &&
	lines_ok && err_has "warning: $F:8:3: the options of backend 'refuse' are not checked: backend plugin '" &&
	err_has "refuse.so' refused to start: no device found" && { ! grep -q "testbackend" "$ERR" || fail "testbackend checked"; }
expect "a backend that is not installed" 3 llm-eval validate --include-path "$D" &&
	err_has "error: $F:5:10: 'backend' is 'testbackend', expected one of: llamacpp, openai"
rm -f "$F"
# a registry whose models have no backend sections loads no plugin
mkdir -p "$T/nobk/models" "$T/nobk/categories"
printf 'category: coding\ndescription: d\n' >"$T/nobk/categories/coding.yaml"
printf 'name: plain\ndescription: d\nhf_repo: a/b\ncategories: [coding]\nbackend: openai\n' >"$T/nobk/models/q.yaml"
expect "no backends section: no plugin loaded" 0 env LD_DEBUG=libs LLM_EVAL_DATADIR="$T/nobk" "$LLM_EVAL" validate &&
	{ ! grep -Eq 'openai\.so|llamacpp\.so|libllama' "$ERR" || fail "it loaded a plugin"; }
expect "a backends section loads its plugin" 0 env LD_DEBUG=libs "$LLM_EVAL" validate --include-path "$T/nobk" &&
	{ grep -q 'llamacpp\.so' "$ERR" || fail "llamacpp.so was not loaded"; }

case_file tasks t1.yaml 'task: t1\ncategory: coding\ndescription: d\ndataset_path: x\ndoc_to_text: q\noutput_type: generate\nnum_fewshot: -1\nmetric_list: [acc]\n'
expect "task values" 3 llm-eval validate --include-path "$D" && lines_ok &&
	err_has "error: $F:6:14: 'output_type' is 'generate', expected one of: generate_until, loglikelihood, loglikelihood_rolling, multiple_choice" &&
	err_has "error: $F:7:14: 'num_fewshot' must be a whole number, 0 or more, not a number" &&
	err_has "error: $F:8:15: 'metric_list item' must be a map with 'metric', not a string"
case_file tasks t2.yaml 'task: t2\n'
expect "registry tasks need what a run needs" 3 llm-eval validate --include-path "$D" &&
	err_has "error: $F:1:1: missing required key 'dataset_path'" && err_has "missing required key 'metric_list'"
case_file tasks p.yaml 'task: p\ncategory: coding\ndescription: "Prompt prefix,\\nover lines.\\n\\n"\ndataset_path: x\ndoc_to_text: q\noutput_type: generate_until\ntarget_delimiter: ""\nmetric_list: [{metric: acc}]\nmetadata: {version: 1}\n'
expect "the summary is metadata.description; description is the prompt prefix" 3 llm-eval validate --include-path "$D" &&
	err_has "error: $F:9:11: missing required key 'metadata.description'" &&
	err_has "task 'p': metric 'acc' does not apply to output_type 'generate_until'" &&
	err_has "2 errors, 0 warnings"
case_file tasks p2.yaml 'task: p2\ncategory: coding\ndataset_path: x\ndoc_to_text: q\noutput_type: generate_until\nmetric_list: [{metric: acc}]\nmetadata:\n  description: |\n    two\n    lines\n'
expect "metadata.description is one line" 3 llm-eval validate --include-path "$D" &&
	err_has "error: $F:8:16: 'metadata.description' must be one line"
case_file tasks nothing.yaml 'dataset_path: x\n'
expect "a task file that is none of task, group, python task" 0 llm-eval validate --include-path "$D" &&
	err_has "warning: $F:1:1: not a task, group or python task (no 'task', 'group' or 'class' key); skipped"
case_file tasks g.yaml 'group: g\ntask: {a: b}\n'
expect "group task list" 3 llm-eval validate --include-path "$D" && err_has "error: $F:2:7: 'task' must be a list, not a map"

# A harness tree is checked against lm-evaluation-harness's keys only.
expect "the fixture harness tree" 3 llm-eval validate --include-path "$FX/harness" && lines_ok &&
	err_has "error: $FX/harness/mmlu_mini/broken.yaml:2:1: did not find expected" &&
	err_has "warning: $FX/harness/mmlu_mini/nothing.yaml:1:1: not a task" &&
	err_has "error: $FX/harness/mmlu_mini/dup.yaml:1:1: task 'arith_1' is already registered" &&
	err_has "error: $FX/harness/mmlu_mini/sub/py.yaml:2:8: task 'squad_py': class: '!function task.SQuAD' needs $FX/harness/mmlu_mini/sub/task.py, which cannot be read (No such file or directory)" &&
	err_has "task 'arith_1': process_docs: '!function utils.process_docs' needs $FX/harness/arith/utils.py, which cannot be read" &&
	err_has "$FX/harness/arith/arith_1.yaml:3:15: group 'arith_all': member 'arith_1': task 'arith_1': process_docs" &&
	err_has "6 errors, 1 warning in 18 files"

# Overrides between directories are intended: a warning, not an error.
expect "override is a warning" 0 llm-eval validate --include-path "$FX/override" &&
	err_has "warning: $FX/override/models/qwen_math.yaml:1:1: model 'qwen_math' overrides the one in"

# The built-in registry, when this tree has one, validates clean: validate
# compiles each task as run plans it, and every built-in task compiles
# (issue 14: hellaswag, truthfulqa_mc2, wikitext, gpqa and drop are native;
# ifeval imports the harness's installed checkers, which run looks for)
if [ -d "$TOP/registry/models" ]; then
	expect "the built-in registry validates clean" 0 env -u LLM_EVAL_DATADIR "$LLM_EVAL" validate
	[ ! -s "$ERR" ] || fail "validate reported problems"
else
	echo "ok - the built-in registry validates clean # SKIP no registry/ in this tree"
fi
done_testing
