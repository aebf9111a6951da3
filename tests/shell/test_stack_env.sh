#!/usr/bin/env bash
# test_stack_env.sh -- `scripts/stack.sh up` remembers its settings in
# $KAIVOX_VAR_DIR/stack.env, and status / down find the stack without them.
#
# Starts a stack of its own (not tests/run.sh's): ports KVT_PORT_BASE+56..63
# (PostgreSQL +56, bus +57..59, HTTP +60, admin +61, service metrics off), files under
# var/test-<base>/stack-env/, with the demo tenant (demo.json's tenant_id must
# be a JSON integer).  Then, with no KAIVOX_* variable but KAIVOX_VAR_DIR:
# status finds it running, a port given explicitly wins over the file, down
# stops it all (PostgreSQL included).  Always stops what it started.
# Prints PASS/FAIL lines.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BASE="${KVT_PORT_BASE:-18000}"
VAR="$ROOT/var/test-$BASE/stack-env"
BIN="${KAIVOX_BIN_DIR:-$ROOT/bin}"
HTTP=$((BASE + 60))
OUT="$(mktemp)"

. "$ROOT/tests/shell/lib.sh"

# bare CMD...: runs CMD with no KAIVOX_* variable of this environment but
# KAIVOX_VAR_DIR (and those given as NAME=VALUE before CMD).
bare() {
    local unset_args=() v
    for v in $(compgen -e); do
        case "$v" in KAIVOX_*) unset_args+=(-u "$v") ;; esac
    done
    env "${unset_args[@]}" KAIVOX_VAR_DIR="$VAR" "$@"
}

cleanup() {
    bare KAIVOX_BIN_DIR="$BIN" KAIVOX_PG_PORT=$((BASE + 56)) scripts/stack.sh down >/dev/null 2>&1 || true
    if [[ -L "$VAR/pg" ]]; then
        local t; t="$(readlink "$VAR/pg")"
        case "$t" in /tmp/kaivox-pg-*) rm -rf -- "$t" ;; esac
    fi
    rm -rf -- "$VAR" "$OUT"
}
cleanup
trap cleanup EXIT
mkdir -p "$VAR"

if bare KAIVOX_BIN_DIR="$BIN" KVT_FAST_PG=1 \
        KAIVOX_PG_PORT=$((BASE + 56)) KAIVOX_BUS_ENDPOINT="tcp://127.0.0.1:$((BASE + 57))" \
        KAIVOX_EVENTS_IN_ENDPOINT="tcp://127.0.0.1:$((BASE + 58))" \
        KAIVOX_EVENTS_OUT_ENDPOINT="tcp://127.0.0.1:$((BASE + 59))" \
        KAIVOX_HTTP_PORT="$HTTP" KAIVOX_ADMIN_PORT=$((BASE + 61)) KAIVOX_METRICS_BASE_PORT=off \
        scripts/stack.sh up > "$OUT" 2>&1; then
    pass "stack.sh up on ports $((BASE + 56))..$((BASE + 61))"
else
    fail "stack.sh up on ports $((BASE + 56))..$((BASE + 61)): $(tail -n 5 "$OUT" | tr '\n' ' ')"
    exit 1
fi
check "up printed its progress (==> database, ==> services)" \
    sh -c 'grep -q "^==> database" "$1" && grep -q "^==> services" "$1"' _ "$OUT"
check "stack.env written, mode 0600" [ "$(stat -c %a "$VAR/stack.env" 2>/dev/null)" = 600 ]
check "stack.env holds KAIVOX_HTTP_PORT=$HTTP" grep -qx "KAIVOX_HTTP_PORT=$HTTP" "$VAR/stack.env"
check "demo.json: tenant_id is a JSON integer" jq -e '.tenant_id | type == "number" and . == floor' "$VAR/demo.json"
key="$(jq -r .key "$VAR/demo.json")"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "http://127.0.0.1:$HTTP/api/v1/services")"
check "the demo key of demo.json works on port $HTTP (got $code)" [ "$code" = 200 ]

bare scripts/stack.sh status > "$OUT" 2>&1; rc=$?
check "status without the variables: exit 0 (got $rc)" [ "$rc" = 0 ]
check "status without the variables: readyz 200 on port $HTTP" grep -q "^readyz      200 (http://127.0.0.1:$HTTP/readyz)" "$OUT"
check "status without the variables: PostgreSQL running on $((BASE + 56))" grep -q "^postgres    running  127.0.0.1:$((BASE + 56))" "$OUT"

# An explicit value beats the file: another port, where nothing answers.
bare KAIVOX_HTTP_PORT=$((BASE + 62)) scripts/stack.sh status > "$OUT" 2>&1; rc=$?
check "status with KAIVOX_HTTP_PORT given: that port wins (readyz 000, exit 1)" \
    sh -c '[ "$1" = 1 ] && grep -q "^readyz      000 (http://127.0.0.1:$2/readyz)" "$3"' _ "$rc" $((BASE + 62)) "$OUT"

bare scripts/stack.sh down > "$OUT" 2>&1; rc=$?
check "down without the variables: exit 0 (got $rc)" [ "$rc" = 0 ]
check "down stopped PostgreSQL" grep -q 'stopped PostgreSQL' "$OUT"
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$HTTP/healthz")"
check "down: nothing answers on port $HTTP any more (got $code)" [ "$code" = 000 ]
left=0
for f in "$VAR"/run/*.pid; do [[ -e "$f" ]] && left=$((left + 1)); done
check "down: no pid file left" [ "$left" = 0 ]
bare scripts/stack.sh status > "$OUT" 2>&1; rc=$?
check "status after down: exit 1, PostgreSQL stopped" \
    sh -c '[ "$1" = 1 ] && grep -q "^postgres    stopped" "$2"' _ "$rc" "$OUT"
# Its processes' logs are deleted with the directory: look for sanitizer
# reports first (make test-san).
san=0
for f in "$VAR"/log/*.log; do
    [[ -f "$f" && ! -L "$f" ]] || continue
    grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$f" && { san=1; grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$f" | head -n 5; }
done
check "no sanitizer report in the logs of this stack" [ "$san" = 0 ]
