/*
 * test_sync.c -- unit tests of shared/kv_sync.c: the RFC 3339 timestamps of
 * updated_since, the opaque cursor (round trip, and refusal of every
 * garbled, edited, foreign or non-canonical one), the query reader's
 * combination rules, and where a sync page ends with its meta.  Each check
 * is named after the behaviour it proves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "../../lib/kvt.h"
#include "kv_limits.h"
#include "kv_sync.h"
#include "kv_valid.h"

/* ---- timestamps ------------------------------------------------------------ */

static void test_parse_time(void)
{
    int64_t us = 0, other = 0;
    KVT_OK(kv_parse_rfc3339("1970-01-01T00:00:00Z", &us) == 0 && us == 0,
           "the epoch in UTC is 0 microseconds");
    KVT_OK(kv_parse_rfc3339("2026-03-10T14:05:00Z", &us) == 0 && us == 1773151500000000LL,
           "a UTC date-time is read to the microsecond");
    KVT_OK(kv_parse_rfc3339("2026-03-10T15:05:00+01:00", &other) == 0 && other == us,
           "+01:00 is one hour east of UTC: the same instant");
    KVT_OK(kv_parse_rfc3339("2026-03-10T08:35:00-05:30", &other) == 0 && other == us,
           "-05:30 is five and a half hours west of UTC: the same instant");
    KVT_OK(kv_parse_rfc3339("2026-03-10T14:05:00.5Z", &other) == 0 && other == us + 500000,
           "one fraction digit is tenths of a second");
    KVT_OK(kv_parse_rfc3339("2026-03-10T14:05:00.123456789Z", &other) == 0 &&
           other == us + 123456, "digits past the sixth are dropped (nanoseconds accepted)");
    KVT_OK(kv_parse_rfc3339("1900-01-01T00:00:00Z", &us) == 0 && us < 0,
           "1900 is the first year, before the epoch");

    static const char *const bad[] = {
        "", "2026-03-10", "2026-03-10T14:05:00", "2026-03-10 14:05:00Z",
        "2026-03-10t14:05:00Z", "2026-03-10T14:05:00z", "2026-03-10T14:05Z",
        "2026-02-30T14:05:00Z", "2026-03-10T24:00:00Z", "2026-03-10T14:60:00Z",
        "2026-03-10T14:05:60Z", "2026-03-10T14:05:00+24:00", "2026-03-10T14:05:00+01:60",
        "2026-03-10T14:05:00+0100", "2026-03-10T14:05:00+01", "2026-03-10T14:05:00.Z",
        "2026-03-10T14:05:00.1234567890Z", "2026-03-10T14:05:00Zjunk", "1899-12-31T23:59:59Z",
        "10000-01-01T00:00:00Z", "2026-3-10T14:05:00Z", " 2026-03-10T14:05:00Z",
        "2026-03-10T14:05:00 01:00", "now", NULL,
    };
    for (int i = 0; bad[i]; i++)
        KVT_OK(kv_parse_rfc3339(bad[i], &us) != 0, "refused as RFC 3339: \"%s\"", bad[i]);
    KVT_OK(kv_parse_rfc3339(NULL, &us) != 0, "NULL is refused");
}

static void test_format_time(void)
{
    char buf[KV_RFC3339_LEN];
    kv_format_rfc3339(1773151500123456LL, buf);
    KVT_EQ_STR(buf, "2026-03-10T14:05:00.123456Z", "an instant is formatted in UTC with microseconds");
    kv_format_rfc3339(-1, buf);
    KVT_EQ_STR(buf, "1969-12-31T23:59:59.999999Z", "an instant before the epoch rounds down");
    int64_t us;
    KVT_OK(kv_parse_rfc3339(buf, &us) == 0 && us == -1, "the formatted form parses back");
}

/* ---- cursors --------------------------------------------------------------- */

static kv_sync_state_t s_state(uint64_t xid, int64_t id, int has_since, int64_t since)
{
    kv_sync_state_t st;
    memset(&st, 0, sizeof st);
    st.pos.xid = xid;
    st.pos.id = id;
    st.has_since = has_since;
    st.since_us = since;
    return st;
}

static int s_same(const kv_sync_state_t *a, const kv_sync_state_t *b)
{
    return a->pos.xid == b->pos.xid && a->pos.id == b->pos.id && a->has_since == b->has_since &&
           a->since_us == b->since_us;
}

