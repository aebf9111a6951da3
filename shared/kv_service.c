/*
 * kv_service.c -- the runtime under every service process.
 *
 * main() of a service fills a kv_service_def_t and calls kv_service_run().
 * That checks the operation table against the registry (proto/kv_ops.h),
 * applies the service's migrations (retrying until PostgreSQL answers),
 * starts KAIVOX_WORKERS worker threads and the optional background thread,
 * and waits for SIGINT/SIGTERM.
 *
 * A worker thread is the worker side of proto/bus.md (the zguide's Paranoid
 * Pirate).  It holds one link per broker: a DEALER socket, READY on connect
 * with this instance's id, its worker count and the operations it serves,
 * a heartbeat every second, and a fresh socket when the broker has been
 * silent for KV_HEARTBEAT_LIVENESS intervals or tells it to re-register
 * (DISCONNECT).  Today there is one broker (KAIVOX_BUS_ENDPOINT); the links
 * are an array so that a worker registered with several brokers drains
 * each link on its own.  Requests are dispatched to the ops table by name;
 * the handler's status and envelope go back as the REPLY on the link the
 * request came from.  A write that carries an Idempotency-Key runs between
 * kv_idem_start and kv_idem_finish (kv_idem.h): inside one transaction of
 * the runtime's, with its answer recorded under the key, or not at all
 * when the key's answer is already recorded ("replayed" in the REPLY).
 *
 * Drain (SIGTERM): each link sends WITHDRAW; the worker serves whatever
 * still arrives on it until the broker's acknowledgement (ZeroMQ keeps
 * order per connection, so nothing can follow it), then sends DISCONNECT
 * with a linger so the goodbye reaches the broker, and closes.  The main
 * thread waits for every thread at most KAIVOX_DRAIN_S seconds.
 *
 * Observability: each request is a span of the trace its header carries
 * (or of a new trace): the worker thread's current trace (kv_trace.h)
 * while it runs, so every log line carries its trace_id and every call it
 * makes passes the trace on.  Requests, their latency, deadline misses and
 * busy workers are counted (kv_metrics.h) and served on
 * KAIVOX_METRICS_ADDR by a listener thread of their own.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "kv_service.h"
#include "kv_client.h"
#include "kv_curve.h"
#include "kv_disc.h"
#include "kv_env.h"
#include "kv_idem.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_metrics.h"
#include "kv_outbox.h"
#include "kv_trace.h"
#include "kv_pub.h"
#include "kv_json.h"

#define S_LINKS_MAX KV_EPS_MAX   /* brokers one worker may register with */
#define S_SLOW_MAX 8             /* KAIVOX_TEST_SLOW_OPS entries */
#define S_HEALTH_MAX_AGE_S 5     /* a health file older than this: not running */
/* A broker silent this long is taken for gone when the worker withdraws
 * from it (no acknowledgement will come). */
#define S_GONE_MS (KV_HEARTBEAT_IVL_MS * 3 / 2)

static atomic_int s_stop;        /* first signal: drain */
static void *s_zmq;
static const kv_service_def_t *s_def;
static int s_drain_ms;           /* KAIVOX_DRAIN_S in milliseconds */

/* Every operation this process serves: the table's, plus the system ones
 * the runtime adds.  Built once in kv_service_run. */
static const kv_op_t **s_ops;
static int s_nops;
static char *s_ready_info;       /* READY's JSON frame, the same for every worker */
static kv_disc_t *s_bus_disc;    /* where the brokers are (KAIVOX_BUS_ENDPOINT) */
static _Thread_local long s_bounced; /* requests this worker returned unserved */

/* Threads still running, and the signals seen; the main thread waits on
 * s_cond for either to change. */
static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_cond = PTHREAD_COND_INITIALIZER;
static int s_live;
static int s_signals;

/* Metrics of the request path (registered once in kv_service_run). */
static kv_metric_t *s_m_requests;    /* kaivox_bus_requests_total{op,status} */
static kv_metric_t *s_m_latency;     /* kaivox_bus_request_duration_seconds{op} */
static kv_metric_t *s_m_missed;      /* kaivox_bus_deadline_missed_total{op} */
static kv_series_t *s_m_busy;        /* kaivox_workers{state="busy"} */
/* Worker threads registered with at least one broker that answers (for
 * the health file). */
static atomic_int s_linked;

/* Test hook: operations made slow on purpose (KAIVOX_TEST_SLOW_OPS). */
static struct { char op[KV_OP_NAME_MAX + 1]; int ms; } s_slow[S_SLOW_MAX];
static int s_nslow;

int kv_service_stopping(void)
{
    return atomic_load(&s_stop);
}

void *kv_service_zmq(void)
{
    return s_zmq;
}

/* ---- the operation table ------------------------------------------------ */

static void s_ping(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *d = json_object();
    json_object_set_new(d, "service", json_string(s_def->name));
    kv_reply_ok(rep, KV_ST_OK, d, NULL);
}

static const kv_op_t s_builtin_ping = { KV_OP(SYS_PING), s_ping };
static const kv_op_t s_builtin_since = { KV_OP(EVENTS_SINCE), kv_outbox_since_op };

static const kv_op_t *s_find_op(const char *name)
{
    for (int i = 0; i < s_nops; i++)
        if (strcmp(s_ops[i]->op->name, name) == 0)
            return s_ops[i];
    return NULL;
}

/* Builds s_ops from def's table and the built-in operations, checking the
 * table against the registry.  0, or -1 (logged): an entry of another
 * service, a duplicate, too many. */
