/*
 * test_bus_rolling.c -- a rolling restart of every service tier, one
 * instance at a time, under a steady mixed load (reads and writes over
 * HTTP from 8 tenants, about 50 requests a second: GETs of every tier,
 * customers created, calls logged -- which call crm over the bus), fails
 * not one request.
 *
 * For each of scheduling, crm, calls and webhooks: a second instance
 * starts and registers, the first is stopped (SIGTERM: it drains), started
 * again, and the second stopped, so the stack ends as it began.
 *
 * KVT_ROLLING_ROUNDS (default 1) repeats the whole roll; KVT_ROLLING_RATE
 * (default 50) sets the requests per second.  The figures of a long run
 * are printed on stderr.
 */
#include "bus_e2e.h"

static const char *const s_svcs[] = {
    KV_SVC_SCHEDULING, KV_SVC_CRM, KV_SVC_CALLS, KV_SVC_WEBHOOKS, NULL
};

/* Replaces instance `old` of svc by instance `fresh` (n workers each). */
static int s_replace(const char *svc, int fresh, int old, long long n)
{
    int ok = bus_stack("start", svc, fresh) == 0;
    ok &= bus_wait_workers(svc, 2 * n, 20000) == 2 * n;
    double t0 = bus_now();
    ok &= bus_stack("stop", svc, old) == 0;
    double took = bus_now() - t0;
    ok &= bus_wait_workers(svc, n, 5000) == n;
    fprintf(stderr, "rolling: %s instance %d replaced by %d (stop took %.2f s)\n", svc, old, fresh,
            took);
    return ok;
}

int main(void)
{
    int rounds = atoi(kvt_env("KVT_ROLLING_ROUNDS", "1"));
    int rate = atoi(kvt_env("KVT_ROLLING_RATE", "50"));
    if (rounds < 1)
        rounds = 1;
    long long n[4];
    for (int i = 0; s_svcs[i]; i++) {
        (void)bus_stack("stop", s_svcs[i], 2);
        n[i] = bus_per_instance(s_svcs[i]);
    }
    bus_load_t *load = calloc(1, sizeof *load);
    KVT_EQ_INT(bus_load_init(load, "bus-rolling", rate, NULL), 0, "the load's tenants are made");
    double t0 = bus_now();
    bus_load_start(load);
    kvt_sleep_ms(1000);
    int ok = 1;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; s_svcs[i]; i++) {
            int one = s_replace(s_svcs[i], 2, 1, n[i]);
            kvt_sleep_ms(300);
            one &= s_replace(s_svcs[i], 1, 2, n[i]);
            kvt_sleep_ms(300);
            KVT_OK(one, "round %d: %s rolled (instance 1 -> 2 -> 1) with its workers re-registered",
                   r + 1, s_svcs[i]);
            ok &= one;
        }
    }
    kvt_sleep_ms(1000);
    long sent = 0;
    char first[256];
    long failed = bus_load_stop(load, &sent, first, sizeof first);
    double secs = bus_now() - t0;
    fprintf(stderr, "rolling: %d round(s) of 4 tiers in %.1f s, %ld requests (%.1f/s), %ld failed\n",
            rounds, secs, sent, sent / secs, failed);
    KVT_OK(sent >= (long)(secs * rate * 0.5), "the load ran (%ld requests in %.1f s)", sent, secs);
    KVT_EQ_INT(failed, 0, "not one request failed during the rolling restart%s%s",
               failed ? ": " : "", first);
    free(load);
    for (int i = 0; s_svcs[i]; i++)
        KVT_EQ_INT(bus_wait_workers(s_svcs[i], n[i], 5000), n[i], "%s is back to one instance", s_svcs[i]);
    return kvt_done();
}