/* A cursor built by hand with a valid digest (the layout of kv_sync.c), to
 * prove the checks behind the digest. */
static void s_forge(const unsigned char body[28], int64_t tenant, char out[49])
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[36], msg[14 + 8 + 28], md[SHA256_DIGEST_LENGTH];
    memcpy(raw, body, 28);
    memcpy(msg, "kaivox.sync.v1", 14);
    for (int i = 0; i < 8; i++)
        msg[14 + i] = (unsigned char)((uint64_t)tenant >> (56 - 8 * i));
    memcpy(msg + 22, body, 28);
    SHA256(msg, sizeof msg, md);
    memcpy(raw + 28, md, 8);
    char *o = out;
    for (int i = 0; i < 36; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
        *o++ = b64[(v >> 18) & 63];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = b64[v & 63];
    }
    *o = '\0';
}

static void test_cursor(void)
{
    char c[KV_SYNC_CURSOR_CHARS + 1];
    kv_sync_state_t got;
    const kv_sync_state_t cases[] = {
        s_state(0, 0, 1, 0),
        s_state(741, 12, 1, 1773151500123456LL),
        s_state(9223372036854775807ULL, 9223372036854775807LL, 1, -2208988800000000LL),
        s_state(123456789012ULL, 42, 0, 0),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kv_sync_cursor_encode(KV_SYNC_CUSTOMERS, 7, &cases[i], c);
        size_t len = strlen(c);
        KVT_OK(len == KV_SYNC_CURSOR_CHARS, "cursor %zu has 48 characters", i);
        KVT_OK(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
               strlen(c), "cursor %zu is base64url, URL-safe without encoding", i);
        memset(&got, 0xff, sizeof got);
        KVT_OK(kv_sync_cursor_decode(KV_SYNC_CUSTOMERS, 7, c, &got) == 0 && s_same(&got, &cases[i]),
               "cursor %zu decodes to the state it was made from", i);
    }

    kv_sync_state_t st = s_state(741, 12, 1, 1773151500123456LL);
    kv_sync_cursor_encode(KV_SYNC_APPOINTMENTS, 7, &st, c);
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_CUSTOMERS, 7, c, &got) != 0,
           "a cursor of the appointments list is refused by the customers list");
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_APPOINTMENTS, 8, c, &got) != 0,
           "a cursor of tenant 7 is refused for tenant 8");

    /* every single character changed to every other base64url character */
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int accepted = 0, tried = 0;
    for (int i = 0; i < KV_SYNC_CURSOR_CHARS; i++) {
        for (int k = 0; alpha[k]; k++) {
            if (alpha[k] == c[i])
                continue;
            char t[KV_SYNC_CURSOR_CHARS + 1];
            memcpy(t, c, sizeof t);
            t[i] = alpha[k];
            tried++;
            if (kv_sync_cursor_decode(KV_SYNC_APPOINTMENTS, 7, t, &got) == 0)
                accepted++;
        }
    }
    KVT_OK(tried == 48 * 63 && accepted == 0,
           "every one-character edit of a cursor is refused (%d tried, %d accepted)", tried,
           accepted);

    char t[KV_SYNC_CURSOR_CHARS + 8];
    snprintf(t, sizeof t, "%s", c);
    t[KV_SYNC_CURSOR_CHARS - 1] = '\0';
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_APPOINTMENTS, 7, t, &got) != 0,
           "a cursor one character short is refused");
    snprintf(t, sizeof t, "%sA", c);
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_APPOINTMENTS, 7, t, &got) != 0,
           "a cursor with a character added is refused");
    snprintf(t, sizeof t, "%s==", c);
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_APPOINTMENTS, 7, t, &got) != 0,
           "padding is not part of a cursor");
    snprintf(t, sizeof t, "%s", c);
    t[5] = '+';
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_APPOINTMENTS, 7, t, &got) != 0,
           "a standard base64 character (+) is refused");
    t[5] = '%';
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_APPOINTMENTS, 7, t, &got) != 0,
           "a character outside base64url is refused");
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_APPOINTMENTS, 7, "", &got) != 0 &&
           kv_sync_cursor_decode(KV_SYNC_APPOINTMENTS, 7, NULL, &got) != 0,
           "an empty or missing cursor is refused");

    /* layouts with a valid digest that are still not cursors */
    unsigned char body[28];
    memset(body, 0, sizeof body);
    body[0] = 1;
    body[1] = KV_SYNC_CALLS;
    body[2] = 1;
    char f[49];
    s_forge(body, 7, f);
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_CALLS, 7, f, &got) == 0,
           "a hand-built cursor of the documented layout is accepted (the forge is right)");
    body[0] = 2;
    s_forge(body, 7, f);
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_CALLS, 7, f, &got) != 0, "an unknown version is refused");
    body[0] = 1;
    body[2] = 3;
    s_forge(body, 7, f);
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_CALLS, 7, f, &got) != 0, "an unknown flag is refused");
    body[2] = 0;
    body[27] = 1;
    s_forge(body, 7, f);
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_CALLS, 7, f, &got) != 0,
           "an updated_since without its flag is refused");
    body[27] = 0;
    body[4] = 0x80;
    s_forge(body, 7, f);
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_CALLS, 7, f, &got) != 0,
           "a transaction id of 2^63 or more is refused");
    body[4] = 0;
    body[12] = 0x80;
    s_forge(body, 7, f);
    KVT_OK(kv_sync_cursor_decode(KV_SYNC_CALLS, 7, f, &got) != 0, "a negative row id is refused");
    body[12] = 0;

    /* updated_since: the extremes RFC 3339 input can give pass, beyond them not
     * (PostgreSQL would have to read an instant no client could send) */
    int64_t lo, hi;
    kv_parse_rfc3339("1900-01-01T00:00:00+23:59", &lo);
    kv_parse_rfc3339("9999-12-31T23:59:59.999999-23:59", &hi);
    const int64_t since[4] = { lo, hi, lo - 1, hi + 1 };
    for (int k = 0; k < 4; k++) {
        body[2] = 1;
        for (int b = 0; b < 8; b++)
            body[20 + b] = (unsigned char)((uint64_t)since[k] >> (56 - 8 * b));
        s_forge(body, 7, f);
        int rc = kv_sync_cursor_decode(KV_SYNC_CALLS, 7, f, &got);
        KVT_OK(k < 2 ? rc == 0 && got.since_us == since[k] : rc != 0,
               "an updated_since of %lld us is %s", (long long)since[k],
               k < 2 ? "accepted (an extreme of RFC 3339 input)" : "refused (out of range)");
    }
}