static int s_build_ops(const kv_service_def_t *def)
{
    int n = 2;
    for (const kv_op_t *op = def->ops; op && op->op; op++)
        n++;
    s_ops = kv_calloc((size_t)n, sizeof *s_ops);
    s_nops = 0;
    for (const kv_op_t *op = def->ops; op && op->op; op++) {
        if (!op->fn || (op->op->service && strcmp(op->op->service, def->name) != 0)) {
            kv_error(NULL, "operation table: %s belongs to %s, not %s", op->op->name,
                     op->op->service ? op->op->service : "(system)", def->name);
            return -1;
        }
        if (s_find_op(op->op->name)) {
            kv_error(NULL, "operation table: %s is listed twice", op->op->name);
            return -1;
        }
        s_ops[s_nops++] = op;
    }
    if (!s_find_op(KV_OP_PING))
        s_ops[s_nops++] = &s_builtin_ping;
    if (def->producer && !s_find_op(KV_OP_EVENTS_SINCE))
        s_ops[s_nops++] = &s_builtin_since;
    if (s_nops > KV_OPS_MAX) {
        kv_error(NULL, "operation table: %d operations, at most %d", s_nops, KV_OPS_MAX);
        return -1;
    }
    return 0;
}

/* This process's instance id: host-pid-random, [A-Za-z0-9._-], unique
 * enough that two processes never share one. */
static void s_instance_id(char out[KV_INSTANCE_MAX + 1])
{
    char host[33] = "host", rnd[33];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    for (char *c = host; *c; c++)
        if (!kv_bus_valid_id(c, 1))
            *c = '-';
    kv_bus_new_id(rnd);
    rnd[8] = '\0';
    snprintf(out, KV_INSTANCE_MAX + 1, "%.24s-%ld-%.8s", host, (long)getpid(), rnd);
}

/* READY's JSON frame for this process.  Caller owns the result. */
static char *s_ready_info_new(int nworkers)
{
    kv_ready_info_t *ri = kv_calloc(1, sizeof *ri);
    ri->v = KV_PROTO_VERSION;
    s_instance_id(ri->instance);
    ri->workers = nworkers;
    for (int i = 0; i < s_nops; i++) {
        snprintf(ri->ops[i], sizeof ri->ops[i], "%s", s_ops[i]->op->name);
        ri->read_only[i] = (s_ops[i]->op->flags & KV_OPF_READ) != 0;
    }
    ri->nops = s_nops;
    char *s = kv_ready_info_encode(ri);
    kv_info(NULL, "instance %s: %d workers, %d operations", ri->instance, nworkers, s_nops);
    free(ri);
    return s;
}

/* ---- test hook ---------------------------------------------------------- */

/* KAIVOX_TEST_SLOW_OPS="op:ms[,op:ms...]" makes those operations sleep ms
 * before their handler runs: the end-to-end tests use it to hold requests
 * in a worker.  It is refused unless KAIVOX_TEST_HOOKS=1.  0 or -1. */
static int s_test_hooks(void)
{
    const char *spec = kv_env_str("KAIVOX_TEST_SLOW_OPS", NULL);
    if (!spec)
        return 0;
    if (strcmp(kv_env_str("KAIVOX_TEST_HOOKS", "0"), "1") != 0) {
        kv_error(NULL, "KAIVOX_TEST_SLOW_OPS is a test setting: refused without KAIVOX_TEST_HOOKS=1");
        return -1;
    }
    const char *p = spec;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : 0;
        char *end = NULL;
        long ms = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || len == 0 || len > KV_OP_NAME_MAX || s_nslow == S_SLOW_MAX ||
            end == colon + 1 || (*end && *end != ',') || ms < 1 || ms > 600000) {
            kv_error(NULL, "KAIVOX_TEST_SLOW_OPS: expected op:ms[,op:ms...] (at most %d)", S_SLOW_MAX);
            return -1;
        }
        memcpy(s_slow[s_nslow].op, p, len);
        s_slow[s_nslow].op[len] = '\0';
        s_slow[s_nslow].ms = (int)ms;
        kv_warn(NULL, "test hook: %s sleeps %ld ms before running", s_slow[s_nslow].op, ms);
        s_nslow++;
        p = *end ? end + 1 : end;
    }
    return 0;
}

static void s_test_delay(const char *op)
{
    for (int i = 0; i < s_nslow; i++)
        if (strcmp(s_slow[i].op, op) == 0)
            kv_sleep_ms(s_slow[i].ms);
}

/* ---- one request ----------------------------------------------------------- */

/* Runs one request and fills *ans (its body owned by the caller).  Never
 * fails: every problem becomes an error envelope.  A write with an
 * Idempotency-Key runs between kv_idem_start and kv_idem_finish, which
 * may answer without running it (a recorded answer, 409, 422). */
