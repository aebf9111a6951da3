/*
 * gw_http.h -- the HTTP side of the gateway: libmicrohttpd daemons, the
 * per-connection and per-request state, replies, and forwarding to the
 * broker with suspend/resume.
 *
 * Two kinds of listener run on this plumbing.  The public API's is driven
 * by the gateway's event loop (gw_loop.c): no thread of its own, the loop
 * accepts its connections and runs libmicrohttpd when its sockets are
 * ready, on the same thread as the broker, so a request and its reply never
 * change threads inside the gateway.  The admin listener runs libmicrohttpd
 * on a thread of its own (its handlers may wait for the database).
 *
 * The public listener defends itself before any request is read (its
 * "edge", see gw_http.c): at most KAIVOX_HTTP_MAX_CONNECTIONS connections,
 * at most KAIVOX_HTTP_MAX_CONNECTIONS_PER_IP of them from one client
 * address (the next ones are refused at accept, with a canned 429 or 503,
 * never queued), a deadline for a request's headers and one for its body
 * (slow senders are cut off with 408).
 *
 * A request goes through two steps.  on_headers(r) runs as soon as the
 * headers are complete, before any byte of the body is read: it can answer
 * at once (401, 404, ...: the body is then never buffered), let the body
 * come, or suspend the connection while it waits (for a key lookup) and
 * resume it later.  dispatch(r) runs once the whole body is there: it
 * answers (gw_reply_*) or forwards to a service (gw_forward), in which case
 * the connection is suspended until the broker calls back.  Every response
 * carries X-Request-Id and Content-Type: application/json (the console's
 * static files, gw_reply_static, their own type), and every
 * request ends with one log line (never with its query string).
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>

#include "gw_addr.h"
#include "gw_auth.h"
#include "gw_broker.h"
#include "gw_iplimit.h"
#include "gw_ratelimit.h"
#include "gw_routes.h"

#define GW_REQ_MAX_HEADERS 8

/* Room a forwarded request's bus body needs besides the HTTP body (path
 * parameters, query arguments, JSON punctuation), and so the largest
 * KAIVOX_MAX_BODY_BYTES the bus can carry. */
#define GW_BUS_ROOM        (256 * 1024)
#define GW_MAX_BODY_LIMIT  (KV_BODY_MAX - GW_BUS_ROOM)

/* The body deadline grows by one second per GW_BODY_MIN_RATE bytes
 * received: a body must arrive within KAIVOX_HTTP_BODY_TIMEOUT_MS plus the
 * time it takes at 1 KiB/s (slower than a GPRS link), so a 1 MiB upload
 * over a slow phone network passes and a trickle does not. */
#define GW_BODY_MIN_RATE   1024

/* One HTTP request.  Owned by the daemon; freed when the request ends. */
typedef struct gw_req {
    struct MHD_Connection *conn;
    const char *method;          /* MHD's string, valid for the request */
    char *path;                  /* owned copy of the decoded path, no query */
    char rid[65];                /* X-Request-Id: the client's or ours */
    int64_t t0_us;               /* monotonic start, for duration_us */
    int64_t tenant_id;           /* for the log line; 0 when not authenticated */
    int step;                    /* GW_STEP_*: where the request is */
    gw_addr_t peer;              /* the connection's peer address */
    int uri_error;               /* GW_INPUT_* of the raw request-target */

    char *upload;                /* owned request body so far */
    size_t upload_len, upload_cap;
    int too_large;               /* body over the limit: answer 413 */

    /* What on_headers found, for dispatch (public API). */
    const gw_route_t *route;     /* matched route */
    gw_params_t params;          /* its path parameters */
    json_t *query;               /* owned: query arguments but api_key */
    gw_principal_t who;          /* the authenticated key */
    char idem_key[KV_IDEM_KEY_MAX + 1];  /* the write's Idempotency-Key, "" none */
    gw_addr_t client;            /* who the per-client limits count (the peer,
                                    or X-Forwarded-For behind a trusted proxy) */
    int wait;                    /* what a suspended on_headers waits for
                                    (its own codes; 0: nothing) */
    int auth_rc;                 /* GW_AUTH_* of that asynchronous answer */

    /* The console (gw_console.h). */
    int console;                 /* 1: a path under /console */
    int64_t session_id;          /* > 0: authenticated by a console session,
                                    not a key (who.key_id is then 0) */
    int64_t user_id;             /* the session's user */
    const void *console_op;      /* the console route being served (gw_console.c) */

    /* The response waiting to be queued (set by gw_reply_* or the broker
     * callback), and the one sent. */
    char *out;                   /* owned JSON text */
    size_t out_len;
    int out_status;
    int status;                  /* status queued; 0 until then */
    int close;                   /* send Connection: close */
    const char *out_type;        /* Content-Type; NULL: application/json */
    const void *out_ref;         /* a borrowed body instead of out (static
                                    files, alive as long as the daemon) */
    const char *const *out_hdrs; /* borrowed "name", "value", ..., NULL pairs
                                    sent besides hdr[] (long values: CSP) */

    int nhdr;                    /* extra response headers */
    struct { char name[32]; char value[128]; } hdr[GW_REQ_MAX_HEADERS];

    /* Suspension: whoever answers (broker callback, key lookup) and the
     * HTTP side meet here.  For the public listener both run on the loop
     * thread; for the admin listener the broker callback runs on another
     * thread, hence the mutex. */
    pthread_mutex_t mu;          /* guards suspended, replied, out* while forwarding */
    int suspended;               /* MHD_suspend_connection was called */
    int replied;                 /* the answer arrived */
} gw_req_t;

