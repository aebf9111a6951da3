/*
 * appointments.c -- the six Appointments endpoints but slots (list,
 * create, show, cancel, status) and the events they record.
 *
 * Double booking is the database's job: the exclusion constraint
 * appointments_no_double_booking refuses an overlapping non-cancelled
 * appointment of the same staff member, so create simply inserts and maps
 * SQLSTATE 23P01 to 409.  Creating and cancelling write their event
 * (appointment.created / appointment.cancelled, payload = the appointment
 * object) to the outbox in the same transaction as the change, then
 * publish it after COMMIT.
 *
 * Status changes (PATCH .../status and DELETE) follow the transition table
 * of sched_transition (sched_valid.c): the row is locked (SELECT ... FOR
 * UPDATE, which also asks PostgreSQL whether the appointment has started
 * in the tenant's time zone), the table decides, and only an allowed
 * change writes -- so a refused change fires no event and moves no
 * customer figure, and two concurrent changes are decided one after the
 * other.  Setting the status an appointment already has changes nothing,
 * records nothing and answers 200.
 *
 * All input rules are in sched_valid.c; the list is ordered chronologically
 * (date, time, id).  With updated_since or cursor the list is a sync page
 * instead: the tenant's appointments in change order (kv_sync.h).
 */
#include <stdio.h>
#include <string.h>

#include "sched.h"
#include "kv_client.h"
#include "kv_log.h"
#include "kv_outbox.h"
#include "kv_sync.h"

#define SCHED_CRM_TIMEOUT 2000

/* ---- list ---------------------------------------------------------------- */

/* The list's filters: none of them combines with a sync page. */
static const char *const s_list_filters[] = { "status", "date", "staff_id", NULL };

/* One sync page (updated_since / cursor): the tenant's appointments in
 * change order, with the sync meta (kv_sync.h). */
static void s_list_sync(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                        const kv_sync_req_t *q)
{
    PGresult *r = NULL;
    json_t *meta = NULL;
    int shown;
    if (kv_sync_fetch(ctx->db, KV_RID(req), "appt_sync_first", "appt_sync_next",
                      KV_SYNC_APPOINTMENTS, KV_TENANT(req), q, &r, &shown, &meta) != 0) {
        sched_db_fail(ctx, req, rep);
        return;
    }
    json_t *data = json_array();
    for (int i = 0; i < shown; i++)
        json_array_append_new(data, sched_appt_json(r, i));
    kv_reply_ok(rep, KV_ST_OK, data, meta);
    PQclear(r);
}

/* appointments.list: query status, date, staff_id, page, per_page; or
 * updated_since / cursor with per_page (a sync page). */
void sched_appointments_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL;
    json_t *errors = json_object();
    kv_sync_req_t sq;
    int sync = kv_query_sync(req->query, KV_SYNC_APPOINTMENTS, KV_TENANT(req), s_list_filters,
                             &sq, errors);
    if (sync == KV_FIELD_BAD) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    if (sync == KV_FIELD_OK) {
        s_list_sync(ctx, req, rep, &sq);
        goto out;
    }
    sched_list_query_t q;
    if (sched_parse_list(req->query, &q, errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    char tid[KV_DB_I64_LEN], stf[KV_DB_I64_LEN], lim[KV_DB_I64_LEN], off[KV_DB_I64_LEN];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_db_i64_param(stf, q.staff_id);
    long long offset = kv_page_params(q.page, q.per_page, lim, off);
    const char *p[6] = { tid, q.status, q.date[0] ? q.date : NULL, q.staff_id ? stf : NULL,
                         lim, off };
    long long total;
    if (kv_db_page(ctx->db, KV_RID(req), "appt_count", 4, p, "appt_list", 6, p, offset,
                   &total, &r) != 0)
        goto fail;
    json_t *data = json_array();
    for (int i = 0; r && i < PQntuples(r); i++)
        json_array_append_new(data, sched_appt_json(r, i));
    kv_reply_ok(rep, KV_ST_OK, data, kv_meta_page(q.page, q.per_page, total));
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    if (r)
        PQclear(r);
    if (errors)
        json_decref(errors);
}

/* ---- show ---------------------------------------------------------------- */

/* Runs appt_get for id; NULL on database failure. */
static PGresult *s_get(kv_ctx_t *ctx, const kv_req_t *req, int64_t id)
{
    char tid[KV_DB_I64_LEN], aid[KV_DB_I64_LEN];
    const char *p[2] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(aid, id) };
    return kv_db_exec(ctx->db, KV_RID(req), "appt_get", 2, p);
}

