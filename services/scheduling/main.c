/*
 * main.c -- kaivox-scheduling: services, staff, working hours,
 * appointments, available slots, and the appointment event outbox.
 *
 * This file only wires things: the operation table the gateway's routes
 * (and other services) call by name, the statement table of db.c, and the
 * producer flag that makes kv_service answer events.since and publish
 * events.  Everything else lives in the resource files (see sched.h).
 */
#include "sched.h"
#include "kv_log.h"
#include "kv_outbox.h"

/* Operation names and flags live in the registry (proto/kv_ops.h). */
static const kv_op_t s_ops[] = {
    { KV_OP(SERVICES_LIST),               sched_services_list },
    { KV_OP(SERVICES_GET),                sched_services_get },
    { KV_OP(STAFF_LIST),                  sched_staff_list },
    { KV_OP(STAFF_GET),                   sched_staff_get },
    { KV_OP(APPOINTMENTS_SLOTS),          sched_slots },
    { KV_OP(APPOINTMENTS_LIST),           sched_appointments_list },
    { KV_OP(APPOINTMENTS_CREATE),         sched_appointments_create },
    { KV_OP(APPOINTMENTS_GET),            sched_appointments_get },
    { KV_OP(APPOINTMENTS_CANCEL),         sched_appointments_cancel },
    { KV_OP(APPOINTMENTS_SET_STATUS),     sched_appointments_set_status },
    { KV_OP(APPOINTMENTS_UPDATE),         sched_appointments_update },
    { KV_OP(APPOINTMENTS_HOLD_CREATE),    sched_holds_create },
    { KV_OP(APPOINTMENTS_HOLD_RELEASE),   sched_holds_release },
    { KV_OP(APPOINTMENTS_CUSTOMER_STATS), sched_customer_stats },
    { KV_OP(APPOINTMENTS_OF_CALL),        sched_appointments_of_call },
    { KV_OP(APPOINTMENTS_BOOKED_CALLS),   sched_booked_calls },
    { KV_OP(ADMIN_SERVICES_CREATE),       sched_admin_services_create },
    { KV_OP(ADMIN_SERVICES_UPDATE),       sched_admin_services_update },
    { KV_OP(ADMIN_STAFF_CREATE),          sched_admin_staff_create },
    { KV_OP(ADMIN_STAFF_UPDATE),          sched_admin_staff_update },
    { KV_OP(EVENTS_SINCE),                kv_outbox_since_op },
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    kv_log_init(KV_SVC_SCHEDULING);
    const kv_service_def_t def = {
        .name = KV_SVC_SCHEDULING,
        .ops = s_ops,
        .stmts = sched_stmts,
        .producer = 1,
    };
    return kv_service_run(&def, argc, argv);
}
