/*
 * gw_broker.c -- the bus broker: routes requests to service workers.
 *
 * The broker is driven by the gateway's event loop (gw_loop.c) and owns
 * the ROUTER socket (KAIVOX_BUS_ENDPOINT) and every data structure below;
 * the loop thread calls it when the ROUTER or the wake-up eventfd is
 * readable and when a timer is due.  Other threads (the admin listener)
 * only touch the submission queue and the worker counters, under b->lock,
 * and poke the eventfd.  A request submitted on the loop thread itself
 * (every public HTTP request) is dispatched at once, with no hand-off.
 *
 * Requests come from two kinds of clients.  HTTP requests of this process
 * ("internal": return address 'h' + 16 hex digits of a sequence number,
 * answered through their callback) and service-to-service calls arriving on
 * the ROUTER ("external": return address 'c' + the caller's identity,
 * answered with a REPLY frame).  Both wait in a per-service FIFO until an
 * idle worker takes them; workers are used least recently used first.
 *
 * Failure handling, so that nothing ever hangs: a service without live
 * workers gets 503 at once; a request still unanswered at its deadline gets
 * 504 (a late reply is then dropped); a worker silent for
 * KV_HEARTBEAT_LIVENESS intervals (longer if it is busy with a request whose
 * deadline has not passed) is dropped, and when the last worker of a
 * service goes, its queued requests get 503.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "gw_broker.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"

#define S_MAX_SERVICES   16
#define S_PENDING_BUCKETS 4096

typedef struct s_worker s_worker_t;
typedef struct s_pending s_pending_t;

typedef struct {
    char name[KV_SERVICE_NAME_MAX + 1];
    s_worker_t *idle_head, *idle_tail;   /* idle workers, LRU first */
    s_pending_t *queue_head, *queue_tail; /* requests waiting for a worker */
    int nworkers;                         /* live workers */
} s_service_t;

struct s_worker {
    char identity[KV_RETADDR_MAX];   /* ROUTER identity bytes */
    size_t identity_len;
    s_service_t *service;
    int busy;                        /* has a request outstanding */
    int64_t busy_deadline;           /* epoch ms deadline of that request */
    int64_t last_seen;               /* monotonic ms */
    s_worker_t *next;                /* in b->workers */
    s_worker_t *idle_next;           /* in service idle list */
    int in_idle;
};

struct s_pending {
    uint64_t seq;
    char id[65];                     /* request id, for logs */
    char op[KV_OP_NAME_MAX + 1];
    int64_t deadline_ms;             /* epoch ms */
    s_service_t *service;
    kv_msg_t *req;                   /* [tag][REQUEST][retaddr][hdr][body] */
    gw_reply_fn cb;                  /* internal client; NULL for external */
    void *arg;
    char client[KV_RETADDR_MAX];     /* external client's identity */
    size_t client_len;
    int queued;                      /* in service queue */
    s_pending_t *queue_next;
    s_pending_t *hash_next;          /* in pending bucket */
    s_pending_t *all_prev, *all_next; /* in b->all, for deadline scans */
};

struct gw_broker {
    void *zmq;
    void *router;
    int efd;                         /* eventfd poked by other threads' submits */
    pthread_t owner;                 /* the loop thread */

    pthread_mutex_t lock;            /* guards submitted, closed, counts */
    s_pending_t *submitted;          /* LIFO from submitters; reversed on take */
    int closed;
    struct { char name[KV_SERVICE_NAME_MAX + 1]; int n; } counts[S_MAX_SERVICES];

    /* loop thread only */
    s_service_t services[S_MAX_SERVICES];
    int nservices;
    s_worker_t *workers;
    s_pending_t *buckets[S_PENDING_BUCKETS];
    s_pending_t *all_head, *all_tail;
    uint64_t next_seq;
    int64_t heartbeat_at;
    int npending;                    /* in the pending table */
};

/* ---- envelopes the broker makes itself ------------------------------- */