static void s_dispatch(kv_ctx_t *ctx, const kv_hdr_t *h, const char *body, size_t body_len,
                       kv_answer_t *ans)
{
    kv_rep_t rep = { KV_ST_INTERNAL, NULL, NULL, 0 };
    json_t *bus = NULL;
    memset(ans, 0, sizeof *ans);

    const kv_op_t *op = s_find_op(h->op);
    if (!op) {
        char msg[128];
        snprintf(msg, sizeof msg, "Unknown operation '%s' for service %s.", h->op, s_def->name);
        kv_reply_error(&rep, KV_ST_UNKNOWN_OP, msg, NULL);
        goto out;
    }
    if (!(op->op->flags & KV_OPF_SYSTEM) && h->tenant_id <= 0) {
        kv_reply_error(&rep, KV_ST_BAD_REQUEST, "This operation needs a tenant context.", NULL);
        goto out;
    }
    if (h->deadline_ms > 0 && kv_now_ms() > h->deadline_ms) {
        kv_metric_inc(s_m_missed, KV_LABELS(op->op->name));
        kv_reply_error(&rep, KV_ST_TIMEOUT, "The request timed out.", NULL);
        goto out;
    }
    bus = body_len ? json_loadb(body, body_len, 0, NULL) : json_object();
    json_t *params = json_object_get(bus, "params");
    json_t *query = json_object_get(bus, "query");
    if (!json_is_object(bus) || (params && !json_is_object(params)) ||
        (query && !json_is_object(query))) {
        kv_reply_error(&rep, KV_ST_BAD_REQUEST, "Malformed bus request body.", NULL);
        goto out;
    }
    if (!params)
        json_object_set_new(bus, "params", params = json_object());
    if (!query)
        json_object_set_new(bus, "query", query = json_object());
    json_t *jb = json_object_get(bus, "body");
    kv_req_t req = { h, params, query, json_is_null(jb) ? NULL : jb };

    /* a write with a key: recorded with its change, at most once */
    int keyed = h->idem_key[0] && h->tenant_id > 0 && !(op->op->flags & KV_OPF_READ);
    if (keyed) {
        if (kv_idem_start(ctx->idem, ctx, h, bus, ans) != KV_IDEM_RUN)
            goto out;
    } else if (kv_db_ensure(ctx->db) != 0) {
        kv_reply_unavailable(&rep);
        goto out;
    }
    if (s_nslow)
        s_test_delay(h->op);
    op->fn(ctx, &req, &rep);
    if (keyed) {
        kv_idem_finish(ctx->idem, ctx, h, &rep, ans);
        goto out;
    }
    kv_db_rollback(ctx->db, h->id);   /* no-op unless the handler forgot one */
out:
    if (!ans->body)
        kv_answer_of(&rep, ans);
    json_decref(rep.body);
    free(rep.text);
    json_decref(bus);
}

/* Serves the request f that arrived on sock and sends the REPLY there. */
static void s_handle_request(kv_ctx_t *ctx, void *sock, const kv_bus_frame_t *f)
{
    kv_hdr_t h;
    int rc = kv_hdr_decode(f->header, f->header_len, 0, &h);
    kv_answer_t ans = { KV_ST_INTERNAL, NULL, 0, 0 };
    if (rc == KV_BUS_EVERSION && h.id[0]) {
        kv_rep_t rep = { KV_ST_INTERNAL, NULL, NULL, 0 };
        kv_reply_error(&rep, KV_ST_VERSION_MISMATCH, "Unsupported bus protocol version.", NULL);
        kv_answer_of(&rep, &ans);
    } else if (rc != KV_BUS_OK) {
        /* no usable request id: the broker answers its client at its deadline */
        kv_warn(NULL, "dropping request with a malformed header (%d)", rc);
        return;
    } else {
        /* this request is a span of the caller's trace (or of a new one) */
        kv_trace_t tr;
        kv_trace_begin(&tr, h.traceparent[0] ? h.traceparent : NULL, h.tracestate);
        kv_trace_set_current(&tr);
        kv_series_add(s_m_busy, 1);
        int64_t t0 = kv_mono_us();
        s_dispatch(ctx, &h, f->body, f->body_len, &ans);
        int64_t us = kv_mono_us() - t0;
        kv_series_add(s_m_busy, -1);
        /* label values only from the operation table: bounded */
        const kv_op_t *op = s_find_op(h.op);
        const char *opn = op ? op->op->name : "unknown";
        char st[4] = { '0', '0', '0', '\0' };
        if (ans.status >= 100 && ans.status <= 999) {   /* no printf on the request path */
            st[0] = (char)('0' + ans.status / 100);
            st[1] = (char)('0' + ans.status / 10 % 10);
            st[2] = (char)('0' + ans.status % 10);
        }
        kv_metric_inc(s_m_requests, KV_LABELS(opn, st));
        kv_metric_observe_us(s_m_latency, KV_LABELS(opn), us);
        kv_log(ans.status >= 500 ? KV_LOG_WARN : KV_LOG_INFO, h.id,
               "op %s tenant %lld status %d%s in %lld us parent_span=%s span=%s", h.op,
               (long long)h.tenant_id, ans.status, ans.replayed ? " (replayed)" : "",
               (long long)us, tr.parent_id[0] ? tr.parent_id : "-", tr.span_id);
    }
    kv_hdr_t rh;
    memset(&rh, 0, sizeof rh);
    rh.v = KV_PROTO_VERSION;
    memcpy(rh.id, h.id, sizeof rh.id);
    rh.status = ans.status;
    rh.replayed = ans.replayed;
    kv_msg_t *m = kv_bus_reply(f->retaddr, f->retaddr_len, &rh, ans.body, ans.len, &rc);
    if (rc == KV_BUS_ESIZE)
        kv_error(h.id, "op %s: the response is %zu bytes, more than a bus frame carries (%d): "
                 "answered 500 instead", h.op, ans.len, KV_BODY_MAX);
    if (kv_msg_send(m, sock) != 0)
        kv_warn(h.id, "could not send reply: %s", zmq_strerror(zmq_errno()));
    kv_msg_destroy(&m);
    free(ans.body);
    kv_trace_clear_current();
}

/* ---- links to brokers ------------------------------------------------------- */

typedef enum {
    S_LINK_ACTIVE = 0,           /* registered: takes requests */
    S_LINK_WITHDRAWING,          /* WITHDRAW sent, waiting for the acknowledgement */
    S_LINK_DONE,                 /* acknowledged, or the broker is gone: nothing more comes */
} s_link_state_t;

