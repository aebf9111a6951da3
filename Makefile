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
#   make bench-profile  where a request's time goes, per kind of thread
#   make fuzz       the libFuzzer harnesses of tests/fuzz/ (clang, ASan +
#                   UBSan), FUZZ_SECONDS (60) each, FUZZ_ONLY=<name> for one
#
# SAN=1 builds the sanitizer variant into build/san/ (binaries in
# build/san/bin) so both builds can sit side by side.
#
# The build prints one short line per step (`CC services/crm/customers.c`,
# `AR build/release/libkv.a`, `LD bin/kaivox-crm`); V=1 prints the full
# command lines instead.  `make run` / `make up` announce their long steps
# with `==> ...` lines (dependencies, build, then database and services from
# scripts/stack.sh).

CC      ?= cc
PKGS    := libmicrohttpd libzmq jansson libpq libcurl openssl libsodium libcares libargon2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -Ishared -Iproto $(PKG_CFLAGS) -MMD -MP
LDLIBS  := $(PKG_LIBS) -lpthread -lm

V ?= 0
ifeq ($(V),1)
QUIET_CC =
QUIET_AR =
QUIET_LD =
else
QUIET_CC = @printf '  %-4s %s\n' CC $<;
QUIET_AR = @printf '  %-4s %s\n' AR $@;
QUIET_LD = @printf '  %-4s %s\n' LD $@;
endif

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

.PHONY: all tests run up down test test-san bench bench-profile clean deps deps-dev lint-openapi \
        fuzz fuzz-build fuzz-merge deps-fuzz
# keep the test objects (no rebuild, no long "rm" line at the end of a build)
.SECONDARY:
all: $(SVC_BINS) $(CLI_BIN)
tests: all $(UNIT_BINS) $(E2E_BINS) $(TOOL_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(CFLAGS) -c $< -o $@

$(LIBKV): $(SHARED_OBJ)
	@mkdir -p $(dir $@)
	$(QUIET_AR)rm -f $@ && ar rcs $@ $^

define SVC_RULE
$(BIN)/kaivox-$(1): $(call svc_obj,$(1)) $(LIBKV)
	@mkdir -p $$(dir $$@)
	$$(QUIET_LD)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call SVC_RULE,$(s))))

$(CLI_BIN): $(BUILD)/cli/kaivoxctl.o $(LIBKV)
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests: tests/unit/<area>/test_x.c links libkv and, for a service
# area, every object of that service but its main.o.
define UNIT_RULE
$(BUILD)/tests/unit/$(1)/%: $(BUILD)/tests/unit/$(1)/%.o $(if $(filter $(1),$(SERVICES)),$(call svc_lib_obj,$(1))) $(BUILD)/tests/lib/kvt_check.o $(LIBKV)
	@mkdir -p $$(dir $$@)
	$$(QUIET_LD)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach a,shared $(SERVICES),$(eval $(call UNIT_RULE,$(a))))

$(BUILD)/tests/e2e/%: $(BUILD)/tests/e2e/%.o $(KVT_OBJ) $(LIBKV)
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(KVT_OBJ) $(LIBKV)
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# stmt_sql prints the services' own statements for the bench's pgbench
# scripts: it links their statement tables.
$(BUILD)/tests/tools/stmt_sql: $(BUILD)/tests/tools/stmt_sql.o $(BUILD)/services/scheduling/db.o $(BUILD)/services/crm/db.o $(LIBKV)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@echo '==> dependencies'
	@scripts/deps.sh

# The tests also need node and the npm tooling of package-lock.json (the
# OpenAPI lint and the contract check); deps.sh --dev runs `npm ci` only when
# node_modules is missing or older than the lock file.
deps-dev:
	@scripts/deps.sh --dev

lint-openapi: deps-dev
	@REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	    node_modules/.bin/redocly lint --config redocly.yaml docs/openapi.yaml

# The long steps of run / up are announced (==> dependencies, build);
# scripts/stack.sh prints "==> database" and "==> services" itself.
run: deps
	@echo '==> build'
	@$(MAKE) --no-print-directory all
	@scripts/stack.sh run

up: deps
	@echo '==> build'
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

