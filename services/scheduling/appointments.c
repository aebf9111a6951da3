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
 * publish it after COMMIT.  Cancelling an appointment that is already
 * cancelled changes nothing, records nothing and answers 200.
 *
 * The list is ordered chronologically (date, time, id).
 */
#include <stdio.h>
#include <string.h>

#include "sched.h"
#include "kv_client.h"
#include "kv_log.h"
#include "kv_outbox.h"

#define SCHED_NOTES_MAX   5000
#define SCHED_SOURCE_MAX  50
#define SCHED_CRM_TIMEOUT 2000

static const char *const s_statuses[] = { "scheduled", "completed", "cancelled", "no_show", NULL };

/* ---- list ---------------------------------------------------------------- */

/* appointments.list: query status, date, staff_id, page, per_page. */
void sched_appointments_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL;
    json_t *errors = json_object();
    int page, per_page;
    kv_date_t date;
    int64_t staff_id = 0;
    kv_query_page(req->query, 20, 100, &page, &per_page, errors);
    const char *status = kv_query_str(req->query, "status");
    const char *ds = kv_query_str(req->query, "date");
    const char *ts = kv_query_str(req->query, "staff_id");
    if (status && !kv_pick(s_statuses, status))
        kv_errors_add(errors, "status",
                      "The selected status is invalid (scheduled, completed, cancelled, no_show).");
    if (ds && kv_parse_date(ds, &date) != 0)
        kv_errors_add(errors, "date", "The date must be a valid date in the format Y-m-d.");
    if (ts && sched_str_id(ts, &staff_id) != 0)
        kv_errors_add(errors, "staff_id", "The staff_id must be a positive integer.");
    if (json_object_size(errors) > 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    char tid[KV_DB_I64_LEN], dtxt[11], stf[KV_DB_I64_LEN], lim[KV_DB_I64_LEN], off[KV_DB_I64_LEN];
    kv_db_i64_param(tid, KV_TENANT(req));
    if (ds)
        kv_format_date(&date, dtxt);
    kv_db_i64_param(stf, staff_id);
    long long offset = kv_page_params(page, per_page, lim, off);
    const char *p[6] = { tid, status, ds ? dtxt : NULL, ts ? stf : NULL, lim, off };
    long long total;
    if (kv_db_page(ctx->db, KV_RID(req), "appt_count", 4, p, "appt_list", 6, p, offset,
                   &total, &r) != 0)
        goto fail;
    json_t *data = json_array();
    for (int i = 0; r && i < PQntuples(r); i++)
        json_array_append_new(data, sched_appt_json(r, i));
    kv_reply_ok(rep, KV_ST_OK, data, kv_meta_page(page, per_page, total));
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

/* Cancels appointment id (DELETE, or PATCH status to cancelled): 200 with
 * the appointment; one appointment.cancelled event only when it changed. */
static void s_cancel(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep, int64_t id)
{
    PGresult *r = NULL;
    char tid[KV_DB_I64_LEN], aid[KV_DB_I64_LEN];
    const char *p[2] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(aid, id) };
    if (kv_db_begin(ctx->db, KV_RID(req)) != 0)
        goto fail;
    r = kv_db_exec(ctx->db, KV_RID(req), "appt_cancel", 2, p);
    if (!r)
        goto fail;
    if (PQntuples(r) == 1) {
        s_commit_with_event(ctx, req, rep, r, "appointment.cancelled", KV_ST_OK);
        goto out;
    }
    /* nothing changed: missing, another tenant's, or already cancelled */
    kv_db_rollback(ctx->db, KV_RID(req));
    PQclear(r);
    r = s_get(ctx, req, id);
    if (!r)
        goto fail;
    if (PQntuples(r) == 0)
        kv_reply_not_found(rep, "Appointment");
    else
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
    s_cancel(ctx, req, rep, id);
}

