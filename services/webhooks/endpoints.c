/*
 * endpoints.c -- the webhook endpoint resource: list, create, show, update,
 * delete (an extension of the API reference: what the dashboard's "Webhook
 * Endpoints" settings and Zapier-style integrations use).
 *
 * The secret is generated here, returned once by create (and by
 * rotate-secret, for the new one) and never again.  The bodies' rules are
 * hook_valid.c's (pure, fuzzed).  A URL passes the SSRF
 * check at create and at every change: parsed by ssrf.c (no user-info,
 * an IP address or an ASCII host name), then, for a name, resolved by
 * resolve.c -- bounded and admitted per tenant, after every cheaper check
 * (fields, ownership, the endpoint limit) has passed -- and every address
 * it gives must be public.  Every statement filters on the request's
 * tenant: another tenant's id answers 404 exactly like a missing one, and
 * before any lookup is made for it.  A tenant has at most
 * hook_config.max_endpoints endpoints; the create transaction takes the
 * tenant's advisory lock first, so concurrent creates cannot pass the
 * limit together.
 */
#include "hook.h"
#include "hook_valid.h"
#include "resolve.h"
#include "sign.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_valid.h"

#include <openssl/crypto.h>

#define S_NOT_FOUND "Webhook endpoint"
#define S_ST_TOO_MANY 429

/* Resolves target's host name for the request's tenant (nothing to do for
 * an IP address) and checks every address.  0 when the URL may be stored;
 * otherwise answers: 422 (errors.url, one message whatever went wrong, so
 * nothing of an internal name's addresses shows), 429 (this tenant has a
 * lookup running already) or 503 (lookups are saturated), and returns -1. */
static int s_vet_url(const kv_req_t *req, const hook_url_t *target, kv_rep_t *rep)
{
    hook_addrs_t addrs;
    if (target->literal)
        return 0;
    int timeout = hook_config.dns_timeout_ms;
    if (req->hdr->deadline_ms > 0) {
        int64_t left = req->hdr->deadline_ms - kv_now_ms() - 250;   /* room to answer */
        if (left < timeout)
            timeout = left > 1 ? (int)left : 1;
    }
    int rc = hook_resolve(target->host, KV_TENANT(req), timeout, &addrs);
    if (rc == HOOK_DNS_TENANT_BUSY) {
        kv_reply_error(rep, S_ST_TOO_MANY, "Another webhook URL of this account is being "
                       "checked; try again in a moment.", NULL);
        return -1;
    }
    if (rc == HOOK_DNS_BUSY) {
        kv_reply_error(rep, KV_ST_UNAVAILABLE, "Webhook URL checks are busy; try again in a "
                       "moment.", NULL);
        return -1;
    }
    int ok = rc == HOOK_DNS_OK && addrs.n > 0;
    for (int i = 0; ok && i < addrs.n; i++)
        ok = hook_ssrf_allowed((const struct sockaddr *)&addrs.addr[i], hook_config.allow);
    if (!ok) {
        kv_debug(KV_RID(req), "webhooks: url host refused (lookup outcome %d)", rc);
        json_t *errors = json_object();
        kv_errors_add(errors, "url", HOOK_URL_NAME_REFUSED);
        kv_reply_invalid(rep, errors);
        return -1;
    }
    return 0;
}

