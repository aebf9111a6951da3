/*
 * main.c -- kaivox-calls: the call log service.
 *
 * Wires the operations of calls.c and the statements of db.c into the
 * common service runtime (kv_service.h), which applies sql/calls
 * migrations, starts the worker threads and serves the bus until
 * SIGINT/SIGTERM.  calls is an event producer (call.ended, call.missed):
 * its outbox is read back by the system operation events.since, which the
 * runtime would also answer for any producer; it is listed here so that the
 * table shows everything the service answers.
 */
#include "calls.h"

#include "kv_log.h"
#include "kv_outbox.h"

/* Operation names and flags live in the registry (proto/kv_ops.h). */
static const kv_op_t s_ops[] = {
    { KV_OP(CALLS_CREATE), calls_create },
    { KV_OP(CALLS_LIST),   calls_list },
    { KV_OP(CALLS_GET),    calls_get },
    { KV_OP(CALLS_STATS),  calls_stats },
    { KV_OP(CALLS_LOOKUP), calls_lookup },
    { KV_OP(EVENTS_SINCE), kv_outbox_since_op },
    { NULL, NULL }
};

static const kv_service_def_t s_def = {
    .name = KV_SVC_CALLS,
    .ops = s_ops,
    .stmts = calls_stmts,
    .producer = 1,
};

int main(int argc, char **argv)
{
    kv_log_init(KV_SVC_CALLS);
    return kv_service_run(&s_def, argc, argv);
}
