/*
 * kv_sizes.h -- the worst-case size of every answer that crosses the bus,
 * computed from the limits of shared/kv_limits.h, and checked against the
 * bus body limit (KV_BODY_MAX) when anything that includes it compiles.
 *
 * Data that the API accepted can always be read back: the largest legal
 * page of every list and the largest legal object of every show must fit
 * one bus body, or the worker could only answer 500 "The response is too
 * large to send.".  Each bound is what jansson writes for the largest
 * legal object: every text field at its longest, made of the character
 * that costs most (KV_JSON_BYTES: 4 bytes a character; a field limited in
 * bytes that may hold '"' or '\', 2 bytes a byte; ASCII that JSON never
 * escapes -- digits, tokens, e-mail addresses, webhook URLs -- 1), every
 * id at 19 digits, every enumeration at KV_ENUM_VALUE_MAX, every number at
 * its longest, plus keys and punctuation.  The bounds are a little
 * generous (a comma counted after every field, 34 bytes for any
 * timestamp) and never too small.
 *
 * proto/bus.md ("Sizes") has the table of the numbers and the margin;
 * tests/unit/shared/test_sizes.c prints it, and tests/e2e/test_worstcase_*
 * build each worst case through the API and check the measured answer
 * against these bounds (at most the bound, and close to it).
 *
 * Nothing here is behaviour: change a limit in kv_limits.h and the
 * _Static_asserts at the end say whether every answer still fits.
 */
#ifndef KV_SIZES_H
#define KV_SIZES_H

#include "kv_limits.h"
#include "kv_proto.h"

/* ---- values ------------------------------------------------------------ */

/* A JSON member "key":value followed by a comma (value: its bytes). */
#define KV_SZ_FIELD(key, value) ((sizeof(key) - 1) + 4 + (value))
/* An object around members of the given bytes. */
#define KV_SZ_OBJ(members)      (2 + (members))
/* An array of n elements of at most each bytes (a comma after each). */
#define KV_SZ_ARRAY(n, each)    (2 + (n) * ((each) + 1))

/* A string of at most n characters, quotes included. */
#define KV_SZ_STR(n)            (KV_JSON_BYTES(n) + 2)
/* A string of at most n bytes that may hold '"' or '\' (2 bytes each). */
#define KV_SZ_BYTES(n)          (2 * (n) + 2)
/* A string of at most n ASCII characters that JSON never escapes. */
#define KV_SZ_ASCII(n)          ((n) + 2)

#define KV_SZ_ID        19     /* a bigint id: 9223372036854775807 */
#define KV_SZ_INT       20     /* any 64-bit integer, sign included */
/* A double as jansson writes it: %.15g (services) or %.17g (the gateway,
 * webhook delivery bodies), "-1.2345678901234567e-308" at the longest. */
#define KV_SZ_REAL      24
#define KV_SZ_BOOL      5      /* false */
#define KV_SZ_ENUM      KV_SZ_ASCII(KV_ENUM_VALUE_MAX)
/* Any timestamp of the API, quoted: "2026-03-10T14:05:00Z" (22),
 * with milliseconds (26) or microseconds (29). */
#define KV_SZ_TIME      34
#define KV_SZ_DATE      12     /* "2026-03-10" */
#define KV_SZ_HHMM      7      /* "14:05" */
#define KV_SZ_PHONE     KV_SZ_ASCII(KV_PHONE_DIGITS_MAX + 1)
#define KV_SZ_TOKEN     KV_SZ_ASCII(KV_SOURCE_MAX)
#define KV_SZ_UUID      KV_SZ_ASCII(36)
/* An event type ("appointment.cancelled"), at most 32 ASCII characters
 * (kv_event_hdr_t.type). */
#define KV_SZ_EVENT_TYPE KV_SZ_ASCII(32)

/* The envelope around data: {"success":true,"data":...} and, for a list,
 * the commas, brackets and "meta" (page, per_page, total; or a sync
 * page's two cursors; or the delivery log's retention fields). */
#define KV_SZ_ENVELOPE  512

