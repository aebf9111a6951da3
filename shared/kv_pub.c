/*
 * kv_pub.c -- a producer's PUB socket towards the gateways' event proxies.
 *
 * One PUB socket, a CURVE client, connected to every address of
 * KAIVOX_EVENTS_IN_ENDPOINT and following it as it changes (kv_disc.h):
 * each event goes to every gateway, so it still reaches the webhook
 * service while one gateway is down (the intake ignores the copies).
 *
 * PUB never blocks: when a proxy is unreachable or slow, messages are
 * dropped at the high-water mark.  That is acceptable by design: every
 * event is in the producer's outbox first, and consumers catch up from
 * there.
 * The highest sequence handed to the socket is a gauge
 * (kaivox_outbox_published_seq{producer}): the consumers' cursors
 * (kaivox_intake_cursor_seq) tell their lag from it.
 */
#include <string.h>
#include <zmq.h>

#include "kv_pub.h"
#include "kv_curve.h"
#include "kv_disc.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_metrics.h"

struct kv_pub {
    void *sock;      /* ZMQ_PUB */
    kv_disc_t *disc; /* where the event proxies are */
    unsigned gen;    /* generation of what is connected */
    kv_eps_t eps;    /* the addresses it is connected to */
    kv_metric_t *published;   /* kaivox_outbox_published_seq{producer} */
    kv_series_t *failed;      /* kaivox_events_publish_failures_total */
};

static void s_follow(kv_pub_t *p)
{
    kv_disc_follow(p->disc, p->sock, &p->eps, &p->gen);
}

kv_pub_t *kv_pub_new(void *zmq_ctx)
{
    kv_disc_t *disc = kv_disc_get("KAIVOX_EVENTS_IN_ENDPOINT", KV_EVENTS_IN_ENDPOINT_DEFAULT);
    if (!disc)
        return NULL;
    kv_pub_t *p = kv_calloc(1, sizeof *p);
    p->disc = disc;
    p->sock = kv_msg_socket(zmq_ctx, ZMQ_PUB);
    /* at shutdown, events published just before still get out (the
     * process waits at most this long for them in zmq_ctx_term) */
    int linger = KV_GOODBYE_LINGER_MS, hwm = 10000;
    if (!p->sock || zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(p->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        kv_curve_client(p->sock) != 0) {
        kv_error(NULL, "cannot make the event publisher: %s", zmq_strerror(zmq_errno()));
        if (p->sock)
            zmq_close(p->sock);
        free(p);
        return NULL;
    }
    /* the same families for every thread's publisher */
    p->published = kv_gauge_new("kaivox_outbox_published_seq",
        "Highest outbox sequence this process published, by producer.", "producer");
    p->failed = kv_metric_series(kv_counter_new("kaivox_events_publish_failures_total",
        "Events whose publication failed (consumers catch up from the outbox).", NULL), NULL);
    s_follow(p);
    return p;
}

void kv_pub_destroy(kv_pub_t **pp)
{
    if (!pp || !*pp)
        return;
    zmq_close((*pp)->sock);
    free(*pp);
    *pp = NULL;
}

int kv_pub_send(kv_pub_t *p, const kv_event_hdr_t *h, const char *payload, size_t len)
{
    if (!p)
        return -1;
    s_follow(p);
    kv_msg_t *m = kv_event_msg(h, payload, len);
    int rc = kv_msg_send(m, p->sock);
    kv_msg_destroy(&m);
    if (rc == 0)
        kv_series_max(kv_metric_series(p->published, KV_LABELS(h->producer)), h->seq);
    else
        kv_series_add(p->failed, 1);
    return rc;
}
