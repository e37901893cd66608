# llm-eval build.
#
# Two link units keep start-up lean (see docs/ARCHITECTURE.md):
#   llm-eval                the command line, registries, plugin loader, util.
#                           Links libc and libyaml only, so `--help`, `list` and
#                           `show` map nothing else.
#   libllm-eval-engine.so   datasets, tasks, the run engine, the store, the monitor,
#                           the sandbox. dlopen()ed by the commands that declare
#                           LLE_NEED_ENGINE; links jansson, PCRE2, zlib, SQLite,
#                           libseccomp. It resolves util/registry symbols from the
#                           executable (built with --export-dynamic).
# Backend plugins live in plugins/<name>/ and include only include/llm-eval/backend.h;
# the host knows them only by what they declare (caps, option table), so a new
# backend is its directory and its mk/<name>.mk. DEFAULT_BACKEND is the one a
# model entry without `backend:` and --model-path use.
#
# Extra rules for one area go in mk/<area>.mk (included below), so areas do not
# edit this file for every addition.

PREFIX    ?= /usr/local
BINDIR     = $(PREFIX)/bin
LIBDIR     = $(PREFIX)/lib/llm-eval
DATADIR    = $(PREFIX)/share/llm-eval
MANDIR     = $(PREFIX)/share/man
DEFAULT_BACKEND ?= llamacpp
BUILD     ?= build
SAN       ?=
CC        ?= cc
PKG_CONFIG ?= pkg-config

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
OPT    ?= -O2 -g
CFLAGS ?= $(OPT)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -fPIC -Iinclude -Isrc \
	-DLLE_VERSION='"$(VERSION)"' -DLLE_GIT_REV='"$(GIT_REV)"' \
	-DLLE_DATADIR='"$(DATADIR)"' -DLLE_LIBDIR='"$(LIBDIR)"' \
	-DLLE_DEFAULT_BACKEND='"$(DEFAULT_BACKEND)"'
ifneq ($(SAN),)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS = -fsanitize=address,undefined
endif
LDFLAGS ?=
ALL_LDFLAGS = $(LDFLAGS) $(SAN_LDFLAGS)

CORE_PKGS   = yaml-0.1
ENGINE_PKGS = jansson libpcre2-8 zlib sqlite3 libseccomp
CORE_CFLAGS   := $(shell $(PKG_CONFIG) --cflags $(CORE_PKGS))
CORE_LIBS     := $(shell $(PKG_CONFIG) --libs $(CORE_PKGS))
ENGINE_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(ENGINE_PKGS))
ENGINE_LIBS   := $(shell $(PKG_CONFIG) --libs $(ENGINE_PKGS))
ALL_CFLAGS += $(CORE_CFLAGS) $(ENGINE_CFLAGS)

CORE_SRC   = $(wildcard src/util/*.c) $(wildcard src/data/yaml*.c) src/data/datapath.c \
             src/data/hub_cache.c src/data/hub_pick.c \
             $(wildcard src/registry/*.c) $(wildcard src/backend/*.c) $(wildcard src/cli/*.c)
ENGINE_SRC = $(filter-out src/data/yaml%.c src/data/datapath.c src/data/hub_cache.c src/data/hub_pick.c,$(wildcard src/data/*.c)) \
             $(wildcard src/tasks/*.c) $(wildcard src/run/*.c) $(wildcard src/store/*.c) \
             $(wildcard src/monitor/*.c) $(wildcard src/sandbox/*.c) $(wildcard src/cli/engine/*.c) \
             $(wildcard src/hooks/*.c)
CORE_OBJ   = $(CORE_SRC:%.c=$(BUILD)/%.o)
ENGINE_OBJ = $(ENGINE_SRC:%.c=$(BUILD)/%.o)
# main.c is the only object the unit tests must not link (they have their own main).
LIB_OBJ    = $(filter-out $(BUILD)/src/cli/main.o,$(CORE_OBJ)) $(ENGINE_OBJ)

BIN     = $(BUILD)/llm-eval
ENGINE  = $(BUILD)/lib/libllm-eval-engine.so

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

PLUGINS  :=
DEPS_TARGETS :=
TEST_DEPS :=
BENCH_DEPS :=

.PHONY: all test check bench install clean deps
all: $(BIN) $(ENGINE) plugins

# `make V=1` shows the full commands.
ifeq ($(V),1)
Q =
else
Q = @
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BIN): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Wl,--export-dynamic -o $@ $(CORE_OBJ) $(ALL_LDFLAGS) $(CORE_LIBS) -ldl -lpthread

# The engine exports only what the executable dlsym()s (engine.map).
ENGINE_MAP = src/cli/engine/engine.map
$(ENGINE): $(ENGINE_OBJ) $(ENGINE_MAP)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -shared -Wl,--version-script=$(ENGINE_MAP) -o $@ $(ENGINE_OBJ) $(ALL_LDFLAGS) \
		$(ENGINE_LIBS) -lm -lpthread -ldl

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ) tests/unit/check.h
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIB_OBJ) $(ALL_LDFLAGS) $(CORE_LIBS) $(ENGINE_LIBS) -lm -ldl -lpthread

-include $(wildcard mk/*.mk)

plugins: $(PLUGINS)

# `make test` builds everything, then runs every unit test and command-line test
# through one driver that ends with "N passed, N failed".
test: all $(UNIT_BIN) $(TEST_DEPS)
	BUILD=$(BUILD) SAN=$(SAN) tests/run.sh
check: test

bench: all $(BENCH_DEPS)
	BUILD=$(BUILD) bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DATADIR)
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/llm-eval
	install -m 755 $(ENGINE) $(DESTDIR)$(LIBDIR)/
	for p in $(PLUGINS); do install -m 755 $$p $(DESTDIR)$(LIBDIR)/; done
	cp -R registry/. $(DESTDIR)$(DATADIR)/
	install -d $(DESTDIR)$(MANDIR)/man1
	$(BIN) help --man >$(DESTDIR)$(MANDIR)/man1/llm-eval.1

clean:
	rm -rf $(BUILD) build-san

-include $(CORE_OBJ:.o=.d) $(ENGINE_OBJ:.o=.d)

# `make deps`: fetch the pinned third-party pieces that are not Debian packages
# (rules in mk/*.mk append to DEPS_TARGETS). Debian packages: tools/install-deps.sh.
deps: $(DEPS_TARGETS)
