/*
 * kv_service.h -- the runtime every service process is built on.
 *
 * A service is a name, a table of operations, a table of prepared
 * statements and its migrations.  kv_service_run() applies the migrations,
 * starts KAIVOX_WORKERS worker threads (default 4) and serves until SIGINT
 * or SIGTERM, which drains it (see below).  Each worker thread owns one
 * PostgreSQL connection, one link to the broker (a DEALER connected to the
 * broker in the gateway, speaking the worker side of proto/bus.md: READY
 * with the operations it serves, heartbeats, a fresh socket when the broker
 * falls silent), one bus client for calling other services and one event
 * publisher.  A worker serves one request at a time; run more threads or
 * more processes to serve more at once (the broker hands each request to
 * an idle worker that serves its operation).
 *
 * A write whose request carries an Idempotency-Key runs inside one
 * transaction of the runtime's, with the key recorded in it (kv_idem.h):
 * handlers need not know, their own transactions nest as savepoints.
 *
 * Drain: on the first SIGINT/SIGTERM every worker sends WITHDRAW on each of
 * its broker links and keeps serving what arrives until the broker's
 * acknowledgement (after which nothing more can come on that link), then
 * says goodbye (DISCONNECT, sent with a linger so that it arrives) and
 * ends; background threads see kv_service_stopping() and end too.  The
 * process exits once all have ended, or after KAIVOX_DRAIN_S (default 10)
 * seconds, or at a second signal.
 */
#ifndef KV_SERVICE_H
#define KV_SERVICE_H

#include "kv_api.h"
#include "kv_db.h"
#include "kv_ops.h"

typedef struct kv_client kv_client_t;
typedef struct kv_pub kv_pub_t;
typedef struct kv_idem kv_idem_t;

/* Everything a handler may use besides its request: all owned by the
 * worker thread, valid for the call only. */
typedef struct {
    kv_db_t *db;             /* this thread's connection, already ensured */
    kv_client_t *bus;        /* calls to other services */
    kv_pub_t *pub;           /* event publisher (producers only, else NULL) */
    void *user;              /* what the service's thread_init returned */
    kv_idem_t *idem;         /* the runtime's Idempotency-Key state
                                (kv_idem.h); handlers do not touch it */
} kv_ctx_t;

/* A handler: fills rep (status preset to 500, body NULL).  Must not keep
 * pointers into req after returning.  A handler that leaves rep->body NULL
 * gets a 500 envelope. */
typedef void (*kv_op_fn)(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);

/* One line of a service's operation table.  The registry entry holds the
 * name and the flags (read-only, system: may run without a tenant). */
typedef struct {
    const kv_op_def_t *op;   /* KV_OP(SERVICES_LIST); NULL ends the table */
    kv_op_fn fn;
} kv_op_t;

typedef struct {
    const char *name;            /* "scheduling", "crm", ... */
    const kv_op_t *ops;          /* ends with {NULL, NULL}; every entry's
                                    registry service is this one (or NULL
                                    for a system operation) */
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

/* Runs the service; returns the process exit code.  argv may ask
 *   --print-ops  print "SERVICE OP read|write" for every operation served
 *                (the registry's flags) and exit 0
 *   --help       usage
 * Anything else is a usage error (exit 2). */
int kv_service_run(const kv_service_def_t *def, int argc, char **argv);

/* True once SIGINT/SIGTERM arrived: the process is draining. */
int kv_service_stopping(void);

/* The zmq context of the process (for background threads' own sockets). */
void *kv_service_zmq(void);

#endif
