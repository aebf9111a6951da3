/*
 * test_worstcase_gateway.c -- the gateway's room arithmetic: whatever
 * KAIVOX_MAX_BODY_BYTES allows reaches a worker, and whatever a worker may
 * answer reaches the client (issue 9, item 1: "when KAIVOX_MAX_BODY_BYTES
 * is set above the bus limit").
 *
 *  - A gateway started with KAIVOX_MAX_BODY_BYTES one byte over
 *    GW_MAX_BODY_LIMIT (the bus body limit minus GW_BUS_ROOM) refuses to
 *    start and says the most it may be.
 *  - A gateway started with exactly that limit (a private one, with a
 *    fake calls worker on its own bus) forwards a request whose body is
 *    that large and whose request-target is as long as allowed (8 KiB,
 *    quotes that JSON escapes): the worker receives all of it in one bus
 *    body within KV_BODY_MAX.  The worker answers a body of exactly
 *    KV_BODY_MAX bytes, which the client receives whole, byte for byte
 *    (the gateway's copy, libmicrohttpd's 16 MiB response).  One byte
 *    more of request body is 413 and never reaches the worker.
 */
#include <pthread.h>

#include "worstcase_e2e.h"
#include "../../services/gateway/gw_http.h"

typedef struct {
    bus_fake_t *f;
    int got;                     /* a request arrived */
    size_t bus_len;              /* its bus body's length */
    size_t query_len, body_len;  /* query.q and body.x as the worker read them */
    char *reply;                 /* what it answered (KV_BODY_MAX bytes) */
} s_worker_t;

static void *s_work(void *arg)
{
    s_worker_t *w = arg;
    w->got = bus_fake_pump(w->f, 60000, 0);
    if (!w->got)
        return NULL;
    size_t len = 0;
    const char *b = kv_msg_data(w->f->req, 4, &len);
    w->bus_len = len;
    json_t *j = json_loadb(b, len, 0, NULL);
    const char *q = json_string_value(json_object_get(json_object_get(j, "query"), "q"));
    const char *x = json_string_value(json_object_get(json_object_get(j, "body"), "x"));
    w->query_len = q ? strlen(q) : 0;
    w->body_len = x ? strlen(x) : 0;
    json_decref(j);
    /* an envelope of exactly KV_BODY_MAX bytes */
    const char *head = "{\"success\":true,\"data\":\"", *tail = "\"}";
    w->reply = malloc(KV_BODY_MAX + 1);
    size_t hl = strlen(head), tl = strlen(tail);
    memcpy(w->reply, head, hl);
    for (size_t i = hl; i < KV_BODY_MAX - tl; i++)
        w->reply[i] = (char)('a' + i % 26);
    memcpy(w->reply + KV_BODY_MAX - tl, tail, tl);
    w->reply[KV_BODY_MAX] = '\0';
    bus_fake_reply_raw(w->f, NULL, 200, w->reply, KV_BODY_MAX);
    return NULL;
}

/* 1 when the log file of name holds needle. */
static int s_log_has(const char *name, const char *needle)
{
    char path[512];
    snprintf(path, sizeof path, "%s/log/%s.log", kvt_env("KAIVOX_VAR_DIR", "var"), name);
    char *text = wh_read(path, NULL);
    int found = text && strstr(text, needle);
    free(text);
    return found;
}

