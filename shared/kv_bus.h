/*
 * kv_bus.h -- the bus protocol of proto/bus.md: building and checking the
 * frames of every command, and the JSON header of requests and replies.
 *
 * Pure functions over kv_msg_t: no sockets here, so the unit tests can feed
 * malformed frames straight in.
 */
#ifndef KV_BUS_H
#define KV_BUS_H

#include <stdint.h>
#include <stddef.h>
#include <jansson.h>

#include "kv_msg.h"
#include "kv_trace.h"
#include "../proto/kv_proto.h"

/* Errors of parsing; all negative. */
enum {
    KV_BUS_OK = 0,
    KV_BUS_ETAG = -1,      /* first frame is not a known protocol tag */
    KV_BUS_ECMD = -2,      /* unknown command byte */
    KV_BUS_EFRAMES = -3,   /* wrong number of frames for the command */
    KV_BUS_EFIELD = -4,    /* a frame is empty, too long or badly encoded */
    KV_BUS_EHEADER = -5,   /* header is not the JSON object the spec says */
    KV_BUS_EVERSION = -6,  /* header "v" is a major version we do not speak */
    KV_BUS_ESIZE = -7,     /* a reply body too large for a bus frame */
};

/* A parsed bus message.  Pointers point into the kv_msg_t that was parsed
 * and live as long as it does. */
typedef struct {
    int cmd;                 /* KV_CMD_* */
    const char *service;     /* READY, client REQUEST, broker REPLY */
    const char *info;        /* READY: the optional JSON frame, NULL when absent */
    size_t info_len;
    const char *retaddr;     /* broker REQUEST, worker REPLY */
    size_t retaddr_len;
    const char *header;      /* REQUEST, REPLY: JSON text */
    size_t header_len;
    const char *body;        /* REQUEST, REPLY: JSON text, may be empty */
    size_t body_len;
} kv_bus_frame_t;

/* Which side we are: it decides whether REQUEST/REPLY carry a service name
 * (client side) or a return address (worker side). */
typedef enum { KV_BUS_AT_BROKER_FROM_CLIENT, KV_BUS_AT_BROKER_FROM_WORKER,
               KV_BUS_AT_WORKER, KV_BUS_AT_CLIENT } kv_bus_side_t;

/* Parses m (without any ROUTER identity frame: pop it first).  The side
 * tells the shape expected for REQUEST and REPLY: a message that arrives at
 * the broker is parsed with KV_BUS_AT_BROKER_FROM_CLIENT and, if its command
 * is REPLY or READY, treated as from a worker.  Returns KV_BUS_OK or a
 * negative KV_BUS_E* code; on error *out is unspecified. */
int kv_bus_parse(const kv_msg_t *m, kv_bus_side_t side, kv_bus_frame_t *out);

/* Builders.  Each returns a new message the caller owns.  addr/service are
 * copied.  body may be NULL for an empty body. */
kv_msg_t *kv_bus_ready(const char *service);
/* READY with its JSON frame (kv_ready_info_encode); info NULL: without. */
kv_msg_t *kv_bus_ready_info(const char *service, const char *info);
kv_msg_t *kv_bus_heartbeat(void);
kv_msg_t *kv_bus_disconnect(void);
kv_msg_t *kv_bus_withdraw(void);
/* cmd is KV_CMD_REQUEST or KV_CMD_REPLY; route is the service name or the
 * return address, as the direction needs. */
kv_msg_t *kv_bus_envelope(int cmd, const void *route, size_t route_len,
                          const char *header, size_t header_len,
                          const char *body, size_t body_len);

/* The request/reply header: a JSON object, unknown keys ignored. */
typedef struct {
    int v;                   /* protocol major version, KV_PROTO_VERSION */
    char id[65];             /* request id, [A-Za-z0-9._-]{1,64} */
    char op[KV_OP_NAME_MAX + 1];  /* requests only */
    int64_t tenant_id;       /* 0: no tenant (system operation) */
    char tenant_tz[65];      /* tenant's IANA time zone, "" when none */
    int slot_interval;       /* tenant's slot interval in minutes, 0 none */
    int64_t deadline_ms;     /* epoch ms after which the answer is useless */
    int status;              /* replies only: KV_ST_* */
    char cid[KV_CID_MAX + 1];     /* per-call correlation id, "" when none */
    int unserved;            /* replies only: 1 with status 503 when the worker
                                returned the request without running it (it was
                                busy with another gateway's): the broker gives it
                                to another worker (proto/bus.md, "Several
                                gateways") */
    /* requests only: the client's Idempotency-Key, "" when none
     * (kv_bus_valid_idem_key); the service records the write under it */
    char idem_key[KV_IDEM_KEY_MAX + 1];
    int replayed;            /* replies only: 1 when the body is the answer
                                recorded for that key, sent again */
    /* requests only: the W3C trace context of the caller's span
     * (kv_trace.h), "" when none; an invalid one is dropped on decode */
    char traceparent[KV_TRACEPARENT_LEN + 1];
    char tracestate[KV_TRACESTATE_MAX + 1];
} kv_hdr_t;

