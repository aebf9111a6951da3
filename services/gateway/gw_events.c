/*
 * gw_events.c -- the event proxy: XSUB for producers, XPUB for consumers.
 *
 * Producers (scheduling, calls) connect PUB sockets to
 * KAIVOX_EVENTS_IN_ENDPOINT; consumers (webhooks) connect SUB sockets to
 * KAIVOX_EVENTS_OUT_ENDPOINT.  Nobody needs to know where the others run;
 * with several gateways every producer publishes to, and every consumer
 * subscribes at, each of them.
 *
 * Both sockets are CURVE servers (kv_curve.h): the XSUB admits the
 * services' keys, the XPUB the consumer's only, so nobody else can read
 * events.  zmq_proxy() would lose who sent a message, so the loop is ours:
 * an event is forwarded only when it is well formed (kv_event_parse: three
 * frames, the topic is the header's producer) and its topic is the role
 * the sender's key was admitted as (the ZAP User-Id): a service can
 * publish its own events and nobody else's.  Anything else is dropped and
 * counted in a warning at most every S_DROP_LOG_MS.  Subscriptions travel
 * the other way unchanged.  The thread ends when the zmq context is shut
 * down.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <zmq.h>

#include "gw_broker.h"
#include "kv_curve.h"
#include "kv_disc.h"
#include "kv_env.h"
#include "kv_log.h"

#define S_BATCH        1000     /* messages moved per side per turn */
#define S_DROP_LOG_MS  10000

typedef struct {
    void *xsub, *xpub;
    long dropped;               /* events refused since the last warning */
    int64_t drop_logged;        /* monotonic ms of that warning */
    char why[160];              /* the last refusal */
} s_proxy_t;

static s_proxy_t s_proxy;

/* May event m be forwarded?  1, or 0 with the reason in p->why. */
static int s_event_ok(s_proxy_t *p, const kv_msg_t *m)
{
    kv_event_hdr_t h;
    const char *payload;
    size_t plen, tlen = 0;
    int rc = kv_event_parse(m, &h, &payload, &plen);
    if (rc != KV_BUS_OK) {
        snprintf(p->why, sizeof p->why, "a malformed event (%d)", rc);
        return 0;
    }
    const char *topic = kv_msg_data(m, 0, &tlen);
    const char *user = kv_msg_user(m);
    if (kv_curve_secure() && (strlen(user) != tlen || memcmp(user, topic, tlen) != 0)) {
        snprintf(p->why, sizeof p->why, "a %.32s event %lld from a peer whose key is %.32s's",
                 h.producer, (long long)h.seq, user[0] ? user : "nobody");
        return 0;
    }
    return 1;
}

static void s_drop(s_proxy_t *p)
{
    p->dropped++;
    int64_t now = kv_mono_ms();
    if (!p->drop_logged || now - p->drop_logged >= S_DROP_LOG_MS) {
        kv_warn(NULL, "event proxy: %ld event(s) dropped; the last: %s", p->dropped, p->why);
        p->dropped = 0;
        p->drop_logged = now;
    }
}

static void *s_run(void *arg)
{
    s_proxy_t *p = arg;
    for (;;) {
        zmq_pollitem_t items[2] = {
            { p->xsub, 0, ZMQ_POLLIN, 0 },
            { p->xpub, 0, ZMQ_POLLIN, 0 },
        };
        if (zmq_poll(items, 2, -1) < 0) {
            if (zmq_errno() == ETERM)
                break;
            continue;
        }
        /* producers -> consumers: checked events only */
        for (int i = 0; i < S_BATCH && (items[0].revents & ZMQ_POLLIN); i++) {
            kv_msg_t *m = kv_msg_recv(p->xsub, 0);
            if (!m)
                break;
            if (s_event_ok(p, m))
                (void)kv_msg_send(m, p->xpub);   /* a full queue drops it: catch-up heals */
            else
                s_drop(p);
            kv_msg_destroy(&m);
        }
        /* consumers -> producers: (un)subscriptions */
        for (int i = 0; i < S_BATCH && (items[1].revents & ZMQ_POLLIN); i++) {
            kv_msg_t *m = kv_msg_recv(p->xpub, 0);
            if (!m)
                break;
            (void)kv_msg_send(m, p->xsub);
            kv_msg_destroy(&m);
        }
    }
    zmq_close(p->xsub);
    zmq_close(p->xpub);
    return NULL;
}

int gw_events_start(void *zmq_ctx)
{
    const char *in = kv_env_str("KAIVOX_EVENTS_IN_ENDPOINT", KV_EVENTS_IN_ENDPOINT_DEFAULT);
    const char *out = kv_env_str("KAIVOX_EVENTS_OUT_ENDPOINT", KV_EVENTS_OUT_ENDPOINT_DEFAULT);
    int hwm = 100000;
    /* ZMQ_MAXMSGSIZE (kv_msg_socket): a producer sending a frame over the
     * bus limit is dropped by ZeroMQ instead of being buffered */
    s_proxy.xsub = kv_msg_socket(zmq_ctx, ZMQ_XSUB);
    s_proxy.xpub = kv_msg_socket(zmq_ctx, ZMQ_XPUB);
    if (!s_proxy.xsub || !s_proxy.xpub ||
        zmq_setsockopt(s_proxy.xsub, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(s_proxy.xpub, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        kv_curve_server(s_proxy.xsub, KV_ZAP_EVENTS_IN) != 0 ||
        kv_curve_server(s_proxy.xpub, KV_ZAP_EVENTS_OUT) != 0 ||
        zmq_bind(s_proxy.xsub, in) != 0 || zmq_bind(s_proxy.xpub, out) != 0) {
        kv_error(NULL, "event proxy cannot bind %s / %s: %s", in, out, zmq_strerror(zmq_errno()));
        if (s_proxy.xsub)
            zmq_close(s_proxy.xsub);
        if (s_proxy.xpub)
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