/* Where a request is (gw_req_t.step). */
enum {
    GW_STEP_HEADERS = 0,         /* on_headers has not finished */
    GW_STEP_BODY,                /* reading the body */
    GW_STEP_DISPATCHED,          /* dispatch ran (maybe forwarded) */
    GW_STEP_ANSWERED,            /* a response is queued */
};

/* What on_headers returns. */
enum {
    GW_NEXT = 0,                 /* read the body, then dispatch */
    GW_ANSWERED = 1,             /* r->out is set: send it, skip the body */
    GW_SUSPENDED = 2,            /* gw_req_suspend() was called; on_headers
                                    runs again after gw_req_resume() */
};

/* Runs when the headers are complete (and again after a resume); returns
 * GW_NEXT, GW_ANSWERED or GW_SUSPENDED. */
typedef int (*gw_headers_fn)(gw_req_t *r);
/* Handles one complete request: returns 1 when it suspended the
 * connection (gw_forward), 0 when it answered (gw_reply_*). */
typedef int (*gw_dispatch_fn)(gw_req_t *r);

/* Settings every request uses; set once by main before the daemons start. */
typedef struct {
    gw_auth_t *auth;             /* borrowed */
    gw_ratelimit_t *rl;          /* borrowed */
    gw_authfail_t *authfail;     /* borrowed: failed authentications per client */
    const unsigned char *key_secret;  /* GW_KEY_SECRET_LEN bytes, borrowed */
    const gw_cidr_t *trusted;    /* KAIVOX_HTTP_TRUSTED_PROXIES, borrowed */
    int ntrusted;
    size_t max_body;             /* KAIVOX_MAX_BODY_BYTES */
    int request_timeout_ms;      /* KAIVOX_REQUEST_TIMEOUT_MS */
} gw_http_cfg_t;

void gw_http_configure(const gw_http_cfg_t *cfg);
const gw_http_cfg_t *gw_http_cfg(void);

/* Sets the broker requests go to; NULL closes the gate (waits for every
 * submit in progress), after which forwards answer 503 at once.  Call
 * with NULL before gw_broker_destroy. */
void gw_http_set_broker(gw_broker_t *b);
/* The broker's readiness state of service (gw_broker_service_state):
 * fills *st and returns 1 while the broker is settling; zeros and 0 when
 * the gate is closed. */
int gw_http_service_state(const char *service, gw_svc_state_t *st);

/* Draining (SIGTERM): from now on /readyz answers 503 and every response
 * closes its connection, so clients and load balancers move elsewhere. */
void gw_http_set_draining(void);
int gw_http_draining(void);

typedef struct gw_server gw_server_t;

