# private-stack.sh -- sourced (not run) by tests/run.sh, scripts/bench.sh and
# scripts/bench-webhooks.sh: the one definition of a private stack's port
# layout and of how its state directory is made fresh.
#
# Preconditions: ROOT is the repository root.  Both functions export what the
# stack and the test programs read; they never start anything.

# private_stack_env BASE VAR_DIR [--clean]
# Drops the caller's settings that would point the stack somewhere else
# (database, addresses, admin URL and token, SQL dir, bus keys); with --clean, every
# KAIVOX_* setting but KAIVOX_BIN_DIR (which binaries to run), so that the
# stack gets the documented defaults.  Then exports the port layout derived
# from BASE:
#   PostgreSQL BASE+32, bus BASE+70, events in/out BASE+71/72,
#   HTTP BASE+80, admin BASE+81; with KAIVOX_GATEWAYS=2 (tests/run.sh) a
#   second gateway on bus BASE+73, events BASE+74/75, HTTP BASE+82, admin
#   BASE+83 (scripts/stack.sh derives them); the bus keys in VAR_DIR/keys;
#   service metrics BASE+40.. (stack.sh: BASE+40 + 4*(instance-1) + service
#   index), a test Prometheus BASE+38.
# Sets STACK (path of scripts/stack.sh) and BIN_DIR (absolute).
private_stack_env() {
    local base="$1" var_dir="$2" clean="${3:-}" v
    unset KAIVOX_DATABASE_URL KAIVOX_DB_SUPERUSER_URL KAIVOX_DB_NAME KAIVOX_HTTP_ADDR \
          KAIVOX_ADMIN_ADDR KAIVOX_ADMIN_URL KAIVOX_ADMIN_TOKEN KAIVOX_SQL_DIR KAIVOX_BUS_KEYS
    if [[ "$clean" == --clean ]]; then
        for v in $(compgen -e); do
            case "$v" in KAIVOX_BIN_DIR) ;; KAIVOX_*) unset "$v" ;; esac
        done
    fi
    export KAIVOX_VAR_DIR="$var_dir"
    export KAIVOX_PG_PORT=$((base + 32))
    export KAIVOX_HTTP_PORT=$((base + 80))
    export KAIVOX_ADMIN_PORT=$((base + 81))
    export KAIVOX_BUS_ENDPOINT="tcp://127.0.0.1:$((base + 70))"
    export KAIVOX_EVENTS_IN_ENDPOINT="tcp://127.0.0.1:$((base + 71))"
    export KAIVOX_EVENTS_OUT_ENDPOINT="tcp://127.0.0.1:$((base + 72))"
    export KAIVOX_ADMIN_URL="http://127.0.0.1:${KAIVOX_ADMIN_PORT}"
    export KAIVOX_METRICS_BASE_PORT=$((base + 40))
    export KAIVOX_BUS_KEYS="$var_dir/keys"
    BIN_DIR="${KAIVOX_BIN_DIR:-bin}"
    case "$BIN_DIR" in /*) ;; *) BIN_DIR="$ROOT/$BIN_DIR" ;; esac
    export KAIVOX_BIN_DIR="$BIN_DIR"
    STACK="$ROOT/scripts/stack.sh"
}

# private_stack_fresh
# Stops whatever an earlier run left in $KAIVOX_VAR_DIR, wipes it (and the
# /tmp cluster behind its pg link, if any), and writes a new admin token,
# exported as KAIVOX_ADMIN_TOKEN.
private_stack_fresh() {
    local target
    "$STACK" down >/dev/null 2>&1 || true
    if [[ -L "$KAIVOX_VAR_DIR/pg" ]]; then
        target="$(readlink "$KAIVOX_VAR_DIR/pg")"
        case "$target" in /tmp/kaivox-pg-*) rm -rf -- "$target" ;; esac
    fi
    rm -rf -- "$KAIVOX_VAR_DIR"
    mkdir -p "$KAIVOX_VAR_DIR"
    (umask 077; openssl rand -hex 32 > "$KAIVOX_VAR_DIR/admin.token")
    KAIVOX_ADMIN_TOKEN="$(cat "$KAIVOX_VAR_DIR/admin.token")"
    export KAIVOX_ADMIN_TOKEN
}