typedef struct {
    char endpoint[KV_EP_LEN];    /* the broker's bus address */
    void *sock;                  /* DEALER; NULL when it could not be made */
    s_link_state_t state;
    int retiring;                /* its address vanished: closed once DONE */
    int owe_ready;               /* a request was returned unserved: READY when free */
    int reopen;                  /* DISCONNECT came while the socket could not be
                                    replaced: reopen it at the next turn */
    int forgotten;               /* the broker sent DISCONNECT: no goodbye owed */
    int heard;                   /* the broker ever answered on this socket */
    int silent_logged;           /* its silence was logged (once per silence) */
    int64_t last_seen;           /* monotonic ms of the broker's last message */
    int64_t heartbeat_at;        /* monotonic ms our next heartbeat is due */
    int64_t withdraw_at;         /* monotonic ms WITHDRAW was sent */
} s_link_t;

/* A worker's links: one per broker address of KAIVOX_BUS_ENDPOINT. */
typedef struct {
    s_link_t l[S_LINKS_MAX];
    int n;
    kv_disc_t *disc;
    unsigned gen;                /* generation of the addresses the links follow */
    int linked;                  /* counted in s_linked */
    int busy;                    /* a handler is running */
} s_links_t;

/* (Re)makes l's socket, connected, READY queued. */
static void s_link_open(s_link_t *l)
{
    if (l->sock)
        zmq_close(l->sock);
    l->sock = kv_msg_socket(s_zmq, ZMQ_DEALER);
    if (l->sock && (kv_curve_client(l->sock) != 0 || kv_disc_prepare(l->sock, l->endpoint) != 0 ||
                    zmq_connect(l->sock, l->endpoint) != 0)) {
        kv_error(NULL, "cannot connect worker to %s: %s", l->endpoint, zmq_strerror(zmq_errno()));
        zmq_close(l->sock);
        l->sock = NULL;
    }
    if (l->sock) {
        kv_msg_t *m = kv_bus_ready_info(s_def->name, s_ready_info);
        kv_msg_send(m, l->sock);
        kv_msg_destroy(&m);
    }
    l->forgotten = 0;
    l->heard = 0;
    l->last_seen = kv_mono_ms();
    l->heartbeat_at = l->last_seen + KV_HEARTBEAT_IVL_MS;
}

/* Closes l's socket; with a goodbye (DISCONNECT) unless the broker forgot
 * us, lingering so that it reaches the broker. */
static void s_link_close(s_link_t *l)
{
    if (!l->sock)
        return;
    if (!l->forgotten && l->heard) {
        kv_msg_t *bye = kv_bus_disconnect();
        kv_msg_send(bye, l->sock);
        kv_msg_destroy(&bye);
        int linger = KV_GOODBYE_LINGER_MS;
        zmq_setsockopt(l->sock, ZMQ_LINGER, &linger, sizeof linger);
    }
    zmq_close(l->sock);
    l->sock = NULL;
}

static void s_link_send(s_link_t *l, kv_msg_t *m)
{
    if (l->sock && kv_msg_send(m, l->sock) != 0)
        kv_debug(NULL, "bus send to %s failed: %s", l->endpoint, zmq_strerror(zmq_errno()));
}

/* Sends WITHDRAW on l: no more work, please (drain, or its address vanished). */
static void s_link_withdraw(s_link_t *l, int64_t now)
{
    if (l->state != S_LINK_ACTIVE)
        return;
    if (!l->sock || now - l->last_seen > S_GONE_MS) {
        /* its broker is gone (a live one heartbeats an idle worker every
         * interval and probes a busy one four times as often) or never
         * answered: nothing can come, nobody to acknowledge */
        l->state = S_LINK_DONE;
        return;
    }
    kv_msg_t *w = kv_bus_withdraw();
    s_link_send(l, w);
    kv_msg_destroy(&w);
    l->state = S_LINK_WITHDRAWING;
    l->withdraw_at = now;
}

/* Returns request f, which arrived on l, to its broker without running it:
 * a REPLY 503 marked "unserved" (the broker gives it to another worker; an
 * older broker passes the 503 on, which a client may retry).  The worker
 * then owes l a READY, sent once it is free again. */
static void s_bounce(s_link_t *l, const kv_bus_frame_t *f)
{
    kv_hdr_t h, rh;
    if (kv_hdr_decode(f->header, f->header_len, 0, &h) != KV_BUS_OK) {
        kv_warn(NULL, "dropping request with a malformed header");
        return;
    }
    memset(&rh, 0, sizeof rh);
    rh.v = KV_PROTO_VERSION;
    memcpy(rh.id, h.id, sizeof rh.id);
    rh.status = KV_ST_UNAVAILABLE;
    rh.unserved = 1;
    static const char body[] = "{\"success\":false,\"message\":\"Service temporarily unavailable.\"}";
    int rc;
    kv_msg_t *m = kv_bus_reply(f->retaddr, f->retaddr_len, &rh, body, sizeof body - 1, &rc);
    if (kv_msg_send(m, l->sock) != 0)
        kv_warn(h.id, "could not return a request to %s: %s", l->endpoint, zmq_strerror(zmq_errno()));
    kv_msg_destroy(&m);
    l->owe_ready = 1;
    s_bounced++;
    kv_debug(h.id, "op %s from %s returned unserved: busy with another gateway's request",
             h.op, l->endpoint);
}

/* Notes that l's broker spoke (m parsed into f).  0, or -1 for a malformed
 * message (dropped). */
