/*
 * reschedule.c -- PATCH /api/v1/appointments/{id} (extension): move an
 * appointment in place (same id) to another date, time, staff member or
 * service, and/or change its notes.
 *
 * One transaction: the appointment's row is locked (appt_lock_move), the
 * new slot is checked as a booking is (the service, the staff member's
 * hours, the tenant's clock and the service's rules), and one UPDATE moves
 * it.  The appointment's trigger moves its busy row in the same statement,
 * so busy_no_overlap decides: the new slot is taken (23P01 -> 409 with
 * alternatives, nothing changed) or the move is done.  The row's own old
 * busy interval is replaced, never compared with itself, so moving onto an
 * overlapping time of its own slot works.  Two reschedules onto one slot:
 * one 200, one 409.
 *
 * What counts as a move: the date, time, staff member or service differs
 * from the current one.  Only a scheduled appointment can be moved (422
 * errors.status).  A move records appointment.rescheduled (the appointment
 * plus "previous": {appointment_date, appointment_time, staff_id}) in the
 * outbox in the same transaction.  A body that moves nothing (notes only,
 * or the slot it already has) is not a reschedule: the notes change,
 * whatever the status, and no event is recorded.
 *
 * Without staff_id the appointment keeps its staff member (the customer
 * booked that person); without service_id it keeps its service with the
 * snapshots taken at booking (duration, price, buffers), and the service's
 * current min_notice / max_advance apply.  A new service_id takes the new
 * service's snapshots, as a new booking would.
 */
#include <stdio.h>
#include <string.h>

#include "sched.h"
#include "kv_log.h"
#include "kv_outbox.h"

/* Columns of appt_lock_move. */
enum {
    S_L_STATUS = 0, S_L_SERVICE, S_L_STAFF, S_L_DATE, S_L_START, S_L_END, S_L_DURATION,
    S_L_PRICE, S_L_BUF_BEFORE, S_L_BUF_AFTER
};

/* Inside the open transaction whose last statement returned the moved
 * appointment in r: records appointment.rescheduled with previous (stolen),
 * commits, publishes and answers 200.  On failure rolls back, 500/503. */
static void s_commit_moved(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                           const PGresult *r, json_t *previous)
{
    kv_outbox_event_t ev;
    memset(&ev, 0, sizeof ev);
    json_t *obj = sched_appt_json(r, 0);
    json_t *payload = json_deep_copy(obj);
    json_object_set_new(payload, "previous", previous);
    if (kv_outbox_add(ctx, KV_RID(req), KV_TENANT(req), "appointment.rescheduled", payload,
                      &ev) != 0 || kv_db_commit(ctx->db, KV_RID(req)) != 0) {
        kv_outbox_event_clear(&ev);
        json_decref(payload);
        json_decref(obj);
        sched_db_fail(ctx, req, rep);
        return;
    }
    kv_outbox_publish(ctx, &ev);
    kv_info(KV_RID(req), "appointment.rescheduled appointment %lld seq %lld",
            (long long)kv_db_i64(r, 0, SCHED_A_ID), (long long)ev.hdr.seq);
    kv_outbox_event_clear(&ev);
    json_decref(payload);
    kv_reply_ok(rep, KV_ST_OK, obj, NULL);
}

/* A body that moves nothing: sets the notes when given (any status),
 * else answers the appointment as it is.  Inside the open transaction. */
static void s_notes_only(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                         const sched_patch_t *p, const char *const *key)
{
    PGresult *r;
    if (p->has_notes) {
        const char *pn[3] = { key[0], key[1], p->notes };
        r = kv_db_exec(ctx->db, KV_RID(req), "appt_set_notes", 3, pn);
    } else {
        r = kv_db_exec(ctx->db, KV_RID(req), "appt_get", 2, key);
    }
    if (!r || PQntuples(r) != 1 || kv_db_commit(ctx->db, KV_RID(req)) != 0) {
        if (r)
            PQclear(r);
        sched_db_fail(ctx, req, rep);
        return;
    }
    kv_reply_ok(rep, KV_ST_OK, sched_appt_json(r, 0), NULL);
    PQclear(r);
}

