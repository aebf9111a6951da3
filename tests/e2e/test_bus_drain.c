/*
 * test_bus_drain.c -- SIGTERM drains a service instance without losing a
 * request: under a steady load, with a second instance serving, the
 * stopped instance withdraws from the broker (acknowledged), finishes the
 * requests it holds -- slow ones included -- says goodbye, and exits well
 * within KAIVOX_DRAIN_S; not one request fails, and /readyz stops counting
 * its workers as soon as it is gone (its goodbye arrived: no heartbeat
 * timeout).
 *
 * The instance to stop runs with the test hook KAIVOX_TEST_SLOW_OPS
 * (staff.list takes 1.5 s there), and is given a burst of slow requests
 * right before the SIGTERM, so it holds some when the drain starts.
 */
#include "bus_e2e.h"

typedef struct {
    const char *key;
    long status;
} s_req_t;

static void *s_get_staff(void *arg)
{
    s_req_t *q = arg;
    kvt_resp_t r = kvt_api(q->key, "GET", "/api/v1/staff", NULL);
    q->status = r.status;
    kvt_resp_free(&r);
    return NULL;
}

int main(void)
{
    int64_t tid;
    char key[64];
    if (kvt_tenant("bus-drain", NULL, &tid, key) != 0) {
        KVT_OK(0, "a tenant can be created");
        return kvt_done();
    }
    (void)bus_stack("stop", "scheduling", 2);
    long long n = bus_per_instance(KV_SVC_SCHEDULING);
    KVT_OK(n > 0 && n <= 16, "scheduling has %lld workers per instance", n);
    if (n <= 0 || n > 16)
        return kvt_done();
    bus_load_t *load = calloc(1, sizeof *load);
    KVT_EQ_INT(bus_load_init(load, "bus-drain-load", 50, KV_SVC_SCHEDULING), 0,
               "the load's tenants are made");

    KVT_EQ_INT(bus_start("scheduling", 2,
                         "KAIVOX_TEST_HOOKS=1 KAIVOX_TEST_SLOW_OPS=staff.list:1500"), 0,
               "a second scheduling instance starts (staff.list slow there)");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_SCHEDULING, 2 * n, 15000), 2 * n,
               "both instances' workers are registered");

    bus_load_start(load);
    kvt_sleep_ms(1500);

    /* a burst that leaves every idle worker, the slow instance's too, with
     * a request: 3 x N slow-or-fast GET /staff at once */
    int nreq = (int)(3 * n);
    s_req_t q[48];
    pthread_t th[48];
    for (int i = 0; i < nreq; i++) {
        q[i].key = key;
        q[i].status = 0;
        pthread_create(&th[i], NULL, s_get_staff, &q[i]);
    }
    kvt_sleep_ms(400);
    double t0 = bus_now();
    KVT_EQ_INT(bus_stack("stop", "scheduling", 2), 0, "SIGTERM: the instance stops");
    double took = bus_now() - t0;
    long long after = -1;
    bus_readyz(KV_SVC_SCHEDULING, &after, NULL);
    for (int i = 0; i < nreq; i++)
        pthread_join(th[i], NULL);
    int ok = 0;
    for (int i = 0; i < nreq; i++)
        ok += q[i].status == 200;
    KVT_EQ_INT(ok, nreq, "every request of the burst succeeds, the ones the stopped instance held too");
    KVT_OK(took >= 0.7, "the instance finished what it held before exiting (%.2f s)", took);
    KVT_OK(took < 10.0, "and exited within KAIVOX_DRAIN_S (%.2f s)", took);
    KVT_EQ_INT(after, n, "its goodbye arrived: /readyz counts only the other instance at once");

    kvt_sleep_ms(1500);
    long sent = 0;
    char first[256];
    long failed = bus_load_stop(load, &sent, first, sizeof first);
    KVT_OK(sent > 100, "the load ran (%ld requests)", sent);
    KVT_EQ_INT(failed, 0, "not one request of the load failed%s%s", failed ? ": " : "", first);
    free(load);

    KVT_OK(bus_log_has("scheduling-2", "drained and stopped"), "the instance logs its drain");
    KVT_OK(bus_log_has("gateway", "scheduling worker withdrew from instance"),
           "the broker saw the withdrawals");
    KVT_OK(!bus_log_has("scheduling-2", "no acknowledgement of the withdrawal"),
           "every withdrawal was acknowledged");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_SCHEDULING, n, 3000), n, "the stack is back to one instance");
    return kvt_done();
}
