/*
 * test_bus_busy.c -- with several gateways, two brokers can hand requests
 * to the same worker at once; a worker busy with one gateway's request
 * returns the other gateway's unserved (proto/bus.md, "Several gateways"),
 * and that broker gives it to another worker at once, instead of letting
 * it wait behind (a wait that, with service-to-service calls, can close a
 * cycle: crm waiting for scheduling waiting for the crm request stuck
 * behind it).
 *
 * crm runs two workers; scheduling answers customer_stats after 3 s, so a
 * crm profile sent through gateway 1 keeps one crm worker waiting for 2 s
 * (crm's own timeout).  Meanwhile two pings through gateway 2, which sees
 * both crm workers idle and hands one to each: both are answered at once
 * (the busy worker returned its ping, the other served it), where without
 * the return one would wait out the 2 s.  Afterwards the busy worker is
 * back at gateway 2 (its READY): two more pings are again answered at once.
 *
 * It stops and starts processes of the shared stack and restores them.
 */
#include "bus_e2e.h"

static void *s_zmq;

/* A raw DEALER (role kvt) to the broker at ep. */
static void *s_client(const char *ep)
{
    void *d = kv_msg_socket(s_zmq, ZMQ_DEALER);
    gw_bus_keys();
    kv_curve_client(d);
    zmq_connect(d, ep);
    return d;
}

/* Sends service.op (tenant, params JSON text) with correlation id cid. */
static void s_send(void *d, const char *service, const char *op, int64_t tenant,
                   const char *params, const char *cid)
{
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = KV_PROTO_VERSION;
    kv_bus_new_id(h.id);
    snprintf(h.op, sizeof h.op, "%s", op);
    snprintf(h.cid, sizeof h.cid, "%s", cid);
    h.tenant_id = tenant;
    snprintf(h.tenant_tz, sizeof h.tenant_tz, "UTC");
    h.deadline_ms = kv_now_ms() + 8000;
    char *ht = kv_hdr_encode(&h, 0), body[256];
    snprintf(body, sizeof body, "{\"params\":%s,\"query\":{},\"body\":null}", params);
    kv_msg_t *m = kv_bus_envelope(KV_CMD_REQUEST, service, strlen(service), ht, strlen(ht),
                                  body, strlen(body));
    kv_msg_send(m, d);
    kv_msg_destroy(&m);
    free(ht);
}

/* Waits (<= ms) for the replies of the n cids on d; secs[i] gets when each
 * came (since t0), status[i] its status (0: none). */
static void s_replies(void *d, const char *const *cids, int n, double t0, int ms, double *secs,
                      int *status)
{
    for (int i = 0; i < n; i++)
        status[i] = 0;
    for (double until = bus_now() + ms / 1000.0; bus_now() < until;) {
        kv_msg_t *r = kv_msg_recv(d, 100);
        if (!r)
            continue;
        kv_bus_frame_t f;
        kv_hdr_t h;
        if (kv_bus_parse(r, KV_BUS_AT_CLIENT, &f) == KV_BUS_OK &&
            kv_hdr_decode(f.header, f.header_len, 1, &h) == KV_BUS_OK) {
            for (int i = 0; i < n; i++)
                if (strcmp(h.cid, cids[i]) == 0 && !status[i]) {
                    status[i] = h.status;
                    secs[i] = bus_now() - t0;
                }
        }
        kv_msg_destroy(&r);
        int all = 1;
        for (int i = 0; i < n; i++)
            all &= status[i] != 0;
        if (all)
            return;
    }
}

/* Polls /readyz of the gateway at url until crm has want workers. */
static int s_crm_workers(const char *url, long long want, int ms)
{
    long long n = -1;
    for (double until = bus_now() + ms / 1000.0; bus_now() < until; kvt_sleep_ms(200)) {
        char u[256];
        snprintf(u, sizeof u, "%s/readyz", url);
        kvt_resp_t r = kvt_http("GET", u, NULL, 0, NULL);
        json_t *w = json_object_get(json_object_get(r.json, "data") ? json_object_get(r.json, "data")
                                                                    : r.json, "workers");
        json_t *c = json_object_get(w, KV_SVC_CRM);
        n = json_is_integer(c) ? json_integer_value(c) : -1;
        long st = r.status;
        kvt_resp_free(&r);
        if (st == 200 && n == want)
            return 1;
    }
    return 0;
}

