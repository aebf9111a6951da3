#!/usr/bin/env bash
# run.sh -- the test runner behind `make test` / `make test-san`.
#
# Starts a whole private stack (own PostgreSQL cluster, own ports derived
# from KVT_PORT_BASE, files under var/test-<base>/, wiped at every run), runs
# every unit test binary and then every end-to-end test binary, adds up their
# "PASS ..." / "FAIL ..." lines, scans the service logs for sanitizer reports,
# always tears the stack down, and ends with the line "N passed, M failed"
# (exit status non-zero when M > 0).
#
# Besides the C test binaries it runs the web console's browser tests
# (tests/browser/, node + puppeteer-core + Debian's chromium) and the API
# document's checks (node, from
# package-lock.json, installed by scripts/deps.sh --dev): the lint of
# docs/openapi.yaml with @redocly/cli (0 errors and 0 warnings, redocly.yaml),
# the contract checker's self-test, and, after the end-to-end tests, the
# contract check of every public-API answer and webhook request they
# recorded (KVT_CONTRACT_LOG) against the document (tests/contract/).
# Then promtool on deploy/prometheus (the rules, the config, the rules'
# unit tests), and after the teardown a check that every line each
# process wrote to its log is a JSON object.
#
# Environment:
#   KVT_PORT_BASE  (18000)  HTTP base+80, admin base+81, bus base+70..72, PG base+32;
#                           the second gateway HTTP base+82, admin base+83, bus base+73..75,
#                           service metrics base+40.., the test Prometheus base+38
#   KVT_BUILD      (build/release)  where the test binaries are
#   KAIVOX_BIN_DIR (bin)    where the service binaries are (build/san/bin for test-san)
#   KVT_ONLY       run only the binaries whose path contains this substring
#   KVT_TIMEOUT    (300)    seconds allowed per test binary
# Other KAIVOX_* settings of the caller (e.g. KAIVOX_LOG_LEVEL) reach the
# services; the location ones (ports, var dir, database, admin token) are
# always the runner's own.
#
# tests/shell/test_*.sh run after the end-to-end tests (test_examples.sh
# against this stack, with its Node receiver on base+50; test_haproxy.sh
# with HAProxy in front of this stack, base+64..69 and +76..77;
# test_stack_env.sh on a stack of its own, base+56..63).
#
# The stack runs two gateways (KAIVOX_GATEWAYS=2): every service instance
# registers with both, publishes to both and subscribes at both, as in a
# scaled deployment; the tests talk to the first unless they say otherwise.
# The bus is authenticated: run.sh makes the keys (var/test-<base>/keys),
# with two test roles besides the services': "kvt" (the tests' own bus
# clients) and "kvt-legacy" (a fake worker of a service of that name).
#
# Tests see KVT_BASE_URL, KVT_BASE_URL2 (the second gateway), KVT_ADMIN_URL,
# KVT_ADMIN_TOKEN, KVT_ROOT, KAIVOX_BUS_KEYS and KVT_STACK (scripts/stack.sh,
# same environment: `$KVT_STACK stop scheduling`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BASE="${KVT_PORT_BASE:-18000}"
[[ "$BASE" =~ ^[0-9]+$ ]] && (( BASE >= 1024 && BASE <= 65000 )) \
    || { echo "run.sh: KVT_PORT_BASE must be a number in 1024..65000" >&2; exit 2; }
export KVT_PORT_BASE="$BASE"

# ---- the private stack's environment ---------------------------------------

