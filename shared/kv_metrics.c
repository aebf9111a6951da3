/*
 * kv_metrics.c -- the metric registry and its Prometheus text exposition
 * (see kv_metrics.h).
 *
 * Families sit in a fixed array filled at start-up.  Each family keeps its
 * series twice: in an open-addressed table of atomic pointers (lookup
 * without a lock; insertion under the family's mutex, published with a
 * release store) and in an array in creation order (the exposition's
 * order, published by a release store of its count).  A series never
 * moves or goes away while its family lives, so callers may keep its
 * pointer.  Values are relaxed atomics: a scrape may see one counter a
 * request ahead of another, never a torn value.
 */
#include "kv_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_log.h"
#include "kv_mem.h"

#define S_SLOTS (KV_METRIC_SERIES_MAX * 2)   /* power of two, load <= 1/2 */

const double kv_metric_latency_buckets[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
const int kv_metric_latency_nbuckets =
    (int)(sizeof kv_metric_latency_buckets / sizeof kv_metric_latency_buckets[0]);

struct kv_series {
    const struct kv_metric *fam;            /* its family (kind, bounds) */
    uint64_t hash;                          /* of the label values */
    char *values[KV_METRIC_LABELS_MAX];     /* owned, one block with the series */
    _Atomic int64_t value;                  /* counter / gauge */
    _Atomic int64_t sum_us;                 /* histogram: sum of observations */
    _Atomic uint64_t buckets[KV_METRIC_BUCKETS_MAX + 1];  /* histogram: per bucket
                                               (not cumulative), last = +Inf */
};

struct kv_metric {
    kv_metric_kind_t kind;
    char name[128];
    char help[256];
    int nlabels;
    char labels[KV_METRIC_LABELS_MAX][48];
    int nbounds;
    double bounds[KV_METRIC_BUCKETS_MAX];   /* seconds, increasing */
    int64_t bounds_us[KV_METRIC_BUCKETS_MAX];
    pthread_mutex_t mu;                     /* guards insertion */
    _Atomic(kv_series_t *) slots[S_SLOTS];  /* hash table, lock-free reads */
    kv_series_t *order[KV_METRIC_SERIES_MAX];  /* creation order */
    atomic_int n;                           /* entries of order published */
    atomic_int warned;                      /* "full" logged once */
};

static pthread_mutex_t s_reg_mu = PTHREAD_MUTEX_INITIALIZER;   /* registration */
static kv_metric_t *s_fams[KV_METRIC_FAMILIES_MAX];
static atomic_int s_nfams;
static pthread_mutex_t s_render_mu = PTHREAD_MUTEX_INITIALIZER; /* one scrape at a time */
static struct { void (*fn)(void *); void *arg; } s_cbs[16];
static int s_ncbs;                                             /* under s_reg_mu */

/* ---- registration ------------------------------------------------------ */

static int s_name_ok(const char *s, int colon)
{
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colon && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

kv_metric_t *kv_metric_new(kv_metric_kind_t kind, const char *name, const char *help,
                           const char *labels, const double *bounds, int nbounds)
{
    kv_metric_t *m = NULL;
    if (!s_name_ok(name, 1) || strlen(name) >= sizeof m->name) {
        kv_error(NULL, "metrics: invalid metric name");
        return NULL;
    }
    pthread_mutex_lock(&s_reg_mu);
    int n = atomic_load(&s_nfams);
    for (int i = 0; i < n; i++) {
        if (strcmp(s_fams[i]->name, name) == 0) {
            m = s_fams[i]->kind == kind ? s_fams[i] : NULL;
            goto out;
        }
    }
    if (n >= KV_METRIC_FAMILIES_MAX) {
        kv_error(NULL, "metrics: more than %d families; %s not registered",
                 KV_METRIC_FAMILIES_MAX, name);
        goto out;
    }
    m = kv_calloc(1, sizeof *m);
    m->kind = kind;
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->help, sizeof m->help, "%s", help ? help : "");
    if (labels && *labels) {
        const char *p = labels;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (m->nlabels >= KV_METRIC_LABELS_MAX || len == 0 || len >= sizeof m->labels[0])
                goto bad;
            memcpy(m->labels[m->nlabels], p, len);
            m->labels[m->nlabels][len] = '\0';
            if (!s_name_ok(m->labels[m->nlabels], 0) ||
                strncmp(m->labels[m->nlabels], "__", 2) == 0 ||
                (kind == KV_METRIC_HISTOGRAM && strcmp(m->labels[m->nlabels], "le") == 0))
                goto bad;
            m->nlabels++;
            p += len + (e ? 1 : 0);
            if (e && !*p)
                goto bad;
        }
    }
    if (kind == KV_METRIC_HISTOGRAM) {
        if (!bounds || nbounds < 1 || nbounds > KV_METRIC_BUCKETS_MAX)
            goto bad;
        for (int i = 0; i < nbounds; i++) {
            if (!(bounds[i] > 0 && bounds[i] < 1e6) || (i > 0 && !(bounds[i] > bounds[i - 1])))
                goto bad;
            m->bounds[i] = bounds[i];
            m->bounds_us[i] = (int64_t)(bounds[i] * 1e6 + 0.5);
        }
        m->nbounds = nbounds;
    }
    pthread_mutex_init(&m->mu, NULL);
    s_fams[n] = m;
    atomic_store_explicit(&s_nfams, n + 1, memory_order_release);
    /* a family without labels has its one series from the start */
    if (m->nlabels == 0) {
        pthread_mutex_unlock(&s_reg_mu);
        kv_metric_series(m, NULL);
        return m;
    }
    goto out;
bad:
    kv_error(NULL, "metrics: invalid labels or buckets for %s", name);
    free(m);
    m = NULL;
out:
    pthread_mutex_unlock(&s_reg_mu);
    return m;
}

