/*
 * webhooks_e2e.h -- helpers shared by the webhook end-to-end tests
 * (tests/e2e/test_webhooks_*.c): a real receiver process
 * (tests/tools/webhook_receiver) started per test, endpoints, the files the
 * receiver writes, and two independent signature checks: `openssl dgst
 * -sha256 -hmac` over the saved body file, and the Standard Webhooks
 * reference algorithm written out here from the specification.
 * The receiver's files are removed when it stops (KVT_KEEP_RECEIVER=1
 * keeps them for a look).  Also: the webhook schema seen as the service
 * sees it (wh_sql_*, libpq as role kaivox_<service> on the test stack's
 * KAIVOX_DATABASE_URL, to backdate rows or build a worst case), a service
 * restarted with extra settings (wh_restart), a "black hole" receiver
 * that accepts connections and never answers (wh_hole_*), and a DNS
 * server the test controls (wh_dns_*): names answered with an IPv4
 * address, NXDOMAIN, or never answered.  Header-only (static functions) so
 * each test stays one binary.
 */
#ifndef WEBHOOKS_E2E_H
#define WEBHOOKS_E2E_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sched_e2e.h"

/* ---- the receiver process -------------------------------------------- */

typedef struct {
    pid_t pid;
    int port;
    char dir[256];           /* where it writes the requests */
} wh_receiver_t;

/* The receivers started by this test, stopped at exit if still running. */
#define WH_RECEIVERS_MAX 4
static wh_receiver_t *wh_current[WH_RECEIVERS_MAX];

static inline void wh_receiver_stop(wh_receiver_t *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
        /* The saved requests go with it, unless asked to keep them. */
        if (!getenv("KVT_KEEP_RECEIVER") && strncmp(r->dir, "/tmp/kvt-webhooks-", 18) == 0) {
            char cmd[320];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
            int rc = system(cmd);
            (void)rc;
        }
    }
}

static inline void wh_atexit(void)
{
    for (int i = 0; i < WH_RECEIVERS_MAX; i++)
        if (wh_current[i])
            wh_receiver_stop(wh_current[i]);
}

/* Starts a receiver on a kernel-chosen loopback port; hang_ms is how long
 * /hang/ paths wait.  Up to WH_RECEIVERS_MAX per test (each its own
 * host:port, i.e. its own receiver for the deliverer).  Exits the test with
 * a FAIL line when it cannot. */
static inline void wh_receiver_start(wh_receiver_t *r, int hang_ms)
{
    char bin[512], port_file[300], hang[16];
    snprintf(bin, sizeof bin, "%s/tests/tools/webhook_receiver",
             kvt_env("KVT_BUILD", "build/release"));
    snprintf(r->dir, sizeof r->dir, "/tmp/kvt-webhooks-XXXXXX");
    if (!mkdtemp(r->dir)) {
        printf("FAIL receiver_setup: mkdtemp\n");
        exit(1);
    }
    snprintf(port_file, sizeof port_file, "%s/port", r->dir);
    snprintf(hang, sizeof hang, "%d", hang_ms);
    r->pid = fork();
    if (r->pid == 0) {
        execl(bin, bin, "--dir", r->dir, "--port-file", port_file, "--hang-ms", hang,
              "--max-seconds", "600", "--quiet", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && r->port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &r->port) != 1)
                r->port = 0;
            fclose(f);
        }
        if (!r->port)
            kvt_sleep_ms(50);
    }
    if (!r->port) {
        printf("FAIL receiver_setup: %s did not start\n", bin);
        exit(1);
    }
    int slot = 0;
    while (slot < WH_RECEIVERS_MAX && wh_current[slot] && wh_current[slot] != r)
        slot++;
    if (slot == WH_RECEIVERS_MAX) {
        printf("FAIL receiver_setup: more than %d receivers\n", WH_RECEIVERS_MAX);
        exit(1);
    }
    if (slot == 0 && !wh_current[0])
        atexit(wh_atexit);
    wh_current[slot] = r;
}

/* The URL of path (e.g. "/ok/a") on receiver r. */
static inline void wh_url(const wh_receiver_t *r, const char *path, char *buf, size_t size)
{
    snprintf(buf, size, "http://127.0.0.1:%d%s", r->port, path);
}