# The tests prove the documented defaults (rate limit, timeouts, ...), so
# none of the caller's KAIVOX_* settings may leak into the private stack;
# only KAIVOX_BIN_DIR (which binaries to test) is honoured.
. "$ROOT/scripts/private-stack.sh"
private_stack_env "$BASE" "$ROOT/var/test-$BASE" --clean
KVT_BUILD="${KVT_BUILD:-build/release}"
case "$KVT_BUILD" in /*) ;; *) KVT_BUILD="$ROOT/$KVT_BUILD" ;; esac
export KVT_BUILD
export KVT_FAST_PG=1
export KAIVOX_GATEWAYS=2
# A request may be queued at a busy worker behind one whose operation lately
# answered within this (default 2 ms): 20 ms here, so that a loaded machine
# does not hide that path from the tests (tests/e2e/test_bus_queue.c).
export KAIVOX_BROKER_QUEUE_BEHIND_US="${KAIVOX_BROKER_QUEUE_BEHIND_US:-20000}"
# Webhooks: short retries and timeout so the retry/timeout tests take
# seconds, and the receiver on loopback reachable (only loopback: private
# ranges stay refused).
export KAIVOX_WEBHOOK_RETRY_SCHEDULE=1,1,1
export KAIVOX_WEBHOOK_TIMEOUT_MS=2000
export KAIVOX_WEBHOOK_ALLOW_PRIVATE=loopback
export KVT_ROOT="$ROOT"
# Every public-API answer and webhook delivery the tests see, for the
# contract check at the end (tests/contract/validate.mjs).
export KVT_CONTRACT_LOG="$KAIVOX_VAR_DIR/contract.jsonl"
export KVT_STACK="$STACK"
export KVT_BASE_URL="http://127.0.0.1:${KAIVOX_HTTP_PORT}"
export KVT_BASE_URL2="http://127.0.0.1:$((KAIVOX_HTTP_PORT + 2))"
export KVT_ADMIN_URL2="http://127.0.0.1:$((KAIVOX_ADMIN_PORT + 2))"
export KVT_ADMIN_URL="$KAIVOX_ADMIN_URL"
TIMEOUT="${KVT_TIMEOUT:-300}"
ONLY="${KVT_ONLY:-}"

# Sanitizers: report to stderr (the service logs), keep going after UBSan
# only where the build allows it, and check leaks at exit.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"

# ---- a clean var dir, a stack that is always torn down -------------------

private_stack_fresh
export KVT_ADMIN_TOKEN="$KAIVOX_ADMIN_TOKEN"

STACK_UP=0
teardown() {
    if [[ $STACK_UP == 1 ]]; then
        STACK_UP=0
        "$KVT_STACK" down >&2 || true
    fi
}
trap teardown EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

PASSED=0
FAILED=0
FAIL_LINES=()

fail_one() {   # fail_one MESSAGE
    FAILED=$((FAILED + 1))
    FAIL_LINES+=("$1")
    printf 'FAIL %s\n' "$1"
}

# ---- the stack ------------------------------------------------------------

echo "== starting the test stack (base $BASE, var $KAIVOX_VAR_DIR)"
STACK_OK=1
STACK_UP=1
if [[ -x "$BIN_DIR/kaivoxctl" ]]; then
    "$BIN_DIR/kaivoxctl" keygen --dir "$KAIVOX_BUS_KEYS" > /dev/null
    "$BIN_DIR/kaivoxctl" keygen --dir "$KAIVOX_BUS_KEYS" --role kvt --role kvt-legacy > /dev/null
fi
# A port of the layout may be held for a moment by another program's
# outgoing connection (the kernel hands out ephemeral ports from the same
# range): when a bind failed, try again a few times before giving up.
for attempt in 1 2 3; do
    if "$KVT_STACK" up --no-demo > "$KAIVOX_VAR_DIR/stack-up.log" 2>&1; then
        break
    fi
    if (( attempt < 3 )) && grep -q "Address already in use" "$KAIVOX_VAR_DIR/stack-up.log"; then
        echo "   a port of the stack was busy; starting again" >&2
        sleep 3
        continue
    fi
    STACK_OK=0
    break
done
if [[ $STACK_OK == 0 ]]; then
    cat "$KAIVOX_VAR_DIR/stack-up.log" >&2
    fail_one "the test stack started (scripts/stack.sh up: see above); end-to-end tests skipped"
fi
# For tests that look at the database themselves (set only now: stack.sh
# takes a caller's KAIVOX_DATABASE_URL as "use that server, start none").
export KAIVOX_DATABASE_URL="postgresql://127.0.0.1:${KAIVOX_PG_PORT}/kaivox"

# ---- the API document: lint and contract --------------------------------

NODE_OK=1
if ! command -v node >/dev/null 2>&1 || [[ ! -x "$ROOT/node_modules/.bin/redocly" ]]; then
    NODE_OK=0
fi

# count_checks NAME OUTFILE RC: adds up the PASS/FAIL lines of a node check
# and prints its summary line as run_one does (with the details of a failure).
count_checks() {
    local name="$1" out="$2" rc="$3" p f
    p="$(grep -c '^PASS ' "$out" || true)"
    f="$(grep -c '^FAIL ' "$out" || true)"
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    if (( f > 0 )); then
        while IFS= read -r line; do FAIL_LINES+=("$name: ${line#FAIL }"); done < <(grep '^FAIL ' "$out")
    elif (( rc != 0 )); then
        fail_one "$name: exited with status $rc without a FAIL line"
    fi
    printf '%-52s %4d passed, %d failed  [%s]\n' "$name" "$p" "$f" "$( ((rc == 0)) && echo ok || echo "exit $rc")"
    if (( f > 0 || rc != 0 )); then
        grep -v -e '^PASS ' -e '^#' "$out" | head -n 80 | sed 's/^/    /' || true
    fi
    # "# ..." lines: a summary worth seeing every time (the contract coverage).
    grep '^#' "$out" | head -n 40 | sed 's/^/    /' || true
}

# openapi_lint: @redocly/cli over docs/openapi.yaml with redocly.yaml; one
# check, passed only with 0 errors and 0 warnings.  Offline: no telemetry,
# no update check.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
openapi_lint() {
    local out totals rc=0
    out="$(mktemp)"
    "$ROOT/node_modules/.bin/redocly" lint --config "$ROOT/redocly.yaml" --format=json \
        "$ROOT/docs/openapi.yaml" > "$out" 2>/dev/null || rc=$?
    totals="$(node -e 'const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).totals;
                       console.log(`${t.errors} errors, ${t.warnings} warnings`)' "$out" 2>/dev/null || echo "no result")"
    if [[ "$totals" == "0 errors, 0 warnings" && $rc == 0 ]]; then
        printf 'PASS openapi lint: docs/openapi.yaml has 0 errors, 0 warnings (redocly lint)\n' > "$out"
    else
        { printf 'FAIL openapi lint: docs/openapi.yaml: %s (redocly lint, exit %d)\n' "$totals" "$rc"
          "$ROOT/node_modules/.bin/redocly" lint --config "$ROOT/redocly.yaml" --format=stylish \
              "$ROOT/docs/openapi.yaml" 2>&1 | head -n 60 || true; } > "$out.txt"
        mv "$out.txt" "$out"
    fi
    count_checks "openapi/redocly-lint" "$out" 0
    rm -f "$out"
}

# contract_check NAME SCRIPT ARGS...: one of the node scripts of tests/contract.
contract_check() {
    local name="$1" out rc=0
    shift
    out="$(mktemp)"
    ( cd "$ROOT" && timeout -k 10 "$TIMEOUT" node "$@" ) > "$out" 2>&1 < /dev/null || rc=$?
    count_checks "$name" "$out" "$rc"
    rm -f "$out"
}

DOC_CHECKS=1
if [[ -n "$ONLY" && "openapi/redocly-lint contract/selftest contract/validate browser/console.mjs" != *"$ONLY"* ]]; then
    DOC_CHECKS=0
fi
echo "== the API document (docs/openapi.yaml)"
if (( DOC_CHECKS == 0 )); then
    echo "   skipped: KVT_ONLY=$ONLY"
elif (( NODE_OK == 0 )); then
    fail_one "openapi: node and node_modules are missing (run scripts/deps.sh --dev); lint and contract check skipped"
else
    openapi_lint
    contract_check "contract/selftest" tests/contract/selftest.mjs
fi

# ---- deploy/prometheus: the scrape config and the alerting rules ----------
# promtool (Debian's prometheus package, scripts/deps.sh --dev): the rules
# load, the config loads, and the rules' own unit tests
# (kaivox.rules.test.yml) see each alert fire.  `promtool check metrics`
# runs inside the tests on every process's /metrics (test_obs_metrics).
PROM_CHECKS=1
if [[ -n "$ONLY" && "deploy/prometheus" != *"$ONLY"* ]]; then
    PROM_CHECKS=0
fi
if (( PROM_CHECKS )); then
    echo "== deploy/prometheus (promtool)"
    if ! command -v promtool >/dev/null 2>&1; then
        fail_one "deploy/prometheus: promtool is missing (run scripts/deps.sh --dev)"
    else
        prom_out="$(mktemp)"
        for check in "check rules kaivox.rules.yml" "check config prometheus.yml" \
                     "test rules kaivox.rules.test.yml"; do
            # shellcheck disable=SC2086
            if (cd "$ROOT/deploy/prometheus" && promtool $check) > "$prom_out.one" 2>&1; then
                printf 'PASS promtool %s\n' "$check" >> "$prom_out"
            else
                { printf 'FAIL promtool %s\n' "$check"; sed 's/^/  /' "$prom_out.one"; } >> "$prom_out"
            fi
        done
        rm -f "$prom_out.one"
        count_checks "deploy/prometheus" "$prom_out" 0
        rm -f "$prom_out"
    fi
fi

# ---- the test binaries ------------------------------------------------------

list_tests() {   # list_tests DIR: executable test_* files under DIR, sorted
    [[ -d "$1" ]] || return 0
    find "$1" -type f -name 'test_*' ! -name '*.o' ! -name '*.d' -perm -u+x -print | LC_ALL=C sort
}

run_one() {   # run_one BINARY
    local bin="$1" rel out err rc p f
    rel="${bin#"$KVT_BUILD"/tests/}"
    out="$(mktemp)"; err="$(mktemp)"
    rc=0
    ( cd "$ROOT" && timeout -k 10 "$TIMEOUT" "$bin" ) > "$out" 2> "$err" < /dev/null || rc=$?
    p="$(grep -c '^PASS ' "$out" || true)"
    f="$(grep -c '^FAIL ' "$out" || true)"
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    if (( f > 0 )); then
        while IFS= read -r line; do FAIL_LINES+=("$rel: ${line#FAIL }"); done < <(grep '^FAIL ' "$out")
    fi
    local status="ok"
    if (( rc == 124 || rc == 137 )); then
        fail_one "$rel: timed out after ${TIMEOUT} s"
        status="timed out"
    elif (( rc > 128 )); then
        fail_one "$rel: killed by signal $((rc - 128))"
        status="crashed (signal $((rc - 128)))"
    elif (( rc != 0 && f == 0 )); then
        fail_one "$rel: exited with status $rc without a FAIL line"
        status="exit $rc"
    elif (( rc != 0 )); then
        status="exit $rc"
    elif (( p == 0 )); then
        status="ok (no checks)"
    fi
    printf '%-52s %4d passed, %d failed  [%s]\n' "$rel" "$p" "$f" "$status"
    if (( f > 0 || rc != 0 )); then
        grep '^FAIL ' "$out" | sed 's/^/    /' || true
        if [[ -s "$err" ]]; then
            echo "    -- stderr (last 40 lines) --"
            tail -n 40 "$err" | sed 's/^/    /'
        fi
    fi
    rm -f "$out" "$err"
}

UNIT=()
E2E=()
mapfile -t UNIT < <(list_tests "$KVT_BUILD/tests/unit")
mapfile -t E2E < <(list_tests "$KVT_BUILD/tests/e2e")
if [[ -n "$ONLY" ]]; then
    filter() { local b; for b in "$@"; do [[ "$b" == *"$ONLY"* ]] && printf '%s\n' "$b"; done; return 0; }
    mapfile -t UNIT < <(filter "${UNIT[@]+"${UNIT[@]}"}")
    mapfile -t E2E < <(filter "${E2E[@]+"${E2E[@]}"}")
fi
# tests/shell/test_*.sh: the examples (examples/, against this stack), the
# scripts (stack.sh's remembered settings, on a stack of their own at
# base+40..47) and the docs' honesty check; PASS/FAIL lines, like the others.
SHELL_TESTS=()
mapfile -t SHELL_TESTS < <(find "$ROOT/tests/shell" -maxdepth 1 -type f -name 'test_*.sh' -perm -u+x | LC_ALL=C sort)
if [[ -n "$ONLY" ]]; then
    mapfile -t SHELL_TESTS < <(for t in "${SHELL_TESTS[@]+"${SHELL_TESTS[@]}"}"; do
                                   [[ "shell/${t##*/}" == *"$ONLY"* ]] && printf '%s\n' "$t"; done; true)
