/*
 * gw_broker.c -- the bus broker: routes requests to service workers.
 *
 * The broker is driven by the gateway's event loop (gw_loop.c) and owns
 * the ROUTER socket (KAIVOX_BUS_ENDPOINT) and every data structure below;
 * the loop thread calls it when the ROUTER or the wake-up eventfd is
 * readable and when a timer is due.  Other threads (the admin listener)
 * only touch the submission queue and the readiness snapshot, under
 * b->lock, and poke the eventfd.  A request submitted on the loop thread
 * itself (every public HTTP request) is dispatched at once, with no
 * hand-off.
 *
 * Requests come from two kinds of clients.  HTTP requests of this process
 * ("internal": return address 'h' + 16 hex digits of a sequence number,
 * answered through their callback) and service-to-service calls arriving on
 * the ROUTER ("external": return address 'c' + the sequence number, answered
 * with a REPLY frame that echoes the caller's correlation id).  Both wait in
 * a per-service FIFO until an idle worker that serves their operation takes
 * them; workers are used least recently used first.  While every worker is
 * busy, one more read may be queued at a busy worker behind a quick request
 * (held, then queued: s_may_queue, proto/bus.md "Dispatch"), so that the
 * worker starts it without a round trip here; a request queued there that
 * is answered 504 leaves a ghost, and the worker gets nothing new until it
 * has answered that one too.
 *
 * Workers and instances.  READY may carry a JSON frame: the worker's
 * instance (its process), how many workers that instance runs, the
 * operations it serves and which of them are read-only.  Each service
 * interns the operation names it has seen (at most KV_OPS_MAX) and each
 * worker keeps a bit mask of those it serves, so "may this worker take this
 * request" is one AND.  A worker without the frame (an older peer) serves
 * everything and nothing of it is read-only.
 *
 * Failure handling, so that nothing ever hangs and nothing is lost quietly
 * (proto/bus.md, "Liveness"):
 *   - no live worker: 503 at once; no live worker serves the operation: 501.
 *   - deadline passed: 504 (a late reply is then dropped).
 *   - the ROUTER is ZMQ_ROUTER_MANDATORY: a send to a peer whose connection
 *     is gone fails with EHOSTUNREACH.  Every send to a worker is checked,
 *     busy workers are probed every KV_PROBE_IVL_MS and idle ones get their
 *     heartbeat every second, so a killed worker is known within
 *     KV_PROBE_IVL_MS; what it held is handed to another worker when it is
 *     read-only (once, while its deadline allows) and answered 502 ("may or
 *     may not have been applied") when it is not.
 *   - a reply (or anything) a busy worker sends that cannot be parsed is
 *     refused: its request is answered 502 at once and the worker freed.
 *   - a worker still busy KV_BUSY_GRACE_MS after its request's deadline is
 *     dropped and told to re-register (DISCONNECT), heartbeats or not.
 *   - an idle worker silent for KV_HEARTBEAT_LIVENESS intervals is dropped.
 *   - a worker that withdraws (drains) gets its acknowledgement and no more
 *     requests; the ones it holds are still answered.
 *   - a message of another protocol version: a request gets 505 at once,
 *     a worker is refused with a log line.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "gw_broker.h"
#include "kv_curve.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"

#define S_MAX_SERVICES     16
#define S_PENDING_BUCKETS  4096
#define S_WORKER_BUCKETS   256
#define S_REFUSE_LOG_MS    10000   /* at most one "refusing a worker" line per this */
#define S_QUEUE_BEHIND_DEF_US 2000  /* KAIVOX_BROKER_QUEUE_BEHIND_US by default */
#define S_DEADLINE_CHECK_MS 50     /* deadlines are checked this often while
                                      anything is pending (coarse on purpose) */

typedef struct s_worker s_worker_t;
typedef struct s_pending s_pending_t;
typedef struct s_instance s_instance_t;

typedef struct {
    char name[KV_SERVICE_NAME_MAX + 1];
    s_worker_t *idle_head, *idle_tail;    /* idle, not withdrawn workers, LRU first */
    s_pending_t *queue_head, *queue_tail; /* requests waiting for a worker, FIFO */
    int nworkers;                         /* registered workers, withdrawn included */
    int available;                        /* registered and not withdrawn */
    int legacy;                           /* available ones that serve everything */
    int nops;                             /* operation names interned so far */
    char ops[KV_OPS_MAX][KV_OP_NAME_MAX + 1];
    int serving[KV_OPS_MAX];              /* available workers serving ops[i] */
    int64_t took_us[KV_OPS_MAX];          /* moving average of ops[i]'s dispatch-to-reply
                                             time, microseconds (0: not measured yet) */
} s_service_t;

/* A service process, as its workers announce it. */
struct s_instance {
    char id[KV_INSTANCE_MAX + 1];
    s_service_t *service;
    int announced;                   /* workers it says it runs */
    int registered;                  /* of those, registered here now */
    int joined;                      /* all were registered at once (or it gave up) */
    int64_t first_seen;              /* monotonic ms of its first READY */
    s_instance_t *next;              /* in b->instances */
};

struct s_worker {
    char identity[KV_RETADDR_MAX];   /* ROUTER identity bytes */
    size_t identity_len;
    s_service_t *service;
    s_instance_t *instance;          /* NULL: READY without its JSON frame */
    uint64_t ops;                    /* bit i: serves service->ops[i] */
    uint64_t ro;                     /* bit i: ops[i] is read-only */
    int all_ops;                     /* no announcement: serves everything */
    int busy;                        /* a request was sent and not replied to */
    int away;                        /* returned a request unserved: busy with
                                        another gateway's, until its next READY */
    int withdrawn;                   /* takes no more requests (draining) */
    int64_t busy_deadline;           /* epoch ms deadline of that request */
    s_pending_t *held;               /* that request, NULL once answered */
    s_pending_t *queued;             /* a second request sent while busy (it runs
                                        after held), NULL when none */
    int ghost;                       /* queued was answered here (504) before the
                                        worker ran it: it still replies to it */
    int64_t ghost_deadline;          /* epoch ms deadline of that request */
    int64_t last_seen;               /* monotonic ms of its last message */
    int64_t probe_at;                /* monotonic ms of the next probe (busy) */
    s_worker_t *next;                /* in b->workers */
    s_worker_t *hash_next;           /* in b->wbuckets */
    s_worker_t *idle_next;           /* in service idle list */
    int in_idle;
};

