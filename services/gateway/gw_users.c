/*
 * gw_users.c -- the operator's user commands on the admin API (see
 * gw_console.h), behind kaivoxctl user create / list / disable /
 * password-link:
 *
 *   POST /admin/v1/tenants/{id}/users                    {"email","name"?}
 *   GET  /admin/v1/tenants/{id}/users
 *   POST /admin/v1/tenants/{id}/users/{user}/disable     ends its sessions at once
 *   POST /admin/v1/tenants/{id}/users/{user}/password-link
 *
 * A new user has no password: the answer carries a one-time set-password
 * link, valid 24 hours (KAIVOX_CONSOLE_URL + "set-password#token=..."; the
 * token is in the fragment, so it never reaches a server log or a Referer).
 * Only its SHA-256 is stored.  A new link voids the user's older ones.
 * These run on the admin listener's thread, which may wait for the
 * database.
 */
#include "gw_console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "gw_db.h"
#include "gw_password.h"
#include "kv_api.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_valid.h"

#define S_LINK_TTL_S 86400

/* A row of USER_COLS (gw_db.c). */
static json_t *s_user_json(const PGresult *res, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(kv_db_i64(res, row, 0)));
    json_object_set_new(o, "tenant_id", json_integer(kv_db_i64(res, row, 1)));
    json_object_set_new(o, "email", kv_json_cell_str(res, row, 2));
    json_object_set_new(o, "name", kv_json_cell_str(res, row, 3));
    json_object_set_new(o, "created_at", kv_json_cell_str(res, row, 4));
    json_object_set_new(o, "password_set", json_boolean(strcmp(PQgetvalue(res, row, 5), "t") == 0));
    json_object_set_new(o, "password_set_at", kv_json_cell_str(res, row, 6));
    json_object_set_new(o, "disabled_at", kv_json_cell_str(res, row, 7));
    return o;
}

static int s_reply(gw_req_t *r, kv_rep_t *rep)
{
    return gw_reply_json(r, rep->status, rep->body);
}

/* 0 when tenant exists; else answers 404 / 503. */
static int s_tenant_ok(gw_req_t *r, kv_db_t *db, const char *tenant)
{
    const char *p[1] = { tenant };
    PGresult *t = kv_db_exec(db, r->rid, "gw_tenant_get", 1, p);
    if (!t) {
        gw_reply_error(r, 503, "Service temporarily unavailable.");
        return -1;
    }
    int n = PQntuples(t);
    PQclear(t);
    if (n != 1) {
        gw_reply_error(r, 404, "Tenant not found.");
        return -1;
    }
    return 0;
}

/* Makes a new set-password link for user (voiding older ones) and adds
 * set_password_url and set_password_expires_at to o.  0 or -1 (answered). */
static int s_link(gw_req_t *r, kv_db_t *db, const char *user, json_t *o)
{
    char token[GW_TOKEN_LEN + 1], hash[65], ttl[16], url[600];
    int rc = -1;
    PGresult *res = NULL;
    if (gw_token_new(token) != 0) {
        kv_error(r->rid, "random source failed");
        gw_reply_error(r, 500, "Internal server error.");
        goto out;
    }
    gw_sha256_hex(token, hash);
    snprintf(ttl, sizeof ttl, "%d", S_LINK_TTL_S);
    const char *pv[1] = { user };
    const char *pc[3] = { user, hash, ttl };
    if (kv_db_run(db, r->rid, "gw_pwtoken_void", 1, pv) != 0 ||
        !(res = kv_db_exec(db, r->rid, "gw_pwtoken_create", 3, pc)) || PQntuples(res) != 1) {
        gw_reply_error(r, 503, "Service temporarily unavailable.");
        goto out;
    }
    snprintf(url, sizeof url, "%sset-password#token=%s", gw_console_cfg()->console_url, token);
    json_object_set_new(o, "set_password_url", json_string(url));
    json_object_set_new(o, "set_password_expires_at", kv_json_cell_str(res, 0, 0));
    rc = 0;
out:
    OPENSSL_cleanse(token, sizeof token);
    OPENSSL_cleanse(url, sizeof url);
    if (res)
        PQclear(res);
    return rc;
}

