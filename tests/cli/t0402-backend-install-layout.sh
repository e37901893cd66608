#!/bin/sh
# The llamacpp plugin finds its llama.cpp libraries through rpath
# $ORIGIN/llama, so the build layout ($BUILD/lib/llamacpp.so, $BUILD/lib/llama/)
# works unchanged wherever it is installed ($PREFIX/lib/llm-eval/).
. "$(dirname "$0")/lib.sh"

if [ ! -d "$BUILD/lib/llama" ]; then
	echo "ok - install layout # SKIP built against LLAMA_PREFIX, libraries stay there"
	done_testing
	exit
fi
inst="$T/prefix/lib/llm-eval"
mkdir -p "$inst" && cp "$BUILD/lib/llamacpp.so" "$inst/" && cp -R "$BUILD/lib/llama" "$inst/"
check "the plugin's rpath is \$ORIGIN/llama" sh -c \
	"readelf -d '$inst/llamacpp.so' | grep -E 'R(UN)?PATH' | grep -qF '\$ORIGIN/llama'"
check "moved, it resolves llama.cpp from beside itself" sh -c \
	"ldd '$inst/llamacpp.so' | grep 'libllama' | grep -qF '$inst/llama/'"
check "the CPU variants are there for ggml_backend_load_all_from_path" sh -c \
	"ls '$inst/llama/' | grep -q '^libggml-cpu-'"
check "the plugin does not link libllm-eval or the executable" sh -c \
	"! readelf -d '$inst/llamacpp.so' | grep NEEDED | grep -q 'llm-eval'"
done_testing
