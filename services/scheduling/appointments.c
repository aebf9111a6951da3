/*
 * appointments.c -- the six Appointments endpoints but slots (list,
 * create, show, cancel, status) and the events they record; create also
 * books a hold (hold_id) and links a call (call_id).
 *
 * Double booking is the database's job: the exclusion constraints
 * appointments_no_double_booking and busy_no_overlap (bookings and holds
 * with their buffers, sql/scheduling/002_holds_rules_calls.sql) refuse an
 * overlapping interval of the same staff member, so create simply inserts
 * and maps SQLSTATE 23P01 to 409 with the nearest free alternatives
 * (booking.c).  Creating and cancelling write their event
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

/* The statement parameters of one booking, as decimal text. */
typedef struct {
    char tid[KV_DB_I64_LEN], svc[KV_DB_I64_LEN], cus[KV_DB_I64_LEN];
    char date[11], start[8], duration[8], price[KV_DB_I64_LEN], bb[8], ba[8];
    char call[KV_DB_I64_LEN], call_at[40];
    int has_call;
} s_booking_t;

/* Fills b for customer in->customer_id booking svc at date / start, linked
 * to call (0: none) that started at call_at. */
static void s_booking(s_booking_t *b, const kv_req_t *req, const sched_create_t *in,
                      const sched_svc_t *svc, const kv_date_t *date, int start, int64_t call,
                      const char *call_at)
{
    memset(b, 0, sizeof *b);
    kv_db_i64_param(b->tid, KV_TENANT(req));
    kv_db_i64_param(b->svc, svc->id);
    kv_db_i64_param(b->cus, in->customer_id);
    kv_format_date(date, b->date);
    snprintf(b->start, sizeof b->start, "%d", start);
    snprintf(b->duration, sizeof b->duration, "%d", svc->duration);
    kv_db_i64_param(b->price, svc->price_cents);
    snprintf(b->bb, sizeof b->bb, "%d", svc->rules.buffer_before);
    snprintf(b->ba, sizeof b->ba, "%d", svc->rules.buffer_after);
    b->has_call = call > 0;
    kv_db_i64_param(b->call, call);
    snprintf(b->call_at, sizeof b->call_at, "%s", call_at ? call_at : "");
}

/* Inside an open transaction: inserts the booking b with staff member
 * `who`.  Returns the new appointment (caller owns it), or NULL with the
 * failure's SQLSTATE in kv_db_sqlstate (23P01: the slot is taken). */
static PGresult *s_insert(kv_ctx_t *ctx, const kv_req_t *req, const s_booking_t *b,
                          const sched_create_t *in, const char *who)
{
    const char *pi[14] = { b->tid, b->cus, b->svc, who, b->date, b->start, in->notes,
                           in->source, b->price, b->duration, b->bb, b->ba,
                           b->has_call ? b->call : NULL, b->has_call ? b->call_at : NULL };
    return kv_db_exec(ctx->db, KV_RID(req), "appt_insert", 14, pi);
}

/* Inserts the booking with each candidate of cand in turn until the
 * exclusion constraint accepts one: 201 with its appointment.created event,
 * 409 with alternatives when every candidate is taken, 500/503 on a
 * database failure. */
