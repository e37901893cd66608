#!/bin/sh
# llm-eval against llama.cpp's own tools on the same generated models, same
# thread count, same prompts, in one invocation (issue 20):
#   1. MMLU 5-shot, 4 subjects (abstract_algebra, anatomy, astronomy,
#      business_ethics: 487 questions): `llm-eval run` with the llamacpp
#      backend against `llama-perplexity --multiple-choice` given the very
#      prompts llm-eval logged (its binary task format, written here), per
#      model of $MODELS;
#   2. GSM8K 5-shot, $GSM_DOCS documents, greedy: `llm-eval run` with the
#      llamacpp backend against llama-server (8 slots) driven by llm-eval's
#      openai backend, on the tiny model, at each thread count of $GEN_THREADS.
# Prints, per row: CPU seconds (user + system of the whole process, from
# /usr/bin/time; for llama-server its own from /proc while our client runs,
# the client's apart), wall seconds, peak RSS, the ratio peer/llm-eval of CPU
# seconds, and whether the predictions agree (MMLU: each question's right or
# wrong, the only per-question output of llama-perplexity; GSM8K: each
# generated text, byte for byte).
# CPU seconds are what to compare on a shared machine: wall times there are
# noise. Needs `make all models peers` and ../shared/datasets. Not part of
# `make test`.
#   bench/peers.sh      MODELS="tiny small" THREADS=1 GEN_THREADS="1 2" GSM_DOCS=32 PARTS=12
# PEERS=DIR takes the tools from DIR instead of build-peers/bin.
# MODELS may name "medium" too: 16 layers x 1024, f16 (generated here into
# $BUILD/models/medium.gguf on first use; slow on 2 cores); MMLU_LIMIT=N
# scores only the first N questions of each subject. REPEAT=N (default 3)
# runs each side N times, in turn, and prints the medians (each llama-server run
# starts a fresh server, so no prompt is cached from the run before; the
# predictions compared are the last run's). SERVER_FA=auto|on|off:
# llama-server's -fa (default auto, the server's own default, which turns
# flash attention on for the CPU; llm-eval's llamacpp backend keeps it off,
# so only SERVER_FA=off can give byte-identical texts). KEEP=1 keeps the
# outputs and logs and says where. LLE_CPU="native prebuilt" runs llm-eval
# once per word with LLM_EVAL_LLAMA_CPU set to it (the llamacpp plugin's CPU
# kernels: `make native-kernels` against the npm package's variants; default
# unset: the plugin's own choice), each against the same peer runs, a row
# each; the row names the kernels the results file says computed it.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
PEERS=${PEERS:-$TOP/build-peers/bin}
# ../shared from the main checkout, ../../shared from a worktree under wt/
DATA=${DATA:-$TOP/../shared/datasets}
[ -d "$DATA" ] || [ ! -d "$TOP/../../shared/datasets" ] || DATA=$TOP/../../shared/datasets
PARTS=${PARTS:-12}
for t in llama-perplexity llama-server; do
	case $t:$PARTS in llama-perplexity:*1* | llama-server:*2*) ;; *) continue ;; esac
	# skipped, not failed, under `make bench` (the tools take long to build)
	[ -x "$PEERS/$t" ] || { echo "bench/peers.sh: skipped: $PEERS/$t is missing (make peers)"; exit 0; }
done
[ -d "$DATA/mmlu" ] && [ -d "$DATA/gsm8k" ] || { echo "bench/peers.sh: skipped: no datasets in $DATA"; exit 0; }
[ -x /usr/bin/time ] || { echo "bench/peers.sh: /usr/bin/time is missing (tools/install-deps.sh)" >&2; exit 1; }
MODELS=${MODELS:-tiny small}
case " $MODELS " in
*" medium "*)
	[ -f "$BUILD/models/medium.gguf" ] || "$BUILD/tools/mkgguf" -q --layers 16 --embd 1024 --heads 16 \
		--kv-heads 8 --ff 3072 --ctx 2048 --seed 42 --type f16 -o "$BUILD/models/medium.gguf" ;;
esac
export BENCH_DIR="$TOP/bench" BIN="$BUILD/llm-eval" BUILD DATA PEERS MODELS THREADS="${THREADS:-1}" \
	GEN_THREADS="${GEN_THREADS:-1 2}" GSM_DOCS="${GSM_DOCS:-32}" MMLU_LIMIT="${MMLU_LIMIT:-}" \
	PARTS REPEAT="${REPEAT:-3}" SERVER_FA="${SERVER_FA:-auto}" KEEP="${KEEP:-}" LLE_CPU="${LLE_CPU:-}"
exec python3 - <<'PY'
import glob, json, os, shutil, statistics, struct, subprocess, sys, tempfile, time
sys.path.insert(0, os.environ["BENCH_DIR"])
import peer_server

