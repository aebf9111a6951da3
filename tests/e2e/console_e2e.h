/*
 * console_e2e.h -- helpers of the console's end-to-end tests: a console
 * client that keeps its cookies and CSRF token the way a browser does, and
 * users made through the admin API.  Header-only, like the other *_e2e.h.
 */
#ifndef CONSOLE_E2E_H
#define CONSOLE_E2E_H

#include <strings.h>

#include "gw_e2e.h"

/* A browser's state towards one gateway. */
typedef struct {
    char base[64];               /* http://127.0.0.1:port */
    char session[64];            /* kv_session cookie ("" none) */
    char pre[64];                /* kv_csrf cookie */
    char csrf[64];               /* the token GET /console/api/session gave */
} cs_client_t;

static inline void cs_init(cs_client_t *c, const char *base)
{
    memset(c, 0, sizeof *c);
    snprintf(c->base, sizeof c->base, "%s", base ? base : kvt_env("KVT_BASE_URL", ""));
}

/* Copies the value of every Set-Cookie of r into the client (an empty value
 * clears it); also counts them into *n when not NULL, and the attributes of
 * the last kv_session one into attrs (may be NULL). */
static inline void cs_cookies(cs_client_t *c, const kvt_resp_t *r, char *attrs, size_t size)
{
    const char *p = r->headers;
    while (p && (p = strcasestr(p, "\nSet-Cookie:")) != NULL) {
        p += 12;
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, "\r\n");
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), p);
        char *eq = strchr(line, '='), *semi = strchr(line, ';');
        if (!eq)
            continue;
        *eq = '\0';
        if (semi)
            *semi = '\0';
        char *dst = strcmp(line, "kv_session") == 0 ? c->session
                  : strcmp(line, "kv_csrf") == 0 ? c->pre : NULL;
        if (dst)
            snprintf(dst, 64, "%s", eq + 1);
        if (dst == c->session && attrs) {
            snprintf(attrs, size, "%.*s", (int)n, p);
        }
    }
}

/* A request as the console page makes it: its cookies, Origin (origin NULL:
 * the gateway's own; "" none), X-CSRF-Token (token NULL: the client's; ""
 * none), and extra (one header line or NULL).  Keeps Set-Cookie. */
static inline kvt_resp_t cs_req_ex(cs_client_t *c, const char *method, const char *path,
                                   const char *body, const char *origin, const char *token,
                                   const char *extra)
{
    char url[1024], cookie[300], org[160], tok[120], ct[64];
    const char *h[8];
    int n = 0;
    snprintf(url, sizeof url, "%s%s", c->base, path);
    if (c->session[0] || c->pre[0]) {
        snprintf(cookie, sizeof cookie, "Cookie: %s%s%s%s%s", c->session[0] ? "kv_session=" : "",
                 c->session, c->session[0] && c->pre[0] ? "; " : "", c->pre[0] ? "kv_csrf=" : "",
                 c->pre);
        h[n++] = cookie;
    }
    if (!origin)
        origin = c->base;
    if (*origin) {
        snprintf(org, sizeof org, "Origin: %s", origin);
        h[n++] = org;
    }
    if (!token)
        token = c->csrf;
    if (*token) {
        snprintf(tok, sizeof tok, "X-CSRF-Token: %s", token);
        h[n++] = tok;
    }
    if (body && !(extra && strncasecmp(extra, "Content-Type:", 13) == 0)) {
        snprintf(ct, sizeof ct, "Content-Type: application/json");
        h[n++] = ct;
    }
    if (extra)
        h[n++] = extra;
    h[n] = NULL;
    kvt_resp_t r = kvt_http(method, url, body, body ? strlen(body) : 0, h);
    cs_cookies(c, &r, NULL, 0);
    return r;
}

static inline kvt_resp_t cs_req(cs_client_t *c, const char *method, const char *path,
                                const char *body)
{
    return cs_req_ex(c, method, path, body, NULL, NULL, NULL);
}

/* GET /console/api/session: refreshes the CSRF token.  Returns the status;
 * *signed_in (may be NULL) tells whether a session was recognised. */
static inline long cs_refresh(cs_client_t *c, int *signed_in)
{
    kvt_resp_t r = cs_req(c, "GET", "/console/api/session", NULL);
    json_t *d = json_object_get(r.json, "data");
    const char *t = json_string_value(json_object_get(d, "csrf_token"));
    if (t)
        snprintf(c->csrf, sizeof c->csrf, "%s", t);
    if (signed_in)
        *signed_in = json_is_true(json_object_get(d, "signed_in"));
    long st = r.status;
    kvt_resp_free(&r);
    return st;
}

/* Signs in: fresh CSRF token, POST /console/api/session, fresh token
 * again.  Returns the sign-in's status. */
static inline long cs_signin(cs_client_t *c, const char *email, const char *password)
{
    char body[512];
    cs_refresh(c, NULL);
    json_t *b = json_pack("{s:s, s:s}", "email", email, "password", password);
    char *t = json_dumps(b, JSON_COMPACT);
    snprintf(body, sizeof body, "%s", t);
    free(t);
    json_decref(b);
    kvt_resp_t r = cs_req(c, "POST", "/console/api/session", body);
    long st = r.status;
    kvt_resp_free(&r);
    cs_refresh(c, NULL);
    return st;
}

/* The token of a set-password link ("...#token=X") into out[64]. */
static inline void cs_link_token(const char *link, char out[64])
{
    const char *p = link ? strstr(link, "#token=") : NULL;
    snprintf(out, 64, "%s", p ? p + 7 : "");
}

/* A console user of tenant (through admin, admin NULL: the stack's) with
 * password set through its link; its id, or -1. */
static inline long long cs_user(const gw_private_t *admin, long long tenant, const char *email,
                                const char *password, cs_client_t *c)
{
    char path[128], body[512], token[64];
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/users", tenant);
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"name\":\"Test Owner\"}", email);
    kvt_resp_t r = gw_admin_at(admin, "POST", path, body);
    json_t *d = json_object_get(r.json, "data");
    long long id = json_integer_value(json_object_get(d, "id"));
    cs_link_token(json_string_value(json_object_get(d, "set_password_url")), token);
    long created = r.status;
    if (created != 201)
        fprintf(stderr, "cs_user: %ld %s\n", r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    if (created != 201)
        return -1;
    cs_refresh(c, NULL);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\"}", token, password);
    r = cs_req(c, "POST", "/console/api/password", body);
    long st = r.status;
    kvt_resp_free(&r);
    return st == 200 ? id : -1;
}

/* A unique e-mail address for this run. */
static inline void cs_email(const char *tag, char out[128])
{
    static int n;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, 128, "%s-%ld-%d-%lld@example.com", tag, (long)getpid(), ++n, (long long)ts.tv_nsec);
}

#endif
