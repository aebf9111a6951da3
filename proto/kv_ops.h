/*
 * kv_ops.h -- the registry of bus operations: every operation's name, the
 * service that serves it and its flags, written once.
 *
 * The gateway's route tables (gw_routes.c, gw_admin.c) and every service's
 * operation table (services/<name>/main.c) name operations by their symbol
 * here, KV_OP(SERVICES_LIST), never by a string, so a name cannot be
 * mistyped on one side only; tests/e2e/test_bus_ops.c checks that every
 * public route's operation is served by its service (`kaivox-gateway
 * --print-routes` against `kaivox-<service> --print-ops`).  proto/bus.md
 * lists the same operations for readers.
 *
 * Flags:
 *   KV_OPF_READ    read-only: running it twice is harmless, so the broker
 *                  may hand it to another worker when the one holding it
 *                  died (proto/bus.md, "Liveness").  Anything that writes,
 *                  or calls something that writes, is not.
 *   KV_OPF_SYSTEM  runs without a tenant context (tenant_id 0); every other
 *                  operation is refused with 400 without one.
 *   KV_OPF_IDEMPOTENT  writes, but running it twice has the effect of
 *                  running it once (customers.find_or_create): a bus
 *                  client whose gateway died holding the call may send it
 *                  again through another gateway (kv_client.c), as it does
 *                  reads.  The broker still treats it as a write.
 * A NULL service means "every service" (sys.ping) or "every producer"
 * (events.since): the runtime serves those.
 *
 * Adding an operation: one line here, a handler and a line in its service's
 * table; an operation may only be added, never renamed or given another
 * meaning (docs/upgrades.md).
 */
#ifndef KV_OPS_H
#define KV_OPS_H

#include "kv_proto.h"

#define KV_OPF_READ    1u
#define KV_OPF_SYSTEM  2u
#define KV_OPF_IDEMPOTENT 4u

