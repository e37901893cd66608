#!/bin/sh
# The hook worker runs in the project's sandbox (issue 15), seen from hooks:
#   - a write into the task tree (beside the hook's own file) fails with
#     EROFS: the file system is read-only, and nothing appears on the host;
#   - a write in /tmp works (the worker's own tmpfs) and is not on the
#     host's /tmp;
#   - as root, a tree that nobody (the worker's user) cannot read is
#     refused in one line that says why;
#   - a hook allocating past the memory limit (LLM_EVAL_HOOK_MEMORY_MB)
#     fails with an error naming the task, the document, the hook and the
#     limit; so does one in an endless loop (LLM_EVAL_HOOK_CPU_S).
# The tree is a copy in the scratch directory, so that the code without a
# sandbox writes nothing into the checkout.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
# as root the worker runs as nobody, who must reach the tree
chmod 755 "$T"
mkdir -p "$T/tasks" "$T/data/hkfs"
cp -r "$TOP/tests/hooks/tasks/hk_fs" "$TOP/tests/hooks/tasks/hk_hog" "$TOP/tests/hooks/tasks/hk_spin" "$T/tasks/"
name="lle-hook-probe-$(basename "$T")-$$"
printf '{"where": "tree"}\n{"where": "tmp", "name": "%s"}\n' "$name" >"$T/data/hkfs/validation.jsonl"
said() { # what the hook said for each document, one a line
	python3 -c 'import glob, json, sys
for l in open(glob.glob(sys.argv[1] + "/tiny/samples_hk_fs_*.jsonl")[0]):
    print(json.loads(l)["arguments"][0][0])' "$T/$1"
}
expect "a task whose hooks write files" 0 llm-eval --include-path "$T/tasks" run --data-dir "$T/data" \
	--model-path "$MODEL" --tasks hk_fs --output "$T/o" --log-samples --no-progress --no-cache
said o >"$T/said"
check "writing into the task tree: EROFS" test "$(sed -n 1p "$T/said")" = EROFS
check "no file appeared in the tree" test ! -e "$T/tasks/hk_fs/written-by-a-hook"
check "writing in /tmp works" test "$(sed -n 2p "$T/said")" = "wrote and read back"
check "and the file is not in the host's /tmp" test ! -e "/tmp/$name"
rm -f "/tmp/$name" "$T/tasks/hk_fs/written-by-a-hook"

# as root the worker runs as nobody: a tree only root can read is one clear
# line, not a missing module
if [ "$(id -u)" = 0 ]; then
	mkdir -m 700 "$T/private"
	cp -r "$TOP/tests/hooks/tasks/hk_fs" "$T/private/"
	expect "as root, a tree nobody may read" 3 llm-eval --include-path "$T/private" run --data-dir "$T/data" \
		--tasks hk_fs --show-prompts 1
	err_has "doc_to_text: 'utils.probe': the python hook worker cannot read $T/private/hk_fs/utils.py (as root it runs as nobody, uid 65534"
	# but a readable tree inside a folder only root may enter (a clone
	# under /root) is shown: the sandbox opens it with root's ids
	mkdir -m 700 "$T/rootonly"
	mkdir -m 755 "$T/rootonly/tasks"
	cp -r "$TOP/tests/hooks/tasks/hk_docfn" "$T/rootonly/tasks/"
	chmod -R a+rX "$T/rootonly/tasks"
	expect "as root, a tree inside a folder only root may enter" 0 llm-eval --include-path "$T/rootonly/tasks" \
		run --data-dir "$TOP/tests/hooks/data" --tasks hk_docfn --show-prompts 1
else
	echo "ok - as root, a tree nobody may read # skip not root"
fi

LLM_EVAL_HOOK_MEMORY_MB=256
export LLM_EVAL_HOOK_MEMORY_MB
expect "a hook past the memory limit fails the task" 4 llm-eval --include-path "$T/tasks" run \
	--data-dir "$TOP/tests/hooks/data" --model-path "$MODEL" --tasks hk_hog --output "$T/h" --no-progress \
	--on-error stop
err_has "task 'hk_hog': doc 0: doc_to_text: 'utils.hog': MemoryError (at $T/tasks/hk_hog/utils.py:11 in hog; the python hook worker's memory limit is 256 MB: LLM_EVAL_HOOK_MEMORY_MB)"
unset LLM_EVAL_HOOK_MEMORY_MB

LLM_EVAL_HOOK_CPU_S=1
export LLM_EVAL_HOOK_CPU_S
# (the planner reads the first document's doc_to_text already: the task fails there)
expect "a hook in an endless loop is stopped by the CPU-time limit" 4 llm-eval --include-path "$T/tasks" run \
	--data-dir "$TOP/tests/hooks/data" --model-path "$MODEL" --tasks hk_spin --limit 1 --output "$T/s" \
	--no-progress
err_has "task 'hk_spin': doc 0: doc_to_text: the python hook worker used up its CPU time (its limit is 1 s: LLM_EVAL_HOOK_CPU_S)"
unset LLM_EVAL_HOOK_CPU_S
done_testing
