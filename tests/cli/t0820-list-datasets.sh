#!/bin/sh
# llm-eval list datasets: each dataset the tasks read, the tasks that read it,
# where a run reads it from (local files, or the Hugging Face Hub when no data
# directory is set) and whether it is there (present, partial, missing, no
# data dir from --data-dir or LLM_EVAL_DATA_DIR; cached, partial, remote in
# the Hub cache at the task's revision), without opening any data file or
# loading libcurl; table, TSV and JSON; the pattern filter; the built-in
# registry on ../shared.
. "$(dirname "$0")/lib.sh"
FX="$TOP/tests/fixtures/datasets"
INC="--include-path $FX"
# A copy of the data in which two files are FIFOs: opening one would block,
# so a listing that opened data files would hang (and time out) here.
cp -R "$FX/data" "$T/data"
rm "$T/data/fx/full/test.jsonl"
mkfifo "$T/data/fx/full/test.jsonl" "$T/data/fx/shards/part-1.jsonl"

expect "table with --data-dir, files never opened" 0 timeout 60 "$LLM_EVAL" $INC list datasets fx --data-dir "$T/data" &&
	out_has "DATASET" && out_has "STATUS" && out_has "FILES" && out_lacks "gsm8k"
check "statuses: present, partial, missing; tasks merged on one dataset" sh -c '
	grep -E "^fx/full +- +local +present +fx_full,fx_full_again " "$1" &&
	grep -E "^fx/half +cfg +local +partial +fx_half " "$1" && grep -F "dev.jsonl (missing)" "$1" &&
	grep -E "^fx/templated +a +local +missing +fx_inc_a " "$1" &&
	grep -E "^fx/shards +- +local +present " "$1" &&
	grep -E "^\./fx_local\.jsonl +- +local +present +fx_local " "$1" && grep -F "/tasks/local/./fx_local.jsonl" "$1"' sh "$OUT"

expect "LLM_EVAL_DATA_DIR when there is no flag" 0 env LLM_EVAL_DATA_DIR="$T/data" "$LLM_EVAL" $INC list datasets fx_full --format tsv
check "tsv: a header and one line per dataset, paths under the env var's directory" sh -c '
	[ "$(head -n 1 "$1")" = "$(printf "dataset\tname\tsource\tstatus\ttasks\tfiles")" ] &&
	[ "$(wc -l < "$1")" -eq 2 ] &&
	grep -F "$(printf "fx/full\t\tlocal\tpresent\tfx_full,fx_full_again\ttest=%s/fx/full/test.jsonl" "$2")" "$1"' sh "$OUT" "$T/data"

mkdir -p "$T/empty"
expect "--data-dir wins over LLM_EVAL_DATA_DIR" 0 env LLM_EVAL_DATA_DIR="$T/data" "$LLM_EVAL" $INC list datasets fx_full --data-dir "$T/empty" &&
	out_has "$T/empty/fx/full/test.jsonl (missing)" && out_lacks "present"

expect "no data directory: the Hub, not in its cache; local files still resolved" 0 llm-eval $INC list datasets fx &&
	out_has "test=hub:fx/full (remote)" && out_lacks "no data dir"
check "... remote per dataset; a task's own relative file needs no data directory" sh -c '
	grep -E "^fx/full +- +hub +remote +fx_full,fx_full_again " "$1" &&
	grep -E "^\./fx_local\.jsonl +- +local +present" "$1"' sh "$OUT"

expect "--json" 0 llm-eval $INC list --json datasets 'fx/*' --data-dir "$T/data"
check "JSON is valid and says each split's file, path and presence" python3 - "$OUT" "$T/data" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
d = sys.argv[2]
by = {(r["dataset"], r["name"]): r for r in rows}
assert set(by) == {("fx/full", None), ("fx/half", "cfg"), ("fx/shards", None), ("fx/templated", "a")}, by.keys()
full = by[("fx/full", None)]
assert full["status"] == "present" and full["tasks"] == ["fx_full", "fx_full_again"]
assert full["splits"] == [
    {"split": "test", "file": "fx/full/test.jsonl", "path": d + "/fx/full/test.jsonl", "present": True},
    {"split": "train", "file": "fx/full/train.jsonl", "path": d + "/fx/full/train.jsonl", "present": True}]