BIN, BUILD, DATA, PEERS = (os.environ[k] for k in ("BIN", "BUILD", "DATA", "PEERS"))
MODELS, THREADS = os.environ["MODELS"].split(), int(os.environ["THREADS"])
GEN_THREADS = [int(x) for x in os.environ["GEN_THREADS"].split()]
GSM_DOCS, MMLU_LIMIT, PARTS = int(os.environ["GSM_DOCS"]), os.environ["MMLU_LIMIT"], os.environ["PARTS"]
REPEAT, SERVER_FA, KEEP = int(os.environ["REPEAT"]), os.environ["SERVER_FA"], os.environ["KEEP"]
CPUS = os.environ["LLE_CPU"].split() or [None]
SUBJECTS = ["abstract_algebra", "anatomy", "astronomy", "business_ethics"]
TMP = tempfile.mkdtemp(prefix="lle-peers.")
ENV = dict(os.environ, XDG_CACHE_HOME=TMP + "/cache", XDG_CONFIG_HOME=TMP + "/config",
           XDG_DATA_HOME=TMP + "/data", NO_COLOR="1")
CTX = 2048

def model(name):
    return "%s/models/%s.gguf" % (BUILD, name)

def median(runs):
    """Each of (cpu, wall, MB) over repeated runs: its median."""
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))

