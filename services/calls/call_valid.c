/*
 * call_valid.c -- pure validation of a logged call and of the list filters
 * (see call_valid.h for the rules).
 *
 * Timestamps are parsed here, strictly, rather than by PostgreSQL: its
 * timestamptz input accepts far more than ISO 8601 (words, missing offsets
 * read in the session's zone), and a call logged without an offset would be
 * silently misplaced.  The parsed instants are handed to SQL in one
 * canonical UTC form.  Nothing here does I/O; jansson error lists are the
 * only allocations.
 */
#include "call_valid.h"

#include <stdio.h>
#include <string.h>

#include "kv_api.h"
#include "kv_valid.h"

#define US_PER_SEC 1000000LL

static int s_digit(char c) { return c >= '0' && c <= '9'; }

/* Reads exactly n digits at s into *out; 0 or -1. */
static int s_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!s_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t s_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void s_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int s_days_in_month(int y, int m)
{
    static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

int calls_parse_ts(const char *s, int64_t *us)
{
    int y, mo, d, h, mi, sec;
    if (!s || strlen(s) < 20)
        return -1;
    if (s_digits(s, 4, &y) || s[4] != '-' || s_digits(s + 5, 2, &mo) || s[7] != '-' ||
        s_digits(s + 8, 2, &d) || s[10] != 'T' || s_digits(s + 11, 2, &h) ||
        s[13] != ':' || s_digits(s + 14, 2, &mi) || s[16] != ':' ||
        s_digits(s + 17, 2, &sec))
        return -1;
    if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > s_days_in_month(y, mo) ||
        h > 23 || mi > 59 || sec > 59)
        return -1;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (s_digit(*p)) {
            if (n < 6)
                frac = frac * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n < 1 || n > 9)
            return -1;
        for (int i = n; i < 6; i++)
            frac *= 10;
    }
    int off = 0;   /* seconds east of UTC */
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (s_digits(p + 1, 2, &oh) || p[3] != ':' || s_digits(p + 4, 2, &om) ||
            oh > 23 || om > 59)
            return -1;
        off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    int64_t secs = s_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    *us = secs * US_PER_SEC + frac;
    return 0;
}

void calls_format_ts(int64_t us, char buf[CALLS_TS_MAX])
{
    int64_t secs = us / US_PER_SEC, frac = us % US_PER_SEC;
    if (frac < 0) {
        frac += US_PER_SEC;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int y, m, d;
    s_civil_from_days(days, &y, &m, &d);
    snprintf(buf, CALLS_TS_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", y, m, d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (long long)frac);
}

int calls_valid_url(const char *s)
{
    if (!s)
        return -1;
    size_t len = strlen(s);
    if (len > CALLS_MAX_URL)
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
    return kv_valid_text(s, CALLS_MAX_URL) ? 0 : -1;
}

static const char *const s_directions[] = { "inbound", "outbound", NULL };
static const char *const s_outcomes[] = { "booked", "answered", "voicemail", "transferred",
                                          "missed", "abandoned", NULL };
static const char *const s_sentiments[] = { "positive", "neutral", "negative", NULL };

/* The optional string body[key]: 1 absent or null (*out = NULL), 0 a
 * string, -1 another type (message added). */
static int s_opt_str(json_t *body, const char *key, const char **out, json_t *errors)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_string(v)) {
        char msg[96];
        snprintf(msg, sizeof msg, "The %s must be a string.", key);
        kv_errors_add(errors, key, msg);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* An optional free-text field of at most max bytes. */
static void s_text(json_t *body, const char *key, size_t max, const char **out, json_t *errors)
{
    if (s_opt_str(body, key, out, errors) != 0)
        return;
    if (!kv_valid_text(*out, max)) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "The %s must be valid UTF-8 text of at most %zu bytes.", key, max);
        kv_errors_add(errors, key, msg);
        *out = NULL;
    }
}

/* An optional enumerated string field. */
static void s_enum(json_t *body, const char *key, const char *const *set, const char *what,
                   const char **out, json_t *errors)
{
    const char *v;
    if (s_opt_str(body, key, &v, errors) != 0)
        return;
    *out = kv_pick(set, v);
    if (!*out) {
        char msg[160];
        snprintf(msg, sizeof msg, "The %s must be one of: %s.", key, what);
        kv_errors_add(errors, key, msg);
    }
}

/* An optional timestamp; 1 absent, 0 parsed, -1 invalid (message added). */
static int s_ts(json_t *body, const char *key, int64_t *us, json_t *errors)
{
    const char *v;
    int rc = s_opt_str(body, key, &v, errors);
    if (rc != 0)
        return rc;
    if (calls_parse_ts(v, us) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "The %s must be an ISO 8601 date-time with a UTC offset "
                 "(e.g. 2026-03-10T14:05:00+01:00).", key);
        kv_errors_add(errors, key, msg);
        return -1;
    }
    return 0;
}