static void test_pos_parse(void)
{
    kv_sync_pos_t p;
    KVT_OK(kv_sync_pos_parse("741", 12, &p) == 0 && p.xid == 741 && p.id == 12,
           "a row's sync_xid text and id make its position");
    KVT_OK(kv_sync_pos_parse("-1", 12, &p) != 0, "a negative xid is refused");
    KVT_OK(kv_sync_pos_parse("12a", 12, &p) != 0, "a xid with junk is refused");
    KVT_OK(kv_sync_pos_parse(NULL, 12, &p) != 0, "a missing xid is refused");
    KVT_OK(kv_sync_pos_parse("5", -1, &p) != 0, "a negative id is refused");
}

/* ---- the query --------------------------------------------------------------- */

static json_t *s_errors;

static const char *s_msg(const char *field)
{
    return json_string_value(json_array_get(json_object_get(s_errors, field), 0));
}

/* kv_query_sync on the query given as JSON text, for tenant 7's calls. */
static int s_query(const char *text, kv_sync_req_t *q)
{
    static const char *const filters[] = { "sentiment", "missed", NULL };
    json_object_clear(s_errors);
    json_t *query = json_loads(text, 0, NULL);
    if (!query) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        abort();
    }
    int rc = kv_query_sync(query, KV_SYNC_CALLS, 7, filters, q, s_errors);
    json_decref(query);
    return rc;
}

