# The resource monitor's test helpers (src/monitor/, docs/monitor.md):
#   libnvidia-ml.so.1   a stand-in NVML the tests load through LLM_EVAL_NVML_PATH,
#                       since this machine has no NVIDIA driver (tests/nvml-standin/)
#   monitor-json-check  validates `llm-eval monitor --json` lines (field names and types)
NVML_STANDIN = $(BUILD)/tests/nvml-standin/libnvidia-ml.so.1
MONITOR_JSON_CHECK = $(BUILD)/tests/monitor-json-check

$(NVML_STANDIN): tests/nvml-standin/nvml_standin.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,libnvidia-ml.so.1 -o $@ $< $(ALL_LDFLAGS)

$(MONITOR_JSON_CHECK): tests/monitor/json_check.c tests/monitor/sample_schema.h
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/monitor -o $@ $< $(ALL_LDFLAGS) $(ENGINE_LIBS)

TEST_DEPS += $(NVML_STANDIN) $(MONITOR_JSON_CHECK)

# bench/monitor.sh's driver: CPU time per sample of the sampler.
$(BUILD)/bench/monitor-cost: bench/monitor_cost.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_OBJ) $(ALL_LDFLAGS) $(CORE_LIBS) $(ENGINE_LIBS) -lm -ldl -lpthread

BENCH_DEPS += $(NVML_STANDIN) $(BUILD)/bench/monitor-cost
