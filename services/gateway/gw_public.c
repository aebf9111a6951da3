/*
 * gw_public.c -- the public API's request flow.
 *
 * gw_public_headers() runs when the headers are complete, before the body
 * is read, in this order (docs/architecture.md explains why):
 *   1. /healthz and /readyz need no key; paths under /console are the web
 *      console's (gw_console.c); any other path outside /api/v1/ is 404.
 *   2. The request-target: over GW_URI_MAX is 414, a bad percent-escape,
 *      invalid UTF-8 or a control character in the query is 400, each with
 *      its own message.
 *   3. The failed-authentication limiter: a client address with too many
 *      401s in its window gets 429 (with Retry-After) before its key is
 *      even hashed, unless the key is one this gateway knows to be valid
 *      (so a good client behind the same NAT keeps working).
 *   4. The key, FIRST among what concerns the API (401 before 404/405, so
 *      an anonymous client learns nothing about the route table and never
 *      gets its body buffered).  A key missing from the cache is looked up
 *      on the key lookup thread while the connection is suspended; this
 *      step runs again when the answer is there.  Every 401 carries
 *      WWW-Authenticate: Bearer and counts against the client address.
 *      Without a key, a console session cookie authenticates the request
 *      instead (gw_session.c: looked up on a console worker, no cache), and
 *      a state-changing request must then pass the origin and CSRF checks.
 *   5. The rate limit (429), the route (404/405; HEAD is served by every GET
 *      route), a read-only key on a write (403), a body's Content-Type (415
 *      unless JSON), then a write's Idempotency-Key (422 unless given once,
 *      1..255 printable ASCII characters; GET and HEAD ignore it).
 * gw_public_dispatch() runs once the body is complete: the JSON body (400),
 * then the bus body {"params","query","body"} goes to the broker with the
 * tenant context, the Idempotency-Key and a deadline, and the connection
 * is suspended until the reply (a recorded answer sent again for its key
 * gets Idempotent-Replayed: true, gw_http.c).  The key itself is the
 * owning service's business (shared/kv_idem.h): the gateway only checks
 * its shape, so every write route treats it the same way.  Everything here
 * runs on the loop thread.
 */
#include "gw_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdatomic.h>
#include <time.h>

#include "gw_console.h"
#include "gw_input.h"
#include "gw_stats.h"
#include "kv_api.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_proto.h"
#include "kv_valid.h"

/* ---- query string --------------------------------------------------- */

typedef struct {
    json_t *query;               /* every argument but api_key */
    const char *api_key;         /* last ?api_key= value, MHD's memory */
    int bad;                     /* GW_INPUT_* of the first bad name or value */
} s_query_t;

static enum MHD_Result s_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    s_query_t *q = cls;
    (void)kind;
    if (!value)
        value = "";
    int rc = key ? gw_text_check(key, key_size) : GW_INPUT_CONTROL;
    if (rc == GW_INPUT_OK)
        rc = gw_text_check(value, value_size);
    if (rc != GW_INPUT_OK) {
        q->bad = rc;
        return MHD_NO;
    }
    if (strcmp(key, "api_key") == 0)
        q->api_key = value;
    else
        json_object_set_new(q->query, key, json_string(value));
    return MHD_YES;
}

/* The key from Authorization: Bearer, X-API-Key or ?api_key=, in that
 * order of preference; NULL when none is given. */
static const char *s_find_key(gw_req_t *r, const char *query_key)
{
    const char *auth = gw_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        auth += 7;
        while (*auth == ' ')
            auth++;
        if (*auth)
            return auth;
    }
    const char *x = gw_req_header(r, "X-API-Key");
    if (x && *x)
        return x;
    if (query_key && *query_key)
        return query_key;
    return NULL;
}

static void s_auth_done(void *arg, int rc, const gw_principal_t *who);

/* ---- health --------------------------------------------------------- */

static int s_healthz(gw_req_t *r)
{
    json_t *b = json_object();
    json_object_set_new(b, "success", json_true());
    json_object_set_new(b, "data", json_pack("{s:s}", "status", "ok"));
    return gw_reply_json(r, 200, b);
}

/* What a suspended gw_public_headers waits for (gw_req_t.wait). */
enum { S_WAIT_NONE = 0, S_WAIT_KEY, S_WAIT_PING, S_WAIT_SESSION };

