/*
 * kv_client.c -- synchronous calls from one service to another over the bus.
 *
 * The client holds one DEALER socket per broker (every address of
 * KAIVOX_BUS_ENDPOINT, followed as it changes: kv_disc.h), each a CURVE
 * client with ZMQ_IMMEDIATE, so that a socket is writable only while its
 * connection is up.  A call goes to the next broker in turn whose
 * connection is up, as [tag][REQUEST][service][header][body], and waits for
 * the REPLY carrying the same per-call correlation id ("cid" in the header,
 * echoed by the broker).  The request id is the parent's (for logs and
 * tracing), so it cannot tell two calls of one request apart; the cid can:
 * it is this client's own counter, so a late reply to an earlier call that
 * timed out is read and dropped, never taken for the current call's.
 *
 * Failover.  While it waits, the client checks every S_CHECK_MS that the
 * connection it sent on is still up.  When it is gone (the gateway died
 * holding the call), or when a broker answers 503 (it has no live worker
 * of the service: a gateway that just restarted, say), a call that may run
 * twice -- a read-only operation, or one flagged idempotent in the
 * registry (KV_OPF_READ, KV_OPF_IDEMPOTENT) -- is sent again through
 * another broker, each broker at most once, within the call's deadline.
 * Any other call whose broker died is answered 502: it may or may not have
 * been applied (proto/bus.md, "Several gateways").
 *
 * A call made while the thread serves a traced request (kv_trace_current)
 * carries the trace on: its traceparent names the calling request's span as
 * the parent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <zmq.h>

#include "kv_client.h"
#include "kv_curve.h"
#include "kv_disc.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_trace.h"
#include "kv_ops.h"
#include "kv_json.h"

#define S_LINKS_MAX KV_EPS_MAX
#define S_CHECK_MS  100          /* how often a waiting call checks its connection */

typedef struct {
    char endpoint[KV_EP_LEN];
    void *sock;                  /* ZMQ_DEALER, ZMQ_IMMEDIATE */
} s_link_t;

struct kv_client {
    void *zmq;
    kv_disc_t *disc;             /* where the brokers are */
    unsigned gen;                /* generation the links follow */
    s_link_t links[S_LINKS_MAX];
    int n;
    int next;                    /* the broker the next call tries first */
    uint64_t next_cid;           /* the next call's correlation id; random start */
    kv_client_fill_fn watch_fill;   /* kv_client_watch, or NULL */
    kv_client_ready_fn watch_ready;
    void *watch_arg;
};

void kv_client_watch(kv_client_t *c, kv_client_fill_fn fill, kv_client_ready_fn on_ready,
                     void *arg)
{
    c->watch_fill = fill;
    c->watch_ready = on_ready;
    c->watch_arg = arg;
}

#define S_WATCH_MAX 32

/* Waits at most ms for l's socket to be readable, serving the watched
 * sockets meanwhile (kv_client_watch).  1 when l's socket is readable. */
static int s_wait(kv_client_t *c, s_link_t *l, int ms)
{
    void *socks[S_WATCH_MAX];
    int nw = c->watch_fill ? c->watch_fill(c->watch_arg, socks, S_WATCH_MAX) : 0;
    zmq_pollitem_t items[S_WATCH_MAX + 1];
    items[0] = (zmq_pollitem_t){ l->sock, 0, ZMQ_POLLIN, 0 };
    for (int i = 0; i < nw; i++)
        items[i + 1] = (zmq_pollitem_t){ socks[i], 0, ZMQ_POLLIN, 0 };
    if (zmq_poll(items, nw + 1, ms) <= 0)
        return 0;
    for (int i = 0; i < nw; i++)
        if (items[i + 1].revents & ZMQ_POLLIN)
            c->watch_ready(c->watch_arg, socks[i]);
    return (items[0].revents & ZMQ_POLLIN) != 0;
}

