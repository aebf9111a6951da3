/*
 * metrics.c -- the webhooks service's own metrics (kv_metrics.h), beside
 * the runtime's bus and database ones.
 *
 * Counted where they happen: deliveries by outcome and their latency (the
 * deliverer, deliver.c), the intake's cursor and the highest sequence it
 * saw per producer (intake.c).  Computed at scrape time, on the metrics
 * listener's thread with a database connection of its own (never on the
 * request path, never per request): deliveries pending and retrying, and
 * endpoints disabled by the service (410 Gone) or switched off.  Label
 * values are outcome names and producer names only: no tenant, endpoint or
 * URL ever becomes a label.
 */
#include "hook.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "kv_log.h"
#include "kv_metrics.h"

static kv_metric_t *s_deliveries;    /* kaivox_webhook_deliveries_total{outcome} */
static kv_metric_t *s_latency;       /* kaivox_webhook_delivery_duration_seconds */
static kv_metric_t *s_backlog;       /* kaivox_webhook_deliveries_backlog{state} */
static kv_metric_t *s_endpoints;     /* kaivox_webhook_endpoints{state} */
static kv_metric_t *s_seen;          /* kaivox_intake_seen_seq{producer} */
static kv_metric_t *s_cursor;        /* kaivox_intake_cursor_seq{producer} */
static kv_metric_t *s_lag;           /* kaivox_outbox_lag_events{producer} */
static kv_series_t *s_scrape_errors; /* kaivox_webhook_metrics_query_failures_total */
static kv_db_t *s_db;                /* the scrape's own connection (render lock held) */

/* Scrape time: the backlog and the endpoints' states from the database. */
static void s_scrape(void *arg)
{
    (void)arg;
    if (!s_db)
        s_db = kv_db_new("webhooks", hook_stmts);
    PGresult *r = kv_db_exec(s_db, NULL, "hook_metrics_backlog", 0, NULL);
    PGresult *e = r ? kv_db_exec(s_db, NULL, "hook_metrics_endpoints", 0, NULL) : NULL;
    if (!r || !e || PQntuples(r) != 1 || PQntuples(e) != 1) {
        kv_series_add(s_scrape_errors, 1);
    } else {
        kv_metric_set(s_backlog, KV_LABELS("pending"), kv_db_i64(r, 0, 0));
        kv_metric_set(s_backlog, KV_LABELS("retrying"), kv_db_i64(r, 0, 1));
        kv_metric_set(s_endpoints, KV_LABELS("active"), kv_db_i64(e, 0, 0));
        kv_metric_set(s_endpoints, KV_LABELS("inactive"), kv_db_i64(e, 0, 1));
        kv_metric_set(s_endpoints, KV_LABELS("disabled"), kv_db_i64(e, 0, 2));
    }
    PQclear(r);
    PQclear(e);
}

void hook_metrics_init(void)
{
    s_deliveries = kv_counter_new("kaivox_webhook_deliveries_total",
        "Webhook delivery attempts recorded, by outcome (succeeded; retrying: failed, "
        "another attempt is scheduled; failed: no attempt left; gone: 410, endpoint disabled).",
        "outcome");
    s_latency = kv_histogram_new("kaivox_webhook_delivery_duration_seconds",
        "Duration of a webhook delivery attempt, address lookup included.", NULL,
        kv_metric_latency_buckets, kv_metric_latency_nbuckets);
    s_backlog = kv_gauge_new("kaivox_webhook_deliveries_backlog",
        "Deliveries not finished, at scrape time: pending (no attempt yet) and retrying "
        "(an attempt failed, another is scheduled).", "state");
    s_endpoints = kv_gauge_new("kaivox_webhook_endpoints",
        "Webhook endpoints at scrape time: active, inactive (switched off), disabled "
        "(switched off by the service after a 410 Gone).", "state");
    s_seen = kv_gauge_new("kaivox_intake_seen_seq",
        "Highest event sequence this instance saw from each producer (events and catch-up).",
        "producer");
    s_cursor = kv_gauge_new("kaivox_intake_cursor_seq",
        "Sequence up to which every event of each producer is stored (intake_cursors).",
        "producer");
    s_lag = kv_gauge_new("kaivox_outbox_lag_events",
        "Events of each producer seen but not yet stored by the intake (outbox lag).",
        "producer");
    s_scrape_errors = kv_metric_series(kv_counter_new("kaivox_webhook_metrics_query_failures_total",
        "Scrapes whose backlog and endpoint counts could not be read from the database.", NULL),
        NULL);
    static const char *const outcomes[] = { "succeeded", "retrying", "failed", "gone", NULL };
    for (int i = 0; outcomes[i]; i++)
        kv_metric_series(s_deliveries, KV_LABELS(outcomes[i]));
    static const char *const producers[] = { KV_SVC_SCHEDULING, KV_SVC_CALLS, NULL };
    for (int i = 0; producers[i]; i++) {
        kv_metric_series(s_seen, KV_LABELS(producers[i]));
        kv_metric_series(s_cursor, KV_LABELS(producers[i]));
        kv_metric_series(s_lag, KV_LABELS(producers[i]));
    }
    kv_metrics_on_scrape(s_scrape, NULL);
}

void hook_metrics_delivery(const char *outcome, int ms)
{
    kv_metric_inc(s_deliveries, KV_LABELS(outcome));
    kv_metric_observe_us(s_latency, NULL, (int64_t)ms * 1000);
}

void hook_metrics_intake(const char *producer, int64_t seen, int64_t cursor)
{
    kv_series_t *sn = kv_metric_series(s_seen, KV_LABELS(producer));
    kv_series_t *cr = kv_metric_series(s_cursor, KV_LABELS(producer));
    if (seen > 0)
        kv_series_max(sn, seen);
    if (cursor > 0)
        kv_series_max(cr, cursor);
    int64_t lag = kv_series_value(sn) - kv_series_value(cr);
    kv_metric_set(s_lag, KV_LABELS(producer), lag > 0 ? lag : 0);
}