kv_metric_t *kv_counter_new(const char *name, const char *help, const char *labels)
{
    return kv_metric_new(KV_METRIC_COUNTER, name, help, labels, NULL, 0);
}

kv_metric_t *kv_gauge_new(const char *name, const char *help, const char *labels)
{
    return kv_metric_new(KV_METRIC_GAUGE, name, help, labels, NULL, 0);
}

kv_metric_t *kv_histogram_new(const char *name, const char *help, const char *labels,
                              const double *bounds, int nbounds)
{
    return kv_metric_new(KV_METRIC_HISTOGRAM, name, help, labels, bounds, nbounds);
}

/* ---- series ------------------------------------------------------------ */

static uint64_t s_hash(int n, const char *const *values)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)(values[i] ? values[i] : ""); *p; p++) {
            h ^= *p;
            h *= 1099511628211ULL;
        }
        h ^= 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

static int s_same(const kv_series_t *s, int n, uint64_t h, const char *const *values)
{
    if (s->hash != h)
        return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(s->values[i], values[i] ? values[i] : "") != 0)
            return 0;
    return 1;
}

/* Probes m's table for values; returns the series, or NULL with *slot the
 * first empty slot (-1 when the table is full). */
static kv_series_t *s_probe(kv_metric_t *m, uint64_t h, const char *const *values, int *slot)
{
    *slot = -1;
    for (int i = 0; i < S_SLOTS; i++) {
        int k = (int)((h + (uint64_t)i) & (S_SLOTS - 1));
        kv_series_t *s = atomic_load_explicit(&m->slots[k], memory_order_acquire);
        if (!s) {
            *slot = k;
            return NULL;
        }
        if (s_same(s, m->nlabels, h, values))
            return s;
    }
    return NULL;
}

