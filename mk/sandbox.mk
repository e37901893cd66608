# The sandbox's benchmark driver (bench/sandbox.sh runs it): HumanEval's
# canonical solutions in the sandbox against plain python3. Links the objects
# directly, as the unit tests do.
SANDBOX_BENCH = $(BUILD)/bench/sandbox_bench

$(SANDBOX_BENCH): bench/sandbox_bench.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_OBJ) $(ALL_LDFLAGS) $(CORE_LIBS) $(ENGINE_LIBS) -lm -ldl -lpthread

BENCH_DEPS += $(SANDBOX_BENCH)
