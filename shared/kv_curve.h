/*
 * kv_curve.h -- the bus's authentication: ZeroMQ CURVE with one keypair per
 * role, and the ZAP handler through which the gateway admits only the
 * deployment's own keys (proto/bus.md, "Security").
 *
 * Keys live in a directory (KAIVOX_BUS_KEYS, default var/keys), one pair
 * of Z85 text files per role: <role>.key holds the secret key (40
 * characters; the public key is derived from it) and <role>.pub the public
 * key.  The roles are the gateway and each service (scheduling, crm,
 * calls, webhooks); `kaivoxctl keygen` makes them, `make run`/`make up`
 * and the tests do so under var/.  A service needs its own .key and
 * gateway.pub; the gateway needs gateway.key and the .pub of every role it
 * admits: each <role>.pub of the directory is admitted as that role, and
 * so is <role>.<anything>.pub (a second key of the role while its key is
 * being replaced).
 *
 * Every bus socket of the gateway is a CURVE server with a ZAP domain; the
 * ZAP handler answers each handshake with the role of the client's public
 * key as its User-Id, which ZeroMQ attaches to every message of that
 * connection (kv_msg_user()), or refuses it:
 *   KV_ZAP_BUS         the broker's ROUTER: any admitted role (the broker
 *                      then takes READY for service X only from role X);
 *   KV_ZAP_EVENTS_IN   the event proxy's XSUB: any admitted role (the
 *                      proxy forwards an event of producer X only from X);
 *   KV_ZAP_EVENTS_OUT  the event proxy's XPUB: the consumer role only
 *                      (webhooks): nobody else can subscribe.
 * Every other socket (workers, bus clients, publishers, the subscriber) is
 * a CURVE client that knows the gateway's public key.
 *
 * KAIVOX_BUS_INSECURE=1 turns all of it off, for development only: the bus
 * then trusts anything that reaches it, and every process says so loudly
 * at start-up.
 */
#ifndef KV_CURVE_H
#define KV_CURVE_H

#include <stddef.h>

#include "kv_msg.h"

#define KV_ZAP_BUS          "kaivox-bus"
#define KV_ZAP_EVENTS_IN    "kaivox-events-in"
#define KV_ZAP_EVENTS_OUT   "kaivox-events-out"
#define KV_CURVE_ROLE_MAX   32       /* a role is a service name: [a-z0-9_-]{1,32} */
#define KV_CURVE_ROLES_MAX  32       /* roles one gateway admits */
#define KV_CURVE_Z85_LEN    40       /* a key as Z85 text */

/* The gateway's own role, and the role that may subscribe to events. */
#define KV_CURVE_GATEWAY    "gateway"
#define KV_CURVE_CONSUMER   "webhooks"

/* Loads this process's keys, once, before its first bus socket: role
 * "gateway" reads gateway.key and every other <role>.pub of the directory
 * (the roles it admits); any other role reads <role>.key and gateway.pub.
 * With KAIVOX_BUS_INSECURE=1 nothing is read and a warning is logged.
 * Returns 0, or -1 (logged: the file that is missing or malformed, and how
 * to make keys).  Calling it again returns the first call's result. */
int kv_curve_init(const char *role);

/* 1 once kv_curve_init succeeded (secure or not). */
int kv_curve_ready(void);

/* 1 when the bus is authenticated (kv_curve_init succeeded without
 * KAIVOX_BUS_INSECURE), else 0. */
int kv_curve_secure(void);

/* This process's role ("" before kv_curve_init). */
const char *kv_curve_role(void);

/* Makes sock (not yet connected) a CURVE client of the gateway with this
 * process's keypair; nothing when insecure.  0, or -1 when kv_curve_init
 * was not called (or failed) or an option was refused (logged). */
int kv_curve_client(void *sock);

/* The same with the keypair of another role from the same directory
 * (tests that play several services).  0 or -1 (logged). */
int kv_curve_client_as(void *sock, const char *role);

/* Makes sock (not yet bound) a CURVE server with the gateway's secret key
 * and ZAP domain domain (KV_ZAP_*); nothing when insecure.  Only for role
 * "gateway", after kv_zap_start.  0 or -1 (logged). */
int kv_curve_server(void *sock, const char *domain);

/* Binds the ZAP handler in zmq_ctx and serves it on a thread of its own
 * until the context is shut down.  Must run before any server socket is
 * bound: a CURVE server without a ZAP handler admits every key.  Nothing
 * when insecure.  0 or -1 (logged). */
int kv_zap_start(void *zmq_ctx);

/* The ZAP handler's decision (pure, for the unit tests): the reply to the
 * ZAP request req (RFC 27 frames: version, request id, domain, address,
 * identity, mechanism, credentials...), admitting by the keys kv_curve_init
 * loaded.  NULL when req is not a ZAP request (nothing can be answered).
 * Caller owns the result. */
kv_msg_t *kv_zap_reply(const kv_msg_t *req);

/* Writes a fresh keypair for role into dir (<role>.key mode 0600,
 * <role>.pub mode 0644, each written whole through a temporary file),
 * unless <role>.key exists already: then *created is 0 and the existing
 * pair is kept (its .pub rewritten from it when missing).  0, or -1 with a
 * message in err[errlen]. */
int kv_curve_keygen(const char *dir, const char *role, int *created, char *err, size_t errlen);

#endif
