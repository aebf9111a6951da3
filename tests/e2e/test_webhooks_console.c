/*
 * test_webhooks_console.c -- the two webhook operations the console needs
 * (services/webhooks/console_ops.c): POST /api/v1/webhooks/{id}/test sends
 * a signed "ping" through the normal delivery path (stored, signed like
 * every delivery, retried on failure, in the log, redeliverable), 409 for
 * an inactive endpoint, 404 for another tenant's; GET
 * /api/v1/webhooks/deliveries is the tenant's log across its endpoints,
 * newest first, filtered by endpoint_id, event and status, and never shows
 * another tenant's deliveries.
 */
#include "webhooks_e2e.h"

static long long s_total(const char *key, const char *query)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/webhooks/deliveries%s", query);
    kvt_resp_t r = kvt_api(key, "GET", path, NULL);
    long long n = r.status == 200
        ? json_integer_value(json_object_get(json_object_get(r.json, "meta"), "total")) : -1;
    kvt_resp_free(&r);
    return n;
}

int main(void)
{
    static wh_receiver_t rcv;
    int64_t ta = 0, tb = 0;
    char ka[64], kb[64], sec_ok[80], sec_fail[80], sec_b[80], url[256], path[160], q[160];
    wh_receiver_start(&rcv, 0);
    if (kvt_tenant("hookcon-a", "UTC", &ta, ka) != 0 || kvt_tenant("hookcon-b", "UTC", &tb, kb) != 0) {
        kvt_check(0, "admin", "webhooks console: tenants");
        return kvt_done();
    }
    wh_url(&rcv, "/ok/console", url, sizeof url);
    long long ok = wh_endpoint(ka, url, "[\"call.missed\"]", sec_ok);
    wh_url(&rcv, "/fail-then-ok/4/console", url, sizeof url);
    long long fail = wh_endpoint(ka, url, "[\"call.missed\"]", sec_fail);
    wh_url(&rcv, "/ok/console-b", url, sizeof url);
    long long other = wh_endpoint(kb, url, "[\"call.missed\"]", sec_b);
    KVT_OK(ok > 0 && fail > 0 && other > 0, "test event: endpoints made");

    /* a test event to an endpoint that answers 200 */
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/test", ok);
    kvt_resp_t r = kvt_api(ka, "POST", path, NULL);
    KVT_EQ_INT(r.status, 202, "test event: 202");
    json_t *d = json_object_get(r.json, "data");
    KVT_EQ_STR(json_string_value(json_object_get(d, "event")), "ping", "test event: ... a ping delivery");
    KVT_EQ_INT(json_integer_value(json_object_get(d, "endpoint_id")), ok, "test event: ... to that endpoint");
    long long did = json_integer_value(json_object_get(d, "id"));
    kvt_resp_free(&r);
    KVT_OK(wh_wait_count(&rcv, "/ok/console", 1, 15000) >= 1, "test event: the receiver gets it");
    char *body = NULL, *hdrs = NULL, v[256], bodyf[600];
    size_t blen = 0;
    if (wh_request(&rcv, "/ok/console", 1, &body, &blen, &hdrs, bodyf, sizeof bodyf) == 0) {
        json_t *b = json_loads(body, 0, NULL);
        KVT_EQ_STR(json_string_value(json_object_get(b, "event")), "ping", "test event: body event ping");
        KVT_EQ_INT(json_integer_value(json_object_get(json_object_get(b, "data"), "endpoint_id")), ok,
                   "test event: body data.endpoint_id");
        json_decref(b);
        KVT_OK(wh_hdr(hdrs, "X-KaiVox-Event", v, sizeof v) == 0 && strcmp(v, "ping") == 0,
               "test event: X-KaiVox-Event: ping");
        KVT_OK(wh_hdr(hdrs, "X-KaiVox-Delivery", v, sizeof v) == 0 && atoll(v) == did,
               "test event: X-KaiVox-Delivery is the delivery's id");
        KVT_OK(wh_hdr(hdrs, "X-KaiVox-Signature", v, sizeof v) == 0 && wh_openssl_ok(sec_ok, bodyf, v),
               "test event: X-KaiVox-Signature verifies with the endpoint's secret (openssl)");
        char id[128], ts[64], sig[256];
        KVT_OK(wh_hdr(hdrs, "webhook-id", id, sizeof id) == 0 && wh_hdr(hdrs, "webhook-timestamp", ts, sizeof ts) == 0 &&
               wh_hdr(hdrs, "webhook-signature", sig, sizeof sig) == 0 &&
               wh_std_verify(sec_ok, id, ts, sig, body, blen),
               "test event: the Standard Webhooks signature verifies");
    } else {
        kvt_check(0, "no request", "test event: request readable");
    }
    free(body);
    free(hdrs);
    r = wh_wait_settled(ka, ok, 15000);
    d = json_array_get(se_data(&r), 0);
    KVT_EQ_STR(json_string_value(json_object_get(d, "status")), "succeeded", "test event: the log shows it succeeded");
    KVT_EQ_INT(json_array_size(json_object_get(d, "attempts")), 1, "test event: ... with its one attempt");
    KVT_EQ_INT(json_integer_value(json_object_get(json_array_get(json_object_get(d, "attempts"), 0), "status_code")), 200,
               "test event: ... answered 200");
    kvt_resp_free(&r);

    /* to an endpoint that fails: the normal retries, then failed */
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/test", fail);
    r = kvt_api(ka, "POST", path, NULL);
    long long fdid = se_int(&r, "id");
    kvt_resp_free(&r);
    r = wh_wait_settled(ka, fail, 30000);
    d = json_array_get(se_data(&r), 0);
    KVT_EQ_STR(json_string_value(json_object_get(d, "status")), "failed", "test event: failing receiver: failed");
    KVT_EQ_INT(json_array_size(json_object_get(d, "attempts")), 4, "test event: ... after 4 attempts (retried)");
    KVT_EQ_INT(json_integer_value(json_object_get(json_array_get(json_object_get(d, "attempts"), 3), "status_code")), 500,
               "test event: ... each answered 500");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/webhooks/deliveries/%lld/redeliver", fdid);
    r = kvt_api(ka, "POST", path, NULL);
    KVT_EQ_INT(r.status, 202, "test event: redeliver 202");
    kvt_resp_free(&r);
    r = wh_wait_settled(ka, fail, 15000);
    d = json_array_get(se_data(&r), 0);
    KVT_EQ_STR(json_string_value(json_object_get(d, "status")), "succeeded", "test event: redelivered, it succeeds");
    kvt_resp_free(&r);

    /* the tenant's log and its filters */
    KVT_EQ_INT(s_total(ka, ""), 2, "log: the tenant's deliveries across its endpoints");
    snprintf(q, sizeof q, "?endpoint_id=%lld", ok);
    KVT_EQ_INT(s_total(ka, q), 1, "log: endpoint_id filter");
    KVT_EQ_INT(s_total(ka, "?event=ping"), 2, "log: event filter");
    KVT_EQ_INT(s_total(ka, "?event=call.missed"), 0, "log: event filter, none");
    KVT_EQ_INT(s_total(ka, "?status=succeeded"), 2, "log: status filter");
    KVT_EQ_INT(s_total(ka, "?status=failed"), 0, "log: status filter, none");
    snprintf(q, sizeof q, "?endpoint_id=%lld", other);
    KVT_EQ_INT(s_total(ka, q), 0, "log: another tenant's endpoint id shows nothing");
    KVT_EQ_INT(s_total(kb, ""), 0, "log: another tenant sees none of these");
    r = kvt_api(ka, "GET", "/api/v1/webhooks/deliveries?per_page=1", NULL);
    KVT_EQ_INT(json_integer_value(json_object_get(json_array_get(se_data(&r), 0), "id")), fdid,
               "log: newest first");
    kvt_resp_free(&r);
    r = kvt_api(ka, "GET", "/api/v1/webhooks/deliveries?status=done&event=x&endpoint_id=abc", NULL);
    json_t *e = json_object_get(r.json, "errors");
    KVT_EQ_INT(r.status, 422, "log: bad filters are 422");
    KVT_OK(json_object_get(e, "status") && json_object_get(e, "event") && json_object_get(e, "endpoint_id"),
           "log: ... each named");
    kvt_resp_free(&r);

    /* another tenant's endpoint, an inactive one, no such one */
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/test", other);
    r = kvt_api(ka, "POST", path, NULL);
    KVT_EQ_INT(r.status, 404, "test event: another tenant's endpoint is 404");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld", ok);
    r = kvt_apif(ka, "PATCH", path, "{\"active\":false}");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/test", ok);
    r = kvt_api(ka, "POST", path, NULL);
    KVT_EQ_INT(r.status, 409, "test event: an inactive endpoint is 409");
    kvt_resp_free(&r);
    r = kvt_api(ka, "POST", "/api/v1/webhooks/999999999999/test", NULL);
    KVT_EQ_INT(r.status, 404, "test event: no such endpoint is 404");
    kvt_resp_free(&r);
    return kvt_done();
}