/* A page of per_page items of at most item bytes, in its envelope. */
#define KV_SZ_PAGE(item) (KV_SZ_ENVELOPE + KV_PER_PAGE_MAX * ((item) + 1))

/* ---- calls --------------------------------------------------------------- */

/* The call of a list (no transcript): services/calls/call_json.c.
 * (a) a recording_url holds only RFC 3986 characters, which JSON never
 * escapes, but one stored by an earlier version may hold '"' (2 bytes). */
#define KV_SZ_CALL KV_SZ_OBJ( \
    KV_SZ_FIELD("id", KV_SZ_ID) + \
    KV_SZ_FIELD("external_id", KV_SZ_STR(KV_CALL_EXTERNAL_ID_MAX)) + \
    KV_SZ_FIELD("caller_phone", KV_SZ_PHONE) + \
    KV_SZ_FIELD("caller_name", KV_SZ_STR(KV_CALL_CALLER_NAME_MAX)) + \
    KV_SZ_FIELD("customer_id", KV_SZ_ID) + \
    KV_SZ_FIELD("direction", KV_SZ_ENUM) + \
    KV_SZ_FIELD("started_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("ended_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("duration_seconds", KV_SZ_INT) + \
    KV_SZ_FIELD("duration", KV_SZ_INT) + \
    KV_SZ_FIELD("missed", KV_SZ_BOOL) + \
    KV_SZ_FIELD("outcome", KV_SZ_ENUM) + \
    KV_SZ_FIELD("sentiment", KV_SZ_ENUM) + \
    KV_SZ_FIELD("quality_score", KV_SZ_INT) + \
    KV_SZ_FIELD("summary", KV_SZ_STR(KV_CALL_SUMMARY_MAX)) + \
    KV_SZ_FIELD("recording_url", KV_SZ_BYTES(KV_CALL_URL_MAX)) /* (a) */ + \
    KV_SZ_FIELD("created_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("updated_at", KV_SZ_TIME))

/* One turn of a transcript without its text. */
#define KV_SZ_CALL_TURN KV_SZ_OBJ( \
    KV_SZ_FIELD("speaker", KV_SZ_ENUM) + \
    KV_SZ_FIELD("text", 2) + \
    KV_SZ_FIELD("offset_seconds", KV_SZ_REAL))

/* The call of a show, a create and an event payload: with its transcript
 * (every turn, and all the text a transcript may hold). */
#define KV_SZ_CALL_FULL (KV_SZ_CALL + \
    KV_SZ_FIELD("transcript", KV_SZ_ARRAY(KV_CALL_TURNS_MAX, KV_SZ_CALL_TURN)) + \
    KV_JSON_BYTES(KV_CALL_TRANSCRIPT_TEXT_MAX))

#define KV_SZ_CALLS_PAGE   KV_SZ_PAGE(KV_SZ_CALL)
/* The show adds the ids of the appointments booked during the call
 * (scheduling's appointments.of_call, at most KV_CALL_APPOINTMENTS_MAX). */
#define KV_SZ_CALLS_SHOW   (KV_SZ_ENVELOPE + KV_SZ_CALL_FULL + \
    KV_SZ_FIELD("appointment_ids", KV_SZ_ARRAY(KV_CALL_APPOINTMENTS_MAX, KV_SZ_ID)))
/* calls.stats: two dates, four counts and two reals, whatever the range. */
#define KV_SZ_CALLS_STATS  (KV_SZ_ENVELOPE + KV_SZ_OBJ( \
    KV_SZ_FIELD("from_date", KV_SZ_DATE) + KV_SZ_FIELD("to_date", KV_SZ_DATE) + \
    KV_SZ_FIELD("calls", KV_SZ_INT) + KV_SZ_FIELD("answered", KV_SZ_INT) + \
    KV_SZ_FIELD("missed", KV_SZ_INT) + KV_SZ_FIELD("booked", KV_SZ_INT) + \
    KV_SZ_FIELD("conversion_rate", KV_SZ_REAL) + \
    KV_SZ_FIELD("average_duration", KV_SZ_REAL)))

