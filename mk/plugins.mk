# Backend plugins: plugins/llamacpp/ and the test plugins of tests/plugins/.
#
# $(BUILD)/lib/llamacpp.so      the llama.cpp backend; its llama.cpp libraries
#                               are copied to $(BUILD)/lib/llama/ and found
#                               through rpath $ORIGIN/llama, so the same layout
#                               works installed under $(LIBDIR).
# $(BUILD)/tests/plugins/*.so   test plugins for the loader tests: one that
#                               works (testbackend), and broken ones (nosym,
#                               newabi, refuse, missingdep).
# Plugins include only include/llm-eval/backend.h (no -Isrc).

PLUGIN_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -fPIC -Iinclude
ifneq ($(SAN),)
PLUGIN_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

# ---- llama.cpp backend ------------------------------------------------------

LLAMACPP_SO   = $(BUILD)/lib/llamacpp.so
LLAMACPP_SRC  = $(wildcard plugins/llamacpp/*.c)
LLAMACPP_OBJ  = $(LLAMACPP_SRC:%.c=$(BUILD)/%.o)
PLUGINS      += $(LLAMACPP_SO)

ifdef LLAMA_PREFIX
# The user's own install: link it where it is (LLAMA_LIBS carries its rpath).
LLAMA_RUNTIME       =
LLAMACPP_LINK       = $(LLAMA_LIBS)
LLAMACPP_TEST_LINK  = $(LLAMA_LIBS)
# the CPU kernels are the install's own: results say so, not "prebuilt"
LLAMACPP_DEFS       = -DLC_LLAMA_PREFIX=1
else
LLAMA_RUNTIME       = $(BUILD)/lib/llama/.stamp
LLAMACPP_LINK       = -L$(BUILD)/lib/llama -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so \
                      -Wl,-rpath,'$$ORIGIN/llama'
LLAMACPP_TEST_LINK  = -L$(BUILD)/lib/llama -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so \
                      -Wl,-rpath,$(abspath $(BUILD))/lib/llama
endif

# -fvisibility=hidden: the plugin's files share lc_* functions (llamacpp.h,
# eval.h); only lle_backend_entry, marked visible in plugin.c, is exported.
$(LLAMACPP_OBJ): $(BUILD)/plugins/llamacpp/%.o: plugins/llamacpp/%.c include/llm-eval/backend.h | $(LLAMA_STAMP)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -fvisibility=hidden $(LLAMACPP_DEFS) $(LLAMA_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/lib/llama/.stamp: $(LLAMA_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CP      $(LLAMA_LIBDIR) -> $(dir $@)"
	$(Q)cp $(LLAMA_LIBDIR)/libllama.v0.5.0.so $(LLAMA_LIBDIR)/libggml*.so $(dir $@)
	@touch $@

$(LLAMACPP_SO): $(LLAMACPP_OBJ) $(LLAMA_RUNTIME)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $(LLAMACPP_OBJ) $(SAN_LDFLAGS) $(LLAMACPP_LINK) -lm -lpthread -ldl

-include $(LLAMACPP_OBJ:.o=.d)

.PHONY: install-llamacpp
install: install-llamacpp
install-llamacpp: $(LLAMACPP_SO)
	install -d $(DESTDIR)$(LIBDIR)
ifndef LLAMA_PREFIX
	install -d $(DESTDIR)$(LIBDIR)/llama
	install -m 755 $(BUILD)/lib/llama/*.so $(DESTDIR)$(LIBDIR)/llama/
endif

# ---- test plugins -----------------------------------------------------------

TESTPLUGIN_DIR = $(BUILD)/tests/plugins
TESTPLUGINS = $(addprefix $(TESTPLUGIN_DIR)/,testbackend.so nosym.so newabi.so refuse.so missingdep.so)
TEST_DEPS += $(TESTPLUGINS)

$(TESTPLUGIN_DIR)/%.so: tests/plugins/%.c include/llm-eval/backend.h
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $< $(SAN_LDFLAGS)

# missingdep.so needs libllemissing.so, which stays in a directory that no
# run-time search path names.
$(BUILD)/tests/plugin-deps/libllemissing.so: tests/plugins/missinglib.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -shared -Wl,-soname,libllemissing.so -o $@ $< $(SAN_LDFLAGS)

$(TESTPLUGIN_DIR)/missingdep.so: tests/plugins/missingdep.c $(BUILD)/tests/plugin-deps/libllemissing.so
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $< $(SAN_LDFLAGS) -L$(BUILD)/tests/plugin-deps -lllemissing

# The llama.cpp tests decode with libllama directly too (their reference
# decoder), from the same copy the plugin uses.
LLAMACPP_TESTS = $(filter $(BUILD)/tests/test_llamacpp%,$(UNIT_BIN))
$(LLAMACPP_TESTS): ALL_CFLAGS += $(LLAMA_CFLAGS)
$(LLAMACPP_TESTS): ALL_LDFLAGS += $(LLAMACPP_TEST_LINK)
$(LLAMACPP_TESTS): $(LLAMACPP_SO)

# ---- benchmark driver (bench/llamacpp.sh) -----------------------------------

LLAMACPP_BENCH = $(BUILD)/bench/llamacpp_bench
BENCH_DEPS += $(LLAMACPP_BENCH)

$(LLAMACPP_BENCH): bench/llamacpp_bench.c $(LIB_OBJ) $(LLAMACPP_SO)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LLAMA_CFLAGS) -o $@ $< $(LIB_OBJ) $(ALL_LDFLAGS) $(LLAMACPP_TEST_LINK) \
		$(CORE_LIBS) $(ENGINE_LIBS) -lm -ldl -lpthread