/* appointments.get: params id -> data appointment | 404. */
void sched_appointments_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t id = kv_param_id(req, "id");
    if (id <= 0) {
        kv_reply_not_found(rep, "Appointment");
        return;
    }
    PGresult *r = s_get(ctx, req, id);
    if (!r) {
        sched_db_fail(ctx, req, rep);
        return;
    }
    if (PQntuples(r) == 0)
        kv_reply_not_found(rep, "Appointment");
    else
        kv_reply_ok(rep, KV_ST_OK, sched_appt_json(r, 0), NULL);
    PQclear(r);
}

/* ---- changes with an event ------------------------------------------------ */

/* Inside an open transaction whose last statement returned the changed
 * appointment in r (one row): records event type, commits, publishes, and
 * answers status with the appointment.  On failure rolls back and answers
 * 500/503.  Does not take r. */
static void s_commit_with_event(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                                const PGresult *r, const char *type, int status)
{
    kv_outbox_event_t ev;
    memset(&ev, 0, sizeof ev);
    json_t *obj = sched_appt_json(r, 0);
    if (kv_outbox_add(ctx, KV_RID(req), KV_TENANT(req), type, obj, &ev) != 0
        || kv_db_commit(ctx->db, KV_RID(req)) != 0) {
        kv_outbox_event_clear(&ev);
        json_decref(obj);
        sched_db_fail(ctx, req, rep);
        return;
    }
    kv_outbox_publish(ctx, &ev);
    kv_info(KV_RID(req), "%s appointment %lld seq %lld", type,
            (long long)kv_db_i64(r, 0, SCHED_A_ID), (long long)ev.hdr.seq);
    kv_outbox_event_clear(&ev);
    kv_reply_ok(rep, status, obj, NULL);
}

/* Moves appointment id to status `to` (DELETE: "cancelled"; PATCH
 * .../status: the body's) by the transition table: 200 with the
 * appointment when it changed or already had that status, 422
 * errors.status when the table refuses, 404 when there is no such
 * appointment in the tenant.  Only a change to cancelled records an event
 * (appointment.cancelled). */
static void s_change_status(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep, int64_t id,
                            const char *to)
{
    PGresult *r = NULL;
    char tid[KV_DB_I64_LEN], aid[KV_DB_I64_LEN];
    const char *tz = req->hdr->tenant_tz[0] ? req->hdr->tenant_tz : "UTC";
    const char *p[3] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(aid, id), tz };
    if (kv_db_begin(ctx->db, KV_RID(req)) != 0)
        goto fail;
    r = kv_db_exec(ctx->db, KV_RID(req), "appt_lock", 3, p);
    if (!r)
        goto fail;
    if (PQntuples(r) == 0) {
        kv_db_rollback(ctx->db, KV_RID(req));
        kv_reply_not_found(rep, "Appointment");
        goto out;
    }
    const char *why;
    int tr = sched_transition(kv_db_str(r, 0, 0), to, kv_db_str(r, 0, 1)[0] == 't', &why);
    PQclear(r);
    r = NULL;
    if (tr == SCHED_TR_REFUSED) {
        kv_db_rollback(ctx->db, KV_RID(req));
        json_t *errors = json_object();
        kv_errors_add(errors, "status", why);
        kv_reply_invalid(rep, errors);
        goto out;
    }
    if (tr == SCHED_TR_SAME) {
        /* nothing changes: the appointment as it is, no event */
        r = kv_db_exec(ctx->db, KV_RID(req), "appt_get", 2, p);
        if (!r || PQntuples(r) != 1 || kv_db_commit(ctx->db, KV_RID(req)) != 0)
            goto fail;
        kv_reply_ok(rep, KV_ST_OK, sched_appt_json(r, 0), NULL);
        goto out;
    }
    const char *pu[3] = { tid, aid, to };
    r = kv_db_exec(ctx->db, KV_RID(req), "appt_set_status", 3, pu);
    if (!r || PQntuples(r) != 1)
        goto fail;
    if (strcmp(to, "cancelled") == 0) {
        s_commit_with_event(ctx, req, rep, r, "appointment.cancelled", KV_ST_OK);
        goto out;
    }
    if (kv_db_commit(ctx->db, KV_RID(req)) != 0)
        goto fail;
    kv_info(KV_RID(req), "appointment %lld set to %s", (long long)id, to);
    kv_reply_ok(rep, KV_ST_OK, sched_appt_json(r, 0), NULL);
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    if (r)
        PQclear(r);
}

