#!/bin/sh
# Generation on a busy machine, under a load this script makes and controls
# (issue 20, "Busy machines"): $LOAD busy-loop processes (`sh` loops, at
# nice $LOAD_NICE) run for the whole timed part, and, in turn in each of
# $REPEAT rounds (each starting one case later than the round before), GSM8K
# 5-shot greedy on the tiny model, $GSM_DOCS documents:
#   llm-eval's llamacpp backend with --threads 2, --threads 1 and no --threads
#   (the default, which follows the load: plugins/llamacpp/threads.c), and
#   llama-server -t 2 and -t 1 (8 slots, fresh per run, driven by llm-eval's
#   openai backend, as bench/peers.sh drives it).
# Prints per case the medians of: CPU seconds (user + system; for the server
# its own while the client runs), wall seconds, voluntary and involuntary
# context switches (all threads), and the CPUs the load processes held while
# it ran; then the ratios llm-eval/server of CPU seconds at the same thread
# count, and whether each case's generated texts are byte-identical to the
# server's with 2 threads. The server runs with flash attention off (as the
# plugin does), so the texts can be identical.
# The timed part holds an flock(2) lock on $BENCH_LOCK when given (a file
# shared by everyone timing things on the machine), so the load made here
# does not fall on others' timings, nor theirs on these. Not part of `make
# test`; needs `make all build/models/tiny.gguf`, llama-server ($PEERS, after
# `make peers`) and ../shared/datasets.
#   bench/busy.sh     LOAD=2 LOAD_NICE=0 GSM_DOCS=16 REPEAT=3 CASES="us2 us1 usauto peer2 peer1"
# A case us2+K=V,... runs llm-eval with --model-args K=V,... too (e.g.
# us2+poll=50: the plugin's pool polling as the server's does).
#                     BENCH_LOCK=/path/to/lock PEERS=build-peers/bin US_OPTS="--model-args poll=50"
# US_OPTS: extra llm-eval arguments for the us* cases (e.g. a backend option).
# KEEP=1 keeps the outputs and logs and says where.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
PEERS=${PEERS:-$TOP/build-peers/bin}
DATA=${DATA:-$TOP/../shared/datasets}
[ -d "$DATA" ] || [ ! -d "$TOP/../../shared/datasets" ] || DATA=$TOP/../../shared/datasets
CASES=${CASES:-us2 us1 usauto peer2 peer1}
case " $CASES " in
*" peer"*) [ -x "$PEERS/llama-server" ] || { echo "bench/busy.sh: skipped: $PEERS/llama-server is missing (make peers)"; exit 0; } ;;
esac
[ -d "$DATA/gsm8k" ] || { echo "bench/busy.sh: skipped: no datasets in $DATA"; exit 0; }
[ -f "$BUILD/models/tiny.gguf" ] || { echo "bench/busy.sh: $BUILD/models/tiny.gguf is missing (make build/models/tiny.gguf)" >&2; exit 1; }
export BENCH_DIR="$TOP/bench" BIN="$BUILD/llm-eval" BUILD DATA PEERS CASES LOAD="${LOAD:-2}" LOAD_NICE="${LOAD_NICE:-0}" \
	GSM_DOCS="${GSM_DOCS:-16}" REPEAT="${REPEAT:-3}" BENCH_LOCK="${BENCH_LOCK:-}" \
	US_OPTS="${US_OPTS:-}" KEEP="${KEEP:-}"
exec python3 - <<'PY'
import fcntl, glob, json, os, shlex, shutil, signal, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, os.environ["BENCH_DIR"])
import peer_server

BIN, BUILD, DATA, PEERS = (os.environ[k] for k in ("BIN", "BUILD", "DATA", "PEERS"))
CASES = os.environ["CASES"].split()
LOAD, LOAD_NICE = int(os.environ["LOAD"]), int(os.environ["LOAD_NICE"])
DOCS, REPEAT = int(os.environ["GSM_DOCS"]), int(os.environ["REPEAT"])
LOCK, US_OPTS, KEEP = os.environ["BENCH_LOCK"], shlex.split(os.environ["US_OPTS"]), os.environ["KEEP"]
TMP = tempfile.mkdtemp(prefix="lle-busy.")
ENV = dict(os.environ, XDG_CACHE_HOME=TMP + "/cache", XDG_CONFIG_HOME=TMP + "/config",
           XDG_DATA_HOME=TMP + "/data", NO_COLOR="1")
CTX = 2048
MODEL = BUILD + "/models/tiny.gguf"
HZ = os.sysconf("SC_CLK_TCK")

def tasks_stat(pid):
    """(cpu seconds, voluntary, involuntary switches) over the live threads of pid."""
    cpu = vol = inv = 0
    for t in glob.glob("/proc/%d/task/*" % pid):
        try:
            f = open(t + "/stat").read().rsplit(")", 1)[1].split()
            st = open(t + "/status").read().split("\n")
        except OSError:
            continue
        cpu += (int(f[11]) + int(f[12])) / HZ
        for l in st:
            if l.startswith("voluntary_ctxt_switches"):
                vol += int(l.split()[1])
            elif l.startswith("nonvoluntary_ctxt_switches"):
                inv += int(l.split()[1])
    return cpu, vol, inv

class Load:
    """LOAD busy loops; held() is the CPUs they got since the last call."""
    def __init__(self, n):
        self.procs = [subprocess.Popen(["nice", "-n", str(LOAD_NICE), "sh", "-c", "while :; do :; done"])
                      for _ in range(n)]
        self.mark()
    def cpu(self):
        return sum(tasks_stat(p.pid)[0] for p in self.procs)
    def mark(self):
        self.c0, self.w0 = self.cpu(), time.time()
    def held(self):
        dt = time.time() - self.w0
        return (self.cpu() - self.c0) / dt if dt > 0 else 0.0
    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()

