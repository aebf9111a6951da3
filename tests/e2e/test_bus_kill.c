/*
 * test_bus_kill.c -- a SIGKILLed service instance costs at most the
 * requests it held, and those are answered within about a second, not at
 * their deadline:
 *
 *   - reads it held are handed to another instance and succeed (the
 *     client never learns anything happened);
 *   - writes it held are answered 502 "may or may not have been applied"
 *     at once (the broker cannot know whether they committed);
 *   - every other request of the same burst succeeds, and /readyz stops
 *     counting the dead instance's workers within a second or so;
 *   - reads held by the only instance of a service are answered 503 at
 *     once when it dies (there is no one to hand them to).
 *
 * A second calls instance is started with the test hook
 * KAIVOX_TEST_SLOW_OPS so that it holds its requests for 4 s; the broker
 * hands each of a burst of requests to the least recently used idle
 * worker, so with 2 x N idle workers and 3 x N requests every worker of
 * the slow instance holds one.  Killed 0.7 s into the burst, what it held
 * must come back within KILL_MARGIN_S (1 s in the product; margin for a
 * loaded test machine), far below the 4 s the hook holds them and the 5 s
 * deadline the broker answered at before.
 */
#include "bus_e2e.h"

#define KILL_MARGIN_S 2.5

typedef struct {
    const char *key;
    const char *method;
    char body[512];
    long status;
    char message[256];
    double done;                 /* bus_now() when the answer came */
} s_req_t;

static void *s_send(void *arg)
{
    s_req_t *q = arg;
    kvt_resp_t r = kvt_api(q->key, q->method, "/api/v1/calls", q->body[0] ? q->body : NULL);
    q->done = bus_now();
    q->status = r.status;
    snprintf(q->message, sizeof q->message, "%s", gw_msg(&r));
    kvt_resp_free(&r);
    return NULL;
}

/* Sends n requests at once, kills calls instance 2 after kill_after_ms,
 * waits for all.  Returns the kill time (bus_now). */
static double s_burst_and_kill(s_req_t *q, int n, int kill_after_ms)
{
    pthread_t th[64];
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, s_send, &q[i]);
    kvt_sleep_ms(kill_after_ms);
    double killed = bus_now();
    KVT_EQ_INT(bus_stack("kill", "calls", 2), 0, "the slow calls instance is SIGKILLed");
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    return killed;
}

int main(void)
{
    int64_t tid;
    char key[64];
    if (kvt_tenant("bus-kill", NULL, &tid, key) != 0) {
        KVT_OK(0, "a tenant can be created");
        return kvt_done();
    }
    (void)bus_stack("kill", "calls", 2);   /* a left-over of an interrupted run */
    long long n = bus_per_instance(KV_SVC_CALLS);
    KVT_OK(n > 0 && n <= 16, "calls has %lld workers per instance", n);
    if (n <= 0 || n > 16)
        return kvt_done();
    const char *slow = "KAIVOX_TEST_HOOKS=1 KAIVOX_TEST_SLOW_OPS=calls.list:4000,calls.create:4000";
    int nreq = (int)(3 * n);

    /* --- reads --- */
    KVT_EQ_INT(bus_start("calls", 2, slow), 0, "a slow second calls instance starts");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CALLS, 2 * n, 15000), 2 * n, "both instances' workers are registered");
    kvt_sleep_ms(300);
    s_req_t q[64];
    memset(q, 0, sizeof q);
    for (int i = 0; i < nreq; i++) {
        q[i].key = key;
        q[i].method = "GET";
    }
    double killed = s_burst_and_kill(q, nreq, 700);
    int ok = 0, held = 0;
    double worst = 0;
    for (int i = 0; i < nreq; i++) {
        ok += q[i].status == 200;
        if (q[i].done > killed) {
            held++;
            if (q[i].done - killed > worst)
                worst = q[i].done - killed;
        }
    }
    KVT_EQ_INT(ok, nreq, "every read of the burst succeeds, the ones the killed instance held too");
    KVT_OK(held >= 1, "the killed instance held reads (%d answered after the kill)", held);
    KVT_OK(worst < KILL_MARGIN_S, "they were answered by another instance %.2f s after the kill "
           "(the hook would have held them 4 s)", worst);
    long long left = bus_wait_workers(KV_SVC_CALLS, n, 3000);
    KVT_EQ_INT(left, n, "/readyz counts only the live instance's workers again");

    /* --- writes --- */
    KVT_EQ_INT(bus_start("calls", 2, slow), 0, "the slow calls instance starts again");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CALLS, 2 * n, 15000), 2 * n, "both instances registered again");
    kvt_sleep_ms(300);
    memset(q, 0, sizeof q);
    char run[33];
    kv_bus_new_id(run);
    run[16] = '\0';
    for (int i = 0; i < nreq; i++) {
        q[i].key = key;
        q[i].method = "POST";
        snprintf(q[i].body, sizeof q[i].body,
                 "{\"external_id\":\"kill-%s-%d\",\"caller_phone\":\"+1555%07d\",\"direction\":\"inbound\","
                 "\"started_at\":\"2026-03-10T10:00:00Z\",\"ended_at\":\"2026-03-10T10:02:00Z\"}",
                 run, i, 2000000 + i);
    }
    killed = s_burst_and_kill(q, nreq, 700);
    int created = 0, unknown = 0, other = 0;
    worst = 0;
    for (int i = 0; i < nreq; i++) {
        if (q[i].status == 201 && q[i].done <= killed) {
            created++;
        } else if (q[i].status == 502 && q[i].done > killed &&
                   strstr(q[i].message, "may or may not have been applied")) {
            unknown++;
            if (q[i].done - killed > worst)
                worst = q[i].done - killed;
        } else {
            other++;
            fprintf(stderr, "write %d: %ld %s (%.2f s after the kill)\n", i, q[i].status,
                    q[i].message, q[i].done - killed);
        }
    }
    KVT_OK(unknown >= 1 && unknown <= n, "the writes the killed instance held are answered 502, "
           "outcome unknown (%d of at most %lld)", unknown, n);
    KVT_OK(worst < KILL_MARGIN_S, "at once: %.2f s after the kill, not at the deadline", worst);
    KVT_EQ_INT(created + unknown, nreq, "every other write of the burst was created (201)");
    KVT_EQ_INT(other, 0, "no write got anything else");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CALLS, n, 3000), n, "the stack is back to one calls instance");

    /* --- reads held by the only instance: nothing to hand them to --- */
    KVT_EQ_INT(bus_start("calls", 2, slow), 0, "the slow instance starts once more");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CALLS, 2 * n, 15000), 2 * n, "registered");
    KVT_EQ_INT(bus_stack("stop", "calls", 1), 0, "the normal instance is stopped: the slow one is alone");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CALLS, n, 5000), n, "only its workers are left");
    memset(q, 0, sizeof q);
    for (int i = 0; i < n; i++) {
        q[i].key = key;
        q[i].method = "GET";
    }
    killed = s_burst_and_kill(q, (int)n, 700);
    int unavailable = 0;
    worst = 0;
    for (int i = 0; i < n; i++) {
        unavailable += q[i].status == 503;
        if (q[i].done - killed > worst)
            worst = q[i].done - killed;
    }
    KVT_EQ_INT(unavailable, n, "reads held by the only instance are answered 503 when it dies");
    KVT_OK(worst < KILL_MARGIN_S, "at once: %.2f s after the kill", worst);
    KVT_EQ_INT(bus_stack("start", "calls", 1), 0, "the normal instance starts again");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CALLS, n, 15000), n, "the stack is back to one calls instance");
    return kvt_done();
}
