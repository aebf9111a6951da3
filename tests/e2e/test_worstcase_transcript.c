/*
 * test_worstcase_transcript.c -- the largest legal call, with the longest
 * transcript, is logged, shown whole by GET /api/v1/calls/{id}, carried
 * by events.since in one page and delivered whole to a webhook receiver
 * (issue 9, item 1: every legal object fits a bus frame on every way it
 * travels).
 *
 * The call has every field at its longest (test_worstcase_calls.c) and a
 * transcript of 5000 turns holding 500,000 characters of 4-byte text, and
 * 100 appointments are booked during it (the show lists their ids, at most
 * KV_CALL_APPOINTMENTS_MAX).  Its
 * body is about 2.4 MB, more than the default request body limit
 * (KAIVOX_MAX_BODY_BYTES, 1 MiB): over HTTP it is 413, as documented, and
 * a deployment that wants such calls raises that setting.  This test logs
 * it as the gateway would forward it then: calls.create over the bus with
 * the tenant's context.  The webhook service is stopped meanwhile, so that
 * the event reaches it by catch-up (events.since), not by the PUB fast
 * path: the page that carries the event alone is within the bound of
 * proto/kv_sizes.h, and once the service is back the event is stored and
 * delivered, signed over the exact bytes, with the call exactly as GET
 * shows it.
 */
#include "worstcase_e2e.h"

/* 1 when every turn of got's transcript equals the one sent. */
static int s_same_turns(json_t *sent, json_t *got)
{
    json_t *a = json_object_get(sent, "transcript"), *b = json_object_get(got, "transcript");
    if (json_array_size(a) != json_array_size(b))
        return 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
        if (!json_equal(json_object_get(x, "text"), json_object_get(y, "text")) ||
            !json_equal(json_object_get(x, "speaker"), json_object_get(y, "speaker")) ||
            json_number_value(json_object_get(x, "offset_seconds")) !=
                json_number_value(json_object_get(y, "offset_seconds")))
            return 0;
    }
    return 1;
}