static int s_link_heard(s_link_t *l, kv_msg_t *m, kv_bus_frame_t *f)
{
    int rc = kv_bus_parse(m, KV_BUS_AT_WORKER, f);
    if (rc != KV_BUS_OK) {
        kv_warn(NULL, "dropping malformed bus message (%d)", rc);
        return -1;
    }
    l->last_seen = kv_mono_ms();
    if (l->silent_logged)
        kv_info(NULL, "broker %s answers again", l->endpoint);
    l->heard = 1;
    l->silent_logged = 0;
    return 0;
}

/* What a link's message does besides a request: the acknowledgement of a
 * withdrawal, the broker not knowing us (reopen: at once, or later when
 * the socket may not be replaced now), a heartbeat. */
static void s_link_control(s_link_t *l, const kv_bus_frame_t *f, int may_reopen)
{
    switch (f->cmd) {
    case KV_CMD_WITHDRAW:
        if (l->state == S_LINK_WITHDRAWING) {
            kv_debug(NULL, "withdrawal from %s acknowledged in %lld ms", l->endpoint,
                     (long long)(kv_mono_ms() - l->withdraw_at));
            l->state = S_LINK_DONE;
        }
        break;
    case KV_CMD_DISCONNECT:
        /* the broker does not know us (it restarted, or dropped us) */
        if (l->state == S_LINK_ACTIVE) {
            if (may_reopen)
                s_link_open(l);
            else
                l->reopen = 1;
        } else {
            l->forgotten = 1;
            l->state = S_LINK_DONE;
        }
        break;
    default:                     /* HEARTBEAT: last_seen is all it does */
        break;
    }
}

/* While this worker is busy (or about to be): reads what waits on l and
 * returns every request unserved (s_bounce), so that no request ever
 * waits behind another gateway's.  Never replaces a socket. */
static void s_link_drain_busy(s_link_t *l)
{
    for (int i = 0; i < 64 && l->sock && l->state != S_LINK_DONE; i++) {
        kv_msg_t *m = kv_msg_recv(l->sock, 0);
        if (!m)
            return;
        kv_bus_frame_t f;
        if (s_link_heard(l, m, &f) == 0) {
            if (f.cmd == KV_CMD_REQUEST)
                s_bounce(l, &f);
            else
                s_link_control(l, &f, 0);
        }
        kv_msg_destroy(&m);
    }
}

/* Sends the READY each link is owed (it returned requests while busy). */
static void s_links_ready_again(s_links_t *ls)
{
    for (int i = 0; i < ls->n; i++) {
        s_link_t *l = &ls->l[i];
        if (!l->owe_ready)
            continue;
        l->owe_ready = 0;
        if (l->sock && l->state == S_LINK_ACTIVE && !l->reopen) {
            kv_msg_t *m = kv_bus_ready_info(s_def->name, s_ready_info);
            s_link_send(l, m);
            kv_msg_destroy(&m);
        }
    }
}

/* Handles one message m that arrived on l. */
static void s_link_on_msg(kv_ctx_t *ctx, s_links_t *ls, s_link_t *l, kv_msg_t *m)
{
    kv_bus_frame_t f;
    if (s_link_heard(l, m, &f) != 0)
        return;
    if (f.cmd != KV_CMD_REQUEST) {
        s_link_control(l, &f, 1);
        return;
    }
    /* also while withdrawing: it was sent before the broker saw WITHDRAW.
     * Another gateway may have sent us a request at the same moment:
     * return it now rather than make it wait for this one. */
    for (int i = 0; i < ls->n; i++)
        if (&ls->l[i] != l)
            s_link_drain_busy(&ls->l[i]);
    ls->busy = 1;
    s_handle_request(ctx, l->sock, &f);
    ls->busy = 0;
    s_links_ready_again(ls);
    kv_mem_idle(1);
}

/* kv_client_watch: the sockets of a worker's links, polled while one of
 * its handlers waits for another service. */
static int s_watch_fill(void *arg, void **socks, int max)
{
    s_links_t *ls = arg;
    int n = 0;
    for (int i = 0; i < ls->n && n < max; i++)
        if (ls->l[i].sock && ls->l[i].state != S_LINK_DONE)
            socks[n++] = ls->l[i].sock;
    return n;
}

/* kv_client_watch: sock has something while a handler waits: requests are
 * returned (s_bounce), the rest handled; heartbeats due are sent. */
static void s_watch_ready(void *arg, void *sock)
{
    s_links_t *ls = arg;
    int64_t now = kv_mono_ms();
    for (int i = 0; i < ls->n; i++) {
        s_link_t *l = &ls->l[i];
        if (l->sock == sock)
            s_link_drain_busy(l);
        if (l->sock && l->state != S_LINK_DONE && now >= l->heartbeat_at) {
            kv_msg_t *hb = kv_bus_heartbeat();
            s_link_send(l, hb);
            kv_msg_destroy(&hb);
            l->heartbeat_at = now + KV_HEARTBEAT_IVL_MS;
        }
    }
}

/* Timers of l: heartbeats, a silent broker. */
static void s_link_tick(s_link_t *l, int64_t now)
{
    if (l->state == S_LINK_DONE)
        return;
    if (now - l->last_seen > (int64_t)KV_HEARTBEAT_IVL_MS * KV_HEARTBEAT_LIVENESS) {
        if (l->state == S_LINK_WITHDRAWING) {
            l->state = S_LINK_DONE;       /* nobody there to acknowledge */
            return;
        }
        /* a fresh socket: ZeroMQ reconnects it in the background and the
         * READY queued on it goes out as soon as the broker is back.  Said
         * once per silence: a gateway that is down stays quiet in the log. */
        if (!l->silent_logged)
            kv_warn(NULL, "broker %s silent for %lld ms: re-registering until it answers",
                    l->endpoint, (long long)(now - l->last_seen));
        l->silent_logged = 1;
        s_link_open(l);
        return;
    }
    if (l->sock && now >= l->heartbeat_at) {
        kv_msg_t *hb = kv_bus_heartbeat();
        s_link_send(l, hb);
        kv_msg_destroy(&hb);
        l->heartbeat_at = now + KV_HEARTBEAT_IVL_MS;
    }
}