half = by[("fx/half", "cfg")]
assert half["status"] == "partial"
assert [(s["split"], s["present"]) for s in half["splits"]] == [("test", True), ("dev", False)]
tpl = by[("fx/templated", "a")]
assert tpl["status"] == "missing" and [s["split"] for s in tpl["splits"]] == ["test", "train"]
assert tpl["splits"][0]["file"] == "fx/templated/a/test.jsonl"  # the configuration is a directory
PY
expect "--json without a data directory" 0 llm-eval $INC list datasets fx_half --format json
check "JSON: the Hub, remote, null paths and commits" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r) == 1 and r[0]["source"] == "hub" and r[0]["status"] == "remote", r
assert all(s["path"] is None and s["present"] is False and s["hub"] and s["commit"] is None
           for s in r[0]["splits"])' "$OUT"

# The Hub cache ($HF_HOME/hub), written by the layout rules (as huggingface_hub
# writes it): fx/full at main has both its splits (the usual file patterns);
# fx/half's README names configuration cfg with a test split only, so its dev
# split is not cached. Nothing is fetched (HF_HUB_OFFLINE is not even needed:
# list never asks the Hub) and no data file is read: the blobs are FIFOs.
check "a Hub cache made by hand" python3 - "$T/hf/hub" <<'PY'
import os, sys
cache = sys.argv[1]
def repo(name, commit, files, ref="main"):
    d = os.path.join(cache, "datasets--" + name.replace("/", "--"))
    os.makedirs(os.path.join(d, "blobs"), exist_ok=True)
    os.makedirs(os.path.join(d, "refs"), exist_ok=True)
    open(os.path.join(d, "refs", ref), "w").write(commit)
    for i, (path, text) in enumerate(files):
        blob = os.path.join(d, "blobs", "%s%02d" % (commit[:8], i))
        if text is None:
            os.mkfifo(blob)
        else:
            open(blob, "w").write(text)
        link = os.path.join(d, "snapshots", commit, path)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(blob, os.path.dirname(link)), link)
repo("fx/full", "a" * 40, [("data/test.jsonl", None), ("data/train.jsonl", None)])
repo("fx/half", "b" * 40, [("README.md", "---\nconfigs:\n- config_name: cfg\n  data_files:\n  - split: test\n    path: t.jsonl\n---\n"),
                           ("t.jsonl", None)])
PY
mkdir -p "$T/inc/tasks"
cat >"$T/inc/tasks/fx_rev.yaml" <<'EOF2'
task: fx_rev
dataset_path: fx/full
dataset_kwargs: {revision: v1}
data_files: {test: fx/full/test.jsonl}
output_type: generate_until
test_split: test
doc_to_text: "{{q}}"
doc_to_target: "{{a}}"
EOF2
expect "cached, partial, remote" 0 timeout 60 "$LLM_EVAL" $INC --include-path "$T/inc" list datasets --json fx
check "... each split at its task's revision, with its commit and cached file" python3 - "$OUT" "$T/hf/hub" <<'PY'
import json, sys
rows, cache = json.load(open(sys.argv[1])), sys.argv[2]
by = {(r["dataset"], r["name"], tuple(r["tasks"])): r for r in rows}
full = by[("fx/full", None, ("fx_full", "fx_full_again"))]
assert full["source"] == "hub" and full["status"] == "cached", full
assert [(s["split"], s["commit"], s["present"]) for s in full["splits"]] == [("test", "a" * 40, True), ("train", "a" * 40, True)]
assert full["splits"][0]["path"] == cache + "/datasets--fx--full/snapshots/" + "a" * 40 + "/data/test.jsonl", full
half = by[("fx/half", "cfg", ("fx_half",))]
assert half["status"] == "partial" and [s["commit"] for s in half["splits"]] == ["b" * 40, None], half
rev = by[("fx/full", None, ("fx_rev",))]
assert rev["revision"] == "v1" and rev["status"] == "remote", rev  # no refs/v1 in the cache
PY
expect "... the table" 0 timeout 60 "$LLM_EVAL" $INC --include-path "$T/inc" list datasets fx_half &&
	out_has "partial" && out_has "dev=hub:fx/half (remote)"
# dataset_kwargs.revision: fx_rev reads fx/full at v1, which the cache has no ref for
expect "a revision the cache has no ref for: remote" 0 "$LLM_EVAL" --include-path "$T/inc" list datasets fx_rev --format tsv &&
	out_has "$(printf 'fx/full\t\thub\tremote\tfx_rev')"
printf '%s' "$(printf 'a%.0s' $(seq 40))" >"$T/hf/hub/datasets--fx--full/refs/v1"
expect "... cached once refs/v1 names a cached commit" 0 "$LLM_EVAL" --include-path "$T/inc" list datasets fx_rev --format tsv &&
	out_has "$(printf 'fx/full\t\thub\tcached\tfx_rev')"
