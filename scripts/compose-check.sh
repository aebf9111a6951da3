#!/usr/bin/env bash
# compose-check.sh -- proves the shipped docker-compose.yml in real
# containers: builds the image, brings the stack up with two instances of
# every tier behind HAProxy, creates a tenant, a key and a webhook
# endpoint, checks that the gateways share the host's poll lock (one
# gateway's container holds it, the other must defer its polls), and while
# a steady mixed load runs through the load balancer
# (tests/tools/kvload: reads and writes over every tier, webhooks received
# here) it restarts every instance of every tier, one at a time (SIGTERM:
# each drains), then SIGKILLs one gateway and starts it again.  Then it
# compares the events the producers stored (their outbox, read in
# PostgreSQL) with the events the receiver got, and prints
#
#   N requests, N failed, N events produced, N delivered
#
# exiting non-zero on any failed request or undelivered event.  It uses
# docker-compose against whatever DOCKER_HOST says (and the Docker Engine
# API on the same socket to restart and kill single containers); on these
# build machines: `../shared/tools/containers.sh start` prints it.
#
# Settings (environment):
#   CHECK_PROJECT     (kaivox-check)   the compose project name
#   CHECK_HTTP_PORT   (18180)          host port of the public API (127.0.0.1)
#   CHECK_ADMIN_PORT  (18181)          host port of the admin API (127.0.0.1)
#   CHECK_RECV_PORT   (18190)          port of the webhook receiver on this host
#   CHECK_RATE        (50)             requests a second
#   CHECK_MIN_SECONDS (120)            the load runs at least this long
#   CHECK_SCALE       (2)              instances of every tier
#   CHECK_KEEP=1                       leave the stack up afterwards
#   CHECK_NO_BUILD=1                   use the image as it is
#   KAIVOX_IMAGE      (kaivox:latest)  the image's name (docker-compose.yml's)
# Files under var/compose-check/ (keys, logs, results).  Needs curl, jq and
# the tools of `make tests` (built here when missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PROJECT="${CHECK_PROJECT:-kaivox-check}"
HTTP_PORT="${CHECK_HTTP_PORT:-18180}"
ADMIN_PORT="${CHECK_ADMIN_PORT:-18181}"
RECV_PORT="${CHECK_RECV_PORT:-18190}"
RATE="${CHECK_RATE:-50}"
MIN_SECONDS="${CHECK_MIN_SECONDS:-120}"
SCALE="${CHECK_SCALE:-2}"
DIR="$ROOT/var/compose-check"
TIERS=(scheduling crm calls webhooks gateway)
KVLOAD="$ROOT/build/release/tests/tools/kvload"

say() { printf '%s compose-check: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
for t in docker-compose curl jq openssl; do
    command -v "$t" >/dev/null || die "$t is missing"
done

mkdir -p "$DIR"
export KAIVOX_COMPOSE_KEYS="$DIR/keys"
export KAIVOX_HTTP_PUBLISH="127.0.0.1:$HTTP_PORT"
export KAIVOX_ADMIN_PUBLISH="127.0.0.1:$ADMIN_PORT"
# fresh secrets for this run: no default password anywhere
export POSTGRES_PASSWORD="$(openssl rand -hex 16)"
export KAIVOX_ADMIN_TOKEN="$(openssl rand -hex 32)"
for s in GATEWAY SCHEDULING CRM CALLS WEBHOOKS; do
    export "KAIVOX_${s}_DB_PASSWORD=$(openssl rand -hex 16)"
done
# the receiver is this host, a private address seen from the containers;
# deliveries that fail are tried again within seconds, not minutes
export KAIVOX_WEBHOOK_ALLOW_PRIVATE=1
export KAIVOX_WEBHOOK_RETRY_SCHEDULE=2,5,10
# per-request log lines, to show that every instance took work
export KAIVOX_LOG_LEVEL=debug
# one tenant's key sends the whole load: lift its per-key rate limit
export KAIVOX_RATE_LIMIT=1000000
DC=(docker-compose -p "$PROJECT")
BASE="http://127.0.0.1:$HTTP_PORT"
ADMIN="http://127.0.0.1:$ADMIN_PORT"

# docker_api METHOD PATH: the Docker Engine API on DOCKER_HOST.
docker_api() {
    local h="${DOCKER_HOST:-unix:///var/run/docker.sock}"
    case "$h" in
        unix://*) curl -sS --max-time 60 --unix-socket "${h#unix://}" -X "$1" "http://docker$2" ;;
        tcp://*)  curl -sS --max-time 60 -X "$1" "http://${h#tcp://}$2" ;;
        *) die "DOCKER_HOST $h: only unix:// and tcp:// are supported" ;;
    esac
}