/* The directory the receiver writes path's requests to. */
static inline void wh_path_dir(const wh_receiver_t *r, const char *path, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "%s/", r->dir);
    for (const char *p = path + 1; *p && n + 1 < size; p++)
        buf[n++] = (*p == '/' || *p == '.') ? '_' : *p;
    buf[n] = '\0';
}

/* Number of complete requests received on path. */
static inline int wh_count(const wh_receiver_t *r, const char *path)
{
    char dir[512];
    wh_path_dir(r, path, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] != '.' && l > 8 && strcmp(e->d_name + l - 8, ".headers") == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Polls until path has at least n requests or timeout_ms passed; returns
 * the count. */
static inline int wh_wait_count(const wh_receiver_t *r, const char *path, int n, int timeout_ms)
{
    int c = 0;
    for (int waited = 0; (c = wh_count(r, path)) < n && waited < timeout_ms; waited += 100)
        kvt_sleep_ms(100);
    return c;
}

/* Reads a whole file.  Caller frees; NULL when missing.  *len gets its size. */
static inline char *wh_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    size_t got = fread(buf, 1, (size_t)sz, f);
    fclose(f);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

/* Request number n (1-based) of path: its exact body and its headers text;
 * file names into body_path.  0 or -1. */
static inline int wh_request(const wh_receiver_t *r, const char *path, int n, char **body,
                             size_t *body_len, char **headers, char *body_path, size_t bp_size)
{
    char dir[512], hp[600];
    wh_path_dir(r, path, dir, sizeof dir);
    snprintf(body_path, bp_size, "%s/%06d.body", dir, n);
    snprintf(hp, sizeof hp, "%s/%06d.headers", dir, n);
    *headers = wh_read(hp, NULL);
    *body = wh_read(body_path, body_len);
    if (!*headers || !*body) {
        free(*headers);
        free(*body);
        return -1;
    }
    return 0;
}

/* Value of header name (case-insensitive) in a headers text into buf; 0 or -1. */
static inline int wh_hdr(const char *headers, const char *name, char *buf, size_t size)
{
    size_t nl = strlen(name);
    for (const char *p = headers; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = ll - (size_t)(v - p);
            if (vl >= size)
                vl = size - 1;
            memcpy(buf, v, vl);
            buf[vl] = '\0';
            return 0;
        }
        p = eol ? eol + 1 : NULL;
    }
    buf[0] = '\0';
    return -1;
}

/* ---- signature checks, independent of the service's sign.c ------------ */

/* `openssl dgst -sha256 -hmac SECRET < body_path`: 1 when its hex digest
 * equals sig. */
static inline int wh_openssl_ok(const char *secret, const char *body_path, const char *sig)
{
    char cmd[1024], line[512];
    /* A whsec_ secret is base64: no quote can occur inside '...'. */
    if (strchr(secret, '\'') || strchr(body_path, '\''))
        return 0;
    snprintf(cmd, sizeof cmd, "openssl dgst -sha256 -hmac '%s' < '%s'", secret, body_path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    int ok = 0;
    if (fgets(line, sizeof line, p)) {
        char *eq = strstr(line, "= ");
        char *hex = eq ? eq + 2 : line;
        hex[strcspn(hex, "\r\n")] = '\0';
        ok = strcmp(hex, sig) == 0;
    }
    pclose(p);
    return ok;
}

/* The Standard Webhooks verification as its specification states it:
 * key = base64-decode(secret without "whsec_"); expected = base64(
 * HMAC-SHA256(key, id + "." + timestamp + "." + body)); the header is a
 * space-separated list of "v1,<sig>" entries, one of which must match in
 * constant time; the timestamp must be within 5 minutes of now.  1 when
 * the request verifies. */
static inline int wh_std_verify(const char *secret, const char *id, const char *ts,
                                const char *sigs, const char *body, size_t body_len)
{
    const char *b64 = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
    unsigned char key[128], mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    size_t b64l = strlen(b64);
    if (b64l == 0 || b64l % 4 || b64l / 4 * 3 > sizeof key)
        return 0;
    int kl = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)b64l);
    if (kl < 0)
        return 0;
    if (b64[b64l - 1] == '=')
        kl--;
    if (b64[b64l - 2] == '=')
        kl--;
    long long t = atoll(ts);
    long long now = (long long)time(NULL);
    if (t < now - 300 || t > now + 300)
        return 0;
    size_t ml = strlen(id) + strlen(ts) + 2 + body_len;
    char *msg = malloc(ml + 1);
    int off = snprintf(msg, ml + 1, "%s.%s.", id, ts);
    memcpy(msg + off, body, body_len);
    HMAC(EVP_sha256(), key, kl, (unsigned char *)msg, ml, mac, &mac_len);
    free(msg);
    char expected[128];
    EVP_EncodeBlock((unsigned char *)expected, mac, (int)mac_len);
    int ok = 0;
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", sigs);
    for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (strncmp(tok, "v1,", 3) != 0)
            continue;
        const char *s = tok + 3;
        if (strlen(s) == strlen(expected) && CRYPTO_memcmp(s, expected, strlen(s)) == 0)
            ok = 1;
    }
    return ok;
}

