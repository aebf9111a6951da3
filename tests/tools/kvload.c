/*
 * kvload.c -- the steady mixed load and the webhook receiver of
 * scripts/compose-check.sh (a whole deployment behind its load balancer).
 *
 *   kvload --url BASE --key KEY --customer ID --service ID --staff ID
 *          --rate N --seconds S --listen PORT --events FILE --stats FILE
 *          [--threads T]
 *
 * For S seconds, T threads (8) send N requests a second in all, a mix of
 * reads and writes over every tier: services, staff, a customer's profile
 * (crm asks scheduling), customer lists, appointments lists, webhooks;
 * bookings (scheduling asks crm; an event), cancellations (an event), calls
 * logged (calls asks crm; an event), customers created and updated.  Then
 * (or at SIGUSR1, whichever comes first) it keeps receiving webhooks until
 * SIGTERM/SIGINT, writes the id of every
 * distinct event it received to FILE (one a line) and prints one JSON line:
 *   {"requests","failed","retried","reconciled","received","distinct",
 *    "first_failure","latency_ms":{"p50","p99","max"}}
 * While it runs, FILE.stats (--stats) holds the same counters, rewritten
 * every second.
 *
 * A request is sent again (at most 6 times, 0.25 s apart, within 20 s)
 * when its answer never came (the connection died: a gateway was killed
 * under it) or was 502, 503 or 504; writes carry an Idempotency-Key, the
 * same on every attempt.  A request fails only when its final answer is an
 * error.  A retried write whose first attempt may have been applied is
 * reconciled by its natural key: a booking answered 409 (its slot, which
 * no other thread books, is taken: by its own first attempt), a customer
 * answered 422 for its phone (unique to it) -- both counted as
 * "reconciled", not failed; a call carries an external_id, which the API
 * makes idempotent.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>

#include "kv_env.h"

#define S_THREADS_MAX  64
#define S_ATTEMPTS     6
#define S_RETRY_MS     250
#define S_RETRY_FOR_MS 20000
#define S_SLOTS_A_DAY  90             /* 00:00 .. 22:15, 15 minutes each */
#define S_LAT_MAX      (1 << 20)

static struct {
    const char *url, *key, *events_file, *stats_file;
    long long customer, service, staff;
    int rate, seconds, threads, listen_port;
} s_cfg;

static atomic_int s_stop_load, s_stop_all;
static atomic_long s_requests, s_failed, s_retried, s_reconciled;
static atomic_long s_slot;            /* the next booking slot, over all threads */
static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static char s_first_failure[512];
static int *s_lat;                    /* milliseconds of every request, for percentiles */
static long s_nlat;

/* ---- the receiver ---------------------------------------------------------- */

static pthread_mutex_t s_ev_mu = PTHREAD_MUTEX_INITIALIZER;
static char **s_ev;                   /* open addressing set of event ids */
static size_t s_ev_cap = 1 << 16, s_ev_n;
static atomic_long s_received;

static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void s_ev_add(const char *id)
{
    pthread_mutex_lock(&s_ev_mu);
    if (s_ev_n * 2 >= s_ev_cap) {
        size_t cap = s_ev_cap * 2;
        char **n = calloc(cap, sizeof *n);
        for (size_t i = 0; i < s_ev_cap; i++) {
            if (!s_ev[i])
                continue;
            size_t k = s_hash(s_ev[i]) & (cap - 1);
            while (n[k])
                k = (k + 1) & (cap - 1);
            n[k] = s_ev[i];
        }
        free(s_ev);
        s_ev = n;
        s_ev_cap = cap;
    }
    size_t k = s_hash(id) & (s_ev_cap - 1);
    while (s_ev[k] && strcmp(s_ev[k], id) != 0)
        k = (k + 1) & (s_ev_cap - 1);
    if (!s_ev[k]) {
        s_ev[k] = strdup(id);
        s_ev_n++;
    }
    pthread_mutex_unlock(&s_ev_mu);
}

typedef struct {
    char *buf;
    size_t len;
} s_upload_t;