static const char S_503[] = "{\"success\":false,\"message\":\"Service temporarily unavailable.\"}";
static const char S_504[] = "{\"success\":false,\"message\":\"The service did not answer in time.\"}";
static const char S_400[] = "{\"success\":false,\"message\":\"Malformed bus request.\"}";
static const char S_500[] = "{\"success\":false,\"message\":\"Internal server error.\"}";
static const char S_505[] = "{\"success\":false,\"message\":\"Unsupported bus protocol version.\"}";

/* ---- small helpers ----------------------------------------------------- */

static s_service_t *s_service(gw_broker_t *b, const char *name, int create)
{
    for (int i = 0; i < b->nservices; i++)
        if (strcmp(b->services[i].name, name) == 0)
            return &b->services[i];
    if (!create || b->nservices == S_MAX_SERVICES)
        return NULL;
    s_service_t *s = &b->services[b->nservices++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

static void s_count_set(gw_broker_t *b, const s_service_t *s)
{
    pthread_mutex_lock(&b->lock);
    int i;
    for (i = 0; i < S_MAX_SERVICES && b->counts[i].name[0]; i++)
        if (strcmp(b->counts[i].name, s->name) == 0)
            break;
    if (i < S_MAX_SERVICES) {
        snprintf(b->counts[i].name, sizeof b->counts[i].name, "%s", s->name);
        b->counts[i].n = s->nworkers;
    }
    pthread_mutex_unlock(&b->lock);
}

static void s_send_to(gw_broker_t *b, const void *identity, size_t len, kv_msg_t *m)
{
    kv_msg_push(m, identity, len);
    if (kv_msg_send(m, b->router) != 0)
        kv_debug(NULL, "broker send failed: %s", zmq_strerror(zmq_errno()));
    void *d; size_t l;
    kv_msg_pop(m, &d, &l);   /* leave m as it was */
    free(d);
}

/* Sends an answer made by the broker (or relayed from a worker) to the
 * client of p, then frees p.  p must be unlinked from every list first. */
static void s_answer(gw_broker_t *b, s_pending_t *p, int status, const char *body, size_t len)
{
    if (p->cb) {
        p->cb(p->arg, status, body, len);
    } else {
        kv_hdr_t h;
        memset(&h, 0, sizeof h);
        h.v = KV_PROTO_VERSION;
        memcpy(h.id, p->id, sizeof h.id);
        h.status = status;
        char *htext = kv_hdr_encode(&h, 1);
        kv_msg_t *m = kv_bus_envelope(KV_CMD_REPLY, p->service ? p->service->name : "unknown",
                                      p->service ? strlen(p->service->name) : 7,
                                      htext, strlen(htext), body, len);
        s_send_to(b, p->client, p->client_len, m);
        kv_msg_destroy(&m);
        free(htext);
    }
    kv_msg_destroy(&p->req);
    free(p);
}

static void s_hash_add(gw_broker_t *b, s_pending_t *p)
{
    b->npending++;
    s_pending_t **slot = &b->buckets[p->seq % S_PENDING_BUCKETS];
    p->hash_next = *slot;
    *slot = p;
    p->all_prev = b->all_tail;
    p->all_next = NULL;
    if (b->all_tail)
        b->all_tail->all_next = p;
    else
        b->all_head = p;
    b->all_tail = p;
}

static void s_hash_del(gw_broker_t *b, s_pending_t *p)
{
    b->npending--;
    s_pending_t **pp = &b->buckets[p->seq % S_PENDING_BUCKETS];
    while (*pp && *pp != p)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = p->hash_next;
    if (p->all_prev)
        p->all_prev->all_next = p->all_next;
    else
        b->all_head = p->all_next;
    if (p->all_next)
        p->all_next->all_prev = p->all_prev;
    else
        b->all_tail = p->all_prev;
}

static s_pending_t *s_hash_find(gw_broker_t *b, uint64_t seq)
{
    for (s_pending_t *p = b->buckets[seq % S_PENDING_BUCKETS]; p; p = p->hash_next)
        if (p->seq == seq)
            return p;
    return NULL;
}

static void s_queue_del(s_service_t *s, s_pending_t *p)
{
    s_pending_t **pp = &s->queue_head, *prev = NULL;
    while (*pp && *pp != p) {
        prev = *pp;
        pp = &(*pp)->queue_next;
    }
    if (!*pp)
        return;
    *pp = p->queue_next;
    if (s->queue_tail == p)
        s->queue_tail = prev;
    p->queued = 0;
}

static void s_idle_push(s_service_t *s, s_worker_t *w)
{
    if (w->in_idle)
        return;
    w->idle_next = NULL;
    if (s->idle_tail)
        s->idle_tail->idle_next = w;
    else
        s->idle_head = w;
    s->idle_tail = w;
    w->in_idle = 1;
}

static void s_idle_del(s_service_t *s, s_worker_t *w)
{
    if (!w->in_idle)
        return;
    s_worker_t **pp = &s->idle_head, *prev = NULL;
    while (*pp && *pp != w) {
        prev = *pp;
        pp = &(*pp)->idle_next;
    }
    if (*pp)
        *pp = w->idle_next;
    if (s->idle_tail == w)
        s->idle_tail = prev;
    w->in_idle = 0;
}

/* ---- dispatching ------------------------------------------------------- */

static void s_dispatch(gw_broker_t *b, s_service_t *s)
{
    while (s->idle_head && s->queue_head) {
        s_worker_t *w = s->idle_head;
        s_idle_del(s, w);
        s_pending_t *p = s->queue_head;
        s_queue_del(s, p);
        s_send_to(b, w->identity, w->identity_len, p->req);
        w->busy = 1;
        w->busy_deadline = p->deadline_ms;
        kv_msg_destroy(&p->req);   /* no longer needed once handed over */
    }
}

/* Queues p (already in the pending table) for its service. */
static void s_enqueue(gw_broker_t *b, s_pending_t *p)
{
    s_service_t *s = p->service;
    if (!s || s->nworkers == 0) {
        s_hash_del(b, p);
        kv_warn(p->id, "no live %s worker for %s: 503", s ? s->name : "?", p->op);
        s_answer(b, p, KV_ST_UNAVAILABLE, S_503, sizeof S_503 - 1);
        return;
    }
    p->queue_next = NULL;
    if (s->queue_tail)
        s->queue_tail->queue_next = p;
    else
        s->queue_head = p;
    s->queue_tail = p;
    p->queued = 1;
    s_dispatch(b, s);
}

/* Builds the message a worker gets, with p's return address. */
static void s_build_req(s_pending_t *p, const char *hdr, size_t hlen, const char *body, size_t blen)
{
    char ret[KV_RETADDR_MAX];
    size_t rlen;
    if (p->cb) {
        rlen = (size_t)snprintf(ret, sizeof ret, "h%016" PRIx64, p->seq);
    } else {
        /* external: 'c' + seq + identity, so late replies can be told apart */
        rlen = (size_t)snprintf(ret, sizeof ret, "c%016" PRIx64, p->seq);
    }
    p->req = kv_bus_envelope(KV_CMD_REQUEST, ret, rlen, hdr, hlen, body, blen);
}

static void s_remove_worker(gw_broker_t *b, s_worker_t *w, const char *why)
{
    s_service_t *s = w->service;
    kv_info(NULL, "%s worker removed (%s); %d left", s->name, why, s->nworkers - 1);
    s_idle_del(s, w);
    s_worker_t **pp = &b->workers;
    while (*pp && *pp != w)
        pp = &(*pp)->next;
    if (*pp)
        *pp = w->next;
    s->nworkers--;
    s_count_set(b, s);
    free(w);
    if (s->nworkers == 0) {
        while (s->queue_head) {
            s_pending_t *p = s->queue_head;
            s_queue_del(s, p);
            s_hash_del(b, p);
            s_answer(b, p, KV_ST_UNAVAILABLE, S_503, sizeof S_503 - 1);
        }
    }
}

static s_worker_t *s_worker_find(gw_broker_t *b, const char *id, size_t len)
{
    for (s_worker_t *w = b->workers; w; w = w->next)
        if (w->identity_len == len && memcmp(w->identity, id, len) == 0)
            return w;
    return NULL;
}

/* ---- handling what arrives on the ROUTER ------------------------------- */

static void s_on_reply(gw_broker_t *b, s_worker_t *w, const kv_bus_frame_t *f)
{
    w->busy = 0;
    s_idle_push(w->service, w);
    kv_hdr_t h;
    int rc = kv_hdr_decode(f->header, f->header_len, 1, &h);
    uint64_t seq = 0;
    if (f->retaddr_len == 17 && (f->retaddr[0] == 'h' || f->retaddr[0] == 'c')) {
        char hex[17];
        memcpy(hex, f->retaddr + 1, 16);
        hex[16] = '\0';
        seq = strtoull(hex, NULL, 16);
    }
    s_pending_t *p = seq ? s_hash_find(b, seq) : NULL;
    if (!p) {
        kv_debug(rc == KV_BUS_OK ? h.id : NULL, "late or unknown reply dropped");
    } else {
        s_hash_del(b, p);
        if (rc != KV_BUS_OK)
            s_answer(b, p, KV_ST_INTERNAL, S_500, sizeof S_500 - 1);
        else
            s_answer(b, p, h.status, f->body, f->body_len);
    }
    s_dispatch(b, w->service);
}

static void s_on_client_request(gw_broker_t *b, const char *client, size_t clen,
                                const kv_bus_frame_t *f)
{
    kv_hdr_t h;
    int rc = kv_hdr_decode(f->header, f->header_len, 0, &h);
    s_pending_t *p = kv_calloc(1, sizeof *p);
    memcpy(p->client, client, clen);
    p->client_len = clen;
    p->seq = ++b->next_seq;
    p->service = s_service(b, f->service, 0);
    if (rc != KV_BUS_OK) {
        if (!h.id[0]) {
            kv_warn(NULL, "dropping client request with a malformed header");
            free(p);
            return;
        }
        memcpy(p->id, h.id, sizeof p->id);
        if (rc == KV_BUS_EVERSION)
            s_answer(b, p, KV_ST_VERSION_MISMATCH, S_505, sizeof S_505 - 1);
        else
            s_answer(b, p, KV_ST_BAD_REQUEST, S_400, sizeof S_400 - 1);
        return;
    }
    memcpy(p->id, h.id, sizeof p->id);
    memcpy(p->op, h.op, sizeof p->op);
    p->deadline_ms = h.deadline_ms ? h.deadline_ms
                                   : kv_now_ms() + kv_env_int("KAIVOX_REQUEST_TIMEOUT_MS", 5000, 100, 600000);
    s_build_req(p, f->header, f->header_len, f->body, f->body_len);
    s_hash_add(b, p);
    s_enqueue(b, p);
}

static void s_on_router(gw_broker_t *b)
{
    for (int i = 0; i < 1000; i++) {
        kv_msg_t *m = kv_msg_recv(b->router, 0);
        if (!m)
            return;
        void *id = NULL;
        size_t idlen = 0;
        if (kv_msg_pop(m, &id, &idlen) != 0 || idlen == 0 || idlen > KV_RETADDR_MAX) {
            free(id);
            kv_msg_destroy(&m);
            continue;
        }
        kv_bus_frame_t f;
        int rc = kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f);
        s_worker_t *w = s_worker_find(b, id, idlen);
        int64_t now = kv_mono_ms();
        if (w)
            w->last_seen = now;
        if (rc != KV_BUS_OK) {
            kv_warn(NULL, "dropping malformed bus message (%d)", rc);
        } else if (f.cmd == KV_CMD_READY) {
            if (w)
                s_remove_worker(b, w, "READY twice");
            s_service_t *s = s_service(b, f.service, 1);
            if (!s) {
                kv_error(NULL, "too many services; refusing %s", f.service);
            } else {
                w = kv_calloc(1, sizeof *w);
                memcpy(w->identity, id, idlen);
                w->identity_len = idlen;
                w->service = s;
                w->last_seen = now;
                w->next = b->workers;
                b->workers = w;
                s->nworkers++;
                s_count_set(b, s);
                s_idle_push(s, w);
                kv_info(NULL, "%s worker joined; %d live", s->name, s->nworkers);
                s_dispatch(b, s);
            }
        } else if (f.cmd == KV_CMD_HEARTBEAT) {
            if (!w) {
                /* a worker from before a broker restart: make it re-register */
                kv_msg_t *d = kv_bus_disconnect();
                s_send_to(b, id, idlen, d);
                kv_msg_destroy(&d);
            }
        } else if (f.cmd == KV_CMD_DISCONNECT) {
            if (w)
                s_remove_worker(b, w, "disconnect");
        } else if (f.cmd == KV_CMD_REPLY) {
            if (w)
                s_on_reply(b, w, &f);
            else
                kv_debug(NULL, "reply from unknown worker dropped");
        } else if (f.cmd == KV_CMD_REQUEST) {
            s_on_client_request(b, id, idlen, &f);
        }
        free(id);
        kv_msg_destroy(&m);
    }
}

/* Assigns p its sequence number and return address, and queues it.
 * hdr/body are the request's header and body texts (copied). */
static void s_accept(gw_broker_t *b, s_pending_t *p, const char *service,
                     const char *hdr, size_t hlen, const char *body, size_t blen)
{
    p->seq = ++b->next_seq;
    p->service = s_service(b, service, 0);
    s_build_req(p, hdr, hlen, body, blen);
    s_hash_add(b, p);
    s_enqueue(b, p);
}

void gw_broker_on_wake(gw_broker_t *b)
{
    uint64_t v;
    if (read(b->efd, &v, sizeof v) < 0 && errno != EAGAIN)
        kv_warn(NULL, "eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&b->lock);
    s_pending_t *list = b->submitted;
    b->submitted = NULL;
    pthread_mutex_unlock(&b->lock);
    s_pending_t *rev = NULL;
    while (list) {
        s_pending_t *n = list->queue_next;
        list->queue_next = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        s_pending_t *p = rev;
        rev = rev->queue_next;
        p->queue_next = NULL;
        /* header and body were parked in a two-frame message, and the
         * service name in p->client, until the sequence number is known */
        char service[sizeof p->client];
        memcpy(service, p->client, sizeof service);
        p->client[0] = '\0';
        size_t hlen, blen;
        kv_msg_t *tmp = p->req;
        const char *hdr = kv_msg_data(tmp, 0, &hlen);
        const char *body = kv_msg_data(tmp, 1, &blen);
        s_accept(b, p, service, hdr, hlen, body, blen);
        kv_msg_destroy(&tmp);
    }
}

int gw_broker_tick(gw_broker_t *b)
{
    int64_t now_epoch = kv_now_ms(), now = kv_mono_ms();
    /* deadlines */
    s_pending_t *p = b->all_head;
    while (p) {
        s_pending_t *next = p->all_next;
        if (p->deadline_ms && now_epoch >= p->deadline_ms) {
            if (p->queued)
                s_queue_del(p->service, p);
            s_hash_del(b, p);
            kv_warn(p->id, "%s.%s passed its deadline: 504",
                    p->service ? p->service->name : "?", p->op);
            s_answer(b, p, KV_ST_TIMEOUT, S_504, sizeof S_504 - 1);
        }
        p = next;
    }
    /* dead workers */
    int64_t limit = (int64_t)KV_HEARTBEAT_IVL_MS * KV_HEARTBEAT_LIVENESS;
    s_worker_t *w = b->workers;
    while (w) {
        s_worker_t *next = w->next;
        int silent = now - w->last_seen > limit;
        if (silent && (!w->busy || now_epoch > w->busy_deadline + limit))
            s_remove_worker(b, w, "heartbeat lost");
        w = next;
    }
    /* our heartbeats */
    if (now >= b->heartbeat_at) {
        kv_msg_t *hb = kv_bus_heartbeat();
        for (w = b->workers; w; w = w->next)
            s_send_to(b, w->identity, w->identity_len, hb);
        kv_msg_destroy(&hb);
        b->heartbeat_at = now + KV_HEARTBEAT_IVL_MS;
    }
    /* next due: the heartbeat, or a deadline check every 50 ms while
     * anything is pending (deadlines are coarse on purpose) */
    int64_t due = b->heartbeat_at - now;
    if (b->all_head && due > 50)
        due = 50;
    return due < 1 ? 1 : (int)due;
}

void gw_broker_on_socket(gw_broker_t *b)
{
    s_on_router(b);
}

void *gw_broker_socket(gw_broker_t *b)
{
    return b->router;
}

int gw_broker_wake_fd(gw_broker_t *b)
{
    return b->efd;
}

int gw_broker_pending(const gw_broker_t *b)
{
    return b->npending;
}

/* ---- public ------------------------------------------------------------ */

gw_broker_t *gw_broker_new(void *zmq_ctx)
{
    const char *ep = kv_env_str("KAIVOX_BUS_ENDPOINT", "tcp://127.0.0.1:7700");
    gw_broker_t *b = kv_calloc(1, sizeof *b);
    b->zmq = zmq_ctx;
    b->owner = pthread_self();
    pthread_mutex_init(&b->lock, NULL);
    b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    b->router = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    int linger = 0, hwm = 100000;
    zmq_setsockopt(b->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(b->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (b->efd < 0 || zmq_bind(b->router, ep) != 0) {
        kv_error(NULL, "broker cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        if (b->efd >= 0)
            close(b->efd);
        zmq_close(b->router);
        pthread_mutex_destroy(&b->lock);
        free(b);
        return NULL;
    }
    b->heartbeat_at = kv_mono_ms() + KV_HEARTBEAT_IVL_MS;
    kv_info(NULL, "broker bound to %s", ep);
    return b;
}

void gw_broker_destroy(gw_broker_t **pb)
{
    if (!pb || !*pb)
        return;
    gw_broker_t *b = *pb;
    pthread_mutex_lock(&b->lock);
    b->closed = 1;
    pthread_mutex_unlock(&b->lock);
    /* answer everything still pending or just submitted */
    gw_broker_on_wake(b);
    while (b->all_head) {
        s_pending_t *p = b->all_head;
        if (p->queued)
            s_queue_del(p->service, p);
        s_hash_del(b, p);
        s_answer(b, p, KV_ST_UNAVAILABLE, S_503, sizeof S_503 - 1);
    }
    while (b->workers) {
        s_worker_t *w = b->workers;
        b->workers = w->next;
        free(w);
    }
    zmq_close(b->router);
    close(b->efd);
    pthread_mutex_destroy(&b->lock);
    free(b);
    *pb = NULL;
}

int gw_broker_submit(gw_broker_t *b, const char *service, const kv_hdr_t *h,
                     const char *body, size_t len, gw_reply_fn cb, void *arg)
{
    s_pending_t *p = kv_calloc(1, sizeof *p);
    memcpy(p->id, h->id, sizeof p->id);
    memcpy(p->op, h->op, sizeof p->op);
    p->deadline_ms = h->deadline_ms;
    p->cb = cb;
    p->arg = arg;
    char *htext = kv_hdr_encode(h, 0);

    if (pthread_equal(pthread_self(), b->owner)) {
        /* the loop thread: no hand-off (b->closed is only set on this
         * thread too, by gw_broker_destroy) */
        s_accept(b, p, service, htext, strlen(htext), body ? body : "", body ? len : 0);
        free(htext);
        return 0;
    }

    /* another thread: park header and body in a two-frame message until
     * the loop thread assigns the sequence number of the return address */
    p->req = kv_msg_new();
    kv_msg_addstr(p->req, htext);
    kv_msg_add(p->req, body ? body : "", body ? len : 0);
    free(htext);

    pthread_mutex_lock(&b->lock);
    if (b->closed) {
        pthread_mutex_unlock(&b->lock);
        kv_msg_destroy(&p->req);
        free(p);
        return -1;
    }
    /* the service is looked up by the loop thread; stash the name */
    snprintf(p->client, sizeof p->client, "%s", service);
    p->queue_next = b->submitted;
    b->submitted = p;
    pthread_mutex_unlock(&b->lock);
    uint64_t one = 1;
    if (write(b->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        kv_warn(h->id, "eventfd write: %s", strerror(errno));
    return 0;
}

int gw_broker_workers(gw_broker_t *b, const char *service)
{
    int n = 0;
    pthread_mutex_lock(&b->lock);
    for (int i = 0; i < S_MAX_SERVICES && b->counts[i].name[0]; i++)
        if (strcmp(b->counts[i].name, service) == 0)
            n = b->counts[i].n;
    pthread_mutex_unlock(&b->lock);
    return n;
}