kv_series_t *kv_metric_series(kv_metric_t *m, const char *const *values)
{
    if (!m)
        return NULL;
    static const char *const none[KV_METRIC_LABELS_MAX] = { 0 };
    if (!values)
        values = none;
    uint64_t h = s_hash(m->nlabels, values);
    int slot;
    kv_series_t *s = s_probe(m, h, values, &slot);
    if (s)
        return s;

    pthread_mutex_lock(&m->mu);
    s = s_probe(m, h, values, &slot);      /* another thread may have made it */
    int n = atomic_load_explicit(&m->n, memory_order_relaxed);
    if (s || slot < 0 || n >= KV_METRIC_SERIES_MAX)
        goto out;
    size_t total = 0;
    for (int i = 0; i < m->nlabels; i++)
        total += strlen(values[i] ? values[i] : "") + 1;
    s = kv_calloc(1, sizeof *s + total);
    char *p = (char *)(s + 1);
    for (int i = 0; i < m->nlabels; i++) {
        size_t len = strlen(values[i] ? values[i] : "");
        memcpy(p, values[i] ? values[i] : "", len + 1);
        s->values[i] = p;
        p += len + 1;
    }
    s->hash = h;
    s->fam = m;
    m->order[n] = s;
    atomic_store_explicit(&m->n, n + 1, memory_order_release);
    atomic_store_explicit(&m->slots[slot], s, memory_order_release);
out:
    pthread_mutex_unlock(&m->mu);
    if (!s && atomic_exchange(&m->warned, 1) == 0)
        kv_warn(NULL, "metrics: %s has %d series, its limit: new label values are not counted",
                m->name, KV_METRIC_SERIES_MAX);
    return s;
}

