/*
 * idem_e2e.h -- helpers of the Idempotency-Key and key-scope tests
 * (tests/e2e/test_idem_*.c, test_scopes.c): requests with an
 * Idempotency-Key, the public route table as the gateway prints it, a
 * tenant with something to book, and the database seen as its superuser.
 * Header-only (static functions) like the other e2e helpers.
 */
#ifndef IDEM_E2E_H
#define IDEM_E2E_H

#include "sched_e2e.h"
#include "gw_e2e.h"

/* ---- requests ---------------------------------------------------------- */

/* method path with the API key in Authorization, body (NULL: none), an
 * Idempotency-Key header when idem is not NULL and one more header line
 * extra (NULL: none). */
static inline kvt_resp_t idem_req(const char *key, const char *method, const char *path,
                                  const char *body, const char *idem, const char *extra)
{
    char auth[256], ih[600], url[2048];
    const char *h[4] = { NULL, NULL, NULL, NULL };
    int n = 0;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    h[n++] = auth;
    if (idem) {
        snprintf(ih, sizeof ih, "Idempotency-Key: %s", idem);
        h[n++] = ih;
    }
    if (extra)
        h[n++] = extra;
    snprintf(url, sizeof url, "%s%s", kvt_env("KVT_BASE_URL", "http://127.0.0.1:18080"), path);
    return kvt_http(method, url, body, body ? strlen(body) : 0, h);
}

/* 1 when the answer says it is a recorded answer sent again. */
static inline int idem_replayed(const kvt_resp_t *r)
{
    char v[64];
    return kvt_header(r, "Idempotent-Replayed", v, sizeof v) == 0 && strcmp(v, "true") == 0;
}

/* 1 when the answer carries no Idempotent-Replayed header at all. */
static inline int idem_fresh(const kvt_resp_t *r)
{
    char v[64];
    return kvt_header(r, "Idempotent-Replayed", v, sizeof v) != 0;
}

/* The first message of errors.<field>, "" when none (borrowed). */
static inline const char *idem_err(const kvt_resp_t *r, const char *field)
{
    const char *m = json_string_value(json_array_get(
        json_object_get(json_object_get(r->json, "errors"), field), 0));
    return m ? m : "";
}

/* A unique key for this process: prefix-pid-counter-random. */
static inline const char *idem_new_key(const char *prefix, char buf[96])
{
    static int n;
    char rnd[33];
    kv_bus_new_id(rnd);
    rnd[12] = '\0';
    snprintf(buf, 96, "%s-%d-%d-%s", prefix, (int)getpid(), ++n, rnd);
    return buf;
}

/* A phone number nobody else in this run uses. */
static inline const char *idem_phone(char buf[32])
{
    static int n;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, 32, "+1444%04d%03d%02d", (int)(getpid() % 10000),
             (int)(ts.tv_nsec / 1000000), (++n) % 100);
    return buf;
}

/* ---- the public routes, as the gateway prints them ------------------------ */

#define IDEM_MAX_ROUTES 128

typedef struct {
    char method[16], pattern[160], service[32], op[64];
} idem_route_t;

/* Runs `kaivox-gateway --print-routes` into routes; their number, -1 when
 * it failed. */
static inline int idem_routes(idem_route_t *routes)
{
    char cmd[1024], line[512];
    const char *dir = kvt_env("KAIVOX_BIN_DIR", NULL);
    if (dir)
        snprintf(cmd, sizeof cmd, "'%s/kaivox-gateway' --print-routes", dir);
    else
        snprintf(cmd, sizeof cmd, "'%s/bin/kaivox-gateway' --print-routes",
                 kvt_env("KVT_ROOT", "."));
    FILE *p = popen(cmd, "r");
    int n = 0;
    while (p && n < IDEM_MAX_ROUTES && fgets(line, sizeof line, p)) {
        idem_route_t *r = &routes[n];
        if (sscanf(line, "%15s %159s %31s %63s", r->method, r->pattern, r->service, r->op) == 4)
            n++;
    }
    int st = p ? pclose(p) : -1;
    return st == 0 ? n : -1;
}

/* pattern with every {name} replaced by id, into out. */
static inline void idem_path(const char *pattern, long long id, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 24 < size; p++) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            o += (size_t)snprintf(out + o, size - o, "%lld", id);
            p = e ? e : p;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* ---- a tenant with something to book ---------------------------------------- */

typedef struct {
    int64_t tenant;
    char key[64];
    long long service, staff, customer;
    char date[11];               /* a Monday at least a week away */
} idem_fixture_t;

/* A fresh tenant (UTC, 15-minute grid) with a 30-minute service, one staff
 * member working 09:00-17:00 every day, a customer, and its key.  0 or -1. */
static inline int idem_fixture(const char *prefix, idem_fixture_t *f)
{
    char hours[512];
    memset(f, 0, sizeof *f);
    f->tenant = se_tenant(prefix, "UTC", 15, f->key);
    f->service = se_service(f->tenant, "Cut", 30, "25.00");
    f->staff = se_staff(f->tenant, "Alex", se_every_day("[[\"09:00\",\"17:00\"]]", hours,
                                                        sizeof hours), NULL);
    f->customer = se_customer(f->key);
    se_monday(8, f->date);
    return f->service > 0 && f->staff > 0 && f->customer > 0 ? 0 : -1;
}

/* The body of a booking of f's service at time (H:i) on f's date. */
static inline const char *idem_booking(const idem_fixture_t *f, const char *time, char *buf,
                                       size_t size)
{
    snprintf(buf, size, "{\"customer_id\":%lld,\"service_id\":%lld,\"staff_id\":%lld,"
             "\"appointment_date\":\"%s\",\"appointment_time\":\"%s\"}",
             f->customer, f->service, f->staff, f->date, time);
    return buf;
}

/* ---- the database, as its superuser ---------------------------------------------- */

/* The first column of the first row of sql as an integer; -1 on error. */
static inline long long idem_sql_int(PGconn *c, const char *sql)
{
    char *v = c ? gw_sql(c, sql) : NULL;
    long long n = v && *v ? atoll(v) : -1;
    free(v);
    return n;
}

#endif
