# Generated GGUF models for tests and benchmarks (tools/mkgguf.c).
#
#   $(BUILD)/tools/mkgguf         the generator (links libggml-base only)
#   $(BUILD)/models/tiny.gguf     2 layers, 64 wide, 4 heads (2 kv), ctx 512, f32,
#                                 llama SPM vocabulary (32000 tokens, adds BOS)   -> TEST_DEPS
#   $(BUILD)/models/tiny-f16.gguf the same weights in f16                         -> TEST_DEPS
#   $(BUILD)/models/tiny-gpt2.gguf  tiny with the GPT-2 vocabulary (BPE, no BOS),
#                                 f16                                             -> TEST_DEPS
#   $(BUILD)/models/small.gguf    8 layers, 512 wide, 8 heads (4 kv), ctx 2048, f16 -> BENCH_DEPS
#   make models                   all of them
#
# The vocabularies come from `make deps` (deps/llama/vocab/). With
# LLAMA_PREFIX=/opt/llama.cpp the libraries come from the prefix, but a prefix
# install has no vocabulary files: run `make deps` once anyway, or point
# GGUF_VOCAB_DIR at a llama.cpp checkout's models/ directory.

MKGGUF          = $(BUILD)/tools/mkgguf
GGUF_MODELS     = $(BUILD)/models
GGUF_VOCAB_DIR ?= deps/llama/vocab
GGUF_VOCAB_SPM  = $(GGUF_VOCAB_DIR)/ggml-vocab-llama-spm.gguf
GGUF_VOCAB_GPT2 = $(GGUF_VOCAB_DIR)/ggml-vocab-gpt-2.gguf
# libggml-base holds the gguf_* functions; the npm copy has no dev symlink.
GGUF_BASE_LIB   = $(if $(LLAMA_PREFIX),-lggml-base,-l:libggml-base.so)

TINY_GGUF_ARGS  = --layers 2 --embd 64 --heads 4 --kv-heads 2 --ff 192 --ctx 512 --seed 42
SMALL_GGUF_ARGS = --layers 8 --embd 512 --heads 8 --kv-heads 4 --ff 1536 --ctx 2048 --seed 42 --type f16

TEST_DEPS  += $(GGUF_MODELS)/tiny.gguf $(GGUF_MODELS)/tiny-f16.gguf $(GGUF_MODELS)/tiny-gpt2.gguf
BENCH_DEPS += $(GGUF_MODELS)/small.gguf

.PHONY: models
models: $(GGUF_MODELS)/tiny.gguf $(GGUF_MODELS)/tiny-f16.gguf $(GGUF_MODELS)/tiny-gpt2.gguf $(GGUF_MODELS)/small.gguf

$(MKGGUF): tools/mkgguf.c src/util/err.h $(LLAMA_STAMP)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LLAMA_CFLAGS) -DMKGGUF_VOCAB='"$(abspath $(GGUF_VOCAB_SPM))"' \
		-o $@ $< $(ALL_LDFLAGS) -L$(LLAMA_LIBDIR) $(GGUF_BASE_LIB) \
		-Wl,-rpath,$(abspath $(LLAMA_LIBDIR)) -lm

# Each model depends on the generator and its vocabulary, so a change to either
# regenerates it; mkgguf writes OUT.tmp and renames, so an interrupted build
# never leaves a truncated model that looks up to date.
$(GGUF_MODELS)/tiny.gguf: $(MKGGUF) $(GGUF_VOCAB_SPM)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$(MKGGUF) -q $(TINY_GGUF_ARGS) --vocab $(GGUF_VOCAB_SPM) -o $@

$(GGUF_MODELS)/tiny-f16.gguf: $(MKGGUF) $(GGUF_VOCAB_SPM)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$(MKGGUF) -q $(TINY_GGUF_ARGS) --type f16 --vocab $(GGUF_VOCAB_SPM) -o $@

$(GGUF_MODELS)/tiny-gpt2.gguf: $(MKGGUF) $(GGUF_VOCAB_GPT2)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$(MKGGUF) -q $(TINY_GGUF_ARGS) --type f16 --vocab $(GGUF_VOCAB_GPT2) -o $@

$(GGUF_MODELS)/small.gguf: $(MKGGUF) $(GGUF_VOCAB_SPM)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$(MKGGUF) -q $(SMALL_GGUF_ARGS) --vocab $(GGUF_VOCAB_SPM) -o $@

# The vocabularies are unpacked by `make deps`; without it, say so instead of
# make's "no rule to make target".
$(GGUF_VOCAB_DIR)/%.gguf:
	@echo "error: vocabulary '$@' is missing: run 'make deps' (or set GGUF_VOCAB_DIR)" >&2
	@exit 1

# The llama.cpp tests link libllama (the generic unit-test rule links only the
# project's objects) and know where the generated models and CPU backends are.
GGUF_TEST_CFLAGS = $(LLAMA_CFLAGS) -DGGUF_TEST_MODELS='"$(abspath $(GGUF_MODELS))"' \
	-DGGUF_TEST_LIBDIR='"$(abspath $(LLAMA_LIBDIR))"' -DGGUF_TEST_VOCAB_DIR='"$(abspath $(GGUF_VOCAB_DIR))"'
$(BUILD)/tests/test_gguf: tests/unit/test_gguf.c tests/unit/check.h $(LLAMA_STAMP)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(GGUF_TEST_CFLAGS) -Itests/unit -o $@ $< $(ALL_LDFLAGS) \
		$(LLAMA_LIBS) -Wl,-rpath,$(abspath $(LLAMA_LIBDIR)) -lm
