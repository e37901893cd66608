#!/bin/sh
# Make the seed corpora of the fuzz drivers (tests/fuzz/fuzz_*.c) from what
# the repository already has: the registry's and the fixtures' task files,
# the templates in them, the demo and fixture datasets, the results fixtures,
# index caches built by `llm-eval list`, a response cache filled by the
# store benchmark's driver, GGUF heads, and small slices of ../shared/datasets
# when it is there (SHARED_DIR overrides). Nothing here is committed: the
# corpora are rebuilt from the sources on every `make fuzz`.
#   tests/fuzz/mkcorpus.sh OUTDIR      (after `make`; BUILD as for make)
# Each driver's input format is described at the top of its source; this
# script writes inputs in those formats. Needs python3 (stdlib only).
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
OUT=${1:?usage: mkcorpus.sh OUTDIR}
SHARED=${SHARED_DIR:-$TOP/../shared}
case $OUT in /*) ;; *) OUT=$TOP/$OUT ;; esac
rm -rf "$OUT"
mkdir -p "$OUT"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/lle-corpus.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# ---- index caches: `list` over the built-in registry and the fixture trees,
# with the cache directory in the scratch dir (never the user's).
mkdir -p "$OUT/index_cache"
for inc in "" tests/fixtures/registry tests/fixtures/harness examples/demo; do
	for what in tasks models categories; do
		XDG_CACHE_HOME=$SCRATCH/xdg HOME=$SCRATCH \
			"$BUILD/llm-eval" ${inc:+--include-path "$inc"} list "$what" >/dev/null 2>&1 || true
	done
done
i=0
for f in "$SCRATCH"/xdg/llm-eval/index/*; do
	[ -f "$f" ] || continue
	i=$((i + 1))
	cp "$f" "$OUT/index_cache/seed$i"
done

# ---- the response cache: a file filled through the real cache code (mode
# byte 0), and round trips (mode byte 1) made below in python.
mkdir -p "$OUT/response_cache"
FILL=$BUILD/bench/store-cache
if [ -x "$FILL" ]; then
	"$FILL" fill "$SCRATCH/c.sqlite" 20 gsm8k@1 12 >/dev/null
	{ printf '\000'; cat "$SCRATCH/c.sqlite"; } >"$OUT/response_cache/file-filled"
fi

SHARED="$SHARED" python3 - "$OUT" <<'PY'
import glob, gzip, json, os, re, struct, sys

out = sys.argv[1]
shared = os.environ.get("SHARED", "")

def put(driver, name, data):
    d = os.path.join(out, driver)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, re.sub(r"[^A-Za-z0-9_.-]", "_", name)), "wb") as f:
        f.write(data)

def head_lines(path, n, limit=4096):
    opener = gzip.open if path.endswith(".gz") else open
    lines = []
    with opener(path, "rb") as f:
        for line in f:
            lines.append(line)
            if len(lines) >= n or sum(map(len, lines)) > limit:
                break
    return b"".join(lines)

task_files = sorted(glob.glob("registry/tasks/**/*.yaml", recursive=True) +
                    glob.glob("tests/fixtures/**/*.yaml", recursive=True) +
                    glob.glob("tests/fixtures/**/*_yaml", recursive=True) +
                    glob.glob("examples/**/*.yaml", recursive=True))
data_files = sorted(f for f in glob.glob("tests/fixtures/**/*", recursive=True) +
                    glob.glob("examples/**/*", recursive=True)
                    if re.search(r"\.(jsonl|json|csv)(\.gz)?$", f) and os.path.isfile(f))
if shared and os.path.isdir(os.path.join(shared, "datasets")):
    sd = sorted(f for f in glob.glob(os.path.join(shared, "datasets", "**", "*"), recursive=True)
                if re.search(r"\.(jsonl|json|csv)(\.gz)?$", f) and os.path.isfile(f))
    data_files += sd[:40]   # small slices of a few files, not all of MMLU

# Documents: objects from the JSON lines data, for templates and tasks.
docs = []
for f in data_files:
    if ".jsonl" not in f:
        continue
    for line in head_lines(f, 3).splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if isinstance(d, dict):
            docs.append(d)
docs = docs[:60] or [{"question": "q", "answer": "a"}]

# ---- task: each task file, with three documents after a NUL.
for i, f in enumerate(task_files):
    text = open(f, "rb").read()
    ds = [docs[(i + k) % len(docs)] for k in range(3)]
    put("task", "%03d-%s" % (i, os.path.basename(f)), text + b"\0" + json.dumps(ds).encode())
    put("task", "%03d-plain-%s" % (i, os.path.basename(f)), text)

