/*
 * gw_http.h -- the HTTP side of the gateway: libmicrohttpd daemons, the
 * per-request context, replies, and forwarding to the broker with
 * suspend/resume.
 *
 * Both listeners (public API and admin) run on this plumbing; they differ
 * only in their dispatch function.  A daemon reads a request, accumulating
 * at most the body limit, then calls dispatch(r) once.  Dispatch either
 * answers at once (gw_reply_*), or forwards the request to a service
 * (gw_forward), in which case the connection is suspended until the broker
 * calls back; no HTTP thread ever waits for a service.  Every response
 * carries Content-Type: application/json and X-Request-Id, and every
 * request ends with one log line (never with its query string).
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>

#include "gw_auth.h"
#include "gw_broker.h"
#include "gw_ratelimit.h"

#define GW_REQ_MAX_HEADERS 8

/* One HTTP request.  Owned by the daemon; freed when the request ends. */
typedef struct gw_req {
    struct MHD_Connection *conn;
    const char *method;          /* MHD's string, valid for the request */
    char *path;                  /* owned copy of the decoded path, no query */
    char rid[65];                /* X-Request-Id: the client's or ours */
    int64_t t0_us;               /* monotonic start, for duration_us */
    int64_t tenant_id;           /* for the log line; 0 when not authenticated */

    char *upload;                /* owned request body so far */
    size_t upload_len, upload_cap;
    int too_large;               /* body over the limit: answer 413 */
    int dispatched;              /* dispatch() ran */

    /* The response waiting to be queued (set by gw_reply_* or the broker
     * callback), and the one sent. */
    char *out;                   /* owned JSON text */
    size_t out_len;
    int out_status;
    int status;                  /* status queued; 0 until then */

    int nhdr;                    /* extra response headers */
    struct { char name[32]; char value[128]; } hdr[GW_REQ_MAX_HEADERS];

    /* Forwarding: the broker thread and the HTTP thread meet here. */
    pthread_mutex_t mu;          /* guards suspended, replied, out* while forwarding */
    int suspended;               /* MHD_suspend_connection was called */
    int replied;                 /* the broker callback ran */
} gw_req_t;

/* Handles one complete request: returns 1 when it suspended the
 * connection (gw_forward), 0 when it answered (gw_reply_*). */
typedef int (*gw_dispatch_fn)(gw_req_t *r);

/* Settings every request uses; set once by main before the daemons start. */
typedef struct {
    gw_auth_t *auth;             /* borrowed */
    gw_ratelimit_t *rl;          /* borrowed */
    size_t max_body;             /* KAIVOX_MAX_BODY_BYTES */
    int request_timeout_ms;      /* KAIVOX_REQUEST_TIMEOUT_MS */
} gw_http_cfg_t;

void gw_http_configure(const gw_http_cfg_t *cfg);
const gw_http_cfg_t *gw_http_cfg(void);

/* Sets the broker requests go to; NULL closes the gate (waits for every
 * submit in progress), after which forwards answer 503 at once.  Call
 * with NULL before gw_broker_destroy. */
void gw_http_set_broker(gw_broker_t *b);
/* Live workers of service (0 when the gate is closed). */
int gw_http_workers(const char *service);

typedef struct gw_server gw_server_t;

typedef struct {
    const char *name;            /* "http" or "admin", for logs */
    const char *addr;            /* numeric IPv4 or IPv6 address */
    int port;
    int threads;                 /* MHD thread pool size (1: one thread) */
    unsigned max_connections;
    unsigned timeout_s;          /* idle connection timeout */
    gw_dispatch_fn dispatch;
} gw_server_cfg_t;

/* Starts a daemon; NULL on failure (logged).  Caller owns the result. */
gw_server_t *gw_server_start(const gw_server_cfg_t *cfg);
/* Stops the daemon and frees it.  Every forwarded request must have been
 * answered first (close the broker gate and destroy the broker). */
void gw_server_stop(gw_server_t **ps);

/* The public API's dispatch (routes, auth, rate limit, forwarding). */
int gw_http_public_dispatch(gw_req_t *r);

/* ---- for dispatch functions ---------------------------------------- */

/* A request header's value or NULL. */
const char *gw_req_header(gw_req_t *r, const char *name);
/* Adds a response header (copied; silently dropped past the limit). */
void gw_req_add_header(gw_req_t *r, const char *name, const char *value);

/* Answers status with body (stolen).  Returns 0 (for `return gw_reply...`
 * in dispatch functions). */
int gw_reply_json(gw_req_t *r, int status, json_t *body);
/* Answers the error envelope {"success":false,"message":msg}.  Returns 0. */
int gw_reply_error(gw_req_t *r, int status, const char *msg);

/* Parses the body of a POST/PATCH/PUT: *out = the JSON value, or JSON null
 * when the body is empty (new reference).  Returns 0, or -1 after
 * answering 400 "Malformed JSON body.". */
int gw_req_body_json(gw_req_t *r, json_t **out);

/* Sends a request to service over the broker with header h (its id is
 * set to r->rid here) and bus body (borrowed).  Returns 1 when the
 * connection was suspended (the caller must not touch r again), 0 when the
 * answer is already there (broker closed, or it answered at once). */
int gw_forward(gw_req_t *r, const char *service, kv_hdr_t *h, json_t *bus_body);

#endif
