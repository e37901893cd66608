#!/bin/sh
# The llamacpp plugin's CPU kernels (docs/backends.md, "CPU kernels"): the
# native backend of `make native-kernels` (lib/llama/native/libggml-cpu.so)
# in place of the prebuilt variants when present; a present but unloadable
# one falls back to the prebuilt kernels with a one-line warning, unless
# LLM_EVAL_LLAMA_CPU=native or a path asked for it (then a one-line error,
# exit 5); results' backend_versions and -v name the kernels used; --help and
# list never load any of it. Runs on a copy of the plugin and its libraries
# in a scratch directory, so the file can be broken without touching $BUILD.
. "$(dirname "$0")/lib.sh"

if [ ! -d "$BUILD/lib/llama" ]; then
	echo "ok - cpu kernels # SKIP built against LLAMA_PREFIX"
	done_testing
	exit
fi
MODEL="$BUILD/models/tiny.gguf"
L="$T/lib"
mkdir -p "$L/llama/native" && cp "$BUILD/lib/llamacpp.so" "$L/" && cp "$BUILD"/lib/llama/*.so "$L/llama/"
export LLM_EVAL_PLUGIN_PATH="$L"
NATIVE="$L/llama/native/libggml-cpu.so"
RUN="--include-path $TOP/examples/demo run --data-dir $TOP/examples/demo/data --model-path $MODEL
	--tasks demo_arith_mc --limit 2 --no-progress --no-cache --no-store --log-samples"

# kernels OUTDIR: the kernels the results file names
kernels() {
	python3 -c 'import glob, json, sys
v = json.load(open(glob.glob(sys.argv[1] + "/tiny/results_*.json")[0]))["backend_versions"]["llamacpp"]
print(v.split("cpu kernels: ")[1].split()[0])' "$1"
}

expect "no native file: the prebuilt kernels, silently" 0 llm-eval -v $RUN --output "$T/o0" &&
	err_has "llamacpp: CPU kernels: prebuilt ($L/llama/libggml-cpu-" &&
	{ ! grep -q "warning" "$ERR" || fail "a warning"; } &&
	{ [ "$(kernels "$T/o0")" = prebuilt ] || fail "results say $(kernels "$T/o0")"; }

head -c 512 "$TOP/README.md" > "$NATIVE"  # not an ELF file
expect "an unloadable native file: prebuilt kernels and a warning" 0 llm-eval $RUN --output "$T/o1" &&
	err_has "warning: llamacpp: native CPU kernels '$NATIVE' cannot be loaded, using the prebuilt ones" &&
	err_has "invalid ELF header" &&
	{ [ "$(grep -c "native CPU kernels" "$ERR")" = 1 ] || fail "not one line"; } &&
	{ [ "$(kernels "$T/o1")" = prebuilt ] || fail "results say $(kernels "$T/o1")"; }

expect "LLM_EVAL_LLAMA_CPU=native with an unloadable file: exit 5" 5 \
	env LLM_EVAL_LLAMA_CPU=native "$LLM_EVAL" $RUN --output "$T/o2" &&
	err_has "native CPU kernels '$NATIVE' cannot be loaded: $NATIVE: invalid ELF header" &&
	{ [ "$(wc -l < "$ERR")" = 1 ] || fail "not one line"; }

expect "LLM_EVAL_LLAMA_CPU=prebuilt never looks at it" 0 \
	env LLM_EVAL_LLAMA_CPU=prebuilt "$LLM_EVAL" $RUN --output "$T/o3" &&
	{ ! grep -q "native" "$ERR" || fail "stderr names the native file"; } &&
	{ [ "$(kernels "$T/o3")" = prebuilt ] || fail "results say $(kernels "$T/o3")"; }

# a shared object, but no ggml backend: ggml's own reason
expect "a path to a library that is no ggml backend: exit 5" 5 \
	env LLM_EVAL_LLAMA_CPU="$BUILD/tests/plugins/testbackend.so" "$LLM_EVAL" $RUN --output "$T/o4" &&
	err_has "native CPU kernels '$BUILD/tests/plugins/testbackend.so' cannot be loaded: " &&
	err_has "failed to find ggml_backend_init"

expect "an unknown LLM_EVAL_LLAMA_CPU: exit 5" 5 env LLM_EVAL_LLAMA_CPU=fast "$LLM_EVAL" $RUN --output "$T/o5" &&
	err_has "LLM_EVAL_LLAMA_CPU='fast': not auto, native, prebuilt or a path"

# start-up paths load no backend: a bad setting and a broken file change nothing
expect "--help loads none of it" 0 env LLM_EVAL_LLAMA_CPU=fast "$LLM_EVAL" --help && err_empty
expect "list models loads none of it" 0 env LLM_EVAL_LLAMA_CPU=native "$LLM_EVAL" list models && err_empty

if [ -f "$BUILD/lib/llama/native/libggml-cpu.so" ]; then
	cp "$BUILD/lib/llama/native/libggml-cpu.so" "$NATIVE"
	expect "make native-kernels built: the native kernels" 0 llm-eval -v $RUN --output "$T/o6" &&
		err_has "llamacpp: CPU kernels: native ($NATIVE)" &&
		{ [ "$(kernels "$T/o6")" = native ] || fail "results say $(kernels "$T/o6")"; }
	check "the same answers' choices as the prebuilt kernels" python3 - "$T/o6" "$T/o3" <<'PY'
import glob, json, sys
def picks(d):
    out = []
    for l in open(glob.glob(d + "/tiny/samples_demo_arith_mc_*.jsonl")[0]):
        s = json.loads(l)
        lp = [r[0][0] for r in s["resps"]]
        out.append(lp.index(max(lp)))
    return out
assert picks(sys.argv[1]) == picks(sys.argv[2])
PY
else
	echo "ok - make native-kernels built: the native kernels # SKIP not built (make native-kernels)"
fi
done_testing
