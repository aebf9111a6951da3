/*
 * webhook_bench.c -- measures the webhook pipeline against a running stack
 * (the same KVT_* environment as the end-to-end tests) and a local
 * webhook_receiver that answers 200 at once:
 *
 *   1. throughput: with kaivox-webhooks stopped, N calls are logged (one
 *      call.ended each) for a tenant with E endpoints; the service is
 *      started and the receiver's receipt times give deliveries per second
 *      from the first receipt to the last (intake by catch-up included);
 *      then the delivery logs are read back and every delivery whose first
 *      attempt failed is counted (it should be none: the receiver answers
 *      them all), with the errors seen;
 *   2. latency: M appointments booked one after another, each timed from
 *      just before POST /api/v1/appointments to the receiver's receipt of
 *      its appointment.created; prints median, p90, p99, max.
 *
 *   webhook_bench [N_CALLS (500)] [ENDPOINTS (10)] [M_APPOINTMENTS (200)]
 *
 * Needs KVT_BASE_URL, KVT_ADMIN_URL, KVT_ADMIN_TOKEN, KVT_STACK, KVT_BUILD
 * (see tests/run.sh) and a gateway rate limit above the request rate.
 * WEBHOOK_BENCH_HANG_MS=MS makes phase 1 a slow receiver: it answers each
 * delivery only after MS (its /hang/ paths), to check that deliveries
 * waiting for a connection to it are not failed by the time they wait
 * (with MS below KAIVOX_WEBHOOK_TIMEOUT_MS none should fail).
 */
#include <sys/time.h>

#include "../e2e/webhooks_e2e.h"

static long long s_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

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

/* Reads back the delivery log of endpoint id and counts the deliveries
 * whose first attempt failed (adds to *failed; a few errors to stderr) and
 * those not attempted yet (*unsettled).  -1 when the log could not be read. */
static int s_first_failures(const char *key, long long id, int *failed, int *seen,
                            int *unsettled, int verbose)
{
    for (int page = 1;; page++) {
        char path[160];
        snprintf(path, sizeof path, "/api/v1/webhooks/%lld/deliveries?per_page=100&page=%d",
                 id, page);
        kvt_resp_t r = kvt_api(key, "GET", path, NULL);
        json_t *data = r.status == 200 ? se_data(&r) : NULL;
        if (!json_is_array(data)) {
            fprintf(stderr, "delivery log of endpoint %lld: %ld\n", id, r.status);
            kvt_resp_free(&r);
            return -1;
        }
        size_t i, n = json_array_size(data);
        json_t *d;
        json_array_foreach(data, i, d) {
            json_t *a = json_array_get(json_object_get(d, "attempts"), 0);
            json_int_t code = json_integer_value(json_object_get(a, "status_code"));
            const char *err = json_string_value(json_object_get(a, "error"));
            (*seen)++;
            if (!a) {
                (*unsettled)++;
                continue;
            }
            if (err || code < 200 || code > 299) {
                if ((*failed)++ < 10 && verbose)
                    fprintf(stderr, "  delivery %lld: first attempt failed: HTTP %lld, %s, %lld ms\n",
                            (long long)json_integer_value(json_object_get(d, "id")),
                            (long long)code, err ? err : "-",
                            (long long)json_integer_value(json_object_get(a, "duration_ms")));
            }
        }
        kvt_resp_free(&r);
        if (n < 100)
            return 0;
    }
}

