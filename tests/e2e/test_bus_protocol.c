/*
 * test_bus_protocol.c -- the broker of the running gateway against peers
 * that misbehave or come from another version, driven by hand-made frames
 * (a fake worker and raw DEALER sockets on KAIVOX_BUS_ENDPOINT):
 *
 *   - a KVB2 request, and a KVB1 request whose header says v 2, get 505 at
 *     once, carrying the caller's correlation id;
 *   - a worker announcing an operation nobody else serves gets its
 *     requests (the upgraded instance of a rolling upgrade), and only
 *     those; an operation no live worker serves is 501 at once;
 *   - a reply the broker refuses (body over the frame limit, malformed
 *     header, reply to another request) is answered 502 at once and the
 *     worker is free for the next request at once; a frame over
 *     ZMQ_MAXMSGSIZE drops the worker's connection, and its request is
 *     answered within a second;
 *   - a worker still busy past its request's deadline plus the grace is
 *     dropped (told to re-register) although it keeps heartbeating;
 *   - WITHDRAW is acknowledged, after which the worker gets nothing;
 *   - a worker of another protocol version is refused with a log line.
 */
#include "bus_e2e.h"

#define S_OP "kvt.upgrade_probe"
/* "At once": these answers take milliseconds; what they replace came at
 * the deadline (3-5 s here), so 2 s tells them apart on a loaded machine. */
#define S_AT_ONCE 2.0

static void *s_zmq;

/* A raw DEALER to the broker. */
static void *s_raw(void)
{
    void *s = kv_msg_socket(s_zmq, ZMQ_DEALER);
    gw_bus_keys();
    kv_curve_client(s);
    zmq_connect(s, bus_endpoint());
    return s;
}

/* Sends frames parts[0..n) on sock and waits up to ms for one answer;
 * returns it (caller owns) or NULL.  *secs: how long it took. */
static kv_msg_t *s_raw_call(void *sock, const char *const *parts, int n, int ms, double *secs)
{
    kv_msg_t *m = kv_msg_new();
    for (int i = 0; i < n; i++)
        kv_msg_addstr(m, parts[i]);
    double t0 = bus_now();
    kv_msg_send(m, sock);
    kv_msg_destroy(&m);
    kv_msg_t *r = kv_msg_recv(sock, ms);
    *secs = bus_now() - t0;
    return r;
}

static void test_versions(void)
{
    void *raw = s_raw();
    kvt_sleep_ms(200);   /* connected */
    double secs;
    const char *v2[] = { "KVB2", "\x02", "scheduling",
                         "{\"v\":2,\"id\":\"kvt-v2-request\",\"cid\":\"cid-v2\",\"op\":\"services.list\","
                         "\"something\":{\"new\":true}}",
                         "{}" };
    kv_msg_t *r = s_raw_call(raw, v2, 5, 3000, &secs);
    kv_bus_frame_t f;
    kv_hdr_t h;
    int ok = r && kv_bus_parse(r, KV_BUS_AT_CLIENT, &f) == KV_BUS_OK && f.cmd == KV_CMD_REPLY &&
             kv_hdr_decode(f.header, f.header_len, 1, &h) == KV_BUS_OK;
    KVT_OK(ok, "a KVB2 request is answered with a KVB1 REPLY");
    KVT_EQ_INT(ok ? h.status : 0, 505, "with status 505");
    KVT_OK(secs < S_AT_ONCE, "at once (%.3f s), not at the deadline", secs);
    KVT_EQ_STR(ok ? h.cid : "", "cid-v2", "carrying the caller's correlation id");
    KVT_EQ_STR(ok ? h.id : "", "kvt-v2-request", "and its request id");
    KVT_OK(ok && f.body && strstr(f.body, "Unsupported bus protocol version") != NULL,
           "the body is the error envelope");
    kv_msg_destroy(&r);

    const char *hv2[] = { "KVB1", "\x02", "crm",
                          "{\"v\":2,\"id\":\"kvt-hv2\",\"cid\":\"cid-hv2\",\"op\":\"customers.list\"}", "{}" };
    r = s_raw_call(raw, hv2, 5, 3000, &secs);
    ok = r && kv_bus_parse(r, KV_BUS_AT_CLIENT, &f) == KV_BUS_OK &&
         kv_hdr_decode(f.header, f.header_len, 1, &h) == KV_BUS_OK;
    KVT_OK(ok && h.status == 505 && strcmp(h.cid, "cid-hv2") == 0 && secs < S_AT_ONCE,
           "a KVB1 request whose header says v 2 gets 505 at once with its cid (%.3f s)", secs);
    kv_msg_destroy(&r);
    zmq_close(raw);

    /* a worker of another version is refused, with a log line */
    char *info = bus_fake_info(2, "kvt-v2-instance", 1, "kvt.v2_only");
    bus_fake_t *w2 = bus_fake_new(s_zmq, KV_SVC_SCHEDULING, info);
    free(info);
    const char *ready3[] = { "KVB3", "\x01", "crm" };
    void *raw3 = s_raw();
    kv_msg_t *m = kv_msg_new();
    for (int i = 0; i < 3; i++)
        kv_msg_addstr(m, ready3[i]);
    kv_msg_send(m, raw3);
    kv_msg_destroy(&m);
    bus_fake_pump(w2, 500, 0);
    kv_client_t *c = gw_bus_client_new(s_zmq, KV_SVC_SCHEDULING);
    int st = bus_call(c, 0, KV_SVC_SCHEDULING, "kvt.v2_only", 2000, &secs, NULL);
    KVT_EQ_INT(st, 501, "a worker announcing protocol version 2 is not registered (its op is 501)");
    KVT_OK(bus_log_has("gateway", "refusing a scheduling worker: it speaks bus protocol version 2"),
           "the gateway logs why it refused the v2 worker");
    KVT_OK(bus_log_has("gateway", "refusing a crm worker: it speaks bus protocol version 3 (KVB3)"),
           "the gateway logs why it refused a KVB3 READY");
    kv_client_destroy(&c);
    bus_fake_close(&w2, 0);
    zmq_close(raw3);
}