# Where a request's time goes: CPU and context switches per request of each
# kind of thread, and perf's top symbols (scripts/bench-profile.sh).
bench-profile: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench-profile.sh

# ---- fuzzing ------------------------------------------------------------------
#
# Every parser that sees outside bytes has a libFuzzer harness in
# tests/fuzz/fuzz_<name>.c, a seed corpus in tests/fuzz/<name>/ and a
# dictionary in tests/fuzz/<name>.dict.  They are built by clang alone, into
# build/fuzz/, never by `make` or `make test` (which need no clang): each
# links its harness and the pure objects it exercises, compiled again with
# ASan + UBSan (no recovery) and libFuzzer's coverage.  `make fuzz` runs
# each for FUZZ_SECONDS from its corpus (tests/fuzz/run.sh) and fails on any
# crash, leak, sanitizer report or broken property; `make fuzz-merge` adds
# what the runs found to the seed corpora, minimised (-merge=1).

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ONLY    ?=
FUZZ_BUILD   := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g -std=c11 -D_GNU_SOURCE $(WARN) -Ishared -Iproto $(PKG_CFLAGS) \
                $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP
FUZZ_LDFLAGS := $(FUZZ_SAN) -fsanitize=fuzzer

# The objects (without .o) of services/ each harness links besides its own
# file; what they need of shared/ comes from the archive below.  kv_api
# needs kv_db (for its reply helpers) and so libpq at link time; nothing of
# it runs.
FUZZ_RESOURCES := services/crm/crm_valid services/calls/call_valid \
                  services/scheduling/sched_valid services/scheduling/slots
fuzz_objs_key    := services/gateway/gw_keys
fuzz_objs_query  := services/gateway/gw_input services/gateway/gw_keys $(FUZZ_RESOURCES)
fuzz_objs_route  := services/gateway/gw_routes services/gateway/gw_input
fuzz_objs_addr   := services/gateway/gw_addr
fuzz_objs_body_crm   := services/crm/crm_valid
fuzz_objs_body_calls := services/calls/call_valid
fuzz_objs_body_sched := services/scheduling/sched_valid services/scheduling/slots
fuzz_objs_bus        :=
fuzz_objs_url        := services/webhooks/ssrf services/calls/call_valid
fuzz_objs_values     := services/calls/call_valid
fuzz_objs_slots      := services/scheduling/slots services/scheduling/sched_valid
fuzz_objs_sign       := services/webhooks/sign
# The console's checks live beside its handlers (gw_session.c): the
# harness links the gateway's objects (never its main.c), of which only
# those pure checks and gw_password.c run.
fuzz_objs_console    := $(filter-out services/gateway/main,$(basename $(wildcard services/gateway/*.c)))
fuzz_objs_body_hooks := services/webhooks/hook_valid services/webhooks/ssrf services/webhooks/config
fuzz_objs_json       :=
FUZZ_NAMES := key query route addr body_crm body_calls body_sched body_hooks bus url values \
              slots sign console json

# Every harness links the whole of shared/ as an archive: only the members
# that resolve a symbol are taken, so an object that starts using another
# shared module (metrics, trace, ...) still links.
FUZZ_LIBKV := $(FUZZ_BUILD)/libkv.a

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIBKV): $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(wildcard shared/*.c))
	$(QUIET_AR)rm -f $@ && ar rcs $@ $^

define FUZZ_RULE
$(FUZZ_BUILD)/fuzz_$(1): $(FUZZ_BUILD)/tests/fuzz/fuzz_$(1).o $$(fuzz_objs_$(1):%=$(FUZZ_BUILD)/%.o) $(FUZZ_LIBKV)
	$$(QUIET_LD)$$(FUZZ_CC) $$(FUZZ_LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach f,$(FUZZ_NAMES),$(eval $(call FUZZ_RULE,$(f))))

FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)

deps-fuzz:
	@scripts/deps.sh --fuzz

fuzz-build: deps-fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_ONLY=$(FUZZ_ONLY) \
	    tests/fuzz/run.sh $(FUZZ_NAMES)

fuzz-merge: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_ONLY=$(FUZZ_ONLY) tests/fuzz/run.sh --merge $(FUZZ_NAMES)

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