/* ---- the API ---------------------------------------------------------- */

/* Creates an endpoint for url subscribed to events_json (a JSON list);
 * its secret into secret[80].  The id, or -1. */
static inline long long wh_endpoint(const char *key, const char *url, const char *events_json,
                                    char secret[80])
{
    kvt_resp_t r = kvt_apif(key, "POST", "/api/v1/webhooks", "{\"url\":\"%s\",\"events\":%s}",
                            url, events_json);
    long long id = r.status == 201 ? se_int(&r, "id") : -1;
    const char *s = se_str(&r, "secret");
    if (id < 0 || !s)
        fprintf(stderr, "wh_endpoint %s: %ld %.300s\n", url, r.status, r.body ? r.body : "");
    if (secret)
        snprintf(secret, 80, "%s", s ? s : "");
    kvt_resp_free(&r);
    return id;
}

#define WH_ALL_EVENTS \
    "[\"appointment.created\",\"appointment.cancelled\",\"call.ended\",\"call.missed\"]"

/* The deliveries of endpoint id (first page of per_page); caller frees. */
static inline kvt_resp_t wh_deliveries(const char *key, long long id, int per_page)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/deliveries?per_page=%d", id, per_page);
    return kvt_api(key, "GET", path, NULL);
}

/* Polls the newest delivery of endpoint id until its status is not
 * "pending" (or timeout_ms); returns the final answer (caller frees). */
static inline kvt_resp_t wh_wait_settled(const char *key, long long id, int timeout_ms)
{
    kvt_resp_t r = wh_deliveries(key, id, 1);
    for (int waited = 0; waited < timeout_ms; waited += 200) {
        json_t *d = json_array_get(se_data(&r), 0);
        const char *st = json_string_value(json_object_get(d, "status"));
        if (st && strcmp(st, "pending") != 0)
            break;
        kvt_resp_free(&r);
        kvt_sleep_ms(200);
        r = wh_deliveries(key, id, 1);
    }
    return r;
}

/* A tenant ready to book: a 15-minute service, one staff member working
 * 08:00-21:00 every day, one customer. */
typedef struct {
    int64_t tenant;
    char key[64];
    long long service, staff, customer;
} wh_shop_t;

static inline void wh_shop(wh_shop_t *s, const char *prefix)
{
    char hours[512];
    s->tenant = se_tenant(prefix, "UTC", 15, s->key);
    s->service = se_service(s->tenant, "Cut", 15, "20.00");
    s->staff = se_staff(s->tenant, "Alex", se_every_day("[[\"08:00\",\"21:00\"]]", hours,
                                                        sizeof hours), NULL);
    s->customer = se_customer(s->key);
    if (s->service < 0 || s->staff < 0 || s->customer < 0) {
        printf("FAIL shop_setup: service %lld staff %lld customer %lld\n", s->service, s->staff,
               s->customer);
        exit(1);
    }
}

/* Books appointment number i (0..) of a shop: 52 a day from 08:00, from
 * the day after tomorrow on.  The id, or -1. */
static inline long long wh_book(const wh_shop_t *s, int i)
{
    char date[11], hm[16];
    se_date(2 + i / 52, date);
    int m = 8 * 60 + (i % 52) * 15;
    snprintf(hm, sizeof hm, "%02d:%02d", m / 60, m % 60);
    return se_book_id(s->key, s->customer, s->service, s->staff, date, hm);
}