struct s_pending {
    uint64_t seq;
    char id[65];                     /* request id, for logs */
    char cid[KV_CID_MAX + 1];        /* external client's correlation id */
    char op[KV_OP_NAME_MAX + 1];
    int opi;                         /* index in service->ops, -1 unknown */
    int64_t deadline_ms;             /* epoch ms */
    s_service_t *service;
    kv_msg_t *req;                   /* [tag][REQUEST][retaddr][hdr][body]; kept until
                                        answered: it may be sent again (a read whose
                                        worker died, a request returned unserved) */
    int read;                        /* its worker announced its operation read-only */
    gw_reply_fn cb;                  /* internal client; NULL for external */
    void *arg;
    char client[KV_RETADDR_MAX];     /* external client's identity */
    size_t client_len;
    int queued;                      /* in service queue */
    int retried;                     /* was handed to a second worker */
    int64_t sent_us;                 /* monotonic us it was sent to its worker */
    s_worker_t *worker;              /* the worker holding it (or queued at it) */
    s_pending_t *queue_prev, *queue_next;
    s_pending_t *hash_next;          /* in pending bucket */
    s_pending_t *all_prev, *all_next; /* in b->all, for deadline scans */
};

struct gw_broker {
    void *zmq;
    void *router;
    int efd;                         /* eventfd poked by other threads' submits */
    pthread_t owner;                 /* the loop thread */
    int64_t started;                 /* monotonic ms of gw_broker_new */

    pthread_mutex_t lock;            /* guards submitted, closed, snap */
    s_pending_t *submitted;          /* LIFO from submitters; reversed on take */
    int closed;
    struct { char name[KV_SERVICE_NAME_MAX + 1]; gw_svc_state_t st; } snap[S_MAX_SERVICES];

    /* loop thread only */
    s_service_t services[S_MAX_SERVICES];
    int nservices;
    s_worker_t *workers;
    s_worker_t *wbuckets[S_WORKER_BUCKETS];
    s_instance_t *instances;
    s_pending_t *buckets[S_PENDING_BUCKETS];
    s_pending_t *all_head, *all_tail;
    uint64_t next_seq;
    int64_t heartbeat_at;
    int64_t due;                     /* monotonic ms gw_broker_tick must run by */
    int64_t refuse_logged;           /* monotonic ms of the last refusal line */
    char refused[192];               /* that line */
    int npending;                    /* in the pending table */
    int64_t queue_behind_us;         /* KAIVOX_BROKER_QUEUE_BEHIND_US (0: never) */
    int64_t write_answered;          /* monotonic ms a request not known read-only
                                        was last answered (gw_broker_quick) */
};

/* ---- envelopes the broker makes itself ------------------------------- */

static const char S_503[] = "{\"success\":false,\"message\":\"Service temporarily unavailable.\"}";
static const char S_504[] = "{\"success\":false,\"message\":\"The service did not answer in time.\"}";
static const char S_400[] = "{\"success\":false,\"message\":\"Malformed bus request.\"}";
static const char S_505[] = "{\"success\":false,\"message\":\"Unsupported bus protocol version.\"}";
static const char S_502_REFUSED[] =
    "{\"success\":false,\"message\":\"The service sent a reply that could not be accepted.\"}";
static const char S_502_WRITE[] =
    "{\"success\":false,\"message\":\"The service stopped while handling this request: "
    "it may or may not have been applied.\"}";
static const char S_502_READ[] =
    "{\"success\":false,\"message\":\"The service stopped while handling this request.\"}";

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

/* Index of operation name in s's table, -1 when no worker announced it. */
static int s_op_index(const s_service_t *s, const char *name)
{
    for (int i = 0; i < s->nops; i++)
        if (strcmp(s->ops[i], name) == 0)
            return i;
    return -1;
}

/* Index of name in s's table, added when new; -1 when the table is full. */
static int s_op_intern(s_service_t *s, const char *name)
{
    int i = s_op_index(s, name);
    if (i >= 0 || s->nops == KV_OPS_MAX)
        return i;
    snprintf(s->ops[s->nops], sizeof s->ops[0], "%s", name);
    return s->nops++;
}

/* May worker w take request p? */
static int s_serves(const s_worker_t *w, const s_pending_t *p)
{
    return w->all_ops || (p->opi >= 0 && ((w->ops >> p->opi) & 1));
}

/* Does some available worker of s serve p's operation? */
static int s_served(const s_service_t *s, const s_pending_t *p)
{
    return s->legacy > 0 || (p->opi >= 0 && s->serving[p->opi] > 0);
}

static unsigned s_id_hash(const char *id, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)id[i]) * 16777619u;
    return h % S_WORKER_BUCKETS;
}

static s_worker_t *s_worker_find(gw_broker_t *b, const char *id, size_t len)
{
    for (s_worker_t *w = b->wbuckets[s_id_hash(id, len)]; w; w = w->hash_next)
        if (w->identity_len == len && memcmp(w->identity, id, len) == 0)
            return w;
    return NULL;
}

/* Sends m to the peer with identity id.  0, or -1 when its connection is
 * gone (or its queue is full, which for a worker holding at most one
 * request means the same). */
static int s_send_to(gw_broker_t *b, const void *id, size_t len, const kv_msg_t *m)
{
    if (kv_msg_send_to(m, b->router, id, len) == 0)
        return 0;
    kv_debug(NULL, "broker send failed: %s", zmq_strerror(zmq_errno()));
    return -1;
}

