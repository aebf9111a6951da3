/*
 * kv_service.c -- the runtime under every service process.
 *
 * main() of a service fills a kv_service_def_t and calls kv_service_run().
 * That applies the service's migrations (retrying until PostgreSQL
 * answers), then starts KAIVOX_WORKERS worker threads and the optional
 * background thread, and waits for SIGINT/SIGTERM.  A worker thread is the
 * worker side of proto/bus.md (the zguide's Paranoid Pirate): a DEALER
 * socket to the broker, READY on connect, a heartbeat every second, and a
 * fresh socket with exponential backoff when the broker has been silent for
 * KV_HEARTBEAT_LIVENESS intervals.  Requests are dispatched to the ops
 * table by name; the handler's status and envelope go back as the REPLY.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "kv_service.h"
#include "kv_client.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_outbox.h"
#include "kv_pub.h"

static atomic_int s_stop;
static void *s_zmq;
static const kv_service_def_t *s_def;

int kv_service_stopping(void)
{
    return atomic_load(&s_stop);
}

void *kv_service_zmq(void)
{
    return s_zmq;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* A new DEALER connected to the broker, READY already queued. */
static void *s_worker_socket(void)
{
    const char *ep = kv_env_str("KAIVOX_BUS_ENDPOINT", "tcp://127.0.0.1:7700");
    void *sock = zmq_socket(s_zmq, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(sock, ep) != 0) {
        kv_error(NULL, "cannot connect worker to %s: %s", ep, zmq_strerror(zmq_errno()));
        zmq_close(sock);
        return NULL;
    }
    kv_msg_t *m = kv_bus_ready(s_def->name);
    kv_msg_send(m, sock);
    kv_msg_destroy(&m);
    return sock;
}

static const kv_op_t s_builtin_since = { KV_OP_EVENTS_SINCE, kv_outbox_since_op, 1 };

static void s_ping(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *d = json_object();
    json_object_set_new(d, "service", json_string(s_def->name));
    kv_reply_ok(rep, KV_ST_OK, d, NULL);
}
static const kv_op_t s_builtin_ping = { KV_OP_PING, s_ping, 1 };

static const kv_op_t *s_find_op(const char *name)
{
    for (const kv_op_t *op = s_def->ops; op && op->name; op++)
        if (strcmp(op->name, name) == 0)
            return op;
    if (strcmp(name, KV_OP_PING) == 0)
        return &s_builtin_ping;
    if (s_def->producer && strcmp(name, KV_OP_EVENTS_SINCE) == 0)
        return &s_builtin_since;
    return NULL;
}

/* Runs one request and fills rep.  Never fails: every problem becomes an
 * error envelope. */
static void s_dispatch(kv_ctx_t *ctx, const kv_hdr_t *h, const char *body, size_t body_len,
                       kv_rep_t *rep)
{
    rep->status = KV_ST_INTERNAL;
    rep->body = NULL;
    json_t *bus = NULL;

    const kv_op_t *op = s_find_op(h->op);
    if (!op) {
        char msg[128];
        snprintf(msg, sizeof msg, "Unknown operation '%s' for service %s.", h->op, s_def->name);
        kv_reply_error(rep, KV_ST_UNKNOWN_OP, msg, NULL);
        goto out;
    }
    if (!op->system && h->tenant_id <= 0) {
        kv_reply_error(rep, KV_ST_BAD_REQUEST, "This operation needs a tenant context.", NULL);
        goto out;
    }
    if (h->deadline_ms > 0 && kv_now_ms() > h->deadline_ms) {
        kv_reply_error(rep, KV_ST_TIMEOUT, "The request timed out.", NULL);
        goto out;
    }
    bus = body_len ? json_loadb(body, body_len, 0, NULL) : json_object();
    json_t *params = json_object_get(bus, "params");
    json_t *query = json_object_get(bus, "query");
    if (!json_is_object(bus) || (params && !json_is_object(params)) ||
        (query && !json_is_object(query))) {
        kv_reply_error(rep, KV_ST_BAD_REQUEST, "Malformed bus request body.", NULL);
        goto out;
    }
    if (!params)
        json_object_set_new(bus, "params", params = json_object());
    if (!query)
        json_object_set_new(bus, "query", query = json_object());
    json_t *jb = json_object_get(bus, "body");
    kv_req_t req = { h, params, query, json_is_null(jb) ? NULL : jb };

    if (kv_db_ensure(ctx->db) != 0) {
        kv_reply_unavailable(rep);
        goto out;
    }
    op->fn(ctx, &req, rep);
    kv_db_rollback(ctx->db, h->id);   /* no-op unless the handler forgot one */
    if (!rep->body)
        kv_reply_internal(rep);
out:
    json_decref(bus);
}