# container_health ID: the container's health status (healthy, starting, ...).
container_health() {
    docker_api GET "/containers/$1/json" | jq -r '.State.Health.Status // .State.Status'
}

# wait_healthy ID...: until every one is healthy (at most 120 s).
wait_healthy() {
    local id deadline=$((SECONDS + 120)) ok
    while :; do
        ok=1
        for id in "$@"; do [[ "$(container_health "$id")" == healthy ]] || ok=0; done
        (( ok )) && return 0
        (( SECONDS < deadline )) || { say "not healthy within 120 s: $*"; return 1; }
        sleep 1
    done
}

teardown() {
    local rc=$?
    if [[ -n "${LOAD_PID:-}" ]] && kill -0 "$LOAD_PID" 2>/dev/null; then kill "$LOAD_PID" 2>/dev/null || true; fi
    local id
    : > "$DIR/logs.txt"
    for id in $("${DC[@]}" ps -q 2>/dev/null); do
        { printf '==== %s\n' "$(docker_api GET "/containers/$id/json" | jq -r .Name)"
          docker_api GET "/containers/$id/logs?stdout=1&stderr=1" | tr -d '\000-\010'; } >> "$DIR/logs.txt" 2>&1 || true
    done
    if [[ "${CHECK_KEEP:-0}" == 1 ]]; then
        say "stack left up (project $PROJECT; docker-compose -p $PROJECT down -v removes it)"
    else
        "${DC[@]}" down -v --remove-orphans > "$DIR/down.txt" 2>&1 || true
    fi
    exit $rc
}
trap teardown EXIT
trap 'exit 130' INT TERM

[[ -x "$KVLOAD" ]] || make -j2 tests >/dev/null

# ---- build, keys, up --------------------------------------------------------

"${DC[@]}" down -v --remove-orphans > /dev/null 2>&1 || true
if [[ "${CHECK_NO_BUILD:-0}" != 1 ]]; then
    say "building the image (docker-compose build: the gateway service's build, once)"
    t0=$SECONDS
    "${DC[@]}" build > "$DIR/build.txt" 2>&1 || { tail -40 "$DIR/build.txt"; die "build failed"; }
    say "built in $((SECONDS - t0)) s ($(grep -cE '(^| )STEP [0-9]|^Step [0-9]' "$DIR/build.txt" || true) steps)"
fi
IMAGE="${KAIVOX_IMAGE:-kaivox:latest}"
size="$(docker_api GET "/images/$IMAGE/json" | jq -r '.Size // 0')"
say "image $IMAGE: $((size / 1000000)) MB"

rm -rf "$KAIVOX_COMPOSE_KEYS"
"${DC[@]}" run --rm keygen > "$DIR/keygen.txt" 2>&1 || { cat "$DIR/keygen.txt"; die "keygen failed"; }
say "bus keys: $(tail -1 "$DIR/keygen.txt")"

say "up: every tier scaled to $SCALE"
scale=()
for t in "${TIERS[@]}"; do scale+=(--scale "$t=$SCALE"); done
t0=$SECONDS
"${DC[@]}" up -d "${scale[@]}" > "$DIR/up.txt" 2>&1 || { cat "$DIR/up.txt"; die "up failed"; }
ids=()
for t in "${TIERS[@]}" lb; do mapfile -t -O "${#ids[@]}" ids < <("${DC[@]}" ps -q "$t"); done
wait_healthy "${ids[@]}" || die "the stack did not become healthy"
for _ in $(seq 1 60); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")" == 200 ]] && break
    sleep 1
done
[[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")" == 200 ]] || die "$BASE/readyz is not 200"
say "up and healthy in $((SECONDS - t0)) s: ${#ids[@]} containers"

# ---- a tenant, through the gateway's CLI ----------------------------------------