/* Where the appointment is (the row locked by appt_lock_move) and where
 * the body moves it. */
typedef struct {
    kv_date_t cur_date, date;
    int cur_start, start;
    int64_t cur_staff, staff, cur_service, service;
    int moved;               /* date, time, staff or service differs */
} s_move_t;

/* Fills *m from the locked row l and the body p.  0, or -1 when the row's
 * date does not parse (never: it comes from PostgreSQL). */
static int s_move(const PGresult *l, const sched_patch_t *p, s_move_t *m)
{
    if (kv_parse_date(kv_db_str(l, 0, S_L_DATE), &m->cur_date) != 0)
        return -1;
    m->cur_service = kv_db_i64(l, 0, S_L_SERVICE);
    m->cur_staff = kv_db_i64(l, 0, S_L_STAFF);
    m->cur_start = (int)kv_db_i64(l, 0, S_L_START);
    m->date = p->has_date ? p->date : m->cur_date;
    m->start = p->has_time ? p->start : m->cur_start;
    m->staff = p->staff_id > 0 ? p->staff_id : m->cur_staff;
    m->service = p->service_id > 0 ? p->service_id : m->cur_service;
    m->moved = kv_date_to_days(&m->date) != kv_date_to_days(&m->cur_date) ||
               m->start != m->cur_start || m->staff != m->cur_staff ||
               m->service != m->cur_service;
    return 0;
}

/* Checks move m of the locked row l as a booking is checked: a scheduled
 * appointment, the service (a new one gives new snapshots into *svc; the
 * same one keeps the booking's, under its current rules), the clock and
 * the rules, the staff member's hours.  Problems go to errors.  0, or -1
 * on a database failure. */
static int s_check_move(kv_ctx_t *ctx, const kv_req_t *req, const PGresult *l,
                        const s_move_t *m, const kv_date_t *today, int now_min,
                        sched_svc_t *svc, json_t *errors)
{
    if (strcmp(kv_db_str(l, 0, S_L_STATUS), "scheduled") != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "Only a scheduled appointment can be rescheduled; this one "
                 "is %s.", kv_db_str(l, 0, S_L_STATUS));
        kv_errors_add(errors, "status", msg);
        return 0;
    }
    int same = m->service == m->cur_service;
    int found = sched_svc_load(ctx, req, m->service, same, svc);
    if (found < 0)
        return -1;
    if (!found) {
        kv_errors_add(errors, "service_id", "The selected service is invalid.");
        return 0;
    }
    if (same) {
        svc->duration = (int)kv_db_i64(l, 0, S_L_DURATION);
        svc->price_cents = kv_db_i64(l, 0, S_L_PRICE);
        svc->rules.buffer_before = (int)kv_db_i64(l, 0, S_L_BUF_BEFORE);
        svc->rules.buffer_after = (int)kv_db_i64(l, 0, S_L_BUF_AFTER);
    }
    if (sched_check_when(&m->date, m->start, today, now_min, &svc->rules, errors) != 0)
        return 0;
    PGresult *cand = NULL;
    int rc = sched_candidates(ctx, req, svc, &m->date, m->start, m->staff, &cand, errors);
    if (cand)
        PQclear(cand);
    return rc;
}

/* Inside the open transaction, the move checked: updates the row.  Answers
 * 200 with appointment.rescheduled recorded, or 409 with alternatives
 * (rolled back) when the new slot is taken, or 500/503. */
