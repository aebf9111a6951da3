/*
 * test_bus_queue.c -- a busy worker gets its next request before it
 * replies (proto/bus.md, "A request queued behind another"), and nothing
 * the broker promises is lost by it.  One fake worker (the only one that
 * serves the kvt.q.* operations) against the running gateway's broker:
 *
 *   - behind a quick request (its operation lately answered within
 *     KAIVOX_BROKER_QUEUE_BEHIND_US; tests/run.sh sets 20 ms so that a
 *     loaded machine does not hide the path) a second one is sent at once,
 *     and each caller gets its own answer;
 *   - behind a slow one it is not: it waits in the broker until the worker
 *     replies;
 *   - a queued request whose deadline passes is answered 504, and the
 *     worker gets nothing new until it has answered that one too (else its
 *     late answer would be taken for the next request's);
 *   - ... and when it comes back unserved before the held one's answer,
 *     the held one still gets its own answer;
 *   - a queued request the worker returns unserved is given to it again
 *     after its READY, and answered;
 *   - a write is never queued behind (a worker that dies leaves at most
 *     one write whose outcome is unknown);
 *   - a worker that dies with two reads in hand: both are handed on (here
 *     503 at once: no other worker serves them), neither left to its
 *     deadline.
 */
#include "bus_e2e.h"

#define S_QUICK   "kvt.q.quick"
#define S_WRITE   "kvt.q.write"
#define S_SLOW    "kvt.q.slow"
/* "At once" as in test_bus_protocol.c: milliseconds against a deadline of
 * seconds, told apart with a generous margin on a loaded machine */
#define S_AT_ONCE 2.0

static void *s_zmq;

/* A request the fake worker holds, taken out of bus_fake_t. */
typedef struct {
    kv_msg_t *req;
    kv_hdr_t hdr;
} s_held_t;

/* Waits (<= ms) for the next request at w; takes it into *h.  1 or 0. */
static int s_take(bus_fake_t *w, int ms, s_held_t *h)
{
    if (!bus_fake_pump(w, ms, 0))
        return 0;
    h->req = w->req;
    h->hdr = w->hdr;
    w->req = NULL;
    return 1;
}

/* Answers h with status and {"success":...,"data":"<its op>"}; unserved
 * marks it returned without running (status 503). */
static void s_answer(bus_fake_t *w, s_held_t *h, int status, int unserved)
{
    size_t rlen;
    const char *ret = kv_msg_data(h->req, 2, &rlen);
    kv_hdr_t rh;
    memset(&rh, 0, sizeof rh);
    snprintf(rh.id, sizeof rh.id, "%s", h->hdr.id);
    rh.status = status;
    rh.unserved = unserved;
    char *t = kv_hdr_encode(&rh, 1), body[160];
    snprintf(body, sizeof body, "{\"success\":%s,\"data\":\"%s\"}", status < 400 ? "true" : "false",
             h->hdr.op);
    kv_msg_t *m = kv_bus_envelope(KV_CMD_REPLY, ret, rlen, t, strlen(t), body, strlen(body));
    kv_msg_send(m, w->sock);
    kv_msg_destroy(&m);
    free(t);
    kv_msg_destroy(&h->req);
}

/* ---- a call in a thread, with its own client ---------------------------- */

typedef struct {
    pthread_t th;
    kv_client_t *c;
    const char *op;
    int timeout_ms;
    int st;
    double secs;
    char data[64];
} s_call_t;

static void *s_call_run(void *arg)
{
    s_call_t *call = arg;
    json_t *out = NULL;
    call->st = bus_call(call->c, 0, KV_SVC_SCHEDULING, call->op, call->timeout_ms, &call->secs,
                        &out);
    const char *d = json_string_value(json_object_get(out, "data"));
    snprintf(call->data, sizeof call->data, "%s", d ? d : "");
    json_decref(out);
    return NULL;
}

static void s_call_start(s_call_t *call, const char *op, int timeout_ms)
{
    memset(call, 0, sizeof *call);
    call->c = gw_bus_client_new(s_zmq, KV_SVC_SCHEDULING);
    call->op = op;
    call->timeout_ms = timeout_ms;
    pthread_create(&call->th, NULL, s_call_run, call);
}

static void s_call_join(s_call_t *call)
{
    pthread_join(call->th, NULL);
    kv_client_destroy(&call->c);
}

/* Runs op n times through w, answered after wait_ms each: the broker's
 * measure of how long op takes (a moving average over about eight: 40
 * quick ones bring it down from the second an earlier test's held
 * request took). */
static void s_warm(bus_fake_t *w, const char *op, int n, int wait_ms)
{
    for (int i = 0; i < n; i++) {
        s_call_t call;
        s_held_t h;
        s_call_start(&call, op, 5000);
        if (s_take(w, 3000, &h)) {
            if (wait_ms)
                kvt_sleep_ms(wait_ms);
            s_answer(w, &h, 200, 0);
        }
        s_call_join(&call);
    }
}

