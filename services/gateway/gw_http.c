/*
 * gw_http.c -- libmicrohttpd plumbing shared by both listeners.
 *
 * Per request (s_access), in this order:
 *   1. Content-Length over KAIVOX_MAX_BODY_BYTES -> 413 before reading the
 *      body; a chunked body is counted while it arrives and dropped (not
 *      buffered) once it passes the limit.
 *   2. X-Request-Id: the client's when it is [A-Za-z0-9._-]{1,64}, else new.
 *   3. on_headers(r), before any byte of the body is read: it may answer
 *      (libmicrohttpd then never reads the body and closes the connection
 *      after the answer), suspend the connection while it waits, or let the
 *      body come.
 *   4. dispatch(r) once the body is complete: it answers or forwards.
 *
 * The public listener is "external": gw_loop.c polls the listening socket
 * and libmicrohttpd's epoll descriptor together with the broker's socket,
 * accepts connections itself and calls gw_server_run(), all on one thread.
 *
 * Its edge, what an unauthenticated client can cost:
 *   - gw_server_accept refuses a connection over KAIVOX_HTTP_MAX_CONNECTIONS
 *     (canned 503) or over KAIVOX_HTTP_MAX_CONNECTIONS_PER_IP for its client
 *     address (canned 429) at once: one write of a few hundred bytes and a
 *     close, never a place in the kernel's backlog or in libmicrohttpd.
 *     Connections from KAIVOX_HTTP_TRUSTED_PROXIES are not counted per
 *     address (a load balancer carries many clients).
 *   - Every connection has a gw_conn_t (libmicrohttpd's socket context) that
 *     knows which phase it is in: waiting for headers, reading a body, busy
 *     (the gateway or a service has the request), or idle between
 *     kept-alive requests.  gw_server_sweep cuts a connection whose headers
 *     did not arrive within KAIVOX_HTTP_HEADER_TIMEOUT_MS (counted from
 *     accept, or for a kept-alive connection from the first byte of its next
 *     request, seen in the kernel's TCP_INFO byte count) or whose body did
 *     not arrive within KAIVOX_HTTP_BODY_TIMEOUT_MS plus 1 s per
 *     GW_BODY_MIN_RATE bytes: a canned 408, then shutdown(), which makes
 *     libmicrohttpd close it on its next turn.  libmicrohttpd's own idle
 *     timeout (KAIVOX_HTTP_TIMEOUT_S) restarts at every byte, so on its own
 *     it never stops a trickle.
 *   - The request-target is checked as received (MHD_OPTION_URI_LOG_CALLBACK)
 *     for its length (414) and its query's percent-escapes (400), which
 *     libmicrohttpd would otherwise pass on literally.
 *
 * Observability: every request is a span (kv_trace.h) of the client's
 * traceparent, or of a new trace when it sent none or an invalid one; the
 * loop thread's current trace is set around each libmicrohttpd callback
 * of the request, so every log line about it carries its trace_id, and a
 * forwarded request carries the trace on the bus.  Each completed request
 * counts in kaivox_http_requests_total{listener,route,method,status}
 * (route: the route table's template, never the raw path) and its
 * latency histogram; each bus answer in kaivox_gateway_bus_requests_total.
 * The series are found without a lock or a malloc (kv_metrics.h).
 *
 * Suspend/resume race (admin listener): the broker may answer before the
 * HTTP thread has suspended the connection, and libmicrohttpd forbids
 * resuming a connection that is not suspended.  Both sides therefore meet
 * under r->mu: the HTTP side suspends only if no answer arrived yet, the
 * answering side resumes only if the connection was suspended.
 */
#include "gw_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gw_input.h"
#include "gw_stats.h"
#include "kv_api.h"
#include "kv_bus.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_metrics.h"
#include "kv_proto.h"
#include "kv_valid.h"
#include "kv_json.h"

/* Where a connection is (gw_conn_t.phase). */
enum {
    C_HEADERS = 0,               /* waiting for a request's headers: header deadline */
    C_BODY,                      /* reading a body: body deadline */
    C_BUSY,                      /* the request is with the gateway or a service,
                                    or its answer is being sent: no deadline */
    C_IDLE,                      /* kept alive between requests: idle timeout only */
};

/* One connection (libmicrohttpd's socket context).  Created and freed by
 * s_notify_conn on the listener's own thread (the loop thread for the
 * public listener), which alone touches it. */
typedef struct gw_conn {
    struct gw_conn *prev, *next; /* the server's list of open connections */
    int fd;
    gw_addr_t peer;              /* the peer's address */
    gw_addr_t client;            /* gw_addr_client(peer): what the per-IP limit counts */
    int counted;                 /* counted in the server's per-address table */
    int phase;                   /* C_* */
    int64_t phase_ms;            /* monotonic ms the phase began */
    uint64_t rx_mark;            /* bytes received when the last request ended */
    size_t body_bytes;           /* body bytes of the current request so far */
    int uri_error;               /* GW_INPUT_* of the request line being read */
    int cut;                     /* shut down by the sweep; closing */
} gw_conn_t;

