/*
 * endpoints.c -- the webhook endpoint resource: list, create, show, update,
 * delete (an extension of the API reference: what the dashboard's "Webhook
 * Endpoints" settings and Zapier-style integrations use).
 *
 * The secret is generated here, returned once by create (and by
 * rotate-secret, for the new one) and never again.  A URL passes the SSRF
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

#define S_DESC_MAX 1000
#define S_NOT_FOUND "Webhook endpoint"
#define S_ST_TOO_MANY 429

/* Checks body's keys against the allowed list; each unknown one adds an
 * error under its own name. */
static void s_unknown_fields(json_t *body, const char *const *allowed, json_t *errors)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (!kv_pick(allowed, key)) {
            char msg[160];
            snprintf(msg, sizeof msg, "The %.60s field is not accepted.", key);
            kv_errors_add(errors, key, msg);
        }
    }
}

/* Validates url (a string) into errors["url"] without any lookup: its
 * shape (hook_url_parse) and, for an IP address, the SSRF guard.  On
 * success returns the URL (borrowed from v) and fills *target. */
static const char *s_check_url(json_t *v, hook_url_t *target, json_t *errors)
{
    char err[200];
    if (!json_is_string(v) || json_string_length(v) == 0) {
        kv_errors_add(errors, "url", "The url must be a non-empty string.");
        return NULL;
    }
    const char *url = json_string_value(v);
    if (strlen(url) > HOOK_URL_MAX) {
        snprintf(err, sizeof err, "The url may not be greater than %d characters.", HOOK_URL_MAX);
        kv_errors_add(errors, "url", err);
        return NULL;
    }
    if (!kv_valid_text(url, HOOK_URL_MAX) || strpbrk(url, " \r\n\t")) {
        kv_errors_add(errors, "url", "The url must be a valid URL.");
        return NULL;
    }
    if (hook_url_parse(url, target, err, sizeof err) != 0) {
        kv_errors_add(errors, "url", err);
        return NULL;
    }
    if (target->literal &&
        !hook_ssrf_allowed((const struct sockaddr *)&target->addr, hook_config.allow)) {
        hook_url_refused_literal((const struct sockaddr *)&target->addr, err, sizeof err);
        kv_errors_add(errors, "url", err);
        return NULL;
    }
    return url;
}

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

/* Validates events (a non-empty list of known type names) into a
 * PostgreSQL array literal in buf (room for all five names), in the
 * canonical order, duplicates dropped.  0 or -1 (errors filled). */
static int s_check_events(json_t *v, char *buf, size_t size, json_t *errors)
{
    size_t i;
    json_t *e;
    unsigned mask = 0;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        kv_errors_add(errors, "events",
                      "The events must be a non-empty list of event names.");
        return -1;
    }
    json_array_foreach(v, i, e) {
        const char *name = json_string_value(e);
        int k = name ? hook_event_index(name) : -1;
        if (k < 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "The event %.60s is not one of appointment.created, "
                     "appointment.cancelled, call.ended, call.missed, appointment.rescheduled.",
                     name ? name : "(not a string)");
            kv_errors_add(errors, "events", msg);
            return -1;
        }
        mask |= 1u << k;
    }
    size_t used = 0;
    buf[used++] = '{';
    for (int k = 0; k < HOOK_EVENT_TYPES; k++) {
        if (!(mask & (1u << k)))
            continue;
        const char *name = hook_event_name(k);
        size_t n = strlen(name);
        if (used + n + 3 > size)
            return -1;
        if (used > 1)
            buf[used++] = ',';
        memcpy(buf + used, name, n);
        used += n;
    }
    buf[used++] = '}';
    buf[used] = '\0';
    return 0;
}

/* Validates description: absent (*set 0), null, or a string of at most
 * S_DESC_MAX bytes of text.  *out is borrowed from v. */
