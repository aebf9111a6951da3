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

static const kv_op_t s_ops[] = {
    { "services.list",               sched_services_list,           0 },
    { "services.get",                sched_services_get,            0 },
    { "staff.list",                  sched_staff_list,              0 },
    { "staff.get",                   sched_staff_get,               0 },
    { "appointments.slots",          sched_slots,                   0 },
    { "appointments.list",           sched_appointments_list,       0 },
    { "appointments.create",         sched_appointments_create,     0 },
    { "appointments.get",            sched_appointments_get,        0 },
    { "appointments.cancel",         sched_appointments_cancel,     0 },
    { "appointments.set_status",     sched_appointments_set_status, 0 },
    { "appointments.update",         sched_appointments_update,     0 },
    { "appointments.hold_create",    sched_holds_create,            0 },
    { "appointments.hold_release",   sched_holds_release,           0 },
    { "appointments.customer_stats", sched_customer_stats,          0 },
    { "appointments.of_call",        sched_appointments_of_call,    0 },
    { "appointments.booked_calls",   sched_booked_calls,            0 },
    { "admin.services.create",       sched_admin_services_create,   0 },
    { "admin.services.update",       sched_admin_services_update,   0 },
    { "admin.staff.create",          sched_admin_staff_create,      0 },
    { "admin.staff.update",          sched_admin_staff_update,      0 },
    { KV_OP_EVENTS_SINCE,            kv_outbox_since_op,            1 },
    { NULL, NULL, 0 }
};

int main(void)
{
    kv_log_init(KV_SVC_SCHEDULING);
    const kv_service_def_t def = {
        .name = KV_SVC_SCHEDULING,
        .ops = s_ops,
        .stmts = sched_stmts,
        .producer = 1,
    };
    return kv_service_run(&def);
}
