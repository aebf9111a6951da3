#!/usr/bin/env bash
# bench.sh -- `make bench`: how close the whole HTTP path comes to PostgreSQL
# itself on the same query.
#
# Starts a private stack (ports from KVT_PORT_BASE, default 26000; files in
# var/bench-<base>/; rate limit lifted), creates a tenant with exactly 20
# active services through kaivoxctl, then in the same run:
#   1. wrk -t2 -c32 -d10s --latency  GET /api/v1/services  (the 20 rows)
#   2. pgbench -n -M prepared -c32 -j2 -T10  on the statement the scheduling
#      service runs for that request (services_list), as the
#      scheduling role against the same database;
# and prints both rates, their ratio (design target >= 0.6), wrk's p99 and the
# resident memory (VmRSS) of the gateway and of scheduling after the run.
# The stack is always torn down.
#
# Environment: KVT_PORT_BASE (26000), BENCH_DURATION (10, seconds),
# KAIVOX_BIN_DIR (bin); other KAIVOX_* settings reach the services.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BASE="${KVT_PORT_BASE:-26000}"
DUR="${BENCH_DURATION:-10}"
for tool in wrk pgbench jq curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/deps.sh)" >&2; exit 1; }
done

. "$ROOT/scripts/private-stack.sh"
private_stack_env "$BASE" "$ROOT/var/bench-$BASE"
export KAIVOX_RATE_LIMIT="${KAIVOX_RATE_LIMIT:-100000000}"
export KVT_FAST_PG=1
URL="http://127.0.0.1:${KAIVOX_HTTP_PORT}/api/v1/services"
PG_URL="postgresql://kaivox_scheduling@127.0.0.1:${KAIVOX_PG_PORT}/kaivox"

private_stack_fresh

trap '"$STACK" down >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT TERM

echo "== starting the bench stack (base $BASE)"
"$STACK" up --no-demo > "$KAIVOX_VAR_DIR/stack-up.log" 2>&1 \
    || { cat "$KAIVOX_VAR_DIR/stack-up.log" >&2; echo "bench: the stack did not start" >&2; exit 1; }

ctl() { "$BIN_DIR/kaivoxctl" "$@"; }
field() { jq -er --arg f "$1" '(.data // .)[$f] | tostring'; }

TID="$(ctl tenant create --name "Bench Salon" --timezone Europe/London | field id)"
KEY="$(ctl key create --tenant "$TID" --name bench | field key)"
for i in $(seq 1 20); do
    ctl service create --tenant "$TID" --name "Service $i" --duration $((15 + i * 5)) \
        --price "$((10 + i)).50" >/dev/null
done

# The request works and returns the 20 rows, before measuring anything.
body="$(curl -fsS -H "Authorization: Bearer $KEY" "$URL")"
n="$(printf '%s' "$body" | jq '.data | length')"
[[ "$n" == 20 ]] || { echo "bench: expected 20 services, got $n: ${body:0:300}" >&2; exit 1; }
for _ in $(seq 1 200); do curl -s -o /dev/null -H "Authorization: Bearer $KEY" "$URL"; done

echo "== wrk -t2 -c32 -d${DUR}s --latency GET /api/v1/services"
WRK_OUT="$KAIVOX_VAR_DIR/wrk.txt"
wrk -t2 -c32 -d"${DUR}s" --latency -H "Authorization: Bearer $KEY" "$URL" | tee "$WRK_OUT"
WRK_RPS="$(awk '/^Requests\/sec:/ {print $2}' "$WRK_OUT")"
WRK_P99="$(awk '$1 == "99%" {print $2}' "$WRK_OUT")"
WRK_BAD="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$WRK_OUT")"
WRK_ERR="$(awk '/Socket errors:/ {print}' "$WRK_OUT")"

# The same statement as the scheduling service's services_list
# (services/scheduling/db.c): page 1 of 20 with the total in a window column,
# one round trip per request.  The colons of the time format are written
# \072: pgbench would take ":MI" for a variable.
PGB_FILE="$KAIVOX_VAR_DIR/services.pgbench.sql"
cat > "$PGB_FILE" <<EOF
\\set tid $TID
SELECT id, name, duration_minutes, price_cents, active, to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\\072MI\\072SS"Z"'), to_char(updated_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\\072MI\\072SS"Z"'), count(*) OVER () FROM scheduling.services WHERE tenant_id = :tid AND active ORDER BY id LIMIT 20 OFFSET 0;
EOF

echo "== pgbench -n -M prepared -c32 -j2 -T${DUR} (services_list)"
PGB_OUT="$KAIVOX_VAR_DIR/pgbench.txt"
pgbench -n -M prepared -c32 -j2 -T"$DUR" -f "$PGB_FILE" "$PG_URL" 2>&1 | tee "$PGB_OUT"
PGB_TPS="$(awk '/^tps = / {print $3; exit}' "$PGB_OUT")"

rss() {
    local pid
    pid="$(tr -dc '0-9' < "$KAIVOX_VAR_DIR/run/$1.pid" 2>/dev/null || true)"
    [[ -n "$pid" ]] && awk '/^VmRSS:/ {print $2 " " $3}' "/proc/$pid/status" 2>/dev/null || echo "?"
}
GW_RSS="$(rss gateway)"
SCHED_RSS="$(rss scheduling)"
DEAD=()
for p in gateway scheduling; do
    [[ "$(rss "$p")" != "?" ]] || DEAD+=("$p")
done

RATIO="$(awk -v a="${WRK_RPS:-0}" -v b="${PGB_TPS:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
echo
echo "== result"
printf '  wrk  GET /api/v1/services (20 rows): %s req/s, p99 %s\n' "${WRK_RPS:-?}" "${WRK_P99:-?}"
printf '  pgbench same SQL (services_list):     %s tps\n' "${PGB_TPS:-?}"
printf '  ratio wrk / pgbench:                 %s (target >= 0.6)\n' "$RATIO"
printf '  RSS after the run: gateway %s, scheduling %s\n' "$GW_RSS" "$SCHED_RSS"
if [[ -n "$WRK_BAD" || -n "$WRK_ERR" ]]; then
    printf '  warning: %s%s\n' "${WRK_BAD:+non-2xx responses: $WRK_BAD }" "${WRK_ERR#"${WRK_ERR%%[! ]*}"}"
fi
if [[ ${#DEAD[@]} -gt 0 ]]; then
    for p in "${DEAD[@]}"; do
        printf '  ERROR: %s is no longer running; the end of its log:\n' "$p"
        tail -n 5 "$KAIVOX_VAR_DIR/log/$p.log" | cut -c1-300 | sed 's/^/    /'
    done
    exit 1
fi
