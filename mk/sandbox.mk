# The sandbox's benchmark driver (bench/sandbox.sh runs it): HumanEval's
# canonical solutions in the sandbox against plain python3. Links the objects
# directly, as the unit tests do.
SANDBOX_BENCH = $(BUILD)/bench/sandbox_bench

$(SANDBOX_BENCH): bench/sandbox_bench.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_OBJ) $(ALL_LDFLAGS) $(CORE_LIBS) $(ENGINE_LIBS) -lm -ldl -lpthread

BENCH_DEPS += $(SANDBOX_BENCH)

# The helper that starts each sandbox (src/sandbox/init/main.c): spawned by the
# engine so that the sandbox's init is a fork of a small process, not of the
# engine. Installed beside the engine library.
SANDBOX_INIT = $(BUILD)/lib/llm-eval-sandbox-init

$(SANDBOX_INIT): $(BUILD)/src/sandbox/init/main.o $(BUILD)/src/sandbox/child.o
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS)

all: $(SANDBOX_INIT)
TEST_DEPS += $(SANDBOX_INIT)
BENCH_DEPS += $(SANDBOX_INIT)
install: install-sandbox-init
.PHONY: install-sandbox-init
install-sandbox-init: $(SANDBOX_INIT)
	install -d $(DESTDIR)$(LIBDIR)
	install -m 755 $(SANDBOX_INIT) $(DESTDIR)$(LIBDIR)/

-include $(BUILD)/src/sandbox/init/main.d
