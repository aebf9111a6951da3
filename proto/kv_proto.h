/*
 * kv_proto.h -- constants of the KaiVox bus protocol, version 1.
 *
 * This header is the code-side mirror of proto/bus.md, which is the written
 * specification.  Nothing here is behaviour: just the names and numbers every
 * peer of the bus must agree on.  Change both files together.
 */
#ifndef KV_PROTO_H
#define KV_PROTO_H

/* First frame of every bus message (after any ROUTER identity).  The digits
 * are the major version; a peer that sees another tag answers with
 * KV_ST_VERSION_MISMATCH when it can and drops the message otherwise
 * (proto/bus.md, "Versioning": what every version keeps). */
#define KV_PROTO_TAG        "KVB1"
#define KV_PROTO_TAG_LEN    4
#define KV_PROTO_VERSION    1

/* Second frame: one byte, the command. */
#define KV_CMD_READY        0x01  /* worker -> broker: [tag][cmd][service][announcement]
                                     (the JSON announcement is optional)      */
#define KV_CMD_REQUEST      0x02  /* client -> broker: [tag][cmd][service][hdr][body] */
                                  /* broker -> worker: [tag][cmd][ret][hdr][body]     */
#define KV_CMD_REPLY        0x03  /* worker -> broker: [tag][cmd][ret][hdr][body]     */
                                  /* broker -> client: [tag][cmd][service][hdr][body] */
#define KV_CMD_HEARTBEAT    0x04  /* either way: [tag][cmd]                           */
#define KV_CMD_DISCONNECT   0x05  /* either way: [tag][cmd]                           */
#define KV_CMD_WITHDRAW     0x06  /* worker -> broker: [tag][cmd] "no more work";     */
                                  /* broker -> worker: [tag][cmd] the acknowledgement */

/* Event envelope on the PUB/SUB path: [topic][hdr][payload]; topic is the
 * producer's service name. */
#define KV_EVENT_FRAMES     3

/* Timing (milliseconds). */
#define KV_HEARTBEAT_IVL_MS     1000   /* each side sends one at least this often */
#define KV_HEARTBEAT_LIVENESS   3      /* missed intervals before the peer is dead */
/* ZMTP heartbeats (ZMQ_HEARTBEAT_IVL / _TIMEOUT) on every bus socket: the
 * I/O threads find a peer whose host vanished without closing its TCP
 * connection, even while the worker thread is busy with a request. */
#define KV_ZMTP_HEARTBEAT_IVL_MS     1000
#define KV_ZMTP_HEARTBEAT_TIMEOUT_MS 3000
/* A connecting socket tries a peer that is down again after 100 ms
 * (ZeroMQ's default), doubling up to this (ZMQ_RECONNECT_IVL_MAX). */
#define KV_RECONNECT_IVL_MAX_MS 1000
/* The broker checks that the connection of every busy worker still exists
 * this often (a send with ZMQ_ROUTER_MANDATORY fails once it is gone). */
#define KV_PROBE_IVL_MS         250
/* A worker still busy this long after its request's deadline is dropped,
 * heartbeats or not. */
#define KV_BUSY_GRACE_MS        (KV_HEARTBEAT_IVL_MS * KV_HEARTBEAT_LIVENESS)
/* A draining worker waits at most this long for the broker to acknowledge
 * its WITHDRAW before it says goodbye anyway. */
#define KV_WITHDRAW_WAIT_MS     2000
/* How long a goodbye (DISCONNECT) may linger in the socket to reach the
 * broker when the worker closes. */
#define KV_GOODBYE_LINGER_MS    1000
/* After it starts, the broker reports itself "settling" (not ready) this
 * long: the workers of a previous gateway re-register at their next
 * heartbeat (within one interval of the new broker binding), and in the
 * worst case when they notice the silence (the liveness window). */
#define KV_SETTLE_MS            (KV_HEARTBEAT_IVL_MS * KV_HEARTBEAT_LIVENESS)
/* An instance whose announced workers have not all registered is
 * "joining" (not ready) for at most this long. */
#define KV_JOIN_MAX_MS          10000

/* Limits. */
#define KV_SERVICE_NAME_MAX     32
#define KV_OP_NAME_MAX          64
#define KV_RETADDR_MAX          256
#define KV_HEADER_MAX           4096
/* A body (request or reply).  Sized so that the largest legal answer of
 * every operation fits with room to spare: proto/kv_sizes.h computes them
 * from the field limits (the largest, a page of 100 calls at their
 * longest, is about 8.6 MB) and checks at compile time that each takes at
 * most 2/3 of this; proto/bus.md ("Sizes") has the table. */
#define KV_BODY_MAX             (16 * 1024 * 1024)
#define KV_READY_INFO_MAX       8192   /* READY's optional JSON frame */
#define KV_CID_MAX              32     /* per-call correlation id */
#define KV_INSTANCE_MAX         64     /* instance id */
#define KV_OPS_MAX              64     /* operations one service announces */
#define KV_INSTANCE_WORKERS_MAX 1024   /* workers one instance announces */
/* A request header's "idempotency_key": the client's Idempotency-Key,
 * 1..255 printable ASCII characters (0x20..0x7e). */
#define KV_IDEM_KEY_MAX         255
/* ZMQ_MAXMSGSIZE of every bus socket: the largest frame (a body) plus room.
 * A frame larger than this makes ZeroMQ drop the sender's connection; one
 * between KV_BODY_MAX and this is refused by kv_bus_parse. */
#define KV_FRAME_MAX            (KV_BODY_MAX + 64 * 1024)
/* An events.since page stops before its payloads pass this many bytes
 * (always with at least one event, however large): a consumer catching up
 * reads at most about this much per call, and the largest single event (a
 * call with its transcript) still fits a body alone. */
#define KV_EVENTS_PAGE_BYTES    (1024 * 1024)

/* Status codes carried in reply headers.  They are HTTP status codes on
 * purpose: the gateway maps them one to one. */
#define KV_ST_OK                200
#define KV_ST_CREATED           201
#define KV_ST_BAD_REQUEST       400
#define KV_ST_NOT_FOUND         404
#define KV_ST_CONFLICT          409
#define KV_ST_UNPROCESSABLE     422
#define KV_ST_INTERNAL          500
#define KV_ST_UNKNOWN_OP        501   /* also: no live worker serves the operation */
#define KV_ST_BAD_GATEWAY       502   /* reply refused, or the worker died holding a write */
#define KV_ST_UNAVAILABLE       503
#define KV_ST_TIMEOUT           504
#define KV_ST_VERSION_MISMATCH  505

/* Service names. */
#define KV_SVC_SCHEDULING   "scheduling"
#define KV_SVC_CRM          "crm"
#define KV_SVC_CALLS        "calls"
#define KV_SVC_WEBHOOKS     "webhooks"

/* System operations every service answers (no tenant context).  Every
 * operation, these included, is in the registry proto/kv_ops.h. */
#define KV_OP_PING          "sys.ping"
#define KV_OP_EVENTS_SINCE  "events.since"  /* producers only */

#endif