static int s_link_open(kv_client_t *c, s_link_t *l, const char *ep)
{
    int immediate = 1;
    snprintf(l->endpoint, sizeof l->endpoint, "%s", ep);
    l->sock = kv_msg_socket(c->zmq, ZMQ_DEALER);
    /* queue nothing while disconnected: the socket is writable only while
     * its connection is up, which is how a call finds a live broker */
    if (!l->sock || zmq_setsockopt(l->sock, ZMQ_IMMEDIATE, &immediate, sizeof immediate) != 0 ||
        kv_curve_client(l->sock) != 0 || kv_disc_prepare(l->sock, ep) != 0 ||
        zmq_connect(l->sock, ep) != 0) {
        kv_error(NULL, "cannot connect bus client to %s: %s", ep, zmq_strerror(zmq_errno()));
        if (l->sock)
            zmq_close(l->sock);
        l->sock = NULL;
        return -1;
    }
    return 0;
}

/* Follows the broker addresses: a socket for each new one, none for a
 * vanished one (a call is never in flight here: calls are synchronous). */
static void s_follow(kv_client_t *c)
{
    if (kv_disc_gen(c->disc) == c->gen)
        return;
    kv_eps_t *eps = kv_malloc(sizeof *eps);
    c->gen = kv_disc_snapshot(c->disc, eps);
    for (int i = 0; i < c->n;) {
        if (!kv_eps_has(eps, c->links[i].endpoint)) {
            zmq_close(c->links[i].sock);
            c->links[i] = c->links[--c->n];
            continue;
        }
        i++;
    }
    for (int k = 0; k < eps->n; k++) {
        int have = 0;
        for (int i = 0; i < c->n && !have; i++)
            have = strcmp(c->links[i].endpoint, eps->ep[k]) == 0;
        if (!have && c->n < S_LINKS_MAX && s_link_open(c, &c->links[c->n], eps->ep[k]) == 0)
            c->n++;
    }
    if (c->next >= c->n)
        c->next = 0;
    free(eps);
}

kv_client_t *kv_client_new(void *zmq_ctx)
{
    kv_disc_t *disc = kv_disc_get("KAIVOX_BUS_ENDPOINT", KV_BUS_ENDPOINT_DEFAULT);
    if (!disc)
        return NULL;
    if (!kv_curve_ready()) {
        kv_error(NULL, "bus client before the bus keys were loaded (kv_curve_init)");
        return NULL;
    }
    kv_client_t *c = kv_calloc(1, sizeof *c);
    c->zmq = zmq_ctx;
    c->disc = disc;
    /* replies come back on the socket the call went out on, so any start
     * would do; a random one also tells the calls of different clients
     * apart in logs */
    char rnd[33];
    kv_bus_new_id(rnd);
    rnd[16] = '\0';
    c->next_cid = strtoull(rnd, NULL, 16);
    s_follow(c);
    return c;
}

void kv_client_destroy(kv_client_t **pc)
{
    if (!pc || !*pc)
        return;
    kv_client_t *c = *pc;
    for (int i = 0; i < c->n; i++)
        zmq_close(c->links[i].sock);
    free(c);
    *pc = NULL;
}

/* Is l's connection up (ZMQ_IMMEDIATE: writable only then)? */
static int s_up(const s_link_t *l)
{
    int events = 0;
    size_t len = sizeof events;
    return zmq_getsockopt(l->sock, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLOUT);
}

/* The broker to send to: the first, from c->next on, whose connection is up
 * and that tried (bit i) does not hold; when none is, waits up to wait_ms
 * for one to connect (a fresh client, a broker that just restarted).
 * Returns its index, or -1. */
