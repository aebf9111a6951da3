/*
 * kv_proto.h -- constants of the KaiVox bus protocol, version 1.
 *
 * This header is the code-side mirror of proto/bus.md, which is the written
 * specification.  Nothing here is behaviour: just the names and numbers every
 * peer of the bus must agree on.  Change both files together.
 */
#ifndef KV_PROTO_H
#define KV_PROTO_H

/* First frame of every bus message (after any ROUTER identity).  The digit is
 * the major version; a peer that sees another tag answers with
 * KV_ST_VERSION_MISMATCH when it can and drops the message otherwise. */
#define KV_PROTO_TAG        "KVB1"
#define KV_PROTO_TAG_LEN    4
#define KV_PROTO_VERSION    1

/* Second frame: one byte, the command. */
#define KV_CMD_READY        0x01  /* worker -> broker: [tag][cmd][service]           */
#define KV_CMD_REQUEST      0x02  /* client -> broker: [tag][cmd][service][hdr][body] */
                                  /* broker -> worker: [tag][cmd][ret][hdr][body]     */
#define KV_CMD_REPLY        0x03  /* worker -> broker: [tag][cmd][ret][hdr][body]     */
                                  /* broker -> client: [tag][cmd][service][hdr][body] */
#define KV_CMD_HEARTBEAT    0x04  /* either way: [tag][cmd]                           */
#define KV_CMD_DISCONNECT   0x05  /* either way: [tag][cmd]                           */

/* Event envelope on the PUB/SUB path: [topic][hdr][payload]; topic is the
 * producer's service name. */
#define KV_EVENT_FRAMES     3

/* Timing (milliseconds). */
#define KV_HEARTBEAT_IVL_MS     1000   /* each side sends one at least this often */
#define KV_HEARTBEAT_LIVENESS   3      /* missed intervals before the peer is dead */
#define KV_RECONNECT_MIN_MS     250
#define KV_RECONNECT_MAX_MS     4000

/* Limits. */
#define KV_SERVICE_NAME_MAX     32
#define KV_OP_NAME_MAX          64
#define KV_RETADDR_MAX          256
#define KV_HEADER_MAX           4096
#define KV_BODY_MAX             (2 * 1024 * 1024)

/* Status codes carried in reply headers.  They are HTTP status codes on
 * purpose: the gateway maps them one to one. */
#define KV_ST_OK                200
#define KV_ST_CREATED           201
#define KV_ST_BAD_REQUEST       400
#define KV_ST_NOT_FOUND         404
#define KV_ST_CONFLICT          409
#define KV_ST_UNPROCESSABLE     422
#define KV_ST_INTERNAL          500
#define KV_ST_UNKNOWN_OP        501
#define KV_ST_UNAVAILABLE       503
#define KV_ST_TIMEOUT           504
#define KV_ST_VERSION_MISMATCH  505

/* Service names. */
#define KV_SVC_SCHEDULING   "scheduling"
#define KV_SVC_CRM          "crm"
#define KV_SVC_CALLS        "calls"
#define KV_SVC_WEBHOOKS     "webhooks"

/* System operations every service answers (no tenant context). */
#define KV_OP_PING          "sys.ping"
#define KV_OP_EVENTS_SINCE  "events.since"  /* producers only */

#endif
