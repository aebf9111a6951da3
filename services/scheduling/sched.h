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
    SCHED_A_CREATED, SCHED_A_UPDATED, SCHED_A_CALL, SCHED_A_BUF_BEFORE, SCHED_A_BUF_AFTER
};

/* Column order of every statement that returns a service (SCHED_SVC_COLS). */
enum {
    SCHED_S_ID = 0, SCHED_S_NAME, SCHED_S_DURATION, SCHED_S_PRICE, SCHED_S_ACTIVE,
    SCHED_S_CREATED, SCHED_S_UPDATED, SCHED_S_BUF_BEFORE, SCHED_S_BUF_AFTER, SCHED_S_NOTICE,
    SCHED_S_ADVANCE
};

/* Column order of the statements that return a hold (SCHED_HOLD_COLS). */
enum {
    SCHED_H_ID = 0, SCHED_H_SERVICE, SCHED_H_STAFF, SCHED_H_DATE, SCHED_H_START, SCHED_H_END,
    SCHED_H_EXPIRES, SCHED_H_CALL, SCHED_H_DURATION, SCHED_H_PRICE, SCHED_H_BUF_BEFORE,
    SCHED_H_BUF_AFTER, SCHED_H_CALL_STARTED, SCHED_H_EXPIRED
};

/* Column order of the staff statements staff_get / staff_get_any
 * (SCHED_STAFF_COLS); the last five are the shortest service the member
 * performs (NULL when none): its duration and booking rules. */
