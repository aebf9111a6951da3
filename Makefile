# KaiVox API -- hand-written Makefile.
#
#   make            build every binary into bin/
#   make run        install what is missing, build, start everything in the
#                   foreground with a demo tenant (Ctrl-C stops it all)
#   make up / down  the same in the background / stop it
#   make test       unit + end-to-end tests on their own cluster and ports,
#                   the lint of docs/openapi.yaml and the contract check of
#                   every answer the tests received against it
#   make test-san   the same tests on the ASan + UBSan build
#   make lint-openapi  only the lint of docs/openapi.yaml (@redocly/cli)
#   make bench      wrk against the gateway beside pgbench on the same query
#
# SAN=1 builds the sanitizer variant into build/san/ (binaries in
# build/san/bin) so both builds can sit side by side.

CC      ?= cc
PKGS    := libmicrohttpd libzmq jansson libpq libcurl openssl libcares libargon2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -Ishared -Iproto $(PKG_CFLAGS) -MMD -MP
LDLIBS  := $(PKG_LIBS) -lpthread -lm

ifeq ($(SAN),1)
BUILD   := build/san
BIN     := build/san/bin
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   := build/release
BIN     := bin
endif

SERVICES := gateway scheduling crm calls webhooks

SHARED_SRC := $(wildcard shared/*.c)
SHARED_OBJ := $(SHARED_SRC:%.c=$(BUILD)/%.o)
LIBKV      := $(BUILD)/libkv.a

svc_src = $(wildcard services/$(1)/*.c)
svc_obj = $(patsubst %.c,$(BUILD)/%.o,$(call svc_src,$(1)))
svc_lib_obj = $(filter-out %/main.o,$(call svc_obj,$(1)))

SVC_BINS  := $(SERVICES:%=$(BIN)/kaivox-%)
CLI_BIN   := $(BIN)/kaivoxctl
UNIT_SRC  := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
E2E_SRC   := $(wildcard tests/e2e/test_*.c)
E2E_BINS  := $(patsubst tests/e2e/%.c,$(BUILD)/tests/e2e/%,$(E2E_SRC))
KVT_OBJ   := $(BUILD)/tests/lib/kvt.o $(BUILD)/tests/lib/kvt_check.o
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRC))

.PHONY: all tests run up down test test-san bench clean deps deps-dev lint-openapi
all: $(SVC_BINS) $(CLI_BIN)
tests: all $(UNIT_BINS) $(E2E_BINS) $(TOOL_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBKV): $(SHARED_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

define SVC_RULE
$(BIN)/kaivox-$(1): $(call svc_obj,$(1)) $(LIBKV)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call SVC_RULE,$(s))))

$(CLI_BIN): $(BUILD)/cli/kaivoxctl.o $(LIBKV)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests: tests/unit/<area>/test_x.c links libkv and, for a service
# area, every object of that service but its main.o.
define UNIT_RULE
$(BUILD)/tests/unit/$(1)/%: $(BUILD)/tests/unit/$(1)/%.o $(if $(filter $(1),$(SERVICES)),$(call svc_lib_obj,$(1))) $(BUILD)/tests/lib/kvt_check.o $(LIBKV)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach a,shared $(SERVICES),$(eval $(call UNIT_RULE,$(a))))

$(BUILD)/tests/e2e/%: $(BUILD)/tests/e2e/%.o $(KVT_OBJ) $(LIBKV)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(KVT_OBJ) $(LIBKV)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# stmt_sql prints the services' own statements for the bench's pgbench
# scripts: it links their statement tables.
$(BUILD)/tests/tools/stmt_sql: $(BUILD)/tests/tools/stmt_sql.o $(BUILD)/services/scheduling/db.o $(BUILD)/services/crm/db.o $(LIBKV)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@scripts/deps.sh

# The tests also need node and the npm tooling of package-lock.json (the
# OpenAPI lint and the contract check); deps.sh --dev runs `npm ci` only when
# node_modules is missing or older than the lock file.
deps-dev:
	@scripts/deps.sh --dev

lint-openapi: deps-dev
	@REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	    node_modules/.bin/redocly lint --config redocly.yaml docs/openapi.yaml

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/stack.sh run

up: deps
	@$(MAKE) --no-print-directory all
	@scripts/stack.sh up

down:
	@scripts/stack.sh down

test: deps-dev
	@$(MAKE) --no-print-directory tests
	@tests/run.sh

test-san: deps-dev
	@$(MAKE) --no-print-directory SAN=1 tests
	@KAIVOX_BIN_DIR=build/san/bin KVT_BUILD=build/san tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
