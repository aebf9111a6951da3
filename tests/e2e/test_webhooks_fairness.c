/*
 * test_webhooks_fairness.c -- one slow receiver never delays another
 * tenant's deliveries, and a slow receiver makes deliveries wait, not fail.
 *
 * 1. Slow receiver (the regression of 6dce668): six endpoints of one tenant
 *    on one receiver that answers after 1.5 s (the test stack's timeout is
 *    2 s), 25 call.ended events each: 150 deliveries at once to one
 *    host:port, more than the 64 transfers the deliverer runs at once per
 *    receiver.  Every delivery succeeds at its first attempt: time spent
 *    waiting for a slot is never counted against an attempt's timeout.
 * 2. Fairness: tenant A's endpoint points at a path that hangs past the
 *    timeout, with a backlog of 600 call.ended deliveries (each attempt
 *    takes the full 2 s; draining it would take minutes).  Then tenant B
 *    logs one call: its endpoint on another receiver, and its endpoint on
 *    A's very receiver (another path, same host:port), both get the
 *    delivery within 3 s -- A's backlog neither fills the claim budget nor
 *    the receiver's slots (at most KAIVOX_WEBHOOK_ENDPOINT_CONCURRENCY, 16
 *    by default, of an endpoint's deliveries are held by an instance).
 *
 * A's endpoint is deleted at the end (with its deliveries) so that its
 * backlog does not load the tests that run after this one.
 */
#include <pthread.h>
#include <sys/time.h>

#include "webhooks_e2e.h"

#define SLOW_EPS     6
#define SLOW_CALLS   25      /* per endpoint fan-out: 150 deliveries */
#define SLOW_MS      800     /* well under the 2 s attempt timeout even on a loaded
                                machine; 10 waves of 16 still wait ~8 s for a slot */
#define BACKLOG      600
#define LOGGERS      4       /* threads logging A's calls */
#define A_KEYS       3       /* API keys of A (600 requests/min each) */
#define BOUND_MS     3000
#define EP_CAP       16      /* KAIVOX_WEBHOOK_ENDPOINT_CONCURRENCY default */

static long long s_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Receipt time (epoch us) of request n on path, 0 when missing. */
static long long s_received(const wh_receiver_t *rcv, const char *path, int n)
{
    char dir[512], hp[600], v[64];
    wh_path_dir(rcv, path, dir, sizeof dir);
    snprintf(hp, sizeof hp, "%s/%06d.headers", dir, n);
    char *h = wh_read(hp, NULL);
    if (!h)
        return 0;
    wh_hdr(h, "X-Receiver-Received-Us", v, sizeof v);
    free(h);
    return atoll(v);
}

