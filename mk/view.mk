# `llm-eval view`: the page's files under web/ become a C array compiled into
# the engine (tools/web2c, built with the host compiler; no network step).
WEB2C       = $(BUILD)/tools/web2c
WEB_FILES   = $(sort $(wildcard web/*.html web/*.css web/*.js))
VIEW_ASSETS_C   = $(BUILD)/gen/view_assets.c
VIEW_ASSETS_OBJ = $(BUILD)/gen/view_assets.o

$(WEB2C): tools/web2c.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -std=c11 -O1 $(WARN) -o $@ $<

$(VIEW_ASSETS_C): $(WEB2C) $(WEB_FILES)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$(WEB2C) $@.tmp $(WEB_FILES) && mv $@.tmp $@

$(VIEW_ASSETS_OBJ): $(VIEW_ASSETS_C)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# The prerequisite lists of the engine, the unit tests, the fuzzers and the
# bench drivers were expanded before this file was read; every one of them
# links cmd_view.o, so making that object wait for the page's object builds
# it first, and ENGINE_OBJ (hence LIB_OBJ, expanded in their recipes) links it.
ENGINE_OBJ += $(VIEW_ASSETS_OBJ)
$(ENGINE): $(VIEW_ASSETS_OBJ)
$(BUILD)/src/cli/engine/cmd_view.o: $(VIEW_ASSETS_OBJ)