static bus_fake_t *s_worker(const char *instance)
{
    char *info = bus_fake_info(1, instance, 1, S_QUICK ":r," S_SLOW ":r," S_WRITE);
    bus_fake_t *w = bus_fake_new(s_zmq, KV_SVC_SCHEDULING, info);
    free(info);
    bus_fake_pump(w, 300, 0);    /* registered */
    s_warm(w, S_QUICK, 40, 0);   /* its operation measured quick */
    return w;
}

/* A quick read held at w (a, the caller's timeout ta ms) and a second one
 * sent right after (b, tb ms), which a busy worker gets queued behind the
 * first: how many of the two reached w (0, 1 or 2). */
static int s_two(bus_fake_t *w, s_call_t *a, s_held_t *ha, int ta, s_call_t *b, s_held_t *hb,
                 int tb)
{
    s_call_start(a, S_QUICK, ta);
    int got = s_take(w, 3000, ha);
    s_call_start(b, S_QUICK, tb);
    return got ? 1 + s_take(w, 1500, hb) : 0;
}

static void test_behind_quick(void)
{
    bus_fake_t *w = s_worker("kvt-queue-1");

    s_call_t a, b;
    s_held_t ha, hb;
    int n = s_two(w, &a, &ha, 5000, &b, &hb, 5000);
    int got_a = n >= 1, got_b = n == 2;
    KVT_OK(got_a, "the worker takes a quick request");
    KVT_OK(got_b, "a second quick request reaches it before it replied to the first");
    KVT_OK(got_b && strcmp(ha.hdr.id, hb.hdr.id) != 0, "and it is another request");
    if (got_a)
        s_answer(w, &ha, 200, 0);
    if (got_b)
        s_answer(w, &hb, 201, 0);
    s_call_join(&a);
    s_call_join(&b);
    KVT_EQ_INT(a.st, 200, "the first caller gets the first answer");
    KVT_EQ_INT(b.st, 201, "the second caller gets the second answer");

    /* the worker is idle again: a new request goes straight to it */
    s_call_t c;
    s_held_t hc;
    s_call_start(&c, S_QUICK, 5000);
    int got_c = s_take(w, 3000, &hc);
    KVT_OK(got_c, "after both answers the worker takes the next request");
    if (got_c)
        s_answer(w, &hc, 200, 0);
    s_call_join(&c);
    KVT_EQ_INT(c.st, 200, "and it is answered");
    bus_fake_close(&w, 1);
}

static void test_not_behind_slow(void)
{
    bus_fake_t *w = s_worker("kvt-queue-2");
    s_warm(w, S_SLOW, 3, 300);

    s_call_t s, q;
    s_held_t hs, hq;
    s_call_start(&s, S_SLOW, 5000);
    int got_s = s_take(w, 3000, &hs);
    s_call_start(&q, S_QUICK, 5000);
    KVT_OK(got_s, "the worker takes a request of an operation that lately took 300 ms");
    KVT_OK(!s_take(w, 600, &hq), "a request is not queued behind it: it waits in the broker");
    if (got_s)
        s_answer(w, &hs, 200, 0);
    int got_q = s_take(w, 3000, &hq);
    KVT_OK(got_q, "it comes once the worker has replied");
    if (got_q)
        s_answer(w, &hq, 200, 0);
    s_call_join(&s);
    s_call_join(&q);
    KVT_EQ_INT(s.st, 200, "the slow request is answered");
    KVT_EQ_INT(q.st, 200, "and the one that waited");
    KVT_EQ_STR(q.data, S_QUICK, "with its own answer");
    bus_fake_close(&w, 1);
}

static void test_queued_deadline(void)
{
    bus_fake_t *w = s_worker("kvt-queue-3");

    s_call_t a, b, c;
    s_held_t ha, hb, hc;
    int n = s_two(w, &a, &ha, 8000, &b, &hb, 700);
    int got_a = n >= 1, got_b = n == 2;
    KVT_OK(got_a && got_b, "a request with a 0.7 s deadline is queued behind a held one");
    s_call_join(&b);
    KVT_EQ_INT(b.st, 504, "its caller gets 504 at its deadline although the worker has it");
    if (got_a)
        s_answer(w, &ha, 200, 0);
    s_call_join(&a);
    KVT_EQ_INT(a.st, 200, "the held one is still answered");

    s_call_start(&c, S_QUICK, 8000);
    KVT_OK(!s_take(w, 600, &hc),
           "while the worker still owes the timed-out request's answer it gets nothing new");
    if (got_b)
        s_answer(w, &hb, 200, 0);   /* late: dropped by the broker */
    int got_c = s_take(w, 3000, &hc);
    KVT_OK(got_c, "once it answered that one, the next request comes");
    if (got_c)
        s_answer(w, &hc, 200, 0);
    s_call_join(&c);
    KVT_EQ_INT(c.st, 200, "and gets its own answer, not the late one's (no 502)");
    bus_fake_close(&w, 1);
}