def run(cmd, log):
    """cmd's (cpu, wall, voluntary, involuntary) from wait4's rusage."""
    if "--output" in cmd:
        shutil.rmtree(cmd[cmd.index("--output") + 1], ignore_errors=True)
    w0 = time.time()
    with open(log, "w") as out:
        p = subprocess.Popen(cmd, env=ENV, stdout=out, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit("bench/busy.sh: failed (%d): %s\n  see %s" % (p.returncode, " ".join(cmd), log))
    return ru.ru_utime + ru.ru_stime, time.time() - w0, ru.ru_nvcsw, ru.ru_nivcsw

def gsm_args(out):
    return ["run", "--data-dir", DATA, "--no-progress", "--no-cache", "--no-store", "--output", out,
            "--log-samples", "--tasks", "gsm8k", "--limit", str(DOCS)]

def us(th, out, margs):
    args = [BIN, "-v", "-v"] + gsm_args(out) + ["--model-path", MODEL, "--max-length", str(CTX)] + US_OPTS
    if margs:
        args += ["--model-args", margs]
    if th:
        args += ["--threads", str(th)]
    return run(args, out + ".log")

def peer(th, out):
    """A fresh llama-server (nothing cached from the run before) and the client
    once: the server's (cpu, wall, voluntary, involuntary) while the client runs."""
    reg = out + ".reg"
    with peer_server.server("bench/busy.sh", PEERS, MODEL, th, "off", CTX, out + ".server.log", reg, ENV) as srv:
        s0 = tasks_stat(srv.pid)
        _, wall, _, _ = run([BIN, "--include-path", reg] + gsm_args(out) + ["--model", "peer_server"],
                            out + ".log")
        s1 = tasks_stat(srv.pid)
    return s1[0] - s0[0], wall, s1[1] - s0[1], s1[2] - s0[2]

def texts(out):
    f = glob.glob(out + "/*/samples_gsm8k_*.jsonl")[0]
    return [d["resps"][0][0] for d in sorted((json.loads(l) for l in open(f)), key=lambda d: d["doc_id"])]

def adapt_counts(log):
    """The thread counts the default chose, from the plugin's -v -v lines."""
    seen = [l.split("llamacpp: ")[1].split()[0] for l in open(log) if " threads instead of " in l]
    return "->".join(seen) if seen else "no change"

def label(case):
    base, _, margs = case.partition("+")
    l = {"us2": "llm-eval --threads 2", "us1": "llm-eval --threads 1", "usauto": "llm-eval (default)",
         "peer2": "llama-server -t 2", "peer1": "llama-server -t 1"}[base]
    return l + (" " + margs if margs else "")
def one(case):
    out = "%s/%s" % (TMP, case)
    base, _, margs = case.partition("+")
    if base.startswith("peer"):
        return peer(int(base[4:]), out)
    return us(0 if base == "usauto" else int(base[2:]), out, margs)

print("bench/busy.sh: %d CPUs, %d busy loops at nice %d, GSM8K %d documents, tiny model, %d rounds; "
      "load average before: %s" % (os.cpu_count(), LOAD, LOAD_NICE, DOCS, REPEAT,
                                   " ".join(open("/proc/loadavg").read().split()[:3])))
if US_OPTS:
    print("llm-eval options: %s" % " ".join(US_OPTS))
lockf = None
if LOCK:
    lockf = open(LOCK, "a")
    t0 = time.time()
    fcntl.flock(lockf, fcntl.LOCK_EX)
    print("lock %s taken after %.0f s" % (LOCK, time.time() - t0))
res, held, adapt = {c: [] for c in CASES}, {c: [] for c in CASES}, {}
load = Load(LOAD)
try:
    time.sleep(1)  # the loops' first second
    for r in range(REPEAT):
        # each round starts one case later, so no case always runs first
        for c in CASES[r % len(CASES):] + CASES[:r % len(CASES)]:
            load.mark()
            res[c].append(one(c))
            held[c].append(load.held())
            if c.startswith("usauto"):
                adapt.setdefault(c, []).append(adapt_counts("%s/%s.log" % (TMP, c)))
finally:
    load.stop()
    if lockf:
        lockf.close()

med = {c: tuple(statistics.median(x[i] for x in res[c]) for i in range(4)) for c in CASES}
ref = texts(TMP + "/peer2") if "peer2" in CASES else None
print("   %-30s %8s %8s %9s %9s %6s | %s" % ("", "CPU-s", "wall-s", "vol-sw", "invol-sw", "load", "texts vs server -t 2"))
for c in CASES:
    m = med[c]
    t = texts("%s/%s" % (TMP, c))
    same = "%d/%d identical" % (sum(a == b for a, b in zip(t, ref)), len(ref)) if ref else "-"
    print("   %-30s %8.2f %8.2f %9d %9d %6.2f | %s" % (label(c), m[0], m[1], m[2], m[3],
                                                   statistics.median(held[c]), same))
    print("   %-30s CPU-s per run: %s%s" % ("", " ".join("%.2f" % x[0] for x in res[c]),
                                            ("; threads: " + ", ".join(adapt[c])) if c in adapt else ""))
print("ratios llm-eval/server, CPU-s (wall-s):")
for u in CASES:
    for p in ("peer2", "peer1"):
        if not u.startswith("us") or p not in med or (u[2] != p[4] and not u.startswith("usauto")):
            continue
        print("   %-30s / %-18s %5.2fx (%5.2fx)" % (label(u), label(p), med[u][0] / med[p][0], med[u][1] / med[p][1]))
print("load average at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
if KEEP:
    print("outputs kept in %s" % TMP)
else:
    shutil.rmtree(TMP)
PY