/* ---- customers ---------------------------------------------------------- */

/* services/crm/customer_json.c */
#define KV_SZ_CUSTOMER KV_SZ_OBJ( \
    KV_SZ_FIELD("id", KV_SZ_ID) + \
    KV_SZ_FIELD("name", KV_SZ_STR(KV_CUSTOMER_NAME_MAX)) + \
    KV_SZ_FIELD("phone", KV_SZ_PHONE) + \
    KV_SZ_FIELD("email", KV_SZ_ASCII(KV_CUSTOMER_EMAIL_MAX)) + \
    KV_SZ_FIELD("segment", KV_SZ_ENUM) + \
    KV_SZ_FIELD("pipeline_stage", KV_SZ_ENUM) + \
    KV_SZ_FIELD("notes", KV_SZ_STR(KV_CUSTOMER_NOTES_MAX)) + \
    KV_SZ_FIELD("source", KV_SZ_TOKEN) + \
    KV_SZ_FIELD("created_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("updated_at", KV_SZ_TIME))

/* The profile adds the figures scheduling computes. */
#define KV_SZ_CUSTOMER_FULL (KV_SZ_CUSTOMER + \
    KV_SZ_FIELD("total_appointments", KV_SZ_INT) + \
    KV_SZ_FIELD("total_spent", KV_SZ_REAL) + \
    KV_SZ_FIELD("last_visit_date", KV_SZ_DATE))

#define KV_SZ_CUSTOMERS_PAGE KV_SZ_PAGE(KV_SZ_CUSTOMER)
#define KV_SZ_CUSTOMERS_SHOW (KV_SZ_ENVELOPE + KV_SZ_CUSTOMER_FULL)

/* ---- appointments, services, staff, slots ------------------------------- */

/* services/scheduling/json.c: sched_appt_json (also the payload of the
 * appointment events). */
#define KV_SZ_APPT KV_SZ_OBJ( \
    KV_SZ_FIELD("id", KV_SZ_ID) + \
    KV_SZ_FIELD("customer_id", KV_SZ_ID) + \
    KV_SZ_FIELD("service_id", KV_SZ_ID) + \
    KV_SZ_FIELD("service_name", KV_SZ_STR(KV_SCHED_SERVICE_NAME_MAX)) + \
    KV_SZ_FIELD("staff_id", KV_SZ_ID) + \
    KV_SZ_FIELD("staff_name", KV_SZ_STR(KV_STAFF_NAME_MAX)) + \
    KV_SZ_FIELD("appointment_date", KV_SZ_DATE) + \
    KV_SZ_FIELD("appointment_time", KV_SZ_HHMM) + \
    KV_SZ_FIELD("end_time", KV_SZ_HHMM) + \
    KV_SZ_FIELD("duration", KV_SZ_INT) + \
    KV_SZ_FIELD("status", KV_SZ_ENUM) + \
    KV_SZ_FIELD("notes", KV_SZ_STR(KV_APPT_NOTES_MAX)) + \
    KV_SZ_FIELD("source", KV_SZ_TOKEN) + \
    KV_SZ_FIELD("price", KV_SZ_REAL) + \
    KV_SZ_FIELD("created_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("updated_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("call_id", KV_SZ_ID))

#define KV_SZ_APPTS_PAGE   KV_SZ_PAGE(KV_SZ_APPT)

