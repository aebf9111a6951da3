/*
 * test_bus_readiness.c -- /readyz tells when the gateway can really serve:
 *
 *   - an instance that announced N workers and registered fewer is
 *     "joining": /readyz is 503 and names its service, until the rest
 *     register;
 *   - right after a gateway restart /readyz is 503 ("settling") while the
 *     workers of the previous gateway come back, and it never says ready
 *     with fewer workers than before the restart (it said ready with 1 of
 *     a service's 4 workers registered);
 *   - the workers count only workers that can take work (a worker busy
 *     past its deadline does not count).
 */
#include "bus_e2e.h"

static const char *const s_svcs[] = {
    KV_SVC_SCHEDULING, KV_SVC_CRM, KV_SVC_CALLS, KV_SVC_WEBHOOKS, NULL
};

/* True when body's "joining" list names service. */
static int s_joining(json_t *body, const char *service)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(body, "joining"), i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), service) == 0)
            return 1;
    return 0;
}

static void test_joining(void *zmq)
{
    char *info = bus_fake_info(1, "kvt-joining-1", 2, "kvt.join_probe:r");
    bus_fake_t *a = bus_fake_new(zmq, KV_SVC_CRM, info);
    bus_fake_pump(a, 300, 0);
    json_t *body = NULL;
    long long crm = -1;
    long st = bus_readyz(KV_SVC_CRM, &crm, &body);
    KVT_EQ_INT(st, 503, "an instance with 1 of its 2 announced workers registered: /readyz is 503");
    KVT_OK(s_joining(body, KV_SVC_CRM), "and names crm as joining");
    json_decref(body);
    bus_fake_t *b = bus_fake_new(zmq, KV_SVC_CRM, info);
    bus_fake_pump(b, 300, 0);
    st = bus_readyz(KV_SVC_CRM, &crm, &body);
    KVT_EQ_INT(st, 200, "once both registered /readyz is 200 again");
    KVT_OK(!s_joining(body, KV_SVC_CRM), "nothing is joining");
    json_decref(body);
    long long with = crm;
    bus_fake_close(&a, 1);
    bus_fake_close(&b, 1);
    kvt_sleep_ms(200);
    bus_readyz(KV_SVC_CRM, &crm, NULL);
    KVT_EQ_INT(crm, with - 2, "their goodbyes take them out of the count");
    free(info);
}

static void test_busy_not_counted(void *zmq)
{
    char *info = bus_fake_info(1, "kvt-busy-1", 1, "kvt.busy_probe:r");
    bus_fake_t *w = bus_fake_new(zmq, KV_SVC_CRM, info);
    free(info);
    bus_fake_pump(w, 300, 0);
    long long before = -1, during = -1;
    bus_readyz(KV_SVC_CRM, &before, NULL);
    kv_client_t *c = gw_bus_client_new(zmq, KV_SVC_CRM);
    double secs;
    /* the fake takes the request and never answers; the caller gives up
     * at its 300 ms deadline */
    int st = bus_call(c, 0, KV_SVC_CRM, "kvt.busy_probe", 300, &secs, NULL);
    KVT_EQ_INT(st, 504, "a request the worker sits on ends 504 at its deadline");
    KVT_OK(bus_fake_pump(w, 1000, 0), "the request did reach the worker");
    bus_fake_pump(w, 500, 0);    /* past the deadline, still holding it */
    bus_readyz(KV_SVC_CRM, &during, NULL);
    KVT_EQ_INT(during, before - 1, "a worker busy past its deadline is not counted as able to take work");
    kv_client_destroy(&c);
    bus_fake_close(&w, 1);
}

static void test_gateway_restart(void)
{
    long long want[4];
    for (int i = 0; s_svcs[i]; i++)
        want[i] = bus_per_instance(s_svcs[i]);
    KVT_EQ_INT(kvt_stack("restart gateway"), 0, "the gateway restarts");
    int first = 1, bad = 0, settling = 0, ready = 0;
    double t0 = bus_now();
    char why[256] = "";
    while (bus_now() - t0 < 8.0 && ready < 5) {
        json_t *body = NULL;
        long st = bus_readyz(KV_SVC_CRM, NULL, &body);
        if (first && st != 0) {
            first = 0;
            json_t *s = json_object_get(body, "settling");
            settling = st == 503 && json_is_true(s);
        }
        if (st == 200) {
            ready++;
            json_t *w = json_object_get(json_object_get(body, "data"), "workers");
            for (int i = 0; s_svcs[i]; i++) {
                long long got = json_integer_value(json_object_get(w, s_svcs[i]));
                if (got < want[i]) {
                    bad++;
                    snprintf(why, sizeof why, "%s: %lld of %lld", s_svcs[i], got, want[i]);
                }
            }
        }
        json_decref(body);
        kvt_sleep_ms(ready ? 100 : 20);
    }
    KVT_OK(settling, "the first /readyz after the restart is 503, settling");
    KVT_OK(ready > 0, "the restarted gateway becomes ready (%.1f s)", bus_now() - t0);
    KVT_EQ_INT(bad, 0, "it never says ready with fewer workers than before the restart%s%s",
               bad ? ": " : "", why);
}

int main(void)
{
    int64_t tid;
    char key[64];
    if (kvt_tenant("bus-readiness", NULL, &tid, key) != 0) {
        KVT_OK(0, "a tenant can be created");
        return kvt_done();
    }
    kv_log_init("test");
    void *zmq = zmq_ctx_new();
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CRM, bus_per_instance(KV_SVC_CRM), 5000),
               bus_per_instance(KV_SVC_CRM), "the stack is ready");
    test_joining(zmq);
    test_busy_not_counted(zmq);
    zmq_ctx_term(zmq);
    test_gateway_restart();
    return kvt_done();
}
