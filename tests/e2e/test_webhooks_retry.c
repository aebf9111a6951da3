/*
 * test_webhooks_retry.c -- failure handling against a real receiver, with
 * the test stack's retry schedule 1,1,1 (4 attempts in all) and 2 s
 * timeout: 500,500,200 makes exactly 3 attempts and succeeds; always 500
 * makes exactly 4 and fails; a receiver that hangs past the timeout fails
 * with a timeout; a redirect is not followed and fails; 410 Gone stops at
 * once and disables the endpoint; Retry-After on 503 postpones the next
 * attempt beyond the schedule.  The delivery log shows every attempt.
 */
#include "webhooks_e2e.h"

#define WAIT_MS 40000

/* The newest delivery of endpoint ep once settled; its attempts into
 * *attempts (borrowed from *r, which the caller frees). */
static json_t *settled(const char *key, long long ep, kvt_resp_t *r)
{
    *r = wh_wait_settled(key, ep, WAIT_MS);
    return json_array_get(se_data(r), 0);
}

static const char *dstatus(json_t *d)
{
    return json_string_value(json_object_get(d, "status"));
}

static long long attempt_code(json_t *d, size_t i)
{
    json_t *a = json_array_get(json_object_get(d, "attempts"), i);
    json_t *c = json_object_get(a, "status_code");
    return json_is_integer(c) ? json_integer_value(c) : -1;
}

static const char *attempt_error(json_t *d, size_t i)
{
    json_t *a = json_array_get(json_object_get(d, "attempts"), i);
    return json_string_value(json_object_get(a, "error"));
}

static size_t nattempts(json_t *d)
{
    return json_array_size(json_object_get(d, "attempts"));
}

/* Receipt time (epoch us) of request n on path, 0 when missing. */
static long long received_us(const wh_receiver_t *rcv, const char *path, int n)
{
    char *body = NULL, *hdrs = NULL, bp[600], v[64];
    size_t len;
    if (wh_request(rcv, path, n, &body, &len, &hdrs, bp, sizeof bp) != 0)
        return 0;
    wh_hdr(hdrs, "X-Receiver-Received-Us", v, sizeof v);
    free(body);
    free(hdrs);
    return atoll(v);
}

