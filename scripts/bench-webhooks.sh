#!/usr/bin/env bash
# bench-webhooks.sh -- webhook throughput and latency on a private stack.
#
# Starts its own stack (ports from KVT_PORT_BASE, default 23500; files in
# var/bench-wh-<base>/, wiped first; rate limit lifted; webhook URLs on
# loopback allowed; PostgreSQL with fsync on, as in production), runs
# tests/tools/webhook_bench against it and a local webhook_receiver that
# answers 200 at once:
#   1. throughput: N_CALLS call.ended events x ENDPOINTS endpoints queued
#      while kaivox-webhooks is stopped, then delivered: deliveries per
#      second, and how many first attempts failed (should be 0);
#   2. latency: APPOINTMENTS bookings one after another, POST
#      /api/v1/appointments -> the receiver's receipt (median, p90, p99).
# Prints the load average before and after (other work on the machine
# skews the figures), and always tears the stack down.
#
# Usage: scripts/bench-webhooks.sh [N_CALLS (1000)] [ENDPOINTS (10)] [APPOINTMENTS (200)]
# Environment: KVT_PORT_BASE (23500), KAIVOX_BIN_DIR (bin), KVT_BUILD
# (build/release: where tests/tools/ is; `make tests` builds it); other
# KAIVOX_* settings reach the services (e.g. KAIVOX_WEBHOOK_TIMEOUT_MS), and
# WEBHOOK_BENCH_HANG_MS reaches webhook_bench (a slow receiver, see there).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

NCALLS="${1:-1000}"
NEP="${2:-10}"
NAPPT="${3:-200}"
BASE="${KVT_PORT_BASE:-23500}"
BUILD="${KVT_BUILD:-build/release}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BENCH="$BUILD/tests/tools/webhook_bench"
[[ -x "$BENCH" && -x "$BUILD/tests/tools/webhook_receiver" ]] \
    || { echo "bench-webhooks: $BENCH is missing (make tests)" >&2; exit 1; }

. "$ROOT/scripts/private-stack.sh"
private_stack_env "$BASE" "$ROOT/var/bench-wh-$BASE"
unset KVT_FAST_PG
export KAIVOX_RATE_LIMIT="${KAIVOX_RATE_LIMIT:-100000000}"
export KAIVOX_WEBHOOK_ALLOW_PRIVATE=loopback

private_stack_fresh

trap '"$STACK" down >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT TERM

echo "== starting the webhook bench stack (base $BASE)"
"$STACK" up --no-demo > "$KAIVOX_VAR_DIR/stack-up.log" 2>&1 \
    || { cat "$KAIVOX_VAR_DIR/stack-up.log" >&2; echo "bench-webhooks: the stack did not start" >&2; exit 1; }

echo "== load before: $(uptime)"
echo "== webhook_bench $NCALLS $NEP $NAPPT"
rc=0
KVT_BASE_URL="http://127.0.0.1:${KAIVOX_HTTP_PORT}" KVT_ADMIN_URL="$KAIVOX_ADMIN_URL" \
KVT_ADMIN_TOKEN="$KAIVOX_ADMIN_TOKEN" KVT_STACK="$STACK" KVT_BUILD="$BUILD" \
    "$BENCH" "$NCALLS" "$NEP" "$NAPPT" || rc=$?
echo "== load after:  $(uptime)"
fails="$(grep -h 'deliver: delivery' "$KAIVOX_VAR_DIR"/log/webhooks*.log 2>/dev/null \
         | grep -vc '"level":"debug"' || true)"
echo "== attempts logged as failed by kaivox-webhooks: ${fails:-0}"
[[ "$rc" == 0 ]] || echo "bench-webhooks: webhook_bench failed (exit $rc)" >&2
exit "$rc"
