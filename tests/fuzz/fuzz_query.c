/*
 * fuzz_query.c -- a request-target as a client sends it, through every
 * check of the gateway and every list filter of the services.
 *
 * The input is the raw request-target ("/api/v1/calls?missed=1&page=2").
 * Steps, as in production: gw_uri_check on the raw bytes (414 / 400 bad
 * escape); the query part split into arguments and decoded the way
 * libmicrohttpd 0.9.75 does it ('&' between arguments, the first '='
 * between name and value, '+' as space, then MHD_http_unescape, the real
 * function); gw_text_check on each decoded name and value (400);
 * ?api_key= taken apart (gw_key_classify), the others into the query
 * object the bus carries (gw_public.c: s_query_arg); then every reader of
 * a list: kv_query_page, crm_parse_filter, calls_filter_parse,
 * sched_parse_list and sched_parse_slots, and the sync reader of each of
 * the three lists (kv_query_sync: updated_since, cursor).
 *
 * Properties: gw_text_check accepts exactly what kv_valid_text accepts
 * (the services' rule) for text without NUL; the readers return success
 * exactly when they add no error, every error is a non-empty list of
 * messages, and what they hand back is in range (pages, per_page, dates
 * that format back to the value given, LIKE patterns that unescape to
 * the search term); a cursor decodes only for its own list and tenant and
 * is canonical (it encodes back to the very text given), a state encodes
 * to a cursor that decodes to it, and changing any one character of a
 * cursor makes it refused.
 */
#include "fuzz.h"

#include <microhttpd.h>

#include "kv_api.h"
#include "kv_valid.h"
#include "../../services/calls/call_valid.h"
#include "../../services/crm/crm_valid.h"
#include "../../services/gateway/gw_input.h"
#include "../../services/gateway/gw_keys.h"
#include "../../services/scheduling/sched_valid.h"
#include "kv_sync.h"

static const unsigned char s_secret[GW_KEY_SECRET_LEN] = { 1, 2, 3 };

/* libmicrohttpd's MHD_unescape_plus: '+' is a space in a query string. */
static void s_plus(char *s)
{
    for (; *s; s++)
        if (*s == '+')
            *s = ' ';
}

/* One argument as s_query_arg sees it.  0, or -1 when the gateway answers
 * 400. */
static int s_arg(json_t *query, char *key, char *value)
{
    s_plus(key);
    size_t klen = MHD_http_unescape(key);
    size_t vlen = 0;
    if (value) {
        s_plus(value);
        vlen = MHD_http_unescape(value);
    }
    int rc = gw_text_check(key, klen);
    if (rc == GW_INPUT_OK && value)
        rc = gw_text_check(value, vlen);
    if (memchr(key, '\0', klen) == NULL)
        FUZZ_CHECK((gw_text_check(key, klen) == GW_INPUT_OK) ==
                   (kv_valid_text(key, (size_t)-1) == 1));
    if (value && memchr(value, '\0', vlen) == NULL)
        FUZZ_CHECK((gw_text_check(value, vlen) == GW_INPUT_OK) ==
                   (kv_valid_text(value, (size_t)-1) == 1));
    if (rc != GW_INPUT_OK) {
        FUZZ_CHECK(gw_input_message(rc) != NULL);
        return -1;
    }
    if (strcmp(key, "api_key") == 0) {
        (void)gw_key_classify(value ? value : "", s_secret);
        return 0;
    }
    json_t *s = json_string(value ? value : "");
    FUZZ_CHECK(s != NULL);   /* checked text is always a valid JSON string */
    json_object_set_new(query, key, s);
    return 0;
}

/* MHD_parse_arguments_ (0.9.75): args is modified in place. */
static int s_parse_args(json_t *query, char *args)
{
    while (args && *args) {
        char *equals = strchr(args, '=');
        char *amper = strchr(args, '&');
        if (!amper) {
            if (!equals)
                return s_arg(query, args, NULL);
            *equals++ = '\0';
            return s_arg(query, args, equals);
        }
        *amper++ = '\0';
        if (!equals || equals >= amper) {
            if (s_arg(query, args, NULL) != 0)
                return -1;
            args = amper;
            continue;
        }
        *equals++ = '\0';
        if (s_arg(query, args, equals) != 0)
            return -1;
        args = amper;
    }
    return 0;
}

static void s_check_date(const json_t *query, const char *key, const char *formatted)
{
    if (!formatted[0])
        return;
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(query, key)), formatted) == 0);
}

#define S_TENANT 7