/* X(SYMBOL, "name", service, flags) */
#define KV_OPS(X) \
    /* system operations, served by the runtime */ \
    X(SYS_PING,                   KV_OP_PING,                    NULL,              KV_OPF_READ | KV_OPF_SYSTEM) \
    X(EVENTS_SINCE,               KV_OP_EVENTS_SINCE,            NULL,              KV_OPF_READ | KV_OPF_SYSTEM) \
    /* scheduling */ \
    X(SERVICES_LIST,              "services.list",               KV_SVC_SCHEDULING, KV_OPF_READ) \
    X(SERVICES_GET,               "services.get",                KV_SVC_SCHEDULING, KV_OPF_READ) \
    X(STAFF_LIST,                 "staff.list",                  KV_SVC_SCHEDULING, KV_OPF_READ) \
    X(STAFF_GET,                  "staff.get",                   KV_SVC_SCHEDULING, KV_OPF_READ) \
    X(APPOINTMENTS_SLOTS,         "appointments.slots",          KV_SVC_SCHEDULING, KV_OPF_READ) \
    X(APPOINTMENTS_LIST,          "appointments.list",           KV_SVC_SCHEDULING, KV_OPF_READ) \
    X(APPOINTMENTS_CREATE,        "appointments.create",         KV_SVC_SCHEDULING, 0) \
    X(APPOINTMENTS_GET,           "appointments.get",            KV_SVC_SCHEDULING, KV_OPF_READ) \
    X(APPOINTMENTS_CANCEL,        "appointments.cancel",         KV_SVC_SCHEDULING, 0) \
    X(APPOINTMENTS_SET_STATUS,    "appointments.set_status",     KV_SVC_SCHEDULING, 0) \
    X(APPOINTMENTS_UPDATE,        "appointments.update",         KV_SVC_SCHEDULING, 0) \
    X(APPOINTMENTS_HOLD_CREATE,   "appointments.hold_create",    KV_SVC_SCHEDULING, 0) \
    X(APPOINTMENTS_HOLD_RELEASE,  "appointments.hold_release",   KV_SVC_SCHEDULING, 0) \
    X(APPOINTMENTS_CUSTOMER_STATS,"appointments.customer_stats", KV_SVC_SCHEDULING, KV_OPF_READ) \
    X(APPOINTMENTS_OF_CALL,       "appointments.of_call",        KV_SVC_SCHEDULING, KV_OPF_READ) \
    X(APPOINTMENTS_BOOKED_CALLS,  "appointments.booked_calls",   KV_SVC_SCHEDULING, KV_OPF_READ) \
    X(ADMIN_SERVICES_CREATE,      "admin.services.create",       KV_SVC_SCHEDULING, 0) \
    X(ADMIN_SERVICES_UPDATE,      "admin.services.update",       KV_SVC_SCHEDULING, 0) \
    X(ADMIN_STAFF_CREATE,         "admin.staff.create",          KV_SVC_SCHEDULING, 0) \
    X(ADMIN_STAFF_UPDATE,         "admin.staff.update",          KV_SVC_SCHEDULING, 0) \
    /* crm */ \
    X(CUSTOMERS_LIST,             "customers.list",              KV_SVC_CRM,        KV_OPF_READ) \
    X(CUSTOMERS_CREATE,           "customers.create",            KV_SVC_CRM,        0) \
    X(CUSTOMERS_GET,              "customers.get",               KV_SVC_CRM,        KV_OPF_READ) \
    X(CUSTOMERS_UPDATE,           "customers.update",            KV_SVC_CRM,        0) \
    X(CUSTOMERS_LOOKUP,           "customers.lookup",            KV_SVC_CRM,        KV_OPF_READ) \
    X(CUSTOMERS_FIND_OR_CREATE,   "customers.find_or_create",    KV_SVC_CRM,        KV_OPF_IDEMPOTENT) \
    /* calls */ \
    X(CALLS_LIST,                 "calls.list",                  KV_SVC_CALLS,      KV_OPF_READ) \
    X(CALLS_CREATE,               "calls.create",                KV_SVC_CALLS,      0) \
    X(CALLS_GET,                  "calls.get",                   KV_SVC_CALLS,      KV_OPF_READ) \
    X(CALLS_STATS,                "calls.stats",                 KV_SVC_CALLS,      KV_OPF_READ) \
    X(CALLS_LOOKUP,               "calls.lookup",                KV_SVC_CALLS,      KV_OPF_READ) \
    /* webhooks */ \
    X(WEBHOOKS_LIST,              "webhooks.list",               KV_SVC_WEBHOOKS,   KV_OPF_READ) \
    X(WEBHOOKS_CREATE,            "webhooks.create",             KV_SVC_WEBHOOKS,   0) \
    X(WEBHOOKS_GET,               "webhooks.get",                KV_SVC_WEBHOOKS,   KV_OPF_READ) \
    X(WEBHOOKS_UPDATE,            "webhooks.update",             KV_SVC_WEBHOOKS,   0) \
    X(WEBHOOKS_DELETE,            "webhooks.delete",             KV_SVC_WEBHOOKS,   0) \
    X(WEBHOOKS_DELIVERIES,        "webhooks.deliveries",         KV_SVC_WEBHOOKS,   KV_OPF_READ) \
    X(WEBHOOKS_REDELIVER,         "webhooks.redeliver",          KV_SVC_WEBHOOKS,   0) \
    X(WEBHOOKS_ROTATE_SECRET,     "webhooks.rotate_secret",      KV_SVC_WEBHOOKS,   0) \
    X(WEBHOOKS_TEST,              "webhooks.test",               KV_SVC_WEBHOOKS,   0) \
    X(WEBHOOKS_LOG,               "webhooks.log",                KV_SVC_WEBHOOKS,   KV_OPF_READ)

/* KV_OPID_SYS_PING, KV_OPID_SERVICES_LIST, ... */
typedef enum {
#define KV_OP_X_ENUM(sym, name, svc, flags) KV_OPID_##sym,
    KV_OPS(KV_OP_X_ENUM)
#undef KV_OP_X_ENUM
    KV_OPID_COUNT
} kv_op_id_t;

/* One registry entry. */
typedef struct {
    const char *name;        /* "services.list" */
    const char *service;     /* KV_SVC_*, NULL for a system operation */
    unsigned flags;          /* KV_OPF_* */
} kv_op_def_t;

/* The registry, indexed by kv_op_id_t (shared/kv_ops.c). */
extern const kv_op_def_t kv_op_defs[KV_OPID_COUNT];

/* The entry of symbol sym, as a constant expression usable in static
 * tables: KV_OP(SERVICES_LIST). */
#define KV_OP(sym) (&kv_op_defs[KV_OPID_##sym])

/* The entry named name, or NULL when the registry has none. */
const kv_op_def_t *kv_op_find(const char *name);

#endif
