/*
 * booking_e2e.h -- helpers of the booking end-to-end tests
 * (tests/e2e/test_booking_*.c): holds, reschedules, services with booking
 * rules, the alternatives of a 409, many clients at once behind a barrier,
 * and a direct connection to the scheduling schema for the checks that
 * must prove the database itself refuses something.  Builds on
 * sched_e2e.h.  Header-only (static functions) so each test stays one
 * binary.
 */
#ifndef BOOKING_E2E_H
#define BOOKING_E2E_H

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "sched_e2e.h"

/* POST /appointments/holds; staff 0: none given, ttl 0: default.  Caller
 * frees. */
static inline kvt_resp_t bk_hold(const char *key, long long service, long long staff,
                                 const char *date, const char *hm, int ttl)
{
    char extra[96] = "";
    size_t len = 0;
    if (staff > 0)
        len += (size_t)snprintf(extra + len, sizeof extra - len, ",\"staff_id\":%lld", staff);
    if (ttl > 0)
        snprintf(extra + len, sizeof extra - len, ",\"ttl_seconds\":%d", ttl);
    return kvt_apif(key, "POST", "/api/v1/appointments/holds",
                    "{\"service_id\":%lld,\"appointment_date\":\"%s\",\"appointment_time\":\"%s\"%s}",
                    service, date, hm, extra);
}

/* Books with hold_id for customer; extra_json ("" or ",\"k\":v...") is
 * appended to the body.  Caller frees. */
static inline kvt_resp_t bk_book_hold(const char *key, long long customer, long long hold,
                                      const char *extra_json)
{
    return kvt_apif(key, "POST", "/api/v1/appointments",
                    "{\"customer_id\":%lld,\"hold_id\":%lld%s}", customer, hold, extra_json);
}

/* PATCH /appointments/{id} with body.  Caller frees. */
static inline kvt_resp_t bk_patch(const char *key, long long id, const char *body)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", id);
    return kvt_api(key, "PATCH", path, body);
}

/* The times of data.alternatives of a 409 joined "09:30 10:30 ..." into
 * buf; "(none)" when there is no such list. */
static inline const char *bk_alt_times(const kvt_resp_t *r, char *buf, size_t size)
{
    json_t *alts = json_object_get(se_data(r), "alternatives");
    if (!json_is_array(alts)) {
        snprintf(buf, size, "(none)");
        return buf;
    }
    size_t len = 0, i;
    json_t *a;
    buf[0] = '\0';
    json_array_foreach(alts, i, a) {
        const char *t = json_string_value(json_object_get(a, "time"));
        int w = snprintf(buf + len, size - len, "%s%s", len ? " " : "", t ? t : "?");
        if (w < 0 || (size_t)w >= size - len)
            break;
        len += (size_t)w;
    }
    return buf;
}

/* The staff_ids of alternative i of a 409 as "3,4"; "" when none. */
static inline const char *bk_alt_staff(const kvt_resp_t *r, size_t i, char *buf, size_t size)
{
    json_t *ids = json_object_get(json_array_get(json_object_get(se_data(r), "alternatives"), i),
                                  "staff_ids");
    size_t len = 0, k;
    json_t *v;
    buf[0] = '\0';
    json_array_foreach(ids, k, v) {
        int w = snprintf(buf + len, size - len, "%s%lld", len ? "," : "",
                         (long long)json_integer_value(v));
        if (w < 0 || (size_t)w >= size - len)
            break;
        len += (size_t)w;
    }
    return buf;
}

/* 1 when the slots answer r offers time hm (for staff when > 0). */
static inline int bk_offers(const kvt_resp_t *r, const char *hm, long long staff)
{
    size_t i, k;
    json_t *s, *id;
    json_array_foreach(se_data(r), i, s) {
        const char *t = json_string_value(json_object_get(s, "time"));
        if (!t || strcmp(t, hm) != 0)
            continue;
        if (staff <= 0)
            return 1;
        json_array_foreach(json_object_get(s, "staff_ids"), k, id)
            if (json_integer_value(id) == staff)
                return 1;
    }
    return 0;
}