enum {
    SCHED_T_ID = 0, SCHED_T_NAME, SCHED_T_SPECIALTIES, SCHED_T_ACTIVE,
    SCHED_T_CREATED, SCHED_T_UPDATED, SCHED_T_MIN_DURATION, SCHED_T_BUF_BEFORE,
    SCHED_T_BUF_AFTER, SCHED_T_NOTICE, SCHED_T_ADVANCE
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
void sched_appointments_update(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_holds_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_holds_release(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_customer_stats(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_appointments_of_call(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void sched_booked_calls(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);

/* ---- booking (booking.c): what create, holds and reschedule share ------- */

/* A service as bookings see it: snapshots and rules. */
typedef struct {
    int64_t id;
    int duration;            /* minutes */
    int64_t price_cents;
    sched_rules_t rules;     /* buffers, notice, advance */
} sched_svc_t;

/* Fills *svc from row of a statement returning SCHED_SVC_COLS. */
void sched_svc_from_row(const PGresult *r, int row, sched_svc_t *svc);

/* Loads service id of the request's tenant into *svc: only an active one
 * unless any.  1 found, 0 none, -1 database failure. */
int sched_svc_load(kv_ctx_t *ctx, const kv_req_t *req, int64_t id, int any, sched_svc_t *svc);

/* The staff members who may take service svc at minute start of date:
 * staff_id (> 0) when that member is active, performs the service and
 * works the whole span, else every such member, the ones free then first.
 * Problems are added to errors (staff_id, appointment_time).  0 with *cand
 * (column 0: staff id; caller owns it, NULL when errors were added before
 * any query), or -1 on a database failure. */
int sched_candidates(kv_ctx_t *ctx, const kv_req_t *req, const sched_svc_t *svc,
                     const kv_date_t *date, int start, int64_t staff_id, PGresult **cand,
                     json_t *errors);

/* Asks crm whether customer id exists in the tenant: 1 yes, 0 no, -1 crm
 * could not tell. */
int sched_customer_exists(kv_ctx_t *ctx, const kv_req_t *req, int64_t id);

/* Asks calls whether call id exists in the tenant: 1 yes (started_at gets
 * its start, RFC 3339 UTC), 0 no, -1 calls could not tell. */
int sched_call_lookup(kv_ctx_t *ctx, const kv_req_t *req, int64_t id, char started_at[40]);

/* Answers 409 for a slot that is taken (or a hold that expired): the
 * message and data.alternatives, the up to KV_ALTERNATIVES_MAX free starts
 * of service svc on date nearest to minute asked (of staff_id when > 0),
 * in the shape of /slots; exclude > 0 leaves that appointment's own busy
 * interval out (it is the one being moved).  Runs outside any transaction;
 * a database failure answers 500/503 instead. */
void sched_reply_conflict(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep, const char *msg,
                          const sched_svc_t *svc, const kv_date_t *date, int asked,
                          int64_t staff_id, int64_t exclude);

/* The message of every 409 for a taken slot. */
#define SCHED_MSG_TAKEN "The selected time slot is no longer available."

/* ---- availability (availability.c) ------------------------------------ */

/* The bookable starts of service svc on date (of staff_id when > 0, else
 * of every eligible active member) by working hours, bookings, live holds,
 * buffers, the tenant's clock and the service's min_notice / max_advance;
 * exclude > 0 ignores that appointment's own busy interval.  Sets *out
 * (sorted by time, then staff id; caller frees it) and *n.  0, or -1 on a
 * database failure. */
int sched_day_slots(kv_ctx_t *ctx, const kv_req_t *req, const sched_svc_t *svc,
                    const kv_date_t *date, int64_t staff_id, int64_t exclude,
                    const kv_date_t *today, int now_min, sched_slot_t **out, size_t *n);

/* The /slots objects {"time","end_time","staff_ids"} of the starts
 * times[0..ntimes) (in that order) from the slots v[0..n) of
 * sched_day_slots, for a service of duration minutes, as one array:
 * written into w (the /slots answer), or read back into a tree (new
 * reference; a conflict's alternatives), so that both are one definition. */
void sched_slots_write(kv_jw_t *w, const sched_slot_t *v, size_t n, int duration,
                       const int *times, size_t ntimes);
json_t *sched_slots_json(const sched_slot_t *v, size_t n, int duration, const int *times,
                         size_t ntimes);

/* The earliest bookable start within SCHED_NEXT_SLOT_DAYS from today of
 * each staff member ids[i] (ascending ids) for a service of duration[i]
 * minutes (<= 0: none) with rules[i] (buffers, notice, advance).  Fills
 * out_day[i] (days after today, -1 when none) and out_min[i].  0 or -1
 * (database failure). */
int sched_next_slots(kv_ctx_t *ctx, const kv_req_t *req, const int64_t *ids,
                     const int *duration, const sched_rules_t *rules, size_t n,
                     const kv_date_t *today, int now_min, int *out_day, int *out_min);

/* ---- object builders (json.c) ----------------------------------------- */

/* cents as a JSON number with the decimals of the amount (2550 -> 25.5,
 * 2500 -> 25.0).  New reference. */
json_t *sched_price_json(long long cents);
/* The service object {"id","name","duration","price",...} of row
 * (SCHED_S_* columns); admin adds "active", "created_at", "updated_at".
 * sched_service_write writes it into w (a page of the list);
 * sched_service_json reads that text back into a tree (new reference),
 * so that both are one definition. */
void sched_service_write(kv_jw_t *w, const PGresult *r, int row, int admin);
json_t *sched_service_json(const PGresult *r, int row, int admin);
/* The fields every staff object shares {"id","name","specialties"} of row
 * (SCHED_T_* columns); staff.c and admin.c add the rest.  New reference. */
json_t *sched_staff_json(const PGresult *r, int row);
/* The appointment object of row (SCHED_A_* columns).  New reference. */
json_t *sched_appt_json(const PGresult *r, int row);
/* The hold object {"id","service_id","staff_id","appointment_date",
 * "appointment_time","end_time","expires_at","call_id"} of row (SCHED_H_*
 * columns).  New reference. */
json_t *sched_hold_json(const PGresult *r, int row);
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
/* The tenant's time zone from the request's context ("UTC" when none). */
const char *sched_tenant_tz(const kv_req_t *req);
/* *today and *now_min from r, a result of sched_now.  0, or -1 when r is
 * not one well-formed row. */
int sched_tenant_now_of(const PGresult *r, kv_date_t *today, int *now_min);

/* The slot interval of the request's tenant (default 15). */
int sched_step(const kv_req_t *req);

#endif
