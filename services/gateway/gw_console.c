/*
 * gw_console.c -- the console's own JSON routes and the API key routes of
 * the public API (see gw_console.h).
 *
 *   GET    /console/api/session   who is signed in (or not) and the CSRF token
 *   POST   /console/api/session   sign in {"email","password"} -> session cookie
 *   DELETE /console/api/session   sign out: the session ends, on every instance
 *   POST   /console/api/password  set a password {"token","password"} with a
 *                                 one-time link (kaivoxctl user create)
 *   GET    /api/v1/api-keys        the tenant's active keys (no secrets)
 *   POST   /api/v1/api-keys        {"name"} -> the new key, shown only here
 *   DELETE /api/v1/api-keys/{id}   revoke: it stops working within the key
 *                                  cache TTL on every instance (at once here)
 *
 * The headers step (loop thread) routes, checks the origin and the CSRF
 * token of state-changing requests, and lets the body come; the dispatch
 * step validates the body and hands one job to the console workers, which
 * run the statements (and Argon2id, for sign-in and set-password) and build
 * the whole answer; the loop thread sends it.  A failed sign-in says only
 * "The email or password is incorrect.", whichever was wrong, and takes as
 * long either way (gw_password_verify).  Sign-in failures are counted per
 * account and per client address in the database (signin_throttle), so the
 * limits hold across gateway instances.
 */
#include "gw_console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/crypto.h>

#include "gw_db.h"
#include "gw_input.h"
#include "gw_keys.h"
#include "gw_password.h"
#include "kv_api.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_valid.h"

#define S_KEYS_MAX 100           /* active API keys a tenant may hold */
#define S_EMAIL_MAX 254
#define S_SIGNIN_PASSWORD_MAX 1024   /* bytes a sign-in may send (the rule is
                                        checked when a password is set) */

enum { OP_SESSION_GET = 1, OP_SIGNIN, OP_SIGNOUT, OP_PASSWORD,
       OP_KEYS_LIST, OP_KEYS_CREATE, OP_KEYS_REVOKE };

typedef struct {
    const char *method;
    const char *path;
    int op;
} s_route_t;

static const s_route_t s_routes[] = {
    { "GET",    "/console/api/session",  OP_SESSION_GET },
    { "POST",   "/console/api/session",  OP_SIGNIN },
    { "DELETE", "/console/api/session",  OP_SIGNOUT },
    { "POST",   "/console/api/password", OP_PASSWORD },
    { NULL, NULL, 0 }
};

/* One console job: its inputs, set on the loop thread, and the answer the
 * worker builds. */
typedef struct {
    gw_job_t job;                /* first: the pool's */
    gw_req_t *r;                 /* loop thread only */
    int op;
    char rid[65];
    int secure;                  /* cookies get Secure */
    char session[GW_TOKEN_LEN + 1];   /* the session cookie ("" none) */
    char pre_csrf[GW_TOKEN_LEN + 1];  /* the kv_csrf token to hand out */
    int pre_csrf_new;            /* ... which needs its cookie set */
    char *email, *password, *token, *name;   /* owned; cleansed */
    char client[GW_ADDR_STRLEN]; /* the client address (throttle) */
    int64_t tenant_id, user_id, key_id;
    const char *scope;           /* a new key's: gw_key_scopes' static string */
    int page, per_page;
    /* the answer */
    int status;
    json_t *body;                /* owned envelope */
    char cookies[2][200];
    int ncookies;
    int retry_after;
} s_job_t;

