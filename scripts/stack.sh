#!/usr/bin/env bash
# stack.sh -- the process supervisor of a local KaiVox: an embedded
# PostgreSQL cluster under $KAIVOX_VAR_DIR/pg, the gateway and the four
# services as background processes with pid and log files, the demo tenant.
# Used by `make run / up / down` and by tests/run.sh.
#
# Usage: scripts/stack.sh COMMAND [ARGS]
#   run [--no-demo]        like up, in the foreground; Ctrl-C (INT/TERM) stops
#                          everything, the embedded PostgreSQL included
#   up [--no-demo]         start PostgreSQL (unless KAIVOX_DATABASE_URL is set),
#                          bootstrap it, start gateway + services, wait for
#                          /readyz, create (or reuse) the demo tenant and its
#                          console user (a generated password, set through the
#                          user's set-password link) and print its API key with
#                          a curl line to try, and the console's address with
#                          the user's email and password (all kept in
#                          $KAIVOX_VAR_DIR/demo.json)
#   down                   stop everything up started (TERM: each process
#                          drains; KILL what still runs KAIVOX_DRAIN_S + 5 s later)
#   start NAME [--instance N]    start one process (gateway, scheduling, crm,
#   stop NAME [--instance N]     calls, webhooks); instance N > 1 is an extra
#   kill NAME [--instance N]     copy with its own pid/log file; stop = SIGTERM
#   restart NAME [--instance N]  and wait for the drain to end (a service
#                          withdraws from the broker, finishes what it holds,
#                          exits within KAIVOX_DRAIN_S); kill = SIGKILL, as a
#                          crash would
#   status                 what runs, and whether each gateway's /readyz answers
#   db-stop | db-start | db-restart
#                          the embedded PostgreSQL alone (tests of a
#                          database restart under running services)
#
# Settings (environment, with defaults): KAIVOX_VAR_DIR (var), KAIVOX_BIN_DIR
# (bin), KAIVOX_PG_PORT (54320), KAIVOX_HTTP_PORT (8080), KAIVOX_ADMIN_PORT
# (8081), KAIVOX_BUS_ENDPOINT (tcp://127.0.0.1:7700),
# KAIVOX_EVENTS_IN_ENDPOINT (tcp://127.0.0.1:7701), KAIVOX_EVENTS_OUT_ENDPOINT
# (tcp://127.0.0.1:7702), KAIVOX_DATABASE_URL (unset: the embedded cluster,
# database KAIVOX_DB_NAME, default kaivox), KAIVOX_PG_BIN
# (/usr/lib/postgresql/15/bin),
# KAIVOX_DB_SUPERUSER_URL (with KAIVOX_DATABASE_URL: bootstrap that server
# as this superuser first), KAIVOX_ADMIN_TOKEN (unset: $KAIVOX_VAR_DIR/admin.token,
# generated once), KAIVOX_BUS_KEYS (the bus's CURVE keys; unset:
# $KAIVOX_VAR_DIR/keys, made with `kaivoxctl keygen` when missing, unless
# KAIVOX_BUS_INSECURE=1), KAIVOX_GATEWAYS (1: how many gateways `up` starts),
# KVT_FAST_PG=1 (tests only: fsync off),
# KAIVOX_METRICS_BASE_PORT (9460; "off": none): each service process gets
# KAIVOX_METRICS_ADDR=127.0.0.1:<base + 4*(instance-1) + i>, i = 0 scheduling,
# 1 crm, 2 calls, 3 webhooks (the gateway serves /metrics on its admin port).  Every KAIVOX_* variable of the
# caller reaches every process (they inherit the environment).
# up/run remember the KAIVOX_* variables they were given in
# $KAIVOX_VAR_DIR/stack.env; the other commands read them back (the
# caller's own values win), so `status` and `down` need no variables.
# Relative paths are taken from the repository root.
#
# Several gateways: gateway instance N (started by `up` when KAIVOX_GATEWAYS
# >= N, or by `start gateway --instance N`) listens on KAIVOX_HTTP_PORT and
# KAIVOX_ADMIN_PORT plus 2(N-1), and binds the N-th entry of each endpoint
# list (KAIVOX_BUS_ENDPOINT, KAIVOX_EVENTS_IN_ENDPOINT,
# KAIVOX_EVENTS_OUT_ENDPOINT); a single tcp://HOST:PORT stands for the list
# PORT, PORT+3, PORT+6, ... on HOST.  The services get the whole lists of
# KAIVOX_GATEWAYS entries, so each worker registers with every gateway.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PROCS=(gateway scheduling crm calls webhooks)
PG_BIN="${KAIVOX_PG_BIN:-/usr/lib/postgresql/15/bin}"

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }
log() { printf 'stack: %s\n' "$*" >&2; }
step() { printf '==> %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- settings -----------------------------------------------------------

VAR_DIR="$(abspath "${KAIVOX_VAR_DIR:-var}")"

# ---- remembered settings ($VAR_DIR/stack.env) -----------------------------
# `up` / `run` write the KAIVOX_* settings they were given (one NAME=VALUE a
# line, shell-quoted, mode 0600: it may hold passwords, like admin.token);
# every other command (status, down, start, stop, restart, ...) reads them
# back first, so `KAIVOX_HTTP_PORT=9090 make up` then `make down` stops that
# stack.  A variable set in the caller's environment wins over the file.
STACK_ENV="$VAR_DIR/stack.env"
STACK_ENV_GIVEN="$(compgen -e | grep -E '^KAIVOX_[A-Z0-9_]+$' | grep -vx 'KAIVOX_VAR_DIR' || true)"
write_stack_env() {
    local v
    mkdir -p "$VAR_DIR"
    (umask 077
     { echo "# written by scripts/stack.sh ${1:-up}; read by its other commands"
       for v in $STACK_ENV_GIVEN; do printf '%s=%q\n' "$v" "${!v}"; done
     } > "$STACK_ENV.tmp" && mv -f "$STACK_ENV.tmp" "$STACK_ENV")
}
load_stack_env() {
    local line name
    [[ -r "$STACK_ENV" ]] || return 0
    while IFS= read -r line; do
        [[ "$line" =~ ^(KAIVOX_[A-Z0-9_]+)= ]] || continue
        name="${BASH_REMATCH[1]}"
        [[ -n "${!name+set}" ]] && continue       # the caller's value wins
        eval "export $line"                       # written by printf %q above
    done < "$STACK_ENV"
}
case "${1:-}" in up|run|""|-h|--help|help) ;; *) load_stack_env ;; esac
BIN_DIR="$(abspath "${KAIVOX_BIN_DIR:-bin}")"
export KAIVOX_VAR_DIR="$VAR_DIR" KAIVOX_BIN_DIR="$BIN_DIR"
export KAIVOX_PG_PORT="${KAIVOX_PG_PORT:-54320}"
export KAIVOX_HTTP_PORT="${KAIVOX_HTTP_PORT:-8080}"
export KAIVOX_ADMIN_PORT="${KAIVOX_ADMIN_PORT:-8081}"
export KAIVOX_BUS_ENDPOINT="${KAIVOX_BUS_ENDPOINT:-tcp://127.0.0.1:7700}"
export KAIVOX_EVENTS_IN_ENDPOINT="${KAIVOX_EVENTS_IN_ENDPOINT:-tcp://127.0.0.1:7701}"
export KAIVOX_EVENTS_OUT_ENDPOINT="${KAIVOX_EVENTS_OUT_ENDPOINT:-tcp://127.0.0.1:7702}"
export KAIVOX_SQL_DIR="$(abspath "${KAIVOX_SQL_DIR:-sql}")"
export KAIVOX_CONSOLE_DIR="$(abspath "${KAIVOX_CONSOLE_DIR:-console}")"
export KAIVOX_WEBHOOK_ALLOW_PRIVATE="${KAIVOX_WEBHOOK_ALLOW_PRIVATE:-1}"
GATEWAYS="${KAIVOX_GATEWAYS:-1}"
[[ "$GATEWAYS" =~ ^[1-9]$ ]] || die "KAIVOX_GATEWAYS must be 1..9"
if [[ "${KAIVOX_BUS_INSECURE:-0}" != 1 ]]; then
    export KAIVOX_BUS_KEYS="$(abspath "${KAIVOX_BUS_KEYS:-$VAR_DIR/keys}")"