struct gw_server {
    struct MHD_Daemon *daemon;
    char name[16];               /* "http" / "admin" */
    gw_headers_fn on_headers;    /* may be NULL */
    gw_dispatch_fn dispatch;
    int external;                /* driven by gw_loop */
    int listen_fd;               /* external only; -1 once closed */
    unsigned max_connections;
    unsigned max_per_ip;         /* 0: no per-address limit */
    int header_timeout_ms;       /* 0: none */
    int body_timeout_ms;         /* 0: none */
    int connections;             /* open connections (the listener's thread) */
    int requests;                /* requests in progress */
    gw_conn_t *conns;            /* open connections, newest first */
    gw_ipcount_t *per_ip;        /* connections per client address (external) */
    int64_t last_sweep_ms;
    int trim_high;               /* most connections since memory was last trimmed */
    int64_t summary_ms;          /* when the last edge summary was logged */
    long long summary[5];        /* the counters it reported */
};

static gw_http_cfg_t s_cfg = { .max_body = 1024 * 1024, .request_timeout_ms = 5000 };
static atomic_int s_draining;

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

int gw_http_service_state(const char *service, gw_svc_state_t *st)
{
    pthread_once(&s_gate_once, s_gate_init);
    pthread_rwlock_rdlock(&s_gate);
    int settling = 0;
    if (s_broker)
        settling = gw_broker_service_state(s_broker, service, st);
    else
        memset(st, 0, sizeof *st);
    pthread_rwlock_unlock(&s_gate);
    return settling;
}

void gw_http_set_draining(void)
{
    atomic_store(&s_draining, 1);
}

int gw_http_draining(void)
{
    return atomic_load(&s_draining);
}

/* ---- metrics -------------------------------------------------------- */

static kv_metric_t *s_m_http;        /* kaivox_http_requests_total */
static kv_metric_t *s_m_http_lat;    /* kaivox_http_request_duration_seconds */
static kv_metric_t *s_m_bus;         /* kaivox_gateway_bus_requests_total */
static kv_metric_t *s_m_polls;       /* kaivox_gateway_loop_polls_total */
static kv_metric_t *s_m_bus_lat;     /* kaivox_gateway_bus_request_duration_seconds */
static kv_metric_t *s_m_workers;     /* kaivox_bus_workers{service,state} */
static kv_metric_t *s_m_queue;       /* kaivox_bus_queue_depth{service} */
static kv_metric_t *s_m_conns;       /* kaivox_http_connections */
static kv_metric_t *s_m_refused;     /* kaivox_http_connections_refused_total{reason} */
static kv_metric_t *s_m_keys;        /* kaivox_api_key_lookups_total{result} */

static const char *const s_services[] = {
    KV_SVC_SCHEDULING, KV_SVC_CRM, KV_SVC_CALLS, KV_SVC_WEBHOOKS, NULL
};

/* Scrape time: the broker's last snapshot (refreshed at every change and
 * timer tick of the loop) as gauges. */
static void s_scrape_broker(void *arg)
{
    (void)arg;
    for (int i = 0; s_services[i]; i++) {
        gw_svc_state_t st;
        gw_http_service_state(s_services[i], &st);
        kv_metric_set(s_m_workers, KV_LABELS(s_services[i], "live"), st.live);
        kv_metric_set(s_m_workers, KV_LABELS(s_services[i], "busy"), st.busy);
        kv_metric_set(s_m_workers, KV_LABELS(s_services[i], "available"), st.workers);
        kv_metric_set(s_m_queue, KV_LABELS(s_services[i]), st.queued);
    }
    /* the edge's counters (gw_stats.h), as they are */
    kv_metric_set(s_m_conns, NULL, atomic_load(&gw_stats.connections));
    kv_metric_set(s_m_refused, KV_LABELS("max_connections"), atomic_load(&gw_stats.refused_total));
    kv_metric_set(s_m_refused, KV_LABELS("max_per_ip"), atomic_load(&gw_stats.refused_per_ip));
    kv_metric_set(s_m_refused, KV_LABELS("header_timeout"), atomic_load(&gw_stats.cut_headers));
    kv_metric_set(s_m_refused, KV_LABELS("body_timeout"), atomic_load(&gw_stats.cut_body));
    kv_metric_set(s_m_refused, KV_LABELS("auth_fail_limit"), atomic_load(&gw_stats.auth_fail_limited));
    kv_metric_set(s_m_keys, KV_LABELS("database"), atomic_load(&gw_stats.key_lookups));
    kv_metric_set(s_m_keys, KV_LABELS("refused_unchecked"), atomic_load(&gw_stats.key_refused));
    kv_metric_set(s_m_keys, KV_LABELS("negative_cache"), atomic_load(&gw_stats.key_negative_hits));
    kv_metric_set(s_m_keys, KV_LABELS("wait_timeout"), atomic_load(&gw_stats.key_wait_timeouts));
    kv_metric_set(s_m_polls, KV_LABELS("caught"), atomic_load(&gw_stats.poll_caught));
    kv_metric_set(s_m_polls, KV_LABELS("slept"), atomic_load(&gw_stats.poll_slept));
    kv_metric_set(s_m_polls, KV_LABELS("deferred"), atomic_load(&gw_stats.poll_deferred));
}