static enum MHD_Result s_hook(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)version;
    s_upload_t *up = *con_cls;
    if (!up) {
        *con_cls = calloc(1, sizeof *up);
        return MHD_YES;
    }
    if (*size) {
        if (up->len + *size > 4 * 1024 * 1024)
            return MHD_NO;
        up->buf = realloc(up->buf, up->len + *size + 1);
        memcpy(up->buf + up->len, data, *size);
        up->len += *size;
        up->buf[up->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    int status = 404;
    if (strcmp(method, "POST") == 0) {
        json_t *o = up->buf ? json_loadb(up->buf, up->len, 0, NULL) : NULL;
        const char *id = json_string_value(json_object_get(o, "id"));
        if (id) {
            s_ev_add(id);
            atomic_fetch_add(&s_received, 1);
            status = 200;
        } else {
            status = 400;
        }
        json_decref(o);
    }
    static const char body[] = "{\"ok\":true}";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
                                                             MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static void s_hook_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_upload_t *up = *con_cls;
    if (up) {
        free(up->buf);
        free(up);
    }
    *con_cls = NULL;
}

/* ---- requests -------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
} s_buf_t;

static size_t s_collect(char *p, size_t size, size_t n, void *arg)
{
    s_buf_t *b = arg;
    size_t add = size * n;
    b->data = realloc(b->data, b->len + add + 1);
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* One HTTP exchange: its status (0: no answer) and body in *out. */
static long s_exchange(CURL *c, const char *method, const char *path, const char *body,
                       const char *idem, s_buf_t *out)
{
    char url[1024], auth[256], ik[128];
    snprintf(url, sizeof url, "%s%s", s_cfg.url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", s_cfg.key);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (idem) {
        snprintf(ik, sizeof ik, "Idempotency-Key: %s", idem);
        h = curl_slist_append(h, ik);
    }
    free(out->data);
    out->data = NULL;
    out->len = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, body ? (long)strlen(body) : 0L);
    if (!body && strcmp(method, "GET") == 0)
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
}

/* What a kind of request needs to tell a reconciled retry from a failure. */
typedef enum { S_PLAIN, S_BOOKING, S_CUSTOMER } s_kind_t;

/* Sends one request with retries; records the outcome.  Returns the final
 * status and leaves the body in *out. */
static long s_request(CURL *c, const char *method, const char *path, const char *body,
                      const char *idem, s_kind_t kind, s_buf_t *out)
{
    long t0 = kv_mono_ms(), st = 0;
    int attempt = 0;
    for (;;) {
        st = s_exchange(c, method, path, body, idem, out);
        attempt++;
        int again = st == 0 || st == 502 || st == 503 || st == 504;
        if (!again || attempt >= S_ATTEMPTS || kv_mono_ms() - t0 > S_RETRY_FOR_MS)
            break;
        if (attempt == 1)
            atomic_fetch_add(&s_retried, 1);
        kv_sleep_ms(S_RETRY_MS);
    }
    atomic_fetch_add(&s_requests, 1);
    int ok = st >= 200 && st < 300;
    if (!ok && attempt > 1 && ((kind == S_BOOKING && st == 409) ||
                               (kind == S_CUSTOMER && st == 422 && out->data &&
                                strstr(out->data, "already been taken")))) {
        ok = 1;                           /* the first attempt was applied */
        atomic_fetch_add(&s_reconciled, 1);
    }
    if (!ok && atomic_fetch_add(&s_failed, 1) == 0) {
        pthread_mutex_lock(&s_mu);
        snprintf(s_first_failure, sizeof s_first_failure, "%s %s -> %ld after %d attempt(s): %.200s",
                 method, path, st, attempt, out->data ? out->data : "(no answer)");
        pthread_mutex_unlock(&s_mu);
    }
    pthread_mutex_lock(&s_mu);
    if (s_nlat < S_LAT_MAX)
        s_lat[s_nlat++] = (int)(kv_mono_ms() - t0);
    pthread_mutex_unlock(&s_mu);
    return ok ? (st ? st : 200) : st;
}

static long long s_json_id(const s_buf_t *b)
{
    json_t *o = b->data ? json_loads(b->data, 0, NULL) : NULL;
    json_t *id = json_object_get(json_object_get(o, "data"), "id");
    long long v = json_is_integer(id) ? (long long)json_integer_value(id) : 0;
    json_decref(o);
    return v;
}

typedef struct {
    int index;
    long long bookings[4096];         /* booked, not yet cancelled */
    int nbookings;
} s_thread_t;

