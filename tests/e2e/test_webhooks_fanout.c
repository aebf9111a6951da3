/*
 * test_webhooks_fanout.c -- one tenant's fan-out to many endpoints does not
 * stall the event intake for everyone.
 *
 * Tenant A registers as many endpoints as it may (it tries 200; the limit
 * is KAIVOX_WEBHOOK_MAX_ENDPOINTS, 20), all subscribed to call.ended on a
 * receiver that answers at once, and logs 150 calls as fast as the API
 * takes them: every event fans out to each of A's endpoints.  Tenant B's
 * deliveries are timed before (the baseline) and during A's burst; they
 * must stay fast (under 1.5 s, or 3 x the baseline on a loaded machine).
 * Every one of A's deliveries arrives in the end.
 */
#include "webhooks_e2e.h"

#define TRY_EPS   200
#define A_CALLS   150
#define LOGGERS   3
#define B_CALLS   3
#define FAST_MS   1500

static int s_call(const char *key, int i)
{
    kvt_resp_t r = kvt_apif(key, "POST", "/api/v1/calls",
                            "{\"caller_phone\":\"+1555070%04d\",\"started_at\":"
                            "\"2026-03-10T14:00:00Z\",\"duration_seconds\":60}", i % 32);
    int ok = r.status == 201;
    if (!ok)
        fprintf(stderr, "call %d: %ld %.200s\n", i, r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

typedef struct {
    const char *key;
    int from, to, logged;
} s_logger_t;

static void *s_logger(void *arg)
{
    s_logger_t *l = arg;
    for (int i = l->from; i < l->to; i++)
        l->logged += s_call(l->key, i) == 0;
    return NULL;
}

/* B logs n calls one after another; the slowest call-to-receipt time in
 * ms, -1 when one did not arrive. */
static long long s_b_latency(const char *bkey, const wh_receiver_t *rcv, int n, int *seen)
{
    long long worst = 0;
    for (int i = 0; i < n; i++) {
        long long t0 = wh_now_us();
        if (s_call(bkey, 1000 + i) != 0)
            return -1;
        if (wh_wait_count(rcv, "/ok/fan-b", *seen + 1, 20000) < *seen + 1)
            return -1;
        (*seen)++;
        long long ms = (wh_received_us(rcv, "/ok/fan-b", *seen) - t0) / 1000;
        if (ms > worst)
            worst = ms;
    }
    return worst;
}

/* Requests received on every /ok/fan-a-* path. */
static int s_a_received(const wh_receiver_t *rcv, int eps)
{
    int n = 0;
    for (int e = 0; e < eps; e++) {
        char path[64];
        snprintf(path, sizeof path, "/ok/fan-a-%d", e);
        n += wh_count(rcv, path);
    }
    return n;
}

/* Distinct deliveries A's receivers got (delivery is at least once: an
 * attempt that timed out after the receiver took it is sent again, with
 * the same delivery id). */
static int s_a_distinct(const wh_receiver_t *rcv, int eps)
{
    int n = 0;
    for (int e = 0; e < eps; e++) {
        char path[64];
        int events, created, cancelled;
        snprintf(path, sizeof path, "/ok/fan-a-%d", e);
        n += wh_distinct(rcv, path, wh_count(rcv, path), &events, &created, &cancelled);
    }
    return n;
}

int main(void)
{
    wh_receiver_t rcv = { 0 };
    char akey[64], bkey[64], url[256];
    int seen = 0;
    wh_receiver_start(&rcv, 4000);
    se_tenant("wh-fanout-a", "UTC", 0, akey);
    se_tenant("wh-fanout-b", "UTC", 0, bkey);
    int eps = 0;
    for (; eps < TRY_EPS; eps++) {
        char path[64];
        snprintf(path, sizeof path, "/ok/fan-a-%d", eps);
        wh_url(&rcv, path, url, sizeof url);
        kvt_resp_t r = kvt_apif(akey, "POST", "/api/v1/webhooks",
                                "{\"url\":\"%s\",\"events\":[\"call.ended\"]}", url);
        long st = r.status;
        kvt_resp_free(&r);
        if (st != 201)
            break;
    }
    fprintf(stderr, "fanout: A has %d endpoints\n", eps);
    KVT_OK(eps >= 1 && eps <= 20, "A's endpoints are bounded by the per-tenant limit (%d)", eps);
    wh_url(&rcv, "/ok/fan-b", url, sizeof url);
    KVT_OK(wh_endpoint(bkey, url, "[\"call.ended\"]", NULL) > 0, "B has one endpoint");

    long long base = s_b_latency(bkey, &rcv, B_CALLS, &seen);
    fprintf(stderr, "fanout: B's baseline, slowest of %d: %lld ms\n", B_CALLS, base);
    KVT_OK(base >= 0, "B's deliveries arrive (baseline %lld ms)", base);

    pthread_t th[LOGGERS];
    s_logger_t lg[LOGGERS];
    long long t0 = wh_now_us();
    for (int t = 0; t < LOGGERS; t++) {
        lg[t] = (s_logger_t){ akey, A_CALLS * t / LOGGERS, A_CALLS * (t + 1) / LOGGERS, 0 };
        pthread_create(&th[t], NULL, s_logger, &lg[t]);
    }
    kvt_sleep_ms(300);            /* A's burst is under way */
    long long during = s_b_latency(bkey, &rcv, B_CALLS, &seen);
    int logged = 0;
    for (int t = 0; t < LOGGERS; t++) {
        pthread_join(th[t], NULL);
        logged += lg[t].logged;
    }
    fprintf(stderr, "fanout: A logged %d calls in %.1f s (%d deliveries); B during the burst, "
            "slowest of %d: %lld ms\n", logged, (wh_now_us() - t0) / 1e6, logged * eps, B_CALLS,
            during);
    KVT_EQ_INT(logged, A_CALLS, "A logged 150 calls");
    long long bound = base * 3 > FAST_MS ? base * 3 : FAST_MS;
    KVT_OK(during >= 0 && during < bound,
           "B's deliveries keep their latency during A's fan-out (%lld ms, bound %lld)",
           during, bound);

    int want = logged * eps, got = 0;
    for (int waited = 0; waited < 60000 && (got = s_a_received(&rcv, eps)) < want; waited += 250)
        kvt_sleep_ms(250);
    fprintf(stderr, "fanout: all of A's deliveries arrived after %.1f s\n",
            (wh_now_us() - t0) / 1e6);
    KVT_OK(got >= want, "A's receivers got %d requests for %d deliveries", got, want);
    KVT_EQ_INT(s_a_distinct(&rcv, eps), want, "every one of A's deliveries arrived");
    wh_receiver_stop(&rcv);
    return kvt_done();
}