void gw_http_metrics_init(void)
{
    s_m_http = kv_counter_new("kaivox_http_requests_total",
        "HTTP requests answered, by listener, route template, method and status code.",
        "listener,route,method,status");
    s_m_http_lat = kv_histogram_new("kaivox_http_request_duration_seconds",
        "Time from a request's first callback to its completion, by listener, route "
        "template and method.", "listener,route,method",
        kv_metric_latency_buckets, kv_metric_latency_nbuckets);
    s_m_bus = kv_counter_new("kaivox_gateway_bus_requests_total",
        "Requests the gateway sent over the bus, by service, operation and outcome "
        "(ok, client_error, error, unknown_op, refused, unavailable, timeout, version).",
        "service,op,outcome");
    s_m_bus_lat = kv_histogram_new("kaivox_gateway_bus_request_duration_seconds",
        "Time from handing a request to the broker to its answer, by service.", "service",
        kv_metric_latency_buckets, kv_metric_latency_nbuckets);
    s_m_workers = kv_gauge_new("kaivox_bus_workers",
        "Workers registered with this gateway's broker, by service and state (live: "
        "registered; busy: holding a request; available: can take work).", "service,state");
    s_m_queue = kv_gauge_new("kaivox_bus_queue_depth",
        "Requests waiting in this gateway's broker for a worker, by service.", "service");
    s_m_conns = kv_gauge_new("kaivox_http_connections",
        "Open connections of the public listener.", NULL);
    s_m_refused = kv_counter_new("kaivox_http_connections_refused_total",
        "Connections the public listener refused or cut, and 429s of the failed-authentication "
        "limit, by reason.", "reason");
    s_m_polls = kv_counter_new("kaivox_gateway_loop_polls_total",
        "Waits of the event loop that could poll before sleeping (at most one request held), "
        "by result (caught: an event came within the poll; slept: it did not; deferred: it "
        "slept at once, another gateway of the host was polling).", "result");
    s_m_keys = kv_counter_new("kaivox_api_key_lookups_total",
        "API key checks that were not cache hits, by how they were answered.", "result");
    kv_metric_t *start = kv_gauge_new("kaivox_process_start_time_seconds",
        "When this process started, in seconds since the epoch.", NULL);
    kv_metric_set(start, NULL, (int64_t)time(NULL));
    for (int i = 0; s_services[i]; i++)
        kv_metric_series(s_m_bus_lat, KV_LABELS(s_services[i]));
    kv_metrics_on_scrape(s_scrape_broker, NULL);
    kv_db_metrics_init();
}

int gw_reply_metrics(gw_req_t *r)
{
    size_t len = 0;
    char *text = kv_metrics_render(&len);
    free(r->out);
    r->out_ref = NULL;
    r->out = text;
    r->out_len = len;
    r->out_type = "text/plain; version=0.0.4; charset=utf-8";
    r->out_status = 200;
    return 0;
}

/* The outcome label of a bus answer's status: a small fixed set. */
static const char *s_outcome(int status)
{
    switch (status) {
    case 501: return "unknown_op";
    case 502: return "refused";
    case 503: return "unavailable";
    case 504: return "timeout";
    case 505: return "version";
    default:  return status >= 500 ? "error" : status >= 400 ? "client_error" : "ok";
    }
}

/* The status label of an HTTP status: three digits written without
 * printf (the request path does no formatting), "0" for none. */
static const char *s_status_label(int status, char buf[4])
{
    if (status < 100 || status > 999)
        return "0";
    buf[0] = (char)('0' + status / 100);
    buf[1] = (char)('0' + status / 10 % 10);
    buf[2] = (char)('0' + status % 10);
    buf[3] = '\0';
    return buf;
}

