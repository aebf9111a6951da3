#!/usr/bin/env bash
# bench.sh -- `make bench`: what a request costs through the whole HTTP path,
# beside what its SQL alone costs in PostgreSQL, at 1 and at 32 connections.
#
# Starts a private stack (ports from KVT_PORT_BASE, default 26000; files in
# var/bench-<base>/; rate limit lifted; fsync off as in the tests -- pgbench
# runs against the very same cluster, so both sides see the same settings)
# and a webhook receiver, seeds the data sets, then measures four workloads:
#   services  GET /api/v1/services?page=1&per_page=20 (20 rows)
#   slots     GET /api/v1/appointments/slots?date=D&service_id=S
#             (20 staff, 2,000 appointments that day: tests/tools/sched_bench
#             --seed)
#   search    GET /api/v1/customers?search=lee at 100,000 customers
#             (scripts/seed-customers.sh; ~5% of them match)
#   write     POST /api/v1/appointments then DELETE of that appointment,
#             alternating (scripts/bench-write.lua), with the outbox event
#             and the webhook fan-out to one endpoint (the receiver)
# each with wrk (-t1 -c1, then -t2 -c32, --latency) and with pgbench
# (-M prepared, the same client counts) on the statements the service runs
# for it, printed from the services' own statement tables by
# tests/tools/stmt_sql, in the handler's order, transactions and round
# trips (a pipeline of the service's is a \startpipeline ... \endpipeline):
#   services  services_list
#   slots     one pipeline: sched_now, services_get, slots_hours, slots_busy
#   search    one pipeline: crm_force_custom_plans, crm_customers_count,
#             crm_customers_list
#   write     one transaction of pgbench is one HTTP request: either the
#             booking (a pipeline of sched_now and services_get, then
#             appt_staff_check, crm's crm_customer_get, BEGIN, appt_insert,
#             kv_outbox_insert, COMMIT) or the cancellation (BEGIN,
#             appt_lock, appt_set_status, kv_outbox_insert, COMMIT),
#             alternating per client
# A parameter the service sends as NULL is written NULL.  Every
# configuration runs BENCH_RUNS times (3) for BENCH_DURATION seconds (5); the
# table shows the medians: req/s, p50 and p99 of each side, the ratio of the
# rates and the ratio of the p50s.  wrk's non-2xx answers must be 0 (the
# table says so otherwise and the script fails).  Then the resident memory
# (VmRSS) of every process of the stack 1.5 s after the last run, and again
# once the webhook deliveries the run caused are done (webhooks is still
# delivering the write row's events at the first reading), and the load
# average before and after.  The stack is always torn down.
#
# Environment: KVT_PORT_BASE (26000), BENCH_DURATION (5), BENCH_RUNS (3),
# BENCH_ONLY (a space-separated subset of: services slots search write),
# BENCH_CUSTOMERS (100000), BENCH_SMAPS (a directory: each process's
# /proc/<pid>/smaps and status are copied there at the first reading),
# KAIVOX_BIN_DIR (bin), KVT_BUILD (build/release: the tools); other
# KAIVOX_* settings reach the services.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BASE="${KVT_PORT_BASE:-26000}"
DUR="${BENCH_DURATION:-5}"
RUNS="${BENCH_RUNS:-3}"
ONLY="${BENCH_ONLY:-services slots search write}"
NCUST="${BENCH_CUSTOMERS:-100000}"
TOOLS="${KVT_BUILD:-build/release}/tests/tools"
case "$TOOLS" in /*) ;; *) TOOLS="$ROOT/$TOOLS" ;; esac
for tool in wrk pgbench psql jq curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/deps.sh)" >&2; exit 1; }
done
for t in stmt_sql sched_bench webhook_receiver; do
    [[ -x "$TOOLS/$t" ]] || { echo "bench: $TOOLS/$t is missing (make tests)" >&2; exit 1; }
done

. "$ROOT/scripts/private-stack.sh"
private_stack_env "$BASE" "$ROOT/var/bench-$BASE"
export KAIVOX_RATE_LIMIT="${KAIVOX_RATE_LIMIT:-100000000}"
export KAIVOX_WEBHOOK_ALLOW_PRIVATE=loopback
export KVT_FAST_PG=1
HTTP="http://127.0.0.1:${KAIVOX_HTTP_PORT}"
PG_URL="postgresql://postgres@127.0.0.1:${KAIVOX_PG_PORT}/kaivox"

private_stack_fresh
V="$KAIVOX_VAR_DIR"
RECV_PID=""
cleanup() {
    [[ -n "$RECV_PID" ]] && kill "$RECV_PID" 2>/dev/null || true
    "$STACK" down >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== starting the bench stack (base $BASE)"
"$STACK" up --no-demo > "$V/stack-up.log" 2>&1 \
    || { cat "$V/stack-up.log" >&2; echo "bench: the stack did not start" >&2; exit 1; }

ctl() { "$BIN_DIR/kaivoxctl" "$@"; }
field() { jq -er --arg f "$1" '(.data // .)[$f] | tostring'; }
api() { curl -fsS -H "Authorization: Bearer $1" "${@:2}"; }

# ---- data -------------------------------------------------------------------
echo "== seeding"
TID="$(ctl tenant create --name "Bench Salon" --timezone Europe/London | field id)"
SKEY="$(ctl key create --tenant "$TID" --name bench | field key)"
for i in $(seq 1 20); do
    ctl service create --tenant "$TID" --name "Service $i" --duration $((15 + i * 5)) \
        --price "$((10 + i)).50" >/dev/null
done
n="$(api "$SKEY" "$HTTP/api/v1/services?page=1&per_page=20" | jq '.data | length')"
[[ "$n" == 20 ]] || { echo "bench: expected 20 services, got $n" >&2; exit 1; }

# the slots tenant: 20 staff, 2,000 appointments on DATE (KEY, TENANT, ...)
KVT_BASE_URL="$HTTP" KVT_ADMIN_URL="$KAIVOX_ADMIN_URL" KVT_ADMIN_TOKEN="$KAIVOX_ADMIN_TOKEN" \
    "$TOOLS/sched_bench" --seed > "$V/sched-seed.env" \
    || { cat "$V/sched-seed.env" >&2; echo "bench: seeding the slots tenant failed" >&2; exit 1; }
. "$V/sched-seed.env"
[[ $((STAFF19 - STAFF0)) == 19 ]] || { echo "bench: staff ids are not consecutive" >&2; exit 1; }

if [[ " $ONLY " == *" search "* ]]; then
    scripts/seed-customers.sh --tenant "$TID" --count "$NCUST" "$PG_URL" > "$V/seed-customers.log" 2>&1 \
        || { cat "$V/seed-customers.log" >&2; exit 1; }
fi

# one webhook endpoint of the slots tenant, on a receiver that answers 200
mkdir -p "$V/recv"
"$TOOLS/webhook_receiver" --dir "$V/recv" --port-file "$V/recv/port" --quiet > "$V/recv.log" 2>&1 &
RECV_PID=$!
for _ in $(seq 1 50); do [[ -s "$V/recv/port" ]] && break; sleep 0.1; done
RPORT="$(cat "$V/recv/port")"
api "$KEY" -X POST -H 'Content-Type: application/json' "$HTTP/api/v1/webhooks" \
    -d "{\"url\":\"http://127.0.0.1:$RPORT/ok/bench\",\"events\":[\"appointment.created\",\"appointment.cancelled\"]}" \
    >/dev/null

day() { date -u -d "$DATE + $1 day" +%F; }

# ---- the statements -------------------------------------------------------
sql() { "$TOOLS/stmt_sql" "$@"; }
P="$V/pgbench"
mkdir -p "$P"
# `\gset` instead of the final ";": the statement's row becomes variables
gset() { sql "$@" | sed 's/;$/ \\gset/'; }
{
    sql scheduling services_list tid n20 n0
} > "$P/services.sql"
{
    echo '\startpipeline'
    sql scheduling sched_now tz
    sql scheduling services_get tid svc
    sql scheduling slots_hours tid wd - svc
    sql scheduling slots_busy tid date - -
    echo '\endpipeline'
} > "$P/slots.sql"
{
    echo '\startpipeline'
    sql crm crm_force_custom_plans
    sql crm crm_customers_count tid - - q -
    sql crm crm_customers_list tid - - q - n20 n0
    echo '\endpipeline'
} > "$P/search.sql"
{
    # per client: staff STAFF0 + client_id % 20, a start of its own
    echo '\set staff :staff0 + :client_id % 20'
    echo '\set start (:client_id / 20) * 5'
    echo '\set stop :start + 5'
    echo '\if :phase = 0'
    echo '\startpipeline'
    sql scheduling sched_now tz
    sql scheduling services_get tid svc
    echo '\endpipeline'
    sql scheduling appt_staff_check tid staff svc wd start stop
    sql crm crm_customer_get tid cust
    echo "BEGIN;"
    gset scheduling appt_insert tid cust svc staff date start - src price dur zero zero - -
    sql scheduling kv_outbox_insert tid created payload -
    echo "COMMIT;"
    echo '\set phase 1'
    echo '\else'
    echo "BEGIN;"
    sql scheduling appt_lock tid id tz
    sql scheduling appt_set_status tid id cancelled
    sql scheduling kv_outbox_insert tid cancelled_ev payload -
    echo "COMMIT;"
    echo '\set phase 0'
    echo '\endif'
} > "$P/write.sql"

# a payload of the size the service records (an appointment's JSON)
PAYLOAD="$(api "$KEY" "$HTTP/api/v1/appointments?per_page=1" | jq -c '.data[0]')"

# ---- measuring --------------------------------------------------------------
ms() {  # wrk's "123.45us" / "1.23ms" / "1.02s" -> ms
    awk -v v="$1" 'BEGIN { u = v; sub(/[0-9.]+/, "", u); x = v + 0;
        if (u == "us") x /= 1000; else if (u == "s") x *= 1000; printf "%.3f", x }'
}

# run_wrk NAME CONNS PATH [LUA]: one wrk run; appends "rps p50 p99 bad" to $P/NAME.cCONNS.wrk
run_wrk() {
    local name="$1" c="$2" path="$3" lua="${4:-}" t=1 out
    [[ "$c" -gt 1 ]] && t=2
    out="$P/$name.c$c.wrk.$RUN"
    if [[ -n "$lua" ]]; then
        BENCH_THREADS=$t wrk -t$t -c"$c" -d"${DUR}s" --latency -s "$lua" "$HTTP$path" > "$out" 2>&1 || true
    else
        wrk -t$t -c"$c" -d"${DUR}s" --latency -H "Authorization: Bearer $KEY_OF_ROW" "$HTTP$path" > "$out" 2>&1 || true
    fi
    local rps p50 p99 bad err
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
    p50="$(ms "$(awk '$1 == "50%" {print $2}' "$out")")"
    p99="$(ms "$(awk '$1 == "99%" {print $2}' "$out")")"
    bad="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
    err="$(awk '/Socket errors:/ {n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n}' "$out")"
    echo "${rps:-0} $p50 $p99 $(( ${bad:-0} + ${err:-0} ))" >> "$P/$name.c$c.wrk"
}

# run_pgb NAME CONNS: one pgbench run of $P/NAME.sql; appends "tps p50 p99 failed"
run_pgb() {
    local name="$1" c="$2" j=1 out
    [[ "$c" -gt 1 ]] && j=2
    out="$P/$name.c$c.pgb.$RUN"
    rm -f "$P"/log.*
    PGOPTIONS="-c search_path=scheduling,crm,public" \
    pgbench -n -M prepared -c"$c" -j$j -T"$DUR" -l --log-prefix="$P/log" \
        -D tid="$TID_OF_ROW" -D n20=20 -D n0=0 -D tz=Europe/London -D svc="$SERVICE" \
        -D wd="$WD" -D date="$DATE_OF_ROW" -D q=lee -D staff0="$STAFF0" -D cust="$CUSTOMER" \
        -D src=api -D price=1000 -D dur=5 -D zero=0 -D phase=0 -D created=appointment.created \
        -D cancelled=cancelled -D cancelled_ev=appointment.cancelled -D payload="$PAYLOAD" \
        -f "$P/$name.sql" "$PG_URL" > "$out" 2>&1 || true
    local tps failed
    tps="$(awk '/^tps = / {print $3; exit}' "$out")"
    failed="$(awk '/number of failed transactions:/ {print $5}' "$out")"
    grep -q "aborted\|ERROR" "$out" && failed="${failed:-0}+error"
    cat "$P"/log.* 2>/dev/null | awk '{print $3}' | sort -n > "$P/lat"
    local nlat p50 p99
    nlat="$(wc -l < "$P/lat")"
    if [[ "$nlat" -gt 0 ]]; then
        p50="$(sed -n "$(( (nlat + 1) / 2 ))p" "$P/lat")"
        p99="$(sed -n "$(( (nlat * 99 + 99) / 100 ))p" "$P/lat")"
    fi
    echo "${tps:-0} $(awk -v x="${p50:-0}" 'BEGIN {printf "%.3f", x / 1000}') $(awk -v x="${p99:-0}" 'BEGIN {printf "%.3f", x / 1000}') ${failed:-0}" \
        >> "$P/$name.c$c.pgb"
}

median() {  # median of column $2 of file $1
    awk -v k="$2" '{print $k}' "$1" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

declare -A PATHS LABELS KEYS TIDS DATES LUAS
PATHS[services]="/api/v1/services?page=1&per_page=20"; LABELS[services]="GET /services (20 rows)"
PATHS[slots]="$SLOTS_PATH";                           LABELS[slots]="GET /appointments/slots"
PATHS[search]="/api/v1/customers?search=lee";          LABELS[search]="GET /customers?search= (100k)"
PATHS[write]="/api/v1/appointments";                   LABELS[write]="POST + DELETE appointment"
KEYS[services]="$SKEY"; KEYS[slots]="$KEY"; KEYS[search]="$SKEY"; KEYS[write]="$KEY"
TIDS[services]="$TID";  TIDS[slots]="$TENANT"; TIDS[search]="$TID"; TIDS[write]="$TENANT"
LUAS[write]="$ROOT/scripts/bench-write.lua"

for name in $ONLY; do
    KEY_OF_ROW="${KEYS[$name]}"
    TID_OF_ROW="${TIDS[$name]}"
    # warm-up: every connection's statements prepared, caches filled
    [[ "$name" != write ]] && for _ in $(seq 1 50); do
        curl -s -o /dev/null -H "Authorization: Bearer $KEY_OF_ROW" "$HTTP${PATHS[$name]}"; done
    for c in 1 32; do
        for RUN in $(seq 1 "$RUNS"); do
            # the write row books on a day of its own per run and side
            # (a run can stop between a booking and its cancellation)
            k=$(( (c == 1 ? 0 : 20) + RUN * 2 ))
            BENCH_DATE="$(day $k)"; DATE_OF_ROW="$DATE"
            [[ "$name" == write ]] && DATE_OF_ROW="$(day $((k + 1)))"
            WD="$(date -u -d "$DATE_OF_ROW" +%w)"
            BENCH_KEY="$KEY" BENCH_CUSTOMER="$CUSTOMER" BENCH_SERVICE="$SERVICE" \
            BENCH_STAFF0="$STAFF0" BENCH_DATE="$BENCH_DATE" \
                run_wrk "$name" "$c" "${PATHS[$name]}" "${LUAS[$name]:-}"
            run_pgb "$name" "$c"
            printf '   %-8s c%-2s run %s: wrk %s | pgbench %s\n' "$name" "$c" "$RUN" \
                "$(tail -n1 "$P/$name.c$c.wrk")" "$(tail -n1 "$P/$name.c$c.pgb")"
        done
    done
done

# ---- the table ----------------------------------------------------------------
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== result (medians of $RUNS runs of ${DUR}s; load average after: $LOAD_AFTER)"
printf '%-30s %3s | %9s %8s %8s | %9s %8s %8s | %7s %7s | %s\n' \
    "workload" "c" "req/s" "p50 ms" "p99 ms" "pg tps" "p50 ms" "p99 ms" "rate x" "p50 x" "non-2xx"
status=0
for name in $ONLY; do
    for c in 1 32; do
        w="$P/$name.c$c.wrk"; g="$P/$name.c$c.pgb"
        rps="$(median "$w" 1)"; wp50="$(median "$w" 2)"; wp99="$(median "$w" 3)"
        bad="$(awk '{s += $4} END {print s + 0}' "$w")"
        tps="$(median "$g" 1)"; gp50="$(median "$g" 2)"; gp99="$(median "$g" 3)"
        pgfail="$(awk '$4 != "0" {n++} END {print n + 0}' "$g")"
        ratio="$(awk -v a="$rps" -v b="$tps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
        lat="$(awk -v a="$wp50" -v b="$gp50" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')"
        printf '%-30s %3s | %9.0f %8.3f %8.3f | %9.0f %8.3f %8.3f | %7s %7s | %s\n' \
            "${LABELS[$name]}" "$c" "$rps" "$wp50" "$wp99" "$tps" "$gp50" "$gp99" "$ratio" "$lat" "$bad"
        [[ "$bad" == 0 ]] || status=1
        [[ "$pgfail" == 0 ]] || { echo "   pgbench failed on $name c$c: $g and $P/$name.c$c.pgb.*" >&2; status=1; }
    done
done

echo
echo "== resident memory (VmRSS) after the run"
# rss PROCESS: its VmRSS ("12.3 MB"), or nothing when it is not running
rss() {
    local pid
    pid="$(tr -dc '0-9' < "$V/run/$1.pid" 2>/dev/null || true)"
    awk '/^VmRSS:/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || true
}
# first read 1.5 s after the last run: a process quiet for a second has
# given its freed memory back by then (kv_mem_idle), as a server does after
# a burst; but webhooks is still delivering the write row's events then.
# So again once every delivery the run caused is done (none pending, the
# count steady for a second; at most 60 s), 1.5 s later.
sleep 1.5
declare -A FIRST
for pf in "$V"/run/*.pid; do
    p="$(basename "$pf" .pid)"
    FIRST[$p]="$(rss "$p")"
    if [[ -n "${BENCH_SMAPS:-}" && -n "${FIRST[$p]}" ]]; then
        pid="$(tr -dc '0-9' < "$pf")"
        mkdir -p "$BENCH_SMAPS"
        cat "/proc/$pid/smaps" > "$BENCH_SMAPS/$p.smaps" 2>/dev/null || true
        cat "/proc/$pid/status" > "$BENCH_SMAPS/$p.status" 2>/dev/null || true
    fi
done
deliveries() {
    psql -qAt "$PG_URL" -c "SELECT count(*) FILTER (WHERE status = 'pending') || ' ' || count(*)
                            FROM webhooks.deliveries" 2>/dev/null || echo "? ?"
}
t0=$SECONDS
prev=""
while (( SECONDS - t0 < 60 )); do
    now="$(deliveries)"
    [[ "$now" == "0 "* && "$now" == "$prev" ]] && break
    prev="$now"
    sleep 1
done
DRAINED="$(( SECONDS - t0 )) s, ${now#* } deliveries, ${now%% *} pending"
sleep 1.5
printf '   %-22s %-12s %s\n' "process" "at 1.5 s" "after the deliveries ($DRAINED)"
DEAD=()
for pf in "$V"/run/*.pid; do
    p="$(basename "$pf" .pid)"
    later="$(rss "$p")"
    if [[ -z "${FIRST[$p]}" || -z "$later" ]]; then
        DEAD+=("$p")
        later="not running"
    fi
    printf '   %-22s %-12s %s\n' "$p" "${FIRST[$p]:-not running}" "$later"
done
if [[ ${#DEAD[@]} -gt 0 ]]; then
    for p in "${DEAD[@]}"; do
        printf '  ERROR: %s is no longer running; the end of its log:\n' "$p"
        tail -n 5 "$V/log/$p.log" | cut -c1-300 | sed 's/^/    /'
    done
    exit 1
fi
[[ "$status" == 0 ]] || echo "bench: some requests failed (non-2xx or pgbench errors above)" >&2
exit "$status"
