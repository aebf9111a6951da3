/*
 * gw_admin.c -- the operator API (see gw_admin.h).
 *
 *   POST  /admin/v1/tenants                         {"name","timezone"?,"slot_interval"?}
 *   GET   /admin/v1/tenants
 *   GET   /admin/v1/tenants/{id}
 *   POST  /admin/v1/tenants/{id}/keys               {"name","scope"?} -> the key, shown once
 *   GET   /admin/v1/tenants/{id}/keys               no secrets
 *   POST  /admin/v1/tenants/{id}/keys/{key_id}/revoke
 *   GET   /admin/v1/stats                           the gateway's counters (gw_stats.h)
 *   POST  /admin/v1/tenants/{id}/users              console users (gw_users.c)
 *   GET   /admin/v1/tenants/{id}/users
 *   POST  /admin/v1/tenants/{id}/users/{uid}/disable
 *   POST  /admin/v1/tenants/{id}/users/{uid}/password-link
 *   POST  /admin/v1/tenants/{id}/services           -> scheduling admin.services.create
 *   PATCH /admin/v1/tenants/{id}/services/{sid}     -> scheduling admin.services.update
 *   POST  /admin/v1/tenants/{id}/staff              -> scheduling admin.staff.create
 *   PATCH /admin/v1/tenants/{id}/staff/{sid}        -> scheduling admin.staff.update
 *
 * The token is compared as SHA-256 digests with CRYPTO_memcmp: constant
 * time, and independent of the token's length.
 */
#include "gw_admin.h"
#include "gw_console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

#include "gw_db.h"
#include "gw_keys.h"
#include "gw_routes.h"
#include "gw_stats.h"
#include "kv_api.h"
#include "kv_crypto.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_proto.h"
#include "kv_valid.h"

enum {
    A_FORWARD = 0,
    A_TENANT_CREATE,
    A_TENANT_LIST,
    A_TENANT_GET,
    A_KEY_CREATE,
    A_KEY_LIST,
    A_KEY_REVOKE,
    A_STATS,
    A_USER_CREATE,
    A_USER_LIST,
    A_USER_DISABLE,
    A_USER_LINK,
};

#define L(m, p, l) { .method = (m), .pattern = (p), .op = NULL, .local = (l) }
/* forwarded to the service of registry operation sym (proto/kv_ops.h) */
#define F(m, p, sym) { .method = (m), .pattern = (p), .op = KV_OP(sym), .local = A_FORWARD }

static const gw_route_t s_routes[] = {
    L("POST",  "/admin/v1/tenants",                             A_TENANT_CREATE),
    L("GET",   "/admin/v1/tenants",                             A_TENANT_LIST),
    L("GET",   "/admin/v1/tenants/{tenant}",                    A_TENANT_GET),
    L("POST",  "/admin/v1/tenants/{tenant}/keys",               A_KEY_CREATE),
    L("GET",   "/admin/v1/tenants/{tenant}/keys",               A_KEY_LIST),
    L("POST",  "/admin/v1/tenants/{tenant}/keys/{key}/revoke",  A_KEY_REVOKE),
    L("GET",   "/admin/v1/stats",                               A_STATS),
    L("POST",  "/admin/v1/tenants/{tenant}/users",              A_USER_CREATE),
    L("GET",   "/admin/v1/tenants/{tenant}/users",              A_USER_LIST),
    L("POST",  "/admin/v1/tenants/{tenant}/users/{user}/disable", A_USER_DISABLE),
    L("POST",  "/admin/v1/tenants/{tenant}/users/{user}/password-link", A_USER_LINK),
    F("POST",  "/admin/v1/tenants/{tenant}/services",           ADMIN_SERVICES_CREATE),
    F("PATCH", "/admin/v1/tenants/{tenant}/services/{id}",      ADMIN_SERVICES_UPDATE),
    F("POST",  "/admin/v1/tenants/{tenant}/staff",              ADMIN_STAFF_CREATE),
    F("PATCH", "/admin/v1/tenants/{tenant}/staff/{id}",         ADMIN_STAFF_UPDATE),
    { 0 }
};

static unsigned char s_token_digest[32];
static int s_token_set;

int gw_admin_configure(const char *token)
{
    if (!token || strlen(token) < GW_ADMIN_TOKEN_MIN)
        return -1;
    kv_sha256(token, strlen(token), s_token_digest);
    s_token_set = 1;
    return 0;
}

