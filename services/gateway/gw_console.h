/*
 * gw_console.h -- the web console at /console/ (Settings -> API &
 * Integrations, Calls, Appointments): its users, sessions and sign-in, its
 * own JSON routes, the API key routes of the public API, and its static
 * files.  docs/architecture.md, "The console", tells the design.
 *
 *   gw_session.c  cookies, the origin and CSRF checks, and the session
 *                 lookup that authenticates an /api/v1 request carrying a
 *                 session cookie instead of an API key (the tenant context
 *                 a key gives, on the bus as for a key)
 *   gw_console.c  /console/api/session (sign in, who am I, sign out),
 *                 /console/api/password (set a password with a one-time
 *                 link), GET/POST /api/v1/api-keys, DELETE
 *                 /api/v1/api-keys/{id} (sessions only: 403 for a key)
 *   gw_users.c    the operator's user commands (admin API)
 *   gw_static.c   the files under KAIVOX_CONSOLE_DIR, from memory
 *
 * Everything that touches the database or hashes a password runs on the
 * console workers (gw_work.h); the loop thread only parses, checks and
 * answers.  No cache stands between a session and the database: a session
 * that is signed out or revoked, or whose user is disabled, stops working
 * on the next request, on every gateway instance.
 */
#ifndef GW_CONSOLE_H
#define GW_CONSOLE_H

#include "gw_http.h"
#include "gw_ratelimit.h"
#include "gw_work.h"

/* The cookies.  Both HttpOnly, SameSite=Strict, Path=/, and Secure when the
 * request came over TLS or through a trusted proxy that says so. */
#define GW_COOKIE_SESSION "kv_session"   /* the session token */
#define GW_COOKIE_CSRF    "kv_csrf"      /* the pre-session CSRF token */
#define GW_CSRF_HEADER    "X-CSRF-Token"

/* Settings of the console; set once by main before the loop starts. */
typedef struct {
    gw_work_t *work;             /* borrowed: the console workers */
    gw_ratelimit_t *rl;          /* borrowed: requests per session (KAIVOX_RATE_LIMIT) */
    int idle_s;                  /* KAIVOX_SESSION_IDLE_S (43200: 12 h) */
    int max_s;                   /* KAIVOX_SESSION_MAX_S (604800: 7 days) */
    int signin_account_limit;    /* KAIVOX_SIGNIN_ACCOUNT_LIMIT (10) */
    int signin_address_limit;    /* KAIVOX_SIGNIN_ADDRESS_LIMIT (50) */
    int signin_window_s;         /* KAIVOX_SIGNIN_WINDOW_S (900) */
    const char *origins;         /* KAIVOX_CONSOLE_ORIGINS: comma-separated
                                    scheme://host[:port]; "" = the request's own */
    int cookie_secure;           /* KAIVOX_CONSOLE_COOKIE_SECURE: 1 always */
    const char *console_url;     /* KAIVOX_CONSOLE_URL: the console's public URL,
                                    for set-password links (ends with '/') */
} gw_console_cfg_t;

void gw_console_configure(const gw_console_cfg_t *cfg);
const gw_console_cfg_t *gw_console_cfg(void);

/* ---- gw_session.c ------------------------------------------------------ */

/* The session cookie of r when it has the shape of a token (NULL else);
 * libmicrohttpd's memory, valid for the request. */
const char *gw_session_cookie(gw_req_t *r);

/* Loop thread.  Looks up the session of r's cookie on a console worker and
 * suspends r; cb(r, rc, who) runs on the loop thread with GW_AUTH_OK (who
 * set; r->session_id and r->user_id too), GW_AUTH_INVALID (no such live
 * session) or GW_AUTH_UNAVAILABLE.  Returns GW_AUTH_PENDING, or
 * GW_AUTH_UNAVAILABLE when the job cannot be queued (cb not called). */
int gw_session_check(gw_req_t *r, gw_auth_fn cb);

/* 1 when r is a state-changing method (POST, PUT, PATCH, DELETE). */
int gw_method_unsafe(const char *method);

/* Loop thread.  The origin check of a state-changing request: its Origin
 * (or, without one, its Referer's origin) must be the console's own
 * (KAIVOX_CONSOLE_ORIGINS, or the scheme and Host of the request).
 * Returns 0, or answers 403 and returns -1. */
int gw_origin_check(gw_req_t *r);

/* Loop thread.  The CSRF token of a state-changing request: X-CSRF-Token
 * must be the token of r's session (gw_csrf_token) when r carries a
 * session cookie, else equal its kv_csrf cookie.  Returns 0, or answers
 * 403 and returns -1. */
int gw_csrf_check(gw_req_t *r);

/* 1 when r came over TLS: through a trusted proxy whose X-Forwarded-Proto
 * is https, or KAIVOX_CONSOLE_COOKIE_SECURE=1. */
int gw_request_secure(gw_req_t *r);

/* Formats a Set-Cookie value: name=value with the attributes above and
 * Max-Age=max_age (0 deletes the cookie). */
void gw_cookie_format(gw_req_t *r, const char *name, const char *value, int max_age,
                      char *out, size_t size);

/* Pure.  The origin ("scheme://host[:port]", lower-cased) of an absolute
 * http(s) URL into out.  0, or -1 when url is not one. */
int gw_url_origin(const char *url, char *out, size_t size);

/* Pure.  1 when origin (exact, case-insensitive) is one of the
 * comma-separated list. */
int gw_origin_listed(const char *origin, const char *list);

/* ---- gw_console.c ------------------------------------------------------ */

/* The headers step of a path under /console (gw_public_headers hands it
 * over): GW_NEXT, GW_ANSWERED or GW_SUSPENDED, as for on_headers. */
int gw_console_headers(gw_req_t *r);
/* The dispatch step of a /console/api request. */
int gw_console_dispatch(gw_req_t *r);
/* The dispatch step of a public route the gateway serves itself (the API
 * key routes): r is authenticated (by a session, else 403). */
int gw_console_local(gw_req_t *r);


/* ---- gw_static.c ------------------------------------------------------- */

/* Loads every file under dir into memory (at most GW_STATIC_MAX_FILES
 * files, GW_STATIC_MAX_BYTES in all).  0, or -1 (logged; the console then
 * answers 404). */
#define GW_STATIC_MAX_FILES 256
#define GW_STATIC_MAX_BYTES (16 * 1024 * 1024)
int gw_static_load(const char *dir);
void gw_static_free(void);

/* Answers a GET or HEAD of path (under /console/) from memory: the file,
 * 304 when If-None-Match matches, index.html for a page path (no dot in
 * its last segment), else 404.  Returns GW_ANSWERED. */
int gw_static_serve(gw_req_t *r, const char *path);

/* The headers every console answer carries (name, value pairs, NULL
 * terminated): Content-Security-Policy, X-Content-Type-Options, ... */
extern const char *const gw_console_security_headers[];

/* ---- gw_users.c (admin listener thread) --------------------------------- */

/* The admin API's user routes; db is the admin thread's connection.  Each
 * answers r and returns 0. */
int gw_users_create(gw_req_t *r, kv_db_t *db, const char *tenant);
int gw_users_list(gw_req_t *r, kv_db_t *db, const char *tenant);
int gw_users_disable(gw_req_t *r, kv_db_t *db, const char *tenant, const char *user);
int gw_users_link(gw_req_t *r, kv_db_t *db, const char *tenant, const char *user);

#endif
