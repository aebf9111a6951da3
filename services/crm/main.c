/*
 * main.c -- kaivox-crm: the customers service.
 *
 * Wires the operations of customers.c and the statements of db.c into the
 * common service runtime (kv_service.h), which applies sql/crm migrations,
 * starts the worker threads and serves the bus until SIGINT/SIGTERM.  crm
 * is not an event producer.
 */
#include "crm.h"

#include "kv_log.h"

/* Operation names and flags live in the registry (proto/kv_ops.h). */
static const kv_op_t s_ops[] = {
    { KV_OP(CUSTOMERS_LIST),           crm_customers_list },
    { KV_OP(CUSTOMERS_CREATE),         crm_customers_create },
    { KV_OP(CUSTOMERS_GET),            crm_customers_get },
    { KV_OP(CUSTOMERS_UPDATE),         crm_customers_update },
    { KV_OP(CUSTOMERS_LOOKUP),         crm_customers_lookup },
    { KV_OP(CUSTOMERS_FIND_OR_CREATE), crm_customers_find_or_create },
    { NULL, NULL }
};

static const kv_service_def_t s_def = {
    .name = KV_SVC_CRM,
    .ops = s_ops,
    .stmts = crm_stmts,
    .producer = 0,
};

int main(int argc, char **argv)
{
    kv_log_init(KV_SVC_CRM);
    return kv_service_run(&s_def, argc, argv);
}
