/*
 * stats.c -- appointments.customer_stats, asked by the crm service for its
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
