/*
 * test_webhooks_delivery.c -- each of the four events reaches a real
 * receiver once, with the documented body and headers, an
 * X-KaiVox-Signature that `openssl dgst -sha256 -hmac` confirms over the
 * received bytes and a webhook-signature that the Standard Webhooks
 * reference algorithm verifies; endpoints get only the types they
 * subscribed to and only their own tenant's events; the delivery log shows
 * each delivery with its one successful attempt.
 */
#include "webhooks_e2e.h"

#define WAIT_MS 20000

/* Checks request n of path: signatures, headers, body shape.  Returns the
 * event type into type[48] and the body's data.id. */
static long long check_request(const wh_receiver_t *rcv, const char *path, int n,
                               const char *secret, char type[48], char delivery[32])
{
    char *body = NULL, *hdrs = NULL, body_path[600], v[256], id[64], ts[32], sig[512];
    size_t len = 0;
    long long data_id = -1;
    type[0] = delivery[0] = '\0';
    if (wh_request(rcv, path, n, &body, &len, &hdrs, body_path, sizeof body_path) != 0) {
        KVT_OK(0, "request %d on %s was saved", n, path);
        return -1;
    }
    wh_hdr(hdrs, "X-Receiver-Method", v, sizeof v);
    KVT_EQ_STR(v, "POST", "delivery %d is a POST", n);
    wh_hdr(hdrs, "Content-Type", v, sizeof v);
    KVT_EQ_STR(v, "application/json", "delivery %d has Content-Type application/json", n);
    wh_hdr(hdrs, "X-KaiVox-Signature", v, sizeof v);
    KVT_OK(wh_openssl_ok(secret, body_path, v),
           "delivery %d X-KaiVox-Signature matches openssl dgst -sha256 -hmac over the bytes", n);
    KVT_OK(!wh_openssl_ok("whsec_d3JvbmcgU2VjcmV0IGZvciB0ZXN0cw==", body_path, v),
           "delivery %d openssl check fails with another secret", n);
    wh_hdr(hdrs, "webhook-id", id, sizeof id);
    wh_hdr(hdrs, "webhook-timestamp", ts, sizeof ts);
    wh_hdr(hdrs, "webhook-signature", sig, sizeof sig);
    KVT_OK(strncmp(sig, "v1,", 3) == 0, "delivery %d webhook-signature has the v1, form", n);
    KVT_OK(wh_std_verify(secret, id, ts, sig, body, len),
           "delivery %d webhook-signature verifies with the Standard Webhooks algorithm", n);
    KVT_OK(!wh_std_verify(secret, id, ts, sig, body, len > 0 ? len - 1 : 0),
           "delivery %d Standard Webhooks check fails on altered bytes", n);
    wh_hdr(hdrs, "X-KaiVox-Delivery", delivery, 32);
    KVT_OK(delivery[0] && strcmp(delivery, id) == 0,
           "delivery %d X-KaiVox-Delivery is present and equals webhook-id", n);
    wh_hdr(hdrs, "X-KaiVox-Timestamp", v, sizeof v);
    long long t = atoll(v);
    KVT_OK(t > 0 && llabs(t - (long long)time(NULL)) < 120 && strcmp(v, ts) == 0,
           "delivery %d X-KaiVox-Timestamp is now and equals webhook-timestamp", n);

    json_error_t jerr;
    json_t *o = json_loadb(body, len, 0, &jerr);
    KVT_OK(json_is_object(o), "delivery %d body is a JSON object", n);
    const char *ev = json_string_value(json_object_get(o, "event"));
    wh_hdr(hdrs, "X-KaiVox-Event", v, sizeof v);
    KVT_OK(ev && strcmp(ev, v) == 0, "delivery %d X-KaiVox-Event equals the body's event", n);
    KVT_OK(json_is_string(json_object_get(o, "id")) &&
           json_is_string(json_object_get(o, "created_at")),
           "delivery %d body has id and created_at", n);
    json_t *data = json_object_get(o, "data");
    KVT_OK(json_is_object(data) && json_is_integer(json_object_get(data, "id")),
           "delivery %d body data is the full object with its id", n);
    KVT_EQ_INT(json_object_size(o), 4, "delivery %d body has exactly id, event, created_at, data", n);
    if (ev)
        snprintf(type, 48, "%s", ev);
    data_id = json_is_integer(json_object_get(data, "id"))
              ? json_integer_value(json_object_get(data, "id")) : -1;
    if (ev && strcmp(ev, "appointment.cancelled") == 0)
        KVT_EQ_STR(json_string_value(json_object_get(data, "status")), "cancelled",
                   "appointment.cancelled carries the cancelled appointment");
    if (ev && strcmp(ev, "call.missed") == 0)
        KVT_OK(json_is_true(json_object_get(data, "missed")), "call.missed carries a missed call");
    json_decref(o);
    free(body);
    free(hdrs);
    return data_id;
}