int gw_users_create(gw_req_t *r, kv_db_t *db, const char *tenant)
{
    static const char *const known[] = { "email", "name", NULL };
    static const kv_text_rule_t email_rule = { 1, 254, KV_TEXT_LINE,
                                               KV_TEXT_TRIM | KV_TEXT_BLANK_ABSENT };
    json_t *body = NULL, *errors = json_object(), *o = NULL;
    char *email = NULL, *name = NULL;
    PGresult *res = NULL;
    kv_rep_t rep = { 500, NULL, NULL, 0 };
    if (s_tenant_ok(r, db, tenant) != 0)
        goto out;
    if (gw_req_body_json(r, &body) != 0)
        goto out;
    if (kv_read_object(json_is_null(body) ? NULL : body, errors) == 0) {
        kv_read_known(body, known, errors);
        if (kv_read_text(body, "email", KV_REQUIRED, &email_rule, &email, errors) == KV_FIELD_OK) {
            for (char *c = email; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c + 32);
            if (kv_valid_email(email) != 0)
                kv_errors_add(errors, "email", "The email must be a valid email address.");
        }
        kv_read_text(body, "name", KV_OPTIONAL, &kv_rule_person_name, &name, errors);
    }
    if (json_object_size(errors) > 0) {
        kv_reply_invalid(&rep, errors);
        errors = NULL;
        s_reply(r, &rep);
        goto out;
    }
    const char *p[3] = { tenant, email, name };
    res = kv_db_exec(db, r->rid, "gw_user_create", 3, p);
    if (!res) {
        gw_reply_error(r, 503, "Service temporarily unavailable.");
        goto out;
    }
    if (PQntuples(res) != 1) {
        json_t *e = json_object();
        kv_errors_add(e, "email", "The email has already been taken.");
        kv_reply_invalid(&rep, e);
        s_reply(r, &rep);
        goto out;
    }
    o = s_user_json(res, 0);
    if (s_link(r, db, PQgetvalue(res, 0, 0), o) != 0)
        goto out;
    kv_info(r->rid, "console user created id=%s tenant_id=%s", PQgetvalue(res, 0, 0), tenant);
    kv_reply_ok(&rep, 201, o, NULL);
    o = NULL;
    s_reply(r, &rep);
out:
    json_decref(o);
    if (res)
        PQclear(res);
    free(email);
    free(name);
    json_decref(errors);
    json_decref(body);
    return 0;
}

int gw_users_list(gw_req_t *r, kv_db_t *db, const char *tenant)
{
    if (s_tenant_ok(r, db, tenant) != 0)
        return 0;
    const char *p[1] = { tenant };
    PGresult *res = kv_db_exec(db, r->rid, "gw_user_list", 1, p);
    if (!res)
        return gw_reply_error(r, 503, "Service temporarily unavailable.");
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, s_user_json(res, i));
    PQclear(res);
    kv_rep_t rep = { 500, NULL, NULL, 0 };
    kv_reply_ok(&rep, 200, list, NULL);
    return s_reply(r, &rep);
}

int gw_users_disable(gw_req_t *r, kv_db_t *db, const char *tenant, const char *user)
{
    if (s_tenant_ok(r, db, tenant) != 0)
        return 0;
    const char *p[2] = { tenant, user };
    if (kv_db_begin(db, r->rid) != 0)
        return gw_reply_error(r, 503, "Service temporarily unavailable.");
    PGresult *res = kv_db_exec(db, r->rid, "gw_user_disable", 2, p);
    if (!res) {
        kv_db_rollback(db, r->rid);
        return gw_reply_error(r, 503, "Service temporarily unavailable.");
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        kv_db_rollback(db, r->rid);
        return gw_reply_error(r, 404, "User not found.");
    }
    const char *pu[1] = { PQgetvalue(res, 0, 0) };
    if (kv_db_run(db, r->rid, "gw_session_revoke_user", 1, pu) != 0 ||
        kv_db_run(db, r->rid, "gw_pwtoken_void", 1, pu) != 0 || kv_db_commit(db, r->rid) != 0) {
        PQclear(res);
        kv_db_rollback(db, r->rid);
        return gw_reply_error(r, 503, "Service temporarily unavailable.");
    }
    kv_info(r->rid, "console user disabled id=%s tenant_id=%s", user, tenant);
    kv_rep_t rep = { 500, NULL, NULL, 0 };
    kv_reply_ok(&rep, 200, s_user_json(res, 0), NULL);
    PQclear(res);
    return s_reply(r, &rep);
}

int gw_users_link(gw_req_t *r, kv_db_t *db, const char *tenant, const char *user)
{
    if (s_tenant_ok(r, db, tenant) != 0)
        return 0;
    const char *p[2] = { tenant, user };
    PGresult *res = kv_db_exec(db, r->rid, "gw_user_get", 2, p);
    if (!res)
        return gw_reply_error(r, 503, "Service temporarily unavailable.");
    if (PQntuples(res) != 1 || kv_db_str(res, 0, 7)) {
        PQclear(res);
        return gw_reply_error(r, 404, "User not found.");
    }
    json_t *o = s_user_json(res, 0);
    int rc = s_link(r, db, PQgetvalue(res, 0, 0), o);
    PQclear(res);
    if (rc != 0) {
        json_decref(o);
        return 0;
    }
    kv_info(r->rid, "console set-password link made user_id=%s tenant_id=%s", user, tenant);
    kv_rep_t rep = { 500, NULL, NULL, 0 };
    kv_reply_ok(&rep, 201, o, NULL);
    return s_reply(r, &rep);
}