static inline int wh_cancel(const wh_shop_t *s, long long appointment)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", appointment);
    kvt_resp_t r = kvt_api(s->key, "DELETE", path, NULL);
    int ok = r.status == 200;
    if (!ok)
        fprintf(stderr, "wh_cancel %lld: %ld %.200s\n", appointment, r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

/* Checks the n requests of path: each X-KaiVox-Delivery and each body
 * "id" (event id) distinct, and counts the event types.  Returns the
 * number of distinct delivery ids; *distinct_events gets the number of
 * distinct event ids, created / cancelled the counts of those types. */
static inline int wh_distinct(const wh_receiver_t *r, const char *path, int n,
                              int *distinct_events, int *created, int *cancelled)
{
    char **dl = calloc((size_t)n + 1, sizeof *dl), **ev = calloc((size_t)n + 1, sizeof *ev);
    int nd = 0, ne = 0;
    *created = *cancelled = 0;
    for (int i = 1; i <= n; i++) {
        char *body = NULL, *hdrs = NULL, bp[600], v[64];
        size_t len;
        if (wh_request(r, path, i, &body, &len, &hdrs, bp, sizeof bp) != 0)
            continue;
        wh_hdr(hdrs, "X-KaiVox-Delivery", v, sizeof v);
        int dup = 0;
        for (int k = 0; k < nd; k++)
            dup |= strcmp(dl[k], v) == 0;
        if (!dup)
            dl[nd++] = strdup(v);
        json_t *o = json_loadb(body, len, 0, NULL);
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *type = json_string_value(json_object_get(o, "event"));
        if (type && strcmp(type, "appointment.created") == 0)
            (*created)++;
        if (type && strcmp(type, "appointment.cancelled") == 0)
            (*cancelled)++;
        dup = !id;
        for (int k = 0; id && k < ne; k++)
            dup |= strcmp(ev[k], id) == 0;
        if (!dup)
            ev[ne++] = strdup(id);
        json_decref(o);
        free(body);
        free(hdrs);
    }
    for (int k = 0; k < nd; k++)
        free(dl[k]);
    for (int k = 0; k < ne; k++)
        free(ev[k]);
    free(dl);
    free(ev);
    *distinct_events = ne;
    return nd;
}

/* ---- time ---------------------------------------------------------- */

static inline long long wh_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Receipt time (epoch us) of request n on path, 0 when missing. */
static inline long long wh_received_us(const wh_receiver_t *rcv, const char *path, int n)
{
    char dir[512], hp[600], v[64];
    wh_path_dir(rcv, path, dir, sizeof dir);
    snprintf(hp, sizeof hp, "%s/%06d.headers", dir, n);
    char *h = wh_read(hp, NULL);
    if (!h)
        return 0;
    wh_hdr(h, "X-Receiver-Received-Us", v, sizeof v);
    free(h);
    return atoll(v);
}

/* ---- the database, as a service sees it -------------------------------- */

/* Runs sql (with $1.. params, may be NULL) as role kaivox_<service> on the
 * test stack's database.  Returns the result on success (caller PQclears),
 * NULL after printing the error. */
static inline PGresult *wh_sql(const char *service, const char *sql, int n,
                               const char *const *params)
{
    char user[64];
    snprintf(user, sizeof user, "kaivox_%s", service);
    const char *keys[] = { "dbname", "user", NULL };
    const char *vals[] = { kvt_env("KAIVOX_DATABASE_URL", "postgresql://127.0.0.1:54320/kaivox"),
                           user, NULL };
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    PGresult *r = NULL;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "wh_sql: %s", PQerrorMessage(c));
        goto out;
    }
    r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "wh_sql: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        r = NULL;
    }
out:
    PQfinish(c);
    return r;
}

/* The first cell of sql's answer as an integer (the rows affected for a
 * command without rows), or -1 on error. */
static inline long long wh_sql_int(const char *service, const char *sql, int n,
                                   const char *const *params)
{
    PGresult *r = wh_sql(service, sql, n, params);
    long long v = -1;
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = atoll(PQgetvalue(r, 0, 0));
    else if (r && PQresultStatus(r) == PGRES_COMMAND_OK)
        v = atoll(PQcmdTuples(r));
    PQclear(r);
    return v;
}

/* ---- a service restarted with extra settings --------------------------- */

/* Restarts service (instance 1) with env ("NAME=value" strings, NULL
 * ended; NULL: none, i.e. the stack's own settings again), then waits
 * until the API answers key's list of webhook endpoints (for webhooks) or
 * a short moment (other services: their clients wait for them anyway).
 * 0 or -1. */