/* Follows the broker addresses: a link for each new one, and a drain for
 * each vanished one (WITHDRAW, served until acknowledged, then closed by
 * s_links_reap).  An address that comes back while its old link still
 * drains gets its new link once that one is gone. */
static void s_links_follow(s_links_t *ls, int64_t now)
{
    unsigned gen = kv_disc_gen(ls->disc);
    if (gen == ls->gen)
        return;
    kv_eps_t *eps = kv_malloc(sizeof *eps);
    ls->gen = kv_disc_snapshot(ls->disc, eps);
    for (int i = 0; i < ls->n; i++) {
        s_link_t *l = &ls->l[i];
        if (!l->retiring && !kv_eps_has(eps, l->endpoint)) {
            kv_info(NULL, "broker %s is no longer listed: withdrawing from it", l->endpoint);
            l->retiring = 1;
            s_link_withdraw(l, now);
        }
    }
    for (int k = 0; k < eps->n; k++) {
        int have = 0;
        for (int i = 0; i < ls->n && !have; i++)
            if (strcmp(ls->l[i].endpoint, eps->ep[k]) == 0) {
                have = 1;
                if (ls->l[i].retiring)
                    ls->gen = 0;          /* look again once it is closed */
            }
        if (have)
            continue;
        if (ls->n == S_LINKS_MAX) {
            kv_error(NULL, "more than %d brokers: %s ignored", S_LINKS_MAX, eps->ep[k]);
            continue;
        }
        s_link_t *l = &ls->l[ls->n++];
        memset(l, 0, sizeof *l);
        snprintf(l->endpoint, sizeof l->endpoint, "%s", eps->ep[k]);
        s_link_open(l);
    }
    free(eps);
}

/* Closes and forgets retiring links whose drain is over. */
static void s_links_reap(s_links_t *ls)
{
    for (int i = 0; i < ls->n;) {
        s_link_t *l = &ls->l[i];
        if (l->retiring && l->state == S_LINK_DONE) {
            s_link_close(l);
            ls->l[i] = ls->l[--ls->n];
            ls->gen = 0;
            continue;
        }
        i++;
    }
}

/* ---- worker threads ---------------------------------------------------------- */

static void s_thread_done(void)
{
    pthread_mutex_lock(&s_mu);
    s_live--;
    pthread_cond_broadcast(&s_cond);
    pthread_mutex_unlock(&s_mu);
}

/* The worker's loop over its links, until its drain is over. */
static void s_serve(kv_ctx_t *ctx, s_links_t *ls)
{
    int draining = 0;
    int withdraw_wait = KV_WITHDRAW_WAIT_MS < s_drain_ms / 2 ? KV_WITHDRAW_WAIT_MS : s_drain_ms / 2;
    for (;;) {
        int64_t now = kv_mono_ms();
        if (!draining && kv_service_stopping()) {
            draining = 1;
            for (int i = 0; i < ls->n; i++)
                s_link_withdraw(&ls->l[i], now);
        }
        if (!draining)
            s_links_follow(ls, now);
        int open = 0;
        for (int i = 0; i < ls->n; i++) {
            s_link_t *l = &ls->l[i];
            if (l->state == S_LINK_WITHDRAWING && now - l->withdraw_at > withdraw_wait) {
                kv_warn(NULL, "no acknowledgement of the withdrawal from %s within %d ms",
                        l->endpoint, withdraw_wait);
                l->state = S_LINK_DONE;
            }
            open += l->state != S_LINK_DONE;
        }
        if (draining && !open)
            break;
        if (!draining)
            s_links_reap(ls);
        int linked = 0;
        for (int i = 0; i < ls->n && !linked; i++)
            linked = ls->l[i].heard && !ls->l[i].silent_logged && ls->l[i].state == S_LINK_ACTIVE;
        if (linked != ls->linked) {
            atomic_fetch_add(&s_linked, linked ? 1 : -1);
            ls->linked = linked;
        }

        /* what is waiting already first; a poll only when nothing is */
        int got = 0;
        for (int i = 0; i < ls->n; i++) {
            s_link_t *l = &ls->l[i];
            if (l->reopen) {
                l->reopen = 0;
                if (l->state == S_LINK_ACTIVE)
                    s_link_open(l);
            }
            if (!l->sock || l->state == S_LINK_DONE)
                continue;
            kv_msg_t *m = kv_msg_recv(l->sock, 0);
            if (m) {
                s_link_on_msg(ctx, ls, l, m);
                kv_msg_destroy(&m);
                got = 1;
            }
        }
        now = kv_mono_ms();
        for (int i = 0; i < ls->n; i++)
            s_link_tick(&ls->l[i], now);
        if (got)
            continue;
        zmq_pollitem_t items[S_LINKS_MAX];
        int n = 0;
        for (int i = 0; i < ls->n; i++) {
            if (ls->l[i].sock && ls->l[i].state != S_LINK_DONE)
                items[n++] = (zmq_pollitem_t){ ls->l[i].sock, 0, ZMQ_POLLIN, 0 };
        }
        int timeout = draining ? 50 : 200;
        if (n == 0)
            kv_sleep_ms(timeout);
        else
            zmq_poll(items, n, timeout);
        kv_mem_idle(0);   /* a second without requests gives freed memory back */
    }
    if (ls->linked)
        atomic_fetch_sub(&s_linked, 1);
    ls->linked = 0;
}

