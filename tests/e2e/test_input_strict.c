/*
 * test_input_strict.c -- issue 9 across the services: one rule, one
 * message, whichever service reads the field.
 *
 *   - an unknown field gets "The <field> field is not allowed." from
 *     customers (create and update), calls and appointments alike;
 *   - a huge page number is "may not be greater than 10000000" (never "must
 *     be at least 1"), and per_page=101 has one message, on every list;
 *   - an empty filter value means no filter on every list;
 *   - a call that starts (or ends) more than 5 minutes in the future is
 *     refused, one within the clock-skew tolerance is logged;
 *   - text limits count characters: a 20,000-character summary of
 *     two-byte characters is logged; a control character is refused.
 */
#include <time.h>

#include "calls_e2e.h"
#include "crm_e2e.h"
#include "kv_limits.h"

/* The first message of errors.<field> (borrowed), "" when none. */
static const char *s_err(const kvt_resp_t *r, const char *field)
{
    const char *m = json_string_value(
        json_array_get(json_object_get(json_object_get(r->json, "errors"), field), 0));
    return m ? m : "";
}

/* An RFC 3339 UTC time offset seconds from now into buf[32]. */
static void s_when(long offset, char buf[32])
{
    time_t t = time(NULL) + offset;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void test_unknown_fields(const char *key)
{
    struct { const char *method, *path, *body, *name; } cases[] = {
        { "POST", "/api/v1/customers", "{\"name\":\"Ann\",\"phone\":\"+15550188001\",\"colour\":\"red\"}",
          "customers create" },
        { "POST", "/api/v1/calls", "{\"caller_phone\":\"+15550188002\",\"started_at\":"
          "\"2026-03-10T10:00:00Z\",\"duration_seconds\":30,\"colour\":\"red\"}", "calls create" },
        { "POST", "/api/v1/appointments", "{\"customer_id\":1,\"service_id\":1,\"appointment_date\":"
          "\"2099-01-05\",\"appointment_time\":\"10:00\",\"colour\":\"red\"}", "appointments create" },
        { "PATCH", "/api/v1/appointments/1/status", "{\"status\":\"cancelled\",\"colour\":\"red\"}",
          "appointment status" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kvt_resp_t r = kvt_api(key, cases[i].method, cases[i].path, cases[i].body);
        KVT_EQ_INT(r.status, 422, "unknown field: %s answers 422", cases[i].name);
        KVT_EQ_STR(s_err(&r, "colour"), "The colour field is not allowed.",
                   "unknown field: %s gives the shared message", cases[i].name);
        kvt_resp_free(&r);
    }
    long long id = crm_create(key, "{\"name\":\"Bo\",\"phone\":\"+15550188003\"}");
    char path[64];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", id);
    kvt_resp_t r = kvt_api(key, "PATCH", path, "{\"segment\":\"vip\",\"colour\":\"red\"}");
    KVT_EQ_STR(s_err(&r, "colour"), "The colour field is not allowed.",
               "unknown field: customers update gives the shared message");
    kvt_resp_free(&r);
}

static void test_paging(const char *key)
{
    const char *lists[] = { "/api/v1/appointments", "/api/v1/customers", "/api/v1/calls",
                            "/api/v1/services", "/api/v1/staff", "/api/v1/webhooks", NULL };
    for (int i = 0; lists[i]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s?page=999999999999999999999", lists[i]);
        kvt_resp_t r = kvt_api(key, "GET", path, NULL);
        KVT_EQ_INT(r.status, 422, "paging: %s?page=10^21 answers 422", lists[i]);
        KVT_EQ_STR(s_err(&r, "page"), "The page may not be greater than 10000000.",
                   "paging: %s says the page is too large, not that it must be at least 1", lists[i]);
        kvt_resp_free(&r);
        snprintf(path, sizeof path, "%s?per_page=101", lists[i]);
        r = kvt_api(key, "GET", path, NULL);
        KVT_EQ_STR(s_err(&r, "per_page"), "The per_page may not be greater than 100.",
                   "paging: %s?per_page=101 has the shared message", lists[i]);
        kvt_resp_free(&r);
        snprintf(path, sizeof path, "%s?page=abc", lists[i]);
        r = kvt_api(key, "GET", path, NULL);
        KVT_EQ_STR(s_err(&r, "page"), "The page must be an integer.",
                   "paging: %s?page=abc says it must be an integer", lists[i]);
        kvt_resp_free(&r);
    }
    const char *empty[] = { "/api/v1/appointments?status=&date=&staff_id=",
                            "/api/v1/customers?segment=&pipeline_stage=&search=",
                            "/api/v1/calls?sentiment=&missed=&from_date=&to_date=", NULL };
    for (int i = 0; empty[i]; i++) {
        kvt_resp_t r = kvt_api(key, "GET", empty[i], NULL);
        KVT_EQ_INT(r.status, 200, "filters: empty values mean no filter: %s", empty[i]);
        kvt_resp_free(&r);
    }
}

static void test_calls_future(const char *key)
{
    char at[32], body[512];
    s_when(600, at);
    snprintf(body, sizeof body, "{\"caller_phone\":\"+15550188010\",\"started_at\":\"%s\","
             "\"duration_seconds\":30}", at);
    kvt_resp_t r = calls_post(key, body);
    KVT_EQ_INT(r.status, 422, "calls: started_at 10 minutes in the future is 422");
    KVT_EQ_STR(s_err(&r, "started_at"), "The started_at may not be in the future (more than 300 "
               "seconds after the server's clock).", "calls: errors.started_at names the tolerance");
    kvt_resp_free(&r);

    s_when(3600 * 24 * 365, at);
    snprintf(body, sizeof body, "{\"caller_phone\":\"+15550188010\",\"started_at\":\"%s\","
             "\"ended_at\":\"%s\"}", at, at);
    r = calls_post(key, body);
    KVT_EQ_INT(r.status, 422, "calls: a call next year is 422");
    kvt_resp_free(&r);

    s_when(-60, at);
    snprintf(body, sizeof body, "{\"caller_phone\":\"+15550188010\",\"started_at\":\"%s\","
             "\"duration_seconds\":3600}", at);
    r = calls_post(key, body);
    KVT_EQ_INT(r.status, 422, "calls: a call that would end an hour from now is 422");
    KVT_OK(calls_has_err(&r, "duration_seconds"), "calls: reported under duration_seconds");
    kvt_resp_free(&r);

    /* within the tolerance: the bridge's clock is a little ahead */
    s_when(60, at);
    snprintf(body, sizeof body, "{\"caller_phone\":\"+15550188010\",\"started_at\":\"%s\","
             "\"duration_seconds\":20}", at);
    r = calls_post(key, body);
    KVT_EQ_INT(r.status, 201, "calls: a call starting 1 minute ahead of our clock is logged");
    kvt_resp_free(&r);

    /* characters, not bytes */
    size_t n = KV_CALL_SUMMARY_MAX;
    char *big = malloc(n * 2 + 256);
    size_t len = (size_t)sprintf(big, "{\"caller_phone\":\"+15550188011\",\"started_at\":"
                                 "\"2026-03-10T10:00:00Z\",\"duration_seconds\":30,\"summary\":\"");
    for (size_t i = 0; i < n; i++) {
        big[len++] = '\xc3';
        big[len++] = '\xa9';
    }
    strcpy(big + len, "\"}");
    r = calls_post(key, big);
    KVT_EQ_INT(r.status, 201, "calls: a 20,000-character summary of two-byte characters is logged");
    KVT_EQ_INT(json_string_length(json_object_get(calls_data(&r), "summary")), (long long)(n * 2),
               "calls: the summary is stored whole");
    kvt_resp_free(&r);
    free(big);

    r = calls_post(key, "{\"caller_phone\":\"+15550188012\",\"started_at\":\"2026-03-10T10:00:00Z\","
                        "\"duration_seconds\":30,\"summary\":\"ring\\u0007\"}");
    KVT_EQ_INT(r.status, 422, "calls: a summary with a control character is 422");
    kvt_resp_free(&r);
}

int main(void)
{
    char key[64];
    if (kvt_tenant("strict-all", NULL, NULL, key) != 0) {
        KVT_OK(0, "a test tenant could be created");
        return kvt_done();
    }
    test_unknown_fields(key);
    test_paging(key);
    test_calls_future(key);
    return kvt_done();
}
