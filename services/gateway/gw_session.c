/*
 * gw_session.c -- console sessions as credentials of the public API, and
 * the checks every state-changing console request passes (see
 * gw_console.h).
 *
 * A request to /api/v1/ without an API key but with a session cookie is
 * authenticated by looking the session up (gw_session_check): one
 * statement on a console worker, no cache, so that a session that was
 * signed out or revoked, or whose user was disabled, stops working on the
 * very next request, on every gateway instance.  The lookup also slides
 * the idle expiry (at most once a minute, or a tenth of the idle time when
 * that is shorter).  The session then gives the request the tenant context
 * a key would give (gw_principal_t), so services cannot tell the two apart.
 *
 * CSRF: the cookies are SameSite=Strict, and a state-changing request that
 * relies on a cookie must also (1) come from the console's own origin
 * (Origin, or Referer when a browser sends no Origin) and (2) carry the
 * CSRF token in X-CSRF-Token: the session's (an HMAC of the session token
 * under the deployment's key secret, which every instance shares; nothing
 * stored), or before sign-in the kv_csrf cookie's value (double submit).
 * A request with an API key carries no cookie to abuse and needs neither.
 */
#include "gw_console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_db.h"
#include "gw_keys.h"
#include "gw_password.h"
#include "kv_log.h"
#include "kv_mem.h"

static gw_console_cfg_t s_cfg = {
    .idle_s = 43200, .max_s = 604800, .signin_account_limit = 10,
    .signin_address_limit = 50, .signin_window_s = 900, .origins = "",
    .console_url = "http://127.0.0.1:8080/console/",
};

void gw_console_configure(const gw_console_cfg_t *cfg)
{
    s_cfg = *cfg;
}

const gw_console_cfg_t *gw_console_cfg(void)
{
    return &s_cfg;
}

/* ---- cookies and origins --------------------------------------------- */

const char *gw_session_cookie(gw_req_t *r)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, GW_COOKIE_SESSION);
    return gw_token_shape_ok(v) ? v : NULL;
}

int gw_method_unsafe(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0 ||
           strcmp(m, "DELETE") == 0;
}

int gw_request_secure(gw_req_t *r)
{
    const gw_http_cfg_t *hc = gw_http_cfg();
    if (s_cfg.cookie_secure)
        return 1;
    if (hc->ntrusted > 0 && gw_cidr_list_match(hc->trusted, hc->ntrusted, &r->peer)) {
        const char *p = gw_req_header(r, "X-Forwarded-Proto");
        return p && strcasecmp(p, "https") == 0;
    }
    return 0;
}

void gw_cookie_format(gw_req_t *r, const char *name, const char *value, int max_age,
                      char *out, size_t size)
{
    snprintf(out, size, "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", name, value,
             max_age, gw_request_secure(r) ? "; Secure" : "");
}

int gw_url_origin(const char *url, char *out, size_t size)
{
    size_t skip;
    if (!url)
        return -1;
    if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else
        return -1;
    size_t host = strcspn(url + skip, "/?#");
    if (host == 0 || skip + host >= size)
        return -1;
    for (size_t i = 0; i < skip + host; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= ' ' || c >= 0x7f || c == '@' || c == '\\')
            return -1;               /* no userinfo, no spaces, ASCII only */
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
    }
    out[skip + host] = '\0';
    return 0;
}

int gw_origin_listed(const char *origin, const char *list)
{
    size_t n = strlen(origin);
    const char *p = list;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        while (len > 0 && p[len - 1] == '/')
            len--;               /* "https://x.example/" names the same origin */
        if (len == n && len > 0 && strncasecmp(p, origin, n) == 0)
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

int gw_origin_check(gw_req_t *r)
{
    char got[256], own[300];
    const char *origin = gw_req_header(r, "Origin");
    int ok = -1;
    if (origin && strcmp(origin, "null") != 0)
        ok = gw_url_origin(origin, got, sizeof got);
    else if (!origin)
        ok = gw_url_origin(gw_req_header(r, "Referer"), got, sizeof got);
    if (ok != 0) {
        gw_reply_error(r, 403, "Cross-site request refused: the request does not say which "
                               "page sent it (Origin).");
        return -1;
    }
    int same = 0;
    if (s_cfg.origins && *s_cfg.origins) {
        same = gw_origin_listed(got, s_cfg.origins);
    } else {
        const char *host = gw_req_header(r, MHD_HTTP_HEADER_HOST);
        if (host && snprintf(own, sizeof own, "%s://%s", gw_request_secure(r) ? "https" : "http",
                             host) < (int)sizeof own)
            same = gw_origin_listed(got, own);
    }
    if (!same) {
        gw_reply_error(r, 403, "Cross-site request refused.");
        return -1;
    }
    return 0;
}

int gw_csrf_check(gw_req_t *r)
{
    const char *sent = gw_req_header(r, GW_CSRF_HEADER);
    const char *session = gw_session_cookie(r);
    char want[GW_TOKEN_LEN + 1] = "";
    if (session) {
        gw_csrf_token(gw_http_cfg()->key_secret, GW_KEY_SECRET_LEN, session, want);
    } else {
        const char *c = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, GW_COOKIE_CSRF);
        if (gw_token_shape_ok(c))
            snprintf(want, sizeof want, "%s", c);
    }
    if (!want[0] || !sent || !gw_token_shape_ok(sent) || !gw_str_equal_ct(sent, want)) {
        gw_reply_error(r, 403, "The CSRF token is missing or invalid: reload the page.");
        return -1;
    }
    return 0;
}