static inline int wh_restart(const char *service, const char *const *env, const char *key)
{
    char names[8][64];
    int n = 0;
    for (int i = 0; env && env[i] && n < 8; i++) {
        const char *eq = strchr(env[i], '=');
        if (!eq || (size_t)(eq - env[i]) >= sizeof names[0])
            return -1;
        memcpy(names[n], env[i], (size_t)(eq - env[i]));
        names[n][eq - env[i]] = '\0';
        setenv(names[n++], eq + 1, 1);
    }
    char args[96];
    snprintf(args, sizeof args, "restart %s", service);
    int rc = kvt_stack(args);
    for (int i = 0; i < n; i++)
        unsetenv(names[i]);
    if (rc != 0)
        return -1;
    for (int waited = 0; waited < 30000; waited += 200) {
        if (strcmp(service, "webhooks") == 0 && key) {
            kvt_resp_t r = kvt_api(key, "GET", "/api/v1/webhooks", NULL);
            int ok = r.status == 200;
            kvt_resp_free(&r);
            if (ok)
                return 0;
        } else if (waited >= 1500) {
            return 0;
        }
        kvt_sleep_ms(200);
    }
    return -1;
}

/* ---- a receiver that accepts connections and never answers -------------- */

#define WH_HOLE_MAX 1024

typedef struct {
    int fd;                      /* the listener */
    int port;
    pthread_t thread;
    int stop;
    pthread_mutex_t lock;
    int nconn;                   /* connections accepted */
    long long at_us[WH_HOLE_MAX];/* when each was accepted */
    int conns[WH_HOLE_MAX];      /* held open, never read */
} wh_hole_t;

static inline void *wh_hole_thread(void *arg)
{
    wh_hole_t *h = arg;
    while (!h->stop) {
        struct pollfd p = { .fd = h->fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(h->fd, NULL, NULL);
        if (c < 0)
            continue;
        pthread_mutex_lock(&h->lock);
        if (h->nconn < WH_HOLE_MAX) {
            h->at_us[h->nconn] = wh_now_us();
            h->conns[h->nconn++] = c;
        } else {
            close(c);
        }
        pthread_mutex_unlock(&h->lock);
    }
    return NULL;
}

/* Listens on a kernel-chosen loopback port; every connection is accepted
 * and held open without a byte read or written.  Exits the test with a
 * FAIL line when it cannot. */
static inline void wh_hole_start(wh_hole_t *h)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->lock, NULL);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    h->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(h->fd, 1024) != 0 || getsockname(h->fd, (struct sockaddr *)&a, &al) != 0 ||
        pthread_create(&h->thread, NULL, wh_hole_thread, h) != 0) {
        printf("FAIL hole_setup: %s\n", strerror(errno));
        exit(1);
    }
    h->port = ntohs(a.sin_port);
}

static inline int wh_hole_count(wh_hole_t *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->nconn;
    pthread_mutex_unlock(&h->lock);
    return n;
}

static inline void wh_hole_stop(wh_hole_t *h)
{
    h->stop = 1;
    pthread_join(h->thread, NULL);
    for (int i = 0; i < h->nconn; i++)
        close(h->conns[i]);
    close(h->fd);
}

/* ---- a DNS server the test controls --------------------------------------- */

enum { WH_DNS_IGNORE, WH_DNS_ANSWER, WH_DNS_NXDOMAIN };

#define WH_DNS_NAMES 16

typedef struct {
    int fd;                      /* UDP, 127.0.0.1 */
    int port;
    pthread_t thread;
    int stop;
    pthread_mutex_t lock;
    struct {
        char name[128];          /* lowercase, no trailing dot */
        int mode;                /* WH_DNS_* */
        unsigned char ip[4];     /* the A record (WH_DNS_ANSWER) */
        int queries;             /* A and AAAA queries seen */
    } names[WH_DNS_NAMES];
    int nnames;
    int other;                   /* queries for names not listed (never answered) */
} wh_dns_t;

/* Sets how name is answered: WH_DNS_ANSWER with ipv4 (an A record, TTL
 * 1 s; AAAA queries get an empty answer), WH_DNS_NXDOMAIN, or
 * WH_DNS_IGNORE (never answered).  Names not set are never answered. */