void hook_op_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL;
    json_t *errors = json_object();
    int page, per_page;
    long long total;
    char tenant[KV_DB_I64_LEN], limit[KV_DB_I64_LEN], offset[KV_DB_I64_LEN];

    if (kv_query_page(req->query, 20, 100, &page, &per_page, errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    kv_db_i64_param(tenant, KV_TENANT(req));
    long long off = kv_page_params(page, per_page, limit, offset);
    const char *lp[3] = { tenant, limit, offset };
    if (kv_db_page(ctx->db, KV_RID(req), "hook_endpoints_count", 1, lp,
                   "hook_endpoints_list", 3, lp, off, &total, &r) != 0) {
        kv_reply_unavailable(rep);
        goto out;
    }
    hook_reply_page(rep, KV_RID(req), r, page, per_page, total);
out:
    PQclear(r);
    json_decref(errors);
}

/* The 422 of a tenant that has hook_config.max_endpoints endpoints. */
static void s_reply_limit(kv_rep_t *rep)
{
    char msg[160];
    json_t *errors = json_object();
    snprintf(msg, sizeof msg, "An account may have at most %d webhook endpoints; delete one "
             "first.", hook_config.max_endpoints);
    kv_errors_add(errors, "endpoints", msg);
    kv_reply_invalid(rep, errors);
}

/* The endpoint count of the request's tenant into *n.  0 or -1. */
static int s_count(kv_ctx_t *ctx, const kv_req_t *req, long long *n)
{
    char tenant[KV_DB_I64_LEN];
    const char *p[1] = { kv_db_i64_param(tenant, KV_TENANT(req)) };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "hook_endpoints_count", 1, p);
    if (!r || PQntuples(r) != 1) {
        PQclear(r);
        return -1;
    }
    *n = kv_db_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

void hook_op_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL;
    json_t *errors = json_object();
    char tenant[KV_DB_I64_LEN], max[KV_DB_I64_LEN];
    char secret[HOOK_SECRET_MAX];
    long long count = 0;
    hook_endpoint_input_t in;

    memset(secret, 0, sizeof secret);
    if (hook_parse_create(req->body, hook_config.allow, &in, errors) != 0)
        goto invalid;

    /* The limit before any lookup (the insert below decides for good). */
    if (s_count(ctx, req, &count) != 0) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    if (count >= hook_config.max_endpoints) {
        s_reply_limit(rep);
        goto out;
    }
    if (s_vet_url(req, &in.target, rep) != 0)
        goto out;

    if (hook_secret_new(secret) != 0) {
        kv_error(KV_RID(req), "webhooks: no random bytes for a secret");
        kv_reply_internal(rep);
        goto out;
    }
    kv_db_i64_param(tenant, KV_TENANT(req));
    kv_db_i64_param(max, hook_config.max_endpoints);
    const char *lp[1] = { tenant };
    const char *p[6] = { tenant, in.url, secret, in.events, in.desc, max };
    if (kv_db_begin(ctx->db, KV_RID(req)) != 0 ||
        kv_db_run(ctx->db, KV_RID(req), "hook_endpoint_lock_tenant", 1, lp) != 0 ||
        !(r = kv_db_exec(ctx->db, KV_RID(req), "hook_endpoint_insert", 6, p)) ||
        kv_db_commit(ctx->db, KV_RID(req)) != 0) {
        kv_db_rollback(ctx->db, KV_RID(req));
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    if (PQntuples(r) == 0) {
        s_reply_limit(rep);             /* a concurrent create took the last place */
        goto out;
    }
    json_t *o = hook_row_json(KV_RID(req), kv_db_str(r, 0, 0));
    if (!o) {
        kv_reply_internal(rep);
        goto out;
    }
    json_object_set_new(o, "secret", json_string(secret));
    kv_info(KV_RID(req), "webhooks: endpoint %lld created for tenant %" PRId64,
            (long long)json_integer_value(json_object_get(o, "id")), KV_TENANT(req));
    kv_reply_ok(rep, KV_ST_CREATED, o, NULL);
    goto out;
invalid:
    kv_reply_invalid(rep, errors);
    errors = NULL;
out:
    OPENSSL_cleanse(secret, sizeof secret);
    PQclear(r);
    json_decref(errors);
}

/* Runs stmt with (the endpoint id of the path, the tenant).  Returns the
 * result when it has a row (caller owns it), *eid the id; otherwise
 * answers 404 (no such endpoint of this tenant) or 503 and returns NULL. */
static PGresult *s_by_id(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                         const char *stmt, int64_t *eid)
{
    char id[KV_DB_I64_LEN], tenant[KV_DB_I64_LEN];
    *eid = kv_param_id(req, "id");
    if (*eid == 0) {
        kv_reply_not_found(rep, S_NOT_FOUND);
        return NULL;
    }
    const char *p[2] = { kv_db_i64_param(id, *eid), kv_db_i64_param(tenant, KV_TENANT(req)) };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), stmt, 2, p);
    if (!r) {
        kv_reply_unavailable(rep);
        return NULL;
    }
    if (PQntuples(r) == 0) {
        kv_reply_not_found(rep, S_NOT_FOUND);
        PQclear(r);
        return NULL;
    }
    return r;
}

