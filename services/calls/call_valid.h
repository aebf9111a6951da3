/*
 * call_valid.h -- pure validation of what the calls service accepts: the
 * body of POST /api/v1/calls (the call-logging extension) and the filters of
 * GET /api/v1/calls.
 *
 * No I/O; every field goes through the shared readers of kv_valid.h, so the
 * messages are the ones every service gives.  The unit tests
 * (tests/unit/calls/) reach every rule directly.  The rules, documented in
 * README.md and docs/openapi.yaml (limits from kv_limits.h):
 *   caller_phone     required, normalisable (kv_read_phone)
 *   caller_name      a person's name (kv_rule_person_name: one line, trimmed,
 *                    <= 200 characters; it becomes the name of a new lead)
 *   direction        inbound | outbound, default inbound
 *   started_at       required, YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM),
 *                    at most KV_CALL_CLOCK_SKEW_S (5 min) after the server's now
 *   ended_at         same format, >= started_at, not in the future either
 *   duration_seconds integer 0..86400
 *                    one of ended_at / duration_seconds is required; when both
 *                    are given they must agree within 1 second
 *   outcome          booked | answered | voicemail | transferred | missed | abandoned
 *   sentiment        positive | neutral | negative
 *   quality_score    integer 0..100
 *   summary          text (line breaks allowed) <= 20000 characters
 *   transcript       list (<= 5000 turns) of {"speaker": "agent"|"caller",
 *                    "text": text <= 10000 characters, "offset_seconds": number
 *                    0..duration+1}, <= 500000 characters of text in all
 *   recording_url    http:// or https:// URL <= 2048 bytes
 *   external_id      one line of 1..128 characters
 * Any other key is refused.  JSON null counts as absent for optional keys.
 */
#ifndef CALL_VALID_H
#define CALL_VALID_H

#include <stdint.h>
#include <jansson.h>

#include "kv_valid.h"

#define CALLS_TS_MAX            48      /* room for a formatted timestamp */
#define CALLS_MAX_DURATION      86400   /* one day, in seconds */
#define CALLS_MISSED_BELOW      15      /* a call shorter than this is missed */

/* A validated call, ready for the statement calls_insert.  The strings are
 * owned by the struct (calls_input_cleanup frees them) or static; NULL
 * means absent.  transcript is borrowed from the body given to
 * calls_validate and lives as long as it does. */
typedef struct {
    char caller_phone[17];          /* normalised */
    char *caller_name;
    const char *direction;          /* "inbound" or "outbound" (static) */
    int64_t started_us;             /* Unix epoch microseconds */
    int64_t ended_us;
    int duration_seconds;           /* given, or floor(ended - started) */
    char started_at[CALLS_TS_MAX];  /* UTC, RFC 3339 with microseconds */
    char ended_at[CALLS_TS_MAX];
    const char *outcome;            /* static */
    const char *sentiment;          /* static */
    int has_quality;                /* 1 when quality_score was given */
    int quality_score;
    char *summary;
    char *recording_url;
    char *external_id;
    json_t *transcript;             /* borrowed array, NULL when absent */
} calls_input_t;

/* Validates body (any JSON value or NULL) into *in, with now_us (Unix epoch
 * microseconds, the server's clock) as the present for the "not in the
 * future" rules.  Every problem is added to errors (an object) under its
 * field name; transcript problems all go under "transcript" as "Turn <i>:
 * <message>".  Returns 0 when valid, -1 otherwise.  *in must be cleaned up
 * with calls_input_cleanup either way. */
int calls_validate(json_t *body, int64_t now_us, calls_input_t *in, json_t *errors);
void calls_input_cleanup(calls_input_t *in);

/* 0 when s is an absolute http:// or https:// URL with a non-empty host and
 * no whitespace or control characters, of at most KV_CALL_URL_MAX bytes;
 * -1 otherwise. */
int calls_valid_url(const char *s);

/* The list filters of GET /api/v1/calls, validated. */
typedef struct {
    const char *sentiment;          /* static; NULL: no filter */
    int missed;                     /* -1 no filter, 0 answered only, 1 missed only */
    char from_date[11];             /* "YYYY-MM-DD", "" no filter */
    char to_date[11];
} calls_filter_t;

/* Reads sentiment, missed (true|false|1|0), from_date and to_date
 * (Y-m-d, from <= to) from query (an object of strings; an empty value is
 * no filter).  Problems go to errors under the parameter's name.  0 or
 * -1. */
int calls_filter_parse(json_t *query, calls_filter_t *f, json_t *errors);

/* The query of GET /api/v1/calls/stats: both dates required, inclusive,
 * in the tenant's time zone. */
typedef struct {
    char from_date[11];             /* "YYYY-MM-DD" */
    char to_date[11];
} calls_stats_query_t;

/* Reads from_date and to_date (Y-m-d, both required, from <= to, at most
 * KV_CALL_STATS_DAYS_MAX days counting both ends).  Problems go to errors
 * under the parameter's name (the range under to_date).  0 or -1. */
int calls_stats_parse(json_t *query, calls_stats_query_t *q, json_t *errors);

#endif