/* The method label: the methods of the API, anything else "other". */
static const char *s_method_label(const char *m)
{
    static const char *const known[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                         "OPTIONS", NULL };
    for (int i = 0; m && known[i]; i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "other";
}

/* ---- replies -------------------------------------------------------- */

static void s_set_out(gw_req_t *r, int status, char *text)
{
    free(r->out);
    r->out_ref = NULL;
    r->out_type = NULL;
    r->out = text;
    r->out_len = strlen(text);
    r->out_status = status;
}

int gw_reply_json(gw_req_t *r, int status, json_t *body)
{
    char *text = body ? kv_json_dump(body, JSON_COMPACT | JSON_ENCODE_ANY, NULL) : NULL;
    json_decref(body);
    if (!text) {
        status = 500;
        text = kv_strdup("{\"success\":false,\"message\":\"Internal server error.\"}");
    }
    s_set_out(r, status, text);
    return 0;
}

int gw_reply_static(gw_req_t *r, int status, const char *type, const void *body, size_t len)
{
    free(r->out);
    r->out = NULL;
    r->out_ref = body ? body : "";
    r->out_len = body ? len : 0;
    r->out_type = type;
    r->out_status = status;
    return 0;
}

/* 1 when an answer is waiting to be queued. */
static int s_has_out(const gw_req_t *r)
{
    return r->out || r->out_ref;
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

/* Queues r->out (or r->out_ref).  Precondition: an answer is set
 * (s_has_out) and nothing was queued. */
static enum MHD_Result s_queue(gw_req_t *r)
{
    struct MHD_Response *resp;
    if (r->out_ref)
        resp = MHD_create_response_from_buffer(r->out_len, (void *)r->out_ref,
                                               MHD_RESPMEM_PERSISTENT);
    else
        resp = MHD_create_response_from_buffer(r->out_len, r->out, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    r->out = NULL;
    r->out_ref = NULL;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->out_type ? r->out_type : "application/json");
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    for (int i = 0; i < r->nhdr; i++)
        MHD_add_response_header(resp, r->hdr[i].name, r->hdr[i].value);
    for (const char *const *h = r->out_hdrs; h && h[0] && h[1]; h += 2)
        MHD_add_response_header(resp, h[0], h[1]);
    if (r->close || r->too_large || gw_http_draining())
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->out_status, resp);
    MHD_destroy_response(resp);
    r->status = r->out_status;
    r->step = GW_STEP_ANSWERED;
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

/* ---- suspension ----------------------------------------------------- */

void gw_req_suspend(gw_req_t *r)
{
    pthread_mutex_lock(&r->mu);
    if (!r->replied) {
        MHD_suspend_connection(r->conn);
        r->suspended = 1;
    }
    pthread_mutex_unlock(&r->mu);
}

void gw_req_resume(gw_req_t *r)
{
    pthread_mutex_lock(&r->mu);
    r->replied = 1;
    int resume = r->suspended;
    r->suspended = 0;
    struct MHD_Connection *conn = r->conn;
    pthread_mutex_unlock(&r->mu);
    /* Resume only after unlocking, and never touch r again: once resumed,
     * the listener's thread may finish the request and free r (and r->mu)
     * at once.  While suspended the connection cannot complete, so r is
     * still alive up to this call. */
    if (resume)
        MHD_resume_connection(conn);
}

/* ---- forwarding ----------------------------------------------------- */

/* Loop thread: keeps a copy of the reply and wakes the connection.  A
 * recorded answer sent again for its Idempotency-Key (rh->replayed) says
 * so in Idempotent-Replayed. */
static void s_on_reply(void *arg, int status, const char *body, size_t len, const kv_hdr_t *rh)
{
    gw_req_t *r = arg;
    char *text;
    if (status < 100 || status > 599)
        status = 502;
    kv_metric_inc(s_m_bus, KV_LABELS(r->bus_service, r->bus_op, s_outcome(status)));
    kv_metric_observe_us(s_m_bus_lat, KV_LABELS(r->bus_service), kv_mono_us() - r->bus_t0_us);
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
    if (rh && rh->replayed)
        gw_req_add_header(r, "Idempotent-Replayed", "true");
    pthread_mutex_unlock(&r->mu);
    gw_req_resume(r);
}

int gw_forward(gw_req_t *r, const char *service, kv_hdr_t *h, json_t *bus_body)
{
    snprintf(h->id, sizeof h->id, "%s", r->rid);
    /* the service's span is a child of this request's */
    kv_traceparent_format(&r->trace, h->traceparent);
    memcpy(h->tracestate, r->trace.state, sizeof h->tracestate);
    /* metric labels: names of the route tables, never the client's bytes */
    snprintf(r->bus_service, sizeof r->bus_service, "%s", service);
    snprintf(r->bus_op, sizeof r->bus_op, "%s", h->op);
    r->bus_t0_us = kv_mono_us();
    size_t tlen;
    char *text = kv_json_dump(bus_body, JSON_COMPACT, &tlen);
    if (!text)
        return gw_reply_error(r, 500, "Internal server error.");
    if (tlen > KV_BODY_MAX) {
        /* a body under KAIVOX_MAX_BODY_BYTES that grew when re-encoded
         * (e.g. 1e9 -> 1000000000.0) */
        free(text);
        r->close = 1;
        return gw_reply_error(r, 413, "Request body too large.");
    }

    pthread_mutex_lock(&r->mu);
    r->replied = 0;
    pthread_mutex_unlock(&r->mu);

    pthread_once(&s_gate_once, s_gate_init);
    pthread_rwlock_rdlock(&s_gate);
    int rc = -1;
    if (s_broker)
        rc = gw_broker_submit(s_broker, service, h, text, tlen, s_on_reply, r);
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

/* ---- the request state machine ------------------------------------- */

/* The connection state of conn (NULL when libmicrohttpd has none). */
static gw_conn_t *s_conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void s_phase(gw_conn_t *c, int phase)
{
    if (c && c->phase != phase) {
        c->phase = phase;
        c->phase_ms = kv_mono_ms();
    }
}

/* Bytes the kernel received on fd so far (0 when it cannot tell). */
static uint64_t s_rx_bytes(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return 0;
    return ti.tcpi_bytes_received;
}

static gw_req_t *s_req_new(struct MHD_Connection *conn, const char *url, const char *method)
{
    gw_req_t *r = kv_calloc(1, sizeof *r);
    gw_conn_t *c = s_conn_of(conn);
    if (c) {
        r->peer = c->peer;
        r->uri_error = c->uri_error;
        c->uri_error = GW_INPUT_OK;
    }
    gw_addr_client(&r->peer, &r->client);
    r->conn = conn;
    r->method = method;
    r->path = kv_strdup(url ? url : "/");
    r->t0_us = kv_mono_us();
    pthread_mutex_init(&r->mu, NULL);
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && kv_bus_valid_id(rid, strlen(rid)))
        snprintf(r->rid, sizeof r->rid, "%s", rid);
    else
        kv_bus_new_id(r->rid);
    /* W3C trace context: the client's when valid, else a new trace */
    kv_trace_begin(&r->trace, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "traceparent"),
                   MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "tracestate"));
    return r;
}