fi

EMBEDDED_PG=1
if [[ -n "${KAIVOX_DATABASE_URL:-}" ]]; then
    EMBEDDED_PG=0
else
    export KAIVOX_DATABASE_URL="postgresql://127.0.0.1:${KAIVOX_PG_PORT}/${KAIVOX_DB_NAME:-kaivox}"
fi

# Where curl reaches a listener bound to addr (a wildcard means localhost).
reach_host() {
    case "$1" in ''|0.0.0.0|'*'|'::'|'[::]') printf '127.0.0.1\n' ;; *) printf '%s\n' "$1" ;; esac
}
HTTP_HOST="$(reach_host "${KAIVOX_HTTP_ADDR:-127.0.0.1}")"
ADMIN_HOST="$(reach_host "${KAIVOX_ADMIN_ADDR:-127.0.0.1}")"
BASE_URL="http://${HTTP_HOST}:${KAIVOX_HTTP_PORT}"
export KAIVOX_ADMIN_URL="${KAIVOX_ADMIN_URL:-http://${ADMIN_HOST}:${KAIVOX_ADMIN_PORT}}"

LOG_DIR="$VAR_DIR/log"
RUN_DIR="$VAR_DIR/run"
PG_LINK="$VAR_DIR/pg"
DEMO_FILE="$VAR_DIR/demo.json"