fi
if (( ${#UNIT[@]} + ${#E2E[@]} + ${#SHELL_TESTS[@]} == 0 && DOC_CHECKS == 0 )); then
    fail_one "test binaries found under $KVT_BUILD/tests (build them: make tests)${ONLY:+ matching '$ONLY'}"
fi

echo "== unit tests (${#UNIT[@]})"
for b in "${UNIT[@]+"${UNIT[@]}"}"; do run_one "$b"; done

echo "== end-to-end tests (${#E2E[@]})"
if [[ $STACK_OK == 1 ]]; then
    for b in "${E2E[@]+"${E2E[@]}"}"; do run_one "$b"; done
elif (( ${#E2E[@]} > 0 )); then
    echo "   skipped: the stack did not start"
fi

# script_check NAME CMD...: a script printing PASS/FAIL lines, counted as
# count_checks does.
script_check() {
    local name="$1" out rc=0
    shift
    out="$(mktemp)"
    ( cd "$ROOT" && timeout -k 10 "$TIMEOUT" "$@" ) > "$out" 2>&1 < /dev/null || rc=$?
    count_checks "$name" "$out" "$rc"
    rm -f "$out"
}

echo "== shell tests (${#SHELL_TESTS[@]}): examples, scripts, docs"
for t in "${SHELL_TESTS[@]+"${SHELL_TESTS[@]}"}"; do
    if [[ "${t##*/}" == test_examples.sh || "${t##*/}" == test_haproxy.sh ]] && [[ $STACK_OK != 1 ]]; then
        echo "   shell/${t##*/} skipped: the stack did not start"
    elif [[ "${t##*/}" == test_examples.sh ]] && { (( NODE_OK == 0 )) || [[ ! -d "$ROOT/node_modules/standardwebhooks" ]]; }; then
        fail_one "shell/test_examples.sh: node_modules/standardwebhooks is missing (run scripts/deps.sh --dev)"
    else
        script_check "shell/${t##*/}" bash "$t"
    fi
done

# ---- the web console in a real browser ---------------------------------------
# tests/browser/console.mjs: Debian's chromium, headless, driven by
# puppeteer-core (package-lock.json); axe-core; screenshots under
# build/console-screenshots/.  Its answers are recorded for the contract
# check too.
BROWSER_RAN=0
if [[ -z "$ONLY" || "browser/console.mjs" == *"$ONLY"* ]]; then
    echo "== the console in a browser"
    if [[ $STACK_OK != 1 ]]; then
        echo "   skipped: the stack did not start"
    elif (( NODE_OK == 0 )) || [[ ! -d "$ROOT/node_modules/puppeteer-core" ]]; then
        fail_one "browser/console: node_modules/puppeteer-core is missing (run scripts/deps.sh --dev)"
    elif [[ ! -x "${KVT_CHROMIUM:-/usr/bin/chromium}" ]]; then
        fail_one "browser/console: no chromium at ${KVT_CHROMIUM:-/usr/bin/chromium} (run scripts/deps.sh --dev)"
    else
        BROWSER_RAN=1
        TIMEOUT_SAVED="$TIMEOUT"; TIMEOUT=$(( TIMEOUT > 600 ? TIMEOUT : 600 ))
        contract_check "browser/console" tests/browser/console.mjs
        TIMEOUT="$TIMEOUT_SAVED"
    fi
fi

# Every answer and webhook request the end-to-end tests recorded, against
# the document.
if [[ $STACK_OK == 1 ]] && (( ${#E2E[@]} > 0 || BROWSER_RAN == 1 )); then
    echo "== contract: what the end-to-end tests received, against docs/openapi.yaml"
    if (( NODE_OK == 1 )); then
        contract_check "contract/validate" tests/contract/validate.mjs "$KVT_CONTRACT_LOG"
    else
        fail_one "contract/validate: node and node_modules are missing (run scripts/deps.sh --dev)"
    fi
fi

# ---- teardown, then the sanitizer reports the services wrote --------------

teardown
SAN_RE='ERROR: AddressSanitizer|runtime error:|LeakSanitizer'
for logf in "$KAIVOX_VAR_DIR"/log/*.log; do
    [[ -f "$logf" && ! -L "$logf" ]] || continue
    n="$(grep -cE "$SAN_RE" "$logf" || true)"
    if (( n > 0 )); then
        while IFS= read -r line; do
            fail_one "sanitizer report in ${logf##*/}: ${line:0:200}"
        done < <(grep -E "$SAN_RE" "$logf")
    fi
done

# Every line a KaiVox process wrote (its stdout and stderr both go to its
# log) is one JSON object: libmicrohttpd's and libpq's own messages
# included.  One check per log file of the run (extra instances and test
# gateways too); not PostgreSQL's own logs.
if [[ $STACK_OK == 1 ]] && (( ${#E2E[@]} > 0 )); then
    echo "== logs: every line a process wrote is JSON"
    json_out="$(mktemp)"
    for logf in "$KAIVOX_VAR_DIR"/log/*.log; do
        [[ -f "$logf" && ! -L "$logf" ]] || continue
        case "${logf##*/}" in initdb.log|bootstrap.log|postgres.log) continue ;; esac
        bad="$(jq -Rr 'try (fromjson | if type == "object" and has("ts") and has("level") and has("msg") then empty else "x" end) catch "x"' \
               < "$logf" 2>/dev/null | wc -l)"
        lines="$(wc -l < "$logf")"
        if [[ "$bad" == 0 ]]; then
            printf 'PASS %s: all %d lines are JSON objects with ts, level, msg\n' "${logf##*/}" "$lines" >> "$json_out"
        else
            { printf 'FAIL %s: %d of %d lines are not JSON log objects\n' "${logf##*/}" "$bad" "$lines"
              jq -Rr 'try (fromjson | if type == "object" then empty else . end) catch .' < "$logf" \
                  | head -n 5 | cut -c1-300 | sed 's/^/  /'; } >> "$json_out"
        fi
    done
    count_checks "logs/json-only" "$json_out" 0
    rm -f "$json_out"
fi

if (( FAILED > 0 )); then
    echo
    echo "== failures"
    for l in "${FAIL_LINES[@]}"; do echo "  $l"; done
    for logf in "$KAIVOX_VAR_DIR"/log/*.log; do
        [[ -f "$logf" && ! -L "$logf" ]] || continue
        case "${logf##*/}" in initdb.log|bootstrap.log) continue ;; esac
        printf '\n---- tail of %s ----\n' "${logf#"$ROOT"/}"
        tail -n 20 "$logf" | cut -c1-400 || true
    done
    echo
    echo "(PostgreSQL's log: ${KAIVOX_VAR_DIR#"$ROOT"/}/log/postgres.log)"
    echo
fi

echo "$PASSED passed, $FAILED failed"
(( FAILED == 0 ))