/* sched_hold_json: a slot hold. */
#define KV_SZ_HOLD KV_SZ_OBJ( \
    KV_SZ_FIELD("id", KV_SZ_ID) + \
    KV_SZ_FIELD("service_id", KV_SZ_ID) + \
    KV_SZ_FIELD("staff_id", KV_SZ_ID) + \
    KV_SZ_FIELD("appointment_date", KV_SZ_DATE) + \
    KV_SZ_FIELD("appointment_time", KV_SZ_HHMM) + \
    KV_SZ_FIELD("end_time", KV_SZ_HHMM) + \
    KV_SZ_FIELD("expires_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("call_id", KV_SZ_ID))

/* sched_service_json, with the operator fields of the admin answers. */
#define KV_SZ_SERVICE KV_SZ_OBJ( \
    KV_SZ_FIELD("id", KV_SZ_ID) + \
    KV_SZ_FIELD("name", KV_SZ_STR(KV_SCHED_SERVICE_NAME_MAX)) + \
    KV_SZ_FIELD("duration", KV_SZ_INT) + \
    KV_SZ_FIELD("price", KV_SZ_REAL) + \
    KV_SZ_FIELD("buffer_before_minutes", KV_SZ_INT) + \
    KV_SZ_FIELD("buffer_after_minutes", KV_SZ_INT) + \
    KV_SZ_FIELD("min_notice_minutes", KV_SZ_INT) + \
    KV_SZ_FIELD("max_advance_days", KV_SZ_INT) + \
    KV_SZ_FIELD("active", KV_SZ_BOOL) + \
    KV_SZ_FIELD("created_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("updated_at", KV_SZ_TIME))

#define KV_SZ_SERVICES_PAGE KV_SZ_PAGE(KV_SZ_SERVICE)

/* A {"date","time"} or {"start","end"} or {"date","time","end_time"}
 * entry, at the longest. */
#define KV_SZ_WHEN KV_SZ_OBJ(KV_SZ_FIELD("date", KV_SZ_DATE) + \
    KV_SZ_FIELD("time", KV_SZ_HHMM) + KV_SZ_FIELD("end_time", KV_SZ_HHMM))

/* The staff member of a list: sched_staff_json and next_available_slot. */
#define KV_SZ_STAFF KV_SZ_OBJ( \
    KV_SZ_FIELD("id", KV_SZ_ID) + \
    KV_SZ_FIELD("name", KV_SZ_STR(KV_STAFF_NAME_MAX)) + \
    KV_SZ_FIELD("specialties", KV_SZ_ARRAY(KV_STAFF_SPECIALTIES_MAX, \
                                           KV_SZ_STR(KV_STAFF_SPECIALTY_MAX))) + \
    KV_SZ_FIELD("next_available_slot", KV_SZ_WHEN))

/* The show adds the week's working hours (7 days of at most
 * KV_STAFF_DAY_INTERVALS intervals) and the upcoming appointments. */
#define KV_SZ_STAFF_FULL (KV_SZ_STAFF + \
    KV_SZ_FIELD("working_hours", KV_SZ_OBJ(7 * KV_SZ_FIELD("mon", \
        KV_SZ_ARRAY(KV_STAFF_DAY_INTERVALS, KV_SZ_WHEN)))) + \
    KV_SZ_FIELD("upcoming_appointments", KV_SZ_ARRAY(KV_STAFF_UPCOMING_MAX, KV_SZ_WHEN)))

#define KV_SZ_STAFF_PAGE   KV_SZ_PAGE(KV_SZ_STAFF)
#define KV_SZ_STAFF_SHOW   (KV_SZ_ENVELOPE + KV_SZ_STAFF_FULL)

/* Slots of one day: at most one start per grid point (the shortest slot
 * interval a tenant may have is 5 minutes: 288 a day), each listing the
 * staff free then.  Not bounded by a limit of its own: it grows with the
 * tenant's active staff who perform the service (operators create staff;
 * the API has no way to add one). */
#define KV_SZ_SLOT_TIMES   (24 * 60 / 5)
#define KV_SZ_SLOTS(staff) (KV_SZ_ENVELOPE + KV_SZ_SLOT_TIMES * (KV_SZ_OBJ( \
    KV_SZ_FIELD("time", KV_SZ_HHMM) + KV_SZ_FIELD("end_time", KV_SZ_HHMM) + \
    KV_SZ_FIELD("staff_ids", KV_SZ_ARRAY(staff, KV_SZ_ID))) + 1))
/* How many staff members the slots of one day can list and still fit. */
#define KV_SZ_SLOTS_STAFF_FIT \
    ((KV_BODY_MAX - KV_SZ_SLOTS(0)) / (KV_SZ_SLOT_TIMES * (KV_SZ_ID + 1)))

