#!/usr/bin/env bash
# bench-profile.sh -- `make bench-profile`: where a request's time goes.
#
# Starts a private stack (ports from KVT_PORT_BASE, default 26500; files in
# var/bench-profile-<base>/), creates a tenant with 20 services, and drives
# GET /api/v1/services?page=1&per_page=20 with wrk at PROFILE_CONNS
# connections (32) for PROFILE_SECONDS (5).  Meanwhile it reads every
# thread's CPU time and context switches (/proc/<pid>/task/<tid>/stat and
# status) of the gateway, the scheduling service and the processes of the
# stack's PostgreSQL cluster (wrk's from the shell's accounting of it), and
# prints, per request:
#   - CPU microseconds of each kind of thread (the gateway's loop thread,
#     its ZeroMQ I/O thread, the scheduling workers, their ZeroMQ I/O
#     thread, PostgreSQL, wrk), user and system apart;
#   - context switches of each (each is a sleep and a wake-up);
# then, when perf(1) is installed (linux-perf), runs the load once more
# under `perf record` of the gateway and the scheduling service and prints
# each one's top shared objects and symbols.  The stack is always torn down.
#
# Environment: KVT_PORT_BASE (26500), PROFILE_CONNS (32), PROFILE_SECONDS
# (5), KAIVOX_BIN_DIR (bin); other KAIVOX_* settings reach the services.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BASE="${KVT_PORT_BASE:-26500}"
CONNS="${PROFILE_CONNS:-32}"
THREADS=$(( CONNS < 2 ? 1 : 2 ))      # wrk wants at least one connection per thread
SECS="${PROFILE_SECONDS:-5}"
for tool in wrk jq curl; do
    command -v "$tool" >/dev/null || { echo "bench-profile: $tool is missing (scripts/deps.sh)" >&2; exit 1; }
done

. "$ROOT/scripts/private-stack.sh"
private_stack_env "$BASE" "$ROOT/var/bench-profile-$BASE"
export KAIVOX_RATE_LIMIT="${KAIVOX_RATE_LIMIT:-100000000}"
export KVT_FAST_PG=1
HTTP="http://127.0.0.1:${KAIVOX_HTTP_PORT}"
private_stack_fresh
V="$KAIVOX_VAR_DIR"
cleanup() { "$STACK" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$STACK" up --no-demo > "$V/stack-up.log" 2>&1 \
    || { cat "$V/stack-up.log" >&2; echo "bench-profile: the stack did not start" >&2; exit 1; }
ctl() { "$BIN_DIR/kaivoxctl" "$@"; }
TID="$(ctl tenant create --name "Profile Salon" --timezone Europe/London | jq -er '(.data // .).id')"
KEY="$(ctl key create --tenant "$TID" --name profile | jq -er '(.data // .).key')"
for i in $(seq 1 20); do
    ctl service create --tenant "$TID" --name "Service $i" --duration $((15 + i * 5)) \
        --price "$((10 + i)).50" >/dev/null
done
URL="$HTTP/api/v1/services?page=1&per_page=20"
for _ in $(seq 1 200); do curl -s -o /dev/null -H "Authorization: Bearer $KEY" "$URL"; done

GW="$(tr -dc '0-9' < "$V/run/gateway.pid")"
PG="$(head -n1 "$V/pg/postmaster.pid")"     # this stack's cluster: its children only
SC="$(tr -dc '0-9' < "$V/run/scheduling.pid")"

# snapshot: one line per thread of interest: "group utime stime switches"
# (clock ticks; voluntary + involuntary switches)
snapshot() {
    local pid t comm group st sw
    for pid in "$GW" "$SC" $(pgrep -P "$PG"); do
        for t in /proc/"$pid"/task/*; do
            comm="$(cat "$t/comm" 2>/dev/null)" || continue
            case "$pid:$comm" in
                "$GW":ZMQbg/IO*)      group="gateway zmq-io" ;;
                "$GW":kaivox-gateway) group="gateway loop" ;;
                "$GW":*)              group="gateway other" ;;
                "$SC":ZMQbg/IO*)      group="scheduling zmq-io" ;;
                "$SC":*)              group="scheduling workers" ;;
                *:postgres)           group="postgres" ;;
                *)                    continue ;;
            esac
            # fields 14 and 15 of stat, after the "(comm)" which may hold spaces
            st="$(sed 's/^.*) //' "$t/stat" 2>/dev/null | awk '{print $12, $13}')" || continue
            sw="$(awk '/ctxt_switches/ {s += $2} END {print s + 0}' "$t/status" 2>/dev/null)" || continue
            echo "${t##*/} $group|$st $sw"
        done
    done
}