/* An optional integer in [min, max]; 1 absent, 0 valid, -1 invalid. */
static int s_int(json_t *body, const char *key, int min, int max, int *out, json_t *errors)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        char msg[128];
        snprintf(msg, sizeof msg, "The %s must be an integer between %d and %d.", key, min, max);
        kv_errors_add(errors, key, msg);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

static void s_turn_error(json_t *errors, size_t i, const char *what)
{
    char msg[192];
    snprintf(msg, sizeof msg, "Turn %zu: %s", i, what);
    kv_errors_add(errors, "transcript", msg);
}

/* Checks the transcript list.  max_offset is the latest offset a turn may
 * have (the call's duration + 1 s), or -1 when the duration is unknown
 * because of another error. */
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
    if (json_array_size(t) > CALLS_MAX_TURNS) {
        char msg[96];
        snprintf(msg, sizeof msg, "The transcript may not have more than %d turns.",
                 CALLS_MAX_TURNS);
        kv_errors_add(errors, "transcript", msg);
        return;
    }
    int bad = 0;
    size_t i;
    json_t *turn;
    json_array_foreach(t, i, turn) {
        if (bad >= 10)
            break;   /* enough to show the client what is wrong */
        if (!json_is_object(turn)) {
            s_turn_error(errors, i, "must be an object with speaker, text and offset_seconds.");
            bad++;
            continue;
        }
        const char *k;
        json_t *v;
        json_object_foreach(turn, k, v) {
            if (strcmp(k, "speaker") && strcmp(k, "text") && strcmp(k, "offset_seconds")) {
                char msg[128];
                snprintf(msg, sizeof msg, "unknown field '%.40s'.", k);
                s_turn_error(errors, i, msg);
                bad++;
            }
        }
        json_t *sp = json_object_get(turn, "speaker");
        if (!json_is_string(sp) || (strcmp(json_string_value(sp), "agent") &&
                                    strcmp(json_string_value(sp), "caller"))) {
            s_turn_error(errors, i, "speaker must be \"agent\" or \"caller\".");
            bad++;
        }
        json_t *tx = json_object_get(turn, "text");
        if (!json_is_string(tx) || !kv_valid_text(json_string_value(tx), CALLS_MAX_TURN_TEXT)) {
            s_turn_error(errors, i, "text must be valid UTF-8 text of at most 10000 bytes.");
            bad++;
        }
        json_t *off = json_object_get(turn, "offset_seconds");
        if (!json_is_number(off) || json_number_value(off) < 0 ||
            json_number_value(off) > CALLS_MAX_DURATION + 1) {
            s_turn_error(errors, i, "offset_seconds must be a number of seconds >= 0.");
            bad++;
        } else if (max_offset >= 0 && json_number_value(off) > max_offset) {
            s_turn_error(errors, i, "offset_seconds lies after the end of the call.");
            bad++;
        }
    }
    if (!bad)
        *out = t;
}

