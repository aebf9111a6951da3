/*
 * gw_http.c -- libmicrohttpd plumbing and the public API's request flow.
 *
 * Per request, in this order (docs/architecture.md explains why):
 *   1. Content-Length over KAIVOX_MAX_BODY_BYTES -> 413 before reading the
 *      body; a chunked body is counted while it arrives and dropped (not
 *      buffered) once it passes the limit.
 *   2. X-Request-Id: the client's when it is [A-Za-z0-9._-]{1,64}, else new.
 *   3. /healthz and /readyz need no key; any other path outside /api/v1/ is
 *      404.  Under /api/v1/ the key is checked FIRST (401 before 404/405, so
 *      an anonymous client learns nothing about the route table), then the
 *      rate limit (429), then the route (404/405), then the JSON body (400).
 *   4. The bus body {"params","query","body"} goes to the broker with the
 *      tenant context and a deadline; the connection is suspended and
 *      resumed from the broker thread's callback.
 *
 * Suspend/resume race: the broker may answer before the HTTP thread has
 * suspended the connection, and MHD forbids resuming a connection that is
 * not suspended.  Both sides therefore meet under r->mu: the HTTP thread
 * suspends only if no reply arrived yet, the callback resumes only if the
 * connection was suspended.
 */
#include "gw_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "gw_db.h"
#include "gw_routes.h"
#include "kv_api.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_proto.h"
#include "kv_valid.h"

struct gw_server {
    struct MHD_Daemon *daemon;
    char name[16];               /* "http" / "admin" */
    gw_dispatch_fn dispatch;
};

static gw_http_cfg_t s_cfg = { NULL, NULL, 1024 * 1024, 5000 };

/* The broker gate: forwards hold it shared, shutdown takes it exclusively
 * so that no submit can race gw_broker_destroy. */
static pthread_rwlock_t s_gate;
static pthread_once_t s_gate_once = PTHREAD_ONCE_INIT;
static gw_broker_t *s_broker;    /* guarded by s_gate */

static void s_gate_init(void)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s_gate, &a);
    pthread_rwlockattr_destroy(&a);
}

void gw_http_configure(const gw_http_cfg_t *cfg)
{
    s_cfg = *cfg;
}

const gw_http_cfg_t *gw_http_cfg(void)
{
    return &s_cfg;
}

void gw_http_set_broker(gw_broker_t *b)
{
    pthread_once(&s_gate_once, s_gate_init);
    pthread_rwlock_wrlock(&s_gate);
    s_broker = b;
    pthread_rwlock_unlock(&s_gate);
}

int gw_http_workers(const char *service)
{
    pthread_once(&s_gate_once, s_gate_init);
    pthread_rwlock_rdlock(&s_gate);
    int n = s_broker ? gw_broker_workers(s_broker, service) : 0;
    pthread_rwlock_unlock(&s_gate);
    return n;
}

static int64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- replies -------------------------------------------------------- */

static void s_set_out(gw_req_t *r, int status, char *text)
{
    free(r->out);
    r->out = text;
    r->out_len = strlen(text);
    r->out_status = status;
}

int gw_reply_json(gw_req_t *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(body);
    if (!text) {
        status = 500;
        text = kv_strdup("{\"success\":false,\"message\":\"Internal server error.\"}");
    }
    s_set_out(r, status, text);
    return 0;
}

int gw_reply_error(gw_req_t *r, int status, const char *msg)
{
    json_t *b = json_object();
    json_object_set_new(b, "success", json_false());
    json_object_set_new(b, "message", json_string(msg));
    return gw_reply_json(r, status, b);
}

void gw_req_add_header(gw_req_t *r, const char *name, const char *value)
{
    if (r->nhdr >= GW_REQ_MAX_HEADERS)
        return;
    snprintf(r->hdr[r->nhdr].name, sizeof r->hdr[r->nhdr].name, "%s", name);
    snprintf(r->hdr[r->nhdr].value, sizeof r->hdr[r->nhdr].value, "%s", value);
    r->nhdr++;
}

const char *gw_req_header(gw_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* Queues r->out.  Precondition: r->out is set and nothing was queued. */
static enum MHD_Result s_queue(gw_req_t *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->out_len, r->out, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    r->out = NULL;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    for (int i = 0; i < r->nhdr; i++)
        MHD_add_response_header(resp, r->hdr[i].name, r->hdr[i].value);
    if (r->too_large)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->out_status, resp);
    MHD_destroy_response(resp);
    r->status = r->out_status;
    return ret;
}