/* Logs one answered call (one call.ended event); 0 or -1. */
static int s_call(const char *key, int i)
{
    kvt_resp_t r = kvt_apif(key, "POST", "/api/v1/calls",
                            "{\"caller_phone\":\"+1555030%04d\",\"started_at\":"
                            "\"2026-03-10T14:00:00Z\",\"duration_seconds\":60}", i % 8);
    int ok = r.status == 201;
    if (!ok)
        fprintf(stderr, "call %d: %ld %.200s\n", i, r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

/* Another API key of tenant into key[64]; 0 or -1. */
static int s_more_key(int64_t tenant, char key[64])
{
    char path[96];
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/keys", (long long)tenant);
    kvt_resp_t k = kvt_admin("POST", path, "{\"name\":\"more\"}");
    const char *v = se_str(&k, "key");
    int ok = v && strlen(v) < 64;
    if (ok)
        snprintf(key, 64, "%s", v);
    kvt_resp_free(&k);
    return ok ? 0 : -1;
}

typedef struct {
    const char *key;
    int from, to;     /* call numbers [from, to) */
    int logged;
} s_logger_t;

static void *s_logger(void *arg)
{
    s_logger_t *l = arg;
    for (int i = l->from; i < l->to; i++)
        if (s_call(l->key, i) == 0)
            l->logged++;
    return NULL;
}

/* The number of deliveries of endpoint ep (meta.total), -1 on error. */
static long long s_total(const char *key, long long ep)
{
    kvt_resp_t r = wh_deliveries(key, ep, 1);
    long long t = r.status == 200 ? se_meta(&r, "total") : -1;
    kvt_resp_free(&r);
    return t;
}

/* Part 1: 150 deliveries to a receiver answering after 1.5 s. */
static void s_slow_receiver(const wh_receiver_t *rcv)
{
    char key[64], url[512], path[SLOW_EPS][64];
    long long ep[SLOW_EPS];
    se_tenant("wh-slow", "UTC", 0, key);
    for (int e = 0; e < SLOW_EPS; e++) {
        snprintf(path[e], sizeof path[e], "/sleep/%d/slow-%d", SLOW_MS, e);
        wh_url(rcv, path[e], url, sizeof url);
        ep[e] = wh_endpoint(key, url, "[\"call.ended\"]", NULL);
    }
    KVT_OK(ep[0] > 0 && ep[SLOW_EPS - 1] > 0, "slow: %d endpoints on one receiver", SLOW_EPS);
    int logged = 0;
    for (int i = 0; i < SLOW_CALLS; i++)
        logged += s_call(key, i) == 0;
    KVT_EQ_INT(logged, SLOW_CALLS, "slow: 25 calls logged: 150 deliveries at once");

    /* 150 x 1.5 s over 64 slots: about 4 s; allow for a loaded machine. */
    int got = 0;
    for (int e = 0; e < SLOW_EPS; e++)
        got += wh_wait_count(rcv, path[e], SLOW_CALLS, 40000);
    KVT_EQ_INT(got, SLOW_EPS * SLOW_CALLS, "slow: the receiver got all 150 deliveries");

    int succeeded = 0, first = 0, pending = 0, shown = 0;
    for (int e = 0; e < SLOW_EPS; e++) {
        kvt_resp_t r = {0};
        for (int waited = 0; waited < 10000; waited += 200) {
            kvt_resp_free(&r);
            r = wh_deliveries(key, ep[e], 100);
            size_t i;
            json_t *d;
            int p = 0;
            json_array_foreach(se_data(&r), i, d) {
                const char *st = json_string_value(json_object_get(d, "status"));
                p += st && strcmp(st, "pending") == 0;
            }
            if (!p)
                break;
            kvt_sleep_ms(200);
        }
        size_t i;
        json_t *d;
        json_array_foreach(se_data(&r), i, d) {
            const char *st = json_string_value(json_object_get(d, "status"));
            json_t *att = json_object_get(d, "attempts");
            succeeded += st && strcmp(st, "succeeded") == 0;
            pending += st && strcmp(st, "pending") == 0;
            if (json_array_size(att) == 1 &&
                json_integer_value(json_object_get(json_array_get(att, 0), "status_code")) == 200)
                first++;
            else if (shown++ < 5) {   /* a few for the log */
                char *a = json_dumps(att, JSON_COMPACT);
                fprintf(stderr, "slow: delivery %lld: %s %.300s\n",
                        (long long)json_integer_value(json_object_get(d, "id")), st ? st : "?",
                        a ? a : "");
                free(a);
            }
        }
        kvt_resp_free(&r);
    }
    KVT_EQ_INT(succeeded, SLOW_EPS * SLOW_CALLS, "slow: all 150 deliveries succeeded");
    KVT_EQ_INT(first, SLOW_EPS * SLOW_CALLS,
               "slow: every one at its first attempt (waiting for a slot is not an attempt)");
    KVT_EQ_INT(pending, 0, "slow: none left pending");
    for (int e = 0; e < SLOW_EPS; e++) {
        char p[96];
        snprintf(p, sizeof p, "/api/v1/webhooks/%lld", ep[e]);
        kvt_resp_t r = kvt_api(key, "DELETE", p, NULL);
        kvt_resp_free(&r);
    }
}

/* Part 2: A's slow backlog does not delay B. */
static void s_fairness(const wh_receiver_t *slow, const wh_receiver_t *fast)
{
    char akey[A_KEYS][64], bkey[64], url[512], del[96];
    int64_t a = se_tenant("wh-fair-a", "UTC", 0, akey[0]);
    for (int k = 1; k < A_KEYS; k++)
        if (s_more_key(a, akey[k]) != 0) {
            printf("FAIL fairness_setup: another key of A\n");
            exit(1);
        }
    se_tenant("wh-fair-b", "UTC", 0, bkey);

    wh_url(slow, "/hang/a", url, sizeof url);
    long long ep_a = wh_endpoint(akey[0], url, "[\"call.ended\"]", NULL);
    wh_url(fast, "/ok/b", url, sizeof url);
    long long ep_b = wh_endpoint(bkey, url, "[\"call.ended\"]", NULL);
    wh_url(slow, "/ok/b-same-host", url, sizeof url);
    long long ep_b2 = wh_endpoint(bkey, url, "[\"call.ended\"]", NULL);
    KVT_OK(ep_a > 0 && ep_b > 0 && ep_b2 > 0,
           "fairness: A on a hanging path, B on another receiver and on A's receiver");

    /* A's backlog, as fast as the API takes it. */
    long long t_backlog = s_now_us();
    pthread_t th[LOGGERS];
    s_logger_t lg[LOGGERS];
    for (int t = 0; t < LOGGERS; t++) {
        lg[t] = (s_logger_t){ akey[t % A_KEYS], BACKLOG * t / LOGGERS,
                              BACKLOG * (t + 1) / LOGGERS, 0 };
        pthread_create(&th[t], NULL, s_logger, &lg[t]);
    }
    int logged = 0;
    for (int t = 0; t < LOGGERS; t++) {
        pthread_join(th[t], NULL);
        logged += lg[t].logged;
    }
    long long total = -1;
    for (int waited = 0; waited < 15000 && (total = s_total(akey[0], ep_a)) < BACKLOG;
         waited += 200)
        kvt_sleep_ms(200);
    fprintf(stderr, "fairness: %d calls of A logged in %.1f s, %lld deliveries queued\n",
            logged, (s_now_us() - t_backlog) / 1e6, total);
    KVT_EQ_INT(total, BACKLOG, "fairness: A has a backlog of 600 deliveries to a hanging receiver");

    /* B's event, while A's backlog is there. */
    long long t0 = s_now_us();
    KVT_OK(s_call(bkey, 0) == 0, "fairness: B logged a call");
    int got_b = wh_wait_count(fast, "/ok/b", 1, 30000);
    int got_b2 = wh_wait_count(slow, "/ok/b-same-host", 1, 30000);
    long long lat_b = got_b ? (s_received(fast, "/ok/b", 1) - t0) / 1000 : -1;
    long long lat_b2 = got_b2 ? (s_received(slow, "/ok/b-same-host", 1) - t0) / 1000 : -1;
    int a_seen = wh_count(slow, "/hang/a");
    fprintf(stderr, "fairness: B on its own receiver after %lld ms, B on A's receiver after "
            "%lld ms; A's receiver had %d requests\n", lat_b, lat_b2, a_seen);
    KVT_OK(got_b == 1 && lat_b >= 0 && lat_b < BOUND_MS,
           "fairness: B's delivery to its own receiver arrived within 3 s (%lld ms)", lat_b);
    KVT_OK(got_b2 == 1 && lat_b2 >= 0 && lat_b2 < BOUND_MS,
           "fairness: B's delivery to A's receiver (other path) arrived within 3 s (%lld ms)",
           lat_b2);
    KVT_OK(a_seen > 0 && a_seen < BACKLOG,
           "fairness: meanwhile A's backlog was being worked on, far from drained (%d of 600)",
           a_seen);

    /* One instance holds at most EP_CAP deliveries of an endpoint: every
     * attempt to A hangs for the whole 2 s timeout, so in the first 1.5 s
     * after A's first request no more than EP_CAP can have arrived. */
    long long first = s_received(slow, "/hang/a", 1);
    int burst = 0;
    for (int n = 1; n <= a_seen; n++) {
        long long t = s_received(slow, "/hang/a", n);
        burst += t > 0 && t - first < 1500000;
    }
    KVT_OK(burst >= 1 && burst <= EP_CAP,
           "fairness: at most %d of A's deliveries in flight at once (%d in its first 1.5 s)",
           EP_CAP, burst);

    /* B got it once each, and A's backlog goes away with its endpoint. */
    kvt_sleep_ms(500);
    KVT_EQ_INT(wh_count(fast, "/ok/b") + wh_count(slow, "/ok/b-same-host"), 2,
               "fairness: B's two endpoints got the event once each");
    snprintf(del, sizeof del, "/api/v1/webhooks/%lld", ep_a);
    kvt_resp_t r = kvt_api(akey[0], "DELETE", del, NULL);
    KVT_EQ_INT(r.status, 200, "fairness: A's endpoint deleted with its backlog");
    kvt_resp_free(&r);
}

int main(void)
{
    wh_receiver_t slow = { 0 }, fast = { 0 };
    wh_receiver_start(&slow, 4000);   /* /hang/: 4 s, past the 2 s timeout */
    wh_receiver_start(&fast, 4000);
    s_slow_receiver(&slow);
    s_fairness(&slow, &fast);
    wh_receiver_stop(&fast);
    wh_receiver_stop(&slow);
    return kvt_done();
}
