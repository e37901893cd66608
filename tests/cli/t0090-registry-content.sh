#!/bin/sh
# The built-in registry's files against the real data and the docs, with
# standard tools: every file opens with a comment and is clean text; the
# data files the shipped tasks name exist in ../shared/datasets and have the
# columns their templates use; MMLU has one task per subject of the data;
# docs/registry-content.md lists every model and task. The keys and types
# of the files are checked by tests/unit/test_registry_content.c; once the
# `validate` and `list` commands are built, they must accept it all.
. "$(dirname "$0")/lib.sh"
REG="$TOP/registry"
DATA="$SHARED/datasets"

# every registry file, including the include-only *_yaml files
files() { find "$REG" -type f \( -name '*.yaml' -o -name '*_yaml' \) | sort; }

check "registry has model, task and category files" sh -c '
	ls "$1"/models/*.yaml "$1"/tasks/*.yaml "$1"/categories/*.yaml >/dev/null' - "$REG"

# one awk or grep over all files, not a process per file: the suite stays fast
FILES=$(files)
nfiles=$(echo "$FILES" | wc -l)
bad=$(awk 'FNR == 1 && !/^# [^ ]/ { print FILENAME }' $FILES)
[ -z "$bad" ] || echo "#   no comment:" $bad
check "every file opens with a comment saying what it is" test -z "$bad"

bad=$(grep -l "$(printf '\t')\| \$" $FILES)
[ -z "$bad" ] || echo "#   tabs or trailing blanks:" $bad
nl=$(tail -qc 1 $FILES | tr -cd '\n' | wc -c)
check "no tabs, no trailing blanks, a final newline ($nfiles files)" test -z "$bad" -a "$nl" -eq "$nfiles"

# data_files paths of the three datasets that ../shared ships
shipped=$(grep -rhoE '(gsm8k|mmlu|humaneval)/[A-Za-z0-9_./-]+\.(jsonl|csv|jsonl\.gz)' "$REG/tasks" | sort -u)
if [ -d "$DATA" ]; then
	missing=""
	for p in $shipped; do
		[ -f "$DATA/$p" ] || missing="$missing $p"
	done
	[ -z "$missing" ] || echo "#   missing:$missing"
	check "the shipped tasks' data files exist in ../shared/datasets ($(echo "$shipped" | wc -l) files)" \
		test -z "$missing" -a -n "$shipped"
	check "gsm8k's template fields are in the data" sh -c '
		head -n 1 "$1/gsm8k/test.jsonl" | grep -q "\"question\": " &&
		head -n 1 "$1/gsm8k/train.jsonl" | grep -q "\"answer\": .*#### "' - "$DATA"
	check "humaneval's template fields are in the data" sh -c '
		line=$(gzip -dc "$1/humaneval/HumanEval.jsonl.gz" | head -n 1) &&
		for k in prompt test entry_point; do
			echo "$line" | grep -q "\"$k\": " || exit 1
		done' - "$DATA"
	bad=$(awk 'FNR == 1 { sub(/\r$/, ""); if ($0 != "question,choice0,choice1,choice2,choice3,answer") print FILENAME }' \
		"$DATA"/mmlu/test/*_test.csv "$DATA"/mmlu/dev/*_dev.csv)
	[ -z "$bad" ] || echo "#   other header:" $bad
	check "mmlu's csv header has the columns of the template" test -z "$bad"
	subjects=$(ls "$DATA/mmlu/test" | sed 's/_test\.csv$//')
	ours=$(ls "$REG/tasks/mmlu" | sed -n 's/^mmlu_\(.*\)\.yaml$/\1/p')
	check "one mmlu task per subject of the data ($(echo "$subjects" | wc -l))" \
		test "$subjects" = "$ours"
else
	echo "ok - data files not checked # SKIP no $DATA"
fi

# docs/registry-content.md: the table of what ships names every model and task
names=$(sed -n 's/^name: //p' "$REG"/models/*.yaml; find "$REG/tasks" -name '*.yaml' -exec sed -n 's/^\(task\|group\): \([a-z0-9_.-]*\)$/\2/p' {} +)
# names missing from the docs, each written `name` there
absent() { awk 'NR == FNR { doc = doc $0 "\n"; next } index(doc, "`" $0 "`") == 0' "$1" -; }
missing=$(echo "$names" | absent "$TOP/docs/registry-content.md")
[ -z "$missing" ] || echo "#   not in the docs:$missing"
check "docs/registry-content.md lists every model, task and group ($(echo "$names" | wc -l))" \
	test -z "$missing"
nmodels=$(ls "$REG"/models/*.yaml | wc -l)
check "the docs' model count is the number of model files ($nmodels)" \
	grep -q "$nmodels models" "$TOP/docs/registry-content.md"

# The commands, once they exist: the built-in registry is valid and listed.
if "$LLM_EVAL" help validate >/dev/null 2>&1; then
	# validate compiles each task as run plans it: every built-in task and
	# group compiles (issue 14; the same check is in t0300-validate.sh)
	expect "validate accepts the whole built-in registry" 0 llm-eval validate
	[ ! -s "$OUT" ] || fail "validate printed to stdout"
	[ ! -s "$ERR" ] || fail "validate reported problems"
else
	echo "ok - validate not checked # SKIP no validate command in this build"
fi
if "$LLM_EVAL" help list >/dev/null 2>&1; then
	expect "list models --json" 0 llm-eval list models --json
	# every model name appears quoted in the JSON
	missing=$(sed -n 's/^name: \(.*\)$/"\1"/p' "$REG"/models/*.yaml |
		awk 'NR == FNR { out = out $0 "\n"; next } index(out, $0) == 0' "$OUT" -)
	[ -z "$missing" ] || fail "list models lacks $missing"
else
	echo "ok - list not checked # SKIP no list command in this build"
fi
done_testing
