/*
 * test_client.c -- kv_client against a fake broker (a ROUTER on inproc, in
 * a thread of the test): every call carries its own correlation id, so a
 * late reply to a call that timed out is never taken for the next call,
 * even though both carry the same (parent's) request id.  Also: the reply
 * header's cid is what the client matches on, a reply with no cid is
 * ignored, and a request body over the frame limit is never sent.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kv_bus.h"
#include "kv_client.h"
#include "kv_curve.h"
#include "kv_log.h"
#include "../../lib/kvt.h"

#define S_EP "inproc://kvt-client-test"

typedef struct {
    void *router;
    int requests;                /* requests seen */
    char cids[2][KV_CID_MAX + 1];
    char ids[2][65];
} s_broker_t;

/* Sends a REPLY with request id id, correlation cid (may be ""), status
 * and body to the client with identity who. */
static void s_reply(void *router, const void *who, size_t wlen, const char *id, const char *cid,
                    int status, const char *body)
{
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    snprintf(h.id, sizeof h.id, "%s", id);
    snprintf(h.cid, sizeof h.cid, "%s", cid);
    h.status = status;
    char *t = kv_hdr_encode(&h, 1);
    kv_msg_t *m = kv_bus_envelope(KV_CMD_REPLY, "crm", 3, t, strlen(t), body, strlen(body));
    kv_msg_send_to(m, router, who, wlen);
    kv_msg_destroy(&m);
    free(t);
}

/* The fake broker: does not answer the first request; when the second
 * arrives it first sends the late answer to the first (status 409), then a
 * reply to the second without any cid (status 500), then the real answer
 * to the second (status 200). */
static void *s_broker(void *arg)
{
    s_broker_t *b = arg;
    void *who[2] = { NULL, NULL };
    size_t wlen[2] = { 0, 0 };
    while (b->requests < 2) {
        kv_msg_t *m = kv_msg_recv(b->router, 5000);
        if (!m)
            break;
        void *id;
        size_t idlen;
        kv_msg_pop(m, &id, &idlen);
        kv_bus_frame_t f;
        kv_hdr_t h;
        if (kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f) == KV_BUS_OK &&
            f.cmd == KV_CMD_REQUEST && kv_hdr_decode(f.header, f.header_len, 0, &h) == KV_BUS_OK) {
            int i = b->requests++;
            snprintf(b->cids[i], sizeof b->cids[i], "%s", h.cid);
            snprintf(b->ids[i], sizeof b->ids[i], "%s", h.id);
            who[i] = id;
            wlen[i] = idlen;
            id = NULL;
        }
        free(id);
        kv_msg_destroy(&m);
    }
    if (b->requests == 2) {
        s_reply(b->router, who[0], wlen[0], b->ids[0], b->cids[0], 409, "{\"which\":\"first\"}");
        s_reply(b->router, who[1], wlen[1], b->ids[1], "", 500, "{\"which\":\"no cid\"}");
        s_reply(b->router, who[1], wlen[1], b->ids[1], b->cids[1], 200, "{\"which\":\"second\"}");
    }
    free(who[0]);
    free(who[1]);
    return NULL;
}

int main(void)
{
    kv_log_init("test");
    setenv("KAIVOX_BUS_ENDPOINT", S_EP, 1);
    /* the fake broker below speaks plain ZeroMQ: this test is about the
     * client's correlation ids, not about keys (test_curve.c is) */
    setenv("KAIVOX_BUS_INSECURE", "1", 1);
    KVT_EQ_INT(kv_curve_init("test"), 0, "the bus keys of an insecure test load");
    void *ctx = zmq_ctx_new();
    s_broker_t b;
    memset(&b, 0, sizeof b);
    b.router = zmq_socket(ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(b.router, ZMQ_LINGER, &linger, sizeof linger);
    KVT_EQ_INT(zmq_bind(b.router, S_EP), 0, "the fake broker binds");
    kv_client_t *c = kv_client_new(ctx);
    KVT_OK(c != NULL, "a client connects");
    pthread_t t;
    pthread_create(&t, NULL, s_broker, &b);

    kv_hdr_t parent;
    memset(&parent, 0, sizeof parent);
    strcpy(parent.id, "parent-request-1");
    parent.tenant_id = 7;
    strcpy(parent.tenant_tz, "UTC");
    json_t *out = NULL;
    int st = kv_client_call(c, &parent, "crm", "customers.lookup", NULL, NULL, 300, &out);
    KVT_EQ_INT(st, KV_ST_TIMEOUT, "the first call times out (the broker holds its answer)");
    KVT_OK(out == NULL, "a timed-out call has no envelope");

    st = kv_client_call(c, &parent, "crm", "customers.lookup", NULL, NULL, 3000, &out);
    KVT_EQ_INT(st, 200, "the second call gets its own answer, not the late one of the first");
    KVT_EQ_STR(json_string_value(json_object_get(out, "which")), "second",
               "the envelope is the second call's");
    json_decref(out);
    pthread_join(t, NULL);
    KVT_EQ_STR(b.ids[0], "parent-request-1", "the first call carries the parent's request id");
    KVT_EQ_STR(b.ids[1], "parent-request-1", "so does the second: ids alone cannot tell them apart");
    KVT_OK(b.cids[0][0] && b.cids[1][0] && strcmp(b.cids[0], b.cids[1]) != 0,
           "each call has its own correlation id (%s, %s)", b.cids[0], b.cids[1]);

    /* a body the bus cannot carry is refused before it is sent */
    size_t n = KV_BODY_MAX + 16;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    json_t *body = json_string(big);
    free(big);
    st = kv_client_call(c, &parent, "crm", "customers.lookup", NULL, body, 1000, &out);
    KVT_EQ_INT(st, KV_ST_INTERNAL, "a request body over the frame limit is refused at once (500)");
    json_decref(body);
    kv_msg_t *left = kv_msg_recv(b.router, 200);
    KVT_OK(left == NULL, "and nothing reached the broker");
    kv_msg_destroy(&left);

    kv_client_destroy(&c);
    zmq_close(b.router);
    zmq_ctx_term(ctx);
    return kvt_done();
}
