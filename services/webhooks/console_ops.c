/*
 * console_ops.c -- two operations of the webhook API that the console's
 * "Webhook Endpoints" and "Delivery logs" sections need, and that
 * integrators can use as well (extensions of the API reference):
 *
 *   POST /api/v1/webhooks/{id}/test     webhooks.test: a signed test event
 *        ("ping") for that endpoint, stored and delivered through the
 *        normal path (deliveries, attempts, retries), so it shows in the
 *        delivery log; answers 202 with the delivery.  An inactive endpoint
 *        is 409 (its deliveries are not sent).
 *   GET  /api/v1/webhooks/deliveries    webhooks.log: the tenant's delivery
 *        log across its endpoints, newest first, filtered by endpoint_id,
 *        event and status, each delivery with its attempts.
 *
 * The test event is a row of events like any other, with producer "test"
 * and its own id as sequence number (the intake never reads that producer),
 * so the deliverer signs and sends it with no special case.  Kept in a file
 * of its own beside the service's endpoint and delivery resources.
 */
#include "hook.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kv_log.h"
#include "kv_valid.h"

void hook_op_test(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *e = NULL, *r = NULL, *g = NULL;
    char id[KV_DB_I64_LEN], tenant[KV_DB_I64_LEN], did[KV_DB_I64_LEN];
    int64_t eid = kv_param_id(req, "id");
    if (eid == 0) {
        kv_reply_not_found(rep, "Webhook endpoint");
        goto out;
    }
    const char *p[2] = { kv_db_i64_param(id, eid), kv_db_i64_param(tenant, KV_TENANT(req)) };
    e = kv_db_exec(ctx->db, KV_RID(req), "hook_endpoint_active", 2, p);
    if (!e) {
        kv_reply_unavailable(rep);
        goto out;
    }
    if (PQntuples(e) == 0) {
        kv_reply_not_found(rep, "Webhook endpoint");
        goto out;
    }
    if (strcmp(PQgetvalue(e, 0, 0), "t") != 0) {
        kv_reply_error(rep, KV_ST_CONFLICT,
                       "The endpoint is not active: turn it on to send it a test event.", NULL);
        goto out;
    }
    r = kv_db_exec(ctx->db, KV_RID(req), "hook_test_event", 2, p);
    if (!r || PQntuples(r) != 1) {
        kv_reply_unavailable(rep);
        goto out;
    }
    snprintf(did, sizeof did, "%s", PQgetvalue(r, 0, 0));
    const char *gp[2] = { did, tenant };
    g = kv_db_exec(ctx->db, KV_RID(req), "hook_delivery_get", 2, gp);
    json_t *o = g && PQntuples(g) == 1 ? hook_row_json(KV_RID(req), kv_db_str(g, 0, 0)) : NULL;
    if (!o) {
        kv_reply_unavailable(rep);
        goto out;
    }
    kv_info(KV_RID(req), "webhooks: test event queued endpoint=%" PRId64 " delivery=%s", eid, did);
    kv_reply_ok(rep, 202, o, NULL);
out:
    PQclear(e);
    PQclear(r);
    PQclear(g);
}

void hook_op_log(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    static const char *const events[] = { "appointment.created", "appointment.cancelled",
                                          "appointment.rescheduled", "call.ended",
                                          "call.missed", "ping", NULL };
    static const char *const statuses[] = { "pending", "succeeded", "failed", NULL };
    PGresult *r = NULL;
    json_t *errors = json_object();
    int page, per_page;
    long long total = 0;
    int64_t eid = 0;
    const char *event = NULL, *status = NULL;
    char tenant[KV_DB_I64_LEN], ep[KV_DB_I64_LEN], limit[KV_DB_I64_LEN], offset[KV_DB_I64_LEN];

    kv_query_page(req->query, 20, 100, &page, &per_page, errors);
    kv_query_id(req->query, "endpoint_id", KV_OPTIONAL, &eid, errors);
    kv_query_enum(req->query, "event", KV_OPTIONAL, events, &event, errors);
    kv_query_enum(req->query, "status", KV_OPTIONAL, statuses, &status, errors);
    if (json_object_size(errors) > 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    kv_db_i64_param(tenant, KV_TENANT(req));
    long long off = kv_page_params(page, per_page, limit, offset);
    const char *lp[6] = { tenant, eid ? kv_db_i64_param(ep, eid) : NULL, event, status, limit,
                          offset };
    if (kv_db_page(ctx->db, KV_RID(req), "hook_log_count", 4, lp, "hook_log_list", 6, lp, off,
                   &total, &r) != 0) {
        kv_reply_unavailable(rep);
        goto out;
    }
    hook_reply_page(rep, KV_RID(req), r, page, per_page, total);
    hook_meta_retention(rep);
out:
    PQclear(r);
    json_decref(errors);
}