# ---- template: the template strings of the task files, with a document.
key = re.compile(r'^\s*(?:-\s*)?(doc_to_text|doc_to_target|doc_to_choice|description|fewshot_delimiter|target_delimiter)\s*:\s*(.+?)\s*$')
n = 0
for i, f in enumerate(task_files):
    for line in open(f, encoding="utf-8", errors="replace"):
        m = key.match(line)
        if not m:
            continue
        v = m.group(2)
        if v.startswith('"'):
            try:
                v = json.loads(v)       # YAML double quotes escape as JSON does
            except ValueError:
                v = v.strip('"')
        elif v.startswith("'"):
            v = v[1:-1].replace("''", "'")
        if not v or v in ("|", ">", "|-", ">-"):
            continue
        n += 1
        put("template", "t%04d" % n, v.encode() + b"\0" + json.dumps(docs[n % len(docs)]).encode())
for j, t in enumerate([
        "{% for c in choices %}{{ loop.index }}. {{ c | trim }}\n{% endfor %}Answer:",
        "{{ question.split(' ')[1:3] | join('-') | upper }} {{ choices[-1] }} {{ 'x' ~ 3 * 2 }}",
        "{% set x = n // 2 %}{% if x > 1 and not ok %}{{ x % 3 }}{% elif x is defined %}{{ x / 4 }}{% else %}{{ none }}{% endif %}",
        "{{ answer | regex_replace('[0-9]+', '#') | replace('#', '<n>') | length }} {{ range(3) | list }}",
        "{{ nested.k[2].z is none }} {{ nested['k'] | first }} {{ question[::-1] }} {{ x | int | float | string }}",
        "{{ (question if ok else answer).strip().lower().startswith('w') }} {{ choices.index('b') }} {{ 'a,b'.split(',') }}",
        "{{ 7 // 0 }} {{ 1.5 % 0 }} {{ n * -3 // 2 }} {{ -7 % 3 }} {{ 2 ** 3 if false else 1e300 * 1e300 }}",
        "{{- question -}}\n\n{#- a comment -#}\n{{ choices | count }} {{ empty | default('d') }} {{ nested.keys() | list }}",
    ]):
    put("template", "hand%02d" % j, t)

# ---- dataset: mode byte + file bytes (see fuzz_dataset.c).
modes = {".jsonl": 0, ".json": 1, ".csv": 2}
for i, f in enumerate(data_files):
    gz = f.endswith(".gz")
    base = f[:-3] if gz else f
    ext = os.path.splitext(base)[1]
    if ext not in modes:
        continue
    body = head_lines(f, 20) if ext != ".json" else (gzip.open if gz else open)(f, "rb").read(8192)
    put("dataset", "%03d-%s" % (i, os.path.basename(base)), bytes([modes[ext]]) + body)
    put("dataset", "%03d-gz-%s" % (i, os.path.basename(base)), bytes([modes[ext] + 3]) + body)
    if gz:
        put("dataset", "%03d-rawgz-%s" % (i, os.path.basename(base)),
            bytes([6 if ext == ".jsonl" else 7]) + open(f, "rb").read(2048))
put("dataset", "csv-quotes", b'\2a,b,"c"\r\n"x ""y""","multi\nline",3\r\n,,\r\n')
put("dataset", "json-array", b'\1[{"a": 1}, {"b": [1, 2, {"c": null}]}, {}]')

# ---- results_import: the results fixtures, each with its samples when any.
for i, f in enumerate(sorted(glob.glob("tests/fixtures/results/**/results_*.json", recursive=True) +
                             glob.glob("tests/fixtures/results/*.json"))):
    body = open(f, "rb").read()
    put("results_import", "%02d-%s" % (i, os.path.basename(f)), body)
    for s in sorted(glob.glob(os.path.join(os.path.dirname(f), "samples_*.jsonl")))[:1]:
        put("results_import", "%02d-samples-%s" % (i, os.path.basename(f)), body + b"\0" + head_lines(s, 5))

# ---- view_samples: an options byte, then the heads of the samples fixtures
# (llm-eval's compact lines and lm-evaluation-harness's spaced ones).
for i, s in enumerate(sorted(glob.glob("tests/fixtures/results/**/samples_*.jsonl", recursive=True))):
    for opt in (0, 0x0d, 0x16):
        put("view_samples", "%02d-%02x-%s" % (i, opt, os.path.basename(s)), bytes([opt]) + head_lines(s, 6))
put("view_samples", "nested-filter", b"\x04" + b'{"doc_id":1,"doc":{"filter":"in"},"filter":"none","acc":1}\n{"doc_id":2,"acc":0,"filter":"a\\"b"}\n{"doc_id":')

# ---- gguf_meta: small GGUF files written here (v2 and v3: strings, arrays,
# nested arrays, every scalar type), and the heads of the vocabulary files.
def gstr(s):
    s = s.encode()
    return struct.pack("<Q", len(s)) + s