static void *s_worker(void *arg)
{
    (void)arg;
    kv_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.db = kv_db_new(s_def->name, s_def->stmts);
    kv_db_add_stmts(ctx.db, kv_idem_stmts);
    ctx.idem = kv_idem_new();
    ctx.bus = kv_client_new(s_zmq);
    if (s_def->producer)
        ctx.pub = kv_pub_new(s_zmq);
    kv_db_ensure(ctx.db);   /* failure is retried on each request */
    if (s_def->thread_init)
        ctx.user = s_def->thread_init(&ctx);

    s_links_t *ls = kv_calloc(1, sizeof *ls);
    ls->disc = s_bus_disc;
    if (ctx.bus)
        kv_client_watch(ctx.bus, s_watch_fill, s_watch_ready, ls);
    s_serve(&ctx, ls);
    if (s_bounced)
        kv_info(NULL, "worker returned %ld request(s) unserved while busy with another "
                "gateway's", s_bounced);
    for (int i = 0; i < ls->n; i++)
        s_link_close(&ls->l[i]);
    free(ls);

    if (s_def->thread_fini)
        s_def->thread_fini(ctx.user);
    kv_pub_destroy(&ctx.pub);
    kv_client_destroy(&ctx.bus);
    kv_idem_destroy(&ctx.idem);
    kv_db_destroy(&ctx.db);
    s_thread_done();
    return NULL;
}

static void *s_background(void *arg)
{
    (void)arg;
    s_def->background(s_def->background_arg);
    s_thread_done();
    return NULL;
}

/* ---- process ------------------------------------------------------------------ */

/* Applies migrations, retrying while PostgreSQL is not reachable. */
static int s_migrate(void)
{
    static const kv_stmt_t none[] = { { NULL, NULL } };
    kv_db_t *db = kv_db_new(s_def->name, none);
    int rc = -1, wait_ms = 250;
    while (!kv_service_stopping()) {
        if (kv_db_ensure(db) == 0) {
            rc = kv_db_migrate(db);
            break;
        }
        kv_warn(NULL, "database not reachable, retrying in %d ms", wait_ms);
        kv_sleep_ms(wait_ms);
        if (wait_ms < 4000)
            wait_ms *= 2;
    }
    kv_db_destroy(&db);
    return rc;
}

/* ---- health -------------------------------------------------------------------- */

/* Writes KAIVOX_HEALTH_FILE (when set): "ok N/M" while N of the M worker
 * threads are registered with a broker that answers, else a reason.
 * Whole files only (a temporary file renamed). */
static void s_health_write(int nworkers)
{
    const char *path = kv_env_str("KAIVOX_HEALTH_FILE", NULL);
    if (!path)
        return;
    char tmp[1100], text[96];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int linked = atomic_load(&s_linked);
    if (linked > 0)
        snprintf(text, sizeof text, "ok %d/%d workers registered\n", linked, nworkers);
    else
        snprintf(text, sizeof text, "no worker registered with a gateway\n");
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    int ok = fputs(text, f) >= 0;
    ok = fclose(f) == 0 && ok;
    if (ok)
        (void)rename(tmp, path);
}

/* --healthcheck: 0 when the health file is at most S_HEALTH_MAX_AGE_S old
 * and says ok, else 1 (2: no file configured). */
static int s_healthcheck(void)
{
    const char *path = kv_env_str("KAIVOX_HEALTH_FILE", NULL);
    if (!path) {
        fprintf(stderr, "--healthcheck needs KAIVOX_HEALTH_FILE (the file the service writes)\n");
        return 2;
    }
    struct stat st;
    char text[96] = "";
    FILE *f = fopen(path, "r");
    if (!f || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "unhealthy: %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        return 1;
    }
    if (!fgets(text, sizeof text, f))
        text[0] = '\0';
    fclose(f);
    long age = (long)(time(NULL) - st.st_mtime);
    if (age > S_HEALTH_MAX_AGE_S) {
        fprintf(stderr, "unhealthy: %s is %ld s old (the process is not running or stuck)\n",
                path, age);
        return 1;
    }
    printf("%s", text);
    return strncmp(text, "ok", 2) == 0 ? 0 : 1;
}

/* Counts SIGINT/SIGTERM: the first starts the drain, the second ends it. */
static void *s_signal_thread(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig) != 0)
            continue;
        pthread_mutex_lock(&s_mu);
        s_signals++;
        int n = s_signals;
        atomic_store(&s_stop, 1);
        pthread_cond_broadcast(&s_cond);
        pthread_mutex_unlock(&s_mu);
        if (n == 1)
            kv_info(NULL, "signal %d: draining (at most %d ms)", sig, s_drain_ms);
        else
            kv_info(NULL, "signal %d during the drain: stopping now", sig);
    }
    return NULL;
}

static int s_usage(FILE *f, const char *name)
{
    fprintf(f,
            "usage: kaivox-%s [--print-ops | --healthcheck | --help]\n"
            "  Runs the KaiVox %s service.  Settings are KAIVOX_* environment\n"
            "  variables (see README.md).\n"
            "  --print-ops  prints \"SERVICE OP read|write\" for every operation served and exits.\n"
            "  --healthcheck  exits 0 when the running process's health file (KAIVOX_HEALTH_FILE)\n"
            "               is fresh and says ok (a container's HEALTHCHECK), 1 otherwise.\n",
            name, name);
    return f == stdout ? 0 : 2;
}

/* Registers the runtime's metrics: requests by operation and status,
 * their latency, deadline misses, live and busy workers, the process's
 * start time; and the database's (kv_db.h). */