static inline void wh_dns_set(wh_dns_t *d, const char *name, int mode, const char *ipv4)
{
    pthread_mutex_lock(&d->lock);
    int i = 0;
    while (i < d->nnames && strcmp(d->names[i].name, name) != 0)
        i++;
    if (i == d->nnames && d->nnames < WH_DNS_NAMES) {
        snprintf(d->names[i].name, sizeof d->names[i].name, "%s", name);
        d->nnames++;
    }
    if (i < WH_DNS_NAMES) {
        d->names[i].mode = mode;
        if (ipv4)
            inet_pton(AF_INET, ipv4, d->names[i].ip);
    }
    pthread_mutex_unlock(&d->lock);
}

/* Queries seen for name so far. */
static inline int wh_dns_queries(wh_dns_t *d, const char *name)
{
    int n = 0;
    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < d->nnames; i++)
        if (strcmp(d->names[i].name, name) == 0)
            n = d->names[i].queries;
    pthread_mutex_unlock(&d->lock);
    return n;
}

/* Answers (or not) one query q[0..n); returns the answer's length, 0 for
 * none. */
static inline size_t wh_dns_answer(wh_dns_t *d, const unsigned char *q, size_t n,
                                   unsigned char *out, size_t cap)
{
    char name[256];
    size_t p = 12, nl = 0;
    if (n < 17 || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
        return 0;                           /* not one plain question */
    while (p < n && q[p] != 0) {
        size_t len = q[p++];
        if (len > 63 || p + len > n || nl + len + 1 >= sizeof name)
            return 0;
        if (nl)
            name[nl++] = '.';
        for (size_t k = 0; k < len; k++)
            name[nl++] = (char)((q[p + k] >= 'A' && q[p + k] <= 'Z') ? q[p + k] + 32 : q[p + k]);
        p += len;
    }
    name[nl] = '\0';
    if (p + 5 > n)
        return 0;
    int qtype = q[p + 1] << 8 | q[p + 2];
    size_t qend = p + 5;                    /* the question ends here */
    int mode = WH_DNS_IGNORE;
    unsigned char ip[4] = { 0 };
    pthread_mutex_lock(&d->lock);
    int i = 0;
    while (i < d->nnames && strcmp(d->names[i].name, name) != 0)
        i++;
    if (i < d->nnames) {
        d->names[i].queries++;
        mode = d->names[i].mode;
        memcpy(ip, d->names[i].ip, 4);
    } else {
        d->other++;
    }
    pthread_mutex_unlock(&d->lock);
    if (mode == WH_DNS_IGNORE || qend + 16 > cap)
        return 0;
    memcpy(out, q, qend);                   /* id, flags, counts, question */
    out[2] = 0x81;                          /* QR, RD */
    out[3] = mode == WH_DNS_NXDOMAIN ? 0x83 : 0x80;   /* RA, rcode */
    out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
    if (mode == WH_DNS_NXDOMAIN || qtype != 1)
        return qend;                        /* no answer record */
    static const unsigned char rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4 };
    out[7] = 1;                             /* one answer */
    memcpy(out + qend, rr, sizeof rr);
    memcpy(out + qend + sizeof rr, ip, 4);
    return qend + sizeof rr + 4;
}

static inline void *wh_dns_thread(void *arg)
{
    wh_dns_t *d = arg;
    unsigned char q[1500], a[1600];
    while (!d->stop) {
        struct pollfd p = { .fd = d->fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(d->fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
        if (n <= 0)
            continue;
        size_t an = wh_dns_answer(d, q, (size_t)n, a, sizeof a);
        if (an > 0)
            sendto(d->fd, a, an, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

/* Starts the server on a kernel-chosen UDP port of 127.0.0.1.  Exits the
 * test with a FAIL line when it cannot. */
static inline void wh_dns_start(wh_dns_t *d)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(d, 0, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d->fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (d->fd < 0 || bind(d->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(d->fd, (struct sockaddr *)&a, &al) != 0 ||
        pthread_create(&d->thread, NULL, wh_dns_thread, d) != 0) {
        printf("FAIL dns_setup: %s\n", strerror(errno));
        exit(1);
    }
    d->port = ntohs(a.sin_port);
}

static inline void wh_dns_stop(wh_dns_t *d)
{
    d->stop = 1;
    pthread_join(d->thread, NULL);
    close(d->fd);
}

#endif