/* appointments.cancel: params id -> data appointment (status cancelled). */
void sched_appointments_cancel(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t id = kv_param_id(req, "id");
    if (id <= 0) {
        kv_reply_not_found(rep, "Appointment");
        return;
    }
    s_change_status(ctx, req, rep, id, "cancelled");
}

/* appointments.set_status: params id, body {"status"} -> data appointment. */
void sched_appointments_set_status(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t id = kv_param_id(req, "id");
    if (id <= 0) {
        kv_reply_not_found(rep, "Appointment");
        return;
    }
    json_t *errors = json_object();
    const char *status;
    if (sched_parse_status(req->body, &status, errors) != 0) {
        kv_reply_invalid(rep, errors);
        return;
    }
    json_decref(errors);
    s_change_status(ctx, req, rep, id, status);
}

/* ---- create -------------------------------------------------------------- */

/* Asks crm whether customer id exists in the tenant: 1 yes, 0 no, -1 crm
 * could not tell. */
static int s_customer_exists(kv_ctx_t *ctx, const kv_req_t *req, int64_t id)
{
    char cid[KV_DB_I64_LEN];
    json_t *params = json_pack("{ss}", "id", kv_db_i64_param(cid, id));
    json_t *out = NULL;
    int st = kv_client_call(ctx->bus, req->hdr, KV_SVC_CRM, "customers.lookup", params, NULL,
                            SCHED_CRM_TIMEOUT, &out);
    json_decref(params);
    if (out)
        json_decref(out);
    if (st == KV_ST_OK)
        return 1;
    if (st == KV_ST_NOT_FOUND)
        return 0;
    kv_warn(KV_RID(req), "crm customers.lookup answered %d", st);
    return -1;
}

/* The statement parameters of one booking, as decimal text. */
typedef struct {
    char tid[KV_DB_I64_LEN], svc[KV_DB_I64_LEN], stf[KV_DB_I64_LEN], cus[KV_DB_I64_LEN];
    char date[11], weekday[4], start[8], end[8], duration[8], price[KV_DB_I64_LEN];
} s_booking_t;

/* Checks the booking against the tenant's service and staff: the service
 * must be active, and the named staff member (or, without one, some active
 * staff member) must perform it and work the whole span.  Fills b's
 * duration, end and price, and *cand with the staff members who may take
 * it, best first (column 0: staff id).  Problems are added to errors.
 * Returns 0, or -1 on a database failure.  Caller owns *cand. */
static int s_candidates(kv_ctx_t *ctx, const kv_req_t *req, const sched_create_t *in,
                        s_booking_t *b, PGresult **cand, json_t *errors)
{
    *cand = NULL;
    const char *ps[2] = { b->tid, b->svc };
    PGresult *sv = kv_db_exec(ctx->db, KV_RID(req), "services_get", 2, ps);
    if (!sv)
        return -1;
    if (PQntuples(sv) == 0) {
        kv_errors_add(errors, "service_id", "The selected service is invalid.");
        PQclear(sv);
        return 0;
    }
    int duration = (int)kv_db_i64(sv, 0, SCHED_S_DURATION);
    snprintf(b->duration, sizeof b->duration, "%d", duration);
    snprintf(b->end, sizeof b->end, "%d", in->start + duration);
    kv_db_i64_param(b->price, kv_db_i64(sv, 0, SCHED_S_PRICE));
    PQclear(sv);
    if (in->start + duration > 1440) {
        kv_errors_add(errors, "appointment_time", "The selected time is outside the working hours.");
        return 0;
    }
    if (in->staff_id > 0) {
        const char *pc[6] = { b->tid, b->stf, b->svc, b->weekday, b->start, b->end };
        *cand = kv_db_exec(ctx->db, KV_RID(req), "appt_staff_check", 6, pc);
        if (!*cand)
            return -1;
        if (PQntuples(*cand) == 0)
            kv_errors_add(errors, "staff_id", "The selected staff member is invalid.");
        else if (kv_db_str(*cand, 0, 1)[0] != 't')
            kv_errors_add(errors, "staff_id",
                          "The selected staff member does not perform this service.");
        else if (kv_db_str(*cand, 0, 2)[0] != 't')
            kv_errors_add(errors, "appointment_time",
                          "The selected time is outside the staff member's working hours.");
        return 0;
    }
    const char *pc[6] = { b->tid, b->svc, b->date, b->weekday, b->start, b->end };
    *cand = kv_db_exec(ctx->db, KV_RID(req), "appt_candidates", 6, pc);
    if (!*cand)
        return -1;
    if (PQntuples(*cand) == 0)
        kv_errors_add(errors, "appointment_time",
                      "No staff member performs this service at the selected time.");
    return 0;
}

