#!/bin/sh
# Benchmark of `llm-eval run` end to end with real inference (issue 4):
#   1. time from process start to the first scored document (GSM8K 5-shot and
#      MMLU 5-shot, tiny model), against the bare start of the executable
#      (`llm-eval --version`) as the baseline;
#   2. documents per second for GSM8K (5-shot, max_gen_toks=$GEN_TOKS) and MMLU
#      (5-shot, mmlu_high_school_psychology: $MMLU_DOCS questions) on the tiny
#      and the small generated model, from the engine's own task time (model
#      loading excluded); the tiny model is the baseline of the small one;
#   3. peak RSS (/usr/bin/time -f %M) of MMLU's full 14,042-question test
#      split (the `mmlu` group, 57 subjects) with the tiny model, against the
#      baseline of loading the same model and scoring one MMLU document: the
#      difference is what the run itself costs (target: under 64 MB). Run
#      once (it takes minutes on a shared 2-core machine); FULL_MMLU=0 skips it.
# Also: `list datasets` over the built-in registry against `list tasks`.
# Figures are medians of $RUNS runs, each in its own process. Wall times on a
# shared machine depend on its load (printed first): CPU seconds are printed
# beside them. PARTS=34 runs only parts 3 and 4. THREADS=N passes --threads N
# (the backend's default uses every core: on an oversubscribed machine
# llama.cpp's threads spin at each step, and THREADS=1 can be several times
# faster).
#   bench/run-eval.sh     BUILD=build RUNS=3 GEN_TOKS=32 MMLU_DOCS=20 GSM_DOCS=4 FULL_MMLU=1 PARTS=1234 THREADS=
# Needs ../shared/datasets (else skipped) and the models (make models).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
DATA=${DATA:-$TOP/../shared/datasets}
if [ ! -d "$DATA/mmlu" ] || [ ! -d "$DATA/gsm8k" ]; then
	echo "bench/run-eval.sh: skipped: no datasets in $DATA"
	exit 0
fi
for m in tiny small; do
	[ -f "$BUILD/models/$m.gguf" ] || { echo "bench/run-eval.sh: $BUILD/models/$m.gguf is missing (make models)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench/run-eval.sh: /usr/bin/time is missing (tools/install-deps.sh)" >&2; exit 1; }
export BIN="$BUILD/llm-eval" DATA BUILD RUNS="${RUNS:-3}" GEN_TOKS="${GEN_TOKS:-32}" \
	MMLU_DOCS="${MMLU_DOCS:-20}" GSM_DOCS="${GSM_DOCS:-4}" FULL_MMLU="${FULL_MMLU:-1}" PARTS="${PARTS:-1234}" THREADS="${THREADS:-}"
exec python3 - <<'PY'
import glob, json, os, resource, shutil, statistics, subprocess, tempfile, time

BIN, DATA, BUILD = os.environ["BIN"], os.environ["DATA"], os.environ["BUILD"]
RUNS, GEN_TOKS = int(os.environ["RUNS"]), int(os.environ["GEN_TOKS"])
MMLU_DOCS, GSM_DOCS = int(os.environ["MMLU_DOCS"]), int(os.environ["GSM_DOCS"])
PARTS = os.environ["PARTS"]
TARGS = ["--threads", os.environ["THREADS"]] if os.environ["THREADS"] else []
TMP = tempfile.mkdtemp(prefix="lle-bench-run.")
ENV = dict(os.environ, XDG_CACHE_HOME=TMP + "/cache", XDG_CONFIG_HOME=TMP + "/config",
           XDG_DATA_HOME=TMP + "/data", NO_COLOR="1")
med = statistics.median

def model(name):
    return "%s/models/%s.gguf" % (BUILD, name)

