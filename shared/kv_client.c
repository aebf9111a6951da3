/*
 * kv_client.c -- synchronous calls from one service to another over the bus.
 *
 * The client is a DEALER socket connected to the broker.  A call sends
 * [tag][REQUEST][service][header][body] and waits for the REPLY carrying the
 * same per-call correlation id ("cid" in the header, echoed by the broker).
 * The request id is the parent's (for logs and tracing), so it cannot tell
 * two calls of one request apart; the cid can: it is this client's own
 * counter, so a late reply to an earlier call that timed out is read and
 * dropped, never taken for the current call's.  After a timeout the socket
 * is kept: ZeroMQ reconnects by itself.  A call made while the thread
 * serves a traced request (kv_trace_current) carries the trace on: its
 * traceparent names the calling request's span as the parent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <zmq.h>

#include "kv_client.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_trace.h"

struct kv_client {
    void *sock;          /* ZMQ_DEALER to KAIVOX_BUS_ENDPOINT */
    uint64_t next_cid;   /* the next call's correlation id; random start */
};

kv_client_t *kv_client_new(void *zmq_ctx)
{
    const char *ep = kv_env_str("KAIVOX_BUS_ENDPOINT", "tcp://127.0.0.1:7700");
    kv_client_t *c = kv_calloc(1, sizeof *c);
    c->sock = kv_msg_socket(zmq_ctx, ZMQ_DEALER);
    int immediate = 1;
    /* queue nothing while disconnected: a call then fails fast with 503 */
    if (c->sock)
        zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &immediate, sizeof immediate);
    /* replies come back on this socket only, so any start would do; a
     * random one also tells the calls of different clients apart in logs */
    char rnd[33];
    kv_bus_new_id(rnd);
    rnd[16] = '\0';
    c->next_cid = strtoull(rnd, NULL, 16);
    if (!c->sock || zmq_connect(c->sock, ep) != 0) {
        kv_error(NULL, "cannot connect bus client to %s: %s", ep, zmq_strerror(zmq_errno()));
        zmq_close(c->sock);
        free(c);
        return NULL;
    }
    return c;
}

void kv_client_destroy(kv_client_t **pc)
{
    if (!pc || !*pc)
        return;
    zmq_close((*pc)->sock);
    free(*pc);
    *pc = NULL;
}

static int s_call(kv_client_t *c, kv_hdr_t *h, const char *service, json_t *params,
                  json_t *body, int timeout_ms, json_t **out)
{
    *out = NULL;
    json_t *bus = json_object();
    json_object_set_new(bus, "params", params ? json_incref(params) : json_object());
    json_object_set_new(bus, "query", json_object());
    json_object_set_new(bus, "body", body ? json_incref(body) : json_null());
    char *btext = json_dumps(bus, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(bus);
    if (!btext)
        abort();    /* only on out of memory */
    if (strlen(btext) > KV_BODY_MAX) {
        /* the broker would refuse it; never send what cannot arrive */
        kv_error(h->id, "bus call %s.%s: request body of %zu bytes is over the bus frame "
                 "limit (%d)", service, h->op, strlen(btext), KV_BODY_MAX);
        free(btext);
        return KV_ST_INTERNAL;
    }
    snprintf(h->cid, sizeof h->cid, "%016" PRIx64, c->next_cid++);
    const kv_trace_t *tr = kv_trace_current();
    if (tr) {
        kv_traceparent_format(tr, h->traceparent);
        snprintf(h->tracestate, sizeof h->tracestate, "%s", tr->state);
    }
    char *htext = kv_hdr_encode(h, 0);
    kv_msg_t *m = kv_bus_envelope(KV_CMD_REQUEST, service, strlen(service),
                                  htext, strlen(htext), btext, strlen(btext));
    free(htext);
    free(btext);
    /* With ZMQ_IMMEDIATE the socket is writable only once connected: give a
     * fresh client (or one whose broker just restarted) a moment to
     * connect, within the call's own timeout. */
    zmq_pollitem_t out_item = { c->sock, 0, ZMQ_POLLOUT, 0 };
    int wait_ms = timeout_ms < 1000 ? timeout_ms : 1000;
    int rc = -1;
    if (zmq_poll(&out_item, 1, wait_ms) > 0)
        rc = kv_msg_send(m, c->sock);
    kv_msg_destroy(&m);
    if (rc != 0) {
        kv_warn(h->id, "bus call %s.%s: broker unreachable", service, h->op);
        return KV_ST_UNAVAILABLE;
    }

    int64_t until = kv_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = until - kv_mono_ms();
        if (left <= 0)
            break;
        kv_msg_t *r = kv_msg_recv(c->sock, (int)left);
        if (!r)
            continue;
        kv_bus_frame_t f;
        kv_hdr_t rh;
        if (kv_bus_parse(r, KV_BUS_AT_CLIENT, &f) != KV_BUS_OK || f.cmd != KV_CMD_REPLY ||
            kv_hdr_decode(f.header, f.header_len, 1, &rh) != KV_BUS_OK ||
            strcmp(rh.cid, h->cid) != 0) {
            kv_msg_destroy(&r);     /* an earlier call's, or malformed: drop */
            continue;
        }
        *out = json_loadb(f.body, f.body_len, 0, NULL);
        kv_msg_destroy(&r);
        return rh.status;
    }
    kv_warn(h->id, "bus call %s.%s timed out after %d ms", service, h->op, timeout_ms);
    return KV_ST_TIMEOUT;
}

int kv_client_call(kv_client_t *c, const kv_hdr_t *parent, const char *service,
                   const char *op, json_t *params, json_t *body,
                   int timeout_ms, json_t **out)
{
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = KV_PROTO_VERSION;
    if (parent) {
        memcpy(h.id, parent->id, sizeof h.id);
        h.tenant_id = parent->tenant_id;
        memcpy(h.tenant_tz, parent->tenant_tz, sizeof h.tenant_tz);
        h.slot_interval = parent->slot_interval;
    } else {
        kv_bus_new_id(h.id);
    }
    snprintf(h.op, sizeof h.op, "%s", op);
    int64_t now = kv_now_ms();
    h.deadline_ms = now + timeout_ms;
    if (parent && parent->deadline_ms > 0 && parent->deadline_ms < h.deadline_ms) {
        h.deadline_ms = parent->deadline_ms;
        timeout_ms = (int)(parent->deadline_ms - now);
        if (timeout_ms <= 0) {
            *out = NULL;
            return KV_ST_TIMEOUT;
        }
    }
    return s_call(c, &h, service, params, body, timeout_ms, out);
}

int kv_client_call_tenant(kv_client_t *c, const char *req_id, int64_t tenant_id,
                          const char *service, const char *op,
                          json_t *params, json_t *body, int timeout_ms,
                          json_t **out)
{
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = KV_PROTO_VERSION;
    if (req_id && kv_bus_valid_id(req_id, strlen(req_id)))
        snprintf(h.id, sizeof h.id, "%s", req_id);
    else
        kv_bus_new_id(h.id);
    snprintf(h.op, sizeof h.op, "%s", op);
    h.tenant_id = tenant_id;
    strcpy(h.tenant_tz, "UTC");
    h.deadline_ms = kv_now_ms() + timeout_ms;
    return s_call(c, &h, service, params, body, timeout_ms, out);
}
