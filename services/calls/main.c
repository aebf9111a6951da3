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

static const kv_op_t s_ops[] = {
    { "calls.create", calls_create, 0 },
    { "calls.list", calls_list, 0 },
    { "calls.get", calls_get, 0 },
    { "calls.stats", calls_stats, 0 },
    { "calls.lookup", calls_lookup, 0 },
    { KV_OP_EVENTS_SINCE, kv_outbox_since_op, 1 },
    { NULL, NULL, 0 }
};

static const kv_service_def_t s_def = {
    .name = KV_SVC_CALLS,
    .ops = s_ops,
    .stmts = calls_stmts,
    .producer = 1,
};

int main(void)
{
    kv_log_init(KV_SVC_CALLS);
    return kv_service_run(&s_def);
}