int calls_validate(json_t *body, calls_input_t *in, json_t *errors)
{
    size_t nerr0;
    memset(in, 0, sizeof *in);
    if (!json_is_object(body)) {
        kv_errors_add(errors, "body", "The request body must be a JSON object.");
        return -1;
    }
    nerr0 = json_object_size(errors);

    static const char *const known[] = {
        "caller_phone", "caller_name", "direction", "started_at", "ended_at",
        "duration_seconds", "outcome", "sentiment", "quality_score", "summary",
        "transcript", "recording_url", "external_id", NULL };
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val) {
        if (!kv_pick(known, key)) {
            /* The key names the error, cut to 63 bytes on a UTF-8
             * character boundary (jansson refuses invalid UTF-8 keys). */
            char field[64];
            size_t n = strlen(key);
            if (n > sizeof field - 1) {
                n = sizeof field - 1;
                while (n > 0 && ((unsigned char)key[n] & 0xC0) == 0x80)
                    n--;
            }
            memcpy(field, key, n);
            field[n] = '\0';
            kv_errors_add(errors, field, "This field is not allowed.");
        }
    }

    /* caller_phone */
    const char *phone;
    int rc = s_opt_str(body, "caller_phone", &phone, errors);
    if (rc == 1)
        kv_errors_add(errors, "caller_phone", "The caller_phone field is required.");
    else if (rc == 0 && kv_normalize_phone(phone, in->caller_phone) != 0)
        kv_errors_add(errors, "caller_phone",
                      "The caller_phone must be a phone number of 7 to 15 digits.");

    s_text(body, "caller_name", CALLS_MAX_NAME, &in->caller_name, errors);
    s_text(body, "summary", CALLS_MAX_SUMMARY, &in->summary, errors);

    in->direction = s_directions[0];
    s_enum(body, "direction", s_directions, "inbound, outbound", &in->direction, errors);
    if (!in->direction)
        in->direction = s_directions[0];
    s_enum(body, "outcome", s_outcomes,
           "booked, answered, voicemail, transferred, missed, abandoned", &in->outcome, errors);
    s_enum(body, "sentiment", s_sentiments, "positive, neutral, negative", &in->sentiment,
           errors);

    if (s_int(body, "quality_score", 0, 100, &in->quality_score, errors) == 0)
        in->has_quality = 1;

    if (s_opt_str(body, "recording_url", &in->recording_url, errors) == 0 &&
        calls_valid_url(in->recording_url) != 0) {
        kv_errors_add(errors, "recording_url",
                      "The recording_url must be an http:// or https:// URL of at most 2048 bytes.");
        in->recording_url = NULL;
    }
    if (s_opt_str(body, "external_id", &in->external_id, errors) == 0 &&
        (in->external_id[0] == '\0' ||
         !kv_valid_text(in->external_id, CALLS_MAX_EXTERNAL_ID))) {
        kv_errors_add(errors, "external_id",
                      "The external_id must be a non-empty string of at most 128 bytes.");
        in->external_id = NULL;
    }

    /* started_at, ended_at, duration_seconds and their consistency */
    int have_times = 1;
    int src = s_ts(body, "started_at", &in->started_us, errors);
    if (src == 1)
        kv_errors_add(errors, "started_at", "The started_at field is required.");
    if (src != 0)
        have_times = 0;
    int erc = s_ts(body, "ended_at", &in->ended_us, errors);
    int drc = s_int(body, "duration_seconds", 0, CALLS_MAX_DURATION,
                    &in->duration_seconds, errors);
    if (erc == 1 && drc == 1) {
        kv_errors_add(errors, "duration_seconds",
                      "The duration_seconds field is required when ended_at is not present.");
        have_times = 0;
    }
    if (erc < 0 || drc < 0)
        have_times = 0;
    if (have_times) {
        if (erc == 0) {
            int64_t span = in->ended_us - in->started_us;
            if (span < 0) {
                kv_errors_add(errors, "ended_at",
                              "The ended_at must be a date-time after or equal to started_at.");
                have_times = 0;
            } else if (span / US_PER_SEC > CALLS_MAX_DURATION) {
                kv_errors_add(errors, "ended_at",
                              "A call may not last longer than 86400 seconds.");
                have_times = 0;
            } else if (drc == 0) {
                int64_t diff = span - (int64_t)in->duration_seconds * US_PER_SEC;
                if (diff > US_PER_SEC || diff < -US_PER_SEC) {
                    kv_errors_add(errors, "duration_seconds",
                                  "The duration_seconds does not match started_at and "
                                  "ended_at (they must agree within 1 second).");
                    have_times = 0;
                }
            } else {
                in->duration_seconds = (int)(span / US_PER_SEC);
            }
        } else {
            in->ended_us = in->started_us + (int64_t)in->duration_seconds * US_PER_SEC;
        }
    }
    if (have_times) {
        calls_format_ts(in->started_us, in->started_at);
        calls_format_ts(in->ended_us, in->ended_at);
    }

    s_transcript(body, have_times ? in->duration_seconds + 1.0 : -1.0, &in->transcript, errors);

    return json_object_size(errors) == nerr0 ? 0 : -1;
}

int calls_filter_parse(json_t *query, calls_filter_t *f, json_t *errors)
{
    size_t nerr0 = json_object_size(errors);
    memset(f, 0, sizeof *f);
    f->missed = -1;

    const char *s = kv_query_str(query, "sentiment");
    if (s) {
        f->sentiment = kv_pick(s_sentiments, s);
        if (!f->sentiment)
            kv_errors_add(errors, "sentiment",
                          "The sentiment must be one of: positive, neutral, negative.");
    }
    s = kv_query_str(query, "missed");
    if (s) {
        if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
            f->missed = 1;
        else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
            f->missed = 0;
        else
            kv_errors_add(errors, "missed", "The missed field must be true or false.");
    }
    kv_date_t from, to;
    int have_from = 0, have_to = 0;
    s = kv_query_str(query, "from_date");
    if (s) {
        if (kv_parse_date(s, &from) == 0) {
            f->from_date = s;
            have_from = 1;
        } else {
            kv_errors_add(errors, "from_date", "The from_date must be a date in Y-m-d format.");
        }
    }
    s = kv_query_str(query, "to_date");
    if (s) {
        if (kv_parse_date(s, &to) == 0) {
            f->to_date = s;
            have_to = 1;
        } else {
            kv_errors_add(errors, "to_date", "The to_date must be a date in Y-m-d format.");
        }
    }
    if (have_from && have_to && kv_date_to_days(&to) < kv_date_to_days(&from))
        kv_errors_add(errors, "to_date", "The to_date must be a date after or equal to from_date.");
    return json_object_size(errors) == nerr0 ? 0 : -1;
}