expect "a data directory wins over the Hub cache" 0 llm-eval $INC list datasets fx_full --data-dir "$T/data" &&
	out_has "local" && out_lacks "cached"
loaded() {
	LD_DEBUG=libs "$@" 2>&1 >/dev/null | sed -n 's/.*calling init: //p' | sed 's|.*/||' |
		grep -v -E '^(ld-linux|libc\.so|libyaml-0\.so|libasan|libubsan|libstdc\+\+|libm\.so|libgcc_s|liblsan)' | tr '\n' ' '
}
check "list datasets with a Hub cache maps only libc and libyaml (no libcurl, no DuckDB)" \
	test -z "$(loaded "$LLM_EVAL" $INC list datasets fx)"
expect "--json with nothing matching is an empty array" 0 llm-eval $INC list datasets --json no_such_dataset_anywhere &&
	out_has "[]"

expect "pattern matches a task name" 0 llm-eval $INC list datasets fx_inc_a --data-dir "$T/data" &&
	out_has "fx/templated" && out_lacks "fx/full"
expect "--category keeps that category's tasks" 0 llm-eval $INC list datasets fx --category mathematics --data-dir "$T/data" &&
	out_has "fx/full" && out_has "fx_full" && out_lacks "fx_full_again" && out_lacks "fx/half"
expect "unknown option" 2 llm-eval list datasets --frobnicate && err_has "unknown option '--frobnicate'"
expect "--data-dir needs a value" 2 llm-eval list datasets --data-dir && err_has "'--data-dir' needs a value"
expect "bad format" 2 llm-eval list datasets --format xml && err_has "unknown format 'xml'"
expect "singular verb and a prefix" 0 llm-eval $INC list dataset fx_half && out_has "fx/half"

expect "--json over the built-in registry" 0 llm-eval list datasets --json
check "every built-in task's dataset keys, as PyYAML reads them with include: merged" python3 - "$OUT" "$TOP/registry/tasks" <<'PY'
import json, os, sys, yaml
class L(yaml.SafeLoader):
    pass
L.add_multi_constructor("!", lambda loader, suffix, node: None)  # !function
def load(p):
    d = yaml.load(open(p), Loader=L) or {}
    inc = d.pop("include", None)
    out = {}
    for i in ([inc] if isinstance(inc, str) else inc or []):
        out.update(load(os.path.join(os.path.dirname(p), i)))
    out.update(d)
    return out
want = {}
for root, _, files in os.walk(sys.argv[2]):
    for f in files:
        if not f.endswith(".yaml"):
            continue
        d = load(os.path.join(root, f))
        if not isinstance(d.get("task"), str) or "group" in d or "class" in d:
            continue
        dp, dn, df = d.get("dataset_path"), d.get("dataset_name"), d.get("data_files") or {}
        if not dp and not df:
            continue
        e = want.setdefault((dp, dn), [set(), set()])
        e[0].add(d["task"])
        for s, v in df.items():
            for x in ([v] if isinstance(v, str) else v):
                e[1].add((s, x))
        for k in ("test_split", "validation_split", "training_split", "fewshot_split"):
            s = d.get(k)
            if s and s not in df and dp:
                e[1].add((s, "%s/%s/%s.jsonl" % (dp, dn, s) if dn else "%s/%s.jsonl" % (dp, s)))
got = {(r["dataset"], r["name"]): [set(r["tasks"]), {(s["split"], s["file"]) for s in r["splits"]}]
       for r in json.load(open(sys.argv[1]))}
assert len(want) > 80, len(want)
bad = [k for k in set(want) | set(got) if want.get(k) != got.get(k)]
assert not bad, [(k, want.get(k), got.get(k)) for k in bad[:3]]
PY

if [ -d "$SHARED/datasets" ]; then
	expect "built-in registry on ../shared: gsm8k and all of MMLU present" 0 llm-eval list datasets --json --data-dir "$SHARED/datasets"
	check "gsm8k (read by gsm8k and gsm8k_cot) and 57 MMLU subjects are present; the others are missing" python3 - "$OUT" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
g = [r for r in rows if r["dataset"] == "openai/gsm8k"]
assert len(g) == 1 and g[0]["status"] == "present" and {"gsm8k", "gsm8k_cot"} <= set(g[0]["tasks"]), g
m = [r for r in rows if r["dataset"] == "cais/mmlu"]
assert len(m) == 57 and all(r["status"] == "present" for r in m), len(m)
assert all(r["status"] == "missing" for r in rows if r["dataset"] not in ("openai/gsm8k", "cais/mmlu", "openai/openai_humaneval"))
PY
else
	echo "ok - # skip built-in datasets on ../shared: it is absent"
fi
done_testing
