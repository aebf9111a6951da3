/*
 * kv_client.h -- synchronous bus client: one service asking another.
 *
 * A kv_client_t holds a DEALER socket to every broker (every address of
 * KAIVOX_BUS_ENDPOINT: kv_disc.h), owned by one thread.  kv_client_call()
 * sends a REQUEST through one broker whose connection is up and waits for
 * the matching REPLY until the deadline; stale replies of earlier,
 * timed-out calls are discarded.  A read-only or idempotent call whose
 * broker died, or answered 503, is sent again through another broker.
 */
#ifndef KV_CLIENT_H
#define KV_CLIENT_H

#include <stdint.h>
#include <jansson.h>

#include "kv_bus.h"

typedef struct kv_client kv_client_t;

/* zmq_ctx is the process's zmq context.  Connects to every address of
 * KAIVOX_BUS_ENDPOINT (default tcp://127.0.0.1:7700) as a CURVE client
 * (kv_curve_init must have succeeded).  NULL when the setting is malformed
 * or the keys are not loaded (logged).  Caller owns the result. */
kv_client_t *kv_client_new(void *zmq_ctx);
void kv_client_destroy(kv_client_t **pc);

/* Calls service.op with the tenant context and request id of parent (may
 * be NULL for a system call: then tenant 0 and a fresh id) and the bus
 * body {"params": params, "query": {}, "body": body} (params, body
 * borrowed, either may be NULL).  Waits at most timeout_ms, and never past
 * parent's deadline.  Returns the reply status (KV_ST_*, 504 on timeout,
 * 503 when the broker cannot be reached) and sets *out to the parsed reply
 * envelope (caller owns it; NULL when none).  When the broker holding the
 * call goes away, a read-only or idempotent operation is sent again
 * through another broker; any other gets 502 (it may or may not have been
 * applied). */
int kv_client_call(kv_client_t *c, const kv_hdr_t *parent, const char *service,
                   const char *op, json_t *params, json_t *body,
                   int timeout_ms, json_t **out);

/* While a call waits for its reply, the sockets fill(arg, socks, max)
 * returns are polled too, and on_ready(arg, sock) runs for each one that
 * has something to read: a worker thread returns the requests another
 * gateway sends it meanwhile (kv_service.c), instead of letting them wait
 * behind this one.  on_ready must not block, nor close a socket. */
typedef int (*kv_client_fill_fn)(void *arg, void **socks, int max);
typedef void (*kv_client_ready_fn)(void *arg, void *sock);
void kv_client_watch(kv_client_t *c, kv_client_fill_fn fill, kv_client_ready_fn on_ready,
                     void *arg);

/* As kv_client_call for a system operation with tenant_id given
 * explicitly (0 for none). */
int kv_client_call_tenant(kv_client_t *c, const char *req_id, int64_t tenant_id,
                          const char *service, const char *op,
                          json_t *params, json_t *body, int timeout_ms,
                          json_t **out);

#endif