ctl() { "${DC[@]}" exec -T gateway kaivoxctl "$@"; }
TENANT="$(ctl tenant create --name "Compose Check" --timezone UTC | jq -r .id)"
KEY="$(ctl key create --tenant "$TENANT" --name check | jq -r .key)"
SERVICE="$(ctl service create --tenant "$TENANT" --name Cut --duration 15 --price 20.00 | jq -r .id)"
STAFF="$(ctl staff create --tenant "$TENANT" --name Alex --hours mon-sun=00:00-23:59 | jq -r .id)"
CUSTOMER="$(curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"name":"Check Customer","phone":"+15550100001"}' "$BASE/api/v1/customers" | jq -r .data.id)"
# the host as the containers see it: their default route
gw_hex="$("${DC[@]}" exec -T webhooks cat /proc/net/route | awk '$2 == "00000000" {print $3; exit}')"
[[ "$gw_hex" =~ ^[0-9A-Fa-f]{8}$ ]] || die "cannot find the containers' default route"
HOST_IP="$((16#${gw_hex:6:2})).$((16#${gw_hex:4:2})).$((16#${gw_hex:2:2})).$((16#${gw_hex:0:2}))"
HOOK="$(curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"url\":\"http://$HOST_IP:$RECV_PORT/hook\",\"events\":[\"appointment.created\",\"appointment.cancelled\",\"call.ended\",\"call.missed\"]}" \
    "$BASE/api/v1/webhooks" | jq -r .data.id)"
for v in TENANT KEY SERVICE STAFF CUSTOMER HOOK; do
    [[ "${!v}" =~ ^[A-Za-z0-9_]+$ && "${!v}" != null ]] || die "could not create the check's $v"
done
say "tenant $TENANT (kaivoxctl in a gateway container), webhook to http://$HOST_IP:$RECV_PORT/hook"

# ---- one poller per host: the gateways share KAIVOX_GATEWAY_POLL_LOCK ----------
# The first gateway's container holds the lock (flock(1)) while the second
# answers requests one after another: the second must defer its polls
# (loop.polls_deferred), which it can only see through the shared volume.