static int s_pick(kv_client_t *c, uint64_t tried, int wait_ms)
{
    for (int k = 0; k < c->n; k++) {
        int i = (c->next + k) % c->n;
        if (!((tried >> i) & 1) && s_up(&c->links[i])) {
            c->next = (i + 1) % c->n;
            return i;
        }
    }
    zmq_pollitem_t items[S_LINKS_MAX];
    int idx[S_LINKS_MAX], n = 0;
    for (int i = 0; i < c->n; i++) {
        if (!((tried >> i) & 1)) {
            items[n] = (zmq_pollitem_t){ c->links[i].sock, 0, ZMQ_POLLOUT, 0 };
            idx[n++] = i;
        }
    }
    if (n == 0 || zmq_poll(items, n, wait_ms) <= 0)
        return -1;
    for (int k = 0; k < n; k++) {
        if (items[k].revents & ZMQ_POLLOUT) {
            c->next = (idx[k] + 1) % c->n;
            return idx[k];
        }
    }
    return -1;
}

/* One attempt of a call on link l: sends, waits for the reply with h's cid
 * until the monotonic ms until.  Returns the reply status (*out its
 * envelope), KV_ST_TIMEOUT, or -1 when the link's connection went down
 * while waiting (the broker is gone). */
static int s_attempt(kv_client_t *c, s_link_t *l, kv_hdr_t *h, const char *service,
                     const char *btext, size_t blen, int64_t until, json_t **out)
{
    char *htext = kv_hdr_encode(h, 0);
    kv_msg_t *m = kv_bus_envelope(KV_CMD_REQUEST, service, strlen(service),
                                  htext, strlen(htext), btext, blen);
    free(htext);
    int rc = kv_msg_send(m, l->sock);
    kv_msg_destroy(&m);
    if (rc != 0)
        return -1;
    for (;;) {
        int64_t left = until - kv_mono_ms();
        if (left <= 0)
            return KV_ST_TIMEOUT;
        kv_msg_t *r = NULL;
        if (s_wait(c, l, left < S_CHECK_MS ? (int)left : S_CHECK_MS))
            r = kv_msg_recv(l->sock, 0);
        if (!r) {
            if (!s_up(l))
                return -1;
            continue;
        }
        kv_bus_frame_t f;
        kv_hdr_t rh;
        if (kv_bus_parse(r, KV_BUS_AT_CLIENT, &f) != KV_BUS_OK || f.cmd != KV_CMD_REPLY ||
            kv_hdr_decode(f.header, f.header_len, 1, &rh) != KV_BUS_OK ||
            strcmp(rh.cid, h->cid) != 0) {
            kv_msg_destroy(&r);     /* an earlier call's, or malformed: drop */
            continue;
        }
        *out = json_loadb(f.body, f.body_len, 0, NULL);
        kv_msg_destroy(&r);
        return rh.status;
    }
}

