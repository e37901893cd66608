#!/bin/sh
# Data from the Hugging Face Hub, through the mock Hub (tools/lle-mockhub.c,
# 127.0.0.1 only; its Parquet files written here by DuckDB from JSONL): a
# task without a data directory is fetched into the Hub cache in
# huggingface_hub's layout (checked file by file), scores as the same task
# on local files does, runs again offline with identical results and online
# without downloading again; README configs, the usual file patterns and the
# Parquet conversion decide the files; a cache written by the layout rules
# alone is read back; an interrupted download is resumed with Range; a
# corrupted download and a corrupted cached blob are fetched again; 500s are
# retried; two runs fetching the same files at once fetch each once; gated,
# missing configuration, offline and no-network errors say what to do.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
PQ="$BUILD/tools/lle-parquet"
HUBSRV="$BUILD/tools/lle-mockhub"
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; for p in $PIDS; do wait "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
export LLM_EVAL_HUB_BACKOFF_MS=5
unset HF_HUB_OFFLINE

# start_hub NAME ARGS...: a mock Hub over $T/repos; HUB_NAME is its URL.
start_hub() {
	name=$1
	shift
	"$HUBSRV" --root "$T/repos" --log "$T/$name.log" "$@" >"$T/$name.port" 2>"$T/$name.err" &
	pid=$!
	PIDS="$PIDS $pid"
	while [ ! -s "$T/$name.port" ]; do
		kill -0 "$pid" 2>/dev/null || { echo "not ok - mock hub $name did not start"; exit 1; }
		sleep 0.05
	done
	eval "HUB_$name=http://127.0.0.1:$(awk '{ print $2 }' "$T/$name.port")"
}

# ---- repositories -------------------------------------------------------
R="$T/repos/lle"
mkdir -p "$R/qa/main/easy" "$R/qa/main/hard" "$R/plain/main/data" "$R/script/main" \
	"$R/script/convert/default/test" "$R/gated/main/data" "$T/local/qa" "$T/inc/tasks"
cp "$TOP/tests/fixtures/runx/data/runx/frac.jsonl" "$T/local/qa/test.jsonl"
head -n 4 "$TOP/tests/fixtures/runx/data/runx/quick.jsonl" >"$T/local/qa/train.jsonl"
check "DuckDB writes the repositories' Parquet files" sh -c '
	"$1" write "$2/test.jsonl" "$3/qa/main/easy/test-00000.parquet" 10 &&
	"$1" write "$2/test.jsonl" "$3/plain/main/data/test-00000-of-00001.parquet" &&
	"$1" write "$2/train.jsonl" "$3/plain/main/data/train-00000-of-00001.parquet" &&
	"$1" write "$2/test.jsonl" "$3/script/convert/default/test/0000.parquet" &&
	"$1" write "$2/test.jsonl" "$3/gated/main/data/test-00000-of-00001.parquet" &&
	"$1" write "$2/train.jsonl" "$3/gated/main/data/train-00000-of-00001.parquet"' sh "$PQ" "$T/local/qa" "$R"
cp "$T/local/qa/train.jsonl" "$R/qa/main/easy/train.jsonl"
cp "$T/local/qa/train.jsonl" "$R/qa/main/hard/test.jsonl"
cat >"$R/qa/main/README.md" <<'MD'
---
license: mit
configs:
- config_name: easy
  data_files:
  - split: test
    path: easy/test-*.parquet
  - split: train
    path: easy/train.jsonl
- config_name: hard
  data_files:
  - split: test
    path: hard/test.jsonl
---
# A question set
MD
echo "# script dataset: the Hub's Parquet conversion serves it" >"$R/script/main/README.md"
echo "import datasets" >"$R/script/main/script.py"