/* Adds a chunk of body to r, dropping the body once it passes the limit. */
static void s_upload(gw_req_t *r, const char *data, size_t n)
{
    if (r->too_large)
        return;
    if (r->upload_len + n > s_cfg.max_body) {
        r->too_large = 1;
        free(r->upload);
        r->upload = NULL;
        r->upload_len = r->upload_cap = 0;
        return;
    }
    if (r->upload_len + n + 1 > r->upload_cap) {
        size_t cap = r->upload_cap ? r->upload_cap : 4096;
        while (cap < r->upload_len + n + 1)
            cap *= 2;
        r->upload = kv_realloc(r->upload, cap);
        r->upload_cap = cap;
    }
    memcpy(r->upload + r->upload_len, data, n);
    r->upload_len += n;
    r->upload[r->upload_len] = '\0';
}

/* 1 when the request on conn announces a body (Content-Length > 0, or a
 * Transfer-Encoding). */
static int s_body_announced(struct MHD_Connection *conn)
{
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (te && *te) || (cl && strspn(cl, "0") != strlen(cl));
}

static enum MHD_Result s_access_step(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **con_cls);

/* libmicrohttpd's access callback: one step of the request with its trace
 * as the thread's current one (every log line of the step carries it). */
static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    gw_req_t *r = *con_cls;
    if (r)
        kv_trace_set_current(&r->trace);
    enum MHD_Result ret = s_access_step(cls, conn, url, method, version, upload_data,
                                        upload_data_size, con_cls);
    kv_trace_clear_current();
    return ret;
}

static enum MHD_Result s_access_step(void *cls, struct MHD_Connection *conn, const char *url,
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
        kv_trace_set_current(&r->trace);
        srv->requests++;
        s_phase(s_conn_of(conn), C_BUSY);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t n = 0;
        if (cl && (kv_parse_i64(cl, &n) != 0 || n < 0 || (uint64_t)n > s_cfg.max_body)) {
            r->too_large = 1;
            gw_reply_error(r, 413, "Request body too large.");
            return s_queue(r);
        }
    }

    switch (r->step) {
    case GW_STEP_HEADERS: {
        /* first call, or again after a resume: never with body bytes */
        int st = srv->on_headers ? srv->on_headers(r) : GW_NEXT;
        if (st == GW_SUSPENDED)
            return MHD_YES;
        if (st == GW_ANSWERED) {
            if (!s_has_out(r))
                gw_reply_error(r, 500, "Internal server error.");
            if (s_body_announced(conn)) {
                /* the body is never read: answer now, close after it */
                r->close = 1;
                return s_queue(r);
            }
            /* no body: answer once libmicrohttpd has the whole request
             * (its next call), so the connection can be kept alive */
            r->step = GW_STEP_BODY;
            return MHD_YES;
        }
        r->step = GW_STEP_BODY;
        gw_conn_t *c = s_conn_of(conn);
        if (c)
            c->body_bytes = 0;
        s_phase(c, C_BODY);
        return MHD_YES;
    }
    case GW_STEP_BODY:
        if (s_has_out(r)) {          /* answered by on_headers, no body */
            *upload_data_size = 0;
            break;
        }
        if (*upload_data_size) {
            gw_conn_t *c = s_conn_of(conn);
            if (c)
                c->body_bytes += *upload_data_size;
            s_upload(r, upload_data, *upload_data_size);
            *upload_data_size = 0;
            return MHD_YES;
        }
        /* the whole request is here */
        s_phase(s_conn_of(conn), C_BUSY);
        r->step = GW_STEP_DISPATCHED;
        if (r->too_large)
            gw_reply_error(r, 413, "Request body too large.");
        else if (srv->dispatch(r))
            return MHD_YES;          /* suspended: the broker answers later */
        break;
    case GW_STEP_DISPATCHED:         /* resumed with the answer */
        break;
    default:                         /* answered early: drop what still comes */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!s_has_out(r))
        gw_reply_error(r, 500, "Internal server error.");
    return s_queue(r);
}