static void test_ghost_returned(void)
{
    bus_fake_t *w = s_worker("kvt-queue-7");

    s_call_t a, b, c;
    s_held_t ha, hb, hc;
    int n = s_two(w, &a, &ha, 8000, &b, &hb, 700);
    int got_a = n >= 1, got_b = n == 2;
    KVT_OK(got_a && got_b, "a request with a 0.7 s deadline is queued behind a held one (again)");
    s_call_join(&b);
    KVT_EQ_INT(b.st, 504, "it is answered 504 at its deadline");
    /* the caller's own timeout is the same deadline: let the broker's
     * deadline check (every 50 ms) have answered it too */
    kvt_sleep_ms(300);
    if (got_b)
        s_answer(w, &hb, KV_ST_UNAVAILABLE, 1);   /* then returned unserved, before the held one */
    if (got_a)
        s_answer(w, &ha, 200, 0);
    s_call_join(&a);
    KVT_EQ_INT(a.st, 200, "the held request still gets its own answer (not 502) after the "
               "timed-out one came back unserved");
    kv_msg_t *ready = kv_bus_ready(KV_SVC_SCHEDULING);
    kv_msg_send(ready, w->sock);
    kv_msg_destroy(&ready);
    s_call_start(&c, S_QUICK, 8000);
    int got_c = s_take(w, 3000, &hc);
    KVT_OK(got_c, "after its READY the worker takes the next request");
    if (got_c)
        s_answer(w, &hc, 200, 0);
    s_call_join(&c);
    KVT_EQ_INT(c.st, 200, "and it is answered");
    bus_fake_close(&w, 1);
}

static void test_queued_returned(void)
{
    bus_fake_t *w = s_worker("kvt-queue-4");

    s_call_t a, b;
    s_held_t ha, hb;
    int n = s_two(w, &a, &ha, 8000, &b, &hb, 8000);
    int got_a = n >= 1, got_b = n == 2;
    KVT_OK(got_a && got_b, "two requests at the worker");
    if (got_b)
        s_answer(w, &hb, KV_ST_UNAVAILABLE, 1);   /* returned unserved, as a busy worker does */
    if (got_a)
        s_answer(w, &ha, 200, 0);
    kv_msg_t *ready = kv_bus_ready(KV_SVC_SCHEDULING);   /* free again */
    kv_msg_send(ready, w->sock);
    kv_msg_destroy(&ready);
    int again = s_take(w, 3000, &hb);
    KVT_OK(again, "the returned request is given to the worker again after its READY");
    if (again)
        s_answer(w, &hb, 200, 0);
    s_call_join(&a);
    s_call_join(&b);
    KVT_EQ_INT(a.st, 200, "the held request is answered");
    KVT_EQ_INT(b.st, 200, "the returned one too, not 503");
    bus_fake_close(&w, 1);
}

static void test_write_waits(void)
{
    bus_fake_t *w = s_worker("kvt-queue-5");

    s_call_t r, x;
    s_held_t hr, hx;
    s_call_start(&r, S_QUICK, 8000);
    int got_r = s_take(w, 3000, &hr);
    s_call_start(&x, S_WRITE, 8000);
    KVT_OK(got_r, "the worker holds a quick read");
    KVT_OK(!s_take(w, 600, &hx), "a write is never queued behind it: it waits in the broker");
    if (got_r)
        s_answer(w, &hr, 200, 0);
    int got_x = s_take(w, 3000, &hx);
    KVT_OK(got_x, "it comes once the worker has replied");
    if (got_x)
        s_answer(w, &hx, 201, 0);
    s_call_join(&r);
    s_call_join(&x);
    KVT_EQ_INT(x.st, 201, "and is answered");
    bus_fake_close(&w, 1);
}

static void test_dies_with_two(void)
{
    bus_fake_t *w = s_worker("kvt-queue-6");

    s_call_t r1, r2;
    s_held_t h1, h2;
    int n = s_two(w, &r1, &h1, 8000, &r2, &h2, 8000);
    int got1 = n >= 1, got2 = n == 2;
    KVT_OK(got1 && got2, "a read held and a read queued behind it");
    double t0 = bus_now();
    bus_fake_close(&w, 0);                        /* killed: no goodbye */
    s_call_join(&r1);
    s_call_join(&r2);
    double took = bus_now() - t0;
    KVT_EQ_INT(r1.st, 503, "the held read: no other worker serves it, 503 (as if it came now)");
    KVT_EQ_INT(r2.st, 503, "the queued read too, not left to its deadline");
    KVT_OK(took < S_AT_ONCE + 1.0, "both soon after the worker died (%.2f s)", took);
    if (got1)
        kv_msg_destroy(&h1.req);
    if (got2)
        kv_msg_destroy(&h2.req);
}

int main(void)
{
    kv_log_init("test");
    s_zmq = zmq_ctx_new();
    test_behind_quick();
    test_not_behind_slow();
    test_queued_deadline();
    test_ghost_returned();
    test_queued_returned();
    test_write_waits();
    test_dies_with_two();
    zmq_ctx_term(s_zmq);
    return kvt_done();
}
