/*
 * test_bus_curve.c -- the bus admits only the deployment's own keys
 * (CURVE, the gateway's ZAP handler; proto/bus.md, "Security"), against the
 * running test stack:
 *
 *   - register: a worker with its service's key gets that service's
 *     requests; one without CURVE, with a key of its own, or with another
 *     role's key (a test client's, crm's posing as scheduling) is never
 *     registered: its service stays without a worker (503 at once) and
 *     the real workers keep every request;
 *   - send: a client request from a peer without a valid key gets no
 *     answer (its connection never completes), while a known key's is
 *     answered at once;
 *   - publish: an event with the sender's own role as producer reaches a
 *     subscriber; the same from a peer without a valid key does not, and a
 *     known key cannot publish another producer's event (a forged
 *     scheduling event is never forwarded, never stored by the webhook
 *     service);
 *   - subscribe: only the consumer's key (webhooks) gets events; a peer
 *     without a valid key, or with a service's key, gets nothing.
 */
#include "bus_e2e.h"

#include <libpq-fe.h>

static void *s_zmq;

typedef enum { S_OWN, S_NONE, S_STRANGER, S_ROLE } s_keying_t;

/* Makes sock a CURVE client per how: the key of role (S_OWN, S_ROLE), a
 * fresh key of its own (S_STRANGER), or none at all. */
static void s_keys(void *sock, s_keying_t how, const char *role)
{
    if (how == S_OWN || how == S_ROLE) {
        kv_curve_client_as(sock, role);
    } else if (how == S_STRANGER) {
        char pub[41], sec[41], gw[64] = "", path[1024];
        zmq_curve_keypair(pub, sec);
        snprintf(path, sizeof path, "%s/gateway.pub", kvt_env("KAIVOX_BUS_KEYS", "var/keys"));
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(gw, sizeof gw, f))
                gw[0] = '\0';
            fclose(f);
        }
        zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, gw, 40);
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40);
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40);
    }
}

/* A fake worker of service keyed per how/role, READY sent. */
static bus_fake_t *s_worker(const char *service, s_keying_t how, const char *role)
{
    bus_fake_t *f = calloc(1, sizeof *f);
    f->sock = kv_msg_socket(s_zmq, ZMQ_DEALER);
    s_keys(f->sock, how, role);
    zmq_connect(f->sock, bus_endpoint());
    char *info = bus_fake_info(1, "kvt-curve-1", 1, "sys.ping:r,kvt.curve_probe:r");
    kv_msg_t *m = kv_bus_ready_info(service, info);
    kv_msg_send(m, f->sock);
    kv_msg_destroy(&m);
    free(info);
    f->heartbeat_at = bus_now() + 1.0;
    return f;
}

typedef struct {
    kv_client_t *c;
    const char *service, *op;
    int st;
    double secs;
} s_call_t;

static void *s_call_thread(void *arg)
{
    s_call_t *k = arg;
    k->st = bus_call(k->c, 0, k->service, k->op, 4000, &k->secs, NULL);
    return NULL;
}

/* Does a fake worker w of service get a request for it?  Calls
 * service.kvt.curve_probe through client c while w listens; returns the
 * status the caller got (200 when w answered). */
static int s_probe(kv_client_t *c, bus_fake_t *w, const char *service)
{
    s_call_t k = { c, service, "kvt.curve_probe", 0, 0 };
    pthread_t t;
    pthread_create(&t, NULL, s_call_thread, &k);
    if (bus_fake_pump(w, 2500, 0))
        bus_fake_reply(w, 200, "{\"success\":true,\"data\":\"fake\"}");
    pthread_join(t, NULL);
    return k.st;
}

