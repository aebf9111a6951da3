/*
 * call_valid.c -- pure validation of a logged call and of the list filters
 * (see call_valid.h for the rules).
 *
 * Timestamps are parsed here, strictly, rather than by PostgreSQL: its
 * timestamptz input accepts far more than ISO 8601 (words, missing offsets
 * read in the session's zone), and a call logged without an offset would be
 * silently misplaced.  The parsed instants are handed to SQL in one
 * canonical UTC form.  Every other field goes through the shared readers
 * of kv_valid.h (one rule, one message, in every service); a transcript
 * turn's problems are read into a scratch errors object and listed under
 * "transcript" as "Turn <i>: <message>".  Nothing here does I/O.
 */
#include "call_valid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_api.h"
#include "kv_valid.h"

#define US_PER_SEC 1000000LL

int calls_valid_url(const char *s)
{
    if (!s)
        return -1;
    size_t len = strlen(s);
    if (len > KV_CALL_URL_MAX)
        return -1;
    const char *host;
    if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else
        return -1;
    if (*host == '\0' || *host == '/' || *host == '?' || *host == '#' || *host == ':')
        return -1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return -1;
    return kv_valid_text(s, KV_CALL_URL_MAX) ? 0 : -1;
}

static const char *const s_directions[] = { "inbound", "outbound", NULL };
static const char *const s_outcomes[] = { "booked", "answered", "voicemail", "transferred",
                                          "missed", "abandoned", NULL };
static const char *const s_sentiments[] = { "positive", "neutral", "negative", NULL };
static const char *const s_speakers[] = { "agent", "caller", NULL };
static const char *const s_known[] = {
    "caller_phone", "caller_name", "direction", "started_at", "ended_at",
    "duration_seconds", "outcome", "sentiment", "quality_score", "summary",
    "transcript", "recording_url", "external_id", NULL };
static const char *const s_turn_known[] = { "speaker", "text", "offset_seconds", NULL };

static const kv_text_rule_t s_rule_summary = { 0, KV_CALL_SUMMARY_MAX, KV_TEXT_MULTILINE, 0 };
static const kv_text_rule_t s_rule_turn_text = { 0, KV_CALL_TURN_TEXT_MAX,
                                                 KV_TEXT_MULTILINE, 0 };
static const kv_text_rule_t s_rule_external_id = { 1, KV_CALL_EXTERNAL_ID_MAX, KV_TEXT_LINE,
                                                   0 };
static const kv_text_rule_t s_rule_url = { 1, KV_CALL_URL_MAX, KV_TEXT_LINE, 0 };

/* Problems of one transcript turn are listed under "transcript", at most
 * this many (enough to show the client what is wrong). */
#define S_TURN_ERRORS_MAX 10

/* An optional timestamp; KV_FIELD_ABSENT, _OK (*us set) or _BAD. */
static int s_ts(json_t *body, const char *key, kv_need_t need, int64_t *us, json_t *errors)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v)) {
        if (need != KV_REQUIRED)
            return KV_FIELD_ABSENT;
        char msg[96];
        snprintf(msg, sizeof msg, "The %s field is required.", key);
        kv_errors_add(errors, key, msg);
        return KV_FIELD_BAD;
    }
    if (!json_is_string(v) || kv_parse_rfc3339(json_string_value(v), us) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "The %s must be an ISO 8601 date-time with a UTC offset "
                 "(e.g. 2026-03-10T14:05:00+01:00).", key);
        kv_errors_add(errors, key, msg);
        return KV_FIELD_BAD;
    }
    return KV_FIELD_OK;
}

/* Moves every message of scratch (an errors object of one turn) under
 * errors["transcript"] as "Turn <i>: <message>".  Returns how many. */
static int s_turn_errors(json_t *scratch, size_t i, json_t *errors)
{
    int n = 0;
    const char *k;
    json_t *msgs;
    json_object_foreach(scratch, k, msgs) {
        size_t j;
        json_t *m;
        json_array_foreach(msgs, j, m) {
            char msg[512];
            snprintf(msg, sizeof msg, "Turn %zu: %s", i, json_string_value(m));
            kv_errors_add(errors, "transcript", msg);
            n++;
        }
    }
    json_object_clear(scratch);
    return n;
}

/* Checks the transcript list.  max_offset is the latest offset a turn may
 * have (the call's duration + 1 s), or -1 when the duration is unknown
 * because of another error.  On success *out is the list (borrowed). */