/* ---- a call in a thread, so that the main thread can play the worker ---- */

typedef struct {
    kv_client_t *c;
    const char *service;
    int st;
    json_t *out;
    int timeout_ms;
    const char *op;
    double secs;
} s_call_t;

static void *s_call_op(void *arg)
{
    s_call_t *call = arg;
    call->st = bus_call(call->c, 0, call->service, call->op, call->timeout_ms, &call->secs,
                        &call->out);
    return NULL;
}

/* Starts a call of service.op in a thread; the fake w takes it (1) or
 * not (0). */
static int s_start_svc(s_call_t *call, pthread_t *th, bus_fake_t *w, kv_client_t *c,
                       const char *service, const char *op, int timeout_ms)
{
    memset(call, 0, sizeof *call);
    call->c = c;
    call->service = service;
    call->op = op;
    call->timeout_ms = timeout_ms;
    pthread_create(th, NULL, s_call_op, call);
    return bus_fake_pump(w, 3000, 0);
}

/* The same for an operation of scheduling. */
static int s_start(s_call_t *call, pthread_t *th, bus_fake_t *w, kv_client_t *c, const char *op,
                   int timeout_ms)
{
    return s_start_svc(call, th, w, c, KV_SVC_SCHEDULING, op, timeout_ms);
}

static void test_routing(int64_t tenant)
{
    char *info = bus_fake_info(1, "kvt-upgraded-1", 1, S_OP ":r,kvt.write_probe");
    bus_fake_t *w = bus_fake_new(s_zmq, KV_SVC_SCHEDULING, info);
    free(info);
    kv_client_t *c = gw_bus_client_new(s_zmq, KV_SVC_SCHEDULING);
    bus_fake_pump(w, 300, 0);   /* registered */

    /* the operation only the "upgraded" worker serves goes to it */
    s_call_t call;
    pthread_t th;
    int got = s_start(&call, &th, w, c, S_OP, 5000);
    KVT_OK(got, "the request for %s reaches the only worker that serves it", S_OP);
    KVT_EQ_STR(got ? w->hdr.op : "", S_OP, "it is that operation");
    if (got)
        bus_fake_reply(w, 200, "{\"success\":true,\"data\":\"from the upgraded worker\"}");
    pthread_join(th, NULL);
    KVT_EQ_INT(call.st, 200, "its answer reaches the caller");
    KVT_EQ_STR(json_string_value(json_object_get(call.out, "data")), "from the upgraded worker",
               "with its envelope");
    json_decref(call.out);
    json_t *out = NULL;
    double secs;
    int st;

    /* every other operation goes to the real workers, never to it */
    int ok = 0;
    for (int i = 0; i < 10; i++)
        ok += bus_call(c, tenant, KV_SVC_SCHEDULING, "services.list", 3000, NULL, NULL) == 200;
    KVT_EQ_INT(ok, 10, "services.list is served by the real workers");
    KVT_OK(!bus_fake_pump(w, 200, 0), "and none of it reached the worker that does not serve it");

    st = bus_call(c, tenant, KV_SVC_SCHEDULING, "kvt.no_such_op", 3000, &secs, &out);
    KVT_EQ_INT(st, 501, "an operation no live worker serves is 501");
    KVT_OK(secs < S_AT_ONCE, "at once (%.3f s)", secs);
    const char *msg = json_string_value(json_object_get(out, "message"));
    KVT_OK(msg && strstr(msg, "kvt.no_such_op") != NULL, "the message names the operation");
    json_decref(out);
    kv_client_destroy(&c);
    bus_fake_close(&w, 1);

    /* a worker of an older release (READY without the announcement) is
     * taken to serve every operation of its service */
    bus_fake_t *old = bus_fake_new(s_zmq, "kvt-legacy", NULL);
    c = gw_bus_client_new(s_zmq, KV_SVC_SCHEDULING);   /* connected */
    bus_fake_pump(old, 300, 0);
    got = s_start_svc(&call, &th, old, c, "kvt-legacy", "anything.at_all", 5000);
    KVT_OK(got, "a worker without an announcement gets any operation of its service");
    if (got)
        bus_fake_reply(old, 200, "{\"success\":true,\"data\":\"old\"}");
    pthread_join(th, NULL);
    KVT_EQ_INT(call.st, 200, "and its answer is taken");
    json_decref(call.out);
    kv_client_destroy(&c);
    bus_fake_close(&old, 1);
}