/* appointments.set_status: params id, body {"status"} -> data appointment. */
void sched_appointments_set_status(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t id = kv_param_id(req, "id");
    if (id <= 0) {
        kv_reply_not_found(rep, "Appointment");
        return;
    }
    json_t *v = json_is_object(req->body) ? json_object_get(req->body, "status") : NULL;
    const char *status = json_string_value(v);
    if (!v || json_is_null(v) || !kv_pick(s_statuses, status)) {
        json_t *errors = json_object();
        kv_errors_add(errors, "status", (!v || json_is_null(v))
                      ? "The status field is required."
                      : "The selected status is invalid (scheduled, completed, cancelled, no_show).");
        kv_reply_invalid(rep, errors);
        return;
    }
    if (strcmp(status, "cancelled") == 0) {
        s_cancel(ctx, req, rep, id);
        return;
    }
    char tid[KV_DB_I64_LEN], aid[KV_DB_I64_LEN];
    const char *p[3] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(aid, id), status };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "appt_set_status", 3, p);
    if (!r) {
        if (strcmp(kv_db_sqlstate(ctx->db), KV_SQLSTATE_EXCLUSION) == 0)
            kv_reply_error(rep, KV_ST_CONFLICT, "The selected time slot is no longer available.", NULL);
        else
            sched_db_fail(ctx, req, rep);
        return;
    }
    if (PQntuples(r) == 0)
        kv_reply_not_found(rep, "Appointment");
    else
        kv_reply_ok(rep, KV_ST_OK, sched_appt_json(r, 0), NULL);
    PQclear(r);
}

/* ---- create -------------------------------------------------------------- */

/* Reads a required (or optional) id field.  1 absent, 0 valid, -1 invalid
 * (errors filled). */
static int s_body_id(json_t *body, const char *key, int required, json_t *errors, int64_t *out)
{
    json_t *v = json_object_get(body, key);
    char msg[96];
    if (!v || json_is_null(v)) {
        if (required) {
            snprintf(msg, sizeof msg, "The %s field is required.", key);
            kv_errors_add(errors, key, msg);
            return -1;
        }
        return 1;
    }
    if (sched_json_id(v, out) != 0) {
        snprintf(msg, sizeof msg, "The %s must be a positive integer.", key);
        kv_errors_add(errors, key, msg);
        return -1;
    }
    return 0;
}

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
 * appointment_date, appointment_time, notes?, source?} -> 201 appointment |
 * 422 | 409. */
void sched_appointments_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    json_t *empty = json_object();
    json_t *body = json_is_object(req->body) ? req->body : empty;
    PGresult *sv = NULL, *cand = NULL, *r = NULL;
    int64_t customer_id = 0, service_id = 0, staff_id = 0;
    kv_date_t date, today;
    int start = 0, now_min = 0;

    if (req->body && !json_is_null(req->body) && !json_is_object(req->body))
        kv_errors_add(errors, "body", "The request body must be a JSON object.");
    s_body_id(body, "customer_id", 1, errors, &customer_id);
    s_body_id(body, "service_id", 1, errors, &service_id);
    int has_staff = s_body_id(body, "staff_id", 0, errors, &staff_id) == 0;
    json_t *v = json_object_get(body, "appointment_date");
    if (!v || json_is_null(v))
        kv_errors_add(errors, "appointment_date", "The appointment_date field is required.");
    else if (!json_is_string(v) || kv_parse_date(json_string_value(v), &date) != 0)
        kv_errors_add(errors, "appointment_date",
                      "The appointment_date must be a valid date in the format Y-m-d.");
    v = json_object_get(body, "appointment_time");
    if (!v || json_is_null(v))
        kv_errors_add(errors, "appointment_time", "The appointment_time field is required.");
    else if (!json_is_string(v) || kv_parse_time(json_string_value(v), &start) != 0)
        kv_errors_add(errors, "appointment_time",
                      "The appointment_time must be a valid time in the format H:i.");
    const char *notes = NULL, *source = "api";
    v = json_object_get(body, "notes");
    if (v && !json_is_null(v)) {
        notes = json_string_value(v);
        if (!notes || !kv_valid_text(notes, SCHED_NOTES_MAX)) {
            kv_errors_add(errors, "notes", "The notes must be a string of at most 5000 bytes.");
            notes = NULL;
        }
    }
    v = json_object_get(body, "source");
    if (v && !json_is_null(v)) {
        source = json_string_value(v);
        if (!source || !kv_valid_text(source, SCHED_SOURCE_MAX * 4) || sched_utf8_len(source) < 1
            || sched_utf8_len(source) > SCHED_SOURCE_MAX) {
            kv_errors_add(errors, "source", "The source must be a string of 1 to 50 characters.");
            source = "api";
        }
    }
    if (json_object_size(errors) > 0)
        goto invalid;

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
        const char *pi[10] = { tid, cus, svc, who, dtxt, s0, notes, source, price, dur };
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
    json_decref(empty);
}