/* The sync reader of one list (kv_sync.h), as the list handlers call it. */
static void s_sync(json_t *query, kv_sync_list_t list, const char *const *filters,
                   unsigned pick)
{
    json_t *errors = json_object();
    kv_sync_req_t q;
    int rc = kv_query_sync(query, list, S_TENANT, filters, &q, errors);
    FUZZ_CHECK(rc == KV_FIELD_OK || rc == KV_FIELD_BAD || rc == KV_FIELD_ABSENT);
    fuzz_check_errors(errors, rc != KV_FIELD_BAD, 0);
    const char *cursor = json_string_value(json_object_get(query, "cursor"));
    if (cursor) {
        kv_sync_state_t st;
        char again[KV_SYNC_CURSOR_CHARS + 1];
        if (kv_sync_cursor_decode(list, S_TENANT, cursor, &st) == 0) {
            kv_sync_cursor_encode(list, S_TENANT, &st, again);
            FUZZ_CHECK(strcmp(again, cursor) == 0);
            /* never another list's or another tenant's */
            kv_sync_state_t other;
            FUZZ_CHECK(kv_sync_cursor_decode(list % 3 + 1, S_TENANT, cursor, &other) != 0);
            FUZZ_CHECK(kv_sync_cursor_decode(list, S_TENANT + 1, cursor, &other) != 0);
        }
    }
    if (rc == KV_FIELD_OK) {
        FUZZ_CHECK(q.per_page >= 1 && q.per_page <= KV_PER_PAGE_MAX);
        FUZZ_CHECK(!q.first || (q.st.pos.xid == 0 && q.st.pos.id == 0 && q.st.has_since));
        if (q.st.has_since) {
            int64_t us;
            FUZZ_CHECK(kv_parse_rfc3339(q.since, &us) == 0 && us == q.st.since_us);
        } else {
            FUZZ_CHECK(q.since[0] == '\0');
        }
        /* the state travels in a cursor, and any one changed character
           is refused */
        char c[KV_SYNC_CURSOR_CHARS + 1];
        kv_sync_cursor_encode(list, S_TENANT, &q.st, c);
        FUZZ_CHECK(strlen(c) == KV_SYNC_CURSOR_CHARS);
        kv_sync_state_t back;
        FUZZ_CHECK(kv_sync_cursor_decode(list, S_TENANT, c, &back) == 0);
        FUZZ_CHECK(back.pos.xid == q.st.pos.xid && back.pos.id == q.st.pos.id &&
                   back.has_since == q.st.has_since && back.since_us == q.st.since_us);
        size_t at = pick % KV_SYNC_CURSOR_CHARS;
        c[at] = c[at] == 'A' ? 'B' : 'A';
        FUZZ_CHECK(kv_sync_cursor_decode(list, S_TENANT, c, &back) != 0);
    }
    json_decref(errors);
}

/* Every list reader on query. */
static void s_readers(json_t *query, unsigned pick)
{
    json_t *errors = json_object();
    int page, per_page;
    int rc = kv_query_page(query, KV_PER_PAGE_DEFAULT, KV_PER_PAGE_MAX, &page, &per_page,
                           errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0)
        FUZZ_CHECK(page >= 1 && page <= KV_PAGE_MAX && per_page >= 1 &&
                   per_page <= KV_PER_PAGE_MAX);
    json_object_clear(errors);

    crm_filter_t cf;
    rc = crm_parse_filter(query, &cf, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0 && cf.like) {
        /* the LIKE pattern matches the trimmed term literally */
        char un[2 * KV_CUSTOMER_SEARCH_MAX * 4 + 1];
        size_t o = 0;
        for (const char *p = cf.like; *p; p++) {
            if (*p == '\\') {
                p++;
                FUZZ_CHECK(*p == '%' || *p == '_' || *p == '\\');
            } else {
                FUZZ_CHECK(*p != '%' && *p != '_');
            }
            FUZZ_CHECK(o < sizeof un - 1);
            un[o++] = *p;
        }
        un[o] = '\0';
        const char *term = json_string_value(json_object_get(query, "search"));
        FUZZ_CHECK(term && strstr(term, un) != NULL && kv_valid_text(un, (size_t)-1));
        FUZZ_CHECK(strlen(cf.digits) <= KV_CUSTOMER_SEARCH_MAX);
        /* the digits of a phone-like term, alone, into a buffer of any size */
        for (size_t size = 1; size <= 8; size++) {
            char *d = malloc(size);
            FUZZ_CHECK(d != NULL);
            int drc = crm_search_digits(un, d, size);
            FUZZ_CHECK(strlen(d) < size && (drc == 0) == (d[0] != '\0'));
            free(d);
        }
    }
    crm_filter_cleanup(&cf);
    json_object_clear(errors);

    calls_filter_t f;
    rc = calls_filter_parse(query, &f, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        FUZZ_CHECK(f.missed >= -1 && f.missed <= 1);
        s_check_date(query, "from_date", f.from_date);
        s_check_date(query, "to_date", f.to_date);
        if (f.from_date[0] && f.to_date[0])
            FUZZ_CHECK(strcmp(f.from_date, f.to_date) <= 0);
    }
    json_object_clear(errors);

    sched_list_query_t lq;
    rc = sched_parse_list(query, &lq, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        FUZZ_CHECK(lq.page >= 1 && lq.per_page >= 1 && lq.per_page <= KV_PER_PAGE_MAX);
        FUZZ_CHECK(lq.staff_id >= 0);
        s_check_date(query, "date", lq.date);
    }
    json_object_clear(errors);

    sched_slots_query_t sq;
    rc = sched_parse_slots(query, &sq, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        FUZZ_CHECK(sq.service_id >= 1 && sq.staff_id >= 0);
        char d[11];
        kv_format_date(&sq.date, d);
        s_check_date(query, "date", d);
    }
    json_decref(errors);

    static const char *const appointments[] = { "status", "date", "staff_id", NULL };
    static const char *const customers[] = { "segment", "pipeline_stage", "search", NULL };
    static const char *const calls[] = { "sentiment", "missed", "from_date", "to_date", NULL };
    s_sync(query, KV_SYNC_APPOINTMENTS, appointments, pick);
    s_sync(query, KV_SYNC_CUSTOMERS, customers, pick);
    s_sync(query, KV_SYNC_CALLS, calls, pick);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *uri = fuzz_str(data, size);
    int rc = gw_uri_check(uri, GW_URI_MAX);
    if (rc == GW_INPUT_TOO_LONG)
        FUZZ_CHECK(strlen(uri) > GW_URI_MAX);
    if (rc == GW_INPUT_OK) {
        char *q = strchr(uri, '?');
        json_t *query = json_object();
        if (s_parse_args(query, q ? q + 1 : NULL) == 0)
            s_readers(query, (unsigned)size);
        json_decref(query);
    }
    free(uri);
    return 0;
}