/* ---- the session lookup ---------------------------------------------- */

typedef struct {
    gw_job_t job;                /* first: the pool's */
    gw_req_t *r;                 /* loop thread only */
    gw_auth_fn cb;
    char hash[65];               /* SHA-256 of the session token */
    char rid[65];
    int idle_s;
    /* outcome */
    int rc;                      /* GW_AUTH_* */
    int64_t session_id, user_id;
    gw_principal_t who;
} s_lookup_t;

static void s_lookup_run(gw_job_t *j, kv_db_t *db)
{
    s_lookup_t *l = (s_lookup_t *)j;
    char idle[16];
    snprintf(idle, sizeof idle, "%d", l->idle_s);
    const char *p[2] = { l->hash, idle };
    PGresult *res = db ? kv_db_exec(db, l->rid, "gw_session_lookup", 2, p) : NULL;
    if (!res) {
        l->rc = GW_AUTH_UNAVAILABLE;
        return;
    }
    l->rc = GW_AUTH_INVALID;
    if (PQntuples(res) == 1) {
        l->session_id = kv_db_i64(res, 0, 0);
        l->user_id = kv_db_i64(res, 0, 1);
        l->who.key_id = 0;
        l->who.tenant_id = kv_db_i64(res, 0, 2);
        snprintf(l->who.tz, sizeof l->who.tz, "%s", PQgetvalue(res, 0, 3));
        l->who.slot_interval = (int)kv_db_i64(res, 0, 4);
        l->rc = GW_AUTH_OK;
        if (strcmp(PQgetvalue(res, 0, 5), "t") == 0) {
            char id[24];
            snprintf(id, sizeof id, "%lld", (long long)l->session_id);
            const char *p2[1] = { id };
            (void)kv_db_run(db, l->rid, "gw_session_touch", 1, p2);   /* best effort */
        }
    }
    PQclear(res);
}

static void s_lookup_done(gw_job_t *j, int rc)
{
    s_lookup_t *l = (s_lookup_t *)j;
    gw_req_t *r = l->r;
    if (rc != GW_WORK_OK)
        l->rc = GW_AUTH_UNAVAILABLE;
    if (l->rc == GW_AUTH_OK) {
        r->session_id = l->session_id;
        r->user_id = l->user_id;
    }
    l->cb(r, l->rc, l->rc == GW_AUTH_OK ? &l->who : NULL);
}

int gw_session_check(gw_req_t *r, gw_auth_fn cb)
{
    const char *token = gw_session_cookie(r);
    if (!token)
        return GW_AUTH_INVALID;
    if (!s_cfg.work)
        return GW_AUTH_UNAVAILABLE;
    s_lookup_t *l = kv_calloc(1, sizeof *l);
    l->job.run = s_lookup_run;
    l->job.done = s_lookup_done;
    l->job.wait_ms = GW_AUTH_WAIT_MS;
    l->r = r;
    l->cb = cb;
    l->idle_s = s_cfg.idle_s;
    gw_sha256_hex(token, l->hash);
    snprintf(l->rid, sizeof l->rid, "%s", r->rid);
    pthread_mutex_lock(&r->mu);
    r->replied = 0;
    pthread_mutex_unlock(&r->mu);
    if (gw_work_submit(s_cfg.work, &l->job) != 0) {
        free(l);
        kv_warn(r->rid, "console workers busy: session lookup refused");
        return GW_AUTH_UNAVAILABLE;
    }
    return GW_AUTH_PENDING;
}
