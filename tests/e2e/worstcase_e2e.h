/*
 * worstcase_e2e.h -- helpers of the worst-case tests
 * (tests/e2e/test_worstcase_*.c): the largest legal data, built through
 * the API, listed back whole, and the answer's size held against the
 * bound proto/kv_sizes.h computes for it.
 *
 * "The costliest character" is a 4-byte UTF-8 character (U+1F300 and
 * after): jansson writes it as is, 4 bytes, the most any character the
 * API accepts costs in JSON ('"' and '\' take 2; control characters that
 * would take 6 are refused).  wc_chars(n, k) makes n of them, the first
 * one varied by k so that fields that must be unique (external_id) can be.
 * Header-only (static functions) so each test stays one binary.
 */
#ifndef WORSTCASE_E2E_H
#define WORSTCASE_E2E_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus_e2e.h"
#include "calls_e2e.h"
#include "webhooks_e2e.h"
#include "kv_sizes.h"

/* Writes code point cp (U+10000..U+10FFFF) as 4 bytes of UTF-8. */
static inline void wc_utf8_4(unsigned cp, char out[4])
{
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
}

/* n 4-byte characters, NUL-terminated: the first is U+1F300 + k, the rest
 * U+1F600.  Caller frees. */
static inline char *wc_chars(size_t n, unsigned k)
{
    char *s = malloc(4 * n + 1);
    for (size_t i = 0; i < n; i++)
        wc_utf8_4(i == 0 ? 0x1F300 + k : 0x1F600, s + 4 * i);
    s[4 * n] = '\0';
    return s;
}

/* The same as a JSON string value (new reference). */
static inline json_t *wc_text(size_t n, unsigned k)
{
    char *s = wc_chars(n, k);
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* A token of the longest legal length (source): [a-z][a-z0-9_]*, 32. */
#define WC_TOKEN "abcdefghijklmnopqrstuvwxyz012345"

/* The body of call number i of a tenant with every field at its longest
 * (new reference): 4-byte characters in every text (external_id's first
 * one varied by i: unique), a 2048-byte recording_url (RFC 3986
 * characters, which JSON never escapes), a day-long call that ended two
 * days ago, the longest enumerations and numbers; with_transcript adds the
 * longest transcript: 5000 turns of 100 characters (500,000 in all), the
 * longer speaker, and offsets whose shortest form is the longest a number
 * takes (21 characters). */
static inline json_t *wc_call_json(int i, int with_transcript)
{
    char started[32], ended[32], phone[20], url[KV_CALL_URL_MAX + 1];
    time_t t0 = time(NULL) - 3 * 86400, t1 = t0 + 86400;
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t0));
    strftime(ended, sizeof ended, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t1));
    snprintf(phone, sizeof phone, "+1555%010d", 1234567);   /* 15 digits, one caller */
    size_t p = (size_t)snprintf(url, sizeof url, "https://x/");
    for (; p + 3 <= KV_CALL_URL_MAX; p += 3)
        memcpy(url + p, "%22", 3);
    for (; p < KV_CALL_URL_MAX; p++)
        url[p] = 'a';
    url[KV_CALL_URL_MAX] = '\0';
    json_t *o = json_object();
    json_object_set_new(o, "external_id", wc_text(KV_CALL_EXTERNAL_ID_MAX, (unsigned)i));
    json_object_set_new(o, "caller_phone", json_string(phone));
    json_object_set_new(o, "caller_name", wc_text(KV_CALL_CALLER_NAME_MAX, 0));
    json_object_set_new(o, "direction", json_string("outbound"));
    json_object_set_new(o, "started_at", json_string(started));
    json_object_set_new(o, "ended_at", json_string(ended));
    json_object_set_new(o, "duration_seconds", json_integer(86400));
    json_object_set_new(o, "outcome", json_string("transferred"));
    json_object_set_new(o, "sentiment", json_string(i % 2 ? "negative" : "positive"));
    json_object_set_new(o, "quality_score", json_integer(100));
    json_object_set_new(o, "summary", wc_text(KV_CALL_SUMMARY_MAX, (unsigned)i));
    json_object_set_new(o, "recording_url", json_string(url));
    if (with_transcript) {
        json_t *t = json_array();
        size_t per = KV_CALL_TRANSCRIPT_TEXT_MAX / KV_CALL_TURNS_MAX;
        for (int k = 0; k < KV_CALL_TURNS_MAX; k++) {
            json_t *turn = json_object();
            json_object_set_new(turn, "speaker", json_string("caller"));
            json_object_set_new(turn, "text", wc_text(per, (unsigned)(k % 64)));
            json_object_set_new(turn, "offset_seconds", json_real(1.23456789012345e-300));
            json_array_append_new(t, turn);
        }
        json_object_set_new(o, "transcript", t);
    }
    return o;
}

/* The bytes of an answer against its bound: at most the bound, and at
 * least pct% of it (the test really is at the worst case).  Prints the
 * figure on stderr ("worstcase: ..."), for the report. */
static inline void wc_size(const char *what, size_t measured, size_t bound, int pct)
{
    fprintf(stderr, "worstcase: %s: %zu bytes (bound %zu, %.1f%% of the bus body limit %d)\n",
            what, measured, bound, 100.0 * (double)measured / KV_BODY_MAX, KV_BODY_MAX);
    KVT_OK(measured <= bound, "%s: %zu bytes, within the bound proto/kv_sizes.h computes (%zu)",
           what, measured, bound);
    KVT_OK(measured * 100 >= bound * (size_t)pct, "%s: it is the worst case: at least %d%% of "
           "the bound (%zu of %zu bytes)", what, pct, measured, bound);
}

/* A body sent to the API as JSON text (the object is stolen).  Caller
 * frees. */
static inline char *wc_dump(json_t *o)
{
    char *t = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    return t;
}

/* Resident memory of process stem's pid file under $KAIVOX_VAR_DIR/run
 * (field "VmRSS" or "VmHWM", in kB), -1 when unknown. */
static inline long wc_mem_kb(const char *stem, const char *field)
{
    char path[512], line[256];
    snprintf(path, sizeof path, "%s/run/%s.pid", kvt_env("KAIVOX_VAR_DIR", "var"), stem);
    FILE *f = fopen(path, "r");
    long pid = -1, kb = -1;
    if (!f)
        return -1;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = -1;
    fclose(f);
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':')
            kb = atol(line + fl + 1);
    fclose(f);
    return kb;
}

/* While a test sends the same large request many times, its answers are
 * recorded for the contract check once (the first) and not every time:
 * wc_record(0) stops recording, wc_record(1) starts it again.  Only
 * between threads' lives (setenv is not thread-safe). */
static inline void wc_record(int on)
{
    static char *saved;
    if (!on) {
        const char *v = getenv("KVT_CONTRACT_LOG");
        free(saved);
        saved = v ? strdup(v) : NULL;
        unsetenv("KVT_CONTRACT_LOG");
    } else if (saved) {
        setenv("KVT_CONTRACT_LOG", saved, 1);
    }
}

#endif