static void s_free_str(char **p)
{
    if (*p) {
        OPENSSL_cleanse(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

static void s_job_release(gw_job_t *j)
{
    s_job_t *x = (s_job_t *)j;
    s_free_str(&x->email);
    s_free_str(&x->password);
    s_free_str(&x->token);
    s_free_str(&x->name);
    json_decref(x->body);
    OPENSSL_cleanse(x->session, sizeof x->session);
    free(x);
}

/* ---- answers built on the worker ------------------------------------- */

static void s_ok(s_job_t *x, int status, json_t *data, json_t *meta)
{
    kv_rep_t rep = { 500, NULL, NULL, 0 };
    kv_reply_ok(&rep, status, data, meta);
    x->status = rep.status;
    json_decref(x->body);
    x->body = rep.body;
}

static void s_error(s_job_t *x, int status, const char *msg)
{
    kv_rep_t rep = { 500, NULL, NULL, 0 };
    kv_reply_error(&rep, status, msg, NULL);
    x->status = rep.status;
    json_decref(x->body);
    x->body = rep.body;
}

static void s_invalid1(s_job_t *x, const char *field, const char *msg)
{
    kv_rep_t rep = { 500, NULL, NULL, 0 };
    json_t *e = json_object();
    kv_errors_add(e, field, msg);
    kv_reply_invalid(&rep, e);
    x->status = rep.status;
    json_decref(x->body);
    x->body = rep.body;
}

static void s_unavailable(s_job_t *x)
{
    s_error(x, 503, "Service temporarily unavailable.");
}

static void s_cookie(s_job_t *x, const char *name, const char *value, int max_age)
{
    if (x->ncookies >= 2)
        return;
    snprintf(x->cookies[x->ncookies++], sizeof x->cookies[0],
             "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", name, value, max_age,
             x->secure ? "; Secure" : "");
}

/* The signed-out answer: the pre-session CSRF token (its cookie when new),
 * and the session cookie cleared when one was sent. */
static void s_signed_out(s_job_t *x)
{
    if (x->pre_csrf_new)
        s_cookie(x, GW_COOKIE_CSRF, x->pre_csrf, gw_console_cfg()->max_s);
    if (x->session[0])
        s_cookie(x, GW_COOKIE_SESSION, "", 0);
    s_ok(x, 200, json_pack("{s:b, s:s}", "signed_in", 0, "csrf_token", x->pre_csrf), NULL);
}

/* The signed-in answer, from a row with user id, email, name, tenant id,
 * name, timezone and expires_at at the given columns. */
static void s_signed_in(s_job_t *x, const char *token, int64_t user_id, const char *email,
                        const char *name, int64_t tenant_id, const char *tenant_name,
                        const char *tz, const char *expires_at)
{
    char csrf[GW_TOKEN_LEN + 1];
    gw_csrf_token(gw_http_cfg()->key_secret, GW_KEY_SECRET_LEN, token, csrf);
    json_t *data = json_pack("{s:b, s:s, s:{s:I, s:s, s:o}, s:{s:I, s:s, s:s}, s:s}",
                             "signed_in", 1, "csrf_token", csrf,
                             "user", "id", (json_int_t)user_id, "email", email,
                             "name", name ? json_string(name) : json_null(),
                             "tenant", "id", (json_int_t)tenant_id, "name", tenant_name,
                             "timezone", tz, "expires_at", expires_at);
    OPENSSL_cleanse(csrf, sizeof csrf);
    s_ok(x, 200, data, NULL);
}

/* ---- the jobs (console workers) -------------------------------------- */

static void s_run_session_get(s_job_t *x, kv_db_t *db)
{
    if (!x->session[0]) {
        s_signed_out(x);
        return;
    }
    char hash[65], idle[16];
    gw_sha256_hex(x->session, hash);
    snprintf(idle, sizeof idle, "%d", gw_console_cfg()->idle_s);
    const char *p[2] = { hash, idle };
    PGresult *res = kv_db_exec(db, x->rid, "gw_session_lookup", 2, p);
    if (!res) {
        s_unavailable(x);
        return;
    }
    if (PQntuples(res) != 1) {
        s_signed_out(x);
    } else {
        s_signed_in(x, x->session, kv_db_i64(res, 0, 1), PQgetvalue(res, 0, 6),
                    kv_db_str(res, 0, 7), kv_db_i64(res, 0, 2), PQgetvalue(res, 0, 8),
                    PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 9));
        if (strcmp(PQgetvalue(res, 0, 5), "t") == 0) {
            const char *p2[1] = { PQgetvalue(res, 0, 0) };
            (void)kv_db_run(db, x->rid, "gw_session_touch", 1, p2);
        }
    }
    PQclear(res);
}

/* 0 when the account and the address may try; else answers 429. */
static int s_throttle_ok(s_job_t *x, kv_db_t *db, const char *account, const char *window)
{
    const gw_console_cfg_t *cc = gw_console_cfg();
    const char *p[3] = { account, x->client, window };
    PGresult *res = kv_db_exec(db, x->rid, "gw_throttle_get", 3, p);
    if (!res) {
        s_unavailable(x);
        return -1;
    }
    int wait = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        int acct = strcmp(PQgetvalue(res, i, 0), "account") == 0;
        long long n = kv_db_i64(res, i, 1);
        int limit = acct ? cc->signin_account_limit : cc->signin_address_limit;
        if (limit > 0 && n >= limit && kv_db_i64(res, i, 2) > wait)
            wait = (int)kv_db_i64(res, i, 2);
    }
    PQclear(res);
    if (wait > 0) {
        x->retry_after = wait;
        kv_warn(x->rid, "sign-in throttled for %d s", wait);
        s_error(x, 429, "Too many failed sign-in attempts: try again later.");
        return -1;
    }
    return 0;
}

static void s_run_signin(s_job_t *x, kv_db_t *db)
{
    const gw_console_cfg_t *cc = gw_console_cfg();
    char account[65], window[16], token[GW_TOKEN_LEN + 1] = "", hash[65], idle[16], life[16];
    PGresult *u = NULL, *s = NULL;
    snprintf(window, sizeof window, "%d", cc->signin_window_s);
    gw_sha256_hex(x->email, account);
    if (s_throttle_ok(x, db, account, window) != 0)
        goto out;
    const char *p[1] = { x->email };
    u = kv_db_exec(db, x->rid, "gw_signin_user", 1, p);
    if (!u) {
        s_unavailable(x);
        goto out;
    }
    const char *stored = PQntuples(u) == 1 ? kv_db_str(u, 0, 2) : NULL;
    int ok = gw_password_verify(stored, x->password);   /* a dummy one when none */
    if (!ok) {
        const char *f1[3] = { "account", account, window };
        const char *f2[3] = { "address", x->client, window };
        const char *f3[1] = { window };
        if (kv_db_run(db, x->rid, "gw_throttle_fail", 3, f1) != 0 ||
            kv_db_run(db, x->rid, "gw_throttle_fail", 3, f2) != 0) {
            s_unavailable(x);
            goto out;
        }
        (void)kv_db_run(db, x->rid, "gw_throttle_prune", 1, f3);
        kv_info(x->rid, "console sign-in refused");
        s_error(x, 401, "The email or password is incorrect.");
        goto out;
    }
    const char *uid = PQgetvalue(u, 0, 0), *tid = PQgetvalue(u, 0, 1);
    snprintf(idle, sizeof idle, "%d", cc->idle_s);
    snprintf(life, sizeof life, "%d", cc->max_s);
    const char *c[1] = { account };
    const char *pr[2] = { uid, idle };
    (void)kv_db_run(db, x->rid, "gw_throttle_clear", 1, c);
    (void)kv_db_run(db, x->rid, "gw_session_prune", 2, pr);
    if (gw_token_new(token) != 0) {
        kv_error(x->rid, "random source failed");
        s_error(x, 500, "Internal server error.");
        goto out;
    }
    gw_sha256_hex(token, hash);
    const char *sp[4] = { uid, tid, hash, life };
    s = kv_db_exec(db, x->rid, "gw_session_create", 4, sp);
    if (!s || PQntuples(s) != 1) {
        s_unavailable(x);
        goto out;
    }
    kv_info(x->rid, "console sign-in user_id=%s tenant_id=%s session_id=%s", uid, tid,
            PQgetvalue(s, 0, 0));
    s_cookie(x, GW_COOKIE_SESSION, token, cc->max_s);
    s_signed_in(x, token, kv_db_i64(u, 0, 0), PQgetvalue(u, 0, 3), kv_db_str(u, 0, 4),
                kv_db_i64(u, 0, 1), PQgetvalue(u, 0, 5), PQgetvalue(u, 0, 6),
                PQgetvalue(s, 0, 1));
out:
    OPENSSL_cleanse(token, sizeof token);
    if (u)
        PQclear(u);
    if (s)
        PQclear(s);
}

static void s_run_signout(s_job_t *x, kv_db_t *db)
{
    if (x->session[0]) {
        char hash[65];
        gw_sha256_hex(x->session, hash);
        const char *p[1] = { hash };
        PGresult *res = kv_db_exec(db, x->rid, "gw_session_revoke", 1, p);
        if (!res) {
            s_unavailable(x);
            return;
        }
        if (PQntuples(res) == 1)
            kv_info(x->rid, "console sign-out session_id=%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    s_signed_out(x);
}

static void s_run_password(s_job_t *x, kv_db_t *db)
{
    static const char *bad_link = "The link is invalid or has expired: ask for a new one.";
    char hash[65], pw[GW_PW_ENCODED_MAX] = "";
    gw_sha256_hex(x->token, hash);
    const char *p[1] = { hash };
    PGresult *res = kv_db_exec(db, x->rid, "gw_pwtoken_check", 1, p);
    if (!res) {
        s_unavailable(x);
        return;
    }
    int found = PQntuples(res) == 1;
    PQclear(res);
    if (!found) {                    /* no hashing for a link that cannot work */
        s_invalid1(x, "token", bad_link);
        return;
    }
    if (gw_password_hash(x->password, pw) != 0) {
        kv_error(x->rid, "password hashing failed");
        s_error(x, 500, "Internal server error.");
        return;
    }
    const char *p2[2] = { hash, pw };
    res = kv_db_exec(db, x->rid, "gw_pwtoken_use", 2, p2);
    OPENSSL_cleanse(pw, sizeof pw);
    if (!res) {
        s_unavailable(x);
        return;
    }
    if (PQntuples(res) != 1) {
        s_invalid1(x, "token", bad_link);
    } else {
        kv_info(x->rid, "console password set user_id=%s sessions_ended=%s",
                PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2));
        s_ok(x, 200, json_pack("{s:s}", "email", PQgetvalue(res, 0, 1)), NULL);
    }
    PQclear(res);
}

/* A row of APIKEY_COLS as the API shows it. */
static json_t *s_key_json(const PGresult *res, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(kv_db_i64(res, row, 0)));
    json_object_set_new(o, "name", kv_json_cell_str(res, row, 1));
    json_object_set_new(o, "prefix", kv_json_cell_str(res, row, 2));
    json_object_set_new(o, "created_at", kv_json_cell_str(res, row, 3));
    json_object_set_new(o, "last_used_at", kv_json_cell_str(res, row, 4));
    json_object_set_new(o, "scope", kv_json_cell_str(res, row, 5));
    return o;
}

static void s_run_keys_list(s_job_t *x, kv_db_t *db)
{
    char tenant[KV_DB_I64_LEN], limit[KV_DB_I64_LEN], offset[KV_DB_I64_LEN];
    long long total = 0;
    PGresult *rows = NULL;
    kv_db_i64_param(tenant, x->tenant_id);
    long long off = kv_page_params(x->page, x->per_page, limit, offset);
    const char *lp[3] = { tenant, limit, offset };
    if (kv_db_page(db, x->rid, "gw_apikey_count", 1, lp, "gw_apikey_list", 3, lp, off, &total,
                   &rows) != 0) {
        s_unavailable(x);
        return;
    }
    json_t *list = json_array();
    for (int i = 0; rows && i < PQntuples(rows); i++)
        json_array_append_new(list, s_key_json(rows, i));
    if (rows)
        PQclear(rows);
    s_ok(x, 200, list, kv_meta_page(x->page, x->per_page, total));
}

static void s_run_keys_create(s_job_t *x, kv_db_t *db)
{
    char key[GW_KEY_LEN + 1], hash[65], prefix[GW_KEY_PREFIX_LEN + 1];
    char tenant[KV_DB_I64_LEN], max[16];
    if (gw_key_generate(gw_http_cfg()->key_secret, key) != 0) {
        kv_error(x->rid, "random source failed");
        s_error(x, 500, "Internal server error.");
        return;
    }
    gw_key_hash_hex(key, hash);
    gw_key_prefix(key, prefix);
    kv_db_i64_param(tenant, x->tenant_id);
    snprintf(max, sizeof max, "%d", S_KEYS_MAX);
    const char *p[6] = { tenant, x->name, hash, prefix, max, x->scope };
    PGresult *res = kv_db_exec(db, x->rid, "gw_apikey_create", 6, p);
    if (!res) {
        s_unavailable(x);
    } else if (PQntuples(res) != 1) {
        s_error(x, 409, "A tenant may hold at most 100 active API keys: delete one first.");
    } else {
        json_t *data = s_key_json(res, 0);
        json_object_set_new(data, "key", json_string(key));
        kv_info(x->rid, "api key created id=%s tenant_id=%lld user_id=%lld scope=%s",
                PQgetvalue(res, 0, 0), (long long)x->tenant_id, (long long)x->user_id, x->scope);
        s_ok(x, 201, data, NULL);
    }
    OPENSSL_cleanse(key, sizeof key);
    if (res)
        PQclear(res);
}

static void s_run_keys_revoke(s_job_t *x, kv_db_t *db)
{
    char tenant[KV_DB_I64_LEN], id[KV_DB_I64_LEN];
    const char *p[2] = { kv_db_i64_param(tenant, x->tenant_id), kv_db_i64_param(id, x->key_id) };
    PGresult *res = kv_db_exec(db, x->rid, "gw_apikey_revoke", 2, p);
    if (!res) {
        s_unavailable(x);
        return;
    }
    if (PQntuples(res) != 1) {
        s_error(x, 404, "API key not found.");
    } else {
        gw_auth_forget(gw_http_cfg()->auth, PQgetvalue(res, 0, 6));   /* any thread */
        kv_info(x->rid, "api key revoked id=%s tenant_id=%lld user_id=%lld",
                PQgetvalue(res, 0, 0), (long long)x->tenant_id, (long long)x->user_id);
        s_ok(x, 200, s_key_json(res, 0), NULL);
    }
    PQclear(res);
}

static void s_job_run(gw_job_t *j, kv_db_t *db)
{
    s_job_t *x = (s_job_t *)j;
    if (!db) {
        s_unavailable(x);
        return;
    }
    switch (x->op) {
    case OP_SESSION_GET: s_run_session_get(x, db); break;
    case OP_SIGNIN:      s_run_signin(x, db); break;
    case OP_SIGNOUT:     s_run_signout(x, db); break;
    case OP_PASSWORD:    s_run_password(x, db); break;
    case OP_KEYS_LIST:   s_run_keys_list(x, db); break;
    case OP_KEYS_CREATE: s_run_keys_create(x, db); break;
    case OP_KEYS_REVOKE: s_run_keys_revoke(x, db); break;
    default:             s_error(x, 500, "Internal server error."); break;
    }
}

/* Loop thread: the answer goes out. */
static void s_job_done(gw_job_t *j, int rc)
{
    s_job_t *x = (s_job_t *)j;
    gw_req_t *r = x->r;
    if (rc != GW_WORK_OK || !x->body) {
        gw_reply_error(r, 503, "Service temporarily unavailable.");
    } else {
        for (int i = 0; i < x->ncookies; i++)
            gw_req_add_header(r, MHD_HTTP_HEADER_SET_COOKIE, x->cookies[i]);
        if (x->retry_after > 0) {
            char v[16];
            snprintf(v, sizeof v, "%d", x->retry_after);
            gw_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
        }
        gw_reply_json(r, x->status, x->body);
        x->body = NULL;
    }
    OPENSSL_cleanse(x->cookies, sizeof x->cookies);
    gw_req_resume(r);
}

/* A new job of op for r (loop thread). */
static s_job_t *s_job_new(gw_req_t *r, int op)
{
    s_job_t *x = kv_calloc(1, sizeof *x);
    x->job.run = s_job_run;
    x->job.done = s_job_done;
    x->job.release = s_job_release;
    x->job.heavy = op == OP_SIGNIN || op == OP_PASSWORD;
    x->job.wait_ms = x->job.heavy ? 10000 : GW_AUTH_WAIT_MS;
    x->r = r;
    x->op = op;
    x->secure = gw_request_secure(r);
    snprintf(x->rid, sizeof x->rid, "%s", r->rid);
    const char *s = gw_session_cookie(r);
    if (s)
        snprintf(x->session, sizeof x->session, "%s", s);
    x->tenant_id = r->who.tenant_id;
    x->user_id = r->user_id;
    gw_addr_format(&r->client, x->client);
    return x;
}

/* Submits x and suspends r: 1; or answers 503 and frees x: 0. */
static int s_submit(gw_req_t *r, s_job_t *x)
{
    const gw_console_cfg_t *cc = gw_console_cfg();
    pthread_mutex_lock(&r->mu);
    r->replied = 0;              /* a session lookup may have resumed r before */
    pthread_mutex_unlock(&r->mu);
    if (!cc->work || gw_work_submit(cc->work, &x->job) != 0) {
        s_job_release(&x->job);
        kv_warn(r->rid, "console workers busy: 503");
        return gw_reply_error(r, 503, "Service temporarily unavailable.");
    }
    gw_req_suspend(r);
    return 1;
}

/* ---- the headers step ------------------------------------------------- */

static int s_has_body(gw_req_t *r)
{
    const char *te = gw_req_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *cl = gw_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (te && *te) || (cl && strspn(cl, "0") != strlen(cl));
}

int gw_console_headers(gw_req_t *r)
{
    r->console = 1;
    r->out_hdrs = gw_console_security_headers;
    int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    if (strcmp(r->path, "/console") == 0) {
        if (!get) {
            gw_req_add_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
            gw_reply_error(r, 405, "Method not allowed.");
            return GW_ANSWERED;
        }
        gw_req_add_header(r, MHD_HTTP_HEADER_LOCATION, "/console/");
        gw_reply_error(r, 301, "Moved to /console/.");
        return GW_ANSWERED;
    }
    if (r->uri_error != GW_INPUT_OK) {
        gw_reply_error(r, r->uri_error == GW_INPUT_TOO_LONG ? 414 : 400,
                       gw_input_message(r->uri_error));
        return GW_ANSWERED;
    }
    if (strncmp(r->path, "/console/api/", 13) != 0) {
        if (!get) {
            gw_req_add_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
            gw_reply_error(r, 405, "Method not allowed.");
            return GW_ANSWERED;
        }
        return gw_static_serve(r, r->path + 9);
    }

    gw_req_add_header(r, "Cache-Control", "no-store");
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    const s_route_t *found = NULL;
    char allow[64] = "";
    for (const s_route_t *rt = s_routes; rt->method; rt++) {
        if (strcmp(rt->path, r->path) != 0)
            continue;
        if (strcmp(rt->method, method) == 0) {
            found = rt;
            break;
        }
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "",
                 strcmp(rt->method, "GET") == 0 ? "GET, HEAD" : rt->method);
    }
    if (!found) {
        if (allow[0]) {
            gw_req_add_header(r, MHD_HTTP_HEADER_ALLOW, allow);
            gw_reply_error(r, 405, "Method not allowed.");
        } else {
            gw_reply_error(r, 404, "Route not found.");
        }
        return GW_ANSWERED;
    }
    r->console_op = found;
    if (gw_method_unsafe(r->method) &&
        (gw_origin_check(r) != 0 || gw_csrf_check(r) != 0))
        return GW_ANSWERED;
    const char *ct = gw_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (gw_method_unsafe(r->method) && ct && !gw_content_type_is_json(ct) && s_has_body(r)) {
        gw_reply_error(r, 415, "Unsupported Media Type: the body must be JSON "
                               "(Content-Type: application/json).");
        return GW_ANSWERED;
    }
    return GW_NEXT;
}