static int s_call(kv_client_t *c, kv_hdr_t *h, const char *service, json_t *params,
                  json_t *body, int timeout_ms, json_t **out)
{
    *out = NULL;
    json_t *bus = json_object();
    json_object_set_new(bus, "params", params ? json_incref(params) : json_object());
    json_object_set_new(bus, "query", json_object());
    json_object_set_new(bus, "body", body ? json_incref(body) : json_null());
    size_t blen;
    char *btext = kv_json_dump(bus, JSON_COMPACT | JSON_REAL_PRECISION(15), &blen);
    json_decref(bus);
    if (!btext)
        abort();    /* only on out of memory */
    if (blen > KV_BODY_MAX) {
        /* the broker would refuse it; never send what cannot arrive */
        kv_error(h->id, "bus call %s.%s: request body of %zu bytes is over the bus frame "
                 "limit (%d)", service, h->op, blen, KV_BODY_MAX);
        free(btext);
        return KV_ST_INTERNAL;
    }
    const kv_op_def_t *def = kv_op_find(h->op);
    int again = def && (def->flags & (KV_OPF_READ | KV_OPF_IDEMPOTENT));
    const kv_trace_t *tr = kv_trace_current();
    if (tr) {
        kv_traceparent_format(tr, h->traceparent);
        snprintf(h->tracestate, sizeof h->tracestate, "%s", tr->state);
    }

    s_follow(c);
    int64_t until = kv_mono_ms() + timeout_ms;
    uint64_t tried = 0;
    int status = KV_ST_UNAVAILABLE, attempts = 0;
    for (;;) {
        int64_t left = until - kv_mono_ms();
        if (left <= 0) {
            status = attempts ? status : KV_ST_TIMEOUT;
            break;
        }
        /* With ZMQ_IMMEDIATE a socket is writable only once connected:
         * give a fresh client (or one whose broker just restarted) a
         * moment to connect, within the call's own timeout. */
        int i = s_pick(c, tried, attempts ? 0 : left < 1000 ? (int)left : 1000);
        if (i < 0) {
            if (!attempts)
                kv_warn(h->id, "bus call %s.%s: broker unreachable", service, h->op);
            break;
        }
        tried |= UINT64_C(1) << i;
        attempts++;
        snprintf(h->cid, sizeof h->cid, "%016" PRIx64, c->next_cid++);
        json_decref(*out);
        *out = NULL;
        int st = s_attempt(c, &c->links[i], h, service, btext, blen, until, out);
        if (st == KV_ST_TIMEOUT) {
            kv_warn(h->id, "bus call %s.%s timed out after %d ms", service, h->op, timeout_ms);
            status = st;
            break;
        }
        if (st < 0) {
            kv_warn(h->id, "bus call %s.%s: the broker %s went away holding it%s", service, h->op,
                    c->links[i].endpoint, again ? ": sending it through another" : ": 502");
            status = again ? KV_ST_UNAVAILABLE : KV_ST_BAD_GATEWAY;
            if (!again)
                break;
            continue;
        }
        status = st;
        if (st == KV_ST_UNAVAILABLE && again && c->n > 1) {
            kv_debug(h->id, "bus call %s.%s: 503 from %s, trying another broker", service, h->op,
                     c->links[i].endpoint);
            continue;
        }
        break;
    }
    free(btext);
    return status;
}

int kv_client_call(kv_client_t *c, const kv_hdr_t *parent, const char *service,
                   const char *op, json_t *params, json_t *body,
                   int timeout_ms, json_t **out)
{
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = KV_PROTO_VERSION;
    if (parent) {
        memcpy(h.id, parent->id, sizeof h.id);
        h.tenant_id = parent->tenant_id;
        memcpy(h.tenant_tz, parent->tenant_tz, sizeof h.tenant_tz);
        h.slot_interval = parent->slot_interval;
    } else {
        kv_bus_new_id(h.id);
    }
    snprintf(h.op, sizeof h.op, "%s", op);
    int64_t now = kv_now_ms();
    h.deadline_ms = now + timeout_ms;
    if (parent && parent->deadline_ms > 0 && parent->deadline_ms < h.deadline_ms) {
        h.deadline_ms = parent->deadline_ms;
        timeout_ms = (int)(parent->deadline_ms - now);
        if (timeout_ms <= 0) {
            *out = NULL;
            return KV_ST_TIMEOUT;
        }
    }
    return s_call(c, &h, service, params, body, timeout_ms, out);
}

int kv_client_call_tenant(kv_client_t *c, const char *req_id, int64_t tenant_id,
                          const char *service, const char *op,
                          json_t *params, json_t *body, int timeout_ms,
                          json_t **out)
{
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = KV_PROTO_VERSION;
    if (req_id && kv_bus_valid_id(req_id, strlen(req_id)))
        snprintf(h.id, sizeof h.id, "%s", req_id);
    else
        kv_bus_new_id(h.id);
    snprintf(h.op, sizeof h.op, "%s", op);
    h.tenant_id = tenant_id;
    strcpy(h.tenant_tz, "UTC");
    h.deadline_ms = kv_now_ms() + timeout_ms;
    return s_call(c, &h, service, params, body, timeout_ms, out);
}