/* /readyz, once the database ping answered. */
static int s_readyz(gw_req_t *r)
{
    static const char *const svcs[] = {
        KV_SVC_SCHEDULING, KV_SVC_CRM, KV_SVC_CALLS, KV_SVC_WEBHOOKS, NULL
    };
    int db_ok = r->auth_rc == GW_AUTH_OK;
    json_t *workers = json_object();
    json_t *missing = json_array();
    json_t *joining = json_array();    /* instances still registering their workers */
    int settling = 0;                  /* the broker just started */
    if (!db_ok)
        json_array_append_new(missing, json_string("database"));
    for (int i = 0; svcs[i]; i++) {
        gw_svc_state_t st;
        settling |= gw_http_service_state(svcs[i], &st);
        json_object_set_new(workers, svcs[i], json_integer(st.workers));
        if (st.workers <= 0)
            json_array_append_new(missing, json_string(svcs[i]));
        if (st.joining > 0)
            json_array_append_new(joining, json_string(svcs[i]));
    }
    json_t *b = json_object();
    if (json_array_size(missing) == 0 && json_array_size(joining) == 0 && !settling &&
        !gw_http_draining()) {
        json_decref(missing);
        json_decref(joining);
        json_object_set_new(b, "success", json_true());
        json_object_set_new(b, "data", json_pack("{s:s, s:s, s:o}", "status", "ready",
                                                 "database", "ok", "workers", workers));
        return gw_reply_json(r, 200, b);
    }
    json_object_set_new(b, "success", json_false());
    json_object_set_new(b, "message", json_string(gw_http_draining() ? "Draining." : "Not ready."));
    json_object_set_new(b, "database", json_string(db_ok ? "ok" : "unreachable"));
    json_object_set_new(b, "workers", workers);
    json_object_set_new(b, "missing", missing);
    json_object_set_new(b, "joining", joining);
    if (settling)
        json_object_set_new(b, "settling", json_true());
    return gw_reply_json(r, 503, b);
}

/* ---- the headers step ----------------------------------------------- */

static void s_add_rl_headers(gw_req_t *r, const gw_rl_result_t *rl)
{
    char v[32];
    snprintf(v, sizeof v, "%d", rl->limit);
    gw_req_add_header(r, "X-RateLimit-Limit", v);
    snprintf(v, sizeof v, "%d", rl->remaining);
    gw_req_add_header(r, "X-RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%lld", (long long)rl->reset);
    gw_req_add_header(r, "X-RateLimit-Reset", v);
    if (!rl->allowed) {
        snprintf(v, sizeof v, "%d", rl->retry_after);
        gw_req_add_header(r, "Retry-After", v);
    }
}

/* Loop thread: the key lookup's answer; wakes the request. */
static void s_auth_done(void *arg, int rc, const gw_principal_t *who)
{
    gw_req_t *r = arg;
    r->auth_rc = rc;
    if (rc == GW_AUTH_OK && who)     /* NULL for a database ping */
        r->who = *who;
    gw_req_resume(r);
}

/* Answers 401 msg: WWW-Authenticate (RFC 6750: no error code when no key
 * was given), and one more failure for the client address. */
static int s_unauthorized(gw_req_t *r, const char *msg, int key_given)
{
    gw_req_add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                      key_given ? "Bearer error=\"invalid_token\"" : "Bearer");
    gw_authfail_record(gw_http_cfg()->authfail, &r->client, (int64_t)time(NULL));
    gw_reply_error(r, 401, msg);
    return GW_ANSWERED;
}

/* Sets r->client: the peer's client address, or behind a trusted proxy the
 * one X-Forwarded-For names. */
static void s_client(gw_req_t *r)
{
    const gw_http_cfg_t *cfg = gw_http_cfg();
    gw_addr_t a = r->peer;
    if (cfg->ntrusted > 0 && gw_cidr_list_match(cfg->trusted, cfg->ntrusted, &r->peer))
        (void)gw_xff_client(gw_req_header(r, "X-Forwarded-For"), cfg->trusted, cfg->ntrusted, &a);
    gw_addr_client(&a, &r->client);
}

/* "GET, DELETE" -> "GET, HEAD, DELETE": HEAD is served wherever GET is. */
static void s_allow_head(const char *allow, char *out, size_t size)
{
    const char *get = strstr(allow, "GET");
    if (!get || (get[3] != '\0' && get[3] != ',')) {
        snprintf(out, size, "%s", allow);
        return;
    }
    snprintf(out, size, "%.*s, HEAD%s", (int)(get + 3 - allow), allow, get + 3);
}

/* 1 when r announces a body (Content-Length > 0, or a Transfer-Encoding). */
static int s_has_body(gw_req_t *r)
{
    const char *te = gw_req_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *cl = gw_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (te && *te) || (cl && strspn(cl, "0") != strlen(cl));
}

static int s_is_body_method(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 || strcmp(m, "PUT") == 0;
}

