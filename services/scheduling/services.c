/*
 * services.c -- the public Services endpoints: GET /api/v1/services and
 * GET /api/v1/services/{id}.
 *
 * Both show active services only: the list is "all active services", and
 * the show endpoint answers 404 for an inactive service exactly as for a
 * missing one or another tenant's (what a client cannot book, it cannot
 * see).  Operators see inactive services through the admin API.
 */
#include <stdio.h>

#include "sched.h"

/* services.list: query page, per_page -> data [service], meta. */
void sched_services_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL, *c = NULL;
    json_t *errors = json_object();
    int page, per_page;
    if (kv_query_page(req->query, KV_PER_PAGE_DEFAULT, KV_PER_PAGE_MAX, &page, &per_page,
                      errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    char tid[KV_DB_I64_LEN], lim[KV_DB_I64_LEN], off[KV_DB_I64_LEN];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_page_params(page, per_page, lim, off);
    const char *pl[3] = { tid, lim, off };
    r = kv_db_exec(ctx->db, KV_RID(req), "services_list", 3, pl);
    if (!r)
        goto fail;
    long long total;
    if (PQntuples(r) > 0) {
        total = kv_db_i64(r, 0, PQnfields(r) - 1);
    } else {
        /* past the last page the window has no row to carry the total */
        c = kv_db_exec(ctx->db, KV_RID(req), "services_count", 1, pl);
        if (!c)
            goto fail;
        total = kv_db_i64(c, 0, 0);
    }
    kv_jw_t w;                   /* a page is written directly: no tree */
    kv_reply_ok_begin(&w);
    kv_jw_arr(&w);
    for (int i = 0; i < PQntuples(r); i++)
        sched_service_write(&w, r, i, 0);
    kv_jw_end(&w);
    kv_reply_ok_end(rep, KV_ST_OK, &w, kv_meta_page(page, per_page, total));
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    if (r)
        PQclear(r);
    if (c)
        PQclear(c);
    if (errors)
        json_decref(errors);
}

/* services.get: params id -> data service | 404. */
void sched_services_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t id = kv_param_id(req, "id");
    if (id <= 0) {
        kv_reply_not_found(rep, "Service");
        return;
    }
    char tid[KV_DB_I64_LEN], sid[KV_DB_I64_LEN];
    const char *p[2] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(sid, id) };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "services_get", 2, p);
    if (!r) {
        sched_db_fail(ctx, req, rep);
        return;
    }
    if (PQntuples(r) == 0)
        kv_reply_not_found(rep, "Service");
    else
        kv_reply_ok(rep, KV_ST_OK, sched_service_json(r, 0, 0), NULL);
    PQclear(r);
}
