/*
 * hook.h -- the webhooks service's internal interfaces: its settings, its
 * statement table, the API handlers, the event intake and the deliverer.
 *
 * Process layout: kv_service runs the API workers (endpoints.c,
 * deliveries.c); the service's background function (main.c) starts the
 * intake thread (intake.c: SUB socket + events.since catch-up -> events and
 * deliveries rows) and the janitor thread (janitor.c: retention), and runs
 * the deliverer (deliver.c: claims due deliveries and POSTs them with
 * libcurl's multi interface).  Each thread has its own database
 * connection.  Host names are resolved by the resolver thread (resolve.c),
 * which API workers and the deliverer share; besides that, the threads
 * share only the deliverer's wake-up.
 */
#ifndef HOOK_H
#define HOOK_H

#include <stdint.h>

#include "kv_service.h"
#include "ssrf.h"

/* ---- settings (config.c) --------------------------------------------- */

#define HOOK_RETRY_MAX 16

typedef struct {
    int retry_s[HOOK_RETRY_MAX]; /* KAIVOX_WEBHOOK_RETRY_SCHEDULE: waits before
                                    attempts 2, 3, ... (default 60,300,1800) */
    int nretry;                  /* attempts in all = nretry + 1 */
    int timeout_ms;              /* KAIVOX_WEBHOOK_TIMEOUT_MS, default 10000 */
    hook_allow_t allow;          /* KAIVOX_WEBHOOK_ALLOW_PRIVATE */
    int poll_ms;                 /* KAIVOX_WEBHOOK_POLL_MS: due-work poll, 250 */
    int max_inflight;            /* KAIVOX_WEBHOOK_CONCURRENCY: deliveries
                                    claimed at once per instance (in flight or
                                    waiting for a slot of their receiver),
                                    default 256 */
    int endpoint_max;            /* KAIVOX_WEBHOOK_ENDPOINT_CONCURRENCY: of
                                    those, at most this many of one endpoint,
                                    default 16 */
    int tenant_max;              /* KAIVOX_WEBHOOK_TENANT_CONCURRENCY: of
                                    those, at most this many of one tenant,
                                    default 64 */
    int catchup_ms;              /* KAIVOX_WEBHOOK_CATCHUP_MS: periodic
                                    events.since, default 5000 */
    int max_endpoints;           /* KAIVOX_WEBHOOK_MAX_ENDPOINTS: endpoints
                                    per tenant, default 20 */
    int secret_overlap_s;        /* KAIVOX_WEBHOOK_SECRET_OVERLAP_S: how long
                                    a rotated-out secret still signs,
                                    default 86400 */
    int dns_timeout_ms;          /* KAIVOX_WEBHOOK_DNS_TIMEOUT_MS: deadline of
                                    one host name lookup, default 2000 */
    const char *dns_servers;     /* KAIVOX_WEBHOOK_DNS_SERVERS: "ip[:port],..."
                                    or NULL for the system's resolv.conf */
    int dns_api_max;             /* lookups API workers may wait on at once:
                                    KAIVOX_WORKERS - 1 (at least 1), so one
                                    worker always serves requests that need
                                    none */
    int retention_days;          /* KAIVOX_RETENTION_DAYS, default 30 */
    int prune_s;                 /* KAIVOX_RETENTION_PRUNE_S: how often the
                                    janitor prunes, default 60 */
} hook_config_t;

/* Filled by hook_config_load() in main() before any thread starts; read-only
 * afterwards. */
extern hook_config_t hook_config;

/* Reads every KAIVOX_WEBHOOK_* setting; a bad value exits(2). */
void hook_config_load(void);

/* Pure.  Parses "60,300,1800" (1..HOOK_RETRY_MAX whole numbers of seconds,
 * each 0..604800) into out; returns the count, or -1 when malformed.  The
 * empty string means no retries (returns 0). */
int hook_parse_schedule(const char *s, int out[HOOK_RETRY_MAX]);

/* The five event types, in their canonical order. */
#define HOOK_EVENT_TYPES 5
/* Pure.  Index 0..4 of type among them, or -1 when it is not one. */
int hook_event_index(const char *type);
/* Pure.  The name of type index k (0..4). */
const char *hook_event_name(int k);

/* ---- SQL (db.c) ------------------------------------------------------ */

extern const kv_stmt_t hook_stmts[];

/* Parses a row's JSON text built by PostgreSQL (json_build_object).  New
 * reference, or NULL (logged with rid) when text is NULL or not JSON. */
json_t *hook_row_json(const char *rid, const char *text);

/* Answers 200 with the list of the objects in column 0 of rows (each
 * through hook_row_json; a row that does not parse is left out; rows NULL:
 * an empty list) and the list meta of page, per_page, total. */
void hook_reply_page(kv_rep_t *rep, const char *rid, const PGresult *rows,
                     int page, int per_page, long long total);

/* ---- API handlers (endpoints.c, deliveries.c) ------------------------- */

void hook_op_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void hook_op_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void hook_op_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void hook_op_update(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void hook_op_delete(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void hook_op_deliveries(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void hook_op_redeliver(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void hook_op_rotate_secret(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);

/* The attempts a delivery of the log shows (the latest), beside
 * attempts_total. */
#define HOOK_ATTEMPTS_SHOWN 10

/* Adds to the list meta of rep how far back the delivery log goes:
 * retention_days, and oldest_available, the instant before which finished
 * deliveries and attempts are no longer kept (RFC 3339 UTC). */
void hook_meta_retention(kv_rep_t *rep);

/* console_ops.c: a test event for an endpoint; the tenant's delivery log */
void hook_op_test(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void hook_op_log(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);

/* ---- deliverer (deliver.c) ------------------------------------------- */

typedef struct hook_deliverer hook_deliverer_t;

/* A deliverer with its own database connection and curl multi handle.
 * Caller owns the result. */
hook_deliverer_t *hook_deliverer_new(void);
/* Claims and delivers until kv_service_stopping(); then lets in-flight
 * transfers finish for a moment and hands back the claims of the rest. */
void hook_deliverer_run(hook_deliverer_t *d);
/* Thread-safe: new deliveries may be due, look now rather than at the next
 * poll. */
void hook_deliverer_wake(hook_deliverer_t *d);
void hook_deliverer_destroy(hook_deliverer_t **pd);

/* ---- intake (intake.c) ----------------------------------------------- */

/* Takes events in until kv_service_stopping(): SUB to
 * KAIVOX_EVENTS_OUT_ENDPOINT plus events.since catch-up; wakes d (may be
 * NULL) when it stored new deliveries. */
void hook_intake_run(hook_deliverer_t *d);

/* ---- retention (janitor.c) ------------------------------------------- */

/* Prunes the delivery log every prune_s until kv_service_stopping(): its
 * own thread, its own connection. */
void hook_janitor_run(void);

#endif