/* A write: anything but GET and HEAD. */
static int s_is_write(const char *m)
{
    return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0;
}

/* ---- Idempotency-Key ------------------------------------------------ */

typedef struct {
    int n;                       /* Idempotency-Key headers seen */
    const char *value;           /* the first one's value, MHD's memory */
    size_t len;
} s_idem_hdr_t;

static enum MHD_Result s_idem_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    s_idem_hdr_t *x = cls;
    (void)kind;
    (void)key_size;
    if (key && strcasecmp(key, "Idempotency-Key") == 0 && x->n++ == 0) {
        x->value = value ? value : "";
        x->len = value ? value_size : 0;
    }
    return MHD_YES;
}

/* Reads a write's Idempotency-Key header into r->idem_key (left "" when
 * there is none).  Returns 0, or -1 after answering 422
 * errors.idempotency_key: given more than once, empty, longer than
 * KV_IDEM_KEY_MAX or with a character outside printable ASCII. */
static int s_idem_key(gw_req_t *r)
{
    s_idem_hdr_t x = { 0, NULL, 0 };
    MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, s_idem_arg, &x);
    if (x.n == 0)
        return 0;
    const char *msg = NULL;
    if (x.n > 1)
        msg = "The Idempotency-Key header may be given only once.";
    else if (!kv_bus_valid_idem_key(x.value, x.len))
        msg = "The Idempotency-Key header must be 1 to 255 printable ASCII characters.";
    if (msg) {
        kv_rep_t rep = { 500, NULL, NULL, 0 };
        json_t *errors = json_object();
        kv_errors_add(errors, "idempotency_key", msg);
        kv_reply_invalid(&rep, errors);
        gw_reply_json(r, rep.status, rep.body);
        return -1;
    }
    memcpy(r->idem_key, x.value, x.len);
    r->idem_key[x.len] = '\0';
    return 0;
}

