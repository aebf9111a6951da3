/*
 * deliveries.c -- the delivery log of an endpoint and redelivery.
 *
 * GET /api/v1/webhooks/{id}/deliveries lists an endpoint's deliveries,
 * newest first, each with its latest HOOK_ATTEMPTS_SHOWN attempts (time,
 * HTTP status or error, duration) and attempts_total; the list's meta
 * says how far back the log goes (retention, janitor.c).  POST
 * /api/v1/webhooks/deliveries/{id}/redeliver starts a fresh attempt series
 * at once (the deliverer picks it up at its next poll).  Tenant-scoped
 * like everything else.
 *
 * Size: a delivery object is bounded (HOOK_ATTEMPTS_SHOWN attempts, each
 * error at most 300 printable characters), so the largest page --
 * per_page 100 -- stays far below the bus body limit (README, "Delivery
 * log"; tests/e2e/test_webhooks_logsize.c builds that page).
 */
#include "hook.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "kv_log.h"

void hook_meta_retention(kv_rep_t *rep)
{
    json_t *meta = json_object_get(rep->body, "meta");
    if (!json_is_object(meta))
        return;
    time_t cut = time(NULL) - (time_t)hook_config.retention_days * 86400;
    struct tm tm;
    char buf[32];
    gmtime_r(&cut, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(meta, "retention_days", json_integer(hook_config.retention_days));
    json_object_set_new(meta, "oldest_available", json_string(buf));
}

void hook_op_deliveries(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *e = NULL, *r = NULL;
    json_t *errors = json_object();
    int page, per_page;
    long long total;
    char id[KV_DB_I64_LEN], tenant[KV_DB_I64_LEN], limit[KV_DB_I64_LEN], offset[KV_DB_I64_LEN];
    int64_t eid = kv_param_id(req, "id");

    if (eid == 0) {
        kv_reply_not_found(rep, "Webhook endpoint");
        goto out;
    }
    if (kv_query_page(req->query, 20, 100, &page, &per_page, errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    kv_db_i64_param(id, eid);
    kv_db_i64_param(tenant, KV_TENANT(req));
    long long off = kv_page_params(page, per_page, limit, offset);
    const char *ep[2] = { id, tenant };
    e = kv_db_exec(ctx->db, KV_RID(req), "hook_endpoint_exists", 2, ep);
    if (!e) {
        kv_reply_unavailable(rep);
        goto out;
    }
    if (PQntuples(e) == 0) {
        kv_reply_not_found(rep, "Webhook endpoint");
        goto out;
    }
    const char *lp[4] = { tenant, id, limit, offset };
    if (kv_db_page(ctx->db, KV_RID(req), "hook_deliveries_count", 2, lp,
                   "hook_deliveries_list", 4, lp, off, &total, &r) != 0) {
        kv_reply_unavailable(rep);
        goto out;
    }
    hook_reply_page(rep, KV_RID(req), r, page, per_page, total);
    hook_meta_retention(rep);
out:
    PQclear(e);
    PQclear(r);
    json_decref(errors);
}

void hook_op_redeliver(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *u = NULL, *g = NULL;
    char id[KV_DB_I64_LEN], tenant[KV_DB_I64_LEN];
    int64_t did = kv_param_id(req, "id");

    if (did == 0) {
        kv_reply_not_found(rep, "Delivery");
        goto out;
    }
    const char *p[2] = { kv_db_i64_param(id, did), kv_db_i64_param(tenant, KV_TENANT(req)) };
    u = kv_db_exec(ctx->db, KV_RID(req), "hook_delivery_redeliver", 2, p);
    if (!u) {
        kv_reply_unavailable(rep);
        goto out;
    }
    if (PQntuples(u) == 0) {
        kv_reply_not_found(rep, "Delivery");
        goto out;
    }
    g = kv_db_exec(ctx->db, KV_RID(req), "hook_delivery_get", 2, p);
    json_t *o = g && PQntuples(g) == 1 ? hook_row_json(KV_RID(req), kv_db_str(g, 0, 0)) : NULL;
    if (!o) {
        kv_reply_unavailable(rep);
        goto out;
    }
    kv_info(KV_RID(req), "webhooks: delivery %" PRId64 " queued again", did);
    kv_reply_ok(rep, 202, o, NULL);
out:
    PQclear(u);
    PQclear(g);
}
