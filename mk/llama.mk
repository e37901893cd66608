# llama.cpp for the llamacpp backend plugin.
#
# Default: the prebuilt CPU libraries of the npm package @node-llama-cpp/linux-x64
# and the headers of the matching node-llama-cpp release, taken from the git
# bundle of llama.cpp that package ships (llama/gitRelease.bundle). Both are
# pinned by third_party/llama/package-lock.json (npm checks their integrity) and
# fetched with package scripts disabled: node-llama-cpp's own install script
# would try to download more. Nothing of them is committed.
#
# `make LLAMA_PREFIX=/opt/llama.cpp` builds against your own llama.cpp install
# instead (include/llama.h and lib/libllama.so; CUDA or Metal builds welcome).
#
# Outputs of `make deps`:
#   deps/llama/include/      llama.h, ggml*.h, gguf.h
#   deps/llama/lib/          libllama, libggml*, CPU variant backends
#   deps/llama/vocab/        ggml-vocab-*.gguf (vocabulary-only models, for tests)

LLAMA_NPM_DIR   = third_party/llama
LLAMA_NPM_PKG   = $(LLAMA_NPM_DIR)/node_modules/node-llama-cpp
LLAMA_NPM_BINS  = $(LLAMA_NPM_DIR)/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
LLAMA_DEPS      = deps/llama

ifdef LLAMA_PREFIX
LLAMA_INC     = $(LLAMA_PREFIX)/include
LLAMA_LIBDIR  = $(LLAMA_PREFIX)/lib
LLAMA_LIBS    = -L$(LLAMA_LIBDIR) -lllama -lggml -lggml-base -Wl,-rpath,$(LLAMA_LIBDIR)
LLAMA_STAMP   =
else
LLAMA_INC     = $(LLAMA_DEPS)/include
LLAMA_LIBDIR  = $(LLAMA_DEPS)/lib
# Link by file name: the npm libraries carry versioned sonames and no dev symlinks.
LLAMA_LIBS    = -L$(LLAMA_LIBDIR) -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so
LLAMA_STAMP   = $(LLAMA_DEPS)/.stamp
endif
LLAMA_CFLAGS  = -I$(LLAMA_INC)

DEPS_TARGETS += $(LLAMA_DEPS)/.stamp

$(LLAMA_NPM_DIR)/node_modules/.package-lock.json: $(LLAMA_NPM_DIR)/package.json $(LLAMA_NPM_DIR)/package-lock.json
	# `npm install` with the lock file present installs the locked versions and
	# checks their integrity. Not `npm ci`: it insists on lock entries for the
	# other platforms' optional binaries, which --omit=optional skips anyway.
	cd $(LLAMA_NPM_DIR) && npm install --ignore-scripts --omit=optional --no-audit --no-fund
	@touch $@

$(LLAMA_DEPS)/.stamp: $(LLAMA_NPM_DIR)/node_modules/.package-lock.json
	rm -rf $(LLAMA_DEPS) && mkdir -p $(LLAMA_DEPS)/lib $(LLAMA_DEPS)/include $(LLAMA_DEPS)/vocab $(LLAMA_DEPS)/src
	git init -q --bare $(LLAMA_DEPS)/git
	git -C $(LLAMA_DEPS)/git fetch -q "$(CURDIR)/$(LLAMA_NPM_PKG)/llama/gitRelease.bundle" HEAD
	git -C $(LLAMA_DEPS)/git archive FETCH_HEAD include ggml/include models | tar x -C $(LLAMA_DEPS)/src
	cp $(LLAMA_DEPS)/src/include/*.h $(LLAMA_DEPS)/src/ggml/include/*.h $(LLAMA_DEPS)/include/
	cp $(LLAMA_DEPS)/src/models/ggml-vocab-*.gguf $(LLAMA_DEPS)/vocab/
	cp $(LLAMA_NPM_BINS)/*.so $(LLAMA_DEPS)/lib/
	rm -rf $(LLAMA_DEPS)/git $(LLAMA_DEPS)/src
	@touch $@