gw() { "${DC[@]}" exec -T --index="$1" gateway "${@:2}"; }
gw_loop_stat() {   # gw_loop_stat INDEX NAME: loop.NAME of that gateway's /admin/v1/stats
    gw "$1" sh -c 'curl -fsS -H "Authorization: Bearer $KAIVOX_ADMIN_TOKEN" http://127.0.0.1:8081/admin/v1/stats' \
        | jq -r ".data.loop.$2"
}
if (( SCALE >= 2 )); then
    LOCK="$(gw 1 sh -c 'printf %s "$KAIVOX_GATEWAY_POLL_LOCK"')"
    ino1="$(gw 1 stat -c '%d:%i' "$LOCK" 2>/dev/null || true)"
    ino2="$(gw 2 stat -c '%d:%i' "$LOCK" 2>/dev/null || true)"
    [[ -n "$ino1" && "$ino1" == "$ino2" ]] || die "the gateways do not share $LOCK ('$ino1' and '$ino2')"
    gw 1 flock "$LOCK" sleep 8 &
    HOLD_PID=$!
    sleep 2
    d0="$(gw_loop_stat 2 polls_deferred)"
    urls=()
    for _ in $(seq 1 40); do urls+=(http://127.0.0.1:8080/healthz); done
    gw 2 curl -fsS "${urls[@]}" > /dev/null || die "the second gateway did not answer /healthz"
    d1="$(gw_loop_stat 2 polls_deferred)"
    wait "$HOLD_PID" || true
    [[ "$d0" =~ ^[0-9]+$ && "$d1" =~ ^[0-9]+$ ]] || die "no loop.polls_deferred in /admin/v1/stats ('$d0', '$d1')"
    (( d1 > d0 )) || die "the second gateway polled while the first one's container held $LOCK"
    say "one poller per host: the gateways share $LOCK ($ino1); 40 requests to the second while the first held it: $((d1 - d0)) polls deferred"
fi

# ---- the load, the rolling restarts, the kill ---------------------------------

"$KVLOAD" --url "$BASE" --key "$KEY" --customer "$CUSTOMER" --service "$SERVICE" \
    --staff "$STAFF" --rate "$RATE" --seconds 3600 --listen "$RECV_PORT" \
    --events "$DIR/received.txt" --stats "$DIR/stats.json" > "$DIR/kvload.json" 2> "$DIR/kvload.err" &
LOAD_PID=$!
LOAD_T0=$SECONDS
sleep 10
stat() { jq -r ".$1" "$DIR/stats.json" 2>/dev/null || echo "?"; }

restart_one() {   # restart_one TIER ID
    local t0=$SECONDS
    docker_api POST "/containers/$2/restart?t=20" > /dev/null
    wait_healthy "$2" || die "$1 $2 did not come back healthy"
    say "  $1 ${2:0:12} restarted (drained, started, healthy) in $((SECONDS - t0)) s; load: $(stat requests) requests, $(stat failed) failed"
}

for t in "${TIERS[@]}"; do
    say "rolling restart of $t, one instance at a time"
    mapfile -t tier_ids < <("${DC[@]}" ps -q "$t")
    for id in "${tier_ids[@]}"; do
        restart_one "$t" "$id"
        sleep 2
    done
done

victim="$("${DC[@]}" ps -q gateway | head -1)"
say "SIGKILL gateway ${victim:0:12} under load"
docker_api POST "/containers/$victim/kill?signal=KILL" > /dev/null
sleep 15
say "  15 s later: $(stat requests) requests, $(stat failed) failed; starting it again"
docker_api POST "/containers/$victim/start" > /dev/null
wait_healthy "$victim" || die "the killed gateway did not come back"

while (( SECONDS - LOAD_T0 < MIN_SECONDS )); do sleep 1; done
kill -USR1 "$LOAD_PID"
say "load stopped after $((SECONDS - LOAD_T0)) s"

# ---- what was produced, what was delivered ------------------------------------

sql() { "${DC[@]}" exec -T postgres psql -U postgres -d kaivox -Atc "$1"; }
produced_ids() {
    sql "SELECT id FROM scheduling.outbox WHERE tenant_id = $TENANT
         UNION ALL SELECT id FROM calls.outbox WHERE tenant_id = $TENANT" | sort -u
}
sleep 2
produced_ids > "$DIR/produced.txt"
PRODUCED="$(wc -l < "$DIR/produced.txt")"
for _ in $(seq 1 90); do
    (( $(stat distinct) >= PRODUCED )) && break
    sleep 1
done
kill -TERM "$LOAD_PID"
wait "$LOAD_PID" || true
LOAD_PID=""
sort -u "$DIR/received.txt" > "$DIR/received.sorted"
DELIVERED="$(comm -12 "$DIR/produced.txt" "$DIR/received.sorted" | wc -l)"
MISSING="$(comm -23 "$DIR/produced.txt" "$DIR/received.sorted" | wc -l)"
R="$DIR/kvload.json"
REQUESTS="$(jq -r .requests "$R")"
FAILED="$(jq -r .failed "$R")"

# every instance took work: its own log lines of requests (the Engine
# API's logs of each container, over the whole run)
say "work per instance (request log lines during the run):"
idle=0
for t in "${TIERS[@]}"; do
    pattern='"msg":"op '
    [[ "$t" == gateway ]] && pattern='http request method='
    while read -r id; do
        name="$(docker_api GET "/containers/$id/json" | jq -r '.Name' | sed 's#^/##')"
        n="$(docker_api GET "/containers/$id/logs?stdout=1&stderr=1" | grep -acF "$pattern" || true)"
        say "  $name: $n"
        (( n > 0 )) || idle=$((idle + 1))
    done < <("${DC[@]}" ps -q "$t")
done

say "kvload: $(jq -c '{retried, reconciled, latency_ms}' "$R"); first failure: $(jq -r '.first_failure' "$R")"
printf '%s requests, %s failed, %s events produced, %s delivered\n' \
    "$REQUESTS" "$FAILED" "$PRODUCED" "$DELIVERED"
rc=0
(( FAILED == 0 )) || { say "FAILED: $FAILED requests failed"; rc=1; }
(( MISSING == 0 && PRODUCED > 0 )) || { say "FAILED: $MISSING events were not delivered"; rc=1; }
(( idle == 0 )) || { say "FAILED: $idle instances took no work"; rc=1; }
exit $rc