/* The one log line of a request, then the request is freed. */
static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    gw_server_t *srv = cls;
    gw_req_t *r = *con_cls;
    gw_conn_t *c = conn ? s_conn_of(conn) : NULL;
    if (c) {
        /* between requests: the next one's header deadline starts with its
         * first byte, which TCP_INFO's count will show */
        s_phase(c, C_IDLE);
        if (srv->external && srv->header_timeout_ms > 0)
            c->rx_mark = s_rx_bytes(c->fd);
    }
    if (!r)
        return;
    srv->requests--;
    int64_t us = kv_mono_us() - r->t0_us;
    /* labels: the route's template (never the path: ids stay out), a known
     * method, the status code; the console's pages and unmatched paths
     * each get one value */
    const char *route = r->route ? r->route->pattern
                      : r->console ? "/console"
                      : (strcmp(r->path, "/healthz") == 0 || strcmp(r->path, "/readyz") == 0 ||
                         strcmp(r->path, "/metrics") == 0) ? r->path : "unmatched";
    const char *method = s_method_label(r->method);
    char st[4];
    kv_metric_inc(s_m_http, KV_LABELS(srv->name, route, method, s_status_label(r->status, st)));
    kv_metric_observe_us(s_m_http_lat, KV_LABELS(srv->name, route, method), us);
    kv_trace_set_current(&r->trace);
    kv_log(r->status >= 500 || r->status == 0 ? KV_LOG_WARN : KV_LOG_INFO, r->rid,
           "%s request method=%s path=%.200s status=%d duration_us=%lld tenant_id=%lld "
           "span=%s%s", srv->name, r->method, r->path, r->status, (long long)us,
           (long long)r->tenant_id, r->trace.span_id,
           toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    kv_trace_clear_current();
    pthread_mutex_destroy(&r->mu);
    json_decref(r->query);
    free(r->path);
    free(r->upload);
    free(r->out);
    free(r);
    *con_cls = NULL;
}

static void s_notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    gw_server_t *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        gw_conn_t *c = kv_calloc(1, sizeof *c);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c->fd = ci ? ci->connect_fd : -1;
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        (void)gw_addr_from_sockaddr(ci ? ci->client_addr : NULL, &c->peer);
        gw_addr_client(&c->peer, &c->client);
        c->phase = C_HEADERS;
        c->phase_ms = kv_mono_ms();
        if (srv->per_ip && !gw_cidr_list_match(s_cfg.trusted, s_cfg.ntrusted, &c->peer))
            c->counted = gw_ipcount_add(srv->per_ip, &c->client) == 0;
        c->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = c;
        srv->conns = c;
        *socket_context = c;
        srv->connections++;
        if (srv->connections > srv->trim_high)
            srv->trim_high = srv->connections;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        gw_conn_t *c = *socket_context;
        srv->connections--;
        if (c) {
            if (c->counted)
                gw_ipcount_sub(srv->per_ip, &c->client);
            if (c->prev)
                c->prev->next = c->next;
            else
                srv->conns = c->next;
            if (c->next)
                c->next->prev = c->prev;
            free(c);
            *socket_context = NULL;
        }
    }
    if (srv->external) {
        atomic_store(&gw_stats.connections, srv->connections);
        if (srv->per_ip)
            atomic_store(&gw_stats.client_addresses, gw_ipcount_size(srv->per_ip));
    }
}

/* The request line is in (before its headers): the raw request-target's
 * length and query escapes, which libmicrohttpd decodes leniently.  For a
 * kept-alive connection this is also the next request's start, if the
 * sweep has not seen it yet. */
static void *s_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    gw_conn_t *c = s_conn_of(conn);
    if (c) {
        c->uri_error = uri ? gw_uri_check(uri, GW_URI_MAX) : GW_INPUT_OK;
        if (c->phase == C_IDLE)
            s_phase(c, C_HEADERS);
    }
    return NULL;
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

/* ---- starting and stopping ------------------------------------------ */

/* Fills *ss from a numeric address and port; returns its length, or 0
 * when addr is not a numeric IPv4/IPv6 address. */
static socklen_t s_sockaddr(const char *addr, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return sizeof *a4;
    }
    if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return sizeof *a6;
    }
    return 0;
}

/* A non-blocking listening socket on sa; -1 on failure (errno set). */
static int s_listen(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, sa, len) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