int gw_req_body_json(gw_req_t *r, json_t **out)
{
    *out = NULL;
    if (r->upload_len == 0) {
        *out = json_null();
        return 0;
    }
    json_error_t err;
    json_t *v = json_loadb(r->upload, r->upload_len, JSON_DECODE_ANY, &err);
    if (!v) {
        gw_reply_error(r, 400, "Malformed JSON body.");
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- forwarding ----------------------------------------------------- */

/* Broker thread: keeps a copy of the reply and wakes the connection. */
static void s_on_reply(void *arg, int status, const char *body, size_t len)
{
    gw_req_t *r = arg;
    char *text;
    if (status < 100 || status > 599)
        status = 502;
    if (body && len > 0) {
        text = kv_strndup(body, len);
    } else {
        text = kv_asprintf("{\"success\":false,\"message\":\"%s\"}",
                           status == 504 ? "Service timed out." : "Service temporarily unavailable.");
    }
    pthread_mutex_lock(&r->mu);
    free(r->out);
    r->out = text;
    r->out_len = strlen(text);
    r->out_status = status;
    r->replied = 1;
    int resume = r->suspended;
    struct MHD_Connection *conn = r->conn;
    pthread_mutex_unlock(&r->mu);
    /* Resume only after unlocking, and never touch r again: once resumed,
     * an HTTP thread may finish the request and free r (and r->mu) at
     * once.  While suspended the connection cannot complete, so r is
     * still alive up to this call. */
    if (resume)
        MHD_resume_connection(conn);
}

int gw_forward(gw_req_t *r, const char *service, kv_hdr_t *h, json_t *bus_body)
{
    snprintf(h->id, sizeof h->id, "%s", r->rid);
    char *text = json_dumps(bus_body, JSON_COMPACT);
    if (!text)
        return gw_reply_error(r, 500, "Internal server error.");

    pthread_once(&s_gate_once, s_gate_init);
    pthread_rwlock_rdlock(&s_gate);
    int rc = -1;
    if (s_broker)
        rc = gw_broker_submit(s_broker, service, h, text, strlen(text), s_on_reply, r);
    pthread_rwlock_unlock(&s_gate);
    free(text);
    if (rc != 0)
        return gw_reply_error(r, 503, "Service temporarily unavailable.");

    int suspended = 0;
    pthread_mutex_lock(&r->mu);
    if (!r->replied) {
        MHD_suspend_connection(r->conn);
        r->suspended = 1;
        suspended = 1;
    }
    pthread_mutex_unlock(&r->mu);
    return suspended;
}

/* ---- the public API ------------------------------------------------- */

typedef struct {
    json_t *query;               /* every argument but api_key */
    const char *api_key;         /* last ?api_key= value, MHD's memory */
    int bad;                     /* a name or value is not clean text */
} s_query_t;

static enum MHD_Result s_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    s_query_t *q = cls;
    (void)kind;
    if (!value)
        value = "";
    if (!key || strlen(key) != key_size || strlen(value) != value_size ||
        !kv_valid_text(key, 256) || !kv_valid_text(value, 4096)) {
        q->bad = 1;
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

static int s_healthz(gw_req_t *r)
{
    json_t *b = json_object();
    json_object_set_new(b, "success", json_true());
    json_object_set_new(b, "data", json_pack("{s:s}", "status", "ok"));
    return gw_reply_json(r, 200, b);
}

static int s_readyz(gw_req_t *r)
{
    static const char *const svcs[] = {
        KV_SVC_SCHEDULING, KV_SVC_CRM, KV_SVC_CALLS, KV_SVC_WEBHOOKS, NULL
    };
    kv_db_t *db = gw_db_thread();
    int db_ok = db && kv_db_run(db, r->rid, "gw_ping", 0, NULL) == 0;
    json_t *workers = json_object();
    json_t *missing = json_array();
    if (!db_ok)
        json_array_append_new(missing, json_string("database"));
    for (int i = 0; svcs[i]; i++) {
        int n = gw_http_workers(svcs[i]);
        json_object_set_new(workers, svcs[i], json_integer(n));
        if (n <= 0)
            json_array_append_new(missing, json_string(svcs[i]));
    }
    json_t *b = json_object();
    if (json_array_size(missing) == 0) {
        json_decref(missing);
        json_object_set_new(b, "success", json_true());
        json_object_set_new(b, "data", json_pack("{s:s, s:s, s:o}", "status", "ready",
                                                 "database", "ok", "workers", workers));
        return gw_reply_json(r, 200, b);
    }
    json_object_set_new(b, "success", json_false());
    json_object_set_new(b, "message", json_string("Not ready."));
    json_object_set_new(b, "database", json_string(db_ok ? "ok" : "unreachable"));
    json_object_set_new(b, "workers", workers);
    json_object_set_new(b, "missing", missing);
    return gw_reply_json(r, 503, b);
}

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

static int s_is_body_method(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 || strcmp(m, "PUT") == 0;
}

int gw_http_public_dispatch(gw_req_t *r)
{
    int rc = 0;
    s_query_t q = { NULL, NULL, 0 };
    json_t *body = NULL, *bus = NULL, *params = NULL;

    if (strcmp(r->path, "/healthz") == 0 || strcmp(r->path, "/readyz") == 0) {
        if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
            gw_req_add_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
            return gw_reply_error(r, 405, "Method not allowed.");
        }
        return r->path[1] == 'h' ? s_healthz(r) : s_readyz(r);
    }
    if (strncmp(r->path, "/api/v1/", 8) != 0)
        return gw_reply_error(r, 404, "Route not found.");

    q.query = json_object();
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, s_query_arg, &q);
    if (q.bad) {
        rc = gw_reply_error(r, 400, "Malformed query string.");
        goto out;
    }

    /* Authentication first: 401 before anything about routes. */
    const char *key = s_find_key(r, q.api_key);
    if (!key) {
        rc = gw_reply_error(r, 401, "API key missing.");
        goto out;
    }
    gw_principal_t who;
    int ar = gw_auth_check(s_cfg.auth, key, r->rid, &who);
    if (ar == GW_AUTH_INVALID) {
        rc = gw_reply_error(r, 401, "Invalid API key.");
        goto out;
    }
    if (ar != GW_AUTH_OK) {
        rc = gw_reply_error(r, 503, "Service temporarily unavailable.");
        goto out;
    }
    r->tenant_id = who.tenant_id;

    gw_rl_result_t rl;
    gw_ratelimit_hit(s_cfg.rl, who.key_id, (int64_t)time(NULL), &rl);
    s_add_rl_headers(r, &rl);
    if (!rl.allowed) {
        rc = gw_reply_error(r, 429, "Too many requests.");
        goto out;
    }

    const gw_route_t *route = NULL;
    gw_params_t pp;
    char allow[64];
    int found = gw_route_find(gw_routes, r->method, r->path, &route, &pp, allow, sizeof allow);
    if (found == GW_ROUTE_NOT_FOUND) {
        rc = gw_reply_error(r, 404, "Route not found.");
        goto out;
    }
    if (found == GW_ROUTE_BAD_METHOD) {
        gw_req_add_header(r, MHD_HTTP_HEADER_ALLOW, allow);
        rc = gw_reply_error(r, 405, "Method not allowed.");
        goto out;
    }

    if (s_is_body_method(r->method)) {
        if (gw_req_body_json(r, &body) != 0)
            goto out;
    } else {
        body = json_null();
    }

    params = json_object();
    for (int i = 0; i < pp.n; i++)
        json_object_set_new(params, pp.p[i].name, json_string(pp.p[i].value));
    bus = json_object();
    json_object_set_new(bus, "params", params);
    json_object_set(bus, "query", q.query);
    json_object_set_new(bus, "body", body);

    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = KV_PROTO_VERSION;
    snprintf(h.op, sizeof h.op, "%s", route->op);
    h.tenant_id = who.tenant_id;
    snprintf(h.tenant_tz, sizeof h.tenant_tz, "%s", who.tz);
    h.slot_interval = who.slot_interval;
    h.deadline_ms = kv_now_ms() + s_cfg.request_timeout_ms;
    rc = gw_forward(r, route->service, &h, bus);
out:
    json_decref(bus);
    json_decref(q.query);
    return rc;
}

/* ---- the daemon ----------------------------------------------------- */

static gw_req_t *s_req_new(struct MHD_Connection *conn, const char *url, const char *method)
{
    gw_req_t *r = kv_calloc(1, sizeof *r);
    r->conn = conn;
    r->method = method;
    r->path = kv_strdup(url ? url : "/");
    r->t0_us = s_mono_us();
    pthread_mutex_init(&r->mu, NULL);
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && kv_bus_valid_id(rid, strlen(rid)))
        snprintf(r->rid, sizeof r->rid, "%s", rid);
    else
        kv_bus_new_id(r->rid);
    return r;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    gw_server_t *srv = cls;
    gw_req_t *r = *con_cls;
    (void)version;

    if (!r) {
        r = s_req_new(conn, url, method);
        *con_cls = r;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t n = 0;
        if (cl && (kv_parse_i64(cl, &n) != 0 || n < 0 || (uint64_t)n > s_cfg.max_body)) {
            r->too_large = 1;
            gw_reply_error(r, 413, "Request body too large.");
            return s_queue(r);
        }
        return MHD_YES;
    }
    if (r->status) {                 /* answered early (413): drop the rest */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large)
            return MHD_YES;
        if (r->upload_len + n > s_cfg.max_body) {
            r->too_large = 1;
            free(r->upload);
            r->upload = NULL;
            r->upload_len = r->upload_cap = 0;
            return MHD_YES;
        }
        if (r->upload_len + n + 1 > r->upload_cap) {
            size_t cap = r->upload_cap ? r->upload_cap : 4096;
            while (cap < r->upload_len + n + 1)
                cap *= 2;
            r->upload = kv_realloc(r->upload, cap);
            r->upload_cap = cap;
        }
        memcpy(r->upload + r->upload_len, upload_data, n);
        r->upload_len += n;
        r->upload[r->upload_len] = '\0';
        return MHD_YES;
    }

    /* The whole request is here (or we were resumed). */
    if (!r->dispatched) {
        r->dispatched = 1;
        if (r->too_large) {
            gw_reply_error(r, 413, "Request body too large.");
        } else if (srv->dispatch(r)) {
            return MHD_YES;          /* suspended: r belongs to the broker now */
        }
    }
    if (!r->out)
        gw_reply_error(r, 500, "Internal server error.");
    return s_queue(r);
}