static void s_transcript(json_t *body, double max_offset, json_t **out, json_t *errors)
{
    json_t *t = json_object_get(body, "transcript");
    *out = NULL;
    if (!t || json_is_null(t))
        return;
    if (!json_is_array(t)) {
        kv_errors_add(errors, "transcript",
                      "The transcript must be a list of {\"speaker\",\"text\",\"offset_seconds\"} turns.");
        return;
    }
    if (json_array_size(t) > KV_CALL_TURNS_MAX) {
        char msg[96];
        snprintf(msg, sizeof msg, "The transcript may not have more than %d turns.",
                 KV_CALL_TURNS_MAX);
        kv_errors_add(errors, "transcript", msg);
        return;
    }
    json_t *scratch = json_object();
    int bad = 0;
    size_t total = 0;
    size_t i;
    json_t *turn;
    json_array_foreach(t, i, turn) {
        if (bad >= S_TURN_ERRORS_MAX)
            break;
        if (!json_is_object(turn)) {
            kv_errors_add(scratch, "turn",
                          "The turn must be an object with speaker, text and offset_seconds.");
            bad += s_turn_errors(scratch, i, errors);
            continue;
        }
        kv_read_known(turn, s_turn_known, scratch);
        const char *speaker;
        kv_read_enum(turn, "speaker", KV_REQUIRED, s_speakers, &speaker, scratch);
        char *text = NULL;
        if (kv_read_text(turn, "text", KV_REQUIRED, &s_rule_turn_text, &text, scratch) ==
            KV_FIELD_OK)
            total += kv_utf8_chars(text);
        free(text);
        double off;
        if (kv_read_number(turn, "offset_seconds", KV_REQUIRED, 0, CALLS_MAX_DURATION + 1,
                           &off, scratch) == KV_FIELD_OK && max_offset >= 0 && off > max_offset)
            kv_errors_add(scratch, "offset_seconds",
                          "The offset_seconds lies after the end of the call.");
        bad += s_turn_errors(scratch, i, errors);
    }
    json_decref(scratch);
    if (!bad && total > KV_CALL_TRANSCRIPT_TEXT_MAX) {
        char msg[128];
        snprintf(msg, sizeof msg, "The transcript may not hold more than %d characters of "
                 "text in all its turns.", KV_CALL_TRANSCRIPT_TEXT_MAX);
        kv_errors_add(errors, "transcript", msg);
        bad = 1;
    }
    if (!bad)
        *out = t;
}

/* started_at, ended_at, duration_seconds and their consistency, against
 * now_us.  Fills in's times when valid; returns 1 when the duration is
 * known (for the transcript's offsets), 0 otherwise. */
static int s_times(json_t *body, int64_t now_us, calls_input_t *in, json_t *errors)
{
    const int64_t latest = now_us + (int64_t)KV_CALL_CLOCK_SKEW_S * US_PER_SEC;
    int ok = 1;
    int src = s_ts(body, "started_at", KV_REQUIRED, &in->started_us, errors);
    int erc = s_ts(body, "ended_at", KV_OPTIONAL, &in->ended_us, errors);
    int64_t dur = 0;
    int drc = kv_read_int(body, "duration_seconds", KV_OPTIONAL, 0, CALLS_MAX_DURATION, &dur,
                          errors);
    in->duration_seconds = (int)dur;
    if (erc == KV_FIELD_ABSENT && drc == KV_FIELD_ABSENT) {
        kv_errors_add(errors, "duration_seconds",
                      "The duration_seconds field is required when ended_at is not present.");
        ok = 0;
    }
    if (src != KV_FIELD_OK || erc < 0 || drc < 0)
        ok = 0;
    if (src == KV_FIELD_OK && in->started_us > latest) {
        char msg[160];
        snprintf(msg, sizeof msg, "The started_at may not be in the future (more than %d "
                 "seconds after the server's clock).", KV_CALL_CLOCK_SKEW_S);
        kv_errors_add(errors, "started_at", msg);
        ok = 0;
    }
    if (!ok)
        return 0;
    if (erc == KV_FIELD_OK) {
        int64_t span = in->ended_us - in->started_us;
        if (span < 0) {
            kv_errors_add(errors, "ended_at",
                          "The ended_at must be a date-time after or equal to started_at.");
            return 0;
        }
        if (span / US_PER_SEC > CALLS_MAX_DURATION) {
            kv_errors_add(errors, "ended_at", "A call may not last longer than 86400 seconds.");
            return 0;
        }
        if (drc == KV_FIELD_OK) {
            int64_t diff = span - (int64_t)in->duration_seconds * US_PER_SEC;
            if (diff > US_PER_SEC || diff < -US_PER_SEC) {
                kv_errors_add(errors, "duration_seconds",
                              "The duration_seconds does not match started_at and "
                              "ended_at (they must agree within 1 second).");
                return 0;
            }
        } else {
            in->duration_seconds = (int)(span / US_PER_SEC);
        }
    } else {
        in->ended_us = in->started_us + (int64_t)in->duration_seconds * US_PER_SEC;
    }
    if (in->ended_us > latest) {
        char msg[200];
        snprintf(msg, sizeof msg, "The call may not end in the future: %s lies more than %d "
                 "seconds after the server's clock.",
                 erc == KV_FIELD_OK ? "ended_at" : "started_at + duration_seconds",
                 KV_CALL_CLOCK_SKEW_S);
        kv_errors_add(errors, erc == KV_FIELD_OK ? "ended_at" : "duration_seconds", msg);
        return 0;
    }
    kv_format_rfc3339(in->started_us, in->started_at);
    kv_format_rfc3339(in->ended_us, in->ended_at);
    return 1;
}

