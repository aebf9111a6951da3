/*
 * gw_broker.h -- the bus broker inside the gateway (Majordomo-style).
 *
 * The broker owns a ROUTER socket bound to KAIVOX_BUS_ENDPOINT.  Service
 * workers connect to it, announce READY with their service name, instance
 * and the operations they serve, and heartbeat; the broker hands each
 * request to an idle worker of the service that serves its operation
 * (least recently used first), queues it while all are busy, answers 503 at
 * once when the service has no live worker and 501 when none serves the
 * operation, and 504 when the deadline passes.  A worker that dies holding
 * a request costs only that request, answered within a second (a read is
 * handed to another worker); a worker that withdraws (drains) gets no more
 * work.  Services calling services use the same socket as clients.
 * proto/bus.md is the specification.
 *
 * The broker has no thread of its own: it is driven by the gateway's event
 * loop (gw_loop.c), which polls its ROUTER socket and its wake-up eventfd
 * and calls gw_broker_tick() for its timers.  Everything below runs on that
 * loop thread, except gw_broker_submit() and gw_broker_service_state(),
 * which any thread may call (the admin listener's thread does).  Reply
 * callbacks always run on the loop thread.
 */
#ifndef GW_BROKER_H
#define GW_BROKER_H

#include <stddef.h>
#include <stdint.h>
#include "kv_bus.h"

typedef struct gw_broker gw_broker_t;

/* Called on the loop thread, exactly once per accepted submit, with the
 * reply status and envelope body (borrowed: copy what you keep), and the
 * worker's reply header rh (borrowed; its "replayed" flag, say) or NULL
 * when the broker answered by itself.  For failures the broker makes (503,
 * 504) body is a complete error envelope too.  When gw_broker_submit() is
 * called on the loop thread the callback may run before
 * gw_broker_submit() returns. */
typedef void (*gw_reply_fn)(void *arg, int status, const char *body, size_t len,
                            const kv_hdr_t *rh);

/* Binds KAIVOX_BUS_ENDPOINT; NULL on failure (logged).  Caller owns it.
 * The thread that calls this is the loop thread. */
gw_broker_t *gw_broker_new(void *zmq_ctx);
/* Closes the gate (later submits fail), answers 503 to everything pending
 * or queued (callbacks run here: call it on the loop thread), frees. */
void gw_broker_destroy(gw_broker_t **pb);

/* ---- loop integration (loop thread only) ---------------------------- */

/* The ROUTER socket, to poll for ZMQ_POLLIN. */
void *gw_broker_socket(gw_broker_t *b);
/* An eventfd other threads poke after a submit, to poll for POLLIN. */
int gw_broker_wake_fd(gw_broker_t *b);
/* Handles what arrived on the ROUTER (at most a bounded batch). */
void gw_broker_on_socket(gw_broker_t *b);
/* Takes the requests other threads submitted. */
void gw_broker_on_wake(gw_broker_t *b);
/* Runs the timers that are due (deadlines, dead workers, probes,
 * heartbeats) and returns the milliseconds until the next one. */
int gw_broker_tick(gw_broker_t *b);
/* The monotonic ms by which gw_broker_tick must run next.  Handling a
 * message or a submit may bring it forward (a new request's deadline, a
 * worker that became busy and must be probed), so read it again after
 * them rather than keeping tick's answer. */
int64_t gw_broker_due(const gw_broker_t *b);
/* Requests accepted and not answered yet. */
int gw_broker_pending(const gw_broker_t *b);
/* How long after a write's answer the loop does not poll: the work a write
 * sets off after it (its event, the webhooks' fan-out) needs the CPU. */
#define GW_BROKER_WRITE_QUIET_MS 10
/* True when the broker holds no request, or one read, held by a worker,
 * whose operation has lately answered within max_us (or was not measured
 * yet), and answered no write for GW_BROKER_WRITE_QUIET_MS: the loop's cue
 * that polling for the answer is worth a vCPU (gw_poll.h). */
int gw_broker_quick(const gw_broker_t *b, int64_t max_us);

/* ---- any thread ----------------------------------------------------- */

/* Queues a request for service with header h (op, id, tenant, deadline all
 * set by the caller) and body (JSON text, copied).  cb(arg, ...) runs on
 * the loop thread exactly once.  Returns 0, or -1 when the broker is
 * closed (cb is then not called). */
int gw_broker_submit(gw_broker_t *b, const char *service, const kv_hdr_t *h,
                     const char *body, size_t len, gw_reply_fn cb, void *arg);

/* What /readyz reports of one service. */
typedef struct {
    int workers;             /* workers that can take work: registered, not
                                withdrawn, not busy past their deadline */
    int joining;             /* instances whose announced workers have not
                                all registered yet (at most KV_JOIN_MAX_MS) */
    int live;                /* registered workers, withdrawn ones included (metrics) */
    int busy;                /* of those, holding a request (metrics) */
    int queued;              /* requests waiting for a worker (metrics) */
} gw_svc_state_t;

/* Fills *st for service (zeros for a service never seen).  Returns 1 while
 * the broker is settling (the first KV_SETTLE_MS after it started, when the
 * workers of a previous gateway may not be back yet), else 0.  The state is
 * refreshed on every change and timer tick of the loop thread. */
int gw_broker_service_state(gw_broker_t *b, const char *service, gw_svc_state_t *st);

/* The XSUB/XPUB event proxy (KAIVOX_EVENTS_IN_ENDPOINT producers connect
 * to, KAIVOX_EVENTS_OUT_ENDPOINT consumers connect to), on its own thread.
 * 0 or -1. */
int gw_events_start(void *zmq_ctx);

#endif