int gw_public_headers(gw_req_t *r)
{
    s_query_t q = { NULL, NULL, 0 };
    const gw_http_cfg_t *cfg = gw_http_cfg();
    const char *key = NULL;

    if (r->wait == S_WAIT_PING) {    /* back from the database ping */
        s_readyz(r);
        return GW_ANSWERED;
    }
    if (r->wait == S_WAIT_NONE) {
        if (strcmp(r->path, "/healthz") == 0 || strcmp(r->path, "/readyz") == 0) {
            if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
                gw_req_add_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
                gw_reply_error(r, 405, "Method not allowed.");
                return GW_ANSWERED;
            }
            if (r->path[1] == 'h') {
                s_healthz(r);
                return GW_ANSWERED;
            }
            /* /readyz tells the database's state now, not a second ago */
            r->wait = S_WAIT_PING;
            gw_auth_ping(cfg->auth, s_auth_done, r);
            gw_req_suspend(r);
            return GW_SUSPENDED;
        }
        if (strncmp(r->path, "/console", 8) == 0 && (r->path[8] == '\0' || r->path[8] == '/')) {
            s_client(r);             /* the sign-in throttle counts per client */
            return gw_console_headers(r);
        }
        if (strncmp(r->path, "/api/v1/", 8) != 0) {
            gw_reply_error(r, 404, "Route not found.");
            return GW_ANSWERED;
        }
        if (r->uri_error != GW_INPUT_OK) {
            gw_reply_error(r, r->uri_error == GW_INPUT_TOO_LONG ? 414 : 400,
                           gw_input_message(r->uri_error));
            return GW_ANSWERED;
        }
        q.query = json_object();
        MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, s_query_arg, &q);
        r->query = q.query;
        if (q.bad) {
            gw_reply_error(r, 400, gw_input_message(q.bad));
            return GW_ANSWERED;
        }

        /* An address that failed too often waits, unless its key is known
         * good: checked before the key costs anything. */
        s_client(r);
        key = s_find_key(r, q.api_key);
        int wait_s = gw_authfail_blocked(cfg->authfail, &r->client, (int64_t)time(NULL));
        if (wait_s > 0 && !(key && gw_auth_known(cfg->auth, key))) {
            char v[16];
            snprintf(v, sizeof v, "%d", wait_s);
            gw_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
            atomic_fetch_add(&gw_stats.auth_fail_limited, 1);
            gw_reply_error(r, 429, "Too many failed authentications from this address.");
            return GW_ANSWERED;
        }

        /* Authentication first: 401 before anything about routes.  A key
         * wins over a console session cookie. */
        if (!key && !gw_session_cookie(r))
            return s_unauthorized(r, "API key missing.", 0);
        if (key) {
            r->auth_rc = gw_auth_check(cfg->auth, key, r->rid, &r->who, s_auth_done, r);
            r->wait = S_WAIT_KEY;
        } else {
            r->auth_rc = gw_session_check(r, s_auth_done);
            r->wait = S_WAIT_SESSION;
        }
        if (r->auth_rc == GW_AUTH_PENDING) {
            gw_req_suspend(r);
            return GW_SUSPENDED;
        }
    }
    if (r->auth_rc == GW_AUTH_INVALID)
        return s_unauthorized(r, r->wait == S_WAIT_SESSION
                                     ? "Session expired or signed out: sign in again."
                                     : "Invalid API key.", 1);
    if (r->auth_rc != GW_AUTH_OK) {
        gw_reply_error(r, 503, "Service temporarily unavailable.");
        return GW_ANSWERED;
    }
    r->tenant_id = r->who.tenant_id;

    gw_rl_result_t rl;
    if (r->session_id > 0)
        gw_ratelimit_hit(gw_console_cfg()->rl, r->session_id, (int64_t)time(NULL), &rl);
    else
        gw_ratelimit_hit(cfg->rl, r->who.key_id, (int64_t)time(NULL), &rl);
    s_add_rl_headers(r, &rl);
    if (!rl.allowed) {
        gw_reply_error(r, 429, "Too many requests.");
        return GW_ANSWERED;
    }
    /* a cookie rides along on any request: prove the console sent it */
    if (r->session_id > 0 && gw_method_unsafe(r->method) &&
        (gw_origin_check(r) != 0 || gw_csrf_check(r) != 0))
        return GW_ANSWERED;

    /* HEAD is the GET route without the body (libmicrohttpd drops it) */
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    char allow[64];
    int found = gw_route_find(gw_routes, method, r->path, &r->route, &r->params,
                              allow, sizeof allow);
    if (found == GW_ROUTE_NOT_FOUND) {
        gw_reply_error(r, 404, "Route not found.");
        return GW_ANSWERED;
    }
    if (found == GW_ROUTE_BAD_METHOD) {
        char allow2[80];
        s_allow_head(allow, allow2, sizeof allow2);
        gw_req_add_header(r, MHD_HTTP_HEADER_ALLOW, allow2);
        gw_reply_error(r, 405, "Method not allowed.");
        return GW_ANSWERED;
    }
    if (!r->route->op && r->session_id <= 0) {
        gw_reply_error(r, 403, "API keys cannot manage API keys: sign in to the console.");
        return GW_ANSWERED;
    }
    /* A read-only key reads: every write route answers 403 (a route that
     * does not exist is still 404, a method it does not have 405) */
    if (r->who.read_only && s_is_write(r->method)) {
        gw_reply_error(r, 403, "This API key is read-only: it may only make GET requests.");
        return GW_ANSWERED;
    }
    /* A body must be JSON; without a Content-Type it is taken as JSON */
    const char *ct = gw_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (s_is_body_method(r->method) && ct && !gw_content_type_is_json(ct) && s_has_body(r)) {
        gw_reply_error(r, 415, "Unsupported Media Type: the body must be JSON "
                               "(Content-Type: application/json).");
        return GW_ANSWERED;
    }
    if (s_is_write(r->method) && s_idem_key(r) != 0)
        return GW_ANSWERED;
    return GW_NEXT;
}

/* ---- the dispatch step ---------------------------------------------- */

int gw_public_dispatch(gw_req_t *r)
{
    if (r->console)
        return gw_console_dispatch(r);
    if (!r->route->op)
        return gw_console_local(r);
    json_t *body = NULL;
    if (s_is_body_method(r->method)) {
        if (gw_req_body_json(r, &body) != 0)
            return 0;
    } else {
        body = json_null();
    }

    json_t *params = json_object();
    for (int i = 0; i < r->params.n; i++)
        json_object_set_new(params, r->params.p[i].name, json_string(r->params.p[i].value));
    json_t *bus = json_object();
    json_object_set_new(bus, "params", params);
    json_object_set(bus, "query", r->query);
    json_object_set_new(bus, "body", body);

    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = KV_PROTO_VERSION;
    snprintf(h.op, sizeof h.op, "%s", r->route->op->name);
    h.tenant_id = r->who.tenant_id;
    snprintf(h.tenant_tz, sizeof h.tenant_tz, "%s", r->who.tz);
    h.slot_interval = r->who.slot_interval;
    h.deadline_ms = kv_now_ms() + gw_http_cfg()->request_timeout_ms;
    memcpy(h.idem_key, r->idem_key, sizeof h.idem_key);
    int rc = gw_forward(r, r->route->op->service, &h, bus);
    json_decref(bus);
    return rc;
}
