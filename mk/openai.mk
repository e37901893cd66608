# The OpenAI-compatible backend (plugins/openai/) and its test server.
#
# $(BUILD)/lib/openai.so             the plugin: libcurl (multi interface) and jansson
# $(BUILD)/tools/lle-testserver      an OpenAI-compatible server on libmicrohttpd
#                                    with real inference through the llama.cpp
#                                    plugin and fault injection -> TEST_DEPS, BENCH_DEPS
# Plugins include only include/llm-eval/backend.h (PLUGIN_CFLAGS has no -Isrc).

OPENAI_SO   = $(BUILD)/lib/openai.so
OPENAI_SRC  = $(wildcard plugins/openai/*.c)
OPENAI_OBJ  = $(OPENAI_SRC:%.c=$(BUILD)/%.o)
OPENAI_PKGS = libcurl jansson
PLUGINS    += $(OPENAI_SO)

# -fvisibility=hidden: the plugin's files share oa_* functions (openai.h);
# only lle_backend_entry, marked visible in openai.c, is exported.
$(OPENAI_OBJ): $(BUILD)/plugins/openai/%.o: plugins/openai/%.c include/llm-eval/backend.h
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -fvisibility=hidden $(shell $(PKG_CONFIG) --cflags $(OPENAI_PKGS)) -MMD -MP -c $< -o $@

$(OPENAI_SO): $(OPENAI_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $(OPENAI_OBJ) $(SAN_LDFLAGS) \
		$(shell $(PKG_CONFIG) --libs $(OPENAI_PKGS)) -lm

-include $(OPENAI_OBJ:.o=.d)

# The test server: the plugin loader and util of the executable, libllama
# (tokenizer and prompt scoring) from the same copy the llamacpp plugin uses.
TESTSERVER     = $(BUILD)/tools/lle-testserver
TESTSERVER_OBJ = $(filter-out $(BUILD)/src/cli/%,$(CORE_OBJ))
TEST_DEPS  += $(OPENAI_SO) $(TESTSERVER) $(LLAMACPP_SO)
BENCH_DEPS += $(OPENAI_SO) $(TESTSERVER) $(LLAMACPP_SO)

$(TESTSERVER): tools/lle-testserver.c $(TESTSERVER_OBJ) $(LLAMA_RUNTIME)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LLAMA_CFLAGS) $(shell $(PKG_CONFIG) --cflags libmicrohttpd) -o $@ $< \
		$(TESTSERVER_OBJ) $(ALL_LDFLAGS) $(CORE_LIBS) $(LLAMACPP_TEST_LINK) \
		$(shell $(PKG_CONFIG) --libs libmicrohttpd jansson zlib) -lm -ldl -lpthread

# `make install` installs openai.so with every other plugin of PLUGINS (it
# needs only libcurl and jansson from the system); the test server is not
# installed.

# The unit test loads the plugin and starts the test server (--no-inference).
$(BUILD)/tests/test_openai: ALL_CFLAGS += -DOA_PLUGIN='"$(abspath $(OPENAI_SO))"' \
	-DOA_SERVER='"$(abspath $(TESTSERVER))"'
$(BUILD)/tests/test_openai: $(OPENAI_SO) $(TESTSERVER)
