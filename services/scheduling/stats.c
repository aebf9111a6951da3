/*
 * stats.c -- what other services ask scheduling about appointments:
 * appointments.of_call and appointments.booked_calls (calls: a call's
 * bookings and the booked calls of its statistics, below), and
 * appointments.customer_stats, asked by the crm service for its
 * customer show endpoint: params {"customer_id":"<id>"} -> data
 * {"total_appointments": non-cancelled count, "total_spent": sum of the
 * price snapshots of completed appointments (a JSON number),
 * "last_visit_date": date of the latest completed one or null}.
 * An id the tenant has no appointments for answers zeros, not 404: crm owns
 * the question whether the customer exists.
 */
#include <stdio.h>

#include "sched.h"

void sched_customer_stats(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t id;
    json_t *errors = json_object();
    if (kv_query_id(req->params, "customer_id", KV_REQUIRED, &id, errors) != KV_FIELD_OK) {
        kv_reply_invalid(rep, errors);
        return;
    }
    json_decref(errors);
    char tid[KV_DB_I64_LEN], cid[KV_DB_I64_LEN];
    const char *p[2] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(cid, id) };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "appt_customer_stats", 2, p);
    if (!r || PQntuples(r) != 1) {
        if (r)
            PQclear(r);
        sched_db_fail(ctx, req, rep);
        return;
    }
    const char *last = kv_db_str(r, 0, 2);
    json_t *o = json_object();
    json_object_set_new(o, "total_appointments", json_integer(kv_db_i64(r, 0, 0)));
    json_object_set_new(o, "total_spent", sched_price_json(kv_db_i64(r, 0, 1)));
    json_object_set_new(o, "last_visit_date", last ? json_string(last) : json_null());
    PQclear(r);
    kv_reply_ok(rep, KV_ST_OK, o, NULL);
}

/* appointments.of_call (asked by calls for GET /calls/{id}): params
 * {"call_id"} -> data {"appointment_ids": [ids of the appointments booked
 * during that call, oldest first, at most KV_CALL_APPOINTMENTS_MAX]}.  Any
 * status counts (a booking cancelled later was still made in the call). */
void sched_appointments_of_call(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t id;
    json_t *errors = json_object();
    if (kv_query_id(req->params, "call_id", KV_REQUIRED, &id, errors) != KV_FIELD_OK) {
        kv_reply_invalid(rep, errors);
        return;
    }
    json_decref(errors);
    char tid[KV_DB_I64_LEN], cid[KV_DB_I64_LEN];
    const char *p[2] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(cid, id) };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "appt_of_call", 2, p);
    if (!r) {
        sched_db_fail(ctx, req, rep);
        return;
    }
    json_t *ids = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(ids, json_integer(kv_db_i64(r, i, 0)));
    PQclear(r);
    kv_reply_ok(rep, KV_ST_OK, json_pack("{so}", "appointment_ids", ids), NULL);
}

/* appointments.booked_calls (asked by calls for GET /calls/stats): params
 * {"from_date","to_date"} (Y-m-d, inclusive, in the tenant's time zone of
 * the request header) -> data {"booked_calls": how many distinct calls that
 * started in those dates have at least one appointment}.  Served by one
 * index-only range over (tenant, call_started_at): the call's start is
 * recorded with the link, so no call id crosses the bus. */
void sched_booked_calls(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    kv_date_t from, to;
    json_t *errors = json_object();
    int bad = kv_query_date(req->params, "from_date", KV_REQUIRED, &from, errors) != KV_FIELD_OK;
    bad |= kv_query_date(req->params, "to_date", KV_REQUIRED, &to, errors) != KV_FIELD_OK;
    if (bad) {
        kv_reply_invalid(rep, errors);
        return;
    }
    json_decref(errors);
    char tid[KV_DB_I64_LEN], f[11], t[11];
    kv_format_date(&from, f);
    kv_format_date(&to, t);
    const char *tz = req->hdr->tenant_tz[0] ? req->hdr->tenant_tz : "UTC";
    const char *p[4] = { kv_db_i64_param(tid, KV_TENANT(req)), tz, f, t };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "appt_booked_calls", 4, p);
    if (!r || PQntuples(r) != 1) {
        if (r)
            PQclear(r);
        sched_db_fail(ctx, req, rep);
        return;
    }
    long long n = kv_db_i64(r, 0, 0);
    PQclear(r);
    kv_reply_ok(rep, KV_ST_OK, json_pack("{sI}", "booked_calls", (json_int_t)n), NULL);
}