static void s_apply_move(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                         const char *const *key, int64_t id, const s_move_t *m,
                         const sched_svc_t *svc, const sched_patch_t *p)
{
    char sv[KV_DB_I64_LEN], st[KV_DB_I64_LEN], d[11], s0[8], du[8], pr[KV_DB_I64_LEN];
    char bb[8], ba[8];
    kv_db_i64_param(sv, m->service);
    kv_db_i64_param(st, m->staff);
    kv_format_date(&m->date, d);
    snprintf(s0, sizeof s0, "%d", m->start);
    snprintf(du, sizeof du, "%d", svc->duration);
    kv_db_i64_param(pr, svc->price_cents);
    snprintf(bb, sizeof bb, "%d", svc->rules.buffer_before);
    snprintf(ba, sizeof ba, "%d", svc->rules.buffer_after);
    const char *pm[12] = { key[0], key[1], sv, st, d, s0, du, pr, bb, ba,
                           p->has_notes ? "true" : "false", p->notes };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "appt_move", 12, pm);
    if (!r && strcmp(kv_db_sqlstate(ctx->db), KV_SQLSTATE_EXCLUSION) == 0) {
        kv_db_rollback(ctx->db, KV_RID(req));
        sched_reply_conflict(ctx, req, rep, SCHED_MSG_TAKEN, svc, &m->date, m->start, m->staff,
                             id);
        return;
    }
    if (!r || PQntuples(r) != 1) {
        if (r)
            PQclear(r);
        sched_db_fail(ctx, req, rep);
        return;
    }
    char at[6], cd[11];
    kv_format_time(m->cur_start, at);
    kv_format_date(&m->cur_date, cd);
    json_t *previous = json_object();
    json_object_set_new(previous, "appointment_date", json_string(cd));
    json_object_set_new(previous, "appointment_time", json_string(at));
    json_object_set_new(previous, "staff_id", json_integer(m->cur_staff));
    s_commit_moved(ctx, req, rep, r, previous);
    PQclear(r);
}

/* appointments.update: params id, body {appointment_date?,
 * appointment_time?, staff_id?, service_id?, notes?, allow_off_grid?} ->
 * 200 appointment | 404 | 422 | 409 with alternatives. */
void sched_appointments_update(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    PGresult *l = NULL;
    sched_patch_t p;
    memset(&p, 0, sizeof p);
    kv_date_t today;
    int now_min = 0;
    s_move_t m;
    sched_svc_t svc;

    int64_t id = kv_param_id(req, "id");
    if (id <= 0) {
        kv_reply_not_found(rep, "Appointment");
        goto out;
    }
    if (sched_parse_patch(req->body, sched_step(req), &p, errors) != 0)
        goto invalid;
    if (sched_tenant_now(ctx, req, &today, &now_min) != 0)
        goto fail;
    char tid[KV_DB_I64_LEN], aid[KV_DB_I64_LEN];
    const char *key[2] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(aid, id) };
    if (kv_db_begin(ctx->db, KV_RID(req)) != 0)
        goto fail;
    l = kv_db_exec(ctx->db, KV_RID(req), "appt_lock_move", 2, key);
    if (!l)
        goto fail;
    if (PQntuples(l) == 0) {
        kv_db_rollback(ctx->db, KV_RID(req));
        kv_reply_not_found(rep, "Appointment");
        goto out;
    }
    if (s_move(l, &p, &m) != 0)
        goto fail;
    if (!m.moved) {
        s_notes_only(ctx, req, rep, &p, key);
        goto out;
    }
    if (s_check_move(ctx, req, l, &m, &today, now_min, &svc, errors) != 0)
        goto fail;
    if (json_object_size(errors) > 0)
        goto invalid;
    s_apply_move(ctx, req, rep, key, id, &m, &svc, &p);
    goto out;
invalid:
    kv_db_rollback(ctx->db, KV_RID(req));   /* safe when none is open */
    kv_reply_invalid(rep, errors);
    errors = NULL;
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    if (l)
        PQclear(l);
    if (errors)
        json_decref(errors);
    sched_patch_cleanup(&p);
}
