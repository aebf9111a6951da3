/*
 * test_bus_gateways.c -- two gateways, no single point of failure.  The test
 * stack runs two (KVT_BASE_URL, KVT_BASE_URL2); every service instance
 * registers with both, publishes to both and subscribes at both
 * (proto/bus.md, "Several gateways"):
 *
 *   - both serve the public API, and each counts every worker of every
 *     service;
 *   - a service-to-service call whose gateway is SIGKILLed while it holds
 *     the call is sent again through the other (crm's profile asking
 *     scheduling, read-only): the caller never notices;
 *   - SIGKILL of gateway 1 under a steady mixed load through gateway 2:
 *     not one request fails, service-to-service calls keep working
 *     (scheduling -> crm on booking, calls -> crm on logging a call,
 *     crm -> scheduling on a profile), and events keep reaching the
 *     webhook receiver on the fast path: bookings spaced across one
 *     catch-up interval are each delivered within half of it, which
 *     catch-up alone cannot do;
 *   - gateway 1, started again, gets every worker back and serves.
 *
 * It kills and restarts processes of the shared stack and always leaves
 * it as it found it: both gateways up, scheduling and crm without hooks.
 */
#include "bus_e2e.h"
#include "webhooks_e2e.h"

static char s_url1[128], s_url2[128];

/* Uses gateway url for every kvt_api / gw_get_with call from now on.  Only
 * while no other thread makes requests. */
static void s_use(const char *url)
{
    setenv("KVT_BASE_URL", url, 1);
}

/* /readyz of the gateway in use: its status and the workers per service. */
static long s_workers(long long w[4])
{
    static const char *const svcs[] = { KV_SVC_SCHEDULING, KV_SVC_CRM, KV_SVC_CALLS,
                                        KV_SVC_WEBHOOKS };
    long st = 0;
    for (int i = 0; i < 4; i++)
        st = bus_readyz(svcs[i], &w[i], NULL);
    return st;
}

/* Waits (<= ms) until the gateway in use is ready with the workers want. */
static int s_ready_like(const long long want[4], int ms)
{
    long long w[4];
    for (double until = bus_now() + ms / 1000.0; bus_now() < until; kvt_sleep_ms(200))
        if (s_workers(w) == 200 && memcmp(w, want, sizeof w) == 0)
            return 1;
    return 0;
}

static long s_get(const char *key, const char *path)
{
    kvt_resp_t r = kvt_api(key, "GET", path, NULL);
    long st = r.status;
    kvt_resp_free(&r);
    return st;
}

static void test_both_serve(const char *key, long long w2[4])
{
    long long w1[4];
    s_use(s_url1);
    long st1 = s_workers(w1);
    KVT_EQ_INT(s_get(key, "/api/v1/services"), 200, "gateway 1 serves");
    s_use(s_url2);
    long st2 = s_workers(w2);
    KVT_EQ_INT(s_get(key, "/api/v1/services"), 200, "gateway 2 serves");
    KVT_OK(st1 == 200 && st2 == 200, "both are ready (%ld, %ld)", st1, st2);
    KVT_OK(memcmp(w1, w2, sizeof w1) == 0 && w1[0] > 0 && w1[1] > 0 && w1[2] > 0 && w1[3] > 0,
           "and each counts every worker: scheduling %lld/%lld, crm %lld/%lld, calls %lld/%lld, "
           "webhooks %lld/%lld", w1[0], w2[0], w1[1], w2[1], w1[2], w2[2], w1[3], w2[3]);
}

/* ---- a call in flight on a gateway that dies ---------------------------- */

typedef struct {
    const char *key;
    long long customer;
    long status;
    long long total;
} s_profile_t;

static void *s_profile_thread(void *arg)
{
    s_profile_t *p = arg;
    char path[96];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", p->customer);
    kvt_resp_t r = kvt_api(p->key, "GET", path, NULL);
    p->status = r.status;
    json_t *t = json_object_get(json_object_get(r.json, "data"), "total_appointments");
    p->total = json_is_integer(t) ? json_integer_value(t) : -1;
    kvt_resp_free(&r);
    return NULL;
}

