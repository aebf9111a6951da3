/*
 * call_valid.h -- pure validation of what the calls service accepts: the
 * body of POST /api/v1/calls (the call-logging extension) and the filters of
 * GET /api/v1/calls.
 *
 * No I/O and no allocation beyond jansson error lists, so the unit tests
 * (tests/unit/calls/) reach every rule directly.  The rules, documented in
 * README.md and docs/openapi.yaml:
 *   caller_phone     required, normalisable (kv_normalize_phone)
 *   caller_name      string <= 255 bytes, optional
 *   direction        inbound | outbound, default inbound
 *   started_at       required, YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)
 *   ended_at         same format, >= started_at
 *   duration_seconds integer 0..86400
 *                    one of ended_at / duration_seconds is required; when both
 *                    are given they must agree within 1 second
 *   outcome          booked | answered | voicemail | transferred | missed | abandoned
 *   sentiment        positive | neutral | negative
 *   quality_score    integer 0..100
 *   summary          string <= 20000 bytes
 *   transcript       list (<= 5000 turns) of {"speaker": "agent"|"caller",
 *                    "text": string <= 10000 bytes, "offset_seconds": number
 *                    0..duration+1}
 *   recording_url    http:// or https:// URL <= 2048 bytes
 *   external_id      string 1..128 bytes
 * Any other key is refused.  JSON null counts as absent for optional keys.
 */
#ifndef CALL_VALID_H
#define CALL_VALID_H

#include <stdint.h>
#include <jansson.h>

#define CALLS_TS_MAX            48      /* room for a formatted timestamp */
#define CALLS_MAX_DURATION      86400   /* one day, in seconds */
#define CALLS_MISSED_BELOW      15      /* a call shorter than this is missed */
#define CALLS_MAX_TURNS         5000
#define CALLS_MAX_TURN_TEXT     10000
#define CALLS_MAX_SUMMARY       20000
#define CALLS_MAX_NAME          255
#define CALLS_MAX_URL           2048
#define CALLS_MAX_EXTERNAL_ID   128

/* A validated call, ready for the statement calls_insert.  String pointers
 * are borrowed from the body passed to calls_validate (or static) and live
 * as long as it does; NULL means absent. */
typedef struct {
    char caller_phone[17];          /* normalised */
    const char *caller_name;
    const char *direction;          /* "inbound" or "outbound" (static) */
    int64_t started_us;             /* Unix epoch microseconds */
    int64_t ended_us;
    int duration_seconds;           /* given, or floor(ended - started) */
    char started_at[CALLS_TS_MAX];  /* UTC, RFC 3339 with microseconds */
    char ended_at[CALLS_TS_MAX];
    const char *outcome;
    const char *sentiment;
    int has_quality;                /* 1 when quality_score was given */
    int quality_score;
    const char *summary;
    const char *recording_url;
    const char *external_id;
    json_t *transcript;             /* borrowed array, NULL when absent */
} calls_input_t;

/* Validates body (any JSON value or NULL) into *in.  Every problem is added
 * to errors (an object) under its field name; transcript problems all go
 * under "transcript".  Returns 0 when valid, -1 otherwise (*in is then
 * unspecified). */
int calls_validate(json_t *body, calls_input_t *in, json_t *errors);

/* Parses the strict ISO 8601 / RFC 3339 form
 * YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM), a real calendar date with
 * year 1900..9999, offset up to +-23:59, into Unix epoch microseconds
 * (digits past the sixth fractional one are dropped).  0 or -1. */
int calls_parse_ts(const char *s, int64_t *us);

/* Formats us as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC) into buf. */
void calls_format_ts(int64_t us, char buf[CALLS_TS_MAX]);

/* 0 when s is an absolute http:// or https:// URL with a non-empty host and
 * no whitespace or control characters, of at most CALLS_MAX_URL bytes;
 * -1 otherwise. */
int calls_valid_url(const char *s);

/* The list filters of GET /api/v1/calls, validated.  Pointers are borrowed
 * from the query object (or static); NULL means no filter. */
typedef struct {
    const char *sentiment;
    int missed;                     /* -1 no filter, 0 answered only, 1 missed only */
    const char *from_date;          /* "YYYY-MM-DD" */
    const char *to_date;
} calls_filter_t;

/* Reads sentiment, missed (true|false|1|0), from_date and to_date
 * (Y-m-d, from <= to) from query (an object of strings).  Problems go to
 * errors under the parameter's name.  0 or -1. */
int calls_filter_parse(json_t *query, calls_filter_t *f, json_t *errors);

#endif