static int s_token_ok(gw_req_t *r)
{
    const char *auth = gw_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    unsigned char d[32];
    if (!s_token_set || !auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    auth += 7;
    kv_sha256(auth, strlen(auth), d);
    return CRYPTO_memcmp(d, s_token_digest, sizeof d) == 0;
}

/* ---- rows to JSON --------------------------------------------------- */

/* Columns of TENANT_COLS in gw_db.c. */
static json_t *s_tenant_json(const PGresult *res, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(kv_db_i64(res, row, 0)));
    json_object_set_new(o, "name", kv_json_cell_str(res, row, 1));
    json_object_set_new(o, "timezone", kv_json_cell_str(res, row, 2));
    json_object_set_new(o, "slot_interval", json_integer(kv_db_i64(res, row, 3)));
    json_object_set_new(o, "created_at", kv_json_cell_str(res, row, 4));
    return o;
}

/* Columns of KEY_COLS in gw_db.c: never the hash. */
static json_t *s_key_json(const PGresult *res, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(kv_db_i64(res, row, 0)));
    json_object_set_new(o, "tenant_id", json_integer(kv_db_i64(res, row, 1)));
    json_object_set_new(o, "name", kv_json_cell_str(res, row, 2));
    json_object_set_new(o, "prefix", kv_json_cell_str(res, row, 3));
    json_object_set_new(o, "created_at", kv_json_cell_str(res, row, 4));
    json_object_set_new(o, "last_used_at", kv_json_cell_str(res, row, 5));
    json_object_set_new(o, "revoked_at", kv_json_cell_str(res, row, 6));
    /* made before keyed checksums: see sql/gateway/002_keyed_checksum.sql */
    json_object_set_new(o, "legacy", json_boolean(strcmp(PQgetvalue(res, row, 7), "t") == 0));
    /* "full" or "read" (GET only): sql/gateway/003_key_scope.sql */
    json_object_set_new(o, "scope", kv_json_cell_str(res, row, 8));
    return o;
}

static int s_ok(gw_req_t *r, int status, json_t *data)
{
    kv_rep_t rep = { 500, NULL, NULL, 0 };
    kv_reply_ok(&rep, status, data, NULL);
    return gw_reply_json(r, rep.status, rep.body);
}

static int s_invalid(gw_req_t *r, json_t *errors)
{
    kv_rep_t rep = { 500, NULL, NULL, 0 };
    kv_reply_invalid(&rep, errors);
    return gw_reply_json(r, rep.status, rep.body);
}

/* The request body as an object: new reference, or NULL after answering
 * (400 malformed, 422 not an object).  An empty body is {}. */
static json_t *s_body_object(gw_req_t *r)
{
    json_t *b = NULL;
    if (gw_req_body_json(r, &b) != 0)
        return NULL;
    if (json_is_null(b)) {
        json_decref(b);
        return json_object();
    }
    if (!json_is_object(b)) {
        json_decref(b);
        json_t *e = json_object();
        kv_errors_add(e, "body", "The body must be a JSON object.");
        s_invalid(r, e);
        return NULL;
    }
    return b;
}

/* A required or optional name: 1..200 bytes of clean text. */
static const char *s_name(json_t *body, json_t *errors, int required)
{
    json_t *v = json_object_get(body, "name");
    if (!v) {
        if (required)
            kv_errors_add(errors, "name", "The name field is required.");
        return NULL;
    }
    const char *s = json_string_value(v);
    if (!s || !*s || !kv_valid_text(s, 200)) {
        kv_errors_add(errors, "name", "The name must be a string of 1 to 200 characters.");
        return NULL;
    }
    return s;
}

/* Loads tenant tid; answers 404/503 itself and returns NULL then.  Caller
 * owns the result (PQclear). */
static PGresult *s_tenant(gw_req_t *r, kv_db_t *db, const char *tid)
{
    const char *p[1] = { tid };
    PGresult *res = kv_db_exec(db, r->rid, "gw_tenant_get", 1, p);
    if (!res) {
        gw_reply_error(r, 503, "Service temporarily unavailable.");
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        gw_reply_error(r, 404, "Tenant not found.");
        return NULL;
    }
    return res;
}

/* ---- handlers ------------------------------------------------------- */

