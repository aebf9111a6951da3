/*
 * test_call_valid.c -- unit tests of services/calls/call_valid.c: the
 * strict timestamp parser, the rules of a logged call (POST /api/v1/calls)
 * and the list filters of GET /api/v1/calls.  Each check is named after
 * the behaviour it proves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/calls/call_valid.h"

/* ---- helpers ---------------------------------------------------------- */

/* "Now" for the validations: over a day after the test body's started_at
 * (2026-03-10T14:00:00Z), so that even a one-day call has ended. */
#define S_NOW (INT64_C(1773273600) * 1000000)   /* 2026-03-12T00:00:00Z */

/* A valid minimal body plus the keys of extra (a JSON object text, may be
 * NULL); keys set to null in extra are removed. */
static json_t *s_body(const char *extra)
{
    json_t *b = json_pack("{s:s,s:s,s:i}", "caller_phone", "+1 (555) 010-0001",
                          "started_at", "2026-03-10T14:00:00Z", "duration_seconds", 42);
    if (extra) {
        json_error_t e;
        json_t *x = json_loads(extra, 0, &e);
        if (!x) {
            fprintf(stderr, "bad test JSON: %s\n", extra);
            abort();
        }
        const char *k;
        json_t *v;
        json_object_foreach(x, k, v) {
            if (json_is_null(v))
                json_object_del(b, k);
            else
                json_object_set(b, k, v);
        }
        json_decref(x);
    }
    return b;
}

/* Validates extra over the minimal body; returns the rc and leaves the
 * errors in *errs (caller frees). */
static int s_validate(const char *extra, calls_input_t *in, json_t **errs)
{
    json_t *b = s_body(extra);
    *errs = json_object();
    int rc = calls_validate(b, S_NOW, in, *errs);
    json_decref(b);   /* in's transcript (borrowed) is not used after this */
    return rc;
}

/* True when validating extra fails with a message under field. */
static int s_refused(const char *extra, const char *field)
{
    calls_input_t in;
    json_t *errs;
    int rc = s_validate(extra, &in, &errs);
    int ok = rc == -1 && json_is_array(json_object_get(errs, field));
    json_decref(errs);
    calls_input_cleanup(&in);
    return ok;
}

static int s_accepted(const char *extra)
{
    calls_input_t in;
    json_t *errs;
    int rc = s_validate(extra, &in, &errs);
    json_decref(errs);
    calls_input_cleanup(&in);
    return rc == 0;
}

/* ---- timestamps --------------------------------------------------------- */