# tasks: the same questions from each repository, and from local files
task() { # NAME DATASET_PATH DATASET_NAME(or -) [FEWSHOT]
	{
		echo "task: $1"
		echo "dataset_path: $2"
		[ "$3" = - ] || echo "dataset_name: $3"
		echo "output_type: multiple_choice"
		echo "test_split: test"
		[ -z "${4:-}" ] || printf 'fewshot_split: train\nnum_fewshot: 2\n'
		echo 'doc_to_text: "Q: {{q}}\nA:"'
		echo 'doc_to_choice: "{{choices}}"'
		echo "doc_to_target: label"
		echo "metric_list: [{metric: acc, aggregation: mean, higher_is_better: true}]"
		echo "metadata: {version: 1.0}"
	} >"$T/inc/tasks/$1.yaml"
}
task h_qa lle/qa easy 2
task h_local local qa 2
task h_plain lle/plain - 2
task h_script lle/script -
task h_gated lle/gated - 2
task h_nocfg lle/qa medium
task h_hand lle/handmade -
RUN="$LLM_EVAL --include-path $T/inc run --model-path $MODEL --no-progress --log-samples"
start_hub a
export HF_ENDPOINT="$HUB_a"
CACHE="$T/hf/hub"

expect "a Hub task runs with nothing but its name" 0 $RUN --tasks h_qa --output "$T/o1"
expect "the same task on local files" 0 $RUN --tasks h_local --data-dir "$T" --output "$T/o-local"
cat >"$T/same.py" <<'PY'
import glob, json, sys
def load(d, task):
    r = json.load(open(glob.glob(d + "/*/results_*.json")[0]))
    s = [json.loads(l) for l in open(glob.glob(d + "/*/samples_%s_*.jsonl" % task)[0])]
    return r["results"][task]["acc,none"], r["n-samples"][task], [(x["doc"], x["arguments"], x["resps"]) for x in s]
a = load(sys.argv[1], sys.argv[2])
b = load(sys.argv[3], sys.argv[4])
assert a == b, (a[:2], b[:2])
assert a[1] == {"original": 25, "effective": 25}, a[1]
PY
check "Hub and local files give the same documents, prompts, answers and score" \
	python3 "$T/same.py" "$T/o1" h_qa "$T/o-local" h_local
check "the Hub cache has huggingface_hub's layout" python3 - "$CACHE" "$HUB_a" <<'PY'
import hashlib, json, os, sys, urllib.request
cache, hub = sys.argv[1], sys.argv[2]
info = json.load(urllib.request.urlopen(hub + "/api/datasets/lle/qa/revision/main?blobs=true"))
repo = os.path.join(cache, "datasets--lle--qa")
assert open(os.path.join(repo, "refs", "main")).read() == info["sha"]
snap = os.path.join(repo, "snapshots", info["sha"])
have = sorted(os.path.relpath(os.path.join(d, f), snap) for d, _, fs in os.walk(snap) for f in fs)
assert have == ["README.md", "easy/test-00000.parquet", "easy/train.jsonl"], have
for s in info["siblings"]:
    p = os.path.join(snap, s["rfilename"])
    if not os.path.lexists(p):
        continue
    etag = s["lfs"]["sha256"] if "lfs" in s else s["blobId"]
    assert os.path.islink(p) and not os.path.isabs(os.readlink(p)), p
    assert os.path.realpath(p) == os.path.realpath(os.path.join(repo, "blobs", etag)), p
    data = open(p, "rb").read()
    assert len(data) == s["size"]
    if "lfs" in s:
        assert hashlib.sha256(data).hexdigest() == etag
assert not [f for f in os.listdir(os.path.join(repo, "blobs")) if f.endswith(".incomplete")]
assert os.path.isdir(os.path.join(cache, ".locks", "datasets--lle--qa"))
PY
check "the results' configs record the dataset commit" python3 - "$T/o1" "$HUB_a" <<'PY'
import glob, json, sys, urllib.request
r = json.load(open(glob.glob(sys.argv[1] + "/*/results_*.json")[0]))
info = json.load(urllib.request.urlopen(sys.argv[2] + "/api/datasets/lle/qa/revision/main"))
c = r["configs"]["h_qa"]
assert c["dataset_kwargs"]["revision"] == info["sha"], c
assert c["dataset_path"] == "lle/qa" and c["dataset_name"] == "easy"
PY
grep -c "^cdn GET" "$T/a.log" >"$T/n1"
expect "offline afterwards (HF_HUB_OFFLINE=1)" 0 env HF_HUB_OFFLINE=1 HF_ENDPOINT=http://127.0.0.1:1 $RUN --tasks h_qa --output "$T/o2"
check "offline: identical results" python3 "$T/same.py" "$T/o1" h_qa "$T/o2" h_qa
# run --offline: the same, with the live Hub named in HF_ENDPOINT and never asked
wc -l <"$T/a.log" >"$T/n-before"
expect "offline afterwards (run --offline)" 0 $RUN --offline --tasks h_qa --output "$T/o2b"
check "--offline: identical results" python3 "$T/same.py" "$T/o1" h_qa "$T/o2b" h_qa
check "--offline: not one request to the Hub" sh -c '[ "$(wc -l <"$1")" = "$(cat "$2")" ]' sh "$T/a.log" "$T/n-before"
expect "online again" 0 $RUN --tasks h_qa --output "$T/o3"
check "a rerun at the same revision downloads nothing" sh -c '[ "$(grep -c "^cdn GET" "$1")" = "$(cat "$2")" ] &&
	[ "$(grep -c "resolve/" "$1")" = 3 ]' sh "$T/a.log" "$T/n1"