/* ---- the dispatch step ------------------------------------------------ */

/* The body as an object with only the keys of known, each a non-empty
 * string of at most max[i] bytes, copied into *out[i] (owned).  Answers
 * 400/422 and returns -1 when it is not so (nothing is then left in out). */
static int s_read_strings(gw_req_t *r, const char *const *known, char **out[],
                          const size_t max[])
{
    json_t *body = NULL, *errors = json_object();
    int rc = -1;
    if (gw_req_body_json(r, &body) != 0)
        goto out;
    if (kv_read_object(json_is_null(body) ? NULL : body, errors) == 0) {
        kv_read_known(body, known, errors);
        for (int i = 0; known[i]; i++) {
            json_t *v = json_object_get(body, known[i]);
            char m[160];
            if (!v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)))
                snprintf(m, sizeof m, "The %s field is required.", known[i]);
            else if (!json_is_string(v))
                snprintf(m, sizeof m, "The %s must be a string.", known[i]);
            else if (strlen(json_string_value(v)) != json_string_length(v))
                snprintf(m, sizeof m, "The %s may not contain NUL characters.", known[i]);
            else if (json_string_length(v) > max[i])
                snprintf(m, sizeof m, "The %s may not be greater than %zu bytes.", known[i], max[i]);
            else {
                *out[i] = kv_strdup(json_string_value(v));
                continue;
            }
            kv_errors_add(errors, known[i], m);
        }
    }
    if (json_object_size(errors) == 0) {
        rc = 0;
        goto out;
    }
    kv_rep_t rep = { 500, NULL, NULL, 0 };
    kv_reply_invalid(&rep, errors);
    errors = NULL;
    gw_reply_json(r, rep.status, rep.body);
    for (int i = 0; known[i]; i++)
        s_free_str(out[i]);