echo "== ${SECS} s of wrk -c$CONNS on GET /api/v1/services (20 rows)"
# the window is the whole wrk run: its requests are the ones counted, and
# the threads' idle moments before and after cost nothing
snapshot > "$V/before"
# wrk's own CPU time from the shell's accounting of the child (bash's time)
TIMEFORMAT='%U %S'
{ time wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" -H "Authorization: Bearer $KEY" "$URL" > "$V/wrk.out" 2>&1; } \
    2> "$V/wrk.time"
snapshot > "$V/after"
N="$(awk '/requests in/ {print $1; exit}' "$V/wrk.out")"
[[ "${N:-0}" -gt 0 ]] || { cat "$V/wrk.out" >&2; echo "bench-profile: wrk made no request" >&2; exit 1; }
echo "   $N requests, $(awk '/^Requests\/sec:/ {print $2}' "$V/wrk.out") req/s"
HZ="$(getconf CLK_TCK)"
echo
printf '   %-22s %10s %10s %10s %12s\n' "thread" "user us" "sys us" "all us" "switches"
awk -F'|' -v n="$N" -v hz="$HZ" -v wrk="$(cat "$V/wrk.time")" '
    NR == FNR { split($2, a, " "); u0[$1] = a[1]; s0[$1] = a[2]; w0[$1] = a[3]; next }
    ($1 in u0) {
        split($2, a, " "); g = $1; sub(/^[0-9]+ /, "", g)
        u[g] += a[1] - u0[$1]; s[g] += a[2] - s0[$1]; w[g] += a[3] - w0[$1]
    }
    END {
        k = split("gateway loop|gateway zmq-io|gateway other|scheduling zmq-io|" \
                  "scheduling workers|postgres", order, "|")
        for (i = 1; i <= k; i++) {
            g = order[i]
            uu = u[g] * 1e6 / hz / n; ss = s[g] * 1e6 / hz / n
            printf "   %-22s %10.1f %10.1f %10.1f %12.2f\n", g, uu, ss, uu + ss, w[g] / n
            tu += uu; ts += ss; tw += w[g] / n
        }
        split(wrk, x, " ")
        wu = x[1] * 1e6 / n; ws = x[2] * 1e6 / n
        printf "   %-22s %10.1f %10.1f %10.1f %12s\n", "wrk (the client)", wu, ws, wu + ws, "-"
        printf "   %-22s %10.1f %10.1f %10.1f %12.2f\n", "all", tu + wu, ts + ws, tu + ts + wu + ws, tw
    }' "$V/before" "$V/after"
echo "   (CPU microseconds and context switches per request; $(nproc) CPUs)"

if command -v perf >/dev/null; then
    echo
    echo "== perf record of the gateway and scheduling (${SECS} s)"
    wrk -t"$THREADS" -c"$CONNS" -d"$((SECS + 2))s" -H "Authorization: Bearer $KEY" "$URL" > /dev/null 2>&1 &
    WRK=$!
    sleep 1
    for who in gateway:"$GW" scheduling:"$SC"; do
        perf record -q -p "${who#*:}" -o "$V/perf.${who%%:*}" -- sleep "$((SECS / 2 > 0 ? SECS / 2 : 1))" \
            > /dev/null 2>&1 || true
    done
    wait "$WRK" || true
    for who in gateway scheduling; do
        [[ -s "$V/perf.$who" ]] || continue
        echo "-- $who: shared objects"
        { perf report -q -i "$V/perf.$who" --sort dso --no-children 2>/dev/null || true; } \
            | head -8 | sed 's/^/   /'
        echo "-- $who: symbols"
        { perf report -q -i "$V/perf.$who" --sort dso,sym --no-children 2>/dev/null || true; } \
            | head -15 | sed 's/^/   /'
    done
fi