int main(void)
{
    char key[64], env1[64], env2[64], want[160];
    se_tenant("wc-gateway", "UTC", 0, key);
    int base = atoi(kvt_env("KVT_PORT_BASE", "18000"));

    /* one byte over the limit: no start */
    gw_private_t g;
    snprintf(env1, sizeof env1, "KAIVOX_MAX_BODY_BYTES=%d", GW_MAX_BODY_LIMIT + 1);
    const char *over[] = { env1, NULL };
    KVT_OK(gw_private_start(&g, "gateway-wc-over", over) != 0,
           "a gateway with KAIVOX_MAX_BODY_BYTES=%d does not start", GW_MAX_BODY_LIMIT + 1);
    snprintf(want, sizeof want, "more than the bus carries: at most %d", GW_MAX_BODY_LIMIT);
    KVT_OK(s_log_has("gateway-wc-over", want), "it says the most it may be (%d: the bus body "
           "limit %d minus %d)", GW_MAX_BODY_LIMIT, KV_BODY_MAX, GW_BUS_ROOM);

    /* exactly the limit: starts, and carries it */
    snprintf(env2, sizeof env2, "KAIVOX_MAX_BODY_BYTES=%d", GW_MAX_BODY_LIMIT);
    const char *at[] = { env2, NULL };
    /* Its fixed ports lie in the kernel's ephemeral range: another
     * process's closed outgoing connection may hold one (TIME-WAIT) for up
     * to a minute, which is no fault of the gateway: then try again. */
    int started = 0;
    for (int attempt = 0; attempt < 15 && !started; attempt++) {
        started = gw_private_start(&g, "gateway-wc-limit", at) == 0;
        if (!started && !s_log_has("gateway-wc-limit", "Address already in use"))
            break;
        if (!started)
            kvt_sleep_ms(5000);
    }
    if (!started) {
        KVT_OK(0, "a gateway with KAIVOX_MAX_BODY_BYTES=%d starts", GW_MAX_BODY_LIMIT);
        return kvt_done();
    }
    char bus[64];
    snprintf(bus, sizeof bus, "tcp://127.0.0.1:%d", base + 93);
    setenv("KAIVOX_BUS_ENDPOINT", bus, 1);
    void *zmq = zmq_ctx_new();
    char *info = bus_fake_info(1, "wc-fake", 1, "calls.create");
    s_worker_t w = { .f = bus_fake_new(zmq, KV_SVC_CALLS, info) };
    free(info);
    bus_fake_pump(w.f, 500, 0);      /* registered */

    /* a request-target of exactly GW_URI_MAX bytes: /api/v1/calls?q= and
     * percent-encoded quotes */
    char target[GW_URI_MAX + 1];
    size_t t = (size_t)snprintf(target, sizeof target, "/api/v1/calls?q=");
    size_t quotes = 0;
    for (; t + 3 <= GW_URI_MAX; t += 3, quotes++)
        memcpy(target + t, "%22", 3);
    for (; t < GW_URI_MAX; t++)
        target[t] = 'a';
    target[GW_URI_MAX] = '\0';
    size_t qlen = quotes + (GW_URI_MAX - (strlen("/api/v1/calls?q=") + 3 * quotes));
    /* a body of exactly KAIVOX_MAX_BODY_BYTES */
    size_t n = GW_MAX_BODY_LIMIT;
    char *body = malloc(n + 2);
    memcpy(body, "{\"x\":\"", 6);
    memset(body + 6, 'b', n - 8);
    memcpy(body + n - 2, "\"}", 2);
    body[n] = '\0';

    char url[GW_URI_MAX + 64], auth[128];
    snprintf(url, sizeof url, "%s%s", g.base_url, target);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *hdrs[] = { auth, NULL };
    pthread_t th;
    pthread_create(&th, NULL, s_work, &w);
    kvt_resp_t r = kvt_http("POST", url, body, n, hdrs);
    pthread_join(th, NULL);

    KVT_OK(w.got, "a request with a %zu-byte body and a %d-byte request-target reaches the "
           "worker", n, GW_URI_MAX);
    KVT_OK(w.bus_len > n && w.bus_len <= KV_BODY_MAX,
           "in one bus body of %zu bytes: more than the HTTP body, within KV_BODY_MAX (%d)",
           w.bus_len, KV_BODY_MAX);
    KVT_EQ_INT(w.body_len, n - 8, "the worker reads the whole body");
    KVT_EQ_INT(w.query_len, qlen, "and the whole query");
    KVT_EQ_INT(r.status, 200, "the worker's answer comes back: 200");
    KVT_EQ_INT(r.body_len, KV_BODY_MAX, "a body of exactly KV_BODY_MAX bytes arrives whole");
    KVT_OK(w.reply && r.body && r.body_len == KV_BODY_MAX &&
           memcmp(r.body, w.reply, KV_BODY_MAX) == 0, "byte for byte");
    fprintf(stderr, "worstcase: request of %zu + %d bytes -> bus body %zu bytes; answer of %zu "
            "bytes in %.2f s\n", n, GW_URI_MAX, w.bus_len, r.body_len, r.seconds);
    kvt_resp_free(&r);
    free(w.reply);

    /* one byte more: 413, and nothing reaches the worker */
    body[n] = ' ';
    body[n + 1] = '\0';
    r = kvt_http("POST", url, body, n + 1, hdrs);
    KVT_EQ_INT(r.status, 413, "a body one byte over KAIVOX_MAX_BODY_BYTES is 413");
    kvt_resp_free(&r);
    KVT_OK(!bus_fake_pump(w.f, 500, 0), "and never reaches the worker");
    free(body);

    bus_fake_close(&w.f, 1);
    zmq_ctx_term(zmq);
    KVT_EQ_INT(gw_private_stop(&g), 0, "the private gateway stops cleanly");
    return kvt_done();
}