out:
    json_decref(body);
    json_decref(errors);
    return rc;
}

/* ASCII lower-casing in place (e-mail addresses are compared so). */
static void s_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s + 32);
}

/* The pre-session CSRF token: the kv_csrf cookie when it has the right
 * shape, else a new one (its cookie is set with the answer). */
static void s_pre_csrf(gw_req_t *r, s_job_t *x)
{
    const char *c = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, GW_COOKIE_CSRF);
    if (gw_token_shape_ok(c)) {
        snprintf(x->pre_csrf, sizeof x->pre_csrf, "%s", c);
    } else if (gw_token_new(x->pre_csrf) == 0) {
        x->pre_csrf_new = 1;
    }
}

int gw_console_dispatch(gw_req_t *r)
{
    const s_route_t *rt = r->console_op;
    if (!rt)
        return gw_reply_error(r, 404, "Route not found.");
    s_job_t *x = s_job_new(r, rt->op);
    switch (rt->op) {
    case OP_SESSION_GET:
    case OP_SIGNOUT:
        s_pre_csrf(r, x);
        break;
    case OP_SIGNIN: {
        static const char *const known[] = { "email", "password", NULL };
        static const size_t max[] = { S_EMAIL_MAX, S_SIGNIN_PASSWORD_MAX };
        char **out[] = { &x->email, &x->password };
        if (s_read_strings(r, known, out, max) != 0) {
            s_job_release(&x->job);
            return 0;
        }
        s_lower(x->email);
        break;
    }
    case OP_PASSWORD: {
        static const char *const known[] = { "token", "password", NULL };
        static const size_t max[] = { 256, 4 * GW_PW_MAX_CHARS };
        char **out[] = { &x->token, &x->password };
        if (s_read_strings(r, known, out, max) != 0) {
            s_job_release(&x->job);
            return 0;
        }
        json_t *errors = json_object();
        const char *problem = gw_password_problem(x->password);
        if (problem)
            kv_errors_add(errors, "password", problem);
        if (!gw_token_shape_ok(x->token))
            kv_errors_add(errors, "token", "The link is invalid or has expired: ask for a new one.");
        if (json_object_size(errors) > 0) {
            kv_rep_t rep = { 500, NULL, NULL, 0 };
            kv_reply_invalid(&rep, errors);
            s_job_release(&x->job);
            return gw_reply_json(r, rep.status, rep.body);
        }
        json_decref(errors);
        break;
    }
    default:
        break;
    }
    return s_submit(r, x);
}

