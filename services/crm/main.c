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

static const kv_op_t s_ops[] = {
    { "customers.list", crm_customers_list, 0 },
    { "customers.create", crm_customers_create, 0 },
    { "customers.get", crm_customers_get, 0 },
    { "customers.update", crm_customers_update, 0 },
    { "customers.lookup", crm_customers_lookup, 0 },
    { "customers.find_or_create", crm_customers_find_or_create, 0 },
    { NULL, NULL, 0 }
};

static const kv_service_def_t s_def = {
    .name = KV_SVC_CRM,
    .ops = s_ops,
    .stmts = crm_stmts,
    .producer = 0,
};

int main(void)
{
    kv_log_init(KV_SVC_CRM);
    return kv_service_run(&s_def);
}
