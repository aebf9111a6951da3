/*
 * kv_msg.h -- a multipart ZeroMQ message as an owned list of frames.
 *
 * The bus code builds, inspects and sends messages through this class only,
 * so the framing rules of proto/bus.md live in one place (kv_bus.c).
 */
#ifndef KV_MSG_H
#define KV_MSG_H

#include <stddef.h>

typedef struct kv_msg kv_msg_t;

kv_msg_t *kv_msg_new(void);
/* Frees the message and sets *pm to NULL.  Safe on NULL and twice. */
void kv_msg_destroy(kv_msg_t **pm);

/* Appends a copy of data[0..len) as a new last frame. */
void kv_msg_add(kv_msg_t *m, const void *data, size_t len);
void kv_msg_addstr(kv_msg_t *m, const char *s);
/* Inserts a copy as the new first frame. */
void kv_msg_push(kv_msg_t *m, const void *data, size_t len);
/* Removes the first frame; the caller owns *data (free()) and gets its size. */
int kv_msg_pop(kv_msg_t *m, void **data, size_t *len);

size_t kv_msg_size(const kv_msg_t *m);

/* The User-Id ZeroMQ attached to a received message: on the gateway's
 * CURVE sockets, the role its ZAP handler admitted the sender as
 * (kv_curve.h).  "" for a message that was built, not received, or came
 * over a connection without one. */
#define KV_MSG_USER_MAX 32
const char *kv_msg_user(const kv_msg_t *m);
/* Frame i's bytes and length; NULL past the end.  Valid until the message
 * is changed or destroyed.  Frames are always NUL-terminated one byte past
 * their length so text frames can be read as C strings. */
const char *kv_msg_data(const kv_msg_t *m, size_t i, size_t *len);

/* Receives one whole multipart message from sock, waiting at most
 * timeout_ms (-1 forever, 0 not at all).  Returns NULL on timeout or error
 * (errno set by zmq).  Caller owns the result. */
kv_msg_t *kv_msg_recv(void *sock, int timeout_ms);
/* Sends every frame; the message is left intact.  0 or -1. */
int kv_msg_send(const kv_msg_t *m, void *sock);
/* Sends the ROUTER identity frame id[0..len) and then every frame of m, in
 * one multipart message, without copying m.  0, or -1 with the zmq errno:
 * on a ROUTER with ZMQ_ROUTER_MANDATORY, EHOSTUNREACH means the peer's
 * connection is gone. */
int kv_msg_send_to(const kv_msg_t *m, void *sock, const void *id, size_t len);

/* A new ZeroMQ socket of type with the options every bus socket shares:
 * ZMQ_MAXMSGSIZE = KV_FRAME_MAX (a larger frame drops the sender's
 * connection), ZMTP heartbeats (KV_ZMTP_HEARTBEAT_*), ZMQ_LINGER 0,
 * reconnection backing off to KV_RECONNECT_IVL_MAX_MS.
 * NULL when zmq_socket fails.  Caller owns it (zmq_close). */
void *kv_msg_socket(void *zmq_ctx, int type);

#endif