int calls_validate(json_t *body, int64_t now_us, calls_input_t *in, json_t *errors)
{
    memset(in, 0, sizeof *in);
    in->direction = s_directions[0];
    if (kv_read_object(body, errors) != 0)
        return -1;
    size_t nerr0 = json_object_size(errors);

    kv_read_known(body, s_known, errors);
    kv_read_phone(body, "caller_phone", KV_REQUIRED, in->caller_phone, errors);
    kv_read_text(body, "caller_name", KV_OPTIONAL, &kv_rule_person_name, &in->caller_name,
                 errors);
    kv_read_text(body, "summary", KV_OPTIONAL, &s_rule_summary, &in->summary, errors);
    kv_read_enum(body, "direction", KV_OPTIONAL, s_directions, &in->direction, errors);
    kv_read_enum(body, "outcome", KV_OPTIONAL, s_outcomes, &in->outcome, errors);
    kv_read_enum(body, "sentiment", KV_OPTIONAL, s_sentiments, &in->sentiment, errors);
    int64_t q;
    if (kv_read_int(body, "quality_score", KV_OPTIONAL, 0, 100, &q, errors) == KV_FIELD_OK) {
        in->has_quality = 1;
        in->quality_score = (int)q;
    }
    json_t *scratch = json_object();
    if (kv_read_text(body, "recording_url", KV_OPTIONAL, &s_rule_url, &in->recording_url,
                     scratch) == KV_FIELD_BAD ||
        (in->recording_url && calls_valid_url(in->recording_url) != 0)) {
        kv_errors_add(errors, "recording_url",
                      "The recording_url must be an http:// or https:// URL of at most 2048 "
                      "bytes.");
        free(in->recording_url);
        in->recording_url = NULL;
    }
    json_decref(scratch);
    kv_read_text(body, "external_id", KV_OPTIONAL, &s_rule_external_id, &in->external_id,
                 errors);

    int have_times = s_times(body, now_us, in, errors);
    s_transcript(body, have_times ? in->duration_seconds + 1.0 : -1.0, &in->transcript, errors);
    return json_object_size(errors) == nerr0 ? 0 : -1;
}

void calls_input_cleanup(calls_input_t *in)
{
    free(in->caller_name);
    free(in->summary);
    free(in->recording_url);
    free(in->external_id);
    in->caller_name = in->summary = in->recording_url = in->external_id = NULL;
}

int calls_filter_parse(json_t *query, calls_filter_t *f, json_t *errors)
{
    memset(f, 0, sizeof *f);
    f->missed = -1;
    int bad = kv_query_enum(query, "sentiment", KV_OPTIONAL, s_sentiments, &f->sentiment,
                            errors) < 0;
    bad |= kv_query_bool(query, "missed", KV_OPTIONAL, &f->missed, errors) < 0;
    kv_date_t from, to;
    int frc = kv_query_date(query, "from_date", KV_OPTIONAL, &from, errors);
    int trc = kv_query_date(query, "to_date", KV_OPTIONAL, &to, errors);
    bad |= frc < 0 || trc < 0;
    if (frc == KV_FIELD_OK)
        kv_format_date(&from, f->from_date);
    if (trc == KV_FIELD_OK)
        kv_format_date(&to, f->to_date);
    if (frc == KV_FIELD_OK && trc == KV_FIELD_OK && kv_date_to_days(&to) < kv_date_to_days(&from)) {
        kv_errors_add(errors, "to_date", "The to_date must be a date after or equal to from_date.");
        bad = 1;
    }
    return bad ? -1 : 0;
}

int calls_stats_parse(json_t *query, calls_stats_query_t *q, json_t *errors)
{
    memset(q, 0, sizeof *q);
    kv_date_t from, to;
    int frc = kv_query_date(query, "from_date", KV_REQUIRED, &from, errors);
    int trc = kv_query_date(query, "to_date", KV_REQUIRED, &to, errors);
    if (frc != KV_FIELD_OK || trc != KV_FIELD_OK)
        return -1;
    int64_t days = kv_date_to_days(&to) - kv_date_to_days(&from) + 1;
    if (days < 1) {
        kv_errors_add(errors, "to_date", "The to_date must be a date after or equal to from_date.");
        return -1;
    }
    if (days > KV_CALL_STATS_DAYS_MAX) {
        char msg[128];
        snprintf(msg, sizeof msg, "The range from from_date to to_date may cover at most %d "
                 "days.", KV_CALL_STATS_DAYS_MAX);
        kv_errors_add(errors, "to_date", msg);
        return -1;
    }
    kv_format_date(&from, q->from_date);
    kv_format_date(&to, q->to_date);
    return 0;
}
