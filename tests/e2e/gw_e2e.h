/*
 * gw_e2e.h -- small helpers shared by the gateway's end-to-end tests
 * (tests/e2e/test_gateway_*.c).  Header-only (static functions) so each
 * test stays one self-contained binary.
 */
#ifndef GW_E2E_H
#define GW_E2E_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "../lib/kvt.h"
#include "kv_bus.h"
#include "kv_client.h"
#include "kv_curve.h"
#include "kv_env.h"
#include "kv_proto.h"

/* The envelope's message (borrowed), "" when absent. */
static inline const char *gw_msg(const kvt_resp_t *r)
{
    const char *m = json_string_value(json_object_get(r->json, "message"));
    return m ? m : "";
}

/* True when the body is the error envelope {"success":false,"message":msg}. */
static inline int gw_is_error(const kvt_resp_t *r, const char *msg)
{
    return json_is_false(json_object_get(r->json, "success")) && strcmp(gw_msg(r), msg) == 0;
}

/* Response header name as an integer into *v; 0 found, -1 not. */
static inline int gw_hdr_ll(const kvt_resp_t *r, const char *name, long long *v)
{
    char buf[128];
    if (kvt_header(r, name, buf, sizeof buf) != 0)
        return -1;
    char *end;
    *v = strtoll(buf, &end, 10);
    return end != buf ? 0 : -1;
}

/* True when the response carries header name. */
static inline int gw_has_hdr(const kvt_resp_t *r, const char *name)
{
    char buf[256];
    return kvt_header(r, name, buf, sizeof buf) == 0;
}

/* GET base+path with one extra header line (may be NULL), no key. */
static inline kvt_resp_t gw_get_with(const char *path, const char *header)
{
    char url[1024];
    const char *h[2] = { header, NULL };
    snprintf(url, sizeof url, "%s%s", kvt_env("KVT_BASE_URL", "http://127.0.0.1:18080"), path);
    return kvt_http("GET", url, NULL, 0, header ? h : NULL);
}

/* Creates a service for tenant through the admin API; returns its id or -1. */
static inline long long gw_make_service(long long tenant, const char *name, int duration,
                                        const char *price)
{
    char path[128], body[512];
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services", tenant);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"duration\":%d,\"price\":\"%s\",\"active\":true}",
             name, duration, price);
    kvt_resp_t r = kvt_admin("POST", path, body);
    json_t *id = json_object_get(json_object_get(r.json, "data"), "id");
    long long v = json_is_integer(id) ? json_integer_value(id) : -1;
    if (v < 0)
        fprintf(stderr, "gw_make_service: %ld %s\n", r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return v;
}

/* The bus keys of a test process: role GW_TEST_BUS_ROLE ("kvt", made by
 * tests/run.sh beside the services' keys, so the gateway admits it as a
 * client); fake workers present their service's own key
 * (kv_curve_client_as). */
#define GW_TEST_BUS_ROLE "kvt"
static inline void gw_bus_keys(void)
{
    if (kv_curve_init(GW_TEST_BUS_ROLE) != 0)
        fprintf(stderr, "gw_bus_keys: the test's bus keys cannot be read (KAIVOX_BUS_KEYS)\n");
}

/* A bus client (on zmq) whose connection to the broker is up: a fresh
 * DEALER refuses to send until it is connected (ZMQ_IMMEDIATE), so ping
 * service until it answers (bounded: about 5 s).  Also for the service
 * tests that talk to the bus directly.  Caller owns the result. */
static inline kv_client_t *gw_bus_client_new(void *zmq, const char *service)
{
    gw_bus_keys();
    kv_client_t *c = kv_client_new(zmq);
    for (int i = 0; c && i < 100; i++) {
        json_t *o = NULL;
        char rid[33];
        kv_bus_new_id(rid);
        int st = kv_client_call_tenant(c, rid, 0, service, KV_OP_PING, NULL, NULL, 1000, &o);
        json_decref(o);
        if (st != KV_ST_UNAVAILABLE)
            break;
        kvt_sleep_ms(50);
    }
    return c;
}

/* ---- the database, as its superuser (test stack only) ----------------- */

/* A connection to the test stack's database as the postgres superuser
 * (the embedded cluster trusts local connections), or NULL.  Caller owns
 * it (PQfinish). */
