#!/bin/sh
# llm-eval list datasets: each dataset the tasks read, the tasks that read it,
# and whether its files are present (present, partial, missing, no data dir),
# from --data-dir or LLM_EVAL_DATA_DIR, without opening any data file; table,
# TSV and JSON; the pattern filter; the built-in registry on ../shared.
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
	grep -E "^fx/full +- +present +fx_full,fx_full_again " "$1" &&
	grep -E "^fx/half +cfg +partial +fx_half " "$1" && grep -F "dev.jsonl (missing)" "$1" &&
	grep -E "^fx/templated +a +missing +fx_inc_a " "$1" &&
	grep -E "^fx/shards +- +present " "$1" &&
	grep -E "^\./fx_local\.jsonl +- +present +fx_local " "$1" && grep -F "/tasks/local/./fx_local.jsonl" "$1"' sh "$OUT"

expect "LLM_EVAL_DATA_DIR when there is no flag" 0 env LLM_EVAL_DATA_DIR="$T/data" "$LLM_EVAL" $INC list datasets fx_full --format tsv
check "tsv: a header and one line per dataset, paths under the env var's directory" sh -c '
	[ "$(head -n 1 "$1")" = "$(printf "dataset\tname\tstatus\ttasks\tfiles")" ] &&
	[ "$(wc -l < "$1")" -eq 2 ] &&
	grep -F "$(printf "fx/full\t\tpresent\tfx_full,fx_full_again\ttest=%s/fx/full/test.jsonl" "$2")" "$1"' sh "$OUT" "$T/data"

mkdir -p "$T/empty"
expect "--data-dir wins over LLM_EVAL_DATA_DIR" 0 env LLM_EVAL_DATA_DIR="$T/data" "$LLM_EVAL" $INC list datasets fx_full --data-dir "$T/empty" &&
	out_has "$T/empty/fx/full/test.jsonl (missing)" && out_lacks "present"

expect "no data directory: said per file, local files still resolved" 0 llm-eval $INC list datasets fx &&
	out_has "no data dir" && out_has "test=fx/full/test.jsonl (no data dir)"
check "a task's own relative file needs no data directory" sh -c 'grep -E "^\./fx_local\.jsonl +- +present" "$1"' sh "$OUT"

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
check "JSON: no-data-dir status and null paths" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r) == 1 and r[0]["status"] == "no-data-dir", r
assert all(s["path"] is None and s["present"] is False for s in r[0]["splits"])' "$OUT"
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