void kv_series_add(kv_series_t *s, int64_t n)
{
    if (s)
        atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void kv_series_set(kv_series_t *s, int64_t v)
{
    if (s)
        atomic_store_explicit(&s->value, v, memory_order_relaxed);
}

void kv_series_max(kv_series_t *s, int64_t v)
{
    if (!s)
        return;
    int64_t cur = atomic_load_explicit(&s->value, memory_order_relaxed);
    while (cur < v && !atomic_compare_exchange_weak_explicit(&s->value, &cur, v,
                                                             memory_order_relaxed,
                                                             memory_order_relaxed))
        ;
}

/* The bucket of us in m: the first bound >= us, nbounds for +Inf. */
static int s_bucket(const kv_metric_t *m, int64_t us)
{
    int lo = 0, hi = m->nbounds;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (us <= m->bounds_us[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void kv_series_observe_us(kv_series_t *s, int64_t us)
{
    if (!s || s->fam->kind != KV_METRIC_HISTOGRAM)
        return;
    if (us < 0)
        us = 0;
    atomic_fetch_add_explicit(&s->buckets[s_bucket(s->fam, us)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, us, memory_order_relaxed);
}

void kv_metric_inc(kv_metric_t *m, const char *const *values)
{
    kv_series_add(kv_metric_series(m, values), 1);
}

void kv_metric_set(kv_metric_t *m, const char *const *values, int64_t v)
{
    kv_series_set(kv_metric_series(m, values), v);
}

void kv_metric_observe_us(kv_metric_t *m, const char *const *values, int64_t us)
{
    kv_series_observe_us(kv_metric_series(m, values), us);
}

int64_t kv_series_value(const kv_series_t *s)
{
    if (!s)
        return 0;
    int64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
    for (int i = 0; i <= KV_METRIC_BUCKETS_MAX; i++)
        v += (int64_t)atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
    return v;
}

void kv_metrics_on_scrape(void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&s_reg_mu);
    if (s_ncbs < (int)(sizeof s_cbs / sizeof s_cbs[0])) {
        s_cbs[s_ncbs].fn = fn;
        s_cbs[s_ncbs].arg = arg;
        s_ncbs++;
    }
    pthread_mutex_unlock(&s_reg_mu);
}

/* ---- exposition -------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} s_buf_t;

static void s_grow(s_buf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->p = kv_realloc(b->p, cap);
    b->cap = cap;
}

static void s_cat(s_buf_t *b, const char *s, size_t n)
{
    s_grow(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void s_puts(s_buf_t *b, const char *s)
{
    s_cat(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void s_printf(s_buf_t *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        s_cat(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

size_t kv_metrics_escape_value(const char *v, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return 0;
    for (const char *p = v ? v : ""; *p; p++) {
        const char *rep = NULL;
        char one[2] = { *p, '\0' };
        if (*p == '\\')
            rep = "\\\\";
        else if (*p == '"')
            rep = "\\\"";
        else if (*p == '\n')
            rep = "\\n";
        else
            rep = one;
        size_t n = strlen(rep);
        if (o + n + 1 > cap)
            break;
        memcpy(out + o, rep, n);
        o += n;
    }
    out[o] = '\0';
    return o;
}

/* Appends {a="x",b="y"[,le="..."]} (nothing when there are no labels). */
static void s_labels(s_buf_t *b, const kv_metric_t *m, const kv_series_t *s, const char *le)
{
    if (m->nlabels == 0 && !le)
        return;
    s_puts(b, "{");
    char esc[1024];
    for (int i = 0; i < m->nlabels; i++) {
        if (i)
            s_puts(b, ",");
        s_puts(b, m->labels[i]);
        s_puts(b, "=\"");
        s_cat(b, esc, kv_metrics_escape_value(s->values[i], esc, sizeof esc));
        s_puts(b, "\"");
    }
    if (le) {
        if (m->nlabels)
            s_puts(b, ",");
        s_puts(b, "le=\"");
        s_puts(b, le);
        s_puts(b, "\"");
    }
    s_puts(b, "}");
}

static void s_help(s_buf_t *b, const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            s_puts(b, "\\\\");
        else if (*p == '\n')
            s_puts(b, "\\n");
        else
            s_cat(b, p, 1);
    }
}

static void s_render_family(s_buf_t *b, const kv_metric_t *m)
{
    static const char *const kinds[] = { "counter", "gauge", "histogram" };
    int n = atomic_load_explicit(&m->n, memory_order_acquire);
    if (n == 0)
        return;
    s_printf(b, "# HELP %s ", m->name);
    s_help(b, m->help);
    s_printf(b, "\n# TYPE %s %s\n", m->name, kinds[m->kind]);
    for (int i = 0; i < n; i++) {
        const kv_series_t *s = m->order[i];
        if (m->kind != KV_METRIC_HISTOGRAM) {
            s_puts(b, m->name);
            s_labels(b, m, s, NULL);
            s_printf(b, " %lld\n", (long long)atomic_load_explicit(&s->value, memory_order_relaxed));
            continue;
        }
        uint64_t cum = 0;
        char le[32];
        for (int k = 0; k <= m->nbounds; k++) {
            cum += atomic_load_explicit(&s->buckets[k], memory_order_relaxed);
            if (k < m->nbounds)
                snprintf(le, sizeof le, "%.6g", m->bounds[k]);
            else
                snprintf(le, sizeof le, "+Inf");
            s_printf(b, "%s_bucket", m->name);
            s_labels(b, m, s, le);
            s_printf(b, " %llu\n", (unsigned long long)cum);
        }
        int64_t sum = atomic_load_explicit(&s->sum_us, memory_order_relaxed);
        s_printf(b, "%s_sum", m->name);
        s_labels(b, m, s, NULL);
        s_printf(b, " %lld.%06lld\n", (long long)(sum / 1000000), (long long)(sum % 1000000));
        s_printf(b, "%s_count", m->name);
        s_labels(b, m, s, NULL);
        s_printf(b, " %llu\n", (unsigned long long)cum);
    }
}

char *kv_metrics_render(size_t *len)
{
    pthread_mutex_lock(&s_render_mu);
    pthread_mutex_lock(&s_reg_mu);
    int ncbs = s_ncbs;
    pthread_mutex_unlock(&s_reg_mu);
    for (int i = 0; i < ncbs; i++)
        s_cbs[i].fn(s_cbs[i].arg);
    s_buf_t b = { NULL, 0, 0 };
    s_grow(&b, 0);
    b.p[0] = '\0';
    int n = atomic_load_explicit(&s_nfams, memory_order_acquire);
    for (int i = 0; i < n; i++)
        s_render_family(&b, s_fams[i]);
    pthread_mutex_unlock(&s_render_mu);
    if (len)
        *len = b.len;
    return b.p;
}

void kv_metrics_reset(void)
{
    pthread_mutex_lock(&s_reg_mu);
    int n = atomic_load(&s_nfams);
    for (int i = 0; i < n; i++) {
        kv_metric_t *m = s_fams[i];
        int ns = atomic_load(&m->n);
        for (int k = 0; k < ns; k++)
            free(m->order[k]);
        pthread_mutex_destroy(&m->mu);
        free(m);
        s_fams[i] = NULL;
    }
    atomic_store(&s_nfams, 0);
    s_ncbs = 0;
    pthread_mutex_unlock(&s_reg_mu);
}
