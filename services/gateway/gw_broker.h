/*
 * gw_broker.h -- the bus broker inside the gateway (Majordomo-style).
 *
 * One thread owns a ROUTER socket bound to KAIVOX_BUS_ENDPOINT.  Service
 * workers connect to it, announce READY with their service name and
 * heartbeat; the broker hands each request to an idle worker of the service
 * (least recently used first), queues it while all are busy, answers 503 at
 * once when the service has no live worker, and 504 when the deadline
 * passes.  Workers silent for KV_HEARTBEAT_LIVENESS intervals are dropped.
 * Services calling services use the same socket as clients.
 *
 * HTTP threads submit requests with gw_broker_submit(); the broker thread
 * calls the callback exactly once per submitted request.
 */
#ifndef GW_BROKER_H
#define GW_BROKER_H

#include <stddef.h>
#include "kv_bus.h"

typedef struct gw_broker gw_broker_t;

/* Called in the broker thread, exactly once per submit, with the reply
 * status and envelope body (borrowed: copy what you keep).  For failures
 * the broker makes (503, 504) body is a complete error envelope too. */
typedef void (*gw_reply_fn)(void *arg, int status, const char *body, size_t len);

/* Binds KAIVOX_BUS_ENDPOINT; NULL on failure (logged).  Caller owns it. */
gw_broker_t *gw_broker_new(void *zmq_ctx);
/* Starts the broker thread.  0 or -1. */
int gw_broker_start(gw_broker_t *b);
/* Stops the thread (answering 503 to everything pending) and frees. */
void gw_broker_destroy(gw_broker_t **pb);

/* Thread-safe.  Queues a request for service with header h (op, id,
 * tenant, deadline all set by the caller) and body (JSON text, copied).
 * cb(arg, ...) runs later in the broker thread, exactly once.  Returns 0,
 * or -1 when the broker is shutting down (cb is then not called). */
int gw_broker_submit(gw_broker_t *b, const char *service, const kv_hdr_t *h,
                     const char *body, size_t len, gw_reply_fn cb, void *arg);

/* Thread-safe.  Number of live workers of service right now. */
int gw_broker_workers(gw_broker_t *b, const char *service);

/* The XSUB/XPUB event proxy (KAIVOX_EVENTS_IN_ENDPOINT producers connect
 * to, KAIVOX_EVENTS_OUT_ENDPOINT consumers connect to), on its own thread.
 * 0 or -1. */
int gw_events_start(void *zmq_ctx);

#endif