static void s_insert_first(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                           const s_booking_t *b, const sched_create_t *in,
                           const sched_svc_t *svc, const PGresult *cand)
{
    int ncand = PQntuples(cand);
    for (int i = 0; i < ncand; i++) {
        if (kv_db_begin(ctx->db, KV_RID(req)) != 0)
            goto fail;
        PGresult *r = s_insert(ctx, req, b, in, kv_db_str(cand, i, 0));
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
    sched_reply_conflict(ctx, req, rep, SCHED_MSG_TAKEN, svc, &in->date, in->start,
                         in->staff_id, 0);
    return;
fail:
    sched_db_fail(ctx, req, rep);
}

/* The customer and the call of a booking, asked over the bus: adds
 * errors.customer_id / errors.call_id when they do not exist in the tenant;
 * fills call_at with the call's start.  0, or -1 when crm or calls could
 * not tell (the caller answers 503). */
static int s_references(kv_ctx_t *ctx, const kv_req_t *req, const sched_create_t *in,
                        char call_at[40], json_t *errors)
{
    int known = sched_customer_exists(ctx, req, in->customer_id);
    if (known == 0)
        kv_errors_add(errors, "customer_id", "The selected customer does not exist.");
    int call = 1;
    call_at[0] = '\0';
    if (in->call_id > 0) {
        call = sched_call_lookup(ctx, req, in->call_id, call_at);
        if (call == 0)
            kv_errors_add(errors, "call_id", "The selected call does not exist.");
    }
    return known < 0 || call < 0 ? -1 : 0;
}

/* A hold as a booking takes it: the slot and the snapshots. */
typedef struct {
    sched_svc_t svc;         /* the hold's snapshots, the service's current rules */
    kv_date_t date;
    int start;
    int64_t staff;
    int64_t call;            /* 0: none */
    char call_at[40];        /* the call's started_at ("" without one) */
    int expired;
} s_held_t;

/* Reads the locked hold of row 0 of h (SCHED_H_* columns) into *held,
 * with its service's current rules (for the alternatives of a 409).  0, or
 * -1 on a database failure. */
static int s_held(kv_ctx_t *ctx, const kv_req_t *req, const PGresult *h, s_held_t *held)
{
    memset(held, 0, sizeof *held);
    if (sched_svc_load(ctx, req, kv_db_i64(h, 0, SCHED_H_SERVICE), 1, &held->svc) != 1 ||
        kv_parse_date(kv_db_str(h, 0, SCHED_H_DATE), &held->date) != 0)
        return -1;
    held->svc.duration = (int)kv_db_i64(h, 0, SCHED_H_DURATION);
    held->svc.price_cents = kv_db_i64(h, 0, SCHED_H_PRICE);
    held->svc.rules.buffer_before = (int)kv_db_i64(h, 0, SCHED_H_BUF_BEFORE);
    held->svc.rules.buffer_after = (int)kv_db_i64(h, 0, SCHED_H_BUF_AFTER);
    held->start = (int)kv_db_i64(h, 0, SCHED_H_START);
    held->staff = kv_db_i64(h, 0, SCHED_H_STAFF);
    held->call = kv_db_i64(h, 0, SCHED_H_CALL);
    const char *at = kv_db_str(h, 0, SCHED_H_CALL_STARTED);
    snprintf(held->call_at, sizeof held->call_at, "%s", at ? at : "");
    held->expired = kv_db_str(h, 0, SCHED_H_EXPIRED)[0] == 't';
    return 0;
}

/* Adds errors[field] when the body named a value of the slot that the hold
 * does not have. */
static void s_hold_field(json_t *errors, const char *field, int differs)
{
    if (differs) {
        char msg[128];
        snprintf(msg, sizeof msg, "The %s must be the held one (or be left out).", field);
        kv_errors_add(errors, field, msg);
    }
}

/* Adds an error for every slot field (and call) the body named otherwise
 * than the hold has it. */
static void s_hold_mismatch(const sched_create_t *in, const s_held_t *held, json_t *errors)
{
    s_hold_field(errors, "service_id", in->service_id > 0 && in->service_id != held->svc.id);
    s_hold_field(errors, "staff_id", in->staff_id > 0 && in->staff_id != held->staff);
    s_hold_field(errors, "appointment_date", in->has_date &&
                 kv_date_to_days(&in->date) != kv_date_to_days(&held->date));
    s_hold_field(errors, "appointment_time", in->has_time && in->start != held->start);
    s_hold_field(errors, "call_id", in->call_id > 0 && held->call > 0 && in->call_id != held->call);
}

/* appointments.create with hold_id: books exactly the held slot.  The hold
 * is locked, checked (the tenant's, not expired, the slot the body may
 * name again), consumed and replaced by the appointment in one
 * transaction: of two bookings with one hold one gets 201 and the other
 * 422 (the hold is gone); a hold that expired answers 409.  Takes the
 * hold's snapshots (duration, price, buffers) and its call unless the body
 * names one.  errors is borrowed (empty on entry). */
static void s_create_from_hold(kv_ctx_t *ctx, kv_rep_t *rep, const kv_req_t *req,
                               sched_create_t *in, const kv_date_t *today, int now_min,
                               json_t *errors)
{
    PGresult *h = NULL, *r = NULL;
    char call_at[40];
    s_held_t held;
    if (s_references(ctx, req, in, call_at, errors) != 0 && json_object_size(errors) == 0) {
        kv_reply_unavailable(rep);
        goto out;
    }
    if (json_object_size(errors) > 0)
        goto invalid;

    char tid[KV_DB_I64_LEN], hid[KV_DB_I64_LEN];
    const char *ph[2] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(hid, in->hold_id) };
    if (kv_db_begin(ctx->db, KV_RID(req)) != 0)
        goto fail;
    h = kv_db_exec(ctx->db, KV_RID(req), "hold_lock", 2, ph);
    if (!h)
        goto fail;
    if (PQntuples(h) == 0) {
        kv_errors_add(errors, "hold_id", "The selected hold does not exist (it was released, "
                      "used for a booking, or never made).");
        goto invalid;
    }
    if (s_held(ctx, req, h, &held) != 0)
        goto fail;
    s_hold_mismatch(in, &held, errors);
    if (json_object_size(errors) > 0)
        goto invalid;
    if (held.expired) {
        kv_db_rollback(ctx->db, KV_RID(req));
        sched_reply_conflict(ctx, req, rep, "The hold has expired.", &held.svc, &held.date,
                             held.start, in->staff_id, 0);
        goto out;
    }
    /* a hold keeps the slot, not the clock: the time must still lie ahead */
    if (sched_check_when(&held.date, held.start, today, now_min, NULL, errors) != 0)
        goto invalid;
    s_booking_t b;
    if (in->call_id > 0)
        s_booking(&b, req, in, &held.svc, &held.date, held.start, in->call_id, call_at);
    else
        s_booking(&b, req, in, &held.svc, &held.date, held.start, held.call, held.call_at);
    char who[KV_DB_I64_LEN];
    kv_db_i64_param(who, held.staff);
    /* the hold's busy row goes with it; the appointment's takes its place */
    if (kv_db_run(ctx->db, KV_RID(req), "hold_delete", 2, ph) != 0)
        goto fail;
    r = s_insert(ctx, req, &b, in, who);
    if (!r && strcmp(kv_db_sqlstate(ctx->db), KV_SQLSTATE_EXCLUSION) == 0) {
        /* the hold lapsed while this ran and someone else took the slot */
        kv_db_rollback(ctx->db, KV_RID(req));
        sched_reply_conflict(ctx, req, rep, SCHED_MSG_TAKEN, &held.svc, &held.date, held.start,
                             in->staff_id, 0);
        goto out;
    }
    if (!r || PQntuples(r) != 1)
        goto fail;
    s_commit_with_event(ctx, req, rep, r, "appointment.created", KV_ST_CREATED);
    goto out;
invalid:
    kv_db_rollback(ctx->db, KV_RID(req));   /* safe when none is open */
    kv_reply_invalid(rep, json_incref(errors));
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    if (h)
        PQclear(h);
    if (r)
        PQclear(r);
}