static int s_send_cmd(gw_broker_t *b, const void *id, size_t len, kv_msg_t *(*make)(void))
{
    kv_msg_t *m = make();
    int rc = s_send_to(b, id, len, m);
    kv_msg_destroy(&m);
    return rc;
}

/* A REPLY from the broker itself to an external client. */
static void s_reply_client(gw_broker_t *b, const char *client, size_t clen, const char *service,
                           const char *id, const char *cid, int status,
                           const char *body, size_t len)
{
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = KV_PROTO_VERSION;
    snprintf(h.id, sizeof h.id, "%s", id);
    snprintf(h.cid, sizeof h.cid, "%s", cid);
    h.status = status;
    char *htext = kv_hdr_encode(&h, 1);
    kv_msg_t *m = kv_bus_envelope(KV_CMD_REPLY, service, strlen(service), htext, strlen(htext),
                                  body, len);
    (void)s_send_to(b, client, clen, m);    /* a client gone is no one's loss */
    kv_msg_destroy(&m);
    free(htext);
}

/* Sends the answer to the client of p, with the worker's reply header rh
 * (NULL: the broker's own answer), then frees p.  p must be unlinked from
 * every list first (s_detach). */
static void s_answer_hdr(gw_broker_t *b, s_pending_t *p, int status, const char *body,
                         size_t len, const kv_hdr_t *rh)
{
    if (!p->read)
        b->write_answered = kv_mono_ms();
    if (p->cb)
        p->cb(p->arg, status, body, len, rh);
    else
        s_reply_client(b, p->client, p->client_len, p->service ? p->service->name : "unknown",
                       p->id, p->cid, status, body, len);
    kv_msg_destroy(&p->req);
    free(p);
}

static void s_answer(gw_broker_t *b, s_pending_t *p, int status, const char *body, size_t len)
{
    s_answer_hdr(b, p, status, body, len, NULL);
}

/* Brings the next tick forward to t (monotonic ms) when it is later. */
static void s_due(gw_broker_t *b, int64_t t)
{
    if (t < b->due)
        b->due = t;
}

/* ---- the pending table and the queues ----------------------------------- */