def timed(cmd, log, cpu=None):
    """Run cmd under /usr/bin/time: (cpu seconds, wall seconds, peak MB)."""
    if "--output" in cmd:
        shutil.rmtree(cmd[cmd.index("--output") + 1], ignore_errors=True)
    env = dict(ENV, LLM_EVAL_LLAMA_CPU=cpu) if cpu else ENV
    with open(log, "w") as out:
        p = subprocess.run(["/usr/bin/time", "-o", log + ".time", "-f", "%U %S %e %M"] + cmd,
                           env=env, stdout=out, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise SystemExit("bench/peers.sh: failed (%d): %s\n  see %s" % (p.returncode, " ".join(cmd), log))
    u, s, e, m = open(log + ".time").read().split()[-4:]
    return float(u) + float(s), float(e), int(m) / 1024

def llm_eval(args, out, cpu=None):
    cmd = [BIN, "run", "--data-dir", DATA, "--no-progress", "--no-cache", "--no-store",
           "--output", out, "--log-samples"] + args
    return timed(cmd, out + ".log", cpu)

def kernels(out):
    """The llamacpp backend's version line from a results file: which CPU
    kernels computed it (plugins/llamacpp/plugin.c)."""
    for f in glob.glob(out + "/*/results_*.json"):
        v = json.load(open(f)).get("backend_versions", {}).get("llamacpp") or ""
        if "cpu kernels: " in v:
            return v.split("cpu kernels: ", 1)[1].rstrip(")").split()[0]
    return "?"

def tag(cpu):
    return cpu + "-" if cpu and "/" not in cpu else ""

def samples(out, task):
    f = glob.glob(out + "/*/samples_%s_*.jsonl" % task)[0]
    return sorted((json.loads(l) for l in open(f)), key=lambda d: d["doc_id"])

def row(what, us, peer, agree):
    print("   %-52s %8.2f %8.2f %7.1f | %8.2f %8.2f %7.1f | %5.2fx | %s" % (
        what, us[0], us[1], us[2], peer[0], peer[1], peer[2], peer[0] / us[0], agree))

def header(peer):
    print("   %-52s %8s %8s %7s | %8s %8s %7s | %6s | %s" % (
        "", "CPU-s", "wall-s", "RSS MB", "CPU-s", "wall-s", "RSS MB", "ratio", "predictions"))
    print("   %-52s %-26s | %-26s | %-6s |" % ("", "llm-eval", peer, "peer/us"))

# ---- 1. MMLU --------------------------------------------------------------

def put_str(b, s):
    s = s.encode()
    b += struct.pack("<I", len(s)) + s

def mc_file(path, docs):
    """llama-perplexity's multiple-choice format (tools/perplexity/perplexity.cpp,
    multiple_choice_task::deserialize): n, n offsets, then per task the
    question, mc1 (n answers, answers, n int labels) and mc2 (empty). The
    tool scores question + " " + answer, as lm-evaluation-harness scores
    context + target_delimiter + choice."""
    tasks = []
    for d in docs:
        b = bytearray()
        put_str(b, d["arguments"][0][0])
        b += struct.pack("<I", 4)
        for a in "ABCD":
            put_str(b, a)
        b += struct.pack("<4i", *[int(i == d["target"]) for i in range(4)])
        b += struct.pack("<I", 0)
        tasks.append(bytes(b))
    head = 4 + 4 * len(tasks)
    offs, pos = [], head
    for t in tasks:
        offs.append(pos)
        pos += len(t)
    with open(path, "wb") as f:
        f.write(struct.pack("<I", len(tasks)) + struct.pack("<%dI" % len(tasks), *offs) + b"".join(tasks))

def perplexity_right(log, n):
    """Each task's right (1) or wrong (0), from the running accuracy the tool
    prints after each task ("<n>\\t<100 * correct / n>")."""
    acc = {}
    for line in open(log):
        p = line.strip().split("\t")
        if len(p) == 2 and p[0].isdigit():
            try:
                acc[int(p[0])] = float(p[1])
            except ValueError:
                pass
    right, prev = [], 0
    for i in range(1, n + 1):
        c = round(acc[i] * i / 100)
        right.append(c - prev)
        prev = c
    return right

def part1():
    tasks = ",".join("mmlu_" + s for s in SUBJECTS)
    lim = ["--limit", MMLU_LIMIT] if MMLU_LIMIT else []
    print("1. MMLU 5-shot, %s, %d thread(s), max_length %d; peer: llama-perplexity --multiple-choice" % (
        "+".join(SUBJECTS), THREADS, CTX))
    header("llama-perplexity")
    for name in MODELS:
        plog = TMP + "/ppl-%s.log" % name
        us, peer, ours = {c: [] for c in CPUS}, [], {}
        for r in range(REPEAT):
            # one of each in turn, so both see much the same load
            for c in CPUS:
                out = TMP + "/mmlu-%s%s" % (tag(c), name)
                us[c].append(llm_eval(["--model-path", model(name), "--tasks", tasks, "--max-length", str(CTX),
                                       "--threads", str(THREADS)] + lim, out, c))
                if r == 0:
                    docs = [d for s in SUBJECTS for d in samples(out, "mmlu_" + s)]
                    ours[c] = []
                    for d in docs:
                        lp = [x[0][0] for x in d["resps"]]
                        ours[c].append(int(max(range(4), key=lambda i: lp[i]) == d["target"]))
                    mc_file(TMP + "/mc.bin", docs)
            peer.append(timed([PEERS + "/llama-perplexity", "-m", model(name), "--multiple-choice", "-bf",
                               TMP + "/mc.bin", "-c", str(CTX), "-t", str(THREADS), "-tb", str(THREADS)], plog))
        peer = median(peer)
        theirs = perplexity_right(plog, len(docs))
        for c in CPUS:
            same = sum(a == b for a, b in zip(ours[c], theirs))
            row("%s [%s]: %d q, acc %.2f%% / %.2f%%" % (
                name, kernels(TMP + "/mmlu-%s%s" % (tag(c), name)), len(docs),
                100 * sum(ours[c]) / len(docs), 100 * sum(theirs) / len(docs)),
                median(us[c]), peer, "%d/%d agree" % (same, len(docs)))

# ---- 2. GSM8K -------------------------------------------------------------

def proc_cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

def part2():
    print("2. GSM8K 5-shot, %d documents, greedy, tiny model; peer: llama-server -np 8 driven by llm-eval's openai backend" % GSM_DOCS)
    print("   (llama-server: its CPU while the client runs; the client's own CPU in brackets)")
    header("llama-server")
    for th in GEN_THREADS:
        pout = TMP + "/gsm-peer-%d" % th
        ours, runs = {c: [] for c in CPUS}, []
        for _ in range(REPEAT):
            # one of each in turn, so both see much the same load
            for c in CPUS:
                ours[c].append(llm_eval(["--model-path", model("tiny"), "--tasks", "gsm8k", "--limit",
                                         str(GSM_DOCS), "--max-length", str(CTX), "--threads", str(th)],
                                        TMP + "/gsm-%s%d" % (tag(c), th), c))
            runs.append(server_run(th, pout))
        server, client = median([r[0] for r in runs]), median([r[1] for r in runs])
        b = [d["resps"][0][0] for d in samples(pout, "gsm8k")]
        for c in CPUS:
            out = TMP + "/gsm-%s%d" % (tag(c), th)
            a = [d["resps"][0][0] for d in samples(out, "gsm8k")]
            same = sum(x == y for x, y in zip(a, b))
            row("%d thread(s) [%s] [client %.2f CPU-s]" % (th, kernels(out), client[0]), median(ours[c]), server,
                "%d/%d texts identical" % (same, len(a)))

def server_run(th, pout):
    """A fresh llama-server (no prompt cached from an earlier run) and the
    client once: (server's (cpu, wall, peak MB), client's)."""
    reg = TMP + "/reg-%d" % th
    with peer_server.server("bench/peers.sh", PEERS, model("tiny"), th, SERVER_FA, CTX,
                            TMP + "/server-%d.log" % th, reg, ENV) as srv:
        c0, w0 = proc_cpu(srv.pid), time.time()
        client = timed([BIN, "--include-path", reg, "run", "--data-dir", DATA, "--no-progress",
                        "--no-cache", "--no-store", "--output", pout, "--log-samples",
                        "--model", "peer_server", "--tasks", "gsm8k", "--limit", str(GSM_DOCS)],
                       pout + ".log")
        server_cpu, wall = proc_cpu(srv.pid) - c0, time.time() - w0
        rss = int([l.split()[1] for l in open("/proc/%d/status" % srv.pid) if l.startswith("VmHWM")][0]) / 1024
    return (server_cpu, wall, rss), client

print("bench/peers.sh: %d CPUs, load average %s; llama.cpp tools from %s" % (
    os.cpu_count(), " ".join(open("/proc/loadavg").read().split()[:3]), PEERS))
for k, f in (("1", part1), ("2", part2)):
    if k in PARTS:
        print()
        f()
print()
print("load average at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
if KEEP:
    print("outputs kept in %s" % TMP)
else:
    shutil.rmtree(TMP)
PY