gw_server_t *gw_server_start(const gw_server_cfg_t *cfg)
{
    struct sockaddr_storage ss;
    socklen_t sslen = s_sockaddr(cfg->addr, cfg->port, &ss);
    if (!sslen) {
        kv_error(NULL, "%s listener: address %s is not a numeric IPv4/IPv6 address",
                 cfg->name, cfg->addr);
        return NULL;
    }
    gw_server_t *s = kv_calloc(1, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", cfg->name);
    s->on_headers = cfg->on_headers;
    s->dispatch = cfg->dispatch;
    s->external = cfg->external;
    s->max_connections = cfg->max_connections;
    s->listen_fd = -1;
    if (s->external) {
        s->max_per_ip = cfg->max_per_ip;
        s->header_timeout_ms = cfg->header_timeout_ms;
        s->body_timeout_ms = cfg->body_timeout_ms;
        if (s->max_per_ip)
            s->per_ip = gw_ipcount_new((int)cfg->max_connections + 16);
        s->summary_ms = kv_mono_ms();
    }

    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (s->external) {
        s->listen_fd = s_listen((struct sockaddr *)&ss, sslen);
        if (s->listen_fd < 0) {
            kv_error(NULL, "%s listener: cannot listen on %s:%d: %s", cfg->name, cfg->addr,
                     cfg->port, strerror(errno));
            free(s);
            return NULL;
        }
        flags |= MHD_USE_NO_LISTEN_SOCKET;
        /* libmicrohttpd must not refuse what gw_server_accept let in */
        s->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, s_access, s,
            MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
            MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections + 16,
            MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
            MHD_OPTION_NOTIFY_COMPLETED, s_completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, s_notify_conn, s,
            MHD_OPTION_URI_LOG_CALLBACK, s_uri_log, s,
            MHD_OPTION_END);
    } else {
        flags |= MHD_USE_INTERNAL_POLLING_THREAD;
        s->daemon = MHD_start_daemon(
            flags, (uint16_t)cfg->port, NULL, NULL, s_access, s,
            MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
            MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
            MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
            MHD_OPTION_NOTIFY_COMPLETED, s_completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, s_notify_conn, s,
            MHD_OPTION_URI_LOG_CALLBACK, s_uri_log, s,
            MHD_OPTION_END);
    }
    if (!s->daemon) {
        kv_error(NULL, "%s listener: cannot start on %s:%d: %s", cfg->name, cfg->addr,
                 cfg->port, strerror(errno));
        if (s->listen_fd >= 0)
            close(s->listen_fd);
        gw_ipcount_destroy(&s->per_ip);
        free(s);
        return NULL;
    }
    if (s->external)
        kv_info(NULL, "%s listener on %s:%d: max_connections=%u per_ip=%u header_timeout_ms=%d "
                "body_timeout_ms=%d idle_timeout_s=%u", cfg->name, cfg->addr, cfg->port,
                cfg->max_connections, cfg->max_per_ip, cfg->header_timeout_ms,
                cfg->body_timeout_ms, cfg->timeout_s);
    else
        kv_info(NULL, "%s listener on %s:%d", cfg->name, cfg->addr, cfg->port);
    return s;
}

void gw_server_stop(gw_server_t **ps)
{
    if (!ps || !*ps)
        return;
    gw_server_t *s = *ps;
    MHD_stop_daemon(s->daemon);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    gw_ipcount_destroy(&s->per_ip);
    free(s);
    *ps = NULL;
}

/* ---- external servers ----------------------------------------------- */

int gw_server_listen_fd(const gw_server_t *s)
{
    return s->listen_fd;
}

int gw_server_epoll_fd(const gw_server_t *s)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    return i ? i->epoll_fd : -1;
}

/* Writes a complete canned error response to a socket libmicrohttpd does
 * not own (yet, or any more): best effort, never blocks.  The envelope
 * keeps the API's shape, with a request id of its own. */
