/*
 * kv_limits.h -- the size of everything the API accepts, in one place.
 *
 * Every text field of every resource has its maximum here, in characters
 * (Unicode code points, not bytes), together with the counts that bound the
 * nested lists (a call's transcript turns).  The validators read these
 * constants and nothing else, README.md lists them ("Input limits"), and
 * whoever sizes a buffer or a frame that must carry the largest legal
 * object computes it from them:
 *
 *   - a text field serialises to at most 4 bytes per character: JSON output
 *     (jansson, no JSON_ENSURE_ASCII) writes UTF-8 as is (at most 4 bytes a
 *     character) and escapes '"', '\', tab, CR and LF as 2 bytes; every other
 *     control character -- the ones that would take 6 bytes as \u00XX -- is
 *     refused on input (KV_TEXT_MULTILINE / KV_TEXT_LINE in kv_valid.h);
 *   - KV_JSON_BYTES(chars) is that bound, without the quotes.
 *
 * Changing a number here changes the public contract: README.md and
 * docs/openapi.yaml say the same numbers.
 */
#ifndef KV_LIMITS_H
#define KV_LIMITS_H

/* Worst-case JSON bytes of a string value of n characters (no quotes). */
#define KV_JSON_BYTES(n) ((n) * 4)

/* Every enumerated value of the API (statuses, segments, stages, ...) is at
 * most this many ASCII characters (the crm and scheduling unit tests check
 * their sets; the longest of calls' sets, in call_valid.c, is "transferred",
 * 11). */
#define KV_ENUM_VALUE_MAX        16

/* ---- shared by several resources ----------------------------------------- */

/* source of a customer and of an appointment: a token [a-z][a-z0-9_]*. */
#define KV_SOURCE_MAX            32
/* A person's name: a customer's name, a call's caller_name (which becomes
 * the name of a new lead), a staff member's name. */
#define KV_PERSON_NAME_MAX       200
/* Free-text notes of a customer and of an appointment (line breaks and
 * tabs allowed). */
#define KV_NOTES_MAX             5000
/* A phone number after normalisation: optional '+' and 7..15 digits. */
#define KV_PHONE_DIGITS_MIN      7
#define KV_PHONE_DIGITS_MAX      15
/* The phone as the client writes it (spaces, dashes, dots and brackets
 * allowed around the digits). */
#define KV_PHONE_INPUT_MAX       64

/* ---- customers (crm) ------------------------------------------------------- */

#define KV_CUSTOMER_NAME_MAX     KV_PERSON_NAME_MAX
#define KV_CUSTOMER_EMAIL_MAX    254       /* RFC 5321 path limit; ASCII only */
#define KV_CUSTOMER_NOTES_MAX    KV_NOTES_MAX
/* pipeline_stage and segment are enumerations: KV_ENUM_VALUE_MAX. */
#define KV_CUSTOMER_SEARCH_MAX   100       /* ?search= on the list */

/* ---- appointments, services, staff (scheduling) ----------------------------- */

#define KV_APPT_NOTES_MAX        KV_NOTES_MAX
#define KV_SCHED_SERVICE_NAME_MAX 200   /* a bookable service (not a bus service) */
#define KV_STAFF_NAME_MAX        KV_PERSON_NAME_MAX
#define KV_STAFF_SPECIALTY_MAX   100       /* one specialty */
#define KV_STAFF_SPECIALTIES_MAX 50        /* specialties of one staff member */
#define KV_STAFF_SERVICES_MAX    500       /* services one staff member performs */
#define KV_STAFF_DAY_INTERVALS   24        /* working intervals of one weekday */
/* staff.get lists at most this many upcoming appointments. */
#define KV_STAFF_UPCOMING_MAX    100
/* Booking rules of a service (operators): buffers before and after an
 * appointment in minutes, the minimum notice in minutes, how many days
 * ahead it may be booked. */
#define KV_SERVICE_BUFFER_MAX    1440
#define KV_SERVICE_NOTICE_MAX    525600    /* 365 days */
#define KV_SERVICE_ADVANCE_MAX   3650      /* days */
#define KV_SERVICE_ADVANCE_DEFAULT 365
/* A slot hold lives ttl_seconds: KV_HOLD_TTL_MIN..KV_HOLD_TTL_MAX, default
 * KV_HOLD_TTL_DEFAULT. */
#define KV_HOLD_TTL_MIN          30
#define KV_HOLD_TTL_MAX          900
#define KV_HOLD_TTL_DEFAULT      300
/* A 409 for a taken slot names at most this many free alternatives. */
#define KV_ALTERNATIVES_MAX      3
/* GET /calls/{id} lists at most this many appointment_ids (the oldest). */
#define KV_CALL_APPOINTMENTS_MAX 100
/* GET /calls/stats covers at most this many days (inclusive). */
#define KV_CALL_STATS_DAYS_MAX   366

/* ---- calls ------------------------------------------------------------------- */

#define KV_CALL_CALLER_NAME_MAX  KV_PERSON_NAME_MAX
#define KV_CALL_SUMMARY_MAX      20000
#define KV_CALL_URL_MAX          2048      /* recording_url, in bytes */
#define KV_CALL_EXTERNAL_ID_MAX  128
/* The transcript: at most KV_CALL_TURNS_MAX turns of at most
 * KV_CALL_TURN_TEXT_MAX characters each, and at most
 * KV_CALL_TRANSCRIPT_TEXT_MAX characters of text in all its turns (a long
 * call's transcript is still whole: 500,000 characters is about nine hours
 * of continuous speech). */
#define KV_CALL_TURNS_MAX        5000
#define KV_CALL_TURN_TEXT_MAX    10000
#define KV_CALL_TRANSCRIPT_TEXT_MAX 500000
/* How far in the future (by the service's clock) a call's started_at or
 * ended_at may lie: the caller's clock may be a little ahead of ours. */
#define KV_CALL_CLOCK_SKEW_S     300

/* ---- webhooks ------------------------------------------------------------------ */

/* Enforced today by services/webhooks/endpoints.c with its own copies of
 * these numbers (S_DESC_MAX and the URL check); listed here so that every
 * limit of the API is in this file. */
#define KV_WEBHOOK_URL_MAX       2048
#define KV_WEBHOOK_DESC_MAX      1000

/* ---- requests ------------------------------------------------------------------ */

/* Lists: page >= 1 up to KV_PAGE_MAX (keeps OFFSET arithmetic far from
 * overflow), per_page 1..KV_PER_PAGE_MAX (default KV_PER_PAGE_DEFAULT). */
#define KV_PAGE_MAX              10000000
#define KV_PER_PAGE_MAX          100
#define KV_PER_PAGE_DEFAULT      20
/* Unknown fields named in one 422 (the rest are counted, not named). */
#define KV_UNKNOWN_FIELDS_NAMED  20
/* An unknown field's name is cut to this many bytes (on a character
 * boundary) when it becomes an errors key. */
#define KV_FIELD_NAME_MAX        64

#endif