/* Encodes h as a JSON object text.  is_reply selects status and
 * "replayed" (reply) or op/tenant/deadline/"idempotency_key" (request);
 * "cid" is written when h->cid is set, "idempotency_key" when h->idem_key
 * is, "replayed" when h->replayed is.  Caller owns the result (free()). */
char *kv_hdr_encode(const kv_hdr_t *h, int is_reply);
/* Decodes text[0..len) into *h.  Returns KV_BUS_OK, KV_BUS_EHEADER (not an
 * object, a field of the wrong type or shape, missing id/op/status) or
 * KV_BUS_EVERSION. */
int kv_hdr_decode(const char *text, size_t len, int is_reply, kv_hdr_t *h);

/* True when s is a valid request id: 1..64 chars of [A-Za-z0-9._-]. */
int kv_bus_valid_id(const char *s, size_t len);

/* True when s[0..len) is a valid Idempotency-Key: 1..KV_IDEM_KEY_MAX
 * printable ASCII characters (0x20..0x7e; no NUL, no control character,
 * nothing outside ASCII). */
int kv_bus_valid_idem_key(const char *s, size_t len);

/* What a worker announces in READY's JSON frame (proto/bus.md, "READY"). */
typedef struct {
    int v;                                /* protocol major version it speaks */
    char instance[KV_INSTANCE_MAX + 1];   /* its process's id, [A-Za-z0-9._-] */
    int workers;                          /* worker threads of that process */
    int nops;                             /* operations it serves */
    char ops[KV_OPS_MAX][KV_OP_NAME_MAX + 1];
    unsigned char read_only[KV_OPS_MAX];  /* 1: ops[i] may be run again */
} kv_ready_info_t;

/* Encodes ri as READY's JSON frame.  Caller owns the result (free()). */
char *kv_ready_info_encode(const kv_ready_info_t *ri);
/* Decodes READY's JSON frame text[0..len) into *ri.  Returns KV_BUS_OK,
 * KV_BUS_EVERSION (ri->v is set: a version we do not speak) or
 * KV_BUS_EHEADER (not the object the spec says, a field of the wrong
 * type or shape, more than KV_OPS_MAX operations). */
int kv_ready_info_decode(const char *text, size_t len, kv_ready_info_t *ri);

/* A message of another protocol version, as far as every version keeps
 * its shape (proto/bus.md, "Versioning"). */
typedef struct {
    int version;                          /* the major version of its tag */
    int cmd;                              /* frame 1's byte, -1 when none */
    char service[KV_SERVICE_NAME_MAX + 1];/* REQUEST, READY: "" when unreadable */
    char id[65];                          /* REQUEST header: "" when unreadable */
    char cid[KV_CID_MAX + 1];             /* REQUEST header: "" when absent */
} kv_bus_foreign_t;

/* For a message kv_bus_parse refused with KV_BUS_ETAG: returns KV_BUS_OK
 * and fills *out when its tag is "KVB" + a major version other than ours
 * (what it could read of the rest is filled in, the rest left empty), else
 * KV_BUS_ETAG. */
int kv_bus_parse_foreign(const kv_msg_t *m, kv_bus_foreign_t *out);

/* Builds a worker's REPLY to the request with return address ret[0..rlen)
 * and header h (id, cid, status), with body text body[0..blen).  When the
 * body is larger than a bus frame carries (KV_BODY_MAX) it is never sent:
 * the reply becomes 500 with the envelope "The response is too large to
 * send." and KV_BUS_ESIZE is stored in *rc (else KV_BUS_OK), so the caller
 * logs it.  Caller owns the result. */
kv_msg_t *kv_bus_reply(const void *ret, size_t rlen, const kv_hdr_t *h,
                       const char *body, size_t blen, int *rc);

/* Makes a fresh random request id (32 hex chars) into buf[33]. */
void kv_bus_new_id(char buf[33]);

/* An event as it travels on PUB/SUB and in events.since answers. */
typedef struct {
    char producer[KV_SERVICE_NAME_MAX + 1];
    int64_t seq;             /* per-producer, gapless, from 1 */
    char type[48];           /* e.g. "appointment.created" */
    char id[65];             /* globally unique event id (uuid text) */
    int64_t tenant_id;
    char created_at[40];     /* RFC 3339 UTC */
    char traceparent[KV_TRACEPARENT_LEN + 1];  /* the W3C trace context the event
                                was made under, "" when none (optional) */
} kv_event_hdr_t;

/* Builds [topic=producer][hdr JSON][payload]; caller owns the result. */
kv_msg_t *kv_event_msg(const kv_event_hdr_t *h, const char *payload, size_t len);
/* Parses an event message; the payload points into m. */
int kv_event_parse(const kv_msg_t *m, kv_event_hdr_t *h,
                   const char **payload, size_t *payload_len);

#endif