/* The one log line of a request, then the request is freed. */
static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    gw_server_t *srv = cls;
    gw_req_t *r = *con_cls;
    (void)conn;
    if (!r)
        return;
    int64_t us = s_mono_us() - r->t0_us;
    kv_log(r->status >= 500 || r->status == 0 ? KV_LOG_WARN : KV_LOG_INFO, r->rid,
           "%s request method=%s path=%.200s status=%d duration_us=%lld tenant_id=%lld%s",
           srv->name, r->method, r->path, r->status, (long long)us, (long long)r->tenant_id,
           toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    pthread_mutex_destroy(&r->mu);
    free(r->path);
    free(r->upload);
    free(r->out);
    free(r);
    *con_cls = NULL;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    (void)cls;
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    kv_warn(NULL, "libmicrohttpd: %s", buf);
}

gw_server_t *gw_server_start(const gw_server_cfg_t *cfg)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (inet_pton(AF_INET, cfg->addr, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, cfg->addr, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        kv_error(NULL, "%s listener: address %s is not a numeric IPv4/IPv6 address",
                 cfg->name, cfg->addr);
        return NULL;
    }

    gw_server_t *s = kv_calloc(1, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", cfg->name);
    s->dispatch = cfg->dispatch;
    unsigned threads = cfg->threads > 1 ? (unsigned)cfg->threads : 1;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, s_access, s,
        MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, s,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_END);
    if (!s->daemon) {
        kv_error(NULL, "%s listener: cannot listen on %s:%d: %s", cfg->name, cfg->addr,
                 cfg->port, strerror(errno));
        free(s);
        return NULL;
    }
    kv_info(NULL, "%s listener on %s:%d (%u threads)", cfg->name, cfg->addr, cfg->port, threads);
    return s;
}

void gw_server_stop(gw_server_t **ps)
{
    if (!ps || !*ps)
        return;
    MHD_stop_daemon((*ps)->daemon);
    free(*ps);
    *ps = NULL;
}