static void test_query(void)
{
    kv_sync_req_t q;
    int rc;
    rc = s_query("{}", &q);
    KVT_EQ_INT(rc, KV_FIELD_ABSENT, "no updated_since nor cursor: a plain page");
    rc = s_query("{\"page\":\"2\",\"sentiment\":\"positive\"}", &q);
    KVT_EQ_INT(rc, KV_FIELD_ABSENT,
               "page and filters alone: a plain page, nothing refused");
    rc = s_query("{\"updated_since\":\"\",\"cursor\":\"\"}", &q);
    KVT_EQ_INT(rc, KV_FIELD_ABSENT,
               "empty updated_since and cursor are absent, as every empty query value");
    KVT_OK(json_object_size(s_errors) == 0, "a plain page reads nothing into errors");

    rc = s_query("{\"updated_since\":\"2026-03-10T15:05:00+01:00\"}", &q);
    KVT_EQ_INT(rc, KV_FIELD_OK,
               "updated_since starts a walk");
    KVT_OK(q.first == 1 && q.st.has_since && q.st.pos.xid == 0 && q.st.pos.id == 0,
           "a walk starts at the oldest change at or after updated_since");
    KVT_EQ_STR(q.since, "2026-03-10T14:05:00.000000Z", "updated_since is handed to SQL in UTC");
    KVT_EQ_INT(q.per_page, KV_PER_PAGE_DEFAULT, "per_page defaults to 20 in a walk too");

    rc = s_query("{\"updated_since\":\"2026-03-10T15:05:00 01:00\"}", &q);
    KVT_EQ_INT(rc, KV_FIELD_OK,
               "an unencoded + (a space after URL decoding) in the offset is read as +");
    KVT_EQ_STR(q.since, "2026-03-10T14:05:00.000000Z", "... and means +01:00");

    rc = s_query("{\"updated_since\":\"2026-03-10 14:05:00Z\"}", &q);
    KVT_EQ_INT(rc, KV_FIELD_BAD,
               "a malformed updated_since is refused");
    KVT_OK(s_msg("updated_since") && strstr(s_msg("updated_since"), "RFC 3339"),
           "errors.updated_since says which form it takes");
    rc = s_query("{\"updated_since\":\"2026-03-10T14:05:00\"}", &q);
    KVT_EQ_INT(rc, KV_FIELD_BAD,
               "an updated_since without offset is refused (it would be read in some zone)");

    char c[KV_SYNC_CURSOR_CHARS + 1], text[256];
    kv_sync_state_t st = s_state(900, 33, 1, 1773151500000000LL);
    kv_sync_cursor_encode(KV_SYNC_CALLS, 7, &st, c);
    snprintf(text, sizeof text, "{\"cursor\":\"%s\",\"per_page\":\"100\"}", c);
    rc = s_query(text, &q);
    KVT_EQ_INT(rc, KV_FIELD_OK, "a cursor continues a walk");
    KVT_OK(q.first == 0 && s_same(&q.st, &st) && q.per_page == 100,
           "the walk goes on from the cursor's position with its updated_since and per_page");
    KVT_EQ_STR(q.since, "2026-03-10T14:05:00.000000Z", "the cursor's updated_since still applies");

    st = s_state(0, 0, 1, 1773151500000000LL);
    kv_sync_cursor_encode(KV_SYNC_CALLS, 7, &st, c);
    snprintf(text, sizeof text, "{\"cursor\":\"%s\"}", c);
    KVT_OK(s_query(text, &q) == KV_FIELD_OK && q.first == 1,
           "a cursor still at the start (an empty first page) starts from updated_since again");

    snprintf(text, sizeof text, "{\"cursor\":\"%s\",\"updated_since\":\"2026-03-10T14:05:00Z\"}", c);
    rc = s_query(text, &q);
    KVT_EQ_INT(rc, KV_FIELD_BAD, "cursor and updated_since together are refused");
    KVT_OK(s_msg("updated_since") && strstr(s_msg("updated_since"), "cannot be combined"),
           "errors.updated_since says the cursor carries it");

    c[10] = c[10] == 'A' ? 'B' : 'A';
    snprintf(text, sizeof text, "{\"cursor\":\"%s\"}", c);
    rc = s_query(text, &q);
    KVT_EQ_INT(rc, KV_FIELD_BAD, "an edited cursor is refused");
    KVT_OK(s_msg("cursor") != NULL, "errors.cursor names the problem");

    kv_sync_cursor_encode(KV_SYNC_CUSTOMERS, 7, &st, c);
    snprintf(text, sizeof text, "{\"cursor\":\"%s\"}", c);
    rc = s_query(text, &q);
    KVT_EQ_INT(rc, KV_FIELD_BAD, "a customers cursor is refused by the calls list");

    rc = s_query("{\"updated_since\":\"2026-03-10T14:05:00Z\",\"page\":\"1\"}", &q);
    KVT_EQ_INT(rc,
               KV_FIELD_BAD, "page with updated_since is refused");
    KVT_OK(s_msg("page") && strstr(s_msg("page"), "next_cursor"),
           "errors.page says to follow meta.next_cursor");
    rc = s_query("{\"updated_since\":\"2026-03-10T14:05:00Z\",\"page\":\"\"}", &q);
    KVT_EQ_INT(rc,
               KV_FIELD_BAD, "an empty page with updated_since is refused too");

    rc = s_query("{\"updated_since\":\"2026-03-10T14:05:00Z\",\"sentiment\":\"positive\","
                       "\"missed\":\"true\"}", &q);
    KVT_EQ_INT(rc, KV_FIELD_BAD,
               "a filter with updated_since is refused");
    KVT_OK(s_msg("sentiment") && s_msg("missed") &&
           strcmp(s_msg("sentiment"),
                  "The sentiment filter cannot be combined with updated_since or cursor.") == 0,
           "each filter is named under its own key");
    rc = s_query("{\"updated_since\":\"2026-03-10T14:05:00Z\",\"sentiment\":\"\"}", &q);
    KVT_EQ_INT(rc,
               KV_FIELD_OK, "an empty filter is no filter: allowed in a walk");

    rc = s_query("{\"updated_since\":\"2026-03-10T14:05:00Z\",\"per_page\":\"101\"}", &q);
    KVT_EQ_INT(rc,
               KV_FIELD_BAD, "per_page over 100 is refused in a walk");
    KVT_EQ_STR(s_msg("per_page"), "The per_page may not be greater than 100.",
               "with the plain list's message");
    rc = s_query("{\"updated_since\":\"2026-03-10T14:05:00Z\",\"per_page\":\"\"}", &q);
    KVT_EQ_INT(rc,
               KV_FIELD_BAD, "an empty per_page is refused, as in a plain list");

    rc = s_query("{\"updated_since\":\"bad\",\"page\":\"x\",\"missed\":\"1\"}", &q);
    KVT_EQ_INT(rc,
               KV_FIELD_BAD, "several problems at once");
    KVT_OK(s_msg("updated_since") && s_msg("page") && s_msg("missed"),
           "every problem is reported at once");

    json_object_clear(s_errors);
    json_t *odd = json_pack("{s:i}", "cursor", 5);
    KVT_EQ_INT(kv_query_sync(odd, KV_SYNC_CALLS, 7, NULL, &q, s_errors), KV_FIELD_BAD,
               "a cursor that is not a string is refused");
    json_decref(odd);
}

