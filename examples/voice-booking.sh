#!/usr/bin/env bash
# voice-booking.sh -- what a voice agent does while a caller waits, with curl
# and jq against a running KaiVox: find free slots, hold one, book the hold
# with an Idempotency-Key, retry that booking (the same answer, replayed),
# try the taken slot again (409 with alternatives), move the booking to the
# first alternative, and cancel it.  Every step checks its HTTP status; the
# script stops with exit status 1 at the first unexpected one.
#
# Environment:
#   KAIVOX_API_URL  the API's base URL (default http://127.0.0.1:8080, `make up`'s)
#   KAIVOX_API_KEY  an API key of the tenant (default: the demo key in var/demo.json)
#   SERVICE_ID      the service to book (default: the first of GET /api/v1/services)
#   CALLER_PHONE    the caller's number (default: a random one); the caller is
#                   created as a customer, or found when the number is known
#
# Run: make up && examples/voice-booking.sh
set -euo pipefail

API="${KAIVOX_API_URL:-http://127.0.0.1:8080}"
KEY="${KAIVOX_API_KEY:-}"
if [[ -z "$KEY" ]]; then
    demo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/var/demo.json"
    [[ -r "$demo" ]] && KEY="$(jq -r '.key // empty' "$demo")"
fi
[[ -n "$KEY" ]] || { echo "voice-booking: set KAIVOX_API_KEY (or run make up for the demo key)" >&2; exit 2; }
command -v jq >/dev/null || { echo "voice-booking: needs jq" >&2; exit 2; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
STATUS="" BODY="" HEADERS=""

# call METHOD PATH [JSON [IDEMPOTENCY_KEY]]: sets STATUS, BODY and HEADERS.
call() {
    local args=(-s -X "$1" -H "Authorization: Bearer $KEY" -D "$TMP/h" -o "$TMP/b" -w '%{http_code}')
    [[ $# -ge 3 && -n "$3" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    [[ $# -ge 4 ]] && args+=(-H "Idempotency-Key: $4")
    STATUS="$(curl "${args[@]}" "$API$2" || echo 000)"
    BODY="$(cat "$TMP/b" 2>/dev/null || true)"
    HEADERS="$(tr -d '\r' < "$TMP/h" 2>/dev/null || true)"
}

# expect STATUS WHAT: stops unless the last call answered STATUS.
expect() {
    if [[ "$STATUS" != "$1" ]]; then
        printf 'FAIL %s: expected %s, got %s: %s\n' "$2" "$1" "$STATUS" "${BODY:0:400}"
        exit 1
    fi
    printf 'ok   %s (%s)\n' "$2" "$STATUS"
}

field() { jq -r "$1" <<< "$BODY"; }

uuid() { cat /proc/sys/kernel/random/uuid 2>/dev/null || od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

# 1. What can be booked: the service, and the caller as a customer.
if [[ -n "${SERVICE_ID:-}" ]]; then
    SERVICE="$SERVICE_ID"
else
    call GET /api/v1/services
    expect 200 "GET /api/v1/services"
    SERVICE="$(field '.data[0].id // empty')"
    [[ -n "$SERVICE" ]] || { echo "FAIL the tenant has no active service"; exit 1; }
fi
PHONE="${CALLER_PHONE:-+1555$(printf '%07d' $(( (RANDOM << 15 | RANDOM) % 10000000 )))}"
call POST /api/v1/customers "$(jq -nc --arg p "$PHONE" '{name:"Voice Caller",phone:$p,source:"phone"}')"
if [[ "$STATUS" == 422 && "$(field '.errors.phone // empty')" != "" ]]; then
    call GET "/api/v1/customers?search=$(jq -rn --arg p "${PHONE#+}" '$p|@uri')"
    expect 200 "GET /api/v1/customers?search= (a known caller)"
    CUSTOMER="$(field '.data[0].id')"
else
    expect 201 "POST /api/v1/customers (the caller)"
    CUSTOMER="$(field '.data.id')"
fi

# 2. Free slots: the first day from tomorrow with at least one.
DATE="" SLOTS="[]"
for d in $(seq 1 21); do
    DATE="$(date -u -d "+$d day" +%F)"
    call GET "/api/v1/appointments/slots?date=$DATE&service_id=$SERVICE"
    expect 200 "GET /api/v1/appointments/slots?date=$DATE&service_id=$SERVICE"
    SLOTS="$(field '.data')"
    [[ "$(jq length <<< "$SLOTS")" -gt 0 ]] && break
done
[[ "$(jq length <<< "$SLOTS")" -gt 0 ]] || { echo "FAIL no free slot in the next 21 days"; exit 1; }
TIME="$(jq -r '.[0].time' <<< "$SLOTS")"
STAFF="$(jq -r '.[0].staff_ids[0]' <<< "$SLOTS")"
echo "     first free slot: $DATE $TIME with staff $STAFF"

# 3. Hold it while the caller confirms (5 minutes by default).
call POST /api/v1/appointments/holds "$(jq -nc --argjson s "$SERVICE" --arg d "$DATE" --arg t "$TIME" \
    --argjson st "$STAFF" '{service_id:$s,appointment_date:$d,appointment_time:$t,staff_id:$st,ttl_seconds:300}')"
expect 201 "POST /api/v1/appointments/holds"
HOLD="$(field '.data.id')"
echo "     hold $HOLD expires at $(field '.data.expires_at')"

# 4. Book the hold, with an Idempotency-Key: one key per booking attempt.
IDEM="$(uuid)"
BOOK="$(jq -nc --argjson c "$CUSTOMER" --argjson h "$HOLD" '{customer_id:$c,hold_id:$h,source:"phone"}')"
call POST /api/v1/appointments "$BOOK" "$IDEM"
expect 201 "POST /api/v1/appointments (hold $HOLD, Idempotency-Key)"
APPT="$(field '.data.id')"
FIRST="$BODY"

# 5. The network dropped the answer: the same request with the same key
#    gets the first answer again, byte for byte; nothing is booked twice.
call POST /api/v1/appointments "$BOOK" "$IDEM"
expect 201 "POST /api/v1/appointments again (the same Idempotency-Key)"
grep -qi '^Idempotent-Replayed: true$' <<< "$HEADERS" \
    || { echo "FAIL the retry did not carry Idempotent-Replayed: true"; exit 1; }
[[ "$BODY" == "$FIRST" ]] || { echo "FAIL the retry's body differs from the first answer"; exit 1; }
echo "     replayed: appointment $APPT, Idempotent-Replayed: true"

# 6. Someone else asks for the same slot: 409, with nearby free times.
call POST /api/v1/appointments "$(jq -nc --argjson c "$CUSTOMER" --argjson s "$SERVICE" --arg d "$DATE" \
    --arg t "$TIME" --argjson st "$STAFF" \
    '{customer_id:$c,service_id:$s,appointment_date:$d,appointment_time:$t,staff_id:$st}')" "$(uuid)"
expect 409 "POST /api/v1/appointments (the taken slot)"
ALTS="$(field '.data.alternatives')"
[[ "$(jq 'type' <<< "$ALTS")" == '"array"' ]] || { echo "FAIL the 409 has no data.alternatives"; exit 1; }
echo "     alternatives: $(jq -c '[.[].time]' <<< "$ALTS")"
[[ "$(jq length <<< "$ALTS")" -gt 0 ]] || { echo "FAIL no alternative offered (the day is full?)"; exit 1; }
NEWTIME="$(jq -r '.[0].time' <<< "$ALTS")"

# 7. The caller prefers the first alternative: move the booking in place.
call PATCH "/api/v1/appointments/$APPT" "$(jq -nc --arg t "$NEWTIME" '{appointment_time:$t}')" "$(uuid)"
expect 200 "PATCH /api/v1/appointments/$APPT (reschedule to $NEWTIME)"
[[ "$(field '.data.appointment_time')" == "$NEWTIME" ]] \
    || { echo "FAIL the appointment is at $(field '.data.appointment_time'), not $NEWTIME"; exit 1; }

# 8. And finally calls back to cancel.
call DELETE "/api/v1/appointments/$APPT" "" "$(uuid)"
expect 200 "DELETE /api/v1/appointments/$APPT (cancel)"
[[ "$(field '.data.status')" == cancelled ]] || { echo "FAIL the appointment is not cancelled"; exit 1; }

echo "voice booking walk-through: every step answered as expected"