static void test_register(kv_client_t *c)
{
    const char *svc = "kvt-legacy";   /* a service of its own, with a key of its own */
    bus_fake_t *w = s_worker(svc, S_OWN, svc);
    bus_fake_pump(w, 500, 0);
    KVT_EQ_INT(s_probe(c, w, svc), 200, "a worker with its service's key is registered and served");
    bus_fake_close(&w, 1);
    kvt_sleep_ms(300);

    static const struct { s_keying_t how; const char *role; const char *what; } cases[] = {
        { S_NONE, NULL, "without CURVE" },
        { S_STRANGER, NULL, "with a key of its own" },
        { S_ROLE, GW_TEST_BUS_ROLE, "with another role's key (a client's)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        w = s_worker(svc, cases[i].how, cases[i].role);
        bus_fake_pump(w, 800, 0);
        double secs;
        int st = bus_call(c, 0, svc, "kvt.curve_probe", 3000, &secs, NULL);
        KVT_EQ_INT(st, 503, "a worker %s is not registered: its service has none (503)",
                   cases[i].what);
        KVT_OK(secs < 2.0, "answered at once (%.3f s)", secs);
        KVT_OK(!bus_fake_pump(w, 300, 0), "and it never gets a request");
        bus_fake_close(&w, 1);
    }
    KVT_OK(bus_log_has("gateway", "refusing a kvt-legacy worker: its bus key is kvt's"),
           "the gateway logs the worker that had another role's key");

    /* a real service's key posing as another service */
    w = s_worker(KV_SVC_SCHEDULING, S_ROLE, KV_SVC_CRM);
    bus_fake_pump(w, 800, 0);
    int served = 0;
    for (int i = 0; i < 10; i++) {
        double secs;
        served += bus_call(c, 0, KV_SVC_SCHEDULING, KV_OP_PING, 3000, &secs, NULL) == 200;
    }
    KVT_EQ_INT(served, 10, "with crm's key posing as a scheduling worker, the real workers answer");
    KVT_OK(!bus_fake_pump(w, 300, 0), "and the impostor gets none of scheduling's requests");
    KVT_OK(bus_log_has("gateway", "refusing a scheduling worker: its bus key is crm's"),
           "the gateway logs it");
    bus_fake_close(&w, 0);
}

/* A raw DEALER keyed per how; sends a client request for crm's sys.ping
 * and returns 1 when an answer came within ms. */
static int s_client_answered(s_keying_t how, const char *role, int ms)
{
    void *d = kv_msg_socket(s_zmq, ZMQ_DEALER);
    s_keys(d, how, role);
    zmq_connect(d, bus_endpoint());
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = KV_PROTO_VERSION;
    kv_bus_new_id(h.id);
    snprintf(h.op, sizeof h.op, "%s", KV_OP_PING);
    snprintf(h.cid, sizeof h.cid, "curve-1");
    h.deadline_ms = kv_now_ms() + ms;
    char *ht = kv_hdr_encode(&h, 0);
    kv_msg_t *m = kv_bus_envelope(KV_CMD_REQUEST, KV_SVC_CRM, 3, ht, strlen(ht), "{}", 2);
    kv_msg_send(m, d);
    kv_msg_destroy(&m);
    free(ht);
    kv_msg_t *r = kv_msg_recv(d, ms);
    int got = r != NULL;
    kv_msg_destroy(&r);
    zmq_close(d);
    return got;
}

static void test_send(void)
{
    KVT_OK(s_client_answered(S_ROLE, GW_TEST_BUS_ROLE, 3000), "a client with a known key is answered");
    KVT_OK(!s_client_answered(S_NONE, NULL, 1500), "a client without CURVE gets no answer");
    KVT_OK(!s_client_answered(S_STRANGER, NULL, 1500), "nor does one with a key of its own");
}

/* ---- events ------------------------------------------------------------------ */

static const char *s_events_in(void)
{
    return kvt_env("KAIVOX_EVENTS_IN_ENDPOINT", "tcp://127.0.0.1:18071");
}

static const char *s_events_out(void)
{
    return kvt_env("KAIVOX_EVENTS_OUT_ENDPOINT", "tcp://127.0.0.1:18072");
}

static void *s_pub(s_keying_t how, const char *role)
{
    void *p = kv_msg_socket(s_zmq, ZMQ_PUB);
    s_keys(p, how, role);
    zmq_connect(p, s_events_in());
    return p;
}

static void *s_sub(s_keying_t how, const char *role, const char *topic)
{
    void *s = kv_msg_socket(s_zmq, ZMQ_SUB);
    s_keys(s, how, role);
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, topic, strlen(topic));
    zmq_connect(s, s_events_out());
    return s;
}

/* Publishes event id (producer, type) on pub every 100 ms for ms, and
 * reports whether each of the subs[0..n) received it: got[i]. */
