/*
 * test_gateway_failover.c -- services coming and going under a running
 * gateway: a stopped or killed scheduling answers 503/504 within the
 * deadline (never a hang), the gateway stays up, and requests succeed again
 * once scheduling is back, without restarting the gateway.  A second
 * scheduling instance joins with no configuration change: /readyz counts
 * twice the workers, and each instance serves alone while the other is
 * stopped, which proves both take requests.
 *
 * It stops and starts processes of the shared test stack, so it always
 * restarts what it stopped before it ends.
 */
#include "gw_e2e.h"

/* Live scheduling workers according to /readyz (-1 when unreadable). */
static long long s_workers(void)
{
    kvt_resp_t r = gw_get_with("/readyz", NULL);
    json_t *data = json_object_get(r.json, "data");
    json_t *w = json_object_get(data ? data : r.json, "workers");
    json_t *n = json_object_get(w, "scheduling");
    long long v = json_is_integer(n) ? json_integer_value(n) : -1;
    kvt_resp_free(&r);
    return v;
}

/* Polls GET /api/v1/services until 200, at most ms; returns the last status. */
static long s_poll_ok(const char *key, int ms)
{
    long st = 0;
    for (int waited = 0; waited <= ms; waited += 200) {
        kvt_resp_t r = kvt_api(key, "GET", "/api/v1/services", NULL);
        st = r.status;
        kvt_resp_free(&r);
        if (st == 200)
            break;
        kvt_sleep_ms(200);
    }
    return st;
}

/* Polls /readyz until scheduling has want workers, at most ms. */
static long long s_poll_workers(long long want, int ms)
{
    long long n = -1;
    for (int waited = 0; waited <= ms; waited += 200) {
        n = s_workers();
        if (n == want)
            break;
        kvt_sleep_ms(200);
    }
    return n;
}

/* Sends 8 requests; returns how many answered 200. */
static int s_served(const char *key)
{
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        kvt_resp_t r = kvt_api(key, "GET", "/api/v1/services", NULL);
        ok += r.status == 200;
        kvt_resp_free(&r);
    }
    return ok;
}

int main(void)
{
    int64_t tid;
    char key[64];
    if (kvt_tenant("gw-failover", NULL, &tid, key) != 0) {
        KVT_OK(0, "a tenant and key can be created");
        return kvt_done();
    }
    /* A left-over second instance (an earlier interrupted run) would make
     * "stopped" mean nothing: start from one instance. */
    (void)kvt_stack("stop scheduling --instance 2");
    long long per_instance = s_poll_workers(-2, 2000);   /* settles, then reads */
    KVT_OK(per_instance > 0, "scheduling has live workers before the test (%lld)", per_instance);
    double deadline_s = atof(kvt_env("KAIVOX_REQUEST_TIMEOUT_MS", "5000")) / 1000.0;

    /* --- graceful stop --- */
    KVT_EQ_INT(kvt_stack("stop scheduling"), 0, "scheduling can be stopped");
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/services", NULL);
    KVT_OK(r.status == 503 || r.status == 504, "with scheduling stopped the answer is 503/504 (got %ld)", r.status);
    KVT_OK(r.seconds <= deadline_s + 1.0, "with scheduling stopped the answer comes within the deadline (%.2f s)", r.seconds);
    KVT_OK(json_is_false(json_object_get(r.json, "success")) && gw_has_hdr(&r, "X-Request-Id"),
           "the 503/504 is an error envelope with X-Request-Id");
    kvt_resp_free(&r);
    r = gw_get_with("/healthz", NULL);
    KVT_EQ_INT(r.status, 200, "the gateway stays up while scheduling is down");
    kvt_resp_free(&r);
    r = gw_get_with("/readyz", NULL);
    KVT_EQ_INT(r.status, 503, "/readyz is 503 while scheduling is down");
    KVT_OK(r.body && strstr(r.body, "\"scheduling\""), "/readyz names scheduling as missing");
    kvt_resp_free(&r);
    KVT_EQ_INT(kvt_stack("start scheduling"), 0, "scheduling can be started again");
    KVT_EQ_INT(s_poll_ok(key, 10000), 200, "requests succeed again after the restart, same gateway");

    /* --- SIGKILL: no goodbye, the broker must notice by itself --- */
    KVT_EQ_INT(kvt_stack("kill scheduling"), 0, "scheduling can be killed");
    r = kvt_api(key, "GET", "/api/v1/services", NULL);
    KVT_OK(r.status == 503 || r.status == 504, "with scheduling killed the answer is 503/504 (got %ld)", r.status);
    KVT_OK(r.seconds <= deadline_s + 1.0, "with scheduling killed the answer comes within the deadline (%.2f s)", r.seconds);
    kvt_resp_free(&r);
    r = gw_get_with("/healthz", NULL);
    KVT_EQ_INT(r.status, 200, "the gateway stays up after a service was killed");
    kvt_resp_free(&r);
    KVT_EQ_INT(kvt_stack("start scheduling"), 0, "scheduling can be started after a kill");
    KVT_EQ_INT(s_poll_ok(key, 10000), 200, "requests succeed again after the kill and restart");
    KVT_EQ_INT(s_poll_workers(per_instance, 10000), per_instance, "dead workers are dropped, live ones counted");

    /* --- a second instance --- */
    KVT_EQ_INT(kvt_stack("start scheduling --instance 2"), 0, "a second scheduling instance starts");
    KVT_EQ_INT(s_poll_workers(2 * per_instance, 10000), 2 * per_instance,
               "/readyz counts the workers of both instances");
    KVT_EQ_INT(s_served(key), 8, "both instances up: every request is served");
    KVT_EQ_INT(kvt_stack("stop scheduling"), 0, "instance 1 can be stopped");
    s_poll_workers(per_instance, 5000);
    KVT_EQ_INT(s_served(key), 8, "instance 2 alone serves every request");
    KVT_EQ_INT(kvt_stack("start scheduling"), 0, "instance 1 starts again");
    s_poll_workers(2 * per_instance, 10000);
    KVT_EQ_INT(kvt_stack("stop scheduling --instance 2"), 0, "instance 2 can be stopped");
    s_poll_workers(per_instance, 5000);
    KVT_EQ_INT(s_served(key), 8, "instance 1 alone serves every request");
    KVT_EQ_INT(s_poll_workers(per_instance, 5000), per_instance, "the stack is back to one instance");
    return kvt_done();
}
