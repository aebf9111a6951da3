/*
 * test_webhooks_tenant_fairness.c -- one tenant's many slow receivers never
 * delay another tenant's deliveries.
 *
 * Tenant A has 16 endpoints on four receivers that accept the connection
 * and never answer (wh_hole_*), with a backlog of 320 deliveries: without
 * a per-tenant bound, 16 endpoints x 16 deliveries each would hold all 256
 * delivery slots of the instance until their attempts time out.  Tenant
 * B's deliveries to a normal receiver are timed before A's backlog exists
 * (the baseline) and while A's attempts hang: they must stay fast (under
 * 1 s, or 3 x the baseline on a loaded machine -- an attempt to A takes
 * the whole 2 s timeout of the test stack, so waiting for a slot would
 * show).  Meanwhile at most KAIVOX_WEBHOOK_TENANT_CONCURRENCY (64) of A's
 * attempts are open at once.  A's endpoints are deleted at the end, with
 * their backlog.
 */
#include "webhooks_e2e.h"

#define HOLES      4
#define A_EPS      16
#define A_CALLS    20       /* x 16 endpoints: 320 deliveries */
#define B_CALLS    3
#define TENANT_CAP 64       /* KAIVOX_WEBHOOK_TENANT_CONCURRENCY default */
#define FAST_MS    1000

/* Logs one answered call for key; 0 or -1. */
static int s_call(const char *key, int i)
{
    kvt_resp_t r = kvt_apif(key, "POST", "/api/v1/calls",
                            "{\"caller_phone\":\"+1555050%04d\",\"started_at\":"
                            "\"2026-03-10T14:00:00Z\",\"duration_seconds\":60}", i % 16);
    int ok = r.status == 201;
    if (!ok)
        fprintf(stderr, "call %d: %ld %.200s\n", i, r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

/* B logs B_CALLS calls one after another; returns the slowest time from
 * the call to its receipt (ms), -1 when one did not arrive. */
static long long s_b_latency(const char *bkey, const wh_receiver_t *rcv, int *seen)
{
    long long worst = 0;
    for (int i = 0; i < B_CALLS; i++) {
        long long t0 = wh_now_us();
        if (s_call(bkey, i) != 0)
            return -1;
        int got = wh_wait_count(rcv, "/ok/b", *seen + 1, 15000);
        if (got < *seen + 1)
            return -1;
        (*seen)++;
        long long ms = (wh_received_us(rcv, "/ok/b", *seen) - t0) / 1000;
        if (ms > worst)
            worst = ms;
    }
    return worst;
}

int main(void)
{
    wh_hole_t holes[HOLES];
    wh_receiver_t rcv = { 0 };
    char akey[64], bkey[64], url[256];
    long long ep_a[A_EPS];
    int seen = 0;

    for (int h = 0; h < HOLES; h++)
        wh_hole_start(&holes[h]);
    wh_receiver_start(&rcv, 4000);
    se_tenant("wh-tfair-a", "UTC", 0, akey);
    se_tenant("wh-tfair-b", "UTC", 0, bkey);
    int made = 0;
    for (int e = 0; e < A_EPS; e++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d/a-%d", holes[e % HOLES].port, e);
        ep_a[e] = wh_endpoint(akey, url, "[\"call.ended\"]", NULL);
        made += ep_a[e] > 0;
    }
    KVT_EQ_INT(made, A_EPS, "tenant A has 16 endpoints on receivers that never answer");
    wh_url(&rcv, "/ok/b", url, sizeof url);
    KVT_OK(wh_endpoint(bkey, url, "[\"call.ended\"]", NULL) > 0, "tenant B has a normal endpoint");

    long long base = s_b_latency(bkey, &rcv, &seen);
    fprintf(stderr, "tenant fairness: B's baseline, slowest of %d: %lld ms\n", B_CALLS, base);
    KVT_OK(base >= 0, "B's deliveries arrive (baseline %lld ms)", base);

    int logged = 0;
    for (int i = 0; i < A_CALLS; i++)
        logged += s_call(akey, i) == 0;
    KVT_EQ_INT(logged, A_CALLS, "A logged 20 calls: 320 deliveries to receivers that hang");
    /* A's attempts are open (hanging) before B's events happen. */
    int open = 0;
    for (int waited = 0; waited < 10000 && open < TENANT_CAP / 2; waited += 100) {
        open = 0;
        for (int h = 0; h < HOLES; h++)
            open += wh_hole_count(&holes[h]);
        kvt_sleep_ms(100);
    }
    KVT_OK(open >= TENANT_CAP / 2, "A's attempts are hanging at its receivers (%d)", open);

    long long during = s_b_latency(bkey, &rcv, &seen);
    long long bound = base * 3 > FAST_MS ? base * 3 : FAST_MS;
    fprintf(stderr, "tenant fairness: B during A's backlog, slowest of %d: %lld ms (bound %lld)\n",
            B_CALLS, during, bound);
    KVT_OK(during >= 0 && during < bound,
           "B's deliveries keep their latency while A's 16 endpoints hang (%lld ms, bound %lld)",
           during, bound);

    /* At most the tenant's share of A's attempts is ever open at once: no
     * attempt ends before the 2 s timeout, so count what the receivers
     * accepted in the 1.5 s after the first. */
    long long first = 0;
    for (int h = 0; h < HOLES; h++)
        if (holes[h].nconn > 0 && (first == 0 || holes[h].at_us[0] < first))
            first = holes[h].at_us[0];
    int burst = 0;
    for (int h = 0; h < HOLES; h++) {
        pthread_mutex_lock(&holes[h].lock);
        for (int i = 0; i < holes[h].nconn; i++)
            burst += holes[h].at_us[i] - first < 1500000;
        pthread_mutex_unlock(&holes[h].lock);
    }
    fprintf(stderr, "tenant fairness: A had %d attempts open in its first 1.5 s\n", burst);
    KVT_OK(burst >= 16 && burst <= TENANT_CAP,
           "at most %d of A's attempts are open at once (%d)", TENANT_CAP, burst);

    int deleted = 0;
    for (int e = 0; e < A_EPS; e++) {
        char del[96];
        snprintf(del, sizeof del, "/api/v1/webhooks/%lld", ep_a[e]);
        kvt_resp_t r = kvt_api(akey, "DELETE", del, NULL);
        deleted += r.status == 200;
        kvt_resp_free(&r);
    }
    KVT_EQ_INT(deleted, A_EPS, "A's endpoints deleted with their backlog");
    for (int h = 0; h < HOLES; h++)
        wh_hole_stop(&holes[h]);
    wh_receiver_stop(&rcv);
    return kvt_done();
}