static void s_canned(int fd, int status, const char *reason, const char *msg, int retry_after)
{
    char rid[33], body[160], head[512], retry[40] = "";
    kv_bus_new_id(rid);
    int blen = snprintf(body, sizeof body, "{\"success\":false,\"message\":\"%s\"}", msg);
    if (retry_after > 0)
        snprintf(retry, sizeof retry, "Retry-After: %d\r\n", retry_after);
    int hlen = snprintf(head, sizeof head,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %d\r\nConnection: close\r\nX-Request-Id: %s\r\n%s\r\n",
                        status, reason, blen, rid, retry);
    if (hlen <= 0 || (size_t)hlen + (size_t)blen >= sizeof head)
        return;
    memcpy(head + hlen, body, (size_t)blen);
    (void)send(fd, head, (size_t)hlen + (size_t)blen, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void gw_server_accept(gw_server_t *s)
{
    for (int i = 0; i < 64 && s->listen_fd >= 0; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                kv_warn(NULL, "%s listener: accept: %s", s->name, strerror(errno));
            return;
        }
        /* refused at once, not left waiting in the backlog */
        if ((unsigned)s->connections >= s->max_connections) {
            s_canned(fd, 503, "Service Unavailable", "Too many connections.", 1);
            close(fd);
            atomic_fetch_add(&gw_stats.refused_total, 1);
            continue;
        }
        if (s->per_ip) {
            gw_addr_t peer, client;
            (void)gw_addr_from_sockaddr((struct sockaddr *)&ss, &peer);
            gw_addr_client(&peer, &client);
            if ((unsigned)gw_ipcount_get(s->per_ip, &client) >= s->max_per_ip &&
                !gw_cidr_list_match(s_cfg.trusted, s_cfg.ntrusted, &peer)) {
                s_canned(fd, 429, "Too Many Requests", "Too many connections from this address.", 1);
                close(fd);
                atomic_fetch_add(&gw_stats.refused_per_ip, 1);
                continue;
            }
        }
        if (MHD_add_connection(s->daemon, fd, (struct sockaddr *)&ss, len) != MHD_YES)
            kv_warn(NULL, "%s listener: connection not added: %s", s->name, strerror(errno));
    }
}

/* Cuts c: a 408 envelope if nothing was sent on it yet, then shutdown(),
 * after which libmicrohttpd reads end-of-file and closes it. */
static void s_cut(gw_conn_t *c)
{
    s_canned(c->fd, 408, "Request Timeout", "Request timeout: the request did not arrive in time.", 0);
    (void)shutdown(c->fd, SHUT_RDWR);
    c->cut = 1;
}

/* Logs, at most every 10 s, what the edge refused or cut since the last
 * line: attacks leave a trace without one log line per connection. */
static void s_summary(gw_server_t *s, int64_t now)
{
    if (now - s->summary_ms < 10000)
        return;
    long long cur[5] = {
        atomic_load(&gw_stats.refused_per_ip), atomic_load(&gw_stats.refused_total),
        atomic_load(&gw_stats.cut_headers), atomic_load(&gw_stats.cut_body),
        atomic_load(&gw_stats.auth_fail_limited),
    };
    if (memcmp(cur, s->summary, sizeof cur) != 0)
        kv_warn(NULL, "%s edge in the last %lld s: refused_per_ip=%lld refused_total=%lld "
                "cut_headers=%lld cut_body=%lld auth_fail_limited=%lld connections=%d "
                "client_addresses=%d", s->name, (long long)(now - s->summary_ms) / 1000,
                cur[0] - s->summary[0], cur[1] - s->summary[1], cur[2] - s->summary[2],
                cur[3] - s->summary[3], cur[4] - s->summary[4], s->connections,
                s->per_ip ? gw_ipcount_size(s->per_ip) : 0);
    memcpy(s->summary, cur, sizeof cur);
    s->summary_ms = now;
}

void gw_server_sweep(gw_server_t *s)
{
    int64_t now = kv_mono_ms();
    if (!s->external || now - s->last_sweep_ms < GW_SWEEP_MS / 2)
        return;
    s->last_sweep_ms = now;
    for (gw_conn_t *c = s->conns; c; c = c->next) {
        if (c->cut || c->fd < 0)
            continue;
        if (c->phase == C_IDLE && s->header_timeout_ms > 0 && s_rx_bytes(c->fd) > c->rx_mark)
            s_phase(c, C_HEADERS);       /* the next request has begun */
        if (c->phase == C_HEADERS && s->header_timeout_ms > 0 &&
            now - c->phase_ms >= s->header_timeout_ms) {
            s_cut(c);
            atomic_fetch_add(&gw_stats.cut_headers, 1);
        } else if (c->phase == C_BODY && s->body_timeout_ms > 0 &&
                   now - c->phase_ms >= s->body_timeout_ms +
                       (int64_t)(c->body_bytes / GW_BODY_MIN_RATE) * 1000) {
            s_cut(c);
            atomic_fetch_add(&gw_stats.cut_body, 1);
        }
    }
    /* glibc keeps freed connection buffers (libmicrohttpd's 32 KiB pools)
     * in its heap; after a crowd of connections is gone, give them back */
    if (s->trim_high - s->connections >= 64 && s->connections <= s->trim_high / 2) {
        malloc_trim(0);
        s->trim_high = s->connections;
    }
    s_summary(s, now);
}

void gw_server_run(gw_server_t *s)
{
    MHD_run(s->daemon);
}

int gw_server_timeout_ms(gw_server_t *s)
{
    MHD_UNSIGNED_LONG_LONG t = 0;
    if (MHD_get_timeout(s->daemon, &t) != MHD_YES)
        return -1;
    return t > 60000 ? 60000 : (int)t;
}

void gw_server_close_listener(gw_server_t *s)
{
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
        kv_info(NULL, "%s listener closed", s->name);
    }
}

int gw_server_connections(const gw_server_t *s)
{
    return s->connections;
}

int gw_server_requests(const gw_server_t *s)
{
    return s->requests;
}