int main(void)
{
    wh_receiver_t rcv = { 0 };
    wh_receiver_start(&rcv, 4000);   /* /hang/ answers after 4 s > the 2 s timeout */
    wh_shop_t s;
    wh_shop(&s, "wh-retry");

    static const char *const paths[] = {
        "/fail-then-ok/2/r", "/fail/r", "/hang/r", "/redirect/r", "/gone/r", "/busy/3/r",
    };
    enum { P_FLAKY, P_FAIL, P_HANG, P_REDIRECT, P_GONE, P_BUSY, P_N };
    long long ep[P_N];
    for (int i = 0; i < P_N; i++) {
        char url[256];
        wh_url(&rcv, paths[i], url, sizeof url);
        ep[i] = wh_endpoint(s.key, url, "[\"appointment.created\"]", NULL);
        KVT_OK(ep[i] > 0, "endpoint %s created", paths[i]);
    }
    KVT_OK(wh_book(&s, 0) > 0, "appointment booked: one event for every endpoint");

    kvt_resp_t r;
    json_t *d;

    /* 500, 500, 200. */
    d = settled(s.key, ep[P_FLAKY], &r);
    KVT_EQ_STR(dstatus(d), "succeeded", "500,500,200: the delivery succeeds");
    KVT_EQ_INT(nattempts(d), 3, "500,500,200: the log shows exactly 3 attempts");
    KVT_OK(attempt_code(d, 0) == 500 && attempt_code(d, 1) == 500 && attempt_code(d, 2) == 200,
           "500,500,200: the log shows the status of each attempt in order");
    kvt_resp_free(&r);
    KVT_EQ_INT(wh_count(&rcv, paths[P_FLAKY]), 3, "500,500,200: the receiver saw exactly 3 requests");

    /* Always 500. */
    d = settled(s.key, ep[P_FAIL], &r);
    KVT_EQ_STR(dstatus(d), "failed", "always 500: the delivery ends failed");
    KVT_EQ_INT(nattempts(d), 4, "always 500: the log shows exactly 4 attempts");
    KVT_OK(attempt_code(d, 0) == 500 && attempt_code(d, 3) == 500,
           "always 500: every attempt logged with 500");
    kvt_resp_free(&r);

    /* Redirect. */
    d = settled(s.key, ep[P_REDIRECT], &r);
    KVT_EQ_STR(dstatus(d), "failed", "redirect: the delivery ends failed");
    KVT_EQ_INT(attempt_code(d, 0), 302, "redirect: the attempt logs the 302");
    KVT_OK(attempt_error(d, 0) && strstr(attempt_error(d, 0), "redirect"),
           "redirect: the attempt says the redirect was not followed");
    KVT_EQ_INT(nattempts(d), 4, "redirect: counted as a failure and retried to the end");
    kvt_resp_free(&r);
    KVT_EQ_INT(wh_count(&rcv, "/ok/redirected"), 0, "redirect: the Location was never requested");

    /* 410 Gone. */
    d = settled(s.key, ep[P_GONE], &r);
    KVT_EQ_STR(dstatus(d), "failed", "410: the delivery ends failed");
    KVT_EQ_INT(nattempts(d), 1, "410: no further attempts");
    KVT_EQ_INT(attempt_code(d, 0), 410, "410: the log shows it");
    kvt_resp_free(&r);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld", ep[P_GONE]);
    r = kvt_api(s.key, "GET", path, NULL);
    KVT_OK(json_is_false(json_object_get(se_data(&r), "active")), "410: the endpoint is disabled");
    KVT_EQ_STR(se_str(&r, "disabled_reason"), "410 Gone", "410: the endpoint says why");
    kvt_resp_free(&r);

    /* Timeout. */
    d = settled(s.key, ep[P_HANG], &r);
    KVT_EQ_STR(dstatus(d), "failed", "hang: a receiver past the timeout fails the delivery");
    KVT_OK(attempt_code(d, 0) == -1 && attempt_error(d, 0) && strstr(attempt_error(d, 0), "timeout"),
           "hang: the attempt logs a timeout and no status code");
    json_t *a0 = json_array_get(json_object_get(d, "attempts"), 0);
    long long ms = json_integer_value(json_object_get(a0, "duration_ms"));
    KVT_OK(ms >= 1900 && ms < 3900, "hang: the attempt was cut at the 2 s timeout (%lld ms)", ms);
    kvt_resp_free(&r);

    /* 503 with Retry-After: 3 beats the 1 s schedule. */
    KVT_OK(wh_wait_count(&rcv, paths[P_BUSY], 2, WAIT_MS) >= 2, "busy: retried");
    long long t1 = received_us(&rcv, paths[P_BUSY], 1), t2 = received_us(&rcv, paths[P_BUSY], 2);
    KVT_OK(t1 > 0 && t2 - t1 >= 2900000,
           "busy: Retry-After 3 honoured over the 1 s schedule (%lld ms)", (t2 - t1) / 1000);

    /* After everything settled, nothing more arrives. */
    d = settled(s.key, ep[P_BUSY], &r);
    kvt_resp_free(&r);
    KVT_EQ_INT(wh_count(&rcv, paths[P_FAIL]), 4, "always 500: the receiver saw exactly 4 requests");
    KVT_EQ_INT(wh_count(&rcv, paths[P_GONE]), 1, "410: the receiver saw exactly 1 request");
    KVT_EQ_INT(wh_count(&rcv, paths[P_HANG]), 4, "hang: each of the 4 attempts reached the receiver");

    /* A disabled endpoint gets no new deliveries. */
    KVT_OK(wh_book(&s, 1) > 0, "second appointment booked");
    KVT_EQ_INT(wh_wait_count(&rcv, paths[P_FLAKY], 4, WAIT_MS), 4, "the live endpoint got the new event");
    kvt_sleep_ms(1000);
    KVT_EQ_INT(wh_count(&rcv, paths[P_GONE]), 1, "410: the disabled endpoint gets nothing new");
    r = wh_deliveries(s.key, ep[P_GONE], 20);
    KVT_EQ_INT(se_meta(&r, "total"), 1, "410: no delivery was even queued for the disabled endpoint");
    kvt_resp_free(&r);

    wh_receiver_stop(&rcv);
    return kvt_done();
}