static int s_tenant_create(gw_req_t *r, kv_db_t *db)
{
    json_t *body = s_body_object(r), *errors = json_object();
    PGresult *res = NULL;
    int rc = 0;
    char interval[16] = "15";
    if (!body)
        goto out;
    const char *name = s_name(body, errors, 1);
    const char *tz = "UTC";
    json_t *v = json_object_get(body, "timezone");
    if (v && !json_is_null(v)) {
        tz = json_string_value(v);
        if (!tz || !*tz || !kv_valid_text(tz, 64)) {
            kv_errors_add(errors, "timezone", "The timezone must be an IANA time zone name.");
            tz = NULL;
        } else {
            const char *p[1] = { tz };
            PGresult *t = kv_db_exec(db, r->rid, "gw_tz_valid", 1, p);
            if (!t) {
                rc = gw_reply_error(r, 503, "Service temporarily unavailable.");
                goto out;
            }
            if (PQntuples(t) == 0)
                kv_errors_add(errors, "timezone", "The timezone is not a known IANA time zone.");
            PQclear(t);
        }
    }
    v = json_object_get(body, "slot_interval");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 5 || json_integer_value(v) > 120)
            kv_errors_add(errors, "slot_interval",
                          "The slot interval must be an integer between 5 and 120 (minutes).");
        else
            snprintf(interval, sizeof interval, "%lld", (long long)json_integer_value(v));
    }
    if (json_object_size(errors) > 0) {
        rc = s_invalid(r, errors);
        errors = NULL;
        goto out;
    }
    const char *p[3] = { name, tz, interval };
    res = kv_db_exec(db, r->rid, "gw_tenant_create", 3, p);
    if (!res || PQntuples(res) != 1) {
        rc = gw_reply_error(r, 503, "Service temporarily unavailable.");
        goto out;
    }
    kv_info(r->rid, "tenant created id=%s", PQgetvalue(res, 0, 0));
    rc = s_ok(r, 201, s_tenant_json(res, 0));
out:
    if (res)
        PQclear(res);
    json_decref(errors);
    json_decref(body);
    return rc;
}

static int s_tenant_list(gw_req_t *r, kv_db_t *db)
{
    PGresult *res = kv_db_exec(db, r->rid, "gw_tenant_list", 0, NULL);
    if (!res)
        return gw_reply_error(r, 503, "Service temporarily unavailable.");
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, s_tenant_json(res, i));
    PQclear(res);
    return s_ok(r, 200, list);
}

static int s_key_create(gw_req_t *r, kv_db_t *db, const char *tid)
{
    json_t *body = NULL, *errors = json_object();
    PGresult *t = NULL, *res = NULL;
    int rc = 0;
    char key[GW_KEY_LEN + 1], hash[65], prefix[GW_KEY_PREFIX_LEN + 1];
    if (!(t = s_tenant(r, db, tid)))
        goto out;
    if (!(body = s_body_object(r)))
        goto out;
    const char *name = s_name(body, errors, 1);
    const char *scope = gw_key_scopes[0];
    kv_read_enum(body, "scope", KV_OPTIONAL, gw_key_scopes, &scope, errors);
    if (json_object_size(errors) > 0) {
        rc = s_invalid(r, errors);
        errors = NULL;
        goto out;
    }
    if (gw_key_generate(gw_http_cfg()->key_secret, key) != 0) {
        kv_error(r->rid, "random source failed");
        rc = gw_reply_error(r, 500, "Internal server error.");
        goto out;
    }
    gw_key_hash_hex(key, hash);
    gw_key_prefix(key, prefix);
    const char *p[5] = { tid, name, hash, prefix, scope };
    res = kv_db_exec(db, r->rid, "gw_key_create", 5, p);
    if (!res || PQntuples(res) != 1) {
        rc = gw_reply_error(r, 503, "Service temporarily unavailable.");
        goto out;
    }
    json_t *data = s_key_json(res, 0);
    json_object_set_new(data, "key", json_string(key));
    kv_info(r->rid, "api key created id=%s tenant_id=%s scope=%s", PQgetvalue(res, 0, 0), tid,
            scope);
    rc = s_ok(r, 201, data);
out:
    OPENSSL_cleanse(key, sizeof key);
    if (res)
        PQclear(res);
    if (t)
        PQclear(t);
    json_decref(errors);
    json_decref(body);
    return rc;
}

static int s_key_list(gw_req_t *r, kv_db_t *db, const char *tid)
{
    PGresult *t = s_tenant(r, db, tid);
    if (!t)
        return 0;
    PQclear(t);
    const char *p[1] = { tid };
    PGresult *res = kv_db_exec(db, r->rid, "gw_key_list", 1, p);
    if (!res)
        return gw_reply_error(r, 503, "Service temporarily unavailable.");
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, s_key_json(res, i));
    PQclear(res);
    return s_ok(r, 200, list);
}