int main(void)
{
    wh_receiver_t rcv = { 0 };
    wh_receiver_start(&rcv, 5000);
    wh_shop_t a, b;
    wh_shop(&a, "wh-dlv-a");
    wh_shop(&b, "wh-dlv-b");

    char url[256], secret[80], secret_m[80], secret_b[80];
    wh_url(&rcv, "/ok/all", url, sizeof url);
    long long ep_all = wh_endpoint(a.key, url, WH_ALL_EVENTS, secret);
    wh_url(&rcv, "/ok/missed-only", url, sizeof url);
    long long ep_missed = wh_endpoint(a.key, url, "[\"call.missed\"]", secret_m);
    wh_url(&rcv, "/ok/b", url, sizeof url);
    long long ep_b = wh_endpoint(b.key, url, WH_ALL_EVENTS, secret_b);
    KVT_OK(ep_all > 0 && ep_missed > 0 && ep_b > 0, "endpoints created");

    /* The four events of tenant A: a booking, its cancellation, a missed call. */
    long long appt = wh_book(&a, 0);
    KVT_OK(appt > 0, "appointment booked");
    KVT_OK(wh_cancel(&a, appt) == 0, "appointment cancelled");
    kvt_resp_t c = kvt_api(a.key, "POST", "/api/v1/calls",
                           "{\"caller_phone\":\"+15550199001\",\"started_at\":\"2026-03-10T14:00:00Z\","
                           "\"duration_seconds\":5,\"sentiment\":\"neutral\"}");
    KVT_EQ_INT(c.status, 201, "missed call logged");
    long long call = se_int(&c, "id");
    kvt_resp_free(&c);
    /* One event of tenant B. */
    long long appt_b = wh_book(&b, 0);
    KVT_OK(appt_b > 0, "tenant B appointment booked");

    KVT_EQ_INT(wh_wait_count(&rcv, "/ok/all", 4, WAIT_MS), 4, "the four events reached the endpoint");
    KVT_EQ_INT(wh_wait_count(&rcv, "/ok/missed-only", 1, WAIT_MS), 1,
               "the call.missed subscriber got its event");
    KVT_EQ_INT(wh_wait_count(&rcv, "/ok/b", 1, WAIT_MS), 1, "tenant B's endpoint got its event");
    kvt_sleep_ms(1500);   /* anything extra would have arrived by now */
    KVT_EQ_INT(wh_count(&rcv, "/ok/all"), 4, "each event arrived exactly once");
    KVT_EQ_INT(wh_count(&rcv, "/ok/missed-only"), 1,
               "an endpoint receives only the types it subscribed to");
    KVT_EQ_INT(wh_count(&rcv, "/ok/b"), 1, "tenant B's endpoint receives none of tenant A's events");

    int seen[4] = { 0 };
    char deliveries[4][32];
    for (int n = 1; n <= 4; n++) {
        char type[48];
        long long id = check_request(&rcv, "/ok/all", n, secret, type, deliveries[n - 1]);
        if (strcmp(type, "appointment.created") == 0) {
            seen[0]++;
            KVT_EQ_INT(id, appt, "appointment.created carries the booked appointment");
        } else if (strcmp(type, "appointment.cancelled") == 0) {
            seen[1]++;
            KVT_EQ_INT(id, appt, "appointment.cancelled carries the cancelled appointment id");
        } else if (strcmp(type, "call.ended") == 0) {
            seen[2]++;
            KVT_EQ_INT(id, call, "call.ended carries the logged call");
        } else if (strcmp(type, "call.missed") == 0) {
            seen[3]++;
            KVT_EQ_INT(id, call, "call.missed carries the logged call");
        }
    }
    KVT_OK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1 && seen[3] == 1,
           "one of each of the four event types arrived");
    int distinct = 1;
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (strcmp(deliveries[i], deliveries[j]) == 0)
                distinct = 0;
    KVT_OK(distinct, "X-KaiVox-Delivery is unique per delivery");
    char type[48], dl[32];
    long long bid = check_request(&rcv, "/ok/b", 1, secret_b, type, dl);
    KVT_EQ_INT(bid, appt_b, "tenant B's endpoint got tenant B's appointment, signed with its secret");
    check_request(&rcv, "/ok/missed-only", 1, secret_m, type, dl);
    KVT_EQ_STR(type, "call.missed", "the call.missed subscriber got call.missed");

    /* The delivery log. */
    kvt_resp_t r = wh_deliveries(a.key, ep_all, 20);
    KVT_EQ_INT(r.status, 200, "delivery log answers 200");
    KVT_EQ_INT(se_meta(&r, "total"), 4, "delivery log counts the four deliveries");
    json_t *list = se_data(&r);
    size_t i;
    json_t *d;
    long long prev = -1;
    int ok_all = 1, newest_first = 1;
    json_array_foreach(list, i, d) {
        json_t *att = json_object_get(d, "attempts");
        json_t *a0 = json_array_get(att, 0);
        if (strcmp(json_string_value(json_object_get(d, "status")) ?: "", "succeeded") != 0 ||
            json_array_size(att) != 1 || json_integer_value(json_object_get(a0, "status_code")) != 200 ||
            !json_is_null(json_object_get(a0, "error")) ||
            !json_is_integer(json_object_get(a0, "duration_ms")) ||
            !json_is_string(json_object_get(a0, "attempted_at")) ||
            !json_is_string(json_object_get(d, "event_id")) ||
            !json_is_string(json_object_get(d, "event")))
            ok_all = 0;
        long long id = json_integer_value(json_object_get(d, "id"));
        if (prev >= 0 && id >= prev)
            newest_first = 0;
        prev = id;
    }
    KVT_OK(ok_all, "every logged delivery succeeded with one 200 attempt, its time and duration");
    KVT_OK(newest_first, "the delivery log is newest first");
    kvt_resp_free(&r);

    /* Tenant isolation of the log and of redelivery. */
    r = wh_deliveries(a.key, ep_all, 1);
    long long did = json_integer_value(json_object_get(json_array_get(se_data(&r), 0), "id"));
    kvt_resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/webhooks/deliveries/%lld/redeliver", did);
    r = kvt_api(b.key, "POST", path, NULL);
    KVT_EQ_INT(r.status, 404, "tenant B cannot redeliver tenant A's delivery");
    kvt_resp_free(&r);
    r = wh_deliveries(b.key, ep_all, 20);
    KVT_EQ_INT(r.status, 404, "tenant B cannot read tenant A's delivery log");
    kvt_resp_free(&r);
    r = kvt_api(a.key, "POST", path, NULL);
    KVT_EQ_INT(r.status, 202, "redelivery is accepted with 202");
    KVT_EQ_STR(se_str(&r, "status"), "pending", "a redelivered delivery is pending again");
    kvt_resp_free(&r);
    KVT_EQ_INT(wh_wait_count(&rcv, "/ok/all", 5, WAIT_MS), 5, "redelivery reached the receiver");
    r = wh_wait_settled(a.key, ep_all, WAIT_MS);
    json_t *d0 = json_array_get(se_data(&r), 0);
    KVT_EQ_STR(json_string_value(json_object_get(d0, "status")), "succeeded",
               "the redelivered delivery succeeded again");
    KVT_EQ_INT(json_array_size(json_object_get(d0, "attempts")), 2,
               "the log keeps the first attempt and adds the redelivery");
    kvt_resp_free(&r);
    char *b5 = NULL, *h5 = NULL, bp[600], dl5[32];
    size_t l5;
    if (wh_request(&rcv, "/ok/all", 5, &b5, &l5, &h5, bp, sizeof bp) == 0) {
        wh_hdr(h5, "X-KaiVox-Delivery", dl5, sizeof dl5);
        char want[32];
        snprintf(want, sizeof want, "%lld", did);
        KVT_EQ_STR(dl5, want, "a redelivery keeps its delivery id");
        free(b5);
        free(h5);
    }
    wh_receiver_stop(&rcv);
    return kvt_done();
}
