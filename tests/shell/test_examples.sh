#!/usr/bin/env bash
# test_examples.sh -- runs the integrators' examples (examples/) against the
# live test stack of tests/run.sh, as an integrator would:
#
#   * examples/voice-booking.sh (curl + jq): slots, hold, book with an
#     Idempotency-Key, replay, 409 with alternatives, reschedule, cancel;
#     it must exit 0;
#   * examples/webhook-receiver-node (node + the standardwebhooks library):
#     started on KVT_PORT_BASE+50, an endpoint of the tenant points at it,
#     a test event and a booking are delivered, and the receiver must have
#     verified both webhook-signature and X-KaiVox-Signature of each; a
#     request with a wrong signature must get a 4xx from it.
#
# Needs KVT_BASE_URL, KVT_PORT_BASE, KAIVOX_ADMIN_URL / KAIVOX_ADMIN_TOKEN and
# KAIVOX_BIN_DIR (tests/run.sh exports them).  Prints PASS/FAIL lines.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
API="${KVT_BASE_URL:?run by tests/run.sh}"
BIN="${KAIVOX_BIN_DIR:-$ROOT/bin}"
PORT=$(( ${KVT_PORT_BASE:-18000} + 50 ))
WORK="$(mktemp -d)"
RPID=""
cleanup() {
    [[ -n "$RPID" ]] && kill "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

. "$ROOT/tests/shell/lib.sh"
field() { jq -er '(.data // .)[$f] | tostring' --arg f "$1"; }

# ---- a tenant of its own: a service, a staff member working every day ----
T="$("$BIN/kaivoxctl" tenant create --name "Examples Salon" --timezone UTC | field id)" \
    || { fail "examples: kaivoxctl tenant create"; exit 1; }
KEY="$("$BIN/kaivoxctl" key create --tenant "$T" --name examples | field key)" \
    || { fail "examples: kaivoxctl key create"; exit 1; }
"$BIN/kaivoxctl" service create --tenant "$T" --name Haircut --duration 30 --price 25.00 >/dev/null \
    && "$BIN/kaivoxctl" staff create --tenant "$T" --name "Alex Morgan" --hours mon-sun=09:00-17:00 >/dev/null \
    || { fail "examples: kaivoxctl service/staff create"; exit 1; }

# ---- the shell walk-through ---------------------------------------------
if KAIVOX_API_URL="$API" KAIVOX_API_KEY="$KEY" examples/voice-booking.sh > "$WORK/voice.out" 2>&1; then
    pass "examples/voice-booking.sh: slots, hold, book, replay, 409 with alternatives, reschedule, cancel"
else
    fail "examples/voice-booking.sh exited non-zero: $(grep -m1 '^FAIL' "$WORK/voice.out" || tail -n 3 "$WORK/voice.out" | tr '\n' ' ')"
    sed 's/^/    /' "$WORK/voice.out" >&2
fi

# ---- the Node receiver ----------------------------------------------------
api() {   # api METHOD PATH [JSON]: prints the body, status in $WORK/status
    local args=(-s -X "$1" -H "Authorization: Bearer $KEY" -o "$WORK/body" -w '%{http_code}')
    [[ -n "${3:-}" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}" "$API$2" > "$WORK/status" || echo 000 > "$WORK/status"
    cat "$WORK/body"
}
EP="$(api POST /api/v1/webhooks "$(jq -nc --arg u "http://127.0.0.1:$PORT/kaivox" \
      '{url:$u,events:["appointment.created","appointment.cancelled"],description:"examples receiver"}')")"
if [[ "$(cat "$WORK/status")" != 201 ]]; then
    fail "examples: POST /api/v1/webhooks answered $(cat "$WORK/status"): ${EP:0:300}"
    exit 1
fi
EP_ID="$(jq -r .data.id <<< "$EP")"
SECRET="$(jq -r .data.secret <<< "$EP")"

LOG="$WORK/receiver.jsonl"
: > "$LOG"
WEBHOOK_SECRET="$SECRET" PORT="$PORT" RECEIVER_LOG="$LOG" \
    node examples/webhook-receiver-node/receiver.mjs > "$WORK/receiver.out" 2>&1 &
RPID=$!
for _ in $(seq 1 100); do
    grep -q listening "$WORK/receiver.out" 2>/dev/null && break
    kill -0 "$RPID" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q listening "$WORK/receiver.out"; then
    fail "examples: the Node receiver did not start: $(head -c 400 "$WORK/receiver.out")"
    exit 1
fi

# A forged request: the receiver must refuse it.
body='{"id":"00000000-0000-4000-8000-000000000000","event":"ping","created_at":"2026-01-01T00:00:00Z","data":{}}'
code="$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'webhook-id: forged' -H "webhook-timestamp: $(date +%s)" -H 'webhook-signature: v1,AAAA' \
    -H "X-KaiVox-Signature: $(printf '%064d' 0)" --data-binary "$body" "http://127.0.0.1:$PORT/kaivox")"
check "examples/webhook-receiver-node: a forged request gets 401 (got $code)" [ "$code" = 401 ]
# Right Standard Webhooks signature, wrong X-KaiVox-Signature: refused too.
ts="$(date +%s)"
sw="$(printf '%s.%s.%s' forged2 "$ts" "$body" | openssl dgst -sha256 -mac HMAC \
      -macopt "hexkey:$(printf %s "${SECRET#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')" -binary | base64)"
code="$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'webhook-id: forged2' -H "webhook-timestamp: $ts" -H "webhook-signature: v1,$sw" \
    -H "X-KaiVox-Signature: $(printf '%064d' 0)" --data-binary "$body" "http://127.0.0.1:$PORT/kaivox")"
check "examples/webhook-receiver-node: a valid webhook-signature with a wrong X-KaiVox-Signature gets 401 (got $code)" [ "$code" = 401 ]

# Real deliveries: a test event, and a booking's appointment.created.
api POST "/api/v1/webhooks/$EP_ID/test" >/dev/null
check "examples: POST /api/v1/webhooks/{id}/test answered 202 (got $(cat "$WORK/status"))" \
    [ "$(cat "$WORK/status")" = 202 ]
SVC="$(api GET /api/v1/services | jq -r '.data[0].id')"
CUST="$(api POST /api/v1/customers '{"name":"Webhook Caller","phone":"+15550009999"}' | jq -r .data.id)"
DATE="" TIME=""
for d in $(seq 1 7); do
    DATE="$(date -u -d "+$d day" +%F)"
    TIME="$(api GET "/api/v1/appointments/slots?date=$DATE&service_id=$SVC" | jq -r '.data[0].time // empty')"
    [[ -n "$TIME" ]] && break
done
APPT="$(api POST /api/v1/appointments "$(jq -nc --argjson c "$CUST" --argjson s "$SVC" --arg d "$DATE" --arg t "$TIME" \
        '{customer_id:$c,service_id:$s,appointment_date:$d,appointment_time:$t}')" | jq -r '.data.id // empty')"
check "examples: a booking for the webhook (201, got $(cat "$WORK/status"))" [ "$(cat "$WORK/status")" = 201 ]

# Both deliveries verified by the receiver (generous deadline: a loaded machine).
verified() { jq -s --arg e "$1" '[.[] | select(.event == $e and .status == 204
            and .standard_webhooks and .kaivox_signature)] | length' "$LOG"; }
for _ in $(seq 1 300); do
    [[ "$(verified ping)" -ge 1 && "$(verified appointment.created)" -ge 1 ]] && break
    sleep 0.1
done
check "examples/webhook-receiver-node: the ping delivery verified with both webhook-signature and X-KaiVox-Signature (204)" \
    [ "$(verified ping)" -ge 1 ]
check "examples/webhook-receiver-node: appointment.created $APPT verified with both signatures (204)" \
    [ "$(verified appointment.created)" -ge 1 ]
# And the delivery log says the receiver's 2xx was taken as success.
st=""
for _ in $(seq 1 100); do
    st="$(api GET "/api/v1/webhooks/$EP_ID/deliveries" | jq -r '[.data[] | select(.event == "ping")][0].status')"
    [[ "$st" == succeeded ]] && break
    sleep 0.1
done
check "examples: the ping delivery is succeeded in the delivery log (got $st)" [ "$st" = succeeded ]

# ---- an inactive endpoint (docs/api.md, "Inactive endpoints") --------------
# While an endpoint is inactive nothing is sent to it: a delivery that is
# pending (here: a redelivery) waits and goes out once it is active again;
# an event that happens meanwhile gets no delivery for it at all.  A second,
# always active endpoint (nobody listens there) shows when the event has
# been taken in.
EP2="$(api POST /api/v1/webhooks "$(jq -nc --arg u "http://127.0.0.1:$((PORT + 1))/nobody" \
       '{url:$u,events:["appointment.cancelled"]}')" | jq -r '.data.id // empty')"
api PATCH "/api/v1/webhooks/$EP_ID" '{"active":false}' >/dev/null
check "inactive: PATCH {\"active\":false} answered 200 (got $(cat "$WORK/status"))" [ "$(cat "$WORK/status")" = 200 ]
seen_before="$(wc -l < "$LOG")"
PING_ID="$(api GET "/api/v1/webhooks/$EP_ID/deliveries" | jq -r '[.data[] | select(.event == "ping")][0].id')"
api POST "/api/v1/webhooks/deliveries/$PING_ID/redeliver" >/dev/null
check "inactive: redeliver answered 202 (got $(cat "$WORK/status"))" [ "$(cat "$WORK/status")" = 202 ]
api DELETE "/api/v1/appointments/$APPT" >/dev/null
taken=0
for _ in $(seq 1 300); do
    [[ "$(api GET "/api/v1/webhooks/$EP2/deliveries" | jq '[.data[] | select(.event == "appointment.cancelled")] | length')" -ge 1 ]] \
        && { taken=1; break; }
    sleep 0.1
done
check "inactive: the appointment.cancelled event was taken in (the other endpoint has its delivery)" [ "$taken" = 1 ]
sleep 3    # 12 polls of the deliverer (KAIVOX_WEBHOOK_POLL_MS 250)
check "inactive: nothing reached the receiver while the endpoint was inactive" [ "$(wc -l < "$LOG")" = "$seen_before" ]
st="$(api GET "/api/v1/webhooks/$EP_ID/deliveries" | jq -r --argjson i "$PING_ID" '.data[] | select(.id == $i) | .status')"
check "inactive: the redelivered ping waits as pending (got $st)" [ "$st" = pending ]
api PATCH "/api/v1/webhooks/$EP_ID" '{"active":true}' >/dev/null
for _ in $(seq 1 300); do
    [[ "$(verified ping)" -ge 2 ]] && break
    sleep 0.1
done
check "inactive: once active again the waiting ping went out, verified (204)" [ "$(verified ping)" -ge 2 ]
sleep 1
n="$(api GET "/api/v1/webhooks/$EP_ID/deliveries" | jq '[.data[] | select(.event == "appointment.cancelled")] | length')"
check "inactive: the event of the inactive time has no delivery to it (got $n)" [ "$n" = 0 ]
check "inactive: and never reached the receiver" [ "$(verified appointment.cancelled)" = 0 ]
