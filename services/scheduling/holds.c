/*
 * holds.c -- slot holds (extension): POST /api/v1/appointments/holds and
 * DELETE /api/v1/appointments/holds/{id}.
 *
 * A voice agent holds a slot while the caller decides, then books it with
 * hold_id (appointments.c).  A hold is a row of `holds` whose trigger writes
 * its busy row, so the exclusion constraint busy_no_overlap keeps it apart
 * from appointments and other holds exactly as double booking is kept out:
 * two clients holding one slot get one 201 and one 409 (with alternatives),
 * and nobody can book a held slot.  A hold lasts ttl_seconds (30..900,
 * default 300) and needs no job to expire: from expires_at on, /slots
 * ignores it and whoever needs the interval deletes its busy row first
 * (sql/scheduling/002_holds_rules_calls.sql).  Holding checks what booking
 * checks (the service, the staff member, the clock and the service's rules,
 * the call) and, without staff_id, assigns the staff member a booking would
 * get.  The hold snapshots the service's duration, price and buffers: the
 * booking takes exactly those.
 */
#include <stdio.h>
#include <string.h>

#include "sched.h"
#include "kv_log.h"

/* Inserts the hold in of svc with each candidate of cand (column 0: staff
 * id) in turn until the exclusion constraint accepts one: *r the new hold
 * (caller owns it), or NULL when every candidate is taken.  0, or -1 on
 * another database failure. */
static int s_insert_first(kv_ctx_t *ctx, const kv_req_t *req, const sched_hold_input_t *in,
                          const sched_svc_t *svc, const PGresult *cand, const char *call_at,
                          PGresult **r)
{
    char tid[KV_DB_I64_LEN], sv[KV_DB_I64_LEN], d[11], st[8], du[8], pr[KV_DB_I64_LEN];
    char bb[8], ba[8], cl[KV_DB_I64_LEN], ttl[8];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_db_i64_param(sv, svc->id);
    kv_format_date(&in->date, d);
    snprintf(st, sizeof st, "%d", in->start);
    snprintf(du, sizeof du, "%d", svc->duration);
    kv_db_i64_param(pr, svc->price_cents);
    snprintf(bb, sizeof bb, "%d", svc->rules.buffer_before);
    snprintf(ba, sizeof ba, "%d", svc->rules.buffer_after);
    kv_db_i64_param(cl, in->call_id);
    snprintf(ttl, sizeof ttl, "%d", in->ttl_seconds);
    *r = NULL;
    for (int i = 0; i < PQntuples(cand); i++) {
        const char *p[12] = { tid, sv, kv_db_str(cand, i, 0), d, st, du, pr, bb, ba,
                              in->call_id > 0 ? cl : NULL, in->call_id > 0 ? call_at : NULL,
                              ttl };
        *r = kv_db_exec(ctx->db, KV_RID(req), "hold_insert", 12, p);
        if (*r)
            return 0;
        if (strcmp(kv_db_sqlstate(ctx->db), KV_SQLSTATE_EXCLUSION) != 0)
            return -1;
    }
    return 0;
}

/* appointments.hold_create: body {service_id, appointment_date,
 * appointment_time, staff_id?, ttl_seconds?, call_id?} -> 201 hold | 422 |
 * 409 with alternatives. */
void sched_holds_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    PGresult *cand = NULL, *r = NULL;
    sched_hold_input_t in;
    sched_svc_t svc;
    kv_date_t today;
    int now_min = 0;
    char call_at[40] = "";

    if (sched_parse_hold(req->body, sched_step(req), &in, errors) != 0)
        goto invalid;
    if (sched_tenant_now(ctx, req, &today, &now_min) != 0)
        goto fail;
    int found = sched_svc_load(ctx, req, in.service_id, 0, &svc);
    if (found < 0)
        goto fail;
    if (!found) {
        kv_errors_add(errors, "service_id", "The selected service is invalid.");
        sched_check_when(&in.date, in.start, &today, now_min, NULL, errors);
        goto invalid;
    }
    if (sched_check_when(&in.date, in.start, &today, now_min, &svc.rules, errors) != 0)
        goto invalid;
    if (sched_candidates(ctx, req, &svc, &in.date, in.start, in.staff_id, &cand, errors) != 0)
        goto fail;
    int call = 1;
    if (in.call_id > 0) {
        call = sched_call_lookup(ctx, req, in.call_id, call_at);
        if (call == 0)
            kv_errors_add(errors, "call_id", "The selected call does not exist.");
    }
    if (json_object_size(errors) > 0)
        goto invalid;
    if (call < 0) {
        kv_reply_unavailable(rep);
        goto out;
    }

    /* holds expired long ago are forgotten as new ones are made */
    char tid[KV_DB_I64_LEN];
    const char *pp[1] = { kv_db_i64_param(tid, KV_TENANT(req)) };
    if (kv_db_run(ctx->db, KV_RID(req), "hold_purge", 1, pp) != 0)
        goto fail;
    if (s_insert_first(ctx, req, &in, &svc, cand, call_at, &r) != 0)
        goto fail;
    if (!r) {
        sched_reply_conflict(ctx, req, rep, SCHED_MSG_TAKEN, &svc, &in.date, in.start,
                             in.staff_id, 0);
        goto out;
    }
    if (PQntuples(r) != 1)
        goto fail;
    kv_info(KV_RID(req), "hold %s of staff %s for %d s", kv_db_str(r, 0, SCHED_H_ID),
            kv_db_str(r, 0, SCHED_H_STAFF), in.ttl_seconds);
    kv_reply_ok(rep, KV_ST_CREATED, sched_hold_json(r, 0), NULL);
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
    if (r)
        PQclear(r);
    if (errors)
        json_decref(errors);
}

/* appointments.hold_release: params id -> 200 {"id","released":true} |
 * 404 (never made, another tenant's, already used or released). */
void sched_holds_release(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t id = kv_param_id(req, "id");
    if (id <= 0) {
        kv_reply_not_found(rep, "Hold");
        return;
    }
    char tid[KV_DB_I64_LEN], hid[KV_DB_I64_LEN];
    const char *p[2] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(hid, id) };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "hold_delete", 2, p);
    if (!r) {
        sched_db_fail(ctx, req, rep);
        return;
    }
    if (PQntuples(r) == 0) {
        kv_reply_not_found(rep, "Hold");
    } else {
        kv_info(KV_RID(req), "hold %lld released", (long long)id);
        kv_reply_ok(rep, KV_ST_OK, json_pack("{sIsb}", "id", (json_int_t)id, "released", 1),
                    NULL);
    }
    PQclear(r);
}
