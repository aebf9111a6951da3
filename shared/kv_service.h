/*
 * kv_service.h -- the runtime every service process is built on.
 *
 * A service is a name, a table of operations, a table of prepared
 * statements and its migrations.  kv_service_run() applies the migrations,
 * starts KAIVOX_WORKERS worker threads (default 4) and blocks until SIGINT
 * or SIGTERM.  Each worker thread owns one PostgreSQL connection, one bus
 * socket (a DEALER connected to the broker in the gateway, speaking the
 * worker side of proto/bus.md: READY, heartbeats, reconnect with backoff),
 * one bus client for calling other services and one event publisher.  A
 * worker serves one request at a time; run more threads or more processes
 * to serve more at once (the broker hands each request to an idle worker).
 */
#ifndef KV_SERVICE_H
#define KV_SERVICE_H

#include "kv_api.h"
#include "kv_db.h"

typedef struct kv_client kv_client_t;
typedef struct kv_pub kv_pub_t;

/* Everything a handler may use besides its request: all owned by the
 * worker thread, valid for the call only. */
typedef struct {
    kv_db_t *db;             /* this thread's connection, already ensured */
    kv_client_t *bus;        /* calls to other services */
    kv_pub_t *pub;           /* event publisher (producers only, else NULL) */
    void *user;              /* what the service's thread_init returned */
} kv_ctx_t;

/* A handler: fills rep (status preset to 500, body NULL).  Must not keep
 * pointers into req after returning.  A handler that leaves rep->body NULL
 * gets a 500 envelope. */
typedef void (*kv_op_fn)(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);

typedef struct {
    const char *name;        /* operation name, e.g. "services.list" */
    kv_op_fn fn;
    int system;              /* 1: may run without tenant (tenant_id 0);
                                0: refused with 400 when tenant_id is 0 */
} kv_op_t;

typedef struct {
    const char *name;            /* "scheduling", "crm", ... */
    const kv_op_t *ops;          /* ends with {NULL, NULL, 0} */
    const kv_stmt_t *stmts;      /* ends with {NULL, NULL} */
    int producer;                /* 1: has an outbox; answers events.since
                                    and publishes events (kv_outbox.h) */
    /* Optional per-thread state, created in the worker thread after the
     * database connection is up; destroyed at thread exit. */
    void *(*thread_init)(kv_ctx_t *ctx);
    void (*thread_fini)(void *user);
    /* Optional extra thread(s) the service runs beside its workers (the
     * webhook deliverer, the event intake).  Started after migrations; they
     * must return soon after kv_service_stopping() becomes true. */
    void (*background)(void *arg);
    void *background_arg;
} kv_service_def_t;

/* Runs the service; returns the process exit code. */
int kv_service_run(const kv_service_def_t *def);

/* True once SIGINT/SIGTERM arrived. */
int kv_service_stopping(void);

/* The zmq context of the process (for background threads' own sockets). */
void *kv_service_zmq(void);

#endif
