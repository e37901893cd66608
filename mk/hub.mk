# The Hugging Face Hub client's test server.
#
# $(BUILD)/tools/lle-mockhub   the Hub's HTTP API as far as src/data/hub.c uses
#                              it, on libmicrohttpd, 127.0.0.1 only, with
#                              injected faults (tools/lle-mockhub.c) -> TEST_DEPS

MOCKHUB     = $(BUILD)/tools/lle-mockhub
MOCKHUB_OBJ = $(BUILD)/src/util/sha256.o $(BUILD)/src/util/buf.o $(BUILD)/src/util/utf8.o
TEST_DEPS  += $(MOCKHUB)

$(MOCKHUB): tools/lle-mockhub.c $(MOCKHUB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags libmicrohttpd) -o $@ $< $(MOCKHUB_OBJ) \
		$(ALL_LDFLAGS) $(shell $(PKG_CONFIG) --libs libmicrohttpd) -lpthread