static int s_key_revoke(gw_req_t *r, kv_db_t *db, const char *tid, const char *kid)
{
    PGresult *t = s_tenant(r, db, tid);
    if (!t)
        return 0;
    PQclear(t);
    const char *p[2] = { tid, kid };
    PGresult *res = kv_db_exec(db, r->rid, "gw_key_revoke", 2, p);
    if (!res)
        return gw_reply_error(r, 503, "Service temporarily unavailable.");
    if (PQntuples(res) != 1) {
        PQclear(res);
        return gw_reply_error(r, 404, "API key not found.");
    }
    gw_auth_forget(gw_http_cfg()->auth, kv_db_str(res, 0, 9));
    kv_info(r->rid, "api key revoked id=%s tenant_id=%s", kid, tid);
    json_t *data = s_key_json(res, 0);
    PQclear(res);
    return s_ok(r, 200, data);
}

/* Hands the request to scheduling with the tenant's context. */
static int s_forward(gw_req_t *r, kv_db_t *db, const gw_route_t *route, const gw_params_t *pp)
{
    const char *tid = gw_param(pp, "tenant");
    const char *sid = gw_param(pp, "id");
    PGresult *t = s_tenant(r, db, tid);
    if (!t)
        return 0;
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = KV_PROTO_VERSION;
    snprintf(h.op, sizeof h.op, "%s", route->op->name);
    h.tenant_id = kv_db_i64(t, 0, 0);
    snprintf(h.tenant_tz, sizeof h.tenant_tz, "%s", PQgetvalue(t, 0, 2));
    h.slot_interval = (int)kv_db_i64(t, 0, 3);
    h.deadline_ms = kv_now_ms() + gw_http_cfg()->request_timeout_ms;
    PQclear(t);
    r->tenant_id = h.tenant_id;

    json_t *body = s_body_object(r);
    if (!body)
        return 0;
    json_t *params = json_object();
    if (sid)
        json_object_set_new(params, "id", json_string(sid));
    json_t *bus = json_pack("{s:o, s:o, s:o}", "params", params, "query", json_object(),
                            "body", body);
    int rc = gw_forward(r, route->op->service, &h, bus);
    json_decref(bus);
    return rc;
}

int gw_admin_dispatch(gw_req_t *r)
{
    /* Prometheus scrapes without the admin token: the exposition carries
     * no id, key or personal data (README.md, "Metrics and tracing") */
    if (strcmp(r->path, "/metrics") == 0) {
        if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
            gw_req_add_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
            return gw_reply_error(r, 405, "Method not allowed.");
        }
        return gw_reply_metrics(r);
    }
    if (!s_token_ok(r)) {
        gw_req_add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        return gw_reply_error(r, 401, "Admin token missing or invalid.");
    }
    const gw_route_t *route = NULL;
    gw_params_t pp;
    char allow[64];
    int found = gw_route_find(s_routes, r->method, r->path, &route, &pp, allow, sizeof allow);
    if (found == GW_ROUTE_FOUND)
        r->route = route;            /* its template labels the metrics */
    if (found == GW_ROUTE_NOT_FOUND)
        return gw_reply_error(r, 404, "Route not found.");
    if (found == GW_ROUTE_BAD_METHOD) {
        gw_req_add_header(r, MHD_HTTP_HEADER_ALLOW, allow);
        return gw_reply_error(r, 405, "Method not allowed.");
    }
    if (route->local == A_STATS)
        return s_ok(r, 200, gw_stats_json());
    kv_db_t *db = gw_db_thread();
    if (!db)
        return gw_reply_error(r, 503, "Service temporarily unavailable.");
    const char *tid = gw_param(&pp, "tenant");
    if (tid)
        r->tenant_id = strtoll(tid, NULL, 10);
    switch (route->local) {
    case A_TENANT_CREATE: return s_tenant_create(r, db);
    case A_TENANT_LIST:   return s_tenant_list(r, db);
    case A_TENANT_GET: {
        PGresult *t = s_tenant(r, db, tid);
        if (!t)
            return 0;
        json_t *data = s_tenant_json(t, 0);
        PQclear(t);
        return s_ok(r, 200, data);
    }
    case A_KEY_CREATE:    return s_key_create(r, db, tid);
    case A_KEY_LIST:      return s_key_list(r, db, tid);
    case A_KEY_REVOKE:    return s_key_revoke(r, db, tid, gw_param(&pp, "key"));
    case A_USER_CREATE:   return gw_users_create(r, db, tid);
    case A_USER_LIST:     return gw_users_list(r, db, tid);
    case A_USER_DISABLE:  return gw_users_disable(r, db, tid, gw_param(&pp, "user"));
    case A_USER_LINK:     return gw_users_link(r, db, tid, gw_param(&pp, "user"));
    default:              return s_forward(r, db, route, &pp);
    }
}