# dataset_kwargs.revision (what the harness hands load_dataset): the split is
# read at that revision; one the Hub does not have is an error, not main
sha=$(python3 -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/api/datasets/lle/qa/revision/main"))["sha"])' "$HUB_a")
task h_pin lle/qa easy 2
echo "dataset_kwargs: {revision: $sha}" >>"$T/inc/tasks/h_pin.yaml"
task h_badrev lle/qa easy
echo "dataset_kwargs: {revision: 0123456789abcdef0123456789abcdef01234567}" >>"$T/inc/tasks/h_badrev.yaml"
expect "dataset_kwargs.revision: a commit" 0 $RUN --tasks h_pin --output "$T/o-pin"
check "... the documents of that commit, which the configs keep" python3 "$T/same.py" "$T/o1" h_qa "$T/o-pin" h_pin
expect "dataset_kwargs.revision: one the Hub does not have" 4 $RUN --tasks h_badrev --output "$T/o-x" &&
	err_has "0123456789abcdef0123456789abcdef01234567"

expect "the usual file patterns (data/SPLIT-NNNNN-of-NNNNN)" 0 $RUN --tasks h_plain --output "$T/o-plain"
check "... same results as local files" python3 "$T/same.py" "$T/o-plain" h_plain "$T/o-local" h_local
expect "a script dataset: the Hub's Parquet conversion" 0 $RUN --tasks h_script --output "$T/o-script"
check "... read from refs/convert/parquet, recorded under refs/" sh -c '
	test -f "$1/datasets--lle--script/refs/refs/convert/parquet" &&
	ls "$1"/datasets--lle--script/snapshots/*/default/test/0000.parquet' sh "$CACHE"
expect "a configuration that does not exist" 4 $RUN --tasks h_nocfg --output "$T/o-x" &&
	err_has "task 'h_nocfg': split 'test': dataset 'lle/qa' has no configuration 'medium' (it has: easy, hard)"

# ---- a cache written by the layout rules alone, read back offline ------
check "a cache made by hand (blobs, snapshots, refs)" python3 - "$CACHE" "$T/local/qa/test.jsonl" <<'PY'
import hashlib, os, sys
cache, src = sys.argv[1], sys.argv[2]
repo = os.path.join(cache, "datasets--lle--handmade")
commit = "0123456789abcdef0123456789abcdef01234567"
data = open(src, "rb").read()
sha = hashlib.sha256(data).hexdigest()
os.makedirs(os.path.join(repo, "blobs"))
open(os.path.join(repo, "blobs", sha), "wb").write(data)
os.makedirs(os.path.join(repo, "snapshots", commit, "data"))
os.symlink(os.path.join("..", "..", "..", "blobs", sha), os.path.join(repo, "snapshots", commit, "data", "test.jsonl"))
os.makedirs(os.path.join(repo, "refs"))
open(os.path.join(repo, "refs", "main"), "w").write(commit)
PY
expect "... is read offline" 0 env HF_HUB_OFFLINE=1 $RUN --tasks h_hand --output "$T/o-hand"
check "... with the score of the same documents fetched (zero-shot)" python3 - "$T/o-hand" "$T/o-script" <<'PY'
import glob, json, sys
a, b = (json.load(open(glob.glob(d + "/*/results_*.json")[0])) for d in sys.argv[1:])
assert a["results"]["h_hand"]["acc,none"] == b["results"]["h_script"]["acc,none"]
assert a["n-samples"]["h_hand"]["effective"] == 25
PY

# ---- errors ---------------------------------------------------------------
expect "offline, not in the cache" 4 env HF_HUB_OFFLINE=1 $RUN --tasks h_gated --output "$T/o-x" &&
	err_has "dataset 'lle/gated' (revision 'main', split 'test') is not in the Hub cache at $CACHE/datasets--lle--gated, and HF_HUB_OFFLINE is set"
expect "run --offline, not in the cache: the cache path and the reason" 4 $RUN --offline --tasks h_gated --output "$T/o-x" &&
	err_has "dataset 'lle/gated' (revision 'main', split 'test') is not in the Hub cache at $CACHE/datasets--lle--gated, and --offline is given"
expect "no network, not in the cache" 4 env HF_ENDPOINT=http://127.0.0.1:1 $RUN --tasks h_gated --output "$T/o-x" &&
	err_has "cannot reach the Hub at http://127.0.0.1:1 (" &&
	err_has "and dataset 'lle/gated' (revision 'main') is not in the Hub cache at $CACHE/datasets--lle--gated"
expect "no network, in the cache: the cached copy, said" 0 env HF_ENDPOINT=http://127.0.0.1:1 $RUN --tasks h_qa --output "$T/o-x" &&
	err_has "using the Hub cache's copy of 'lle/qa'"
start_hub g --gated lle/gated=sesame
expect "gated, no token: 401 says what to do" 4 env HF_ENDPOINT="$HUB_g" $RUN --tasks h_gated --output "$T/o-x" &&
	err_has "dataset 'lle/gated' needs a Hugging Face token (HTTP 401: it is gated or private): accept its terms at $HUB_g/datasets/lle/gated, then set HF_TOKEN"
expect "gated, another token: 403" 4 env HF_ENDPOINT="$HUB_g" HF_TOKEN=wrong $RUN --tasks h_gated --output "$T/o-x" &&
	err_has "dataset 'lle/gated': the Hub refused the token (HTTP 403)"
mkdir -p "$T/hf"
echo sesame >"$T/hf/token"
expect "gated, the token file" 0 env HF_ENDPOINT="$HUB_g" $RUN --tasks h_gated --output "$T/o-g"
check "the token went to the Hub, never to the CDN" sh -c '
	grep -q "^api GET /api/datasets/lle/gated/revision/main range=- auth=yes" "$1" &&
	grep -q "^cdn GET" "$1" && ! grep -q "^cdn .*auth=yes" "$1"' sh "$T/g.log"
rm "$T/hf/token"

# ---- faults ---------------------------------------------------------------
fresh() { rm -rf "$CACHE"; }
fresh
start_hub drop --drop 1:300
expect "a dropped download is resumed" 0 env HF_ENDPOINT="$HUB_drop" $RUN --tasks h_qa --output "$T/o-drop"
check "... with a Range request from where it stopped" grep -q "^cdn GET .* range=bytes=300-" "$T/drop.log"
check "... and the same results" python3 "$T/same.py" "$T/o1" h_qa "$T/o-drop" h_qa
fresh
start_hub bad --corrupt 1
expect "a corrupted download is fetched again" 0 env HF_ENDPOINT="$HUB_bad" $RUN --tasks h_qa --output "$T/o-bad"
check "... twice from the CDN, same results" sh -c '[ "$(grep -c "^cdn GET /cdn/lle/qa/.*test-00000.parquet" "$1")" = 2 ] &&
	python3 "$2" "$3" h_qa "$4" h_qa' sh "$T/bad.log" "$T/same.py" "$T/o1" "$T/o-bad"
blob=$(readlink -f "$CACHE"/datasets--lle--qa/snapshots/*/easy/test-00000.parquet)
python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[10] ^= 1; open(p, "wb").write(b)' "$blob"
expect "a damaged cached blob, offline: an error naming it" 4 env HF_HUB_OFFLINE=1 $RUN --tasks h_qa --output "$T/o-x" &&
	err_has "in the Hub cache is damaged (its sha256 differs)"
expect "a damaged cached blob, online: fetched again" 0 env HF_ENDPOINT="$HUB_bad" $RUN --tasks h_qa --output "$T/o-x" &&
	err_has "is damaged (size or sha256 differs); fetching it again"
fresh
start_hub flaky --fail 3
expect "500s are retried" 0 env HF_ENDPOINT="$HUB_flaky" $RUN --tasks h_qa --output "$T/o-flaky"
fresh
start_hub slow --delay-ms 400
env HF_ENDPOINT="$HUB_slow" $RUN --tasks h_qa --output "$T/o-p1" >"$T/p1.out" 2>&1 &
p1=$!
env HF_ENDPOINT="$HUB_slow" $RUN --tasks h_qa --output "$T/o-p2" >"$T/p2.out" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check "two runs fetching at once both succeed" sh -c '[ "$1" = 0 ] && [ "$2" = 0 ]' sh "$r1" "$r2"
check "... and each file is downloaded once" sh -c '
	[ "$(grep -c "^cdn GET /cdn/lle/qa/.*test-00000.parquet" "$1")" = 1 ] &&
	[ "$(grep -c "^cdn GET /cdn/lle/qa/.*train.jsonl" "$1")" = 1 ]' sh "$T/slow.log"

# ---- llm-eval data pull|list|verify|rm --------------------------------------
fresh
expect "data pull: a task's evaluated and few-shot splits" 0 env HF_ENDPOINT="$HUB_a" \
	"$LLM_EVAL" --include-path "$T/inc" data pull h_qa h_script &&
	out_has "h_qa: split 'test': 25 documents from the Hub cache, commit" &&
	out_has "h_qa: split 'train': 3 documents from the Hub cache" &&
	out_has "h_script: split 'test': 25 documents"
wc -l <"$T/a.log" >"$T/n-before"
expect "data pull --offline: the cache has it" 0 "$LLM_EVAL" --include-path "$T/inc" data pull --offline h_qa &&
	out_has "h_qa: split 'test': 25 documents from the Hub cache, commit"
check "... and the Hub was not asked" sh -c '[ "$(wc -l <"$1")" = "$(cat "$2")" ]' sh "$T/a.log" "$T/n-before"
expect "data pull --offline: not in the cache" 4 "$LLM_EVAL" --include-path "$T/inc" data pull --offline h_gated &&
	err_has "is not in the Hub cache at $CACHE/datasets--lle--gated, and --offline is given"
expect "list datasets: what was pulled is cached, the Parquet conversion too; the rest remote" 0 \
	"$LLM_EVAL" --include-path "$T/inc" list datasets --format tsv 'h_*' &&
	out_has "$(printf 'lle/qa\teasy\thub\tcached\th_qa\t')" &&
	out_has "$(printf 'lle/script\t\thub\tcached\th_script\t')" &&
	out_has "$(printf 'lle/gated\t\thub\tremote\th_gated\t')"
expect "... then the run needs no network" 0 env HF_HUB_OFFLINE=1 $RUN --tasks h_qa --output "$T/o-pulled"
check "... with the same results" python3 "$T/same.py" "$T/o1" h_qa "$T/o-pulled" h_qa
expect "data list" 0 "$LLM_EVAL" data list &&
	out_has "lle/qa" && out_has "lle/script" && out_has "main=" && out_has "refs/convert/parquet="
expect "data list --json" 0 "$LLM_EVAL" data list --json
check "... is JSON naming the cache and each dataset" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["cache"] == sys.argv[2], d
assert sorted(x["dataset"] for x in d["datasets"]) == ["lle/qa", "lle/script"], d
assert all(x["bytes"] > 0 for x in d["datasets"])' "$OUT" "$CACHE"
expect "data verify: whole" 0 "$LLM_EVAL" data verify && out_has "all whole"
blob=$(readlink -f "$CACHE"/datasets--lle--qa/snapshots/*/easy/test-00000.parquet)
printf 'x' >>"$blob"
expect "data verify: a damaged blob, exit 4" 4 "$LLM_EVAL" data verify lle/qa &&
	out_has "lle/qa: damaged: $blob"
expect "data rm" 0 "$LLM_EVAL" data rm lle/qa && out_has "removed lle/qa"
check "... the dataset is gone, the other stays" sh -c '[ ! -e "$1/datasets--lle--qa" ] && [ -d "$1/datasets--lle--script" ]' sh "$CACHE"
expect "data rm of what is not there" 4 "$LLM_EVAL" data rm lle/qa && err_has "dataset 'lle/qa' is not in the Hub cache"
expect "data with no action" 2 "$LLM_EVAL" data
done_testing
