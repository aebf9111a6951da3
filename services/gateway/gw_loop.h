/*
 * gw_loop.h -- the gateway's event loop: the public HTTP listener, the bus
 * broker and the key lookups' answers, served from one thread.
 *
 * One epoll set waits on the listening socket, libmicrohttpd's epoll
 * descriptor, the broker's ROUTER socket, the eventfds other threads poke
 * (admin submissions, key lookup answers, console jobs) and a signalfd for SIGINT and
 * SIGTERM; while at most one request is held it polls before it sleeps
 * (gw_poll.h).  A request is read, authenticated, routed, handed to a worker
 * and answered without ever changing threads inside the gateway: the only
 * wake-ups on its way are the ones ZeroMQ and the kernel need.
 *
 * SIGINT/SIGTERM start a drain (KAIVOX_DRAIN_S): /readyz answers 503 and
 * responses close their connections, so load balancers and clients move to
 * another gateway; the listener keeps accepting until no new connection
 * came for a second (at most half the drain time), then closes; the loop
 * returns once every request in flight is answered, or when the drain time
 * is up.  A second signal ends the drain at once.
 */
#ifndef GW_LOOP_H
#define GW_LOOP_H

#include "gw_auth.h"
#include "gw_broker.h"
#include "gw_http.h"
#include "gw_work.h"

typedef struct {
    gw_server_t *http;       /* the public listener, external (borrowed) */
    gw_broker_t *broker;     /* borrowed */
    gw_auth_t *auth;         /* borrowed */
    gw_work_t *work;         /* borrowed: the console workers */
    int drain_ms;            /* KAIVOX_DRAIN_S in milliseconds */
    int poll_us;             /* KAIVOX_GATEWAY_POLL_US: the poll window's ceiling */
    const char *poll_lock;   /* KAIVOX_GATEWAY_POLL_LOCK: one poller per host */
} gw_loop_cfg_t;

/* Runs the loop on the calling thread until a signal's drain ends.
 * SIGINT and SIGTERM must be blocked in every thread of the process before
 * any thread starts.  Returns 0, or -1 when the loop could not start. */
int gw_loop_run(const gw_loop_cfg_t *cfg);

#endif