# ---- helpers ------------------------------------------------------------

# nth_endpoint LIST N: the N-th entry of a comma-separated endpoint list; a
# list of one tcp://HOST:PORT stands for PORT, PORT+3, ... (see above).
nth_endpoint() {
    local list="$1" n="$2" IFS=, parts=() host port
    read -ra parts <<< "$list"
    if (( ${#parts[@]} >= n )); then
        printf '%s\n' "${parts[n-1]// /}"
        return 0
    fi
    if (( ${#parts[@]} == 1 )) && [[ "${parts[0]}" =~ ^(tcp://.+):([0-9]+)$ ]]; then
        host="${BASH_REMATCH[1]}"; port="${BASH_REMATCH[2]}"
        printf '%s:%d\n' "$host" $((port + 3 * (n - 1)))
        return 0
    fi
    die "cannot tell gateway $n's endpoint from '$list' (give a list with an entry per gateway)"
}

# endpoint_list LIST N: the first N endpoints of LIST, comma-separated.
endpoint_list() {
    local i out=""
    for ((i = 1; i <= $2; i++)); do out+="${out:+,}$(nth_endpoint "$1" "$i")"; done
    printf '%s\n' "$out"
}

# The addresses gateway N binds (one each), and the lists the services get.
GW_BUS_LIST="$KAIVOX_BUS_ENDPOINT"
GW_IN_LIST="$KAIVOX_EVENTS_IN_ENDPOINT"
GW_OUT_LIST="$KAIVOX_EVENTS_OUT_ENDPOINT"
if (( GATEWAYS > 1 )); then
    KAIVOX_BUS_ENDPOINT="$(endpoint_list "$GW_BUS_LIST" "$GATEWAYS")"
    KAIVOX_EVENTS_IN_ENDPOINT="$(endpoint_list "$GW_IN_LIST" "$GATEWAYS")"
    KAIVOX_EVENTS_OUT_ENDPOINT="$(endpoint_list "$GW_OUT_LIST" "$GATEWAYS")"
fi

# gw_url N: gateway N's public base URL.
gw_url() {
    printf 'http://%s:%d\n' "$HTTP_HOST" $((KAIVOX_HTTP_PORT + 2 * ($1 - 1)))
}

# Makes the bus's CURVE keys that are missing (kaivoxctl keygen).
ensure_bus_keys() {
    [[ "${KAIVOX_BUS_INSECURE:-0}" == 1 ]] && return 0
    [[ -x "$BIN_DIR/kaivoxctl" ]] || die "missing $BIN_DIR/kaivoxctl (build it first: make)"
    "$BIN_DIR/kaivoxctl" keygen --dir "$KAIVOX_BUS_KEYS" >/dev/null \
        || die "cannot make the bus keys in $KAIVOX_BUS_KEYS"
}

ensure_dirs() {
    mkdir -p "$VAR_DIR" "$LOG_DIR" "$RUN_DIR"
}

# Loads (or generates once) the admin token and exports it.
ensure_admin_token() {
    if [[ -n "${KAIVOX_ADMIN_TOKEN:-}" ]]; then
        export KAIVOX_ADMIN_TOKEN
        return
    fi
    local f="$VAR_DIR/admin.token"
    if [[ ! -s "$f" ]]; then
        ensure_dirs
        (umask 077; openssl rand -hex 32 > "$f.tmp" && mv -f "$f.tmp" "$f")
    fi
    chmod 600 "$f"
    KAIVOX_ADMIN_TOKEN="$(tr -d '[:space:]' < "$f")"
    export KAIVOX_ADMIN_TOKEN
}

# proc_name NAME INSTANCE -> file stem (scheduling, scheduling-2, ...)
proc_name() {
    if [[ "$2" == 1 ]]; then printf '%s\n' "$1"; else printf '%s-%s\n' "$1" "$2"; fi
}

# Pid of the live process behind pid file stem, or nothing.  A pid is only
# believed when /proc says it still runs a kaivox-* binary (no pid reuse).
live_pid() {
    local f="$RUN_DIR/$1.pid" pid cmd
    [[ -s "$f" ]] || return 0
    pid="$(tr -dc '0-9' < "$f")"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 0
    cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)"
    cmd="${cmd%% *}"
    case "${cmd##*/}" in kaivox-*) printf '%s\n' "$pid" ;; esac
    # A zombie or a process in exit is not "live" for our purposes.
    return 0
}

check_name() {
    local n
    for n in "${PROCS[@]}"; do [[ "$n" == "$1" ]] && return 0; done
    die "unknown process '$1' (one of: ${PROCS[*]})"
}

check_binaries() {
    local n missing=()
    for n in "${PROCS[@]}"; do
        [[ -x "$BIN_DIR/kaivox-$n" ]] || missing+=("$BIN_DIR/kaivox-$n")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        die "missing binaries: ${missing[*]} (build them first: make)"
    fi
}

# start_proc NAME INSTANCE: starts one process in its own session, pid file
# written by the process itself just before exec.  No-op if already live.
start_proc() {
    local name="$1" inst="$2" stem pid bin
    stem="$(proc_name "$name" "$inst")"
    bin="$BIN_DIR/kaivox-$name"
    [[ -x "$bin" ]] || die "missing binary $bin (build it first: make)"
    pid="$(live_pid "$stem")"
    if [[ -n "$pid" ]]; then
        log "$stem already running (pid $pid)"
        return 0
    fi
    ensure_dirs
    rm -f "$RUN_DIR/$stem.pid"
    local mbase="${KAIVOX_METRICS_BASE_PORT:-9460}" maddr="" idx
    if [[ "$name" != gateway && "$mbase" =~ ^[0-9]+$ ]]; then
        case "$name" in scheduling) idx=0 ;; crm) idx=1 ;; calls) idx=2 ;; *) idx=3 ;; esac
        maddr="127.0.0.1:$((mbase + 4 * (inst - 1) + idx))"
    fi
    local env=(KAIVOX_INSTANCE="$inst" KAIVOX_METRICS_ADDR="$maddr")
    if [[ "$name" == gateway ]]; then
        # each gateway binds its own entry of the lists, on its own ports
        env+=(KAIVOX_BUS_ENDPOINT="$(nth_endpoint "$GW_BUS_LIST" "$inst")"
              KAIVOX_EVENTS_IN_ENDPOINT="$(nth_endpoint "$GW_IN_LIST" "$inst")"
              KAIVOX_EVENTS_OUT_ENDPOINT="$(nth_endpoint "$GW_OUT_LIST" "$inst")"
              KAIVOX_HTTP_PORT=$((KAIVOX_HTTP_PORT + 2 * (inst - 1)))
              KAIVOX_ADMIN_PORT=$((KAIVOX_ADMIN_PORT + 2 * (inst - 1))))
    fi
    env "${env[@]}" setsid bash -c 'echo $$ > "$1"; shift; exec "$@"' \
        _ "$RUN_DIR/$stem.pid" "$bin" >> "$LOG_DIR/$stem.log" 2>&1 < /dev/null &
    # Wait until the pid file exists and the process has exec'd the binary
    # (live_pid only believes kaivox-* command lines), or died trying.
    local i
    for ((i = 0; i < 100; i++)); do
        if [[ -s "$RUN_DIR/$stem.pid" ]]; then
            pid="$(tr -dc '0-9' < "$RUN_DIR/$stem.pid")"
            [[ -n "$(live_pid "$stem")" ]] && break
            [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null && break
        fi
        sleep 0.02
    done
    log "started $stem (pid $(cat "$RUN_DIR/$stem.pid" 2>/dev/null || echo '?'), log $LOG_DIR/$stem.log)"
}

# stop_stems SIGNAL STEM...: signals the live ones, waits for them to end
# (a TERM drains: up to KAIVOX_DRAIN_S, default 10, plus 5 s of margin),
# then KILLs what is left; removes their pid files.
stop_stems() {
    local sig="$1"; shift
    local stem pid pids=() stems=()
    for stem in "$@"; do
        pid="$(live_pid "$stem")"
        if [[ -n "$pid" ]]; then
            kill "-$sig" "$pid" 2>/dev/null || true
            pids+=("$pid"); stems+=("$stem")
        fi
    done
    local drain="${KAIVOX_DRAIN_S:-10}" wait_s alive
    [[ "$drain" =~ ^[0-9]{1,4}$ ]] || drain=10
    wait_s=$((drain + 5))
    local deadline=$((SECONDS + wait_s))
    while :; do
        alive=()
        for pid in "${pids[@]+"${pids[@]}"}"; do
            if kill -0 "$pid" 2>/dev/null && ! is_zombie "$pid"; then alive+=("$pid"); fi
        done
        [[ ${#alive[@]} -eq 0 ]] && break
        if (( SECONDS >= deadline )); then
            log "still running after ${wait_s} s, killing: ${alive[*]}"
            kill -KILL "${alive[@]}" 2>/dev/null || true
            sleep 0.2
            break
        fi
        sleep 0.05
    done
    for stem in "${stems[@]+"${stems[@]}"}"; do log "stopped $stem"; done
    for stem in "$@"; do rm -f "$RUN_DIR/$stem.pid"; done
}

is_zombie() {
    local st
    st="$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)"
    [[ "$st" == Z || -z "$st" ]]
}

# Every pid file stem under run/, gateway first then the services.
all_stems() {
    local f stem
    [[ -d "$RUN_DIR" ]] || return 0
    for f in "$RUN_DIR"/gateway*.pid "$RUN_DIR"/*.pid; do
        [[ -e "$f" ]] || continue
        stem="${f##*/}"; stem="${stem%.pid}"
        printf '%s\n' "$stem"
    done | awk '!seen[$0]++'
}

tail_logs() {
    local f
    for f in "$LOG_DIR"/*.log; do
        [[ -e "$f" ]] || continue
        printf '\n---- tail of %s ----\n' "$f" >&2
        tail -n "${1:-25}" "$f" >&2 || true
    done
}

# ---- embedded PostgreSQL ------------------------------------------------

AS_PG=()          # prefix that runs a command as the cluster's owner
PGDATA_DIR=""     # real data directory (maybe behind the var/pg symlink)

pg_prepare_paths() {
    local real
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (apt-get install postgresql)"
        # From /: the PostgreSQL tools complain when they cannot enter the
        # caller's directory (a repository under /root, say).
        AS_PG=(runuser -u postgres -- env -C /)
    fi
    ensure_dirs
    if [[ -L "$PG_LINK" ]]; then
        real="$(readlink "$PG_LINK")"
    elif [[ -d "$PG_LINK" || ${#AS_PG[@]} -eq 0 ]]; then
        real="$PG_LINK"
    elif "${AS_PG[@]}" test -x "$VAR_DIR" 2>/dev/null && "${AS_PG[@]}" test -r "$VAR_DIR" 2>/dev/null; then
        real="$PG_LINK"
    else
        # The postgres user cannot reach the repository (e.g. under /root):
        # keep the cluster in /tmp, named after the var dir, behind a link.
        real="/tmp/kaivox-pg-$(printf '%s' "$VAR_DIR" | sha256sum | cut -c1-16)"
        ln -sfn "$real" "$PG_LINK"
    fi
    if [[ ! -d "$real" ]]; then
        mkdir -p "$real"
    fi
    if [[ ${#AS_PG[@]} -gt 0 ]]; then
        chown postgres:postgres "$real"
    fi
    chmod 700 "$real"
    PGDATA_DIR="$real"
}

pg_running() {
    [[ -n "$PGDATA_DIR" && -f "$PGDATA_DIR/postmaster.pid" ]] || return 1
    "${AS_PG[@]+"${AS_PG[@]}"}" "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

pg_start() {
    [[ -x "$PG_BIN/initdb" ]] || die "PostgreSQL 15 not found in $PG_BIN (scripts/deps.sh installs it)"
    pg_prepare_paths
    if [[ ! -s "$PGDATA_DIR/PG_VERSION" ]]; then
        log "initdb $PGDATA_DIR"
        "${AS_PG[@]+"${AS_PG[@]}"}" "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres \
            --auth=trust -E UTF8 --locale=C >"$LOG_DIR/initdb.log" 2>&1 \
            || { cat "$LOG_DIR/initdb.log" >&2; die "initdb failed"; }
        printf "\ninclude_if_exists = 'kaivox.conf'\n" | "${AS_PG[@]+"${AS_PG[@]}"}" \
            tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
    fi
    if pg_running; then
        log "PostgreSQL already running ($PGDATA_DIR)"
        return 0
    fi
    # Per-start settings: port and durability can change between runs.
    local sockdir="$PGDATA_DIR" conf
    # A unix socket path must fit in 107 bytes; else TCP only.
    if (( ${#sockdir} > 80 )); then sockdir=""; fi
    conf="# written by scripts/stack.sh at every start
listen_addresses = '127.0.0.1'
port = ${KAIVOX_PG_PORT}
unix_socket_directories = '${sockdir}'
max_connections = 200
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
"
    if [[ "${KVT_FAST_PG:-0}" == 1 ]]; then
        conf+="fsync = off
synchronous_commit = off
full_page_writes = off
"
    fi
    printf '%s' "$conf" | "${AS_PG[@]+"${AS_PG[@]}"}" tee "$PGDATA_DIR/kaivox.conf" >/dev/null
    ln -sfn "$PGDATA_DIR/server.log" "$LOG_DIR/postgres.log"
    log "starting PostgreSQL on 127.0.0.1:${KAIVOX_PG_PORT}"
    if ! "${AS_PG[@]+"${AS_PG[@]}"}" "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" \
            -w -t 60 start >/dev/null; then
        tail -n 30 "$PGDATA_DIR/server.log" >&2 || true
        die "PostgreSQL did not start (port ${KAIVOX_PG_PORT} in use?)"
    fi
}

pg_stop() {
    [[ -e "$PG_LINK" ]] || return 0
    pg_prepare_paths
    if pg_running; then
        "${AS_PG[@]+"${AS_PG[@]}"}" "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 30 stop >/dev/null \
            || log "pg_ctl stop failed"
        log "stopped PostgreSQL"
    fi
}

db_bootstrap() {
    local url
    if [[ "$EMBEDDED_PG" == 1 ]]; then
        url="postgresql://postgres@127.0.0.1:${KAIVOX_PG_PORT}/postgres"
    elif [[ -n "${KAIVOX_DB_SUPERUSER_URL:-}" ]]; then
        url="$KAIVOX_DB_SUPERUSER_URL"
    else
        log "KAIVOX_DATABASE_URL is set and KAIVOX_DB_SUPERUSER_URL is not: assuming the database is bootstrapped"
        return 0
    fi
    "$ROOT/scripts/db-bootstrap.sh" "$url" >"$LOG_DIR/bootstrap.log" 2>&1 \
        || { cat "$LOG_DIR/bootstrap.log" >&2; die "database bootstrap failed"; }
}

# ---- readiness and demo data ---------------------------------------------

http_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" 2>/dev/null || true
}

wait_ready() {
    local deadline=$((SECONDS + 60)) n stem g ready
    while (( SECONDS < deadline )); do
        ready=1
        for ((g = 1; g <= GATEWAYS; g++)); do
            [[ "$(http_code "$(gw_url "$g")/readyz")" == 200 ]] || { ready=0; break; }
        done
        (( ready )) && return 0
        for n in "${PROCS[@]}" $(for ((g = 2; g <= GATEWAYS; g++)); do echo "gateway-$g"; done); do
            stem="$n"
            if [[ -z "$(live_pid "$stem")" ]]; then
                log "$stem exited during start-up"
                tail -n 30 "$LOG_DIR/$stem.log" >&2 || true
                return 1
            fi
        done
        sleep 0.2
    done
    log "/readyz of the $GATEWAYS gateway(s) did not answer 200 within 60 s"
    tail_logs 25
    return 1
}

ctl() {
    "$BIN_DIR/kaivoxctl" "$@"
}

# Reads field from one JSON value on stdin, enveloped or not.
json_field() {
    jq -er --arg f "$1" '(.data // .)[$f] | select(. != null) | tostring'
}

demo_staff() {
    local tid="$1" ok=1
    ctl staff create --tenant "$tid" --name "Alex Morgan" --specialties haircut,colour \
        --hours mon-fri=09:00-12:30 --hours mon-fri=13:30-17:30 >/dev/null || ok=0
    if [[ $ok == 1 ]]; then
        ctl staff create --tenant "$tid" --name "Sam Taylor" --specialties beard,haircut \
            --hours tue-sat=10:00-18:00 >/dev/null || ok=0
    fi
    if [[ $ok == 0 ]]; then
        log "warning: could not create the demo staff (kaivoxctl staff create failed); continuing"
        return 1
    fi
    return 0
}

# write_demo TENANT KEY STAFF [CONSOLE_EMAIL CONSOLE_PASSWORD]: tenant_id is
# stored as a JSON integer, as the API and kaivoxctl show ids.
write_demo() {
    [[ "$1" =~ ^[1-9][0-9]{0,18}$ ]] || { log "write_demo: tenant id '$1' is not an integer"; return 1; }
    (umask 077; jq -n --argjson t "$1" --arg k "$2" --argjson s "$3" --arg e "${4:-}" --arg p "${5:-}" \
        '{tenant_id: $t, key: $k, staff: $s}
         + (if $e != "" then {console_email: $e, console_password: $p} else {} end)' \
        > "$DEMO_FILE.tmp" && mv -f "$DEMO_FILE.tmp" "$DEMO_FILE")
    chmod 600 "$DEMO_FILE"
}

DEMO_EMAIL="owner@demo-salon.example"

# console_call METHOD PATH JSON: a console request as the browser makes it
# (the CSRF token of GET /console/api/session, the console's Origin), in a
# cookie jar of its own.  Prints the HTTP status.
console_call() {
    local jar csrf code
    jar="$(mktemp)"
    csrf="$(curl -s --max-time 10 -c "$jar" -b "$jar" "$BASE_URL/console/api/session" \
            | jq -r '.data.csrf_token // empty' 2>/dev/null || true)"
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -c "$jar" -b "$jar" -X "$1" \
            -H "Origin: $BASE_URL" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
            --data-binary "$3" "$BASE_URL$2" 2>/dev/null || true)"
    rm -f "$jar"
    printf '%s\n' "$code"
}

# ensure_console_user TENANT [EMAIL PASSWORD]: makes sure the demo user
# signs in with the saved password, else gives it a new generated one
# (through its set-password link, as a person would).  Prints
# "EMAIL PASSWORD" on stdout.
ensure_console_user() {
    local tid="$1" email="${2:-}" pw="${3:-}" out link uid
    if [[ -n "$email" && -n "$pw" && \
          "$(console_call POST /console/api/session "$(jq -nc --arg e "$email" --arg p "$pw" '{email:$e,password:$p}')")" == 200 ]]; then
        printf '%s %s\n' "$email" "$pw"
        return 0
    fi
    email="$DEMO_EMAIL"
    if out="$(ctl user create --tenant "$tid" --email "$email" --name "Demo Owner" 2>/dev/null)"; then
        link="$(printf '%s' "$out" | json_field set_password_url)" || return 1
    else
        uid="$(ctl user list --tenant "$tid" | jq -r --arg e "$email" '.[] | select(.email == $e) | .id')"
        [[ -n "$uid" ]] || { log "the demo user $email belongs to another tenant"; return 1; }
        out="$(ctl user password-link --tenant "$tid" --id "$uid" 2>/dev/null)" || return 1
        link="$(printf '%s' "$out" | json_field set_password_url)" || return 1
    fi
    pw="$(openssl rand -base64 24 | tr -dc 'A-Za-z0-9' | cut -c1-16)"
    [[ "$(console_call POST /console/api/password \
          "$(jq -nc --arg t "${link##*#token=}" --arg p "$pw" '{token:$t,password:$p}')")" == 200 ]] \
        || { log "could not set the demo user's password"; return 1; }
    printf '%s %s\n' "$email" "$pw"
}

# Creates the demo tenant, or reuses the one in demo.json when its key still
# works, and its console user.  Prints "KEY EMAIL PASSWORD" on stdout (the
# last two empty when the console user could not be made).
ensure_demo() {
    local tid="" key="" staff=false out email="" pw="" cu=""
    [[ -x "$BIN_DIR/kaivoxctl" ]] || { log "no $BIN_DIR/kaivoxctl: skipping demo data"; return 1; }
    if [[ -s "$DEMO_FILE" ]]; then
        tid="$(jq -r '.tenant_id // empty' "$DEMO_FILE" 2>/dev/null || true)"
        key="$(jq -r '.key // empty' "$DEMO_FILE" 2>/dev/null || true)"
        staff="$(jq -r '.staff // false' "$DEMO_FILE" 2>/dev/null || echo false)"
        email="$(jq -r '.console_email // empty' "$DEMO_FILE" 2>/dev/null || true)"
        pw="$(jq -r '.console_password // empty' "$DEMO_FILE" 2>/dev/null || true)"
        if [[ -n "$tid" && -n "$key" && \
              "$(http_code -H "Authorization: Bearer $key" "$BASE_URL/api/v1/services")" == 200 ]]; then
            if [[ "$staff" != true ]] && demo_staff "$tid"; then
                staff=true
            fi
            cu="$(ensure_console_user "$tid" "$email" "$pw")" || { log "warning: the demo console user could not be made"; cu=""; }
            # shellcheck disable=SC2086  # "EMAIL PASSWORD", or nothing
            write_demo "$tid" "$key" "$staff" $cu
            printf '%s %s\n' "$key" "$cu"
            return 0
        fi
        log "the saved demo key no longer works: creating a new demo tenant"
    fi
    out="$(ctl tenant create --name "Demo Salon" --timezone Europe/London)" || return 1
    tid="$(printf '%s' "$out" | json_field id)" || { log "unexpected output: $out"; return 1; }
    out="$(ctl key create --tenant "$tid" --name demo)" || return 1
    key="$(printf '%s' "$out" | json_field key)" || { log "unexpected key output"; return 1; }
    ctl service create --tenant "$tid" --name "Haircut" --duration 30 --price 25.00 >/dev/null || return 1
    ctl service create --tenant "$tid" --name "Colour & Cut" --duration 90 --price 80.00 >/dev/null || return 1
    ctl service create --tenant "$tid" --name "Beard Trim" --duration 15 --price 12.50 >/dev/null || return 1
    staff=false
    if demo_staff "$tid"; then staff=true; fi
    cu="$(ensure_console_user "$tid")" || { log "warning: the demo console user could not be made"; cu=""; }
    # shellcheck disable=SC2086  # "EMAIL PASSWORD", or nothing
    write_demo "$tid" "$key" "$staff" $cu
    printf '%s %s\n' "$key" "$cu"
}

print_banner() {
    local key="$1" email="${2:-}" pw="${3:-}"
    cat <<EOF

KaiVox is up: API $BASE_URL, admin $KAIVOX_ADMIN_URL, logs in $LOG_DIR
EOF
    local g
    for ((g = 2; g <= GATEWAYS; g++)); do echo "Gateway $g: $(gw_url "$g")"; done
    if [[ -n "$key" ]]; then
        cat <<EOF
Demo API key: $key
Try:
  curl -H "Authorization: Bearer $key" $BASE_URL/api/v1/services
EOF
    fi
    if [[ -n "$email" ]]; then
        cat <<EOF
Console: $BASE_URL/console/  (Settings -> API & Integrations)
  Email:    $email
  Password: $pw
EOF
    fi
}

# ---- commands -------------------------------------------------------------

UP_DONE=1

cmd_down() {
    local stems=()
    mapfile -t stems < <(all_stems)
    if [[ ${#stems[@]} -gt 0 ]]; then stop_stems TERM "${stems[@]}"; fi
    pg_stop
}

cmd_up() {
    local demo=1 key="" demo_out="" email="" pw=""
    for a in "$@"; do
        case "$a" in
            --no-demo) demo=0 ;;
            *) die "up: unknown option $a" ;;
        esac
    done
    check_binaries
    ensure_dirs
    ensure_admin_token
    ensure_bus_keys
    # Until the stack is ready, any exit (error, die, Ctrl-C) tears down
    # what was started, so a failed start leaves nothing running.
    UP_DONE=0
    trap 'if [[ $UP_DONE == 0 ]]; then log "start-up failed: stopping what was started"; cmd_down; fi' EXIT
    trap 'exit 130' INT TERM
    write_stack_env up
    if [[ "$EMBEDDED_PG" == 1 ]]; then
        step "database (PostgreSQL on 127.0.0.1:${KAIVOX_PG_PORT}, roles and schemas)"
        pg_start
    else
        step "database (KAIVOX_DATABASE_URL)"
    fi
    db_bootstrap
    step "services (gateway on $BASE_URL, ${PROCS[*]:1}; migrations, then /readyz)"
    local n g
    # every gateway first: the services then find all their brokers bound
    for ((g = 1; g <= GATEWAYS; g++)); do start_proc gateway "$g"; done
    for n in "${PROCS[@]}"; do [[ "$n" == gateway ]] || start_proc "$n" 1; done
    wait_ready
    if [[ $demo == 1 ]]; then
        step "demo tenant"
        demo_out="$(ensure_demo)" || { log "warning: demo data could not be created"; demo_out=""; }
        read -r key email pw <<< "$demo_out" || true
    fi
    UP_DONE=1
    trap - EXIT INT TERM
    print_banner "$key" "$email" "$pw"
}

cmd_run() {
    cmd_up "$@"
    trap 'printf "\n" >&2; log "stopping"; cmd_down; exit 0' INT TERM
    echo "Press Ctrl-C to stop everything."
    local n warned=""
    while :; do
        for n in "${PROCS[@]}"; do
            if [[ -z "$(live_pid "$n")" && "$warned" != *" $n "* ]]; then
                log "warning: $n is not running (see $LOG_DIR/$n.log)"
                warned+=" $n "
            fi
        done
        sleep 1 &
        wait $! || true
    done
}

cmd_one() {
    local cmd="$1" name="${2:-}" inst=1
    [[ -n "$name" ]] || die "$cmd: which process? (${PROCS[*]})"
    check_name "$name"
    shift 2
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --instance) inst="${2:-}"; shift 2 ;;
            *) die "$cmd: unknown option $1" ;;
        esac
    done
    [[ "$inst" =~ ^[1-9][0-9]*$ ]] || die "--instance wants a positive integer"
    local stem
    stem="$(proc_name "$name" "$inst")"
    case "$cmd" in
        start) ensure_admin_token; ensure_bus_keys; start_proc "$name" "$inst" ;;
        stop) stop_stems TERM "$stem" ;;
        kill) stop_stems KILL "$stem" ;;
        restart) stop_stems TERM "$stem"; ensure_admin_token; ensure_bus_keys; start_proc "$name" "$inst" ;;
    esac
}

cmd_status() {
    local stem pid rc=0
    if [[ "$EMBEDDED_PG" == 1 ]]; then
        if [[ -e "$PG_LINK" ]]; then pg_prepare_paths; fi
        if pg_running; then echo "postgres    running  127.0.0.1:${KAIVOX_PG_PORT} ($PGDATA_DIR)"
        else echo "postgres    stopped"; rc=1; fi
    else
        echo "postgres    external (KAIVOX_DATABASE_URL)"
    fi
    local stems=()
    mapfile -t stems < <( { printf '%s\n' "${PROCS[@]}"; all_stems; } | awk '!seen[$0]++')
    for stem in "${stems[@]}"; do
        pid="$(live_pid "$stem")"
        if [[ -n "$pid" ]]; then printf '%-12s running  pid %s\n' "$stem" "$pid"
        else printf '%-12s stopped\n' "$stem"; rc=1; fi
    done
    local code g
    for ((g = 1; g <= GATEWAYS; g++)); do
        code="$(http_code "$(gw_url "$g")/readyz")"
        echo "readyz      ${code:-000} ($(gw_url "$g")/readyz)"
        [[ "$code" == 200 ]] || rc=1
    done
    return $rc
}

main() {
    local cmd="${1:-}"
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
        up) cmd_up "$@" ;;
        run) cmd_run "$@" ;;
        down) cmd_down ;;
        start|stop|kill|restart) cmd_one "$cmd" "$@" ;;
        status) cmd_status ;;
        db-stop) pg_stop ;;
        db-start) pg_start ;;
        db-restart) pg_stop; pg_start ;;
        ""|-h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
        *) die "unknown command '$cmd' (try --help)" ;;
    esac
}

main "$@"
