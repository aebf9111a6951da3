/*
 * kv_msg.c -- multipart messages as a growable array of owned frames.
 *
 * Each frame is allocated one byte longer than its size and NUL-terminated,
 * so header and name frames can be read as C strings without a copy.  The
 * zmq I/O functions here are the only code that touches zmq_msg_t.
 */
#include <string.h>
#include <stdlib.h>
#include <errno.h>
#include <stdint.h>
#include <zmq.h>

#include "kv_msg.h"
#include "kv_mem.h"
#include "kv_proto.h"

typedef struct {
    char *data;      /* owned, NUL-terminated at data[len] */
    size_t len;
} s_frame_t;

struct kv_msg {
    s_frame_t *frames;   /* owned array of count frames */
    size_t count;
    size_t cap;
    char user[KV_MSG_USER_MAX + 1];  /* the sender's ZAP User-Id, "" when none */
};

kv_msg_t *kv_msg_new(void)
{
    return kv_calloc(1, sizeof(kv_msg_t));
}

void kv_msg_destroy(kv_msg_t **pm)
{
    if (!pm || !*pm)
        return;
    kv_msg_t *m = *pm;
    for (size_t i = 0; i < m->count; i++)
        free(m->frames[i].data);
    free(m->frames);
    free(m);
    *pm = NULL;
}

static void s_reserve(kv_msg_t *m)
{
    if (m->count < m->cap)
        return;
    m->cap = m->cap ? m->cap * 2 : 8;
    m->frames = kv_realloc(m->frames, m->cap * sizeof(s_frame_t));
}

static s_frame_t s_frame(const void *data, size_t len)
{
    s_frame_t f;
    f.data = kv_malloc(len + 1);
    if (len)
        memcpy(f.data, data, len);
    f.data[len] = '\0';
    f.len = len;
    return f;
}

void kv_msg_add(kv_msg_t *m, const void *data, size_t len)
{
    s_reserve(m);
    m->frames[m->count++] = s_frame(data, len);
}

void kv_msg_addstr(kv_msg_t *m, const char *s)
{
    kv_msg_add(m, s, strlen(s));
}

void kv_msg_push(kv_msg_t *m, const void *data, size_t len)
{
    s_reserve(m);
    memmove(m->frames + 1, m->frames, m->count * sizeof(s_frame_t));
    m->frames[0] = s_frame(data, len);
    m->count++;
}

int kv_msg_pop(kv_msg_t *m, void **data, size_t *len)
{
    if (m->count == 0)
        return -1;
    *data = m->frames[0].data;
    *len = m->frames[0].len;
    m->count--;
    memmove(m->frames, m->frames + 1, m->count * sizeof(s_frame_t));
    return 0;
}

const char *kv_msg_user(const kv_msg_t *m)
{
    return m->user;
}

size_t kv_msg_size(const kv_msg_t *m)
{
    return m->count;
}

const char *kv_msg_data(const kv_msg_t *m, size_t i, size_t *len)
{
    if (i >= m->count)
        return NULL;
    if (len)
        *len = m->frames[i].len;
    return m->frames[i].data;
}

kv_msg_t *kv_msg_recv(void *sock, int timeout_ms)
{
    /* Under load a message is usually waiting already: look before paying
     * for a poll. */
    int events = 0;
    size_t elen = sizeof events;
    if (timeout_ms != 0 && (zmq_getsockopt(sock, ZMQ_EVENTS, &events, &elen) != 0 ||
                            !(events & ZMQ_POLLIN))) {
        zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll(&item, 1, timeout_ms);
        if (rc <= 0)
            return NULL;
    }
    kv_msg_t *m = kv_msg_new();
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, m->count ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            kv_msg_destroy(&m);
            return NULL;
        }
        if (!m->user[0]) {
            /* the role the gateway's ZAP handler gave the sender (CURVE).
             * Read from the first part that has it: a ROUTER's identity
             * part carries no metadata when poll prefetched the message
             * (libzmq 4.3.4), the parts the peer sent always do. */
            const char *user = zmq_msg_gets(&part, "User-Id");
            if (user && strlen(user) <= KV_MSG_USER_MAX)
                strcpy(m->user, user);
        }
        kv_msg_add(m, zmq_msg_data(&part), zmq_msg_size(&part));
        int more = zmq_msg_more(&part);
        zmq_msg_close(&part);
        if (!more)
            break;
    }
    return m;
}

int kv_msg_send(const kv_msg_t *m, void *sock)
{
    for (size_t i = 0; i < m->count; i++) {
        int flags = (i + 1 < m->count) ? ZMQ_SNDMORE : 0;
        if (zmq_send(sock, m->frames[i].data, m->frames[i].len, flags | ZMQ_DONTWAIT) < 0)
            return -1;
    }
    return 0;
}

int kv_msg_send_to(const kv_msg_t *m, void *sock, const void *id, size_t len)
{
    int flags = m->count ? ZMQ_SNDMORE : 0;
    if (zmq_send(sock, id, len, flags | ZMQ_DONTWAIT) < 0)
        return -1;
    return kv_msg_send(m, sock);
}

void *kv_msg_socket(void *zmq_ctx, int type)
{
    void *s = zmq_socket(zmq_ctx, type);
    if (!s)
        return NULL;
    int64_t maxmsg = KV_FRAME_MAX;
    int linger = 0, ivl = KV_ZMTP_HEARTBEAT_IVL_MS, timeout = KV_ZMTP_HEARTBEAT_TIMEOUT_MS;
    int reconnect_max = KV_RECONNECT_IVL_MAX_MS;
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    /* a gateway that is down is tried again 0.1 s, 0.2 s, ... up to 1 s
     * apart, not ten times a second by every socket of every service */
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max);
    return s;
}