def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def run(args, out=None):
    """Run llm-eval run; its CPU seconds (user + system)."""
    cmd = [BIN, "run", "--data-dir", DATA, "--no-progress"] + TARGS + args
    if out:
        cmd += ["--output", out]
    c0 = child_cpu()
    subprocess.run(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return child_cpu() - c0

def first_doc(args):
    """Seconds from just before the process starts to the first line of the sample log."""
    out = tempfile.mkdtemp(dir=TMP)
    cmd = [BIN, "run", "--data-dir", DATA, "--no-progress", "--output", out, "--log-samples",
           "--batch-size", "1"] + TARGS + args
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = None
    while seen is None:
        for f in glob.glob(out + "/*/samples_*.jsonl*"):
            if os.path.getsize(f) > 0:
                seen = time.perf_counter() - t0
                break
        if seen is None:
            if p.poll() is not None and not glob.glob(out + "/*/samples_*.jsonl*"):
                raise SystemExit("no sample written: %s" % " ".join(cmd))
            time.sleep(0.002)
    p.wait()
    shutil.rmtree(out)
    return seen

def part1():
    print("1. process start to the first scored document (tiny model, --batch-size 1)")
    def bare():
        t0 = time.perf_counter()
        subprocess.run([BIN, "--version"], env=ENV, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - t0
    b = med([bare() for _ in range(max(RUNS, 5))])
    print("   %-44s %8.1f ms" % ("baseline: llm-eval --version", b * 1e3))
    for label, args in (("gsm8k 5-shot (max_gen_toks=%d)" % GEN_TOKS,
                         ["--tasks", "gsm8k", "--limit", "4", "--gen-kwargs", "max_gen_toks=%d" % GEN_TOKS]),
                        ("mmlu_abstract_algebra 5-shot", ["--tasks", "mmlu_abstract_algebra", "--limit", "4"])):
        t = med([first_doc(["--model-path", model("tiny")] + args) for _ in range(RUNS)])
        print("   %-44s %8.1f ms  (%.0fx the baseline)" % (label, t * 1e3, t / b))

def part2():
    print("2. documents per second: over the engine's task time (model load excluded),")
    print("   and per CPU second of the whole process; wall time of the whole run in brackets")
    rows = {}
    for task, limit, extra, label in (
            ("gsm8k", GSM_DOCS, ["--gen-kwargs", "max_gen_toks=%d" % GEN_TOKS],
             "gsm8k 5-shot, max_gen_toks=%d" % GEN_TOKS),
            ("mmlu_high_school_psychology", MMLU_DOCS, [], "mmlu 5-shot (high_school_psychology)")):
        for name in ("tiny", "small"):
            rates, cpus, walls = [], [], []
            for _ in range(RUNS):
                out = tempfile.mkdtemp(dir=TMP)
                cpu = run(["--model-path", model(name), "--tasks", task, "--limit", str(limit)] + extra, out)
                r = json.load(open(glob.glob(out + "/*/results_*.json")[0]))
                n = r["n-samples"][task]["effective"]
                rates.append(n / r["task_seconds"][task])
                cpus.append(n / cpu)
                walls.append(float(r["total_evaluation_time_seconds"]))
                shutil.rmtree(out)
            rows[(task, name)] = med(rates)
            ratio = "" if name == "tiny" else "  (%.2fx tiny)" % (med(rates) / rows[(task, "tiny")])
            print("   %-38s %-5s %7.2f docs/s, %7.2f docs/CPU-s over %d docs  [%.1f s]%s" % (
                label, name, med(rates), med(cpus), n, med(walls), ratio))

def peak(args):
    out = tempfile.mkdtemp(dir=TMP)
    cmd = ["/usr/bin/time", "-f", "%M %e %U %S", BIN, "run", "--data-dir", DATA, "--no-progress",
           "--output", out] + TARGS + args
    p = subprocess.run(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    kib, sec, us, ss = p.stderr.strip().splitlines()[-1].split()
    r = json.load(open(glob.glob(out + "/*/results_*.json")[0]))
    shutil.rmtree(out)
    return int(kib), float(sec), float(us) + float(ss), r

def part3():
    print("3. peak RSS, MMLU 5-shot with the tiny model")
    base = [peak(["--model-path", model("tiny"), "--tasks", "mmlu_abstract_algebra", "--limit", "1"])
            for _ in range(RUNS)]
    bk = med([x[0] for x in base])
    print("   %-44s %8.1f MB" % ("baseline: load the model, score 1 document", bk / 1024))
    if os.environ["FULL_MMLU"] == "0":
        print("   full test split: skipped (FULL_MMLU=0)")
        return
    kib, sec, cpu, r = peak(["--model-path", model("tiny"), "--tasks", "mmlu"])
    n = sum(v["effective"] for k, v in r["n-samples"].items())
    print("   %-44s %8.1f MB  (+%.1f MB over the baseline; target < 64 MB)" % (
        "full test split (mmlu group, 57 subjects)", kib / 1024, (kib - bk) / 1024))
    print("   %d documents in %.0f s (%.0f CPU s), acc %.4f" % (n, sec, cpu, r["results"]["mmlu"]["acc,none"]))

def part4():
    print("4. list datasets over the built-in registry (warm index cache)")
    def lst(args):
        t0 = time.perf_counter()
        subprocess.run([BIN] + args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - t0
    lst(["list", "tasks"])
    lt = med([lst(["list", "tasks"]) for _ in range(max(RUNS, 9))])
    ld = med([lst(["list", "datasets", "--data-dir", DATA]) for _ in range(max(RUNS, 9))])
    print("   %-44s %8.1f ms" % ("baseline: list tasks", lt * 1e3))
    print("   %-44s %8.1f ms  (%.1fx)" % ("list datasets --data-dir ../shared/datasets", ld * 1e3, ld / lt))

print("bench/run-eval.sh: %d runs each, medians; load average %s; %s" % (
    RUNS, open("/proc/loadavg").read().split()[0], "--threads " + os.environ["THREADS"] if TARGS else "the backend's default threads"))
for k, f in (("1", part1), ("2", part2), ("3", part3), ("4", part4)):
    if k in PARTS:
        print()
        f()
shutil.rmtree(TMP)
PY
