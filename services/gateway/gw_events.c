/*
 * gw_events.c -- the event proxy: XSUB for producers, XPUB for consumers.
 *
 * Producers (scheduling, calls) connect PUB sockets to
 * KAIVOX_EVENTS_IN_ENDPOINT; consumers (webhooks) connect SUB sockets to
 * KAIVOX_EVENTS_OUT_ENDPOINT.  Nobody needs to know where the others run.
 * The proxy thread ends when the zmq context is terminated.
 */
#include <pthread.h>
#include <zmq.h>

#include "gw_broker.h"
#include "kv_env.h"
#include "kv_log.h"

typedef struct {
    void *xsub, *xpub;
} s_proxy_t;

static s_proxy_t s_proxy;

static void *s_run(void *arg)
{
    s_proxy_t *p = arg;
    zmq_proxy(p->xsub, p->xpub, NULL);   /* returns on context termination */
    zmq_close(p->xsub);
    zmq_close(p->xpub);
    return NULL;
}

int gw_events_start(void *zmq_ctx)
{
    const char *in = kv_env_str("KAIVOX_EVENTS_IN_ENDPOINT", "tcp://127.0.0.1:7701");
    const char *out = kv_env_str("KAIVOX_EVENTS_OUT_ENDPOINT", "tcp://127.0.0.1:7702");
    int hwm = 100000;
    /* ZMQ_MAXMSGSIZE: a producer sending a frame over the bus limit is
     * dropped by ZeroMQ instead of being buffered */
    s_proxy.xsub = kv_msg_socket(zmq_ctx, ZMQ_XSUB);
    s_proxy.xpub = kv_msg_socket(zmq_ctx, ZMQ_XPUB);
    zmq_setsockopt(s_proxy.xsub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s_proxy.xpub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (zmq_bind(s_proxy.xsub, in) != 0 || zmq_bind(s_proxy.xpub, out) != 0) {
        kv_error(NULL, "event proxy cannot bind %s / %s: %s", in, out, zmq_strerror(zmq_errno()));
        zmq_close(s_proxy.xsub);
        zmq_close(s_proxy.xpub);
        return -1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, s_run, &s_proxy) != 0)
        return -1;
    pthread_detach(t);
    kv_info(NULL, "event proxy %s -> %s", in, out);
    return 0;
}