void hook_op_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t eid;
    PGresult *r = s_by_id(ctx, req, rep, "hook_endpoint_get", &eid);
    if (!r)
        return;
    json_t *o = hook_row_json(KV_RID(req), kv_db_str(r, 0, 0));
    if (o)
        kv_reply_ok(rep, KV_ST_OK, o, NULL);
    else
        kv_reply_internal(rep);
    PQclear(r);
}

void hook_op_update(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL;
    json_t *errors = json_object();
    char id[KV_DB_I64_LEN], tenant[KV_DB_I64_LEN];
    int64_t eid;
    hook_endpoint_input_t in;

    /* Ownership first: nothing is validated, let alone resolved, for an
     * endpoint that is not the tenant's. */
    r = s_by_id(ctx, req, rep, "hook_endpoint_exists", &eid);
    if (!r)
        goto out;
    PQclear(r);
    r = NULL;
    if (hook_parse_update(req->body, hook_config.allow, &in, errors) != 0)
        goto invalid;
    if (in.url && s_vet_url(req, &in.target, rep) != 0)
        goto out;

    const char *p[7] = { kv_db_i64_param(id, eid), kv_db_i64_param(tenant, KV_TENANT(req)),
                         in.url, in.events, in.desc_set ? "true" : "false", in.desc,
                         in.active };
    r = kv_db_exec(ctx->db, KV_RID(req), "hook_endpoint_update", 7, p);
    if (!r) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    if (PQntuples(r) == 0) {
        kv_reply_not_found(rep, S_NOT_FOUND);   /* deleted meanwhile */
        goto out;
    }
    json_t *o = hook_row_json(KV_RID(req), kv_db_str(r, 0, 0));
    if (o)
        kv_reply_ok(rep, KV_ST_OK, o, NULL);
    else
        kv_reply_internal(rep);
    goto out;
invalid:
    kv_reply_invalid(rep, errors);
    errors = NULL;
out:
    PQclear(r);
    json_decref(errors);
}

void hook_op_rotate_secret(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL;
    char id[KV_DB_I64_LEN], tenant[KV_DB_I64_LEN], overlap[KV_DB_I64_LEN];
    char secret[HOOK_SECRET_MAX];
    int64_t eid = kv_param_id(req, "id");

    memset(secret, 0, sizeof secret);
    if (eid == 0) {
        kv_reply_not_found(rep, S_NOT_FOUND);
        goto out;
    }
    if (req->body && !(json_is_object(req->body) && json_object_size(req->body) == 0)) {
        json_t *errors = json_object();
        kv_errors_add(errors, "body", "This request takes no body (or an empty object).");
        kv_reply_invalid(rep, errors);
        goto out;
    }
    if (hook_secret_new(secret) != 0) {
        kv_error(KV_RID(req), "webhooks: no random bytes for a secret");
        kv_reply_internal(rep);
        goto out;
    }
    const char *p[4] = { kv_db_i64_param(id, eid), kv_db_i64_param(tenant, KV_TENANT(req)),
                         secret, kv_db_i64_param(overlap, hook_config.secret_overlap_s) };
    r = kv_db_exec(ctx->db, KV_RID(req), "hook_endpoint_rotate", 4, p);
    if (!r) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    if (PQntuples(r) == 0) {
        kv_reply_not_found(rep, S_NOT_FOUND);
        goto out;
    }
    json_t *o = hook_row_json(KV_RID(req), kv_db_str(r, 0, 0));
    if (!o) {
        kv_reply_internal(rep);
        goto out;
    }
    json_object_set_new(o, "secret", json_string(secret));
    kv_info(KV_RID(req), "webhooks: endpoint %" PRId64 " secret rotated (overlap %d s)", eid,
            hook_config.secret_overlap_s);
    kv_reply_ok(rep, KV_ST_OK, o, NULL);
out:
    OPENSSL_cleanse(secret, sizeof secret);
    PQclear(r);
}

void hook_op_delete(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t eid;
    PGresult *r = s_by_id(ctx, req, rep, "hook_endpoint_delete", &eid);
    if (!r)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(eid));
    json_object_set_new(o, "deleted", json_true());
    kv_reply_ok(rep, KV_ST_OK, o, NULL);
    PQclear(r);
}