typedef struct {
    const char *name;            /* "http" or "admin", for logs */
    const char *addr;            /* numeric IPv4 or IPv6 address */
    int port;
    int external;                /* 1: driven by gw_loop (public API);
                                    0: libmicrohttpd's own thread (admin) */
    unsigned max_connections;
    unsigned timeout_s;          /* idle connection timeout */
    /* external servers only (0: off) */
    unsigned max_per_ip;         /* connections per client address */
    int header_timeout_ms;       /* from accept (or a kept-alive request's first
                                    byte) to complete headers */
    int body_timeout_ms;         /* from complete headers to complete body, plus
                                    1 s per GW_BODY_MIN_RATE bytes */
    gw_headers_fn on_headers;    /* NULL: always GW_NEXT */
    gw_dispatch_fn dispatch;
} gw_server_cfg_t;

/* Starts a daemon; NULL on failure (logged).  Caller owns the result. */
gw_server_t *gw_server_start(const gw_server_cfg_t *cfg);
/* Stops the daemon and frees it.  Every forwarded request must have been
 * answered first (close the broker gate and destroy the broker). */
void gw_server_stop(gw_server_t **ps);

/* ---- an external server, driven by the loop thread ------------------- */

/* The listening socket (poll for POLLIN), -1 once closed. */
int gw_server_listen_fd(const gw_server_t *s);
/* libmicrohttpd's epoll descriptor (poll for POLLIN). */
int gw_server_epoll_fd(const gw_server_t *s);
/* Accepts the connections waiting on the listening socket. */
void gw_server_accept(gw_server_t *s);
/* Lets libmicrohttpd do its work (call after polling, whatever fired). */
void gw_server_run(gw_server_t *s);
/* Housekeeping, at least every GW_SWEEP_MS: cuts connections past their
 * header or body deadline, gives memory back after many connections
 * closed, logs a summary of refused and cut connections. */
void gw_server_sweep(gw_server_t *s);
#define GW_SWEEP_MS 250
/* Milliseconds until gw_server_run must run again; -1 for no limit. */
int gw_server_timeout_ms(gw_server_t *s);
/* Stops accepting: closes the listening socket. */
void gw_server_close_listener(gw_server_t *s);
/* Open connections, and requests between their headers and their end. */
int gw_server_connections(const gw_server_t *s);
int gw_server_requests(const gw_server_t *s);

/* ---- for on_headers and dispatch functions --------------------------- */

/* A request header's value or NULL. */
const char *gw_req_header(gw_req_t *r, const char *name);
/* Adds a response header (copied; silently dropped past the limit). */
void gw_req_add_header(gw_req_t *r, const char *name, const char *value);

/* Suspends the connection from on_headers (which then returns
 * GW_SUSPENDED).  gw_req_resume() wakes it; on_headers runs again. */
void gw_req_suspend(gw_req_t *r);
void gw_req_resume(gw_req_t *r);

/* Answers status with body (stolen).  Returns 0 (for `return gw_reply...`
 * in dispatch functions). */
int gw_reply_json(gw_req_t *r, int status, json_t *body);
/* Answers the error envelope {"success":false,"message":msg}.  Returns 0. */
int gw_reply_error(gw_req_t *r, int status, const char *msg);
/* Answers status with len bytes of body (borrowed: must outlive the
 * daemon) of Content-Type type.  Returns 0. */
int gw_reply_static(gw_req_t *r, int status, const char *type, const void *body, size_t len);

/* Parses the body of a POST/PATCH/PUT: *out = the JSON value, or JSON null
 * when the body is empty (new reference).  Returns 0, or -1 after
 * answering 400 "Malformed JSON body.". */
int gw_req_body_json(gw_req_t *r, json_t **out);

/* Sends a request to service over the broker with header h (its id is
 * set to r->rid here) and bus body (borrowed).  Returns 1 when the
 * connection was suspended (the caller must not touch r again), 0 when the
 * answer is already there (broker closed, or it answered at once). */
int gw_forward(gw_req_t *r, const char *service, kv_hdr_t *h, json_t *bus_body);

/* ---- the public API (gw_public.c) ------------------------------------ */

int gw_public_headers(gw_req_t *r);
int gw_public_dispatch(gw_req_t *r);

#endif
