/*
 * booking.c -- what the three ways of taking a slot share: booking
 * (appointments.c), holding (holds.c) and rescheduling (reschedule.c).
 *
 * A service is read once into a sched_svc_t (its duration and price, the
 * snapshots a booking takes, and its booking rules); the staff members who
 * may take a slot come from one statement (sched_candidates); the customer
 * and the call a booking names are asked of crm and calls over the bus; and
 * every 409 for a taken slot is answered here, with the free alternatives
 * nearest to the time asked (sched_reply_conflict), so the three paths
 * cannot drift apart.  Whether a slot is free is never decided here: the
 * insert or update is, by the exclusion constraint busy_no_overlap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "kv_client.h"
#include "kv_log.h"
#include "kv_mem.h"

#define SCHED_BUS_TIMEOUT_MS 2000

void sched_svc_from_row(const PGresult *r, int row, sched_svc_t *svc)
{
    memset(svc, 0, sizeof *svc);
    svc->id = kv_db_i64(r, row, SCHED_S_ID);
    svc->duration = (int)kv_db_i64(r, row, SCHED_S_DURATION);
    svc->price_cents = kv_db_i64(r, row, SCHED_S_PRICE);
    svc->rules.buffer_before = (int)kv_db_i64(r, row, SCHED_S_BUF_BEFORE);
    svc->rules.buffer_after = (int)kv_db_i64(r, row, SCHED_S_BUF_AFTER);
    svc->rules.min_notice = (int)kv_db_i64(r, row, SCHED_S_NOTICE);
    svc->rules.max_advance = (int)kv_db_i64(r, row, SCHED_S_ADVANCE);
}

int sched_svc_load(kv_ctx_t *ctx, const kv_req_t *req, int64_t id, int any, sched_svc_t *svc)
{
    char tid[KV_DB_I64_LEN], sid[KV_DB_I64_LEN];
    const char *p[2] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(sid, id) };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), any ? "services_get_any" : "services_get",
                             2, p);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found)
        sched_svc_from_row(r, 0, svc);
    PQclear(r);
    return found;
}

int sched_candidates(kv_ctx_t *ctx, const kv_req_t *req, const sched_svc_t *svc,
                     const kv_date_t *date, int start, int64_t staff_id, PGresult **cand,
                     json_t *errors)
{
    *cand = NULL;
    if (start + svc->duration > 1440) {
        kv_errors_add(errors, "appointment_time", "The selected time is outside the working hours.");
        return 0;
    }
    char tid[KV_DB_I64_LEN], sv[KV_DB_I64_LEN], st[KV_DB_I64_LEN], d[11], wd[4], s0[8], s1[8];
    char bb[8], ba[8];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_db_i64_param(sv, svc->id);
    kv_db_i64_param(st, staff_id);
    kv_format_date(date, d);
    snprintf(wd, sizeof wd, "%d", kv_date_weekday(date));
    snprintf(s0, sizeof s0, "%d", start);
    snprintf(s1, sizeof s1, "%d", start + svc->duration);
    snprintf(bb, sizeof bb, "%d", svc->rules.buffer_before);
    snprintf(ba, sizeof ba, "%d", svc->rules.buffer_after);
    if (staff_id > 0) {
        const char *pc[6] = { tid, st, sv, wd, s0, s1 };
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
    const char *pc[8] = { tid, sv, d, wd, s0, s1, bb, ba };
    *cand = kv_db_exec(ctx->db, KV_RID(req), "appt_candidates", 8, pc);
    if (!*cand)
        return -1;
    if (PQntuples(*cand) == 0)
        kv_errors_add(errors, "appointment_time",
                      "No staff member performs this service at the selected time.");
    return 0;
}

int sched_customer_exists(kv_ctx_t *ctx, const kv_req_t *req, int64_t id)
{
    char cid[KV_DB_I64_LEN];
    json_t *params = json_pack("{ss}", "id", kv_db_i64_param(cid, id));
    json_t *out = NULL;
    int st = kv_client_call(ctx->bus, req->hdr, KV_SVC_CRM, "customers.lookup", params, NULL,
                            SCHED_BUS_TIMEOUT_MS, &out);
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

int sched_call_lookup(kv_ctx_t *ctx, const kv_req_t *req, int64_t id, char started_at[40])
{
    char cid[KV_DB_I64_LEN];
    json_t *params = json_pack("{ss}", "id", kv_db_i64_param(cid, id));
    json_t *out = NULL;
    int st = kv_client_call(ctx->bus, req->hdr, KV_SVC_CALLS, "calls.lookup", params, NULL,
                            SCHED_BUS_TIMEOUT_MS, &out);
    json_decref(params);
    int rc = -1;
    const char *at = json_string_value(json_object_get(json_object_get(out, "data"),
                                                       "started_at"));
    if (st == KV_ST_OK && at && strlen(at) < 40) {
        snprintf(started_at, 40, "%s", at);
        rc = 1;
    } else if (st == KV_ST_NOT_FOUND) {
        rc = 0;
    } else {
        kv_warn(KV_RID(req), "calls calls.lookup answered %d", st);
    }
    if (out)
        json_decref(out);
    return rc;
}

void sched_reply_conflict(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep, const char *msg,
                          const sched_svc_t *svc, const kv_date_t *date, int asked,
                          int64_t staff_id, int64_t exclude)
{
    sched_slot_t *v = NULL;
    int *times = NULL;
    size_t n = 0;
    kv_date_t today;
    int now_min;
    if (sched_tenant_now(ctx, req, &today, &now_min) != 0 ||
        sched_day_slots(ctx, req, svc, date, staff_id, exclude, &today, now_min, &v, &n) != 0) {
        sched_db_fail(ctx, req, rep);
        goto out;
    }
    times = kv_malloc(sizeof *times * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        times[i] = v[i].time;
    int near[KV_ALTERNATIVES_MAX];
    size_t k = sched_slots_nearest(times, n, asked, near, KV_ALTERNATIVES_MAX);
    kv_reply_error(rep, KV_ST_CONFLICT, msg, NULL);
    json_object_set_new(rep->body, "data", json_pack("{so}", "alternatives",
                        sched_slots_json(v, n, svc->duration, near, k)));
out:
    free(v);
    free(times);
}