static int s_cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int ncalls = argc > 1 ? atoi(argv[1]) : 500;
    int nep = argc > 2 ? atoi(argv[2]) : 10;
    int nappt = argc > 3 ? atoi(argv[3]) : 200;
    if (ncalls < 1 || nep < 1 || nep > 100 || nappt < 1 || nappt > 1000) {
        fprintf(stderr, "usage: webhook_bench [N_CALLS] [ENDPOINTS 1..100] [APPOINTMENTS 1..1000]\n");
        return 2;
    }
    const char *hang_env = getenv("WEBHOOK_BENCH_HANG_MS");
    int hang_ms = hang_env ? atoi(hang_env) : 0;
    const char *kind = hang_ms > 0 ? "hang" : "ok";   /* phase 1's receiver paths */
    wh_receiver_t rcv = { 0 };
    wh_receiver_start(&rcv, hang_ms > 0 ? hang_ms : 5000);
    wh_shop_t s;
    wh_shop(&s, "wh-bench");
    char url[256], path[64];
    long long *eps = calloc((size_t)nep, sizeof *eps);

    /* ---- 1. throughput ---- */
    for (int e = 0; e < nep; e++) {
        snprintf(path, sizeof path, "/%s/bench-%d", kind, e);
        wh_url(&rcv, path, url, sizeof url);
        if ((eps[e] = wh_endpoint(s.key, url, "[\"call.ended\"]", NULL)) < 0)
            return 1;
    }
    if (kvt_stack("stop webhooks") != 0)
        return 1;
    long long t0 = s_now_us();
    for (int i = 0; i < ncalls; i++) {
        kvt_resp_t r = kvt_apif(s.key, "POST", "/api/v1/calls",
                                "{\"caller_phone\":\"+1555020%04d\",\"started_at\":"
                                "\"2026-03-10T14:00:00Z\",\"duration_seconds\":60}", i % 10000);
        if (r.status != 201) {
            fprintf(stderr, "call %d: %ld %.200s\n", i, r.status, r.body ? r.body : "");
            return 1;
        }
        kvt_resp_free(&r);
    }
    long long t1 = s_now_us();
    printf("logged %d calls in %.2f s (%.0f/s), webhooks stopped\n", ncalls,
           (t1 - t0) / 1e6, ncalls / ((t1 - t0) / 1e6));
    long long started = s_now_us();
    if (kvt_stack("start webhooks") != 0)
        return 1;
    int want = ncalls * nep, total = 0;
    for (int waited = 0; waited < 600000; waited += 100) {
        total = 0;
        for (int e = 0; e < nep; e++) {
            snprintf(path, sizeof path, "/%s/bench-%d", kind, e);
            total += wh_count(&rcv, path);
        }
        if (total >= want)
            break;
        kvt_sleep_ms(100);
    }
    long long first = 0, last = 0;
    for (int e = 0; e < nep; e++) {
        snprintf(path, sizeof path, "/%s/bench-%d", kind, e);
        int n = wh_count(&rcv, path);
        for (int i = 1; i <= n; i++) {
            long long t = s_received(&rcv, path, i);
            if (t && (!first || t < first))
                first = t;
            if (t > last)
                last = t;
        }
    }
    printf("throughput: %d/%d deliveries (%d events x %d endpoints); first->last receipt "
           "%.2f s = %.0f deliveries/s; service start->last receipt %.2f s = %.0f/s\n",
           total, want, ncalls, nep, (last - first) / 1e6,
           total / ((last - first) / 1e6), (last - started) / 1e6,
           total / ((last - started) / 1e6));
    /* The receiver writes a request down on receipt, before answering: wait
     * until every delivery has its first attempt recorded. */
    int failed = 0, seen = 0, unsettled = 0, log_ok = 1;
    for (int tries = 0, last_pass = 0; log_ok; tries++) {
        failed = seen = unsettled = 0;
        for (int e = 0; e < nep && log_ok; e++)
            log_ok = s_first_failures(s.key, eps[e], &failed, &seen, &unsettled,
                                      last_pass) == 0;
        if (last_pass)
            break;
        last_pass = unsettled == 0 || tries >= 120;
        if (!last_pass)
            kvt_sleep_ms(500);
    }
    printf("first attempts failed: %d of %d deliveries%s\n", failed, seen,
           !log_ok ? " (delivery log not fully read)" :
           unsettled ? " (some never attempted)" : "");
    free(eps);

    /* ---- 2. latency ---- */
    wh_url(&rcv, "/ok/latency", url, sizeof url);
    if (wh_endpoint(s.key, url, "[\"appointment.created\"]", NULL) < 0)
        return 1;
    kvt_sleep_ms(500);
    long long *lat = calloc((size_t)nappt, sizeof *lat);
    long long *after = calloc((size_t)nappt, sizeof *after);   /* 201 -> receipt */
    int nlat = 0;
    for (int i = 0; i < nappt; i++) {
        long long before = s_now_us();
        if (wh_book(&s, i) < 0)
            break;
        long long answered = s_now_us();
        long long rec = 0;
        for (int w = 0; w < 10000 && !(rec = s_received(&rcv, "/ok/latency", i + 1)); w++) {
            struct timespec ts = { 0, 200000 };
            nanosleep(&ts, NULL);
        }
        if (!rec) {
            fprintf(stderr, "appointment %d: not received\n", i);
            break;
        }
        after[nlat] = rec - answered;
        lat[nlat++] = rec - before;
    }
    qsort(lat, (size_t)nlat, sizeof *lat, s_cmp);
    if (nlat > 0)
        printf("latency POST /api/v1/appointments -> receiver receipt over %d bookings: "
               "median %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n", nlat,
               lat[nlat / 2] / 1e3, lat[(nlat * 90) / 100] / 1e3,
               lat[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1] / 1e3,
               lat[nlat - 1] / 1e3);
    qsort(after, (size_t)nlat, sizeof *after, s_cmp);
    if (nlat > 0)
        printf("  of which after the 201 answer (outbox -> PUB -> intake -> deliverer -> "
               "receiver): median %.1f ms, p99 %.1f ms\n", after[nlat / 2] / 1e3,
               after[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1] / 1e3);
    free(lat);
    free(after);
    wh_receiver_stop(&rcv);
    return nlat == nappt && total >= want && failed == 0 && log_ok ? 0 : 1;
}