/* ---- webhooks ------------------------------------------------------------ */

/* services/webhooks/db.c S_ENDPOINT_JSON, and the secret of a create or a
 * rotation.  A URL holds only characters of RFC 3986, none of which JSON
 * escapes. */
#define KV_SZ_ENDPOINT KV_SZ_OBJ( \
    KV_SZ_FIELD("id", KV_SZ_ID) + \
    KV_SZ_FIELD("url", KV_SZ_ASCII(KV_WEBHOOK_URL_MAX)) + \
    KV_SZ_FIELD("events", KV_SZ_ARRAY(4, KV_SZ_EVENT_TYPE)) + \
    KV_SZ_FIELD("description", KV_SZ_STR(KV_WEBHOOK_DESC_MAX)) + \
    KV_SZ_FIELD("active", KV_SZ_BOOL) + \
    KV_SZ_FIELD("disabled_reason", KV_SZ_ASCII(64)) + \
    KV_SZ_FIELD("previous_secret_expires_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("created_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("updated_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("secret", KV_SZ_ASCII(64)))

#define KV_SZ_ENDPOINTS_PAGE KV_SZ_PAGE(KV_SZ_ENDPOINT)

/* The delivery log shows each delivery's latest 10 attempts
 * (HOOK_ATTEMPTS_SHOWN, services/webhooks/hook.h), each error text at most
 * 300 characters (the attempts_error_short constraint). */
#define KV_SZ_HOOK_ATTEMPTS_SHOWN 10
#define KV_SZ_HOOK_ERROR_MAX      300
#define KV_SZ_ATTEMPT KV_SZ_OBJ( \
    KV_SZ_FIELD("attempted_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("status_code", KV_SZ_INT) + \
    KV_SZ_FIELD("error", KV_SZ_STR(KV_SZ_HOOK_ERROR_MAX)) + \
    KV_SZ_FIELD("duration_ms", KV_SZ_INT))
#define KV_SZ_DELIVERY KV_SZ_OBJ( \
    KV_SZ_FIELD("id", KV_SZ_ID) + \
    KV_SZ_FIELD("endpoint_id", KV_SZ_ID) + \
    KV_SZ_FIELD("event_id", KV_SZ_UUID) + \
    KV_SZ_FIELD("event", KV_SZ_EVENT_TYPE) + \
    KV_SZ_FIELD("status", KV_SZ_ENUM) + \
    KV_SZ_FIELD("attempts", KV_SZ_ARRAY(KV_SZ_HOOK_ATTEMPTS_SHOWN, KV_SZ_ATTEMPT)) + \
    KV_SZ_FIELD("attempts_total", KV_SZ_INT) + \
    KV_SZ_FIELD("next_attempt_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("created_at", KV_SZ_TIME))

#define KV_SZ_DELIVERIES_PAGE KV_SZ_PAGE(KV_SZ_DELIVERY)

/* ---- events ------------------------------------------------------------------ */

/* The largest payload of an event: a call with its transcript (scheduling's
 * appointments are far smaller). */
#define KV_SZ_MAX_(a, b)          ((a) > (b) ? (a) : (b))
#define KV_SZ_EVENT_PAYLOAD_MAX   KV_SZ_MAX_(KV_SZ_CALL_FULL, KV_SZ_APPT)

/* One event of an events.since page around its payload:
 * {"seq","id","tenant_id","type","created_at","payload"}. */
#define KV_SZ_EVENT_ENTRY KV_SZ_OBJ( \
    KV_SZ_FIELD("seq", KV_SZ_INT) + \
    KV_SZ_FIELD("id", KV_SZ_UUID) + \
    KV_SZ_FIELD("tenant_id", KV_SZ_INT) + \
    KV_SZ_FIELD("type", KV_SZ_EVENT_TYPE) + \
    KV_SZ_FIELD("created_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("payload", 0))

/* An events.since page stops before its payloads pass
 * KV_EVENTS_PAGE_BYTES, counting each as its stored text plus 256 bytes
 * (more than KV_SZ_EVENT_ENTRY), and always holds at least one event: so
 * it is at most that much, or one event alone. */
#define KV_SZ_EVENTS_PAGE (KV_SZ_ENVELOPE + KV_SZ_MAX_(KV_EVENTS_PAGE_BYTES, \
    KV_SZ_EVENT_ENTRY + KV_SZ_EVENT_PAYLOAD_MAX + 1))

/* A webhook delivery body (not on the bus; libcurl sends it):
 * {"id","event","created_at","data":<payload>}. */
#define KV_SZ_DELIVERY_BODY (KV_SZ_OBJ(KV_SZ_FIELD("id", KV_SZ_UUID) + \
    KV_SZ_FIELD("event", KV_SZ_EVENT_TYPE) + KV_SZ_FIELD("created_at", KV_SZ_TIME) + \
    KV_SZ_FIELD("data", 0)) + KV_SZ_EVENT_PAYLOAD_MAX)

/* ---- the request header --------------------------------------------------- */

/* A request's header frame (kv_hdr_encode): the request id (64 of
 * [A-Za-z0-9._-]), a correlation id, the client's Idempotency-Key
 * (printable ASCII, '"' and '\' taking 2), the operation, the tenant with
 * its time zone and slot interval, the deadline.  A reply's header (id,
 * cid, status, "replayed") is smaller. */
#define KV_SZ_HEADER KV_SZ_OBJ( \
    KV_SZ_FIELD("v", KV_SZ_INT) + \
    KV_SZ_FIELD("id", KV_SZ_ASCII(64)) + \
    KV_SZ_FIELD("cid", KV_SZ_BYTES(KV_CID_MAX)) + \
    KV_SZ_FIELD("idempotency_key", KV_SZ_BYTES(KV_IDEM_KEY_MAX)) + \
    KV_SZ_FIELD("op", KV_SZ_BYTES(KV_OP_NAME_MAX)) + \
    KV_SZ_FIELD("tenant", KV_SZ_OBJ(KV_SZ_FIELD("id", KV_SZ_INT) + \
        KV_SZ_FIELD("tz", KV_SZ_BYTES(64)) + KV_SZ_FIELD("slot_interval", KV_SZ_INT))) + \
    KV_SZ_FIELD("deadline", KV_SZ_INT))