static void s_publish_watch(void *pub, const char *producer, const char *id, void **subs, int n,
                            int *got, int ms)
{
    kv_event_hdr_t h;
    memset(&h, 0, sizeof h);
    snprintf(h.producer, sizeof h.producer, "%s", producer);
    h.seq = 1000000000LL;
    snprintf(h.type, sizeof h.type, "appointment.created");
    snprintf(h.id, sizeof h.id, "%s", id);
    h.tenant_id = 1;
    snprintf(h.created_at, sizeof h.created_at, "2026-12-01T00:00:00.000000Z");
    const char *payload = "{\"id\":1}";
    for (int i = 0; i < n; i++)
        got[i] = 0;
    for (double until = bus_now() + ms / 1000.0; bus_now() < until;) {
        kv_msg_t *m = kv_event_msg(&h, payload, strlen(payload));
        kv_msg_send(m, pub);
        kv_msg_destroy(&m);
        for (int i = 0; i < n; i++) {
            kv_msg_t *r;
            while ((r = kv_msg_recv(subs[i], 0)) != NULL) {
                kv_event_hdr_t rh;
                const char *pl;
                size_t plen;
                if (kv_event_parse(r, &rh, &pl, &plen) == KV_BUS_OK && strcmp(rh.id, id) == 0)
                    got[i] = 1;
                kv_msg_destroy(&r);
            }
        }
        kvt_sleep_ms(100);
    }
}

static void test_events(void)
{
    void *good = s_sub(S_ROLE, KV_CURVE_CONSUMER, "");   /* the consumer's key */
    void *plain = s_sub(S_NONE, NULL, "");
    void *stranger = s_sub(S_STRANGER, NULL, "");
    void *service = s_sub(S_ROLE, KV_SVC_CRM, "");
    void *subs[4] = { good, plain, stranger, service };
    int got[4];

    void *own = s_pub(S_ROLE, GW_TEST_BUS_ROLE);
    s_publish_watch(own, GW_TEST_BUS_ROLE, "curve-own-event", subs, 4, got, 3000);
    KVT_OK(got[0], "an event of the publisher's own role reaches the consumer's key");
    KVT_OK(!got[1], "a subscriber without CURVE gets nothing");
    KVT_OK(!got[2], "nor one with a key of its own");
    KVT_OK(!got[3], "nor one with a service's key (crm)");

    s_publish_watch(own, KV_SVC_SCHEDULING, "curve-forged-event", subs, 1, got, 2000);
    KVT_OK(!got[0], "a known key cannot publish another producer's event (a forged scheduling "
           "event is not forwarded)");
    zmq_close(own);

    void *plain_pub = s_pub(S_NONE, NULL);
    s_publish_watch(plain_pub, GW_TEST_BUS_ROLE, "curve-plain-event", subs, 1, got, 1500);
    KVT_OK(!got[0], "an event from a publisher without CURVE is not forwarded");
    zmq_close(plain_pub);
    void *stranger_pub = s_pub(S_STRANGER, NULL);
    s_publish_watch(stranger_pub, GW_TEST_BUS_ROLE, "curve-stranger-event", subs, 1, got, 1500);
    KVT_OK(!got[0], "nor from one with a key of its own");
    zmq_close(stranger_pub);

    /* the webhook service never stored the forged event */
    PGconn *db = gw_pg_super();
    char *n = db ? gw_sql(db, "SELECT count(*) FROM webhooks.events WHERE event_id = "
                              "'curve-forged-event'") : NULL;
    KVT_EQ_STR(n, "0", "the webhook service never stored the forged event");
    free(n);
    if (db)
        PQfinish(db);
    KVT_OK(bus_log_has("gateway", "a scheduling event 1000000000 from a peer whose key is kvt's"),
           "the event proxy logs what it dropped");
    for (int i = 0; i < 4; i++)
        zmq_close(subs[i]);
}

int main(void)
{
    kv_log_init("test");
    s_zmq = zmq_ctx_new();
    gw_bus_keys();
    KVT_OK(kv_curve_secure(), "the test stack's bus is authenticated");
    kv_client_t *c = gw_bus_client_new(s_zmq, KV_SVC_CRM);
    test_register(c);
    test_send();
    test_events();
    kv_client_destroy(&c);
    zmq_ctx_term(s_zmq);
    return kvt_done();
}
