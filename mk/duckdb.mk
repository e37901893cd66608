# DuckDB, the Parquet reader of src/data/parquet.c (dlopened on first use).
#
# libduckdb.so comes from the npm package @duckdb/node-bindings-linux-x64
# (the C API library the Node bindings load), pinned with its integrity by
# third_party/duckdb/package-lock.json and fetched with package scripts
# disabled, like llama.cpp's libraries (mk/llama.mk). Nothing of it is
# committed, and nothing links it: parquet.c declares the C API functions it
# uses and dlopens the library, so only a command that reads a Parquet file
# maps it.
#
# Outputs:
#   deps/duckdb/lib/libduckdb.so          `make deps`
#   $(BUILD)/lib/duckdb/libduckdb.so      beside the engine, where parquet.c
#                                         looks first (installed: LIBDIR/duckdb/)
#   $(BUILD)/tools/lle-parquet            JSONL -> Parquet for tests and benches,
#                                         and a reader of any dataset file -> TEST_DEPS

DUCKDB_NPM_DIR = third_party/duckdb
DUCKDB_NPM_LIB = $(DUCKDB_NPM_DIR)/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so
DUCKDB_DEPS    = deps/duckdb
DUCKDB_RUNTIME = $(BUILD)/lib/duckdb/libduckdb.so

DEPS_TARGETS += $(DUCKDB_DEPS)/.stamp

$(DUCKDB_NPM_DIR)/node_modules/.package-lock.json: $(DUCKDB_NPM_DIR)/package.json $(DUCKDB_NPM_DIR)/package-lock.json
	# The lock file pins the version and integrity; scripts stay off.
	cd $(DUCKDB_NPM_DIR) && npm install --ignore-scripts --omit=optional --no-audit --no-fund
	@touch $@

$(DUCKDB_DEPS)/.stamp: $(DUCKDB_NPM_DIR)/node_modules/.package-lock.json
	rm -rf $(DUCKDB_DEPS) && mkdir -p $(DUCKDB_DEPS)/lib
	cp $(DUCKDB_NPM_LIB) $(DUCKDB_DEPS)/lib/
	@touch $@

all: $(DUCKDB_RUNTIME)

$(DUCKDB_RUNTIME): $(DUCKDB_DEPS)/.stamp
	@mkdir -p $(dir $@)
	@echo "  CP      $(DUCKDB_DEPS)/lib/libduckdb.so -> $(dir $@)"
	$(Q)cp $(DUCKDB_DEPS)/lib/libduckdb.so $@.tmp && mv $@.tmp $@

LLE_PARQUET     = $(BUILD)/tools/lle-parquet
LLE_PARQUET_OBJ = $(BUILD)/src/data/parquet.o $(BUILD)/src/data/dataset.o \
                  $(filter $(BUILD)/src/util/%,$(CORE_OBJ))
TEST_DEPS  += $(LLE_PARQUET) $(DUCKDB_RUNTIME)
BENCH_DEPS += $(LLE_PARQUET) $(DUCKDB_RUNTIME)

$(LLE_PARQUET): tools/lle-parquet.c $(LLE_PARQUET_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LLE_PARQUET_OBJ) $(ALL_LDFLAGS) \
		$(shell $(PKG_CONFIG) --libs jansson zlib) -ldl -lpthread

.PHONY: install-duckdb
install: install-duckdb
install-duckdb: $(DUCKDB_RUNTIME)
	install -d $(DESTDIR)$(LIBDIR)/duckdb
	install -m 755 $(DUCKDB_RUNTIME) $(DESTDIR)$(LIBDIR)/duckdb/
