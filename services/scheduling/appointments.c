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
 * (date, time, id).
 */
#include <stdio.h>
#include <string.h>

#include "sched.h"
#include "kv_client.h"
#include "kv_log.h"
#include "kv_outbox.h"

#define SCHED_CRM_TIMEOUT 2000

/* ---- list ---------------------------------------------------------------- */

/* appointments.list: query status, date, staff_id, page, per_page. */
void sched_appointments_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL;
    json_t *errors = json_object();
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

/* appointments.create: body {customer_id, service_id, staff_id?,
 * appointment_date, appointment_time, notes?, source?, allow_off_grid?}
 * (sched_parse_create) -> 201 appointment | 422 | 409. */
void sched_appointments_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    PGresult *sv = NULL, *cand = NULL, *r = NULL;
    sched_create_t in;
    kv_date_t today;
    int now_min = 0;

    if (sched_parse_create(req->body, sched_step(req), &in, errors) != 0)
        goto invalid;
    const int64_t customer_id = in.customer_id, service_id = in.service_id;
    const int64_t staff_id = in.staff_id;
    const int has_staff = staff_id > 0, start = in.start;
    const kv_date_t date = in.date;

    /* against the tenant's clock */
    if (sched_tenant_now(ctx, req, &today, &now_min) != 0)
        goto fail;
    int64_t day = kv_date_to_days(&date), today_days = kv_date_to_days(&today);
    if (day < today_days) {
        kv_errors_add(errors, "appointment_date", "The appointment date must be today or a later date.");
        goto invalid;
    }
    if (day == today_days && start <= now_min) {
        kv_errors_add(errors, "appointment_time", "The appointment time must be in the future.");
        goto invalid;
    }

    char tid[KV_DB_I64_LEN], svc[KV_DB_I64_LEN], stf[KV_DB_I64_LEN], cus[KV_DB_I64_LEN];
    char dtxt[11], wd[4], s0[8], s1[8], dur[8], price[KV_DB_I64_LEN];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_db_i64_param(svc, service_id);
    kv_db_i64_param(stf, staff_id);
    kv_db_i64_param(cus, customer_id);
    kv_format_date(&date, dtxt);
    snprintf(wd, sizeof wd, "%d", kv_date_weekday(&date));

    const char *ps[2] = { tid, svc };
    sv = kv_db_exec(ctx->db, KV_RID(req), "services_get", 2, ps);
    if (!sv)
        goto fail;
    if (PQntuples(sv) == 0) {
        kv_errors_add(errors, "service_id", "The selected service is invalid.");
    } else {
        int duration = (int)kv_db_i64(sv, 0, SCHED_S_DURATION);
        snprintf(dur, sizeof dur, "%d", duration);
        kv_db_i64_param(price, kv_db_i64(sv, 0, SCHED_S_PRICE));
        snprintf(s0, sizeof s0, "%d", start);
        snprintf(s1, sizeof s1, "%d", start + duration);
        if (start + duration > 1440) {
            kv_errors_add(errors, "appointment_time",
                          "The selected time is outside the working hours.");
        } else if (has_staff) {
            const char *pc[6] = { tid, stf, svc, wd, s0, s1 };
            cand = kv_db_exec(ctx->db, KV_RID(req), "appt_staff_check", 6, pc);
            if (!cand)
                goto fail;
            if (PQntuples(cand) == 0)
                kv_errors_add(errors, "staff_id", "The selected staff member is invalid.");
            else if (kv_db_str(cand, 0, 1)[0] != 't')
                kv_errors_add(errors, "staff_id",
                              "The selected staff member does not perform this service.");
            else if (kv_db_str(cand, 0, 2)[0] != 't')
                kv_errors_add(errors, "appointment_time",
                              "The selected time is outside the staff member's working hours.");
        } else {
            const char *pc[6] = { tid, svc, dtxt, wd, s0, s1 };
            cand = kv_db_exec(ctx->db, KV_RID(req), "appt_candidates", 6, pc);
            if (!cand)
                goto fail;
            if (PQntuples(cand) == 0)
                kv_errors_add(errors, "appointment_time",
                              "No staff member performs this service at the selected time.");
        }
    }
    int known = s_customer_exists(ctx, req, customer_id);
    if (known == 0)
        kv_errors_add(errors, "customer_id", "The selected customer does not exist.");
    if (json_object_size(errors) > 0)
        goto invalid;
    if (known < 0) {
        kv_reply_unavailable(rep);
        goto out;
    }

    /* insert with each candidate in turn; the constraint decides */
    int ncand = PQntuples(cand);
    for (int i = 0; i < ncand; i++) {
        const char *who = kv_db_str(cand, i, 0);
        const char *pi[10] = { tid, cus, svc, who, dtxt, s0, in.notes, in.source, price, dur };
        if (kv_db_begin(ctx->db, KV_RID(req)) != 0)
            goto fail;
        r = kv_db_exec(ctx->db, KV_RID(req), "appt_insert", 10, pi);
        if (!r) {
            if (strcmp(kv_db_sqlstate(ctx->db), KV_SQLSTATE_EXCLUSION) == 0) {
                kv_db_rollback(ctx->db, KV_RID(req));
                continue;
            }
            goto fail;
        }
        if (PQntuples(r) != 1)
            goto fail;
        s_commit_with_event(ctx, req, rep, r, "appointment.created", KV_ST_CREATED);
        goto out;
    }
    kv_reply_error(rep, KV_ST_CONFLICT, "The selected time slot is no longer available.", NULL);
    goto out;
invalid:
    kv_reply_invalid(rep, errors);
    errors = NULL;
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    if (sv)
        PQclear(sv);
    if (cand)
        PQclear(cand);
    if (r)
        PQclear(r);
    if (errors)
        json_decref(errors);
    sched_create_cleanup(&in);
}