static inline PGconn *gw_pg_super(void)
{
    const char *keys[] = { "dbname", "user", "connect_timeout", NULL };
    const char *vals[] = { kvt_env("KAIVOX_DATABASE_URL", "postgresql://127.0.0.1:18032/kaivox"),
                           "postgres", "5", NULL };
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "gw_pg_super: %s", c ? PQerrorMessage(c) : "out of memory\n");
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Runs sql (no parameters) on c; returns the first column of the first row
 * as a new string ("" for a command without rows), or NULL on error
 * (printed).  Caller frees the result. */
static inline char *gw_sql(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    char *out = NULL;
    if (st == PGRES_TUPLES_OK)
        out = strdup(PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    else if (st == PGRES_COMMAND_OK)
        out = strdup("");
    else
        fprintf(stderr, "gw_sql: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return out;
}

/* ---- raw HTTP over a socket bound to a chosen loopback address -------- */

/* A TCP connection from src (e.g. "127.0.0.2"; Linux routes 127/8 to lo)
 * to 127.0.0.1:port, blocking, or -1. */
static inline int gw_connect_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, src, &a.sin_addr);
    struct sockaddr_in d;
    memset(&d, 0, sizeof d);
    d.sin_family = AF_INET;
    d.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        connect(fd, (struct sockaddr *)&d, sizeof d) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads from fd until the peer closes, a complete response (by
 * Content-Length) is in, or timeout_ms passes; into buf[size] (NUL
 * terminated).  Returns the bytes read; *closed is 1 when the peer closed
 * (EOF or reset). */
static inline size_t gw_read_reply(int fd, char *buf, size_t size, int timeout_ms, int *closed)
{
    size_t n = 0;
    int64_t until = kv_mono_ms() + timeout_ms;
    *closed = 0;
    buf[0] = '\0';
    for (;;) {
        int left = (int)(until - kv_mono_ms());
        if (left <= 0)
            break;
        struct pollfd pf = { fd, POLLIN, 0 };
        if (poll(&pf, 1, left) <= 0)
            break;
        ssize_t k = recv(fd, buf + n, size - 1 - n, 0);
        if (k <= 0) {
            *closed = 1;
            break;
        }
        n += (size_t)k;
        buf[n] = '\0';
        const char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (end && cl && cl < end && (size_t)(end + 4 - buf) + (size_t)atol(cl + 17) <= n)
            break;
        if (n + 1 >= size)
            break;
    }
    return n;
}

/* The status code of the HTTP response in buf, 0 when there is none. */
static inline int gw_reply_status(const char *buf)
{
    if (strncmp(buf, "HTTP/1.1 ", 9) != 0)
        return 0;
    return atoi(buf + 9);
}

/* One request (the complete bytes of req) from src to port on a fresh
 * connection; returns the status (0: none) and the milliseconds it took
 * in *ms.  The reply goes into buf[size] when buf is not NULL. */
static inline int gw_raw_request(const char *src, int port, const char *req, int timeout_ms,
                                 int64_t *ms, char *buf, size_t size)
{
    char local[4096];
    if (!buf) {
        buf = local;
        size = sizeof local;
    }
    int64_t t0 = kv_mono_ms();
    int fd = gw_connect_from(src, port), closed = 0, st = 0;
    if (fd >= 0 && send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req)) {
        gw_read_reply(fd, buf, size, timeout_ms, &closed);
        st = gw_reply_status(buf);
    }
    if (fd >= 0)
        close(fd);
    if (ms)
        *ms = kv_mono_ms() - t0;
    return st;
}

/* ---- a private gateway, for settings the shared stack must not change -- */

typedef struct {
    pid_t pid;
    int http_port, admin_port;
    char base_url[64], admin_url[64];
} gw_private_t;

/* Starts bin/kaivox-gateway on ports KVT_PORT_BASE+90 (HTTP), +91
 * (admin), bus +93..+95, against the test stack's database, with the
 * extra settings env ("NAME=value", NULL-terminated, may be NULL); its
 * output goes to $KAIVOX_VAR_DIR/log/<log_name>.log (scanned for sanitizer
 * reports).  Waits (<= 20 s) until /healthz answers.  0 or -1. */
static inline int gw_private_start_once(gw_private_t *g, const char *log_name,
                                       const char *const *env);

/* (A port of the layout may be held for a moment by another program's
 * outgoing connection: the kernel picks ephemeral ports from the same range.
 * A gateway that exits at start-up is therefore started again, up to three
 * times.) */