static void test_call_in_flight(const wh_shop_t *shop, const long long want[4])
{
    /* scheduling answers customer_stats after 500 ms, and crm starts
     * afresh: each of its bus clients sends its first call through the
     * first gateway of the list (gateway 1) */
    int bye = bus_log_count("crm", "went away holding it: sending it through another");
    int rc = bus_stack("stop", KV_SVC_SCHEDULING, 1);
    KVT_EQ_INT(rc, 0, "scheduling stops");
    rc = bus_start(KV_SVC_SCHEDULING, 1,
                   "KAIVOX_TEST_HOOKS=1 KAIVOX_TEST_SLOW_OPS=appointments.customer_stats:500");
    KVT_EQ_INT(rc, 0, "scheduling starts with a slow customer_stats");
    KVT_EQ_INT(kvt_stack("restart crm"), 0, "crm restarts");
    s_use(s_url2);
    KVT_OK(s_ready_like(want, 20000), "gateway 2 has every worker back");
    s_use(s_url1);
    KVT_OK(s_ready_like(want, 20000), "so has gateway 1");
    kvt_sleep_ms(500);          /* the clients' connections are up */

    s_use(s_url2);
    s_profile_t p[2] = { { shop->key, shop->customer, 0, 0 }, { shop->key, shop->customer, 0, 0 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, s_profile_thread, &p[i]);
    kvt_sleep_ms(250);
    double t0 = bus_now();
    KVT_EQ_INT(kvt_stack("kill gateway"), 0, "gateway 1 is killed while it holds crm's calls");
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    double took = bus_now() - t0;
    KVT_OK(p[0].status == 200 && p[1].status == 200,
           "both profiles are answered 200 (%ld, %ld) through gateway 2", p[0].status, p[1].status);
    KVT_OK(p[0].total >= 1 && p[1].total >= 1,
           "with scheduling's figures (%lld, %lld appointments)", p[0].total, p[1].total);
    KVT_OK(took < 3.0, "within %.2f s of the kill", took);
    KVT_OK(bus_log_count("crm", "went away holding it: sending it through another") > bye,
           "crm sent its calls again through the other gateway (crm's log)");

    KVT_EQ_INT(kvt_stack("start gateway"), 0, "gateway 1 starts again");
    rc = bus_stack("restart", KV_SVC_SCHEDULING, 1);
    KVT_EQ_INT(rc, 0, "scheduling restarts without the hook");
    s_use(s_url1);
    KVT_OK(s_ready_like(want, 20000), "gateway 1 has every worker back");
    s_use(s_url2);
    KVT_OK(s_ready_like(want, 20000), "and gateway 2 too");
}

/* ---- a gateway killed under load ------------------------------------------- */

static void test_kill_under_load(const wh_shop_t *shop, const wh_receiver_t *rcv,
                                 const long long want[4])
{
    const char *path = "/ok/gateways";
    char url[256], secret[80];
    wh_url(rcv, path, url, sizeof url);
    s_use(s_url2);
    KVT_OK(wh_endpoint(shop->key, url, WH_ALL_EVENTS, secret) > 0, "a webhook endpoint");
    bus_load_t load;
    KVT_EQ_INT(bus_load_init(&load, "gateways-load", 20, NULL), 0, "the load's tenants");
    bus_load_start(&load);
    kvt_sleep_ms(2000);

    int caught = bus_log_count("webhooks", "intake: caught up");
    KVT_EQ_INT(kvt_stack("kill gateway"), 0, "gateway 1 is killed under load");
    kvt_sleep_ms(2000);

    /* service-to-service calls through the survivor */
    char body[512];
    snprintf(body, sizeof body, "{\"caller_phone\":\"+15550109%03d\",\"started_at\":"
             "\"2026-03-11T09:00:00Z\",\"duration_seconds\":30}", (int)(getpid() % 1000));
    kvt_resp_t r = kvt_api(shop->key, "POST", "/api/v1/calls", body);
    KVT_EQ_INT(r.status, 201, "a call is logged (calls asks crm)");
    kvt_resp_free(&r);
    char prof[96];
    snprintf(prof, sizeof prof, "/api/v1/customers/%lld", shop->customer);
    KVT_EQ_INT(s_get(shop->key, prof), 200, "a customer's profile is shown (crm asks scheduling)");

    /* bookings (scheduling asks crm) spaced across one catch-up interval:
     * catch-up alone would leave at least one of them waiting more than
     * half an interval */
    int catchup = atoi(kvt_env("KAIVOX_WEBHOOK_CATCHUP_MS", "5000"));
    int before = wh_count(rcv, path);
    long long sent_us[5];
    int booked = 0;
    for (int i = 0; i < 5; i++) {
        sent_us[i] = wh_now_us();
        booked += wh_book(shop, 10 + i) > 0;
        kvt_sleep_ms(catchup * 22 / 100);
    }
    KVT_EQ_INT(booked, 5, "5 appointments are booked through gateway 2");
    int got = wh_wait_count(rcv, path, before + 5, 20000);
    KVT_OK(got >= before + 5, "their 5 events are delivered (%d)", got - before);
    double worst = 0;
    for (int i = 0; i < 5 && got >= before + 5; i++) {
        long long at = wh_received_us(rcv, path, before + 1 + i);
        double s = (at - sent_us[i]) / 1e6;
        worst = s > worst ? s : worst;
    }
    KVT_OK(got >= before + 5 && worst < catchup / 2000.0,
           "each within %.2f s, less than half a catch-up interval (%d ms): the fast path "
           "through gateway 2", worst, catchup);
    printf("# events after the kill: slowest delivery %.3f s; intake catch-ups that found "
           "events since the kill: %d\n", worst,
           bus_log_count("webhooks", "intake: caught up") - caught);

    long sent;
    char first[256];
    long failed = bus_load_stop(&load, &sent, first, sizeof first);
    KVT_OK(sent > 50, "the load ran (%ld requests)", sent);
    KVT_EQ_INT(failed, 0, "not one request through gateway 2 failed while gateway 1 died%s%s",
               failed ? ": " : "", failed ? first : "");

    KVT_EQ_INT(kvt_stack("start gateway"), 0, "gateway 1 starts again");
    s_use(s_url1);
    KVT_OK(s_ready_like(want, 20000), "every worker registers with it again");
    KVT_EQ_INT(s_get(shop->key, "/api/v1/services"), 200, "and it serves");
}

int main(void)
{
    snprintf(s_url1, sizeof s_url1, "%s", kvt_env("KVT_BASE_URL", "http://127.0.0.1:18080"));
    snprintf(s_url2, sizeof s_url2, "%s", kvt_env("KVT_BASE_URL2", "http://127.0.0.1:18082"));
    wh_shop_t shop;
    wh_shop(&shop, "gateways");
    KVT_OK(wh_book(&shop, 0) > 0, "a first booking, so the customer has figures");
    wh_receiver_t rcv = { 0 };
    wh_receiver_start(&rcv, 5000);
    long long want[4];
    test_both_serve(shop.key, want);
    test_call_in_flight(&shop, want);
    test_kill_under_load(&shop, &rcv, want);
    s_use(s_url1);
    wh_receiver_stop(&rcv);
    return kvt_done();
}