static void test_refused_replies(void)
{
    char *info = bus_fake_info(1, "kvt-refused-1", 1, S_OP ":r");
    bus_fake_t *w = bus_fake_new(s_zmq, KV_SVC_SCHEDULING, info);
    free(info);
    kv_client_t *c = gw_bus_client_new(s_zmq, KV_SVC_SCHEDULING);
    bus_fake_pump(w, 300, 0);
    s_call_t call;
    pthread_t th;

    /* a body one byte over the frame limit */
    KVT_OK(s_start(&call, &th, w, c, S_OP, 5000), "the fake worker takes a request");
    size_t n = KV_BODY_MAX + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    double t0 = bus_now();
    bus_fake_reply_raw(w, NULL, 200, big, n);
    free(big);
    pthread_join(th, NULL);
    KVT_EQ_INT(call.st, 502, "a reply over the frame limit is refused: 502");
    KVT_OK(bus_now() - t0 < S_AT_ONCE, "answered at once (%.3f s), not at the deadline", bus_now() - t0);
    json_decref(call.out);
    t0 = bus_now();
    KVT_OK(s_start(&call, &th, w, c, S_OP, 5000), "the worker whose reply was refused is free at once");
    KVT_OK(bus_now() - t0 < S_AT_ONCE, "it got the next request in %.3f s", bus_now() - t0);
    bus_fake_reply(w, 200, "{\"success\":true,\"data\":1}");
    pthread_join(th, NULL);
    KVT_EQ_INT(call.st, 200, "and its good reply is taken");
    json_decref(call.out);

    /* a malformed header */
    KVT_OK(s_start(&call, &th, w, c, S_OP, 5000), "the fake worker takes another request");
    t0 = bus_now();
    bus_fake_reply_raw(w, "{\"v\":1,\"status\":\"two hundred\"}", 200, "{}", 2);
    pthread_join(th, NULL);
    KVT_EQ_INT(call.st, 502, "a reply with a malformed header is refused: 502");
    KVT_OK(bus_now() - t0 < S_AT_ONCE, "answered at once (%.3f s)", bus_now() - t0);
    const char *msg = json_string_value(json_object_get(call.out, "message"));
    KVT_OK(msg && strstr(msg, "could not be accepted"), "with an envelope that says so");
    json_decref(call.out);

    /* a frame that is not a protocol message at all */
    KVT_OK(s_start(&call, &th, w, c, S_OP, 5000), "the worker is free again");
    t0 = bus_now();
    kv_msg_t *junk = kv_msg_new();
    kv_msg_addstr(junk, "garbage");
    kv_msg_send(junk, w->sock);
    kv_msg_destroy(&junk);
    pthread_join(th, NULL);
    KVT_EQ_INT(call.st, 502, "garbage from a busy worker is a refused reply: 502");
    KVT_OK(bus_now() - t0 < S_AT_ONCE, "answered at once (%.3f s)", bus_now() - t0);
    json_decref(call.out);

    /* a frame over ZMQ_MAXMSGSIZE: ZeroMQ drops the connection */
    KVT_OK(s_start(&call, &th, w, c, S_OP, 5000), "the worker takes one more");
    t0 = bus_now();
    n = KV_FRAME_MAX + 1024;
    big = malloc(n);
    memset(big, ' ', n);
    bus_fake_reply_raw(w, NULL, 200, big, n);
    free(big);
    pthread_join(th, NULL);
    /* the connection is gone, and with it the only worker of this read */
    KVT_EQ_INT(call.st, 503, "a frame over the socket limit costs the worker its connection: "
               "its read, which no other worker serves, is answered 503");
    KVT_OK(bus_now() - t0 < 3.0, "within a probe interval (%.3f s), not at the 5 s deadline", bus_now() - t0);
    json_decref(call.out);
    /* its connection was dropped: ZeroMQ reconnects it, and the broker
     * answers its next heartbeat with DISCONNECT (re-register) */
    w->heartbeat_at = 0;
    int told = bus_fake_pump(w, 3000, KV_CMD_DISCONNECT);
    KVT_OK(told && w->disconnects > 0, "the worker's oversized frame cost it its connection "
           "(the broker no longer knows it)");
    kv_client_destroy(&c);
    bus_fake_close(&w, 1);
}