int gw_console_local(gw_req_t *r)
{
    if (r->session_id <= 0)          /* also checked in the headers step */
        return gw_reply_error(r, 403, "API keys cannot manage API keys: sign in to the console.");
    int op = r->route->local == GW_LOCAL_KEYS_LIST   ? OP_KEYS_LIST
           : r->route->local == GW_LOCAL_KEYS_CREATE ? OP_KEYS_CREATE
           : OP_KEYS_REVOKE;
    s_job_t *x = s_job_new(r, op);
    json_t *errors = json_object();
    json_t *body = NULL;
    if (op == OP_KEYS_LIST) {
        kv_query_page(r->query, 20, 100, &x->page, &x->per_page, errors);
    } else if (op == OP_KEYS_CREATE) {
        static const char *const known[] = { "name", "scope", NULL };
        static const kv_text_rule_t rule = { 1, 200, KV_TEXT_LINE,
                                             KV_TEXT_TRIM | KV_TEXT_BLANK_ABSENT };
        if (gw_req_body_json(r, &body) != 0) {
            s_job_release(&x->job);
            json_decref(errors);
            return 0;
        }
        if (kv_read_object(json_is_null(body) ? NULL : body, errors) == 0) {
            kv_read_known(body, known, errors);
            kv_read_text(body, "name", KV_REQUIRED, &rule, &x->name, errors);
            x->scope = gw_key_scopes[0];
            kv_read_enum(body, "scope", KV_OPTIONAL, gw_key_scopes, &x->scope, errors);
        }
    } else {
        const char *id = gw_param(&r->params, "id");
        int64_t v = 0;
        if (!id || kv_parse_i64(id, &v) != 0 || v <= 0) {
            s_job_release(&x->job);
            json_decref(errors);
            return gw_reply_error(r, 404, "API key not found.");
        }
        x->key_id = v;
    }
    json_decref(body);
    if (json_object_size(errors) > 0) {
        kv_rep_t rep = { 500, NULL, NULL, 0 };
        kv_reply_invalid(&rep, errors);
        s_job_release(&x->job);
        return gw_reply_json(r, rep.status, rep.body);
    }
    json_decref(errors);
    return s_submit(r, x);
}
