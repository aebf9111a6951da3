/*
 * sched.h -- the internal interface of the scheduling service.
 *
 * main.c wires the operation handlers declared here into a kv_service_def_t;
 * db.c holds every SQL statement (sched_stmts); the resource files
 * (services.c, staff.c, admin.c, appointments.c, availability.c, stats.c)
 * hold the handlers; json.c builds the public objects from result rows and
 * holds the small helpers every handler shares.  The pure slot arithmetic
 * lives apart in slots.h / slots.c, the input rules in sched_valid.h /
 * sched_valid.c.
 */
#ifndef SCHED_H
#define SCHED_H

#include <stdint.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "kv_service.h"
#include "kv_valid.h"
#include "sched_valid.h"
#include "slots.h"

/* Every statement of the service, prepared at connect time (db.c). */
extern const kv_stmt_t sched_stmts[];

/* Column order of every statement that returns an appointment
 * (SCHED_APPT_COLS in db.c). */
enum {
    SCHED_A_ID = 0, SCHED_A_CUSTOMER, SCHED_A_SERVICE, SCHED_A_SERVICE_NAME,
    SCHED_A_STAFF, SCHED_A_STAFF_NAME, SCHED_A_DATE, SCHED_A_START, SCHED_A_END,
    SCHED_A_DURATION, SCHED_A_STATUS, SCHED_A_NOTES, SCHED_A_SOURCE, SCHED_A_PRICE,
    SCHED_A_CREATED, SCHED_A_UPDATED
};

/* Column order of every statement that returns a service (SCHED_SVC_COLS). */
enum {
    SCHED_S_ID = 0, SCHED_S_NAME, SCHED_S_DURATION, SCHED_S_PRICE, SCHED_S_ACTIVE,
    SCHED_S_CREATED, SCHED_S_UPDATED
};

/* Column order of the staff statements staff_get / staff_get_any
 * (SCHED_STAFF_COLS). */
enum {
    SCHED_T_ID = 0, SCHED_T_NAME, SCHED_T_SPECIALTIES, SCHED_T_ACTIVE,
    SCHED_T_CREATED, SCHED_T_UPDATED, SCHED_T_MIN_DURATION
};

/* The default slot interval when the tenant has none. */
#define SCHED_DEFAULT_STEP 15
/* How far ahead staff.list looks for a next available slot. */
#define SCHED_NEXT_SLOT_DAYS 30

/* ---- handlers (kv_op_fn) ---------------------------------------------- */
void sched_services_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_services_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_admin_services_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_admin_services_update(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_admin_staff_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_admin_staff_update(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_staff_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_staff_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_slots(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_appointments_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_appointments_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_appointments_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_appointments_cancel(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_appointments_set_status(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_customer_stats(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);

/* ---- availability (availability.c) ------------------------------------ */

/* The earliest bookable start within SCHED_NEXT_SLOT_DAYS from today of
 * each staff member ids[i] (ascending ids) for a service of duration[i]
 * minutes (<= 0: none).  Fills out_day[i] (days after today, -1 when none)
 * and out_min[i].  0 or -1 (database failure). */
int sched_next_slots(kv_ctx_t *ctx, const kv_req_t *req, const int64_t *ids,
                     const int *duration, size_t n, const kv_date_t *today, int now_min,
                     int *out_day, int *out_min);

/* ---- object builders (json.c) ----------------------------------------- */

/* cents as a JSON number with the decimals of the amount (2550 -> 25.5,
 * 2500 -> 25.0).  New reference. */
json_t *sched_price_json(long long cents);
/* The service object {"id","name","duration","price"} of row (SCHED_S_*
 * columns); admin adds "active", "created_at", "updated_at".  New reference. */
json_t *sched_service_json(const PGresult *r, int row, int admin);
/* The fields every staff object shares {"id","name","specialties"} of row
 * (SCHED_T_* columns); staff.c and admin.c add the rest.  New reference. */
json_t *sched_staff_json(const PGresult *r, int row);
/* The appointment object of row (SCHED_A_* columns).  New reference. */
json_t *sched_appt_json(const PGresult *r, int row);
/* working_hours {"mon":[{"start","end"}],...,"sun":[]} of staff_id from a
 * staff_hours_of result (staff_id, weekday, start_min, end_min).  New
 * reference. */
json_t *sched_hours_json(const PGresult *r, int64_t staff_id);

/* ---- shared helpers (json.c) ------------------------------------------- */

/* Answers a failed statement: rolls back any open transaction, 503 when
 * the database connection is the trouble, 500 otherwise. */
void sched_db_fail(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);

/* The tenant's current local date and minute of the day, asked of
 * PostgreSQL in the tenant's time zone (UTC when none).  0 or -1. */
int sched_tenant_now(kv_ctx_t *ctx, const kv_req_t *req, kv_date_t *today, int *now_min);

/* The slot interval of the request's tenant (default 15). */
int sched_step(const kv_req_t *req);

#endif