int main(void)
{
    char key[64], secret[80] = "";
    int64_t tenant = se_tenant("wc-transcript", "UTC", 5, key);
    wh_receiver_t rcv = { 0 };
    wh_receiver_start(&rcv, 1000);
    char url[256];
    wh_url(&rcv, "/ok/largest-call", url, sizeof url);
    long long ep = wh_endpoint(key, url, "[\"call.ended\"]", secret);
    KVT_OK(ep > 0, "a webhook endpoint for the tenant's call.ended");

    json_t *call = wc_call_json(0, 1);
    char *body = json_dumps(call, JSON_COMPACT | JSON_REAL_PRECISION(15));
    size_t blen = strlen(body);
    char *ascii = json_dumps(call, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
    size_t alen = ascii ? strlen(ascii) : 0;
    free(ascii);
    fprintf(stderr, "worstcase: the largest legal call's request body: %zu bytes (%zu with "
            "every character escaped)\n", blen, alen);
    KVT_OK(alen > blen && alen <= 7 * 1024 * 1024, "written with \\u escapes it is %zu bytes: "
           "KAIVOX_MAX_BODY_BYTES=7 MiB, the setting the README gives, admits it", alen);

    /* over HTTP, with the default body limit: 413, as documented */
    kvt_resp_t r = calls_post(key, body);
    KVT_EQ_INT(r.status, 413, "POST /api/v1/calls of the largest call (%zu bytes) is 413 under "
               "the default 1 MiB body limit", blen);
    kvt_resp_free(&r);
    free(body);

    /* the event must come by catch-up: the webhook service is down */
    KVT_EQ_INT(kvt_stack("stop webhooks"), 0, "the webhook service is stopped");

    void *zmq = zmq_ctx_new();
    kv_client_t *c = gw_bus_client_new(zmq, KV_SVC_CALLS);
    char rid[33];
    kv_bus_new_id(rid);
    json_t *out = NULL;
    int st = kv_client_call_tenant(c, rid, tenant, KV_SVC_CALLS, "calls.create", NULL, call,
                                   30000, &out);
    KVT_EQ_INT(st, 201, "calls.create of the largest call, as the gateway forwards it, is 201");
    long long id = json_integer_value(json_object_get(json_object_get(out, "data"), "id"));
    json_decref(out);
    KVT_OK(id > 0, "the call has an id (%lld)", id);

    /* the most appointments a show lists, booked during the call: 5-minute
     * bookings tomorrow from midnight */
    char hours[512], date[11];
    long long service = se_service(tenant, "Quick", 5, "10.00");
    long long staff = se_staff(tenant, "Ann", se_every_day("[[\"00:00\",\"12:00\"]]", hours,
                                                          sizeof hours), NULL);
    long long customer = se_customer(key);
    KVT_OK(service > 0 && staff > 0 && customer > 0, "a service, a staff member, a customer");
    se_date(1, date);
    json_t *booked = json_array();
    for (int i = 0; i < KV_CALL_APPOINTMENTS_MAX; i++) {
        char hm[32];   /* room for any int (-O1 format-truncation) */
        snprintf(hm, sizeof hm, "%02d:%02d", i * 5 / 60, i * 5 % 60);
        json_t *o = json_pack("{sIsIsIsssssI}", "customer_id", (json_int_t)customer,
                              "service_id", (json_int_t)service, "staff_id", (json_int_t)staff,
                              "appointment_date", date, "appointment_time", hm,
                              "call_id", (json_int_t)id);
        char *b = wc_dump(o);
        r = kvt_api(key, "POST", "/api/v1/appointments", b);
        if (r.status == 201)
            json_array_append_new(booked, json_integer(se_int(&r, "id")));
        else
            fprintf(stderr, "booking %d: %ld %.300s\n", i, r.status, r.body ? r.body : "");
        kvt_resp_free(&r);
        free(b);
    }
    KVT_EQ_INT(json_array_size(booked), KV_CALL_APPOINTMENTS_MAX,
               "100 appointments are booked during the call");

    /* the show */
    char path[64];
    snprintf(path, sizeof path, "/api/v1/calls/%lld", id);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "GET /api/v1/calls/{id} of the largest call answers 200");
    /* shown: the call as its event carries it, without the bookings */
    json_t *shown = json_copy(json_object_get(r.json, "data"));
    KVT_OK(json_equal(json_object_get(shown, "appointment_ids"), booked),
           "with the ids of the 100 appointments booked during it, oldest first");
    json_object_del(shown, "appointment_ids");
    json_decref(booked);
    KVT_EQ_INT(json_array_size(json_object_get(shown, "transcript")), KV_CALL_TURNS_MAX,
               "with all 5000 turns");
    KVT_OK(s_same_turns(call, shown), "every turn's speaker, text and offset as logged");
    KVT_OK(json_equal(json_object_get(call, "summary"), json_object_get(shown, "summary")),
           "and the whole summary");
    long long clen = -1;
    KVT_OK(gw_hdr_ll(&r, "Content-Length", &clen) == 0 && clen == (long long)r.body_len,
           "the whole body arrived: Content-Length %lld, %zu bytes read", clen, r.body_len);
    wc_size("calls.get of the largest legal call", r.body_len, KV_SZ_CALLS_SHOW, 95);
    kvt_resp_free(&r);

    /* events.since: the page that carries it */
    char id_s[24];
    snprintf(id_s, sizeof id_s, "%lld", id);
    const char *p1[1] = { id_s };
    long long seq = wh_sql_int("calls", "SELECT seq FROM outbox WHERE type = 'call.ended' "
                               "AND payload->>'id' = $1", 1, p1);
    KVT_OK(seq > 0, "its call.ended event is in the calls outbox (seq %lld)", seq);
    json_t *req = json_pack("{sIsi}", "after", (json_int_t)(seq - 1), "limit", 1000);
    kv_bus_new_id(rid);
    out = NULL;
    st = kv_client_call_tenant(c, rid, 0, KV_SVC_CALLS, KV_OP_EVENTS_SINCE, NULL, req, 30000,
                               &out);
    json_decref(req);
    KVT_EQ_INT(st, 200, "events.since from just before it answers 200");
    json_t *data = json_object_get(out, "data");
    json_t *ev = json_array_get(data, 0);
    KVT_EQ_INT(json_integer_value(json_object_get(ev, "seq")), seq, "with the event first");
    KVT_EQ_INT(json_array_size(data), 1, "alone in its page (its payload is over 1 MiB)");
    KVT_OK(json_equal(json_object_get(ev, "payload"), shown),
           "its payload is the call exactly as GET shows it (but the bookings made since)");
    char *page = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
    wc_size("events.since page of the largest call event", page ? strlen(page) : 0,
            KV_SZ_EVENTS_PAGE, 95);
    free(page);
    json_decref(out);
    kv_client_destroy(&c);
    zmq_ctx_term(zmq);

    /* the webhook service comes back, catches up and delivers it */
    KVT_EQ_INT(kvt_stack("start webhooks"), 0, "the webhook service is started again");
    int got = wh_wait_count(&rcv, "/ok/largest-call", 1, 60000);
    KVT_EQ_INT(got, 1, "the event is taken in by catch-up and delivered once");
    char *dbody = NULL, *hdrs = NULL, bp[600], sig[160] = "";
    size_t dlen = 0;
    if (got >= 1 && wh_request(&rcv, "/ok/largest-call", 1, &dbody, &dlen, &hdrs, bp,
                               sizeof bp) == 0) {
        json_t *d = json_loadb(dbody, dlen, 0, NULL);
        KVT_EQ_STR(json_string_value(json_object_get(d, "event")), "call.ended",
                   "the delivery is the call.ended event");
        KVT_OK(json_equal(json_object_get(d, "data"), shown),
               "its data is the whole call exactly as GET shows it (but the bookings)");
        wh_hdr(hdrs, "X-KaiVox-Signature", sig, sizeof sig);
        KVT_OK(wh_openssl_ok(secret, bp, sig),
               "X-KaiVox-Signature verifies over the exact %zu bytes received", dlen);
        wc_size("webhook delivery body of the largest call event", dlen, KV_SZ_DELIVERY_BODY, 95);
        json_decref(d);
    } else {
        KVT_OK(0, "the delivery can be read back from the receiver");
    }
    free(dbody);
    free(hdrs);

    json_decref(shown);
    json_decref(call);
    wh_receiver_stop(&rcv);
    return kvt_done();
}