/* ---- the largest of all, and the checks ---------------------------------- */

#define KV_SZ_LARGEST KV_SZ_MAX_(KV_SZ_CALLS_PAGE, KV_SZ_MAX_(KV_SZ_CALLS_SHOW, \
    KV_SZ_MAX_(KV_SZ_EVENTS_PAGE, KV_SZ_MAX_(KV_SZ_CUSTOMERS_PAGE, \
    KV_SZ_MAX_(KV_SZ_APPTS_PAGE, KV_SZ_MAX_(KV_SZ_STAFF_PAGE, \
    KV_SZ_MAX_(KV_SZ_DELIVERIES_PAGE, KV_SZ_MAX_(KV_SZ_ENDPOINTS_PAGE, \
    KV_SZ_SERVICES_PAGE))))))))

/* Every answer must fit, and with a margin: the largest legal answer may
 * take at most two thirds of a bus body, so that a field added to an
 * object, or a limit raised a little, does not put the frame at risk. */
_Static_assert(KV_SZ_LARGEST * 3 <= (long long)KV_BODY_MAX * 2,
               "the largest legal answer must take at most 2/3 of KV_BODY_MAX");
_Static_assert(KV_SZ_EVENTS_PAGE <= KV_BODY_MAX, "an events.since page must fit a bus body");
_Static_assert(KV_SZ_EVENT_ENTRY < 256,
               "kv_outbox.c counts 256 bytes around each payload of an events.since page");
_Static_assert(KV_SZ_HEADER <= KV_HEADER_MAX,
               "the longest request header (with an Idempotency-Key) must fit its frame");
_Static_assert(KV_SZ_SLOTS_STAFF_FIT >= 1000,
               "the slots of a day must fit for a tenant of 1000 staff members");

#endif
