# The store's benchmark and test driver (bench/store_cache.c): the cache
# command tests use its `fill` mode, bench/cache.sh its `bench` mode.
STORE_CACHE_DRIVER = $(BUILD)/bench/store-cache

$(STORE_CACHE_DRIVER): bench/store_cache.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_OBJ) $(ALL_LDFLAGS) $(CORE_LIBS) $(ENGINE_LIBS) -lm -ldl -lpthread

TEST_DEPS += $(STORE_CACHE_DRIVER)
BENCH_DEPS += $(STORE_CACHE_DRIVER)