static void s_handle_request(kv_ctx_t *ctx, void *sock, const kv_bus_frame_t *f)
{
    kv_hdr_t h;
    int rc = kv_hdr_decode(f->header, f->header_len, 0, &h);
    kv_rep_t rep = { KV_ST_INTERNAL, NULL };
    if (rc == KV_BUS_EVERSION && h.id[0]) {
        kv_reply_error(&rep, KV_ST_VERSION_MISMATCH, "Unsupported bus protocol version.", NULL);
    } else if (rc != KV_BUS_OK) {
        /* no usable request id: nothing to correlate a reply with */
        kv_warn(NULL, "dropping request with a malformed header (%d)", rc);
        return;
    } else {
        int64_t t0 = kv_mono_ms();
        s_dispatch(ctx, &h, f->body, f->body_len, &rep);
        kv_log(rep.status >= 500 ? KV_LOG_WARN : KV_LOG_DEBUG, h.id,
               "op %s tenant %lld status %d in %lld ms", h.op, (long long)h.tenant_id,
               rep.status, (long long)(kv_mono_ms() - t0));
    }
    kv_hdr_t rh;
    memset(&rh, 0, sizeof rh);
    rh.v = KV_PROTO_VERSION;
    memcpy(rh.id, h.id, sizeof rh.id);
    rh.status = rep.status;
    char *htext = kv_hdr_encode(&rh, 1);
    char *btext = json_dumps(rep.body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!btext)
        abort();
    kv_msg_t *m = kv_bus_envelope(KV_CMD_REPLY, f->retaddr, f->retaddr_len,
                                  htext, strlen(htext), btext, strlen(btext));
    if (kv_msg_send(m, sock) != 0)
        kv_warn(h.id, "could not send reply: %s", zmq_strerror(zmq_errno()));
    kv_msg_destroy(&m);
    free(htext);
    free(btext);
    json_decref(rep.body);
}

static void *s_worker(void *arg)
{
    (void)arg;
    kv_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.db = kv_db_new(s_def->name, s_def->stmts);
    ctx.bus = kv_client_new(s_zmq);
    if (s_def->producer)
        ctx.pub = kv_pub_new(s_zmq);
    kv_db_ensure(ctx.db);   /* failure is retried on each request */
    if (s_def->thread_init)
        ctx.user = s_def->thread_init(&ctx);

    void *sock = s_worker_socket();
    int64_t last_seen = kv_mono_ms();
    int64_t heartbeat_at = last_seen + KV_HEARTBEAT_IVL_MS;
    int backoff = KV_RECONNECT_MIN_MS;

    while (!kv_service_stopping()) {
        if (!sock) {
            s_sleep_ms(backoff);
            sock = s_worker_socket();
            last_seen = kv_mono_ms();
            continue;
        }
        kv_msg_t *m = kv_msg_recv(sock, 200);
        int64_t now = kv_mono_ms();
        if (m) {
            kv_bus_frame_t f;
            int rc = kv_bus_parse(m, KV_BUS_AT_WORKER, &f);
            if (rc != KV_BUS_OK) {
                kv_warn(NULL, "dropping malformed bus message (%d)", rc);
            } else {
                last_seen = now;
                backoff = KV_RECONNECT_MIN_MS;
                if (f.cmd == KV_CMD_REQUEST) {
                    s_handle_request(&ctx, sock, &f);
                } else if (f.cmd == KV_CMD_DISCONNECT) {
                    zmq_close(sock);
                    sock = s_worker_socket();
                    last_seen = kv_mono_ms();
                }
            }
            kv_msg_destroy(&m);
        } else if (now - last_seen > (int64_t)KV_HEARTBEAT_IVL_MS * KV_HEARTBEAT_LIVENESS) {
            kv_warn(NULL, "broker silent for %lld ms, reconnecting in %d ms",
                    (long long)(now - last_seen), backoff);
            zmq_close(sock);
            sock = NULL;
            if (backoff < KV_RECONNECT_MAX_MS)
                backoff *= 2;
            continue;
        }
        now = kv_mono_ms();
        if (sock && now >= heartbeat_at) {
            kv_msg_t *hb = kv_bus_heartbeat();
            kv_msg_send(hb, sock);
            kv_msg_destroy(&hb);
            heartbeat_at = now + KV_HEARTBEAT_IVL_MS;
        }
    }
    if (sock) {
        kv_msg_t *bye = kv_bus_disconnect();
        kv_msg_send(bye, sock);
        kv_msg_destroy(&bye);
        zmq_close(sock);
    }
    if (s_def->thread_fini)
        s_def->thread_fini(ctx.user);
    kv_pub_destroy(&ctx.pub);
    kv_client_destroy(&ctx.bus);
    kv_db_destroy(&ctx.db);
    return NULL;
}

static void *s_background(void *arg)
{
    (void)arg;
    s_def->background(s_def->background_arg);
    return NULL;
}

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
        s_sleep_ms(wait_ms);
        if (wait_ms < 4000)
            wait_ms *= 2;
    }
    kv_db_destroy(&db);
    return rc;
}

/* Sets s_stop when SIGINT or SIGTERM arrives. */
static void *s_signal_thread(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    sigwait(set, &sig);
    kv_info(NULL, "signal %d: stopping", sig);
    atomic_store(&s_stop, 1);
    return NULL;
}

int kv_service_run(const kv_service_def_t *def)
{
    s_def = def;
    kv_log_init(def->name);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t sig_thread;
    pthread_create(&sig_thread, NULL, s_signal_thread, &set);

    int nworkers = (int)kv_env_int("KAIVOX_WORKERS", 4, 1, 256);
    s_zmq = zmq_ctx_new();
    if (s_migrate() != 0) {
        if (kv_service_stopping())
            return 0;
        kv_error(NULL, "migrations failed; exiting");
        return 1;
    }

    pthread_t *workers = kv_calloc((size_t)nworkers, sizeof(pthread_t));
    for (int i = 0; i < nworkers; i++)
        pthread_create(&workers[i], NULL, s_worker, NULL);
    pthread_t bg;
    if (def->background)
        pthread_create(&bg, NULL, s_background, NULL);
    kv_info(NULL, "service %s ready with %d workers", def->name, nworkers);

    pthread_join(sig_thread, NULL);
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i], NULL);
    if (def->background)
        pthread_join(bg, NULL);
    free(workers);
    zmq_ctx_term(s_zmq);
    kv_info(NULL, "service %s stopped", def->name);
    return 0;
}
