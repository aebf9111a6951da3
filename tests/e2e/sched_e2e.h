/*
 * sched_e2e.h -- helpers shared by the scheduling end-to-end tests
 * (tests/e2e/test_scheduling_*.c): tenants with a time zone and slot
 * interval, services and staff through the admin API, customers through
 * the crm API, booking, dates relative to today, envelope readers.
 * Header-only (static functions) so each test stays one binary.
 */
#ifndef SCHED_E2E_H
#define SCHED_E2E_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/kvt.h"

static inline json_t *se_data(const kvt_resp_t *r)
{
    return json_object_get(r->json, "data");
}

static inline const char *se_str(const kvt_resp_t *r, const char *field)
{
    return json_string_value(json_object_get(se_data(r), field));
}

static inline long long se_int(const kvt_resp_t *r, const char *field)
{
    json_t *v = json_object_get(se_data(r), field);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static inline double se_real(const kvt_resp_t *r, const char *field)
{
    json_t *v = json_object_get(se_data(r), field);
    return json_is_number(v) ? json_number_value(v) : -1.0;
}

static inline long long se_meta(const kvt_resp_t *r, const char *field)
{
    json_t *v = json_object_get(json_object_get(r->json, "meta"), field);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* 1 when errors.<field> exists (a non-empty list). */
static inline int se_has_err(const kvt_resp_t *r, const char *field)
{
    json_t *e = json_object_get(json_object_get(r->json, "errors"), field);
    return json_is_array(e) && json_array_size(e) > 0;
}

static inline const char *se_err(const kvt_resp_t *r, const char *field)
{
    json_t *e = json_object_get(json_object_get(r->json, "errors"), field);
    return json_string_value(json_array_get(e, 0));
}

static inline size_t se_len(const kvt_resp_t *r)
{
    json_t *d = se_data(r);
    return json_is_array(d) ? json_array_size(d) : (size_t)-1;
}

/* A fresh tenant in tz (NULL: UTC) with slot interval minutes (0: the
 * default) and its key.  Exits the test when the stack cannot make one. */
static inline int64_t se_tenant(const char *prefix, const char *tz, int interval, char key[64])
{
    static int n;
    char name[128], path[96];
    snprintf(name, sizeof name, "%s-%d-%d-%ld", prefix, (int)getpid(), ++n, (long)time(NULL));
    json_t *b = json_pack("{s:s, s:s}", "name", name, "timezone", tz ? tz : "UTC");
    if (interval > 0)
        json_object_set_new(b, "slot_interval", json_integer(interval));
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    kvt_resp_t t = kvt_admin("POST", "/admin/v1/tenants", body);
    free(body);
    long long id = se_int(&t, "id");
    if (t.status != 201 || id <= 0) {
        fprintf(stderr, "se_tenant: %ld %.300s\n", t.status, t.body ? t.body : "");
        kvt_resp_free(&t);
        printf("FAIL tenant_setup: could not create a tenant\n");
        exit(1);
    }
    kvt_resp_free(&t);
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/keys", id);
    kvt_resp_t k = kvt_admin("POST", path, "{\"name\":\"test\"}");
    const char *kv = se_str(&k, "key");
    if (!kv || strlen(kv) >= 64) {
        printf("FAIL tenant_setup: could not create a key (%ld)\n", k.status);
        exit(1);
    }
    snprintf(key, 64, "%s", kv);
    kvt_resp_free(&k);
    return id;
}

/* POST an admin body under tenant; the created id or -1. */
static inline long long se_admin_create(int64_t tenant, const char *what, const char *body)
{
    char path[96];
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/%s", (long long)tenant, what);
    kvt_resp_t r = kvt_admin("POST", path, body);
    long long id = r.status == 201 ? se_int(&r, "id") : -1;
    if (id < 0)
        fprintf(stderr, "se_admin_create %s: %ld %.400s\n", what, r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return id;
}

static inline long long se_service(int64_t tenant, const char *name, int duration,
                                   const char *price)
{
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"duration\":%d,\"price\":\"%s\"}", name,
             duration, price);
    return se_admin_create(tenant, "services", body);
}

/* A staff member working hours_json (e.g. {"mon":[["09:00","17:00"]]}),
 * services_json a list or NULL (all). */
static inline long long se_staff(int64_t tenant, const char *name, const char *hours_json,
                                 const char *services_json)
{
    char body[4096];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"specialties\":[\"cuts\"],\"hours\":%s%s%s}",
             name, hours_json, services_json ? ",\"services\":" : "",
             services_json ? services_json : "");
    return se_admin_create(tenant, "staff", body);
}

/* Same hours every day of the week: {"mon":X,...,"sun":X}. */
static inline const char *se_every_day(const char *intervals, char *buf, size_t size)
{
    snprintf(buf, size,
             "{\"mon\":%s,\"tue\":%s,\"wed\":%s,\"thu\":%s,\"fri\":%s,\"sat\":%s,\"sun\":%s}",
             intervals, intervals, intervals, intervals, intervals, intervals, intervals);
    return buf;
}

/* A customer through crm; its id or -1. */
static inline long long se_customer(const char *key)
{
    static int n;
    char body[256];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(body, sizeof body, "{\"name\":\"Test Customer\",\"phone\":\"+1555%04d%03d%02d\"}",
             (int)(getpid() % 10000), (int)(ts.tv_nsec / 1000000), (++n) % 100);
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/customers", body);
    long long id = r.status == 201 ? se_int(&r, "id") : -1;
    if (id < 0)
        fprintf(stderr, "se_customer: %ld %.300s\n", r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return id;
}

/* The date days after today in UTC, as Y-m-d into buf[11]. */
static inline void se_date(int days, char buf[11])
{
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 11, "%Y-%m-%d", &tm);
}

/* The first Monday at least min_days after today (UTC), into buf[11]. */
static inline void se_monday(int min_days, char buf[11])
{
    time_t t = time(NULL) + (time_t)min_days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    int add = (8 - tm.tm_wday) % 7;   /* tm_wday 1 = Monday */
    t += (time_t)add * 86400;
    gmtime_r(&t, &tm);
    strftime(buf, 11, "%Y-%m-%d", &tm);
}

/* Local date and minute of the day now in time zone tz. */
static inline void se_local_now(const char *tz, char date[11], int *minute)
{
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", tz, 1);
    tzset();
    time_t t = time(NULL);
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

/* Books; returns the response (caller frees). */
static inline kvt_resp_t se_book(const char *key, long long customer, long long service,
                                 long long staff, const char *date, const char *time_hm)
{
    char staff_part[48] = "";
    if (staff > 0)
        snprintf(staff_part, sizeof staff_part, ",\"staff_id\":%lld", staff);
    return kvt_apif(key, "POST", "/api/v1/appointments",
                    "{\"customer_id\":%lld,\"service_id\":%lld%s,\"appointment_date\":\"%s\","
                    "\"appointment_time\":\"%s\"}",
                    customer, service, staff_part, date, time_hm);
}

/* Books and returns the new id, or -1. */
static inline long long se_book_id(const char *key, long long customer, long long service,
                                   long long staff, const char *date, const char *time_hm)
{
    kvt_resp_t r = se_book(key, customer, service, staff, date, time_hm);
    long long id = r.status == 201 ? se_int(&r, "id") : -1;
    if (id < 0)
        fprintf(stderr, "se_book_id %s %s: %ld %.300s\n", date, time_hm, r.status,
                r.body ? r.body : "");
    kvt_resp_free(&r);
    return id;
}

/* GET slots; caller frees. */
static inline kvt_resp_t se_slots(const char *key, const char *date, long long service,
                                  long long staff)
{
    char path[256];
    if (staff > 0)
        snprintf(path, sizeof path, "/api/v1/appointments/slots?date=%s&service_id=%lld&staff_id=%lld",
                 date, service, staff);
    else
        snprintf(path, sizeof path, "/api/v1/appointments/slots?date=%s&service_id=%lld", date,
                 service);
    return kvt_api(key, "GET", path, NULL);
}

/* The slot times of a slots answer joined "09:00 09:15 ..." into buf. */
static inline const char *se_slot_times(const kvt_resp_t *r, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    json_t *d = se_data(r);
    size_t i;
    json_t *s;
    json_array_foreach(d, i, s) {
        const char *t = json_string_value(json_object_get(s, "time"));
        int w = snprintf(buf + len, size - len, "%s%s", len ? " " : "", t ? t : "?");
        if (w < 0 || (size_t)w >= size - len)
            break;
        len += (size_t)w;
    }
    return buf;
}

#endif