static inline int gw_private_start(gw_private_t *g, const char *log_name, const char *const *env)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (gw_private_start_once(g, log_name, env) == 0)
            return 0;
        kvt_sleep_ms(2000);
    }
    return -1;
}

static inline int gw_private_start_once(gw_private_t *g, const char *log_name,
                                       const char *const *env)
{
    int base = atoi(kvt_env("KVT_PORT_BASE", "18000"));
    memset(g, 0, sizeof *g);
    g->http_port = base + 90;
    g->admin_port = base + 91;
    snprintf(g->base_url, sizeof g->base_url, "http://127.0.0.1:%d", g->http_port);
    snprintf(g->admin_url, sizeof g->admin_url, "http://127.0.0.1:%d", g->admin_port);
    char bin[1024], logf[1024];
    snprintf(bin, sizeof bin, "%s/kaivox-gateway", kvt_env("KAIVOX_BIN_DIR", "bin"));
    snprintf(logf, sizeof logf, "%s/log/%s.log", kvt_env("KAIVOX_VAR_DIR", "var"), log_name);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char v[128];
        snprintf(v, sizeof v, "%d", g->http_port);
        setenv("KAIVOX_HTTP_PORT", v, 1);
        snprintf(v, sizeof v, "%d", g->admin_port);
        setenv("KAIVOX_ADMIN_PORT", v, 1);
        snprintf(v, sizeof v, "tcp://127.0.0.1:%d", base + 93);
        setenv("KAIVOX_BUS_ENDPOINT", v, 1);
        snprintf(v, sizeof v, "tcp://127.0.0.1:%d", base + 94);
        setenv("KAIVOX_EVENTS_IN_ENDPOINT", v, 1);
        snprintf(v, sizeof v, "tcp://127.0.0.1:%d", base + 95);
        setenv("KAIVOX_EVENTS_OUT_ENDPOINT", v, 1);
        setenv("KAIVOX_ADMIN_TOKEN", kvt_env("KVT_ADMIN_TOKEN", ""), 1);
        setenv("KAIVOX_DRAIN_S", "1", 1);
        for (const char *const *e = env; e && *e; e++)
            putenv((char *)*e);
        int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, (char *)NULL);
        _exit(127);
    }
    g->pid = pid;
    for (int i = 0; i < 200; i++) {
        if (gw_raw_request("127.0.0.1", g->http_port, "GET /healthz HTTP/1.1\r\nHost: t\r\n"
                           "Connection: close\r\n\r\n", 2000, NULL, NULL, 0) == 200)
            return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            g->pid = 0;
            return -1;
        }
        kvt_sleep_ms(100);
    }
    return -1;
}

/* SIGTERM, then SIGKILL after 10 s; reaps it.  Returns its exit status
 * (0 for a clean exit), -1 when it had to be killed. */
static inline int gw_private_stop(gw_private_t *g)
{
    if (g->pid <= 0)
        return -1;
    kill(g->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; i++) {
        if (waitpid(g->pid, &status, WNOHANG) == g->pid) {
            g->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        kvt_sleep_ms(100);
    }
    kill(g->pid, SIGKILL);
    waitpid(g->pid, &status, 0);
    g->pid = 0;
    return -1;
}

/* The admin API of a private gateway (NULL: the test stack's). */
static inline kvt_resp_t gw_admin_at(const gw_private_t *g, const char *method, const char *path,
                                     const char *body)
{
    if (!g)
        return kvt_admin(method, path, body);
    char auth[512], url[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", kvt_env("KVT_ADMIN_TOKEN", ""));
    snprintf(url, sizeof url, "%s%s", g->admin_url, path);
    const char *h[2] = { auth, NULL };
    return kvt_http(method, url, body, body ? strlen(body) : 0, h);
}

/* A counter of GET /admin/v1/stats ("keys", "lookups"), -1 when absent. */
static inline long long gw_stat(const gw_private_t *g, const char *group, const char *name)
{
    kvt_resp_t r = gw_admin_at(g, "GET", "/admin/v1/stats", NULL);
    json_t *v = json_object_get(json_object_get(json_object_get(r.json, "data"), group), name);
    long long n = json_is_integer(v) ? json_integer_value(v) : -1;
    kvt_resp_free(&r);
    return n;
}

#endif