/* A service with booking rules through the admin API; its id or -1. */
static inline long long bk_service(int64_t tenant, const char *name, int duration,
                                   int before, int after, int notice, int advance)
{
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"duration\":%d,\"price\":\"30.00\","
             "\"buffer_before_minutes\":%d,\"buffer_after_minutes\":%d,"
             "\"min_notice_minutes\":%d,\"max_advance_days\":%d}",
             name, duration, before, after, notice, advance);
    return se_admin_create(tenant, "services", body);
}

/* Runs fn(i) for i in [0, n) on n threads released together by a
 * barrier (at most 64). */
typedef void (*bk_job_fn)(int i);
typedef struct {
    bk_job_fn fn;
    int i;
    pthread_barrier_t *bar;
} bk_job_t;

static inline void *bk_job_main(void *arg)
{
    bk_job_t *j = arg;
    pthread_barrier_wait(j->bar);
    j->fn(j->i);
    return NULL;
}

static inline void bk_together(int n, bk_job_fn fn)
{
    pthread_t th[64];
    bk_job_t jobs[64];
    pthread_barrier_t bar;
    if (n > 64)
        n = 64;
    pthread_barrier_init(&bar, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        jobs[i] = (bk_job_t){ fn, i, &bar };
        pthread_create(&th[i], NULL, bk_job_main, &jobs[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
}

/* A connection to the test cluster as the scheduling service's own role,
 * on its schema: for the checks that the database itself refuses what
 * the service would never send.  NULL (with a FAIL line) when it cannot
 * connect. */
static inline PGconn *bk_db(void)
{
    const char *url = kvt_env("KAIVOX_DATABASE_URL", NULL);
    if (!url) {
        printf("FAIL db_connect: KAIVOX_DATABASE_URL is not set\n");
        return NULL;
    }
    const char *keys[] = { "dbname", "user", "options", NULL };
    const char *vals[] = { url, "kaivox_scheduling", "-c search_path=scheduling,public", NULL };
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        printf("FAIL db_connect: %s\n", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Runs sql on c; returns the SQLSTATE of its failure ("" when it
 * succeeded) into state[6]. */
static inline const char *bk_sql(PGconn *c, const char *sql, char state[6])
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(state, 6, "%s", (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? "" : s ? s : "?");
    PQclear(r);
    return state;
}

/* The local date (Y-m-d) and minute of the day in time zone tz, of now
 * plus offset_min minutes. */
static inline void bk_local_at(const char *tz, int offset_min, char date[11], int *minute)
{
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", tz, 1);
    tzset();
    time_t t = time(NULL) + (time_t)offset_min * 60;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(date, 11, "%Y-%m-%d", &tm);
    *minute = tm.tm_hour * 60 + tm.tm_min;
    if (old) {
        setenv("TZ", old, 1);
        free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

/* The date days after date (Y-m-d) into out. */
static inline void bk_date_add(const char *date, int days, char out[11])
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    strptime(date, "%Y-%m-%d", &tm);
    time_t t = timegm(&tm) + (time_t)days * 86400;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* kaivoxctl with args (a shell word list); its exit status, and stdout
 * parsed as JSON into *out (caller frees; NULL when not JSON). */
static inline int bk_cli(const char *args, json_t **out)
{
    char bin[1024], cmd[4096], raw[8192];
    const char *dir = kvt_env("KAIVOX_BIN_DIR", NULL);
    if (dir)
        snprintf(bin, sizeof bin, "%s/kaivoxctl", dir);
    else
        snprintf(bin, sizeof bin, "%s/bin/kaivoxctl", kvt_env("KVT_ROOT", "."));
    snprintf(cmd, sizeof cmd, "env KAIVOX_ADMIN_URL='%s' KAIVOX_ADMIN_TOKEN='%s' '%s' %s 2>/dev/null",
             kvt_env("KVT_ADMIN_URL", ""), kvt_env("KVT_ADMIN_TOKEN", ""), bin, args);
    *out = NULL;
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(raw, 1, sizeof raw - 1, p);
    raw[n] = '\0';
    int st = pclose(p);
    *out = json_loads(raw, JSON_DECODE_ANY, NULL);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