static void test_timestamps(void)
{
    int64_t us = 0;
    char buf[CALLS_TS_MAX];

    KVT_EQ_INT(kv_parse_rfc3339("1970-01-01T00:00:00Z", &us), 0, "ts: the epoch parses");
    KVT_EQ_INT(us, 0, "ts: the epoch is 0 us");
    KVT_EQ_INT(kv_parse_rfc3339("2026-03-10T14:05:00+01:00", &us), 0, "ts: a positive offset parses");
    kv_format_rfc3339(us, buf);
    KVT_EQ_STR(buf, "2026-03-10T13:05:00.000000Z", "ts: a positive offset is subtracted to get UTC");
    KVT_EQ_INT(kv_parse_rfc3339("2026-03-10T23:30:00-05:00", &us), 0, "ts: a negative offset parses");
    kv_format_rfc3339(us, buf);
    KVT_EQ_STR(buf, "2026-03-11T04:30:00.000000Z", "ts: a negative offset crosses midnight into the next UTC day");
    KVT_EQ_INT(kv_parse_rfc3339("2026-03-10T14:05:00.123Z", &us), 0, "ts: milliseconds parse");
    kv_format_rfc3339(us, buf);
    KVT_EQ_STR(buf, "2026-03-10T14:05:00.123000Z", "ts: milliseconds are kept");
    KVT_EQ_INT(kv_parse_rfc3339("2026-03-10T14:05:00.123456789Z", &us), 0, "ts: nanoseconds parse");
    kv_format_rfc3339(us, buf);
    KVT_EQ_STR(buf, "2026-03-10T14:05:00.123456Z", "ts: digits past microseconds are dropped");
    KVT_EQ_INT(kv_parse_rfc3339("2024-02-29T00:00:00Z", &us), 0, "ts: 29 February of a leap year parses");
    KVT_EQ_INT(kv_parse_rfc3339("1969-12-31T23:59:59Z", &us), 0, "ts: before the epoch parses");
    KVT_EQ_INT(us, -1000000, "ts: one second before the epoch is -1e6 us");
    kv_format_rfc3339(-1, buf);
    KVT_EQ_STR(buf, "1969-12-31T23:59:59.999999Z", "ts: negative instants format correctly");

    static const char *const bad[] = {
        "2026-03-10T14:05:00",          /* no offset */
        "2026-03-10 14:05:00Z",         /* space instead of T */
        "2026-03-10t14:05:00Z",         /* lowercase t */
        "2026-03-10T14:05:00z",         /* lowercase z */
        "2026-03-10T14:05Z",            /* no seconds */
        "2026-3-10T14:05:00Z",          /* one-digit month */
        "2026-02-29T10:00:00Z",         /* not a leap year */
        "2026-04-31T10:00:00Z",         /* April has 30 days */
        "2026-13-01T10:00:00Z",         /* month 13 */
        "2026-03-10T24:00:00Z",         /* hour 24 */
        "2026-03-10T23:60:00Z",         /* minute 60 */
        "2026-03-10T23:59:60Z",         /* leap second */
        "2026-03-10T14:05:00+0100",     /* offset without colon */
        "2026-03-10T14:05:00+01",       /* offset without minutes */
        "2026-03-10T14:05:00+24:00",    /* offset hour 24 */
        "2026-03-10T14:05:00.Z",        /* empty fraction */
        "2026-03-10T14:05:00.1234567890Z", /* ten fraction digits */
        "2026-03-10T14:05:00Z ",        /* trailing space */
        "1899-12-31T23:59:59Z",         /* before 1900 */
        "yesterday",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        KVT_EQ_INT(kv_parse_rfc3339(bad[i], &us), -1, "ts: '%s' is refused", bad[i]);
    KVT_EQ_INT(kv_parse_rfc3339(NULL, &us), -1, "ts: NULL is refused");
}

/* ---- the call body ------------------------------------------------------ */

static void test_minimal_and_defaults(void)
{
    calls_input_t in;
    json_t *errs;
    KVT_EQ_INT(s_validate(NULL, &in, &errs), 0, "body: phone + started_at + duration is enough");
    KVT_EQ_INT(json_object_size(errs), 0, "body: a valid body adds no errors");
    KVT_EQ_STR(in.caller_phone, "+15550100001", "body: caller_phone is normalised");
    KVT_EQ_STR(in.direction, "inbound", "body: direction defaults to inbound");
    KVT_EQ_INT(in.duration_seconds, 42, "body: duration_seconds is taken as given");
    KVT_EQ_STR(in.started_at, "2026-03-10T14:00:00.000000Z", "body: started_at is canonical UTC");
    KVT_EQ_STR(in.ended_at, "2026-03-10T14:00:42.000000Z", "body: ended_at is started_at + duration");
    KVT_OK(in.outcome == NULL && in.sentiment == NULL && !in.has_quality && in.transcript == NULL,
           "body: optional fields default to absent");
    json_decref(errs);
    calls_input_cleanup(&in);

    int rc = s_validate("{\"duration_seconds\":null,\"ended_at\":\"2026-03-10T15:00:14.900+01:00\"}",
                        &in, &errs);
    KVT_EQ_INT(rc, 0, "body: ended_at alone is enough");
    KVT_EQ_INT(in.duration_seconds, 14, "body: duration from ended_at is rounded down (14.9 s -> 14)");
    json_decref(errs);
    calls_input_cleanup(&in);

    rc = s_validate("{\"ended_at\":\"2026-03-10T14:00:43Z\"}", &in, &errs);
    KVT_EQ_INT(rc, 0, "body: ended_at and duration agreeing within 1 s are accepted");
    KVT_EQ_INT(in.duration_seconds, 42, "body: a given duration is kept when ended_at agrees");
    json_decref(errs);
    calls_input_cleanup(&in);

    KVT_OK(s_accepted("{\"caller_name\":null,\"sentiment\":null,\"transcript\":null}"),
           "body: null optional fields count as absent");
    KVT_OK(s_accepted("{\"direction\":\"outbound\",\"outcome\":\"booked\",\"sentiment\":\"negative\","
                      "\"quality_score\":0,\"summary\":\"Booked a cut.\",\"external_id\":\"CA123\","
                      "\"recording_url\":\"https://rec.example.com/a.mp3\",\"caller_name\":\"Ana\"}"),
           "body: every optional field with a valid value is accepted");
    KVT_OK(s_accepted("{\"quality_score\":100}"), "body: quality_score 100 is accepted");
    KVT_OK(s_accepted("{\"duration_seconds\":0}"), "body: a 0 s call is accepted");
    KVT_OK(s_accepted("{\"duration_seconds\":86400}"), "body: a one-day call is accepted");
}

static void test_refusals(void)
{
    calls_input_t in;
    json_t *errs = json_object();
    json_t *arr = json_array();
    KVT_EQ_INT(calls_validate(arr, S_NOW, &in, errs), -1, "body: a list instead of an object is refused");
    KVT_OK(json_object_get(errs, "body") != NULL, "body: a non-object body is reported under body");
    json_decref(arr);
    json_decref(errs);
    errs = json_object();
    KVT_EQ_INT(calls_validate(NULL, S_NOW, &in, errs), -1, "body: no body is refused");
    json_decref(errs);

    KVT_OK(s_refused("{\"caller_phone\":null}", "caller_phone"), "caller_phone is required");
    KVT_OK(s_refused("{\"caller_phone\":\"12ab\"}", "caller_phone"), "caller_phone must be a phone number");
    KVT_OK(s_refused("{\"caller_phone\":5550100}", "caller_phone"), "caller_phone must be a string");
    KVT_OK(s_refused("{\"started_at\":null}", "started_at"), "started_at is required");
    KVT_OK(s_refused("{\"started_at\":\"2026-03-10 14:00:00\"}", "started_at"),
           "started_at without T and offset is refused");
    KVT_OK(s_refused("{\"started_at\":\"2026-03-10T14:00:00\"}", "started_at"),
           "started_at without an offset is refused");
    KVT_OK(s_refused("{\"ended_at\":\"not a time\",\"duration_seconds\":null}", "ended_at"),
           "a malformed ended_at is refused");
    KVT_OK(s_refused("{\"duration_seconds\":null}", "duration_seconds"),
           "one of ended_at and duration_seconds is required");
    KVT_OK(s_refused("{\"duration_seconds\":null,\"ended_at\":\"2026-03-10T13:59:59Z\"}", "ended_at"),
           "ended_at before started_at is refused");
    KVT_OK(s_refused("{\"duration_seconds\":null,\"ended_at\":\"2026-03-12T14:00:01Z\"}", "ended_at"),
           "a call longer than a day is refused");
    KVT_OK(s_refused("{\"ended_at\":\"2026-03-10T14:00:44Z\"}", "duration_seconds"),
           "ended_at and duration disagreeing by 2 s are refused");
    KVT_OK(s_refused("{\"duration_seconds\":-1}", "duration_seconds"), "a negative duration is refused");
    KVT_OK(s_refused("{\"duration_seconds\":86401}", "duration_seconds"), "a duration over a day is refused");
    KVT_OK(s_refused("{\"duration_seconds\":14.5}", "duration_seconds"), "a fractional duration is refused");
    KVT_OK(s_refused("{\"duration_seconds\":\"42\"}", "duration_seconds"), "a string duration is refused");
    KVT_OK(s_refused("{\"direction\":\"sideways\"}", "direction"), "an unknown direction is refused");
    KVT_OK(s_refused("{\"outcome\":\"great\"}", "outcome"), "an unknown outcome is refused");
    KVT_OK(s_refused("{\"sentiment\":\"happy\"}", "sentiment"), "an unknown sentiment is refused");
    KVT_OK(s_refused("{\"sentiment\":\"Positive\"}", "sentiment"), "sentiment is case-sensitive");
    KVT_OK(s_refused("{\"quality_score\":101}", "quality_score"), "quality_score above 100 is refused");
    KVT_OK(s_refused("{\"quality_score\":-1}", "quality_score"), "quality_score below 0 is refused");
    KVT_OK(s_refused("{\"quality_score\":7.5}", "quality_score"), "a fractional quality_score is refused");
    KVT_OK(s_refused("{\"recording_url\":\"ftp://x.example/a.mp3\"}", "recording_url"),
           "a non-http recording_url is refused");
    KVT_OK(s_refused("{\"recording_url\":\"https://\"}", "recording_url"),
           "a recording_url without host is refused");
    KVT_OK(s_refused("{\"recording_url\":\"https://a.example/x y\"}", "recording_url"),
           "a recording_url with a space is refused");
    KVT_OK(s_refused("{\"external_id\":\"\"}", "external_id"), "an empty external_id is refused");
    char big[200];
    memset(big, 'x', 129);
    big[129] = '\0';
    char body[300];
    snprintf(body, sizeof body, "{\"external_id\":\"%s\"}", big);
    KVT_OK(s_refused(body, "external_id"), "an external_id over 128 bytes is refused");
    big[128] = '\0';
    snprintf(body, sizeof body, "{\"external_id\":\"%s\"}", big);
    KVT_OK(s_accepted(body), "an external_id of 128 bytes is accepted");
    KVT_OK(s_refused("{\"caller_name\":\"a\\u0001b\"}", "caller_name"),
           "a caller_name with a control character is refused");
    KVT_OK(s_refused("{\"missed\":true}", "missed"), "missed is derived, not accepted from the client");
    KVT_OK(s_refused("{\"foo\":1}", "foo"), "an unknown field is refused under its own name");

    /* A long unknown key of two-byte characters: its error key is cut on a
     * character boundary, so the error list can hold it. */
    char longkey[128] = "";
    for (int i = 0; i < 40; i++)
        strcat(longkey, "\xc3\xa9");   /* e-acute, 80 bytes in all */
    json_t *b = s_body(NULL);
    json_object_set_new(b, longkey, json_true());
    errs = json_object();
    KVT_EQ_INT(calls_validate(b, S_NOW, &in, errs), -1, "a long multibyte unknown key is refused");
    calls_input_cleanup(&in);
    const char *ek = NULL;
    json_t *ev;
    json_object_foreach(errs, ek, ev) break;
    KVT_OK(json_object_size(errs) == 1 && ek && strlen(ek) == 62,
           "a long multibyte unknown key is reported cut to whole characters");
    json_decref(errs);
    json_decref(b);
}

static void test_transcript(void)
{
    calls_input_t in;
    json_t *errs;
    int rc = s_validate("{\"transcript\":[{\"speaker\":\"agent\",\"text\":\"Hello\",\"offset_seconds\":0},"
                        "{\"speaker\":\"caller\",\"text\":\"Hi\",\"offset_seconds\":1.5}]}",
                        &in, &errs);
    KVT_EQ_INT(rc, 0, "transcript: a list of valid turns is accepted");
    json_decref(errs);
    calls_input_cleanup(&in);
    KVT_OK(s_accepted("{\"transcript\":[]}"), "transcript: an empty list is accepted");
    KVT_OK(s_accepted("{\"transcript\":[{\"speaker\":\"caller\",\"text\":\"bye\",\"offset_seconds\":43}]}"),
           "transcript: an offset up to 1 s past the end is tolerated");

    KVT_OK(s_refused("{\"transcript\":\"hello\"}", "transcript"), "transcript: a string is refused");
    KVT_OK(s_refused("{\"transcript\":{\"speaker\":\"agent\"}}", "transcript"),
           "transcript: an object instead of a list is refused");
    KVT_OK(s_refused("{\"transcript\":[\"hello\"]}", "transcript"),
           "transcript: a turn that is not an object is refused");
    KVT_OK(s_refused("{\"transcript\":[{\"speaker\":\"bot\",\"text\":\"x\",\"offset_seconds\":0}]}",
                     "transcript"), "transcript: an unknown speaker is refused");
    KVT_OK(s_refused("{\"transcript\":[{\"speaker\":\"agent\",\"offset_seconds\":0}]}", "transcript"),
           "transcript: a turn without text is refused");
    KVT_OK(s_refused("{\"transcript\":[{\"speaker\":\"agent\",\"text\":5,\"offset_seconds\":0}]}",
                     "transcript"), "transcript: non-string text is refused");
    KVT_OK(s_refused("{\"transcript\":[{\"speaker\":\"agent\",\"text\":\"x\"}]}", "transcript"),
           "transcript: a turn without offset_seconds is refused");
    KVT_OK(s_refused("{\"transcript\":[{\"speaker\":\"agent\",\"text\":\"x\",\"offset_seconds\":-0.5}]}",
                     "transcript"), "transcript: a negative offset is refused");
    KVT_OK(s_refused("{\"transcript\":[{\"speaker\":\"agent\",\"text\":\"x\",\"offset_seconds\":\"3\"}]}",
                     "transcript"), "transcript: a string offset is refused");
    KVT_OK(s_refused("{\"transcript\":[{\"speaker\":\"agent\",\"text\":\"x\",\"offset_seconds\":44}]}",
                     "transcript"), "transcript: an offset after the end of the call is refused");
    KVT_OK(s_refused("{\"transcript\":[{\"speaker\":\"agent\",\"text\":\"x\",\"offset_seconds\":1,\"mood\":1}]}",
                     "transcript"), "transcript: an unknown key in a turn is refused");
}

/* The first message under field of validating extra, or "" (static copy). */
static const char *s_msg(const char *extra, const char *field)
{
    static char buf[512];
    calls_input_t in;
    json_t *errs;
    s_validate(extra, &in, &errs);
    const char *m = json_string_value(json_array_get(json_object_get(errs, field), 0));
    snprintf(buf, sizeof buf, "%s", m ? m : "");
    json_decref(errs);
    calls_input_cleanup(&in);
    return buf;
}

/* A JSON string literal of n copies of the UTF-8 character ch (with
 * quotes).  Caller frees. */
static char *s_repeat(const char *ch, size_t n)
{
    size_t len = strlen(ch);
    char *s = malloc(n * len + 3);
    s[0] = '"';
    for (size_t i = 0; i < n; i++)
        memcpy(s + 1 + i * len, ch, len);
    s[1 + n * len] = '"';
    s[2 + n * len] = '\0';
    return s;
}

/* Issue 9: a call that starts or ends in the future is refused (5 minutes
 * of clock skew tolerated); text limits count characters, not bytes; the
 * transcript is capped in turns, per turn and in all. */
static void test_issue9_rules(void)
{
    /* S_NOW is 2026-03-12T00:00:00Z */
    KVT_OK(s_refused("{\"started_at\":\"2026-03-12T00:10:00Z\",\"duration_seconds\":0}",
                     "started_at"), "future: a call starting 10 minutes from now is refused");
    KVT_EQ_STR(s_msg("{\"started_at\":\"2026-03-13T00:00:00Z\"}", "started_at"),
               "The started_at may not be in the future (more than 300 seconds after the "
               "server's clock).", "future: the started_at message names the tolerance");
    KVT_OK(s_accepted("{\"started_at\":\"2026-03-12T00:04:00Z\",\"duration_seconds\":0}"),
           "future: 4 minutes ahead is within the clock-skew tolerance");
    KVT_OK(s_accepted("{\"started_at\":\"2026-03-12T01:04:00+01:00\",\"duration_seconds\":30}"),
           "future: the tolerance applies to the instant, whatever the offset");
    KVT_OK(s_refused("{\"started_at\":\"2026-03-11T23:59:00Z\",\"duration_seconds\":600}",
                     "duration_seconds"),
           "future: a duration that makes the call end 9 minutes from now is refused");
    KVT_OK(s_refused("{\"duration_seconds\":null,\"started_at\":\"2026-03-11T23:00:00Z\","
                     "\"ended_at\":\"2026-03-12T00:06:00Z\"}", "ended_at"),
           "future: an ended_at 6 minutes from now is refused");
    KVT_OK(s_accepted("{\"duration_seconds\":null,\"started_at\":\"2026-03-11T23:00:00Z\","
                      "\"ended_at\":\"2026-03-12T00:05:00Z\"}"),
           "future: an ended_at exactly 5 minutes from now is accepted");

    KVT_EQ_STR(s_msg("{\"foo\":1}", "foo"), "The foo field is not allowed.",
               "unknown fields: the message every service gives");
    KVT_EQ_STR(s_msg("{\"quality_score\":\"7\"}", "quality_score"),
               "The quality_score must be an integer.", "a quality_score given as a string is refused");
    KVT_EQ_STR(s_msg("{\"quality_score\":101}", "quality_score"),
               "The quality_score may not be greater than 100.", "quality_score above 100: its true message");
    KVT_EQ_STR(s_msg("{\"caller_phone\":\"12ab\"}", "caller_phone"),
               "The caller_phone format is invalid: use 7 to 15 digits, optionally after a "
               "leading + (spaces, dashes, dots and brackets are ignored).",
               "caller_phone: the phone message crm gives");
    KVT_OK(s_refused("{\"external_id\":\"CA\\n1\"}", "external_id"),
           "an external_id with a line break is refused");

    char body[64 * 1024];
    char *name = s_repeat("\xc3\xa9", 200);   /* 200 characters, 400 bytes */
    snprintf(body, sizeof body, "{\"caller_name\":%s}", name);
    KVT_OK(s_accepted(body), "caller_name: 200 characters (400 bytes) are accepted");
    free(name);
    name = s_repeat("a", 201);
    snprintf(body, sizeof body, "{\"caller_name\":%s}", name);
    KVT_EQ_STR(s_msg(body, "caller_name"), "The caller_name may not be greater than 200 characters.",
               "caller_name: 201 characters are refused like a customer's name");
    free(name);
    KVT_OK(s_refused("{\"caller_name\":\"Ana\\nBell\"}", "caller_name"),
           "caller_name: a line break is refused (one line, like a customer's name)");

    char *sum = s_repeat("\xc3\xa9", KV_CALL_SUMMARY_MAX);
    char *big = malloc(strlen(sum) + 64);
    sprintf(big, "{\"summary\":%s}", sum);
    KVT_OK(s_accepted(big), "summary: 20,000 two-byte characters are accepted (the limit counts "
           "characters)");
    free(sum);
    free(big);
    sum = s_repeat("a", KV_CALL_SUMMARY_MAX + 1);
    big = malloc(strlen(sum) + 64);
    sprintf(big, "{\"summary\":%s}", sum);
    KVT_OK(s_refused(big, "summary"), "summary: 20,001 characters are refused");
    free(sum);
    free(big);
    KVT_OK(s_accepted("{\"summary\":\"Line 1\\nLine 2\\tend\\r\\n\"}"),
           "summary: line breaks and tabs are allowed");
    KVT_EQ_STR(s_msg("{\"summary\":\"bell\\u0007\"}", "summary"),
               "The summary may not contain control characters other than tab and line breaks.",
               "summary: other control characters are refused");

    /* a turn at the per-turn limit, in characters */
    char *turn = s_repeat("\xc3\xa9", KV_CALL_TURN_TEXT_MAX);
    big = malloc(strlen(turn) + 256);
    sprintf(big, "{\"transcript\":[{\"speaker\":\"agent\",\"text\":%s,\"offset_seconds\":0}]}",
            turn);
    KVT_OK(s_accepted(big), "transcript: a turn of 10,000 two-byte characters is accepted");
    free(turn);
    free(big);
    turn = s_repeat("a", KV_CALL_TURN_TEXT_MAX + 1);
    big = malloc(strlen(turn) + 256);
    sprintf(big, "{\"transcript\":[{\"speaker\":\"agent\",\"text\":\"ok\",\"offset_seconds\":0},"
            "{\"speaker\":\"caller\",\"text\":%s,\"offset_seconds\":1}]}", turn);
    KVT_EQ_STR(s_msg(big, "transcript"), "Turn 1: The text may not be greater than 10000 characters.",
               "transcript: an over-long turn is named by its index, with the shared message");
    free(turn);
    free(big);
    KVT_EQ_STR(s_msg("{\"transcript\":[{\"speaker\":\"agent\",\"text\":\"x\\u0001\","
                     "\"offset_seconds\":0}]}", "transcript"),
               "Turn 0: The text may not contain control characters other than tab and line breaks.",
               "transcript: control characters in a turn are refused");

    /* the whole transcript: at most 500,000 characters of text */
    size_t nturns = KV_CALL_TRANSCRIPT_TEXT_MAX / KV_CALL_TURN_TEXT_MAX;   /* 50 */
    turn = s_repeat("a", KV_CALL_TURN_TEXT_MAX);
    big = malloc((nturns + 1) * (strlen(turn) + 64) + 64);
    for (int extra = 0; extra <= 1; extra++) {
        size_t len = (size_t)sprintf(big, "{\"duration_seconds\":3600,\"transcript\":[");
        for (size_t i = 0; i < nturns + (size_t)extra; i++)
            len += (size_t)sprintf(big + len, "%s{\"speaker\":\"agent\",\"text\":%s,"
                                   "\"offset_seconds\":%zu}", i ? "," : "", turn, i);
        sprintf(big + len, "]}");
        if (!extra)
            KVT_OK(s_accepted(big), "transcript: 500,000 characters of text in all are accepted");
        else
            KVT_EQ_STR(s_msg(big, "transcript"), "The transcript may not hold more than 500000 "
                       "characters of text in all its turns.",
                       "transcript: 500,001+ characters of text in all are refused");
    }
    free(turn);
    free(big);
}

/* ---- list filters ------------------------------------------------------- */

/* Parses query_json into *f; true when it succeeds (bad_field NULL) or
 * fails with a message under bad_field.  The query is freed: only f's
 * missed flag and the NULL-ness of its pointers stay meaningful. */
static int s_filter(const char *query_json, calls_filter_t *f, const char *bad_field)
{
    json_t *q = json_loads(query_json, 0, NULL);
    json_t *errs = json_object();
    int rc = calls_filter_parse(q, f, errs);
    int ok = bad_field ? (rc == -1 && json_object_get(errs, bad_field) != NULL) : rc == 0;
    json_decref(errs);
    json_decref(q);
    return ok;
}

static void test_filters(void)
{
    calls_filter_t f;
    KVT_OK(s_filter("{}", &f, NULL) && f.missed == -1 && !f.sentiment && !f.from_date[0] &&
           !f.to_date[0], "filters: none given means no filter");
    KVT_OK(s_filter("{\"missed\":\"true\"}", &f, NULL) && f.missed == 1, "filters: missed=true");
    KVT_OK(s_filter("{\"missed\":\"false\"}", &f, NULL) && f.missed == 0, "filters: missed=false");
    KVT_OK(s_filter("{\"missed\":\"1\"}", &f, NULL) && f.missed == 1, "filters: missed=1 is true");
    KVT_OK(s_filter("{\"missed\":\"0\"}", &f, NULL) && f.missed == 0, "filters: missed=0 is false");
    KVT_OK(s_filter("{\"missed\":\"yes\"}", &f, "missed"), "filters: missed=yes is refused");
    KVT_OK(s_filter("{\"missed\":\"\"}", &f, NULL) && f.missed == -1,
           "filters: an empty missed means no filter (like every empty filter)");
    KVT_OK(s_filter("{\"missed\":\"TRUE\"}", &f, "missed"), "filters: missed is case-sensitive");
    KVT_OK(s_filter("{\"sentiment\":\"neutral\"}", &f, NULL) && f.sentiment != NULL,
           "filters: a known sentiment");
    KVT_OK(s_filter("{\"sentiment\":\"angry\"}", &f, "sentiment"), "filters: an unknown sentiment is refused");
    json_t *q = json_pack("{s:s,s:s}", "from_date", "2026-03-01", "to_date", "2026-03-31");
    json_t *errs = json_object();
    KVT_EQ_INT(calls_filter_parse(q, &f, errs), 0, "filters: a date range is accepted");
    KVT_EQ_STR(f.from_date, "2026-03-01", "filters: from_date is passed on");
    KVT_EQ_STR(f.to_date, "2026-03-31", "filters: to_date is passed on");
    json_decref(errs);
    json_decref(q);
    KVT_OK(s_filter("{\"from_date\":\"2026-03-10\",\"to_date\":\"2026-03-10\"}", &f, NULL),
           "filters: from_date equal to to_date is one day");
    KVT_OK(s_filter("{\"from_date\":\"2026-03-11\",\"to_date\":\"2026-03-10\"}", &f, "to_date"),
           "filters: to_date before from_date is refused");
    KVT_OK(s_filter("{\"from_date\":\"2026-02-30\"}", &f, "from_date"), "filters: an impossible date is refused");
    KVT_OK(s_filter("{\"to_date\":\"10/03/2026\"}", &f, "to_date"), "filters: a non Y-m-d date is refused");
}

int main(void)
{
    test_timestamps();
    test_minimal_and_defaults();
    test_refusals();
    test_transcript();
    test_issue9_rules();
    test_filters();
    {
        /* GET /calls/stats: both dates, in order, at most 366 days */
        calls_stats_query_t sq;
        json_t *e = json_object();
        json_t *q = json_pack("{ssss}", "from_date", "2025-01-01", "to_date", "2026-01-01");
        KVT_EQ_INT(calls_stats_parse(q, &sq, e), 0, "stats: 366 days are allowed");
        KVT_EQ_STR(sq.to_date, "2026-01-01", "stats: the dates are kept");
        json_decref(q);
        q = json_pack("{ssss}", "from_date", "2025-01-01", "to_date", "2026-01-02");
        KVT_OK(calls_stats_parse(q, &sq, e) == -1 && json_object_get(e, "to_date"),
               "stats: 367 days are refused under to_date");
        json_decref(q);
        json_object_clear(e);
        q = json_pack("{ssss}", "from_date", "2025-01-02", "to_date", "2025-01-01");
        KVT_OK(calls_stats_parse(q, &sq, e) == -1 && json_object_get(e, "to_date"),
               "stats: to_date before from_date is refused");
        json_decref(q);
        json_object_clear(e);
        q = json_pack("{ss}", "to_date", "2025-01-01");
        KVT_OK(calls_stats_parse(q, &sq, e) == -1 && json_object_get(e, "from_date"),
               "stats: from_date is required");
        json_decref(q);
        json_object_clear(e);
        q = json_pack("{ssss}", "from_date", "2025-01-01", "to_date", "2025-01-01");
        KVT_EQ_INT(calls_stats_parse(q, &sq, e), 0, "stats: one day is allowed");
        json_decref(q);
        json_decref(e);
    }
    return kvt_done();
}