static void s_one(CURL *c, s_thread_t *t, long i)
{
    char path[256], body[512], idem[96];
    s_buf_t out = { 0 };
    long u = (long)t->index * 1000000L + i;
    snprintf(idem, sizeof idem, "kvload-%d-%ld-%ld", (int)getpid(), (long)t->index, i);
    switch (i % 10) {
    case 0:
        s_request(c, "GET", "/api/v1/services", NULL, NULL, S_PLAIN, &out);
        break;
    case 1:
        snprintf(path, sizeof path, "/api/v1/customers/%lld", s_cfg.customer);
        s_request(c, "GET", path, NULL, NULL, S_PLAIN, &out);
        break;
    case 2: {
        long k = atomic_fetch_add(&s_slot, 1);
        time_t day = time(NULL) + (time_t)(2 + k / S_SLOTS_A_DAY) * 86400;
        struct tm tm;
        gmtime_r(&day, &tm);
        int m = (int)(k % S_SLOTS_A_DAY) * 15;
        snprintf(body, sizeof body,
                 "{\"customer_id\":%lld,\"service_id\":%lld,\"staff_id\":%lld,"
                 "\"appointment_date\":\"%04d-%02d-%02d\",\"appointment_time\":\"%02d:%02d\","
                 "\"source\":\"load\"}", s_cfg.customer, s_cfg.service, s_cfg.staff,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, m / 60, m % 60);
        long st = s_request(c, "POST", "/api/v1/appointments", body, idem, S_BOOKING, &out);
        long long id = st == 201 ? s_json_id(&out) : 0;
        if (id > 0 && t->nbookings < 4096)
            t->bookings[t->nbookings++] = id;
        break;
    }
    case 3:
        s_request(c, "GET", "/api/v1/staff", NULL, NULL, S_PLAIN, &out);
        break;
    case 4:
        snprintf(body, sizeof body,
                 "{\"external_id\":\"kvload-%d-%ld\",\"caller_phone\":\"+1%010ld\","
                 "\"started_at\":\"2026-03-10T10:00:00Z\",\"duration_seconds\":%ld}",
                 (int)getpid(), u, 5550000000L + u % 1000000000L, u % 2 ? 0L : 60L);
        s_request(c, "POST", "/api/v1/calls", body, idem, S_PLAIN, &out);
        break;
    case 5:
        snprintf(path, sizeof path, "/api/v1/customers/%lld", s_cfg.customer);
        snprintf(body, sizeof body, "{\"notes\":\"load thread %d\"}", t->index);
        s_request(c, "PATCH", path, body, idem, S_PLAIN, &out);
        break;
    case 6:
        if (t->nbookings > 0) {
            snprintf(path, sizeof path, "/api/v1/appointments/%lld", t->bookings[--t->nbookings]);
            s_request(c, "DELETE", path, NULL, idem, S_PLAIN, &out);
        } else {
            s_request(c, "GET", "/api/v1/appointments?per_page=5", NULL, NULL, S_PLAIN, &out);
        }
        break;
    case 7:
        s_request(c, "GET", "/api/v1/webhooks", NULL, NULL, S_PLAIN, &out);
        break;
    case 8:
        /* unique to this request: (pid, thread, i) */
        snprintf(body, sizeof body, "{\"name\":\"Load %ld\",\"phone\":\"+1%010ld\"}", u,
                 2000000000L + ((long)getpid() % 1000) * 5000000L + (long)t->index * 500000L +
                 i % 500000L);
        s_request(c, "POST", "/api/v1/customers", body, idem, S_CUSTOMER, &out);
        break;
    default:
        s_request(c, "GET", "/api/v1/customers?per_page=5", NULL, NULL, S_PLAIN, &out);
        break;
    }
    free(out.data);
}

static void *s_thread(void *arg)
{
    s_thread_t *t = arg;
    CURL *c = curl_easy_init();
    long ivl = 1000L * s_cfg.threads / s_cfg.rate;
    long next = kv_mono_ms() + t->index * ivl / s_cfg.threads;
    for (long i = t->index; !atomic_load(&s_stop_load); i++) {
        long now = kv_mono_ms();
        if (next > now)
            kv_sleep_ms(next - now);
        next += ivl;
        if (next < kv_mono_ms() - 1000)
            next = kv_mono_ms();            /* fell behind (slow answers): no burst */
        s_one(c, t, i);
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* ---- reporting ------------------------------------------------------------- */

static int s_cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static char *s_summary(void)
{
    pthread_mutex_lock(&s_mu);
    int *lat = malloc((size_t)(s_nlat ? s_nlat : 1) * sizeof *lat);
    memcpy(lat, s_lat, (size_t)s_nlat * sizeof *lat);
    long n = s_nlat;
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:s}",
        "requests", (json_int_t)atomic_load(&s_requests), "failed", (json_int_t)atomic_load(&s_failed),
        "retried", (json_int_t)atomic_load(&s_retried),
        "reconciled", (json_int_t)atomic_load(&s_reconciled),
        "received", (json_int_t)atomic_load(&s_received), "distinct", (json_int_t)s_ev_n,
        "first_failure", s_first_failure);
    pthread_mutex_unlock(&s_mu);
    qsort(lat, (size_t)n, sizeof *lat, s_cmp_int);
    json_object_set_new(o, "latency_ms", json_pack("{s:i,s:i,s:i}",
        "p50", n ? lat[n / 2] : 0, "p99", n ? lat[n * 99 / 100] : 0, "max", n ? lat[n - 1] : 0));
    free(lat);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static void s_write_stats(void)
{
    if (!s_cfg.stats_file)
        return;
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", s_cfg.stats_file);
    char *text = s_summary();
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f, "%s\n", text);
        if (fclose(f) == 0)
            rename(tmp, s_cfg.stats_file);
    }
    free(text);
}

