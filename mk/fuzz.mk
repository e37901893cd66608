# Fuzzing (tests/fuzz/, HACKING.md "Fuzzing"): libFuzzer drivers, one per
# parser that reads what a user, a server or a file on disk gives us.
#
#   template          Jinja-subset templates: compile and render
#   task              task YAML -> task -> requests, scores, aggregates
#   dataset           dataset readers: JSONL, JSON, CSV, each also gzipped
#   results_import    `results import`: results JSON + samples into a run store
#   gguf_meta         GGUF metadata key lookup (the planner's check)
#   index_cache       the registry's index cache blob and file
#   response_cache    the response cache: a corrupt file, and put/lookup round trips
#   openai_answer     the OpenAI backend's reading of server answers
# Not yet: Parquet (no reader exists) and a chat template renderer (chat
# templates are applied by llama.cpp or the server, not by llm-eval code).
#
# make fuzz            builds the drivers with clang -fsanitize=fuzzer,address,undefined
#                      in $(FUZZ_BUILD) (its own objects, instrumented), makes the
#                      seed corpora (tests/fuzz/mkcorpus.sh) and runs each driver for
#                      FUZZ_SECONDS (default 60); FUZZERS="a b" picks some.
# make fuzz-ci         the same for 20 s each (CI, after the tests)
# Both end non-zero when a driver finds a crash, a leak, UB or a timeout, and
# print the reproducer's path; a found input is kept in $(FUZZ_BUILD)/corpus-work.
#
# make test also builds $(BUILD)/tests/test_fuzz_NAME: the same driver with the
# normal compiler and tests/fuzz/replay.c as main(), run over
# tests/fuzz/regressions/NAME/ (the inputs of crashes found and fixed), so a
# regression is caught without clang's fuzzer runtime.

FUZZERS      ?= template task dataset results_import gguf_meta index_cache response_cache openai_answer
FUZZ_ALL      = template task dataset results_import gguf_meta index_cache response_cache openai_answer
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_HDR      = tests/fuzz/fuzz.h

FUZZ_REPLAY  = $(FUZZ_ALL:%=$(BUILD)/tests/test_fuzz_%)
TEST_DEPS   += $(FUZZ_REPLAY)

FUZZ_LIBS    = $(ALL_LDFLAGS) $(CORE_LIBS) $(ENGINE_LIBS) -lm -ldl -lpthread
OPENAI_FUZZ_CFLAGS = $(shell $(PKG_CONFIG) --cflags libcurl)
OPENAI_FUZZ_LIBS   = $(ALL_LDFLAGS) $(shell $(PKG_CONFIG) --libs libcurl jansson) -lm
# mk/openai.mk is read after this file: its OPENAI_SRC is not set yet here.
OPENAI_FUZZ_SRC    = $(wildcard plugins/openai/*.c)
OPENAI_FUZZ_DEPS   = $(OPENAI_FUZZ_SRC) plugins/openai/openai.h include/llm-eval/backend.h

# ---- replay binaries (make test) ----------------------------------------------

$(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_HDR) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DFUZZ_REGRESSIONS='"$(CURDIR)/tests/fuzz/regressions/$*"' -o $@ \
		$< tests/fuzz/replay.c $(LIB_OBJ) $(FUZZ_LIBS)

# The OpenAI driver is compiled with the plugin's source files (their shared
# oa_* functions are hidden in the plugin) and links what the plugin links,
# not the engine.
$(BUILD)/tests/test_fuzz_openai_answer: tests/fuzz/fuzz_openai_answer.c tests/fuzz/replay.c $(FUZZ_HDR) \
		$(OPENAI_FUZZ_DEPS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(OPENAI_FUZZ_CFLAGS) -DFUZZ_REGRESSIONS='"$(CURDIR)/tests/fuzz/regressions/openai_answer"' \
		-o $@ $< tests/fuzz/replay.c $(OPENAI_FUZZ_SRC) $(OPENAI_FUZZ_LIBS)

# ---- libFuzzer binaries (make fuzz) ---------------------------------------------
# Built by a sub-make with BUILD=$(FUZZ_BUILD), so every object of the project
# is compiled again with coverage instrumentation and the sanitizers.

FUZZ_BINS = $(FUZZ_ALL:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDR) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_OBJ) $(FUZZ_LIBS)

$(BUILD)/fuzz/fuzz_openai_answer: tests/fuzz/fuzz_openai_answer.c $(FUZZ_HDR) $(OPENAI_FUZZ_DEPS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(OPENAI_FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(OPENAI_FUZZ_SRC) $(OPENAI_FUZZ_LIBS)

.PHONY: fuzz fuzz-ci fuzz-build fuzz-bins fuzz-corpus
fuzz-bins: $(FUZZ_BINS)

fuzz-build:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) SAN=1 OPT="-O1 -g" \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link" fuzz-bins

# The seed corpora: made from the repository's registry, examples and tests
# (and ../shared/datasets when present), never committed.
fuzz-corpus: all $(BUILD)/bench/store-cache
	BUILD=$(BUILD) tests/fuzz/mkcorpus.sh $(FUZZ_BUILD)/corpus

fuzz: fuzz-build fuzz-corpus
	FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)

fuzz-ci: fuzz-build fuzz-corpus
	FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh 20 $(FUZZERS)