static void s_check_desc(json_t *v, int *set, const char **out, json_t *errors)
{
    *set = 0;
    *out = NULL;
    if (!v)
        return;
    if (json_is_null(v)) {
        *set = 1;
        return;
    }
    if (!json_is_string(v) || !kv_valid_text(json_string_value(v), S_DESC_MAX)) {
        kv_errors_add(errors, "description",
                      "The description must be a text of at most 1000 characters.");
        return;
    }
    *set = 1;
    *out = json_string_value(v);
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
    static const char *const allowed[] = { "url", "events", "description", NULL };
    PGresult *r = NULL;
    json_t *errors = json_object();
    json_t *body = req->body;
    char events[160], tenant[KV_DB_I64_LEN], max[KV_DB_I64_LEN];
    char secret[HOOK_SECRET_MAX];
    const char *url = NULL, *desc = NULL;
    int desc_set = 0;
    long long count = 0;
    hook_url_t target;

    memset(secret, 0, sizeof secret);
    if (!json_is_object(body)) {
        kv_errors_add(errors, "url", "The url field is required.");
        kv_errors_add(errors, "events", "The events field is required.");
        goto invalid;
    }
    s_unknown_fields(body, allowed, errors);
    json_t *ev = json_object_get(body, "events");
    if (!ev)
        kv_errors_add(errors, "events", "The events field is required.");
    else
        s_check_events(ev, events, sizeof events, errors);
    s_check_desc(json_object_get(body, "description"), &desc_set, &desc, errors);
    json_t *u = json_object_get(body, "url");
    if (!u)
        kv_errors_add(errors, "url", "The url field is required.");
    else
        url = s_check_url(u, &target, errors);
    if (json_object_size(errors) > 0)
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
    if (s_vet_url(req, &target, rep) != 0)
        goto out;

    if (hook_secret_new(secret) != 0) {
        kv_error(KV_RID(req), "webhooks: no random bytes for a secret");
        kv_reply_internal(rep);
        goto out;
    }
    kv_db_i64_param(tenant, KV_TENANT(req));
    kv_db_i64_param(max, hook_config.max_endpoints);
    const char *lp[1] = { tenant };
    const char *p[6] = { tenant, url, secret, events, desc, max };
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
    static const char *const allowed[] = { "url", "events", "description", "active", NULL };
    PGresult *r = NULL;
    json_t *errors = json_object();
    json_t *body = req->body;
    char id[KV_DB_I64_LEN], tenant[KV_DB_I64_LEN], events[160];
    const char *url = NULL, *desc = NULL, *events_p = NULL, *active = NULL;
    int desc_set = 0;
    int64_t eid;
    hook_url_t target;

    /* Ownership first: nothing is validated, let alone resolved, for an
     * endpoint that is not the tenant's. */
    r = s_by_id(ctx, req, rep, "hook_endpoint_exists", &eid);
    if (!r)
        goto out;
    PQclear(r);
    r = NULL;
    if (!json_is_object(body) || json_object_size(body) == 0) {
        kv_errors_add(errors, "body", "Give at least one of url, events, description, active.");
        goto invalid;
    }
    s_unknown_fields(body, allowed, errors);
    json_t *ev = json_object_get(body, "events");
    if (ev && s_check_events(ev, events, sizeof events, errors) == 0)
        events_p = events;
    s_check_desc(json_object_get(body, "description"), &desc_set, &desc, errors);
    json_t *a = json_object_get(body, "active");
    if (a && !json_is_boolean(a))
        kv_errors_add(errors, "active", "The active field must be true or false.");
    else if (a)
        active = json_is_true(a) ? "true" : "false";
    json_t *u = json_object_get(body, "url");
    if (u)
        url = s_check_url(u, &target, errors);
    if (json_object_size(errors) > 0)
        goto invalid;
    if (url && s_vet_url(req, &target, rep) != 0)
        goto out;

    const char *p[7] = { kv_db_i64_param(id, eid), kv_db_i64_param(tenant, KV_TENANT(req)),
                         url, events_p, desc_set ? "true" : "false", desc, active };
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