/* ---- page end and meta ---------------------------------------------------------- */

static void test_page_end(void)
{
    kv_sync_req_t q;
    memset(&q, 0, sizeof q);
    q.per_page = 2;
    q.st = s_state(100, 5, 1, 1773151500000000LL);
    kv_sync_pos_t last = { 120, 9 };
    int more = -1;
    kv_sync_state_t end = kv_sync_page_end(&q, 3, last, &more);
    KVT_OK(more == 1 && end.pos.xid == 120 && end.pos.id == 9 && end.has_since &&
           end.since_us == q.st.since_us,
           "a row beyond the page: more, the end at the last row shown, updated_since kept");

    json_t *m = kv_sync_meta(&q, KV_SYNC_CALLS, 7, &end, more);
    const char *next = json_string_value(json_object_get(m, "next_cursor"));
    const char *resume = json_string_value(json_object_get(m, "resume_cursor"));
    kv_sync_state_t got;
    KVT_OK(next && resume && strcmp(next, resume) == 0 &&
           kv_sync_cursor_decode(KV_SYNC_CALLS, 7, next, &got) == 0 && s_same(&got, &end),
           "next_cursor and resume_cursor both carry the end of the page");
    KVT_OK(json_integer_value(json_object_get(m, "per_page")) == 2, "meta carries per_page");
    KVT_OK(json_object_size(m) == 3, "meta has exactly per_page, next_cursor, resume_cursor");
    json_decref(m);

    end = kv_sync_page_end(&q, 2, last, &more);
    m = kv_sync_meta(&q, KV_SYNC_CALLS, 7, &end, more);
    KVT_OK(more == 0 && json_is_null(json_object_get(m, "next_cursor")) &&
           json_is_string(json_object_get(m, "resume_cursor")),
           "a page that is not followed by a visible row: next_cursor null, resume_cursor set");
    json_decref(m);

    end = kv_sync_page_end(&q, 0, q.st.pos, &more);
    KVT_OK(more == 0 && s_same(&end, &q.st), "an empty page ends where it started");
}

int main(void)
{
    s_errors = json_object();
    test_parse_time();
    test_format_time();
    test_cursor();
    test_pos_parse();
    test_query();
    test_page_end();
    json_decref(s_errors);
    return kvt_done();
}
