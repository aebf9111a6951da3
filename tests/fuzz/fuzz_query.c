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
 * sched_parse_list and sched_parse_slots.
 *
 * Properties: gw_text_check accepts exactly what kv_valid_text accepts
 * (the services' rule) for text without NUL; the readers return success
 * exactly when they add no error, every error is a non-empty list of
 * messages, and what they hand back is in range (pages, per_page, dates
 * that format back to the value given, LIKE patterns that unescape to
 * the search term).
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

/* Every list reader on query. */
static void s_readers(json_t *query)
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
            s_readers(query);
        json_decref(query);
    }
    free(uri);
    return 0;
}