static void s_on_signal(int sig)
{
    if (sig != SIGUSR1)
        atomic_store(&s_stop_all, 1);
    atomic_store(&s_stop_load, 1);
}

static int s_usage(void)
{
    fprintf(stderr, "usage: kvload --url BASE --key KEY --customer ID --service ID --staff ID "
                    "--rate N --seconds S --listen PORT --events FILE [--stats FILE] "
                    "[--threads T]\n");
    return 2;
}

int main(int argc, char **argv)
{
    s_cfg.threads = 8;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--url")) s_cfg.url = v;
        else if (!strcmp(k, "--key")) s_cfg.key = v;
        else if (!strcmp(k, "--customer")) s_cfg.customer = atoll(v);
        else if (!strcmp(k, "--service")) s_cfg.service = atoll(v);
        else if (!strcmp(k, "--staff")) s_cfg.staff = atoll(v);
        else if (!strcmp(k, "--rate")) s_cfg.rate = atoi(v);
        else if (!strcmp(k, "--seconds")) s_cfg.seconds = atoi(v);
        else if (!strcmp(k, "--listen")) s_cfg.listen_port = atoi(v);
        else if (!strcmp(k, "--events")) s_cfg.events_file = v;
        else if (!strcmp(k, "--stats")) s_cfg.stats_file = v;
        else if (!strcmp(k, "--threads")) s_cfg.threads = atoi(v);
        else return s_usage();
    }
    if (!s_cfg.url || !s_cfg.key || s_cfg.customer <= 0 || s_cfg.service <= 0 ||
        s_cfg.staff <= 0 || s_cfg.rate <= 0 || s_cfg.seconds <= 0 || s_cfg.listen_port <= 0 ||
        !s_cfg.events_file || s_cfg.threads < 1 || s_cfg.threads > S_THREADS_MAX)
        return s_usage();

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    s_ev = calloc(s_ev_cap, sizeof *s_ev);
    s_lat = calloc(S_LAT_MAX, sizeof *s_lat);

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
        (uint16_t)s_cfg.listen_port, NULL, NULL, s_hook, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, s_hook_done, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "kvload: cannot listen on port %d\n", s_cfg.listen_port);
        return 1;
    }

    s_thread_t *ts = calloc((size_t)s_cfg.threads, sizeof *ts);
    pthread_t th[S_THREADS_MAX];
    for (int i = 0; i < s_cfg.threads; i++) {
        ts[i].index = i;
        pthread_create(&th[i], NULL, s_thread, &ts[i]);
    }
    long until = kv_mono_ms() + s_cfg.seconds * 1000L;
    while (!atomic_load(&s_stop_load) && kv_mono_ms() < until) {
        kv_sleep_ms(1000);
        s_write_stats();
    }
    atomic_store(&s_stop_load, 1);
    for (int i = 0; i < s_cfg.threads; i++)
        pthread_join(th[i], NULL);
    /* the load is over: keep receiving until told to stop */
    while (!atomic_load(&s_stop_all)) {
        s_write_stats();
        kv_sleep_ms(500);
    }
    MHD_stop_daemon(d);
    s_write_stats();

    FILE *f = fopen(s_cfg.events_file, "w");
    for (size_t i = 0; f && i < s_ev_cap; i++)
        if (s_ev[i])
            fprintf(f, "%s\n", s_ev[i]);
    if (f)
        fclose(f);
    char *text = s_summary();
    printf("%s\n", text);
    free(text);
    for (size_t i = 0; i < s_ev_cap; i++)
        free(s_ev[i]);
    free(s_ev);
    free(s_lat);
    free(ts);
    curl_global_cleanup();
    return 0;
}