static void test_stuck_worker(void)
{
    char *info = bus_fake_info(1, "kvt-stuck-1", 1, S_OP ":r");
    bus_fake_t *w = bus_fake_new(s_zmq, KV_SVC_SCHEDULING, info);
    free(info);
    kv_client_t *c = gw_bus_client_new(s_zmq, KV_SVC_SCHEDULING);
    bus_fake_pump(w, 300, 0);
    s_call_t call;
    pthread_t th;
    KVT_OK(s_start(&call, &th, w, c, S_OP, 600), "the fake worker takes a request with a 0.6 s deadline");
    double t0 = bus_now();
    pthread_join(th, NULL);
    KVT_EQ_INT(call.st, 504, "the caller gets 504 at the deadline");
    json_decref(call.out);
    /* it never answers but keeps heartbeating */
    int told = bus_fake_pump(w, 9000, KV_CMD_DISCONNECT);
    double waited = bus_now() - t0;
    KVT_OK(told, "a worker busy past its deadline + %d ms is dropped although it heartbeats",
           KV_BUSY_GRACE_MS);
    KVT_OK(waited > KV_BUSY_GRACE_MS / 1000.0 - 0.8 && waited < KV_BUSY_GRACE_MS / 1000.0 + 3.0,
           "after the grace (%.2f s)", waited);
    double secs;
    int st = bus_call(c, 0, KV_SVC_SCHEDULING, S_OP, 3000, &secs, NULL);
    KVT_EQ_INT(st, 501, "it no longer counts for its operation (501 at once)");
    kv_client_destroy(&c);
    bus_fake_close(&w, 0);
}

static void test_withdraw(void)
{
    char *info = bus_fake_info(1, "kvt-withdraw-1", 1, S_OP ":r");
    bus_fake_t *w = bus_fake_new(s_zmq, KV_SVC_SCHEDULING, info);
    free(info);
    kv_client_t *c = gw_bus_client_new(s_zmq, KV_SVC_SCHEDULING);
    bus_fake_pump(w, 300, 0);
    s_call_t call;
    pthread_t th;
    KVT_OK(s_start(&call, &th, w, c, S_OP, 5000), "the fake worker serves before it withdraws");
    bus_fake_reply(w, 200, "{\"success\":true,\"data\":0}");
    pthread_join(th, NULL);
    json_decref(call.out);

    double t0 = bus_now();
    bus_fake_send_cmd(w, kv_bus_withdraw);
    int acked = bus_fake_pump(w, 3000, KV_CMD_WITHDRAW);
    KVT_OK(acked && w->withdraw_acks == 1, "WITHDRAW is acknowledged");
    KVT_OK(bus_now() - t0 < S_AT_ONCE, "at once (%.3f s)", bus_now() - t0);
    double secs;
    int st = bus_call(c, 0, KV_SVC_SCHEDULING, S_OP, 3000, &secs, NULL);
    KVT_EQ_INT(st, 501, "after the acknowledgement the worker gets nothing: its operation is 501");
    KVT_OK(!bus_fake_pump(w, 300, 0), "and no request reached it");
    kv_client_destroy(&c);
    bus_fake_close(&w, 1);
}

int main(void)
{
    int64_t tid;
    char key[64];
    if (kvt_tenant("bus-protocol", NULL, &tid, key) != 0) {
        KVT_OK(0, "a tenant can be created");
        return kvt_done();
    }
    kv_log_init("test");
    s_zmq = zmq_ctx_new();
    test_versions();
    test_routing(tid);
    test_refused_replies();
    test_stuck_worker();
    test_withdraw();
    zmq_ctx_term(s_zmq);
    return kvt_done();
}
