/*
 * kv_metrics.h -- Prometheus metrics: counters, gauges and histograms with
 * bounded label sets, and their text exposition (format 0.0.4).
 *
 * A metric family is made once at start-up (kv_metric_new and the three
 * shorthands) and lives for the process.  A series (one combination of
 * label values) is found or made by kv_metric_series(): the first time
 * under the family's lock, after that lock-free (a probe of an
 * open-addressed table of atomic pointers and a compare of the values).
 * Updating a series is one relaxed atomic add: no lock, no malloc, no
 * formatting on the hot path.  Formatting happens only at scrape time.
 *
 * Cardinality is bounded by the caller: label values are route templates,
 * operation names, status codes, outcomes, service names -- never ids,
 * keys or personal data.  A family refuses series past its capacity
 * (KV_METRIC_SERIES_MAX; the update is dropped, one warning logged).
 *
 * Histograms count microseconds in integers (bounds are given in seconds
 * and exposed in seconds); the sum is exposed in seconds.
 */
#ifndef KV_METRICS_H
#define KV_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define KV_METRIC_LABELS_MAX   4     /* labels of one family */
#define KV_METRIC_BUCKETS_MAX  16    /* finite bounds of one histogram */
#define KV_METRIC_SERIES_MAX   1024  /* series of one family */
#define KV_METRIC_FAMILIES_MAX 96    /* families of one process */

typedef enum { KV_METRIC_COUNTER = 0, KV_METRIC_GAUGE, KV_METRIC_HISTOGRAM } kv_metric_kind_t;

typedef struct kv_metric kv_metric_t;
typedef struct kv_series kv_series_t;

/* Default latency buckets (seconds): 1 ms .. 10 s. */
extern const double kv_metric_latency_buckets[];
extern const int kv_metric_latency_nbuckets;

/* Registers a family.  name: [a-zA-Z_:][a-zA-Z0-9_:]*; labels: NULL or a
 * comma-separated list of label names ("route,method,status"), at most
 * KV_METRIC_LABELS_MAX; bounds (histograms only): nbounds increasing
 * finite values in seconds.  Registering a name twice returns the first
 * family (its kind and labels must match).  Returns NULL (logged) when the
 * name, labels or bounds are invalid or the registry is full.  The family
 * lives until kv_metrics_reset(); thread-safe. */
kv_metric_t *kv_metric_new(kv_metric_kind_t kind, const char *name, const char *help,
                           const char *labels, const double *bounds, int nbounds);
kv_metric_t *kv_counter_new(const char *name, const char *help, const char *labels);
kv_metric_t *kv_gauge_new(const char *name, const char *help, const char *labels);
kv_metric_t *kv_histogram_new(const char *name, const char *help, const char *labels,
                              const double *bounds, int nbounds);

/* The series of m for values (as many as m has labels; NULL entries are
 * ""), made on first use.  NULL when m is NULL or full.  The pointer stays
 * valid as long as the family: callers may keep it. */
kv_series_t *kv_metric_series(kv_metric_t *m, const char *const *values);

/* Updates (each a no-op on NULL).  add: counters and gauges; set: gauges;
 * observe_us: histograms, a duration in microseconds (negative counts as
 * 0). */
void kv_series_add(kv_series_t *s, int64_t n);
void kv_series_set(kv_series_t *s, int64_t v);
/* Gauges: raises the value to v when v is larger (a high-water mark that
 * several threads may move). */
void kv_series_max(kv_series_t *s, int64_t v);
void kv_series_observe_us(kv_series_t *s, int64_t us);

/* One-call forms: find the series of values, then update it. */
#define KV_LABELS(...) ((const char *const[]){ __VA_ARGS__ })
void kv_metric_inc(kv_metric_t *m, const char *const *values);
void kv_metric_set(kv_metric_t *m, const char *const *values, int64_t v);
void kv_metric_observe_us(kv_metric_t *m, const char *const *values, int64_t us);

/* Reads back (tests, and gauges that other code wants to read): a
 * counter's or gauge's value, a histogram's count. */
int64_t kv_series_value(const kv_series_t *s);

/* Runs fn(arg) at the start of every kv_metrics_render(), under the
 * render lock (one scrape at a time): where gauges computed from the
 * process's state (or its database) are refreshed.  At most 16. */
void kv_metrics_on_scrape(void (*fn)(void *arg), void *arg);

/* The exposition of every family with at least one series, in
 * registration order.  Caller owns the result (free()); *len gets its
 * length when len is not NULL. */
char *kv_metrics_render(size_t *len);

/* Escapes a label value into out[cap] (\\, \", \n), truncated to fit;
 * returns the length written.  For tests. */
size_t kv_metrics_escape_value(const char *v, char *out, size_t cap);

/* Forgets every family and callback.  Tests only: no other thread may use
 * the registry. */
void kv_metrics_reset(void);

/* ---- the metrics listener of a service -------------------------------- */

typedef struct kv_metrics_http kv_metrics_http_t;

/* Serves GET /metrics (and HEAD) on addr ("host:port", numeric IPv4 or
 * "[v6]:port") from one libmicrohttpd thread of its own; every other path
 * is 404, every other method 405.  NULL or "" addr: returns NULL without
 * starting (metrics off).  NULL also when the address is invalid or the
 * port cannot be bound (logged): *failed is then set to 1.  Caller owns
 * the result. */
kv_metrics_http_t *kv_metrics_http_start(const char *addr, int *failed);
void kv_metrics_http_stop(kv_metrics_http_t **ph);

/* Splits "host:port" / "[v6]:port" into host[cap] and *port.  0 / -1. */
int kv_metrics_parse_addr(const char *addr, char *host, size_t cap, int *port);

#endif