static void s_hash_add(gw_broker_t *b, s_pending_t *p)
{
    b->npending++;
    s_due(b, kv_mono_ms() + S_DEADLINE_CHECK_MS);
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

static void s_queue_del(s_service_t *s, s_pending_t *p)
{
    if (!p->queued)
        return;
    if (p->queue_prev)
        p->queue_prev->queue_next = p->queue_next;
    else
        s->queue_head = p->queue_next;
    if (p->queue_next)
        p->queue_next->queue_prev = p->queue_prev;
    else
        s->queue_tail = p->queue_prev;
    p->queue_prev = p->queue_next = NULL;
    p->queued = 0;
}

/* Queues p at the tail (front: at the head, for a request that waited
 * already). */
static void s_queue_add(s_service_t *s, s_pending_t *p, int front)
{
    if (front) {
        p->queue_prev = NULL;
        p->queue_next = s->queue_head;
        if (s->queue_head)
            s->queue_head->queue_prev = p;
        else
            s->queue_tail = p;
        s->queue_head = p;
    } else {
        p->queue_next = NULL;
        p->queue_prev = s->queue_tail;
        if (s->queue_tail)
            s->queue_tail->queue_next = p;
        else
            s->queue_head = p;
        s->queue_tail = p;
    }
    p->queued = 1;
}

/* Unlinks p from its queue, the pending table and its worker, so that it
 * can be answered. */
static void s_detach(gw_broker_t *b, s_pending_t *p)
{
    if (p->queued)
        s_queue_del(p->service, p);
    s_hash_del(b, p);
    if (p->worker) {
        if (p->worker->held == p)
            p->worker->held = NULL;
        if (p->worker->queued == p) {
            p->worker->queued = NULL;
            p->worker->ghost = 1;
            p->worker->ghost_deadline = p->deadline_ms;
        }
        p->worker = NULL;
    }
}

static void s_finish(gw_broker_t *b, s_pending_t *p, int status, const char *body, size_t len)
{
    s_detach(b, p);
    s_answer(b, p, status, body, len);
}

/* Answers p at once when nothing of its service can serve it: 503 without
 * an available worker, 501 when none of them serves its operation.
 * Returns 1 when it answered (p is freed). */
static int s_unservable(gw_broker_t *b, s_pending_t *p)
{
    s_service_t *s = p->service;
    if (!s || s->available == 0) {
        kv_warn(p->id, "no live %s worker for %s: 503", s ? s->name : "?", p->op);
        s_finish(b, p, KV_ST_UNAVAILABLE, S_503, sizeof S_503 - 1);
        return 1;
    }
    if (!s_served(s, p)) {
        char body[256];
        int n = snprintf(body, sizeof body,
                         "{\"success\":false,\"message\":\"Operation '%s' is not served by any "
                         "live instance of %s.\"}", p->op, s->name);
        kv_warn(p->id, "no live %s worker serves %s: 501", s->name, p->op);
        s_finish(b, p, KV_ST_UNKNOWN_OP, body, (size_t)n);
        return 1;
    }
    return 0;
}

/* After s lost workers: answers the queued requests it can no longer serve. */
static void s_sweep(gw_broker_t *b, s_service_t *s)
{
    s_pending_t *p = s->queue_head;
    while (p) {
        s_pending_t *next = p->queue_next;
        (void)s_unservable(b, p);
        p = next;
    }
}

/* ---- the idle lists ------------------------------------------------------ */

static void s_idle_push(s_service_t *s, s_worker_t *w)
{
    if (w->in_idle || w->withdrawn || w->away)
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

/* ---- readiness ------------------------------------------------------------- */

/* Publishes what /readyz reads (any thread) from the loop's state. */
static void s_snapshot(gw_broker_t *b)
{
    int64_t now_epoch = kv_now_ms();
    gw_svc_state_t st[S_MAX_SERVICES];
    memset(st, 0, sizeof st);
    for (s_worker_t *w = b->workers; w; w = w->next) {
        gw_svc_state_t *x = &st[w->service - b->services];
        if (!w->withdrawn && !(w->busy && now_epoch > w->busy_deadline))
            x->workers++;
        x->live++;
        x->busy += w->busy != 0;
    }
    for (int i = 0; i < b->nservices; i++)
        for (s_pending_t *p = b->services[i].queue_head; p; p = p->queue_next)
            st[i].queued++;
    for (s_instance_t *in = b->instances; in; in = in->next)
        st[in->service - b->services].joining += !in->joined;
    pthread_mutex_lock(&b->lock);
    for (int i = 0; i < b->nservices; i++) {
        memcpy(b->snap[i].name, b->services[i].name, sizeof b->snap[i].name);
        b->snap[i].st = st[i];
    }
    pthread_mutex_unlock(&b->lock);
}

/* ---- workers ------------------------------------------------------------------ */

/* Takes w out of what its service can hand work to. */
static void s_unavail(s_service_t *s, s_worker_t *w)
{
    s_idle_del(s, w);
    s->available--;
    if (w->all_ops)
        s->legacy--;
    for (int i = 0; i < s->nops; i++)
        if ((w->ops >> i) & 1)
            s->serving[i]--;
}

/* Forgets w and frees it.  w holds nothing (w->held is NULL). */
static void s_worker_free(gw_broker_t *b, s_worker_t *w)
{
    s_service_t *s = w->service;
    if (!w->withdrawn)
        s_unavail(s, w);
    s_worker_t **pp = &b->workers;
    while (*pp && *pp != w)
        pp = &(*pp)->next;
    if (*pp)
        *pp = w->next;
    pp = &b->wbuckets[s_id_hash(w->identity, w->identity_len)];
    while (*pp && *pp != w)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = w->hash_next;
    s->nworkers--;
    s_instance_t *in = w->instance;
    if (in && --in->registered == 0) {
        s_instance_t **ip = &b->instances;
        while (*ip && *ip != in)
            ip = &(*ip)->next;
        if (*ip)
            *ip = in->next;
        kv_info(NULL, "%s instance %s is gone", s->name, in->id);
        free(in);
    }
    free(w);
}

/* w is gone (connection lost, dropped, said goodbye, registered again):
 * forgets it.  A read-only request it held is handed to another worker
 * (once, while its deadline allows), or answered 503 when no other worker
 * serves it; any other request it held is answered 502 (a write may or may
 * not have been applied).  Then answers what the service can no longer
 * serve.  Never dispatches: the caller does (s_dispatch) when it is safe. */
static void s_worker_lost(gw_broker_t *b, s_worker_t *w, const char *why)
{
    s_service_t *s = w->service;
    /* what it held, then what was queued behind it: the worker may have
     * started that too (the reply to the first one lost on the way) */
    s_pending_t *ps[2] = { w->held, w->queued };
    for (int i = 0; i < 2; i++)
        if (ps[i])
            ps[i]->worker = NULL;
    w->held = w->queued = NULL;
    kv_info(NULL, "%s worker removed (%s)%s; %d left", s->name, why,
            ps[0] || ps[1] ? " while holding a request" : "", s->nworkers - 1);
    s_worker_free(b, w);
    for (int i = 1; i >= 0; i--) {   /* the older one ends first in the queue */
        s_pending_t *p = ps[i];
        if (!p)
            continue;
        int read = p->read;
        if (read && (s->available == 0 || !s_served(s, p))) {
            /* nothing left to hand it to: as if it arrived now */
            kv_warn(p->id, "%s.%s: its worker is gone (%s) and no other serves it: 503",
                    s->name, p->op, why);
            s_finish(b, p, KV_ST_UNAVAILABLE, S_503, sizeof S_503 - 1);
        } else if (read && !p->retried && kv_now_ms() < p->deadline_ms) {
            p->retried = 1;
            kv_warn(p->id, "%s.%s: its worker is gone (%s); handing it to another", s->name,
                    p->op, why);
            s_queue_add(s, p, 1);
        } else {
            /* a write may have been applied; a read that already cost two
             * workers is not tried a third time */
            kv_warn(p->id, "%s.%s: its worker is gone (%s): 502", s->name, p->op, why);
            if (read)
                s_finish(b, p, KV_ST_BAD_GATEWAY, S_502_READ, sizeof S_502_READ - 1);
            else
                s_finish(b, p, KV_ST_BAD_GATEWAY, S_502_WRITE, sizeof S_502_WRITE - 1);
        }
    }
    s_sweep(b, s);
}

/* ---- dispatching --------------------------------------------------------------- */

/* Sends p to w: held when w is idle, queued behind held when it is busy. */
static int s_give(gw_broker_t *b, s_worker_t *w, s_pending_t *p)
{
    if (s_send_to(b, w->identity, w->identity_len, p->req) != 0)
        return -1;
    s_queue_del(w->service, p);
    p->worker = w;
    p->read = p->opi >= 0 && ((w->ro >> p->opi) & 1);
    p->sent_us = kv_mono_us();
    if (w->busy) {
        w->queued = p;
        return 0;
    }
    w->busy = 1;
    w->busy_deadline = p->deadline_ms;
    w->held = p;
    w->probe_at = kv_mono_ms() + KV_PROBE_IVL_MS;
    s_due(b, w->probe_at);
    return 0;
}

/* May p be queued at busy worker w?  Only a read (w announced p's operation
 * read-only: if w dies, p is handed to another worker and its client never
 * knows; a write lost so would be one more "may or may not have been
 * applied"), and only behind a request of an operation that has lately
 * answered within b->queue_behind_us: a request never waits long behind
 * another while a worker may free up elsewhere. */
static int s_may_queue(const gw_broker_t *b, const s_worker_t *w, const s_pending_t *p)
{
    const s_pending_t *h = w->held;
    if (!b->queue_behind_us || !w->busy || !h || w->queued || w->away || w->withdrawn ||
        !s_serves(w, p) || h->opi < 0 || p->opi < 0 || !((w->ro >> p->opi) & 1))
        return 0;
    int64_t took = w->service->took_us[h->opi];
    return took > 0 && took <= b->queue_behind_us;
}

/* Hands queued requests of s to idle workers that serve them, oldest
 * request first, least recently used worker first; then, while requests
 * still wait, one more to each busy worker whose current request is a
 * quick one (s_may_queue): it starts that one the moment it replies,
 * without a round trip through this broker. */
static void s_dispatch(gw_broker_t *b, s_service_t *s)
{
    s_pending_t *p = s->queue_head;
    while (p && s->idle_head) {
        s_pending_t *next = p->queue_next;
        s_worker_t *w = s->idle_head;
        while (w && !s_serves(w, p))
            w = w->idle_next;
        if (!w) {                    /* every idle worker lacks its operation */
            p = next;
            continue;
        }
        s_idle_del(s, w);
        if (s_give(b, w, p) != 0) {
            s_worker_lost(b, w, "connection gone");   /* may answer queued ones */
            p = s->queue_head;
            continue;
        }
        p = next;
    }
    if (!s->queue_head || !b->queue_behind_us)
        return;
    for (s_worker_t *w = b->workers; w && s->queue_head; w = w->next) {
        if (w->service != s || !w->busy || w->queued)
            continue;
        for (p = s->queue_head; p && !s_may_queue(b, w, p); p = p->queue_next)
            ;
        if (p && s_give(b, w, p) != 0)
            return;   /* its connection is gone: the next probe finds out */
    }
}

/* Queues p (already in the pending table) for its service, or answers it
 * at once when nothing can serve it. */
static void s_enqueue(gw_broker_t *b, s_pending_t *p)
{
    if (s_unservable(b, p))
        return;
    s_queue_add(p->service, p, 0);
    s_dispatch(b, p->service);
}

/* The return address of p, which its worker's reply carries ("c"/"h" + sequence). */
static int s_retaddr(const s_pending_t *p, char out[24])
{
    return snprintf(out, 24, "%c%016" PRIx64, p->cb ? 'h' : 'c', p->seq);
}

/* Builds the message a worker gets, with p's return address. */
static void s_build_req(s_pending_t *p, const char *hdr, size_t hlen, const char *body, size_t blen)
{
    char ret[24];
    int rlen = s_retaddr(p, ret);
    p->req = kv_bus_envelope(KV_CMD_REQUEST, ret, (size_t)rlen, hdr, hlen, body, blen);
}

/* ---- handling what arrives on the ROUTER ------------------------------- */

/* Logs that a worker was refused; the same line at most every
 * S_REFUSE_LOG_MS (a refused worker may keep trying). */
static void s_refuse_log(gw_broker_t *b, const char *service, const char *why)
{
    char line[sizeof b->refused];
    snprintf(line, sizeof line, "refusing a %s worker: %s", service, why);
    int64_t now = kv_mono_ms();
    if (b->refuse_logged && now - b->refuse_logged < S_REFUSE_LOG_MS &&
        strcmp(line, b->refused) == 0)
        return;
    b->refuse_logged = now;
    memcpy(b->refused, line, sizeof line);
    kv_error(NULL, "%s", line);
}

static void s_on_ready(gw_broker_t *b, const char *id, size_t idlen, s_worker_t *old,
                       const kv_bus_frame_t *f, const char *user)
{
    kv_ready_info_t *ri = NULL;
    if (kv_curve_secure() && strcmp(user, f->service) != 0) {
        /* a worker of service X only with X's key: another service's key
         * (or a client that only holds one) cannot take X's requests */
        char why[96];
        snprintf(why, sizeof why, "its bus key is %.32s's", user[0] ? user : "nobody");
        s_refuse_log(b, f->service, why);
        return;
    }
    if (f->info) {
        ri = kv_malloc(sizeof *ri);
        int rc = kv_ready_info_decode(f->info, f->info_len, ri);
        if (rc != KV_BUS_OK) {
            char why[128];
            if (rc == KV_BUS_EVERSION)
                snprintf(why, sizeof why, "it speaks bus protocol version %d, this gateway %d",
                         ri->v, KV_PROTO_VERSION);
            else
                snprintf(why, sizeof why, "its READY announcement is malformed");
            s_refuse_log(b, f->service, why);
            free(ri);
            return;
        }
    }
    if (old && old->away && !old->busy && strcmp(old->service->name, f->service) == 0) {
        /* back from another gateway's request it was busy with: idle again,
         * its registration unchanged */
        old->away = 0;
        s_idle_push(old->service, old);
        s_dispatch(b, old->service);
        free(ri);
        return;
    }
    if (old) {
        s_service_t *os = old->service;
        s_worker_lost(b, old, "registered again");
        s_dispatch(b, os);
    }
    s_service_t *s = s_service(b, f->service, 1);
    if (!s) {
        s_refuse_log(b, f->service, "too many services");
        free(ri);
        return;
    }
    s_worker_t *w = kv_calloc(1, sizeof *w);
    memcpy(w->identity, id, idlen);
    w->identity_len = idlen;
    w->service = s;
    w->last_seen = kv_mono_ms();
    if (ri) {
        for (int i = 0; i < ri->nops; i++) {
            int k = s_op_intern(s, ri->ops[i]);
            if (k < 0) {
                kv_error(NULL, "%s: more than %d operations announced; %s ignored", s->name,
                         KV_OPS_MAX, ri->ops[i]);
                continue;
            }
            w->ops |= UINT64_C(1) << k;
            if (ri->read_only[i])
                w->ro |= UINT64_C(1) << k;
        }
        s_instance_t *in = b->instances;
        while (in && !(in->service == s && strcmp(in->id, ri->instance) == 0))
            in = in->next;
        if (!in) {
            in = kv_calloc(1, sizeof *in);
            snprintf(in->id, sizeof in->id, "%s", ri->instance);
            in->service = s;
            in->first_seen = w->last_seen;
            in->next = b->instances;
            b->instances = in;
        }
        in->announced = ri->workers;
        in->registered++;
        w->instance = in;
        if (!in->joined && in->registered >= in->announced) {
            in->joined = 1;
            kv_info(NULL, "%s instance %s joined with %d workers", s->name, in->id, in->announced);
        }
    } else {
        w->all_ops = 1;
    }
    w->next = b->workers;
    b->workers = w;
    unsigned hb = s_id_hash(id, idlen);
    w->hash_next = b->wbuckets[hb];
    b->wbuckets[hb] = w;
    s->nworkers++;
    s->available++;
    if (w->all_ops)
        s->legacy++;
    for (int i = 0; i < s->nops; i++)
        if ((w->ops >> i) & 1)
            s->serving[i]++;
    s_idle_push(s, w);
    kv_debug(NULL, "%s worker joined%s%s; %d live", s->name, ri ? " from " : "",
             ri ? ri->instance : "", s->available);
    free(ri);
    s_dispatch(b, s);
    s_snapshot(b);
}

/* A REPLY from w, parsed (f) or refused (f NULL: the message was
 * malformed).  Frees w and answers what it held. */
static int s_is_for(const kv_bus_frame_t *f, const s_pending_t *p)
{
    char want[24];
    int wlen = s_retaddr(p, want);
    return f->retaddr_len == (size_t)wlen && memcmp(f->retaddr, want, (size_t)wlen) == 0;
}

/* Remembers how long p's operation took, dispatch to reply (a moving
 * average over about the last eight). */
static void s_took(s_service_t *s, const s_pending_t *p)
{
    if (p->opi < 0 || !p->sent_us)
        return;
    int64_t dt = kv_mono_us() - p->sent_us;
    int64_t *avg = &s->took_us[p->opi];
    *avg = *avg ? *avg + (dt - *avg) / 8 : dt;
    if (*avg < 1)
        *avg = 1;
}

/* w's current request is over (answered, refused, or long gone): the one
 * queued behind it, if any, is now the one it runs; else w is idle. */
static void s_next_or_idle(gw_broker_t *b, s_worker_t *w)
{
    s_pending_t *q = w->queued;
    w->queued = NULL;
    w->held = q;
    w->busy = q != NULL || w->ghost;
    if (w->busy) {
        /* a ghost (s_detach) is waited for like a request answered 504 */
        w->busy_deadline = q ? q->deadline_ms : w->ghost_deadline;
        w->ghost = 0;
        w->probe_at = kv_mono_ms() + KV_PROBE_IVL_MS;
        s_due(b, w->probe_at);
    } else {
        s_idle_push(w->service, w);
    }
}

static void s_on_reply(gw_broker_t *b, s_worker_t *w, const kv_bus_frame_t *f)
{
    s_service_t *s = w->service;
    kv_hdr_t h;
    int rc = f ? kv_hdr_decode(f->header, f->header_len, 1, &h) : KV_BUS_EFRAMES;
    if (f && rc == KV_BUS_OK && w->queued && s_is_for(f, w->queued)) {
        /* the request queued behind the current one answered first: only
         * a worker busy with another gateway's request (or waiting for
         * another service) returns it so, unserved */
        s_pending_t *q = w->queued;
        w->queued = NULL;
        q->worker = NULL;
        if (h.unserved && q->req) {
            kv_debug(q->id, "%s.%s returned unserved by a busy worker: queued again", s->name,
                     q->op);
            w->away = 1;         /* it says READY when it is free */
            s_queue_add(s, q, 1);
        } else {
            s_detach(b, q);
            s_answer_hdr(b, q, h.status, f->body, f->body_len, &h);
        }
        s_dispatch(b, s);
        return;
    }
    if (f && rc == KV_BUS_OK && h.unserved && w->ghost && !(w->held && s_is_for(f, w->held))) {
        /* the ghost (a queued request answered 504 here) returned unserved
         * while the worker still runs held: nothing is owed for it any
         * more; the worker says READY when it is free */
        kv_debug(h.id, "%s: a request answered 504 came back unserved", s->name);
        w->ghost = 0;
        w->away = 1;
        return;
    }
    s_pending_t *p = w->held;
    if (!p) {
        kv_debug(rc == KV_BUS_OK ? h.id : NULL, "late reply dropped");
        if (f && rc == KV_BUS_OK && h.unserved)
            w->away = 1;         /* it will say READY when it is free */
    } else if (!f || rc != KV_BUS_OK) {
        kv_error(p->id, "%s.%s: the worker's reply is malformed (%d): 502", s->name, p->op, rc);
        s_finish(b, p, KV_ST_BAD_GATEWAY, S_502_REFUSED, sizeof S_502_REFUSED - 1);
    } else if (!s_is_for(f, p)) {
        /* a worker runs its requests in order: a reply to another one is
         * as unusable as a malformed one */
        kv_error(p->id, "%s.%s: the worker answered another request: 502", s->name, p->op);
        s_finish(b, p, KV_ST_BAD_GATEWAY, S_502_REFUSED, sizeof S_502_REFUSED - 1);
    } else if (h.unserved && p->req) {
        /* the worker was busy with another gateway's request and did not
         * run this one: it goes to the head of the queue for another
         * worker, and this one is away until its next READY */
        kv_debug(p->id, "%s.%s returned unserved by a worker busy elsewhere: queued again",
                 s->name, p->op);
        w->held = NULL;
        p->worker = NULL;
        w->away = 1;
        s_queue_add(s, p, 1);
    } else {
        s_took(s, p);
        s_detach(b, p);
        s_answer_hdr(b, p, h.status, f->body, f->body_len, &h);
    }
    s_next_or_idle(b, w);
    s_dispatch(b, s);
}

static void s_on_withdraw(gw_broker_t *b, const char *id, size_t idlen, s_worker_t *w)
{
    if (w && !w->withdrawn) {
        s_service_t *s = w->service;
        s_unavail(s, w);
        w->withdrawn = 1;
        kv_info(NULL, "%s worker withdrew%s%s; %d can take work", s->name,
                w->instance ? " from instance " : "", w->instance ? w->instance->id : "",
                s->available);
        s_sweep(b, s);
        s_snapshot(b);
    }
    /* acknowledged even for a peer we do not know: nothing will come to it */
    (void)s_send_cmd(b, id, idlen, kv_bus_withdraw);
}

static void s_on_client_request(gw_broker_t *b, const char *client, size_t clen,
                                const kv_bus_frame_t *f)
{
    kv_hdr_t h;
    int rc = kv_hdr_decode(f->header, f->header_len, 0, &h);
    if (rc != KV_BUS_OK) {
        if (!h.id[0]) {
            kv_warn(NULL, "dropping client request with a malformed header");
            return;
        }
        if (rc == KV_BUS_EVERSION)
            s_reply_client(b, client, clen, f->service, h.id, h.cid, KV_ST_VERSION_MISMATCH,
                           S_505, sizeof S_505 - 1);
        else
            s_reply_client(b, client, clen, f->service, h.id, h.cid, KV_ST_BAD_REQUEST,
                           S_400, sizeof S_400 - 1);
        return;
    }
    s_pending_t *p = kv_calloc(1, sizeof *p);
    memcpy(p->client, client, clen);
    p->client_len = clen;
    p->seq = ++b->next_seq;
    p->service = s_service(b, f->service, 0);
    memcpy(p->id, h.id, sizeof p->id);
    memcpy(p->cid, h.cid, sizeof p->cid);
    memcpy(p->op, h.op, sizeof p->op);
    p->opi = p->service ? s_op_index(p->service, p->op) : -1;
    p->deadline_ms = h.deadline_ms ? h.deadline_ms
                                   : kv_now_ms() + kv_env_int("KAIVOX_REQUEST_TIMEOUT_MS", 5000, 100, 600000);
    s_build_req(p, f->header, f->header_len, f->body, f->body_len);
    s_hash_add(b, p);
    s_enqueue(b, p);
}

/* A message whose tag is another protocol version's (kv_bus_parse said
 * KV_BUS_ETAG).  A request gets 505 at once; a worker is refused. */
static void s_on_foreign(gw_broker_t *b, const char *id, size_t idlen, const kv_msg_t *m)
{
    kv_bus_foreign_t fo;
    if (kv_bus_parse_foreign(m, &fo) != KV_BUS_OK) {
        kv_warn(NULL, "dropping a bus message with an unknown tag");
        return;
    }
    if (fo.cmd == KV_CMD_REQUEST && fo.id[0]) {
        kv_warn(fo.id, "request in bus protocol version %d: 505", fo.version);
        s_reply_client(b, id, idlen, fo.service[0] ? fo.service : "unknown", fo.id, fo.cid,
                       KV_ST_VERSION_MISMATCH, S_505, sizeof S_505 - 1);
    } else if (fo.cmd == KV_CMD_READY) {
        char why[96];
        snprintf(why, sizeof why, "it speaks bus protocol version %d (KVB%d), this gateway %d",
                 fo.version, fo.version, KV_PROTO_VERSION);
        s_refuse_log(b, fo.service[0] ? fo.service : "(unnamed)", why);
    } else {
        kv_warn(NULL, "dropping a bus message of protocol version %d (command %d)", fo.version,
                fo.cmd);
    }
}

static void s_on_message(gw_broker_t *b, const char *id, size_t idlen, kv_msg_t *m)
{
    kv_bus_frame_t f;
    int rc = kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f);
    s_worker_t *w = s_worker_find(b, id, idlen);
    if (w)
        w->last_seen = kv_mono_ms();
    if (rc != KV_BUS_OK) {
        if (w && w->busy) {
            /* a busy worker sends its reply: this one cannot be accepted */
            s_on_reply(b, w, NULL);
        } else if (rc == KV_BUS_ETAG) {
            s_on_foreign(b, id, idlen, m);
        } else {
            kv_warn(NULL, "dropping malformed bus message (%d)", rc);
        }
        return;
    }
    switch (f.cmd) {
    case KV_CMD_READY:
        s_on_ready(b, id, idlen, w, &f, kv_msg_user(m));
        break;
    case KV_CMD_HEARTBEAT:
        if (!w)     /* a worker from before a broker restart: make it re-register */
            (void)s_send_cmd(b, id, idlen, kv_bus_disconnect);
        break;
    case KV_CMD_WITHDRAW:
        s_on_withdraw(b, id, idlen, w);
        break;
    case KV_CMD_DISCONNECT:
        if (w) {
            s_service_t *s = w->service;
            s_worker_lost(b, w, "goodbye");
            s_dispatch(b, s);
            s_snapshot(b);
        }
        break;
    case KV_CMD_REPLY:
        if (w && w->busy)
            s_on_reply(b, w, &f);
        else
            kv_debug(NULL, "reply from a worker that holds nothing dropped");
        break;
    case KV_CMD_REQUEST:
        s_on_client_request(b, id, idlen, &f);
        break;
    default:
        break;
    }
}

static void s_on_router(gw_broker_t *b)
{
    for (int i = 0; i < 1000; i++) {
        kv_msg_t *m = kv_msg_recv(b->router, 0);
        if (!m)
            return;
        void *id = NULL;
        size_t idlen = 0;
        if (kv_msg_pop(m, &id, &idlen) == 0 && idlen > 0 && idlen <= KV_RETADDR_MAX)
            s_on_message(b, id, idlen, m);
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
    p->opi = p->service ? s_op_index(p->service, p->op) : -1;
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

/* ---- timers ----------------------------------------------------------------- */

int gw_broker_tick(gw_broker_t *b)
{
    int64_t now_epoch = kv_now_ms(), now = kv_mono_ms();
    /* deadlines */
    s_pending_t *p = b->all_head;
    while (p) {
        s_pending_t *next = p->all_next;
        if (p->deadline_ms && now_epoch >= p->deadline_ms) {
            kv_warn(p->id, "%s.%s passed its deadline: 504",
                    p->service ? p->service->name : "?", p->op);
            s_finish(b, p, KV_ST_TIMEOUT, S_504, sizeof S_504 - 1);
        }
        p = next;
    }
    /* workers: dead, stuck or silent ones go; busy ones are probed.
     * s_worker_lost frees only the worker it is given and never
     * dispatches, so the walk stays valid. */
    int heartbeat = now >= b->heartbeat_at;
    int64_t silence = (int64_t)KV_HEARTBEAT_IVL_MS * KV_HEARTBEAT_LIVENESS;
    kv_msg_t *hb = kv_bus_heartbeat();
    s_worker_t *w = b->workers;
    int busy = 0;
    while (w) {
        s_worker_t *next = w->next;
        if (w->busy && now_epoch > w->busy_deadline + KV_BUSY_GRACE_MS) {
            (void)s_send_cmd(b, w->identity, w->identity_len, kv_bus_disconnect);
            s_worker_lost(b, w, "busy past its deadline");
        } else if (!w->busy && now - w->last_seen > silence) {
            s_worker_lost(b, w, "heartbeat lost");
        } else if ((w->busy && now >= w->probe_at) || (!w->busy && heartbeat)) {
            if (s_send_to(b, w->identity, w->identity_len, hb) != 0) {
                s_worker_lost(b, w, "connection gone");
            } else if (w->busy) {
                w->probe_at = now + KV_PROBE_IVL_MS;
                busy = 1;
            }
        } else {
            busy |= w->busy;
        }
        w = next;
    }
    kv_msg_destroy(&hb);
    if (heartbeat)
        b->heartbeat_at = now + KV_HEARTBEAT_IVL_MS;
    /* instances that never completed their registration */
    for (s_instance_t *in = b->instances; in; in = in->next) {
        if (!in->joined && now - in->first_seen > KV_JOIN_MAX_MS) {
            in->joined = 1;
            kv_warn(NULL, "%s instance %s registered %d of the %d workers it announced",
                    in->service->name, in->id, in->registered, in->announced);
        }
    }
    for (int i = 0; i < b->nservices; i++)
        s_dispatch(b, &b->services[i]);
    s_snapshot(b);

    /* next due: the heartbeat, the probes of busy workers, or a deadline
     * check every 50 ms while anything is pending (deadlines are coarse on
     * purpose) */
    int64_t due = b->heartbeat_at - now;
    if (busy && due > KV_PROBE_IVL_MS)
        due = KV_PROBE_IVL_MS;
    if (b->all_head && due > S_DEADLINE_CHECK_MS)
        due = S_DEADLINE_CHECK_MS;
    if (due < 1)
        due = 1;
    b->due = now + due;
    return (int)due;
}

int64_t gw_broker_due(const gw_broker_t *b)
{
    return b->due;
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

int gw_broker_quick(const gw_broker_t *b, int64_t max_us)
{
    if (b->npending > 1)
        return 0;
    /* a write sets off work beyond its answer (its outbox event, the
     * webhooks' fan-out), which needs the CPU a poll would hold: none while
     * one is held, nor for a while after one was answered; a request not
     * yet given to a worker waits for one */
    if (b->write_answered && kv_mono_ms() - b->write_answered < GW_BROKER_WRITE_QUIET_MS)
        return 0;
    const s_pending_t *p = b->all_head;
    if (!p)
        return 1;
    if (!p->read || !p->worker || !p->service || p->opi < 0)
        return 0;
    return p->service->took_us[p->opi] <= max_us;
}

/* ---- public ------------------------------------------------------------ */

gw_broker_t *gw_broker_new(void *zmq_ctx)
{
    const char *ep = kv_env_str("KAIVOX_BUS_ENDPOINT", "tcp://127.0.0.1:7700");
    gw_broker_t *b = kv_calloc(1, sizeof *b);
    b->zmq = zmq_ctx;
    b->owner = pthread_self();
    b->started = kv_mono_ms();
    pthread_mutex_init(&b->lock, NULL);
    b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    b->router = kv_msg_socket(zmq_ctx, ZMQ_ROUTER);
    int hwm = 100000, mandatory = 1;
    if (b->router && kv_curve_server(b->router, KV_ZAP_BUS) != 0) {
        zmq_close(b->router);
        b->router = NULL;
    }
    if (b->router) {
        zmq_setsockopt(b->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(b->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
        /* a send to a peer whose connection is gone fails (EHOSTUNREACH)
         * instead of vanishing: how the broker learns a worker died */
        zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory);
    }
    if (b->efd < 0 || !b->router || zmq_bind(b->router, ep) != 0) {
        kv_error(NULL, "broker cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        if (b->efd >= 0)
            close(b->efd);
        zmq_close(b->router);
        pthread_mutex_destroy(&b->lock);
        free(b);
        return NULL;
    }
    b->heartbeat_at = kv_mono_ms() + KV_HEARTBEAT_IVL_MS;
    b->due = kv_mono_ms();
    b->queue_behind_us = kv_env_int("KAIVOX_BROKER_QUEUE_BEHIND_US", S_QUEUE_BEHIND_DEF_US, 0,
                                    1000000);
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
    while (b->all_head)
        s_finish(b, b->all_head, KV_ST_UNAVAILABLE, S_503, sizeof S_503 - 1);
    while (b->workers)
        s_worker_free(b, b->workers);
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

int gw_broker_service_state(gw_broker_t *b, const char *service, gw_svc_state_t *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&b->lock);
    for (int i = 0; i < S_MAX_SERVICES && b->snap[i].name[0]; i++)
        if (strcmp(b->snap[i].name, service) == 0)
            *st = b->snap[i].st;
    pthread_mutex_unlock(&b->lock);
    return kv_mono_ms() - b->started < KV_SETTLE_MS;
}