static void s_metrics_init(const kv_service_def_t *def, int nworkers)
{
    s_m_requests = kv_counter_new("kaivox_bus_requests_total",
        "Bus requests this service answered, by operation and status code.", "op,status");
    s_m_latency = kv_histogram_new("kaivox_bus_request_duration_seconds",
        "Time this service took to answer a bus request, by operation.", "op",
        kv_metric_latency_buckets, kv_metric_latency_nbuckets);
    s_m_missed = kv_counter_new("kaivox_bus_deadline_missed_total",
        "Bus requests that arrived after their deadline and were answered 504 unrun.", "op");
    kv_metric_t *workers = kv_gauge_new("kaivox_workers",
        "Worker threads of this process: live (started) and busy (serving a request).", "state");
    kv_metric_set(workers, KV_LABELS("live"), nworkers);
    s_m_busy = kv_metric_series(workers, KV_LABELS("busy"));
    kv_metric_t *start = kv_gauge_new("kaivox_process_start_time_seconds",
        "When this process started, in seconds since the epoch.", NULL);
    kv_metric_set(start, NULL, (int64_t)time(NULL));
    /* every operation's series from the start, at zero: a rate() over a
     * deadline miss that never happened is 0, not absent */
    for (int i = 0; i < s_nops; i++) {
        kv_metric_series(s_m_missed, KV_LABELS(s_ops[i]->op->name));
        kv_metric_series(s_m_latency, KV_LABELS(s_ops[i]->op->name));
    }
    kv_db_metrics_init();
    (void)def;
}

int kv_service_run(const kv_service_def_t *def, int argc, char **argv)
{
    s_def = def;
    if (s_build_ops(def) != 0)
        return 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--healthcheck") == 0)
            return s_healthcheck();
        if (strcmp(argv[i], "--print-ops") == 0) {
            for (int k = 0; k < s_nops; k++)
                printf("%s %s %s\n", def->name, s_ops[k]->op->name,
                       (s_ops[k]->op->flags & KV_OPF_READ) ? "read" : "write");
            return 0;
        }
        return s_usage(strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0
                       ? stdout : stderr, def->name);
    }

    kv_mem_configure();
    kv_log_init(def->name);
    signal(SIGPIPE, SIG_IGN);
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t sig_thread;
    pthread_create(&sig_thread, NULL, s_signal_thread, &set);
    pthread_detach(sig_thread);

    int nworkers = (int)kv_env_int("KAIVOX_WORKERS", 4, 1, 256);
    s_drain_ms = (int)kv_env_int("KAIVOX_DRAIN_S", 10, 1, 3600) * 1000;
    if (s_test_hooks() != 0)
        return 2;
    if (kv_curve_init(def->name) != 0)
        return 2;
    s_bus_disc = kv_disc_get("KAIVOX_BUS_ENDPOINT", KV_BUS_ENDPOINT_DEFAULT);
    if (!s_bus_disc)
        return 2;
    kv_idem_configure();
    s_metrics_init(def, nworkers);
    int metrics_failed = 0;
    kv_metrics_http_t *metrics = kv_metrics_http_start(kv_env_str("KAIVOX_METRICS_ADDR", NULL),
                                                       &metrics_failed);
    if (metrics_failed)
        kv_error(NULL, "service %s runs without its metrics listener", def->name);
    s_ready_info = s_ready_info_new(nworkers);
    s_zmq = zmq_ctx_new();
    if (s_migrate() != 0) {
        if (kv_service_stopping()) {
            kv_metrics_http_stop(&metrics);
            return 0;
        }
        kv_error(NULL, "migrations failed; exiting");
        kv_metrics_http_stop(&metrics);
        return 1;
    }

    pthread_t *workers = kv_calloc((size_t)nworkers, sizeof(pthread_t));
    pthread_mutex_lock(&s_mu);
    s_live = nworkers + (def->background ? 1 : 0);
    pthread_mutex_unlock(&s_mu);
    for (int i = 0; i < nworkers; i++)
        pthread_create(&workers[i], NULL, s_worker, NULL);
    pthread_t bg;
    if (def->background)
        pthread_create(&bg, NULL, s_background, NULL);
    kv_info(NULL, "service %s ready with %d workers", def->name, nworkers);

    /* serve until the first signal, then drain until every thread ended,
     * the drain time is up, or a second signal came */
    pthread_mutex_lock(&s_mu);
    while (s_signals == 0) {
        struct timespec tick;
        clock_gettime(CLOCK_REALTIME, &tick);
        tick.tv_sec += 1;
        pthread_cond_timedwait(&s_cond, &s_mu, &tick);
        s_health_write(nworkers);
    }
    int64_t t0 = kv_mono_ms();
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += s_drain_ms / 1000;
    int rc = 0;
    while (s_live > 0 && s_signals < 2 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s_cond, &s_mu, &until);
    int left = s_live;
    pthread_mutex_unlock(&s_mu);
    if (left > 0) {
        kv_warn(NULL, "service %s: %d threads still busy after %lld ms: exiting without them",
                def->name, left, (long long)(kv_mono_ms() - t0));
        _exit(1);
    }
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i], NULL);
    if (def->background)
        pthread_join(bg, NULL);
    free(workers);
    zmq_ctx_term(s_zmq);   /* waits (KV_GOODBYE_LINGER_MS at most) for the goodbyes */
    kv_metrics_http_stop(&metrics);
    free(s_ready_info);
    free(s_ops);
    kv_info(NULL, "service %s drained and stopped in %lld ms", def->name,
            (long long)(kv_mono_ms() - t0));
    return 0;
}