int main(void)
{
    kv_log_init("test");
    s_zmq = zmq_ctx_new();
    int base = atoi(kvt_env("KVT_PORT_BASE", "18000"));
    char ep1[64], ep2[64];
    snprintf(ep1, sizeof ep1, "tcp://127.0.0.1:%d", base + 70);
    snprintf(ep2, sizeof ep2, "tcp://127.0.0.1:%d", base + 73);
    const char *url1 = kvt_env("KVT_BASE_URL", "http://127.0.0.1:18080");
    const char *url2 = kvt_env("KVT_BASE_URL2", "http://127.0.0.1:18082");

    int64_t tenant;
    char key[64];
    if (kvt_tenant("bus-busy", NULL, &tenant, key) != 0) {
        KVT_OK(0, "a tenant");
        return kvt_done();
    }
    kvt_resp_t c = kvt_api(key, "POST", "/api/v1/customers", "{\"name\":\"Busy\",\"phone\":\"+15550107777\"}");
    json_t *cid = json_object_get(json_object_get(c.json, "data"), "id");
    long long customer = json_is_integer(cid) ? json_integer_value(cid) : 0;
    kvt_resp_free(&c);
    KVT_OK(customer > 0, "a customer");

    /* crm: one instance of two workers; scheduling: a slow customer_stats */
    int rc = bus_stack("stop", KV_SVC_CRM, 1);
    KVT_EQ_INT(rc, 0, "crm stops");
    rc = bus_start(KV_SVC_CRM, 2, "KAIVOX_WORKERS=2");
    KVT_EQ_INT(rc, 0, "a crm instance of two workers starts");
    rc = bus_stack("stop", KV_SVC_SCHEDULING, 1);
    KVT_EQ_INT(rc, 0, "scheduling stops");
    rc = bus_start(KV_SVC_SCHEDULING, 1,
                   "KAIVOX_TEST_HOOKS=1 KAIVOX_TEST_SLOW_OPS=appointments.customer_stats:3000");
    KVT_EQ_INT(rc, 0, "scheduling starts with customer_stats taking 3 s");
    KVT_OK(s_crm_workers(url1, 2, 20000) && s_crm_workers(url2, 2, 20000),
           "both gateways count the two crm workers");
    kvt_sleep_ms(500);

    void *a = s_client(ep1), *b = s_client(ep2);
    kvt_sleep_ms(300);
    char params[64];
    snprintf(params, sizeof params, "{\"id\":%lld}", customer);
    double t0 = bus_now();
    s_send(a, KV_SVC_CRM, "customers.get", tenant, params, "profile");
    kvt_sleep_ms(300);
    double t1 = bus_now();
    s_send(b, KV_SVC_CRM, KV_OP_PING, 0, "{}", "ping-1");
    s_send(b, KV_SVC_CRM, KV_OP_PING, 0, "{}", "ping-2");
    const char *pings[] = { "ping-1", "ping-2" };
    double secs[2] = { 0, 0 };
    int st[2];
    s_replies(b, pings, 2, t1, 5000, secs, st);
    KVT_OK(st[0] == 200 && st[1] == 200, "both pings through gateway 2 are answered (%d, %d)",
           st[0], st[1]);
    KVT_OK(secs[0] < 1.0 && secs[1] < 1.0,
           "at once (%.3f s, %.3f s), though one was handed to the worker busy with gateway 1's "
           "profile for 2 s", secs[0], secs[1]);
    const char *prof[] = { "profile" };
    double psecs = 0;
    int pst;
    s_replies(a, prof, 1, t0, 8000, &psecs, &pst);
    KVT_OK(pst != 0, "the profile through gateway 1 is answered too (%d after %.2f s)", pst, psecs);

    kvt_sleep_ms(500);
    KVT_OK(s_crm_workers(url2, 2, 5000), "the busy worker is back at gateway 2 (its READY)");
    t1 = bus_now();
    s_send(b, KV_SVC_CRM, KV_OP_PING, 0, "{}", "ping-3");
    s_send(b, KV_SVC_CRM, KV_OP_PING, 0, "{}", "ping-4");
    const char *more[] = { "ping-3", "ping-4" };
    s_replies(b, more, 2, t1, 5000, secs, st);
    KVT_OK(st[0] == 200 && st[1] == 200 && secs[0] < 1.0 && secs[1] < 1.0,
           "and two more pings are answered at once (%d %.3f s, %d %.3f s)", st[0], secs[0],
           st[1], secs[1]);

    zmq_close(a);
    zmq_close(b);
    rc = bus_stack("stop", KV_SVC_CRM, 2);
    KVT_EQ_INT(rc, 0, "the two-worker crm stops");
    rc = bus_stack("start", KV_SVC_CRM, 1);
    KVT_EQ_INT(rc, 0, "crm starts again as it was");
    rc = bus_stack("restart", KV_SVC_SCHEDULING, 1);
    KVT_EQ_INT(rc, 0, "scheduling restarts without the hook");
    long long per = bus_per_instance(KV_SVC_CRM);
    KVT_OK(per > 0, "the stack is ready again (%lld crm workers)", per);
    zmq_ctx_term(s_zmq);
    return kvt_done();
}