/* appointments.create: body {customer_id, service_id, staff_id?,
 * appointment_date, appointment_time, notes?, source?, allow_off_grid?,
 * call_id?} or {customer_id, hold_id, ...} (sched_parse_create) -> 201
 * appointment | 422 | 409 with alternatives. */
void sched_appointments_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    PGresult *cand = NULL;
    sched_create_t in;
    sched_svc_t svc;
    kv_date_t today;
    int now_min = 0;
    char call_at[40];

    if (sched_parse_create(req->body, sched_step(req), &in, errors) != 0)
        goto invalid;
    if (in.hold_id > 0) {
        if (sched_tenant_now(ctx, req, &today, &now_min) != 0)
            goto fail;
        s_create_from_hold(ctx, rep, req, &in, &today, now_min, errors);
        goto out;
    }

    /* the clock and the service in one round trip, then the date and
     * time against the clock and the service's rules */
    char tid[KV_DB_I64_LEN], sid[KV_DB_I64_LEN];
    const char *pn[1] = { sched_tenant_tz(req) };
    const char *ps[2] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(sid, in.service_id) };
    kv_db_call_t calls[2] = { { "sched_now", 1, pn, NULL }, { "services_get", 2, ps, NULL } };
    if (kv_db_pipeline(ctx->db, KV_RID(req), calls, 2) != 0)
        goto fail;
    int clock = sched_tenant_now_of(calls[0].res, &today, &now_min);
    int found = PQntuples(calls[1].res) == 1;
    if (found)
        sched_svc_from_row(calls[1].res, 0, &svc);
    PQclear(calls[0].res);
    PQclear(calls[1].res);
    if (clock != 0)
        goto fail;
    if (!found) {
        kv_errors_add(errors, "service_id", "The selected service is invalid.");
        sched_check_when(&in.date, in.start, &today, now_min, NULL, errors);
        goto invalid;
    }
    if (sched_check_when(&in.date, in.start, &today, now_min, &svc.rules, errors) != 0)
        goto invalid;

    /* the staff, the customer and the call */
    if (sched_candidates(ctx, req, &svc, &in.date, in.start, in.staff_id, &cand, errors) != 0)
        goto fail;
    int refs = s_references(ctx, req, &in, call_at, errors);
    if (json_object_size(errors) > 0)
        goto invalid;
    if (refs < 0) {
        kv_reply_unavailable(rep);
        goto out;
    }
    s_booking_t b;
    s_booking(&b, req, &in, &svc, &in.date, in.start, in.call_id, call_at);
    s_insert_first(ctx, req, rep, &b, &in, &svc, cand);
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