def kv(k, t, v):
    return gstr(k) + struct.pack("<I", t) + v
for ver in (2, 3):
    kvs = [kv("general.architecture", 8, gstr("llama")),
           kv("general.u8", 0, b"\x01"), kv("general.i16", 3, b"\x02\x00"), kv("general.f32", 6, struct.pack("<f", 1.5)),
           kv("general.b", 7, b"\x01"), kv("general.u64", 10, struct.pack("<Q", 9)), kv("general.f64", 12, struct.pack("<d", 2.0)),
           kv("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + gstr("a") + gstr("bc") + gstr("")),
           kv("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 2) + struct.pack("<ff", 0.5, -1)),
           kv("nested", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 4, 1) + struct.pack("<i", 5)),
           kv("tokenizer.chat_template", 8, gstr("{% for m in messages %}{{ m.content }}{% endfor %}"))]
    put("gguf_meta", "v%d-all" % ver, b"GGUF" + struct.pack("<IQQ", ver, 0, len(kvs)) + b"".join(kvs))
    put("gguf_meta", "v%d-nochat" % ver, b"GGUF" + struct.pack("<IQQ", ver, 0, 2) + b"".join(kvs[:2]))
for f in sorted(glob.glob("deps/llama/vocab/*.gguf"))[:4] + sorted(glob.glob(os.environ.get("BUILD", "build") + "/models/tiny*.gguf"))[:1]:
    put("gguf_meta", "head-" + os.path.basename(f), open(f, "rb").read(16384))

# ---- response_cache round trips (mode byte 1): kind, context, continuation,
# stops and the text, NUL-separated (see fuzz_response_cache.c).
for j, parts in enumerate([[b"\0Question: 2+2?\nAnswer:", b" 4", b"\n\n", b"Q:", b"The answer is 4."],
                           [b"\1a long context " * 8, b"", b"text with \0 a NUL"],
                           [b"\2rolling text", b"", b""]]):
    put("response_cache", "rt%d" % j, b"\1" + b"\0".join(parts))

# ---- openai_answer: header (step, flags, max_length, BOS) + answers.
tok = lambda ids: json.dumps({"tokens": ids}).encode()
echo = json.dumps({"choices": [{"logprobs": {"token_logprobs": [None, -0.5, -1.25, -0.1, -2.0],
                                             "top_logprobs": [None, {"a": -0.5}, {"b": -0.3}, {"c": -0.1}, {"d": -2.0}]}}]}).encode()
prompt = json.dumps({"choices": [{"prompt_logprobs": [None, {"1": {"logprob": -0.5, "rank": 1}},
                                                      {"2": {"logprob": -1.0, "rank": 2}}, {"3": {"logprob": -0.2, "rank": 1}},
                                                      {"1": {"logprob": -0.7, "rank": 1}}]}]}).encode()
seeds = {
    "ll-echo": (bytes([0, 0, 8, 1]), [tok([5, 6, 7]), tok([5, 6, 7, 8]), echo]),
    "ll-prompt": (bytes([0, 2, 8, 1]), [tok([1, 2]), tok([1, 2, 3]), prompt]),
    "ll-emptyctx": (bytes([0, 0, 8, 1]), [tok([]), tok([4, 5]), echo]),
    "cont": (bytes([2, 0, 8, 1]), [tok([9]), echo]),
    "rolling": (bytes([3, 0, 2, 1]), [tok([3, 4, 5, 6, 7]), echo, echo, echo]),
    "rolling-prompt": (bytes([3, 2, 3, 1]), [tok([3, 4, 5, 6]), prompt, prompt]),
    "score": (bytes([4, 4, 3, 3]), [echo, echo]),
    "gen": (bytes([5, 0, 8, 1]), [json.dumps({"choices": [{"text": "4\n\nQuestion: next"}], "usage": {"completion_tokens": 5}}).encode()]),
    "gen-chat": (bytes([5, 1, 8, 1]), [json.dumps({"choices": [{"message": {"role": "assistant", "content": "Q: 4"}}]}).encode()]),
    "gen-chat-null": (bytes([5, 1, 8, 1]), [json.dumps({"choices": [{"message": {"content": None}}]}).encode()]),
    "error": (bytes([5, 0, 8, 1]), [b'{"error": {"message": "model overloaded"}}', b"not json", b'{"detail": "x"}']),
}
for name, (hdr, answers) in seeds.items():
    put("openai_answer", name, hdr + b"\0".join(answers))
PY
for d in "$OUT"/*; do
	echo "  CORPUS  $(basename "$d"): $(ls "$d" | wc -l) inputs"
done
