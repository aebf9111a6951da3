/*
 * test_obs_trace.c -- W3C trace context from HTTP through the bus to every
 * service and into the outgoing webhook request, and the log lines that
 * let one request be followed across processes with grep:
 *   - a client's traceparent: the gateway's log line of the request, the
 *     webhooks service's lines of the operation and of the delivery carry
 *     its trace id (and the request's id where there is one), and the
 *     receiver gets a traceparent of the same trace with a span id of its
 *     own (never the client's);
 *   - an event (appointment.cancelled) keeps the trace of the request that
 *     made it through the outbox and the intake: its webhook request
 *     carries a traceparent of that trace;
 *   - calls -> crm (a service calling another): crm's line of the nested
 *     operation carries the same trace id;
 *   - an invalid traceparent is ignored (the request succeeds, a new trace
 *     starts), and a request without one gets a new trace id too.
 */
#include "obs_e2e.h"

static kvt_resp_t s_traced(const char *key, const char *method, const char *path,
                           const char *body, const char *rid, const char *tp, const char *ts)
{
    char url[512], auth[128], h_rid[128], h_tp[160], h_ts[160];
    snprintf(url, sizeof url, "%s%s", kvt_env("KVT_BASE_URL", ""), path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    snprintf(h_rid, sizeof h_rid, "X-Request-Id: %s", rid);
    snprintf(h_tp, sizeof h_tp, "traceparent: %s", tp ? tp : "");
    snprintf(h_ts, sizeof h_ts, "tracestate: %s", ts ? ts : "");
    const char *hdrs[6] = { auth, h_rid, "Content-Type: application/json", NULL, NULL, NULL };
    int n = 3;
    if (tp)
        hdrs[n++] = h_tp;
    if (ts)
        hdrs[n++] = h_ts;
    return kvt_http(method, url, body, body ? strlen(body) : 0, hdrs);
}

/* The trace_id of the gateway's request line of request id rid, into
 * out[33]; 0 found, -1 not.  The line is written when the request
 * completes, just after the answer went out: waits for it (10 s). */
static int s_gateway_trace_once(const char *rid, char out[33]);
static int s_gateway_trace(const char *rid, char out[33])
{
    for (int i = 0; i < 100; i++) {
        if (s_gateway_trace_once(rid, out) == 0)
            return 0;
        kvt_sleep_ms(100);
    }
    out[0] = '\0';
    return -1;
}

static int s_gateway_trace_once(const char *rid, char out[33])
{
    char *log = obs_log("gateway");
    int rc = -1;
    char needle[128];
    snprintf(needle, sizeof needle, "\"request_id\":\"%s\",\"trace_id\":\"", rid);
    const char *p = log ? strstr(log, needle) : NULL;
    if (p) {
        p += strlen(needle);
        if (strlen(p) > 32 && p[32] == '"') {
            memcpy(out, p, 32);
            out[32] = '\0';
            rc = 0;
        }
    }
    free(log);
    return rc;
}

static int s_hex32(const char *s)
{
    if (strlen(s) != 32)
        return 0;
    for (int i = 0; i < 32; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return 0;
    return 1;
}

int main(void)
{
    int64_t tenant;
    char key[64];
    if (kvt_tenant("obs-trace", NULL, &tenant, key) != 0) {
        printf("FAIL setup: tenant\n");
        return kvt_done();
    }
    char trace[33], parent[17], rid[40], tp[64];
    kv_trace_random_hex(trace, 32);
    kv_trace_random_hex(parent, 16);
    kv_trace_random_hex(rid, 32);
    snprintf(tp, sizeof tp, "00-%s-%s-01", trace, parent);

    /* ---- HTTP -> gateway -> webhooks -> the receiver ---- */
    wh_receiver_t rcv = { 0 };
    wh_receiver_start(&rcv, 1000);
    char hook[300];
    wh_url(&rcv, "/ok/trace", hook, sizeof hook);
    long long ep = wh_endpoint(key, hook, WH_ALL_EVENTS, NULL);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/test", ep);
    kvt_resp_t r = s_traced(key, "POST", path, NULL, rid, tp, "kaivox=obs1,other=x");
    KVT_EQ_INT(r.status, 202, "a test event with a client traceparent is queued");
    kvt_resp_free(&r);
    KVT_OK(wh_wait_count(&rcv, "/ok/trace", 1, 20000) >= 1, "the receiver got the delivery");
    char *body = NULL, *headers = NULL;
    char got[128] = "";
    size_t blen = 0;
    char bpath[700];
    if (wh_request(&rcv, "/ok/trace", 1, &body, &blen, &headers, bpath, sizeof bpath) == 0)
        wh_hdr(headers, "traceparent", got, sizeof got);
    KVT_EQ_INT((long long)strlen(got), 55, "the webhook request carries a traceparent (%s)", got);
    KVT_OK(strncmp(got, "00-", 3) == 0 && strncmp(got + 3, trace, 32) == 0,
           "of the client's trace");
    KVT_OK(strlen(got) == 55 && strncmp(got + 36, parent, 16) != 0 && strcmp(got + 52, "-01") == 0,
           "with a span id of its own (not the client's) and the client's flags");
    free(body);
    free(headers);

    /* the logs: one grep on the trace id follows the request */
    char *gw = obs_log("gateway"), *wh = obs_log("webhooks");
    char tneedle[64], rneedle[64];
    snprintf(tneedle, sizeof tneedle, "\"trace_id\":\"%s\"", trace);
    snprintf(rneedle, sizeof rneedle, "\"request_id\":\"%s\"", rid);
    char first[33];
    KVT_OK(s_gateway_trace(rid, first) == 0 && strcmp(first, trace) == 0,
           "the gateway's line of the request carries its request id and the client's trace id");
    KVT_OK(obs_lines_with(wh, tneedle, "op webhooks.test") >= 1 &&
           obs_lines_with(wh, tneedle, rneedle) >= 1,
           "the webhooks service's line of the operation carries the same trace and request ids");
    int waited = 0;
    while (obs_lines_with(wh, tneedle, "deliver: delivery") < 1 && waited < 10000) {
        free(wh);
        kvt_sleep_ms(200);
        waited += 200;
        wh = obs_log("webhooks");
    }
    KVT_OK(obs_lines_with(wh, tneedle, "deliver: delivery") >= 1,
           "the delivery attempt's line carries the trace id too");
    free(gw);
    free(wh);
    wh_receiver_stop(&rcv);

    /* ---- an event: outbox -> PUB/events.since -> intake -> delivery ---- */
    wh_receiver_t rcv2 = { 0 };
    wh_receiver_start(&rcv2, 1000);
    wh_shop_t shop;
    wh_shop(&shop, "obs-trace-shop");
    char hook2[300];
    wh_url(&rcv2, "/ok/event", hook2, sizeof hook2);
    long long ep2 = wh_endpoint(shop.key, hook2, "[\"appointment.cancelled\"]", NULL);
    long long appt = wh_book(&shop, 0);
    KVT_OK(ep2 > 0 && appt > 0, "a shop with an endpoint for appointment.cancelled and a booking");
    char trace5[33], rid5[40], tp5[64], apath[96];
    kv_trace_random_hex(trace5, 32);
    kv_trace_random_hex(rid5, 32);
    snprintf(tp5, sizeof tp5, "00-%s-%s-01", trace5, parent);
    snprintf(apath, sizeof apath, "/api/v1/appointments/%lld", appt);
    r = s_traced(shop.key, "DELETE", apath, NULL, rid5, tp5, NULL);
    KVT_EQ_INT(r.status, 200, "the booking is cancelled with a traceparent");
    kvt_resp_free(&r);
    KVT_OK(wh_wait_count(&rcv2, "/ok/event", 1, 30000) >= 1, "the appointment.cancelled webhook arrived");
    got[0] = '\0';
    body = headers = NULL;
    if (wh_request(&rcv2, "/ok/event", 1, &body, &blen, &headers, bpath, sizeof bpath) == 0)
        wh_hdr(headers, "traceparent", got, sizeof got);
    KVT_OK(strlen(got) == 55 && strncmp(got + 3, trace5, 32) == 0,
           "the event's webhook request continues the trace of the request that made it (%s)", got);
    free(body);
    free(headers);
    wh_receiver_stop(&rcv2);

    /* ---- calls -> crm: a service's call to another keeps the trace ---- */
    char trace2[33], rid2[40], tp2[64];
    kv_trace_random_hex(trace2, 32);
    kv_trace_random_hex(rid2, 32);
    snprintf(tp2, sizeof tp2, "00-%s-%s-00", trace2, parent);
    r = s_traced(key, "POST", "/api/v1/calls",
                 "{\"caller_phone\":\"+15550170123\",\"started_at\":\"2026-05-01T10:00:00Z\","
                 "\"duration_seconds\":30}", rid2, tp2, NULL);
    KVT_EQ_INT(r.status, 201, "a call is logged (calls asks crm for the caller)");
    kvt_resp_free(&r);
    char *cl = obs_log("calls"), *cr = obs_log("crm");
    snprintf(tneedle, sizeof tneedle, "\"trace_id\":\"%s\"", trace2);
    KVT_OK(obs_lines_with(cl, tneedle, "op calls.create") >= 1, "calls' line of calls.create has the trace id");
    KVT_OK(obs_lines_with(cr, tneedle, "op customers.find_or_create") >= 1,
           "crm's line of the nested customers.find_or_create has the same trace id");
    free(cl);
    free(cr);

    /* ---- an invalid traceparent, and none ---- */
    char rid3[40], rid4[40], t3[33], t4[33];
    kv_trace_random_hex(rid3, 32);
    kv_trace_random_hex(rid4, 32);
    r = s_traced(key, "GET", "/api/v1/services", NULL, rid3,
                 "00-ZZZZ2f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "kaivox=x");
    KVT_EQ_INT(r.status, 200, "an invalid traceparent is ignored: the request succeeds");
    kvt_resp_free(&r);
    r = s_traced(key, "GET", "/api/v1/services", NULL, rid4, NULL, NULL);
    KVT_EQ_INT(r.status, 200, "a request without a traceparent succeeds");
    kvt_resp_free(&r);
    KVT_OK(s_gateway_trace(rid3, t3) == 0 && s_hex32(t3) && strcmp(t3, "zzzz2f3577b34da6a3ce929d0e0e4736") != 0 &&
           strncmp(t3, "zzzz", 4) != 0, "an invalid traceparent: a new trace id in the logs (%s)", t3);
    KVT_OK(s_gateway_trace(rid4, t4) == 0 && s_hex32(t4) && strcmp(t4, t3) != 0,
           "no traceparent: a new trace id of its own");
    char *sc = obs_log("scheduling");
    snprintf(tneedle, sizeof tneedle, "\"trace_id\":\"%s\"", t4);
    KVT_OK(obs_lines_with(sc, tneedle, "op services.list") >= 1,
           "the new trace reaches the service too");
    free(sc);
    return kvt_done();
}