/* Inserts the booking with each candidate of cand in turn until the
 * exclusion constraint accepts one: 201 with its appointment.created event,
 * 409 when every candidate is taken, 500/503 on a database failure. */
static void s_insert_first(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                           const s_booking_t *b, const sched_create_t *in, const PGresult *cand)
{
    int ncand = PQntuples(cand);
    for (int i = 0; i < ncand; i++) {
        const char *who = kv_db_str(cand, i, 0);
        const char *pi[10] = { b->tid, b->cus, b->svc, who, b->date, b->start, in->notes,
                               in->source, b->price, b->duration };
        if (kv_db_begin(ctx->db, KV_RID(req)) != 0)
            goto fail;
        PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "appt_insert", 10, pi);
        if (!r) {
            if (strcmp(kv_db_sqlstate(ctx->db), KV_SQLSTATE_EXCLUSION) == 0) {
                kv_db_rollback(ctx->db, KV_RID(req));
                continue;
            }
            goto fail;
        }
        if (PQntuples(r) == 1)
            s_commit_with_event(ctx, req, rep, r, "appointment.created", KV_ST_CREATED);
        else
            sched_db_fail(ctx, req, rep);
        PQclear(r);
        return;
    }
    kv_reply_error(rep, KV_ST_CONFLICT, "The selected time slot is no longer available.", NULL);
    return;
fail:
    sched_db_fail(ctx, req, rep);
}

/* appointments.create: body {customer_id, service_id, staff_id?,
 * appointment_date, appointment_time, notes?, source?, allow_off_grid?}
 * (sched_parse_create) -> 201 appointment | 422 | 409. */
void sched_appointments_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    PGresult *cand = NULL;
    sched_create_t in;
    s_booking_t b;
    kv_date_t today;
    int now_min = 0;

    if (sched_parse_create(req->body, sched_step(req), &in, errors) != 0)
        goto invalid;

    /* against the tenant's clock */
    if (sched_tenant_now(ctx, req, &today, &now_min) != 0)
        goto fail;
    int64_t day = kv_date_to_days(&in.date), today_days = kv_date_to_days(&today);
    if (day < today_days) {
        kv_errors_add(errors, "appointment_date", "The appointment date must be today or a later date.");
        goto invalid;
    }
    if (day == today_days && in.start <= now_min) {
        kv_errors_add(errors, "appointment_time", "The appointment time must be in the future.");
        goto invalid;
    }

    /* against the tenant's service, staff and customers */
    memset(&b, 0, sizeof b);
    kv_db_i64_param(b.tid, KV_TENANT(req));
    kv_db_i64_param(b.svc, in.service_id);
    kv_db_i64_param(b.stf, in.staff_id);
    kv_db_i64_param(b.cus, in.customer_id);
    kv_format_date(&in.date, b.date);
    snprintf(b.weekday, sizeof b.weekday, "%d", kv_date_weekday(&in.date));
    snprintf(b.start, sizeof b.start, "%d", in.start);
    if (s_candidates(ctx, req, &in, &b, &cand, errors) != 0)
        goto fail;
    int known = s_customer_exists(ctx, req, in.customer_id);
    if (known == 0)
        kv_errors_add(errors, "customer_id", "The selected customer does not exist.");
    if (json_object_size(errors) > 0)
        goto invalid;
    if (known < 0) {
        kv_reply_unavailable(rep);
        goto out;
    }
    s_insert_first(ctx, req, rep, &b, &in, cand);
    goto out;
invalid:
    kv_reply_invalid(rep, errors);
    errors = NULL;
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    if (cand)
        PQclear(cand);
    if (errors)
        json_decref(errors);
    sched_create_cleanup(&in);
}
