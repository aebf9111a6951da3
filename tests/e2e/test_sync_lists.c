/*
 * test_sync_lists.c -- incremental sync of appointments, customers and
 * calls, end to end (issue 13, item 5), the same checks on each list:
 *
 *   - every object carries created_at and updated_at;
 *   - a walk from updated_since returns the tenant's rows (and no other
 *     tenant's) oldest change first, per_page at a time, next_cursor set
 *     while more rows are visible and null on the last page -- also when
 *     the last page is exactly full;
 *   - updated_since keeps exactly the rows changed at or after it, with a
 *     Z, a +01:00 offset written %2B or left unencoded (a space);
 *   - resuming from meta.resume_cursor returns only what changed since: a
 *     change brings the row back once with a later updated_at, a new row
 *     appears, a request that changes nothing (same-status PATCH, a PATCH
 *     repeating the values, a call logged again) moves nothing;
 *   - malformed updated_since, garbled / foreign cursors and cursor with
 *     page, updated_since or a filter are 422 naming the parameter; the
 *     plain list keeps page / per_page / total;
 *   - appointments: renaming the service or the staff member brings their
 *     appointments back with the new name; renaming to the same name does
 *     not.
 *
 * Calls have no public update path yet: their "change" is an UPDATE made
 * as the calls service's own database role, which proves the trigger
 * stamps any future update path too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched_e2e.h"
#include "sync_e2e.h"

#define S_EPOCH "updated_since=1970-01-01T00:00:00Z"

/* Everything a list's operations need. */
typedef struct {
    long long tenant;
    char key[64];
    long long service, staff, customer;   /* appointments */
    char date[11];
    PGconn *calls_db;                     /* calls: the service's role */
} s_fix_t;

typedef struct {
    const char *name;
    const char *path;
    const char *filter;      /* one filter of the list, "name=value" */
    /* creates row i of f's tenant; its id or -1 */
    long long (*create)(s_fix_t *f, int i);
    /* a change of row id visible in the list; 0 or -1 */
    int (*change)(s_fix_t *f, long long id, int i);
    /* a request about row id that changes nothing; 0 or -1 */
    int (*noop)(s_fix_t *f, long long id);
} s_list_t;

/* ---- appointments ---- */

static long long s_appt_create(s_fix_t *f, int i)
{
    char hm[16];
    int m = (i % 96) * 15;
    snprintf(hm, sizeof hm, "%02d:%02d", m / 60, m % 60);
    return se_book_id(f->key, f->customer, f->service, f->staff, f->date, hm);
}

static int s_appt_change(s_fix_t *f, long long id, int i)
{
    (void)i;
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", id);
    kvt_resp_t r = kvt_api(f->key, "DELETE", path, NULL);
    int ok = r.status == 200;
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

static int s_appt_noop(s_fix_t *f, long long id)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld/status", id);
    kvt_resp_t r = kvt_api(f->key, "PATCH", path, "{\"status\":\"scheduled\"}");
    int ok = r.status == 200;
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

/* ---- customers ---- */

static long long s_cust_create(s_fix_t *f, int i)
{
    char body[160];
    snprintf(body, sizeof body, "{\"name\":\"Sync %d\",\"phone\":\"+1555%03d%04d\"}", i,
             (int)(f->tenant % 1000), i);
    kvt_resp_t r = kvt_api(f->key, "POST", "/api/v1/customers", body);
    long long id = r.status == 201 ? se_int(&r, "id") : -1;
    if (id < 0)
        fprintf(stderr, "customer create: %ld %.200s\n", r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return id;
}

static int s_cust_change(s_fix_t *f, long long id, int i)
{
    char path[96], body[96];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", id);
    snprintf(body, sizeof body, "{\"notes\":\"change %d\"}", i);
    kvt_resp_t r = kvt_api(f->key, "PATCH", path, body);
    int ok = r.status == 200;
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

/* PATCHes the customer with the segment it has. */
static int s_cust_noop(s_fix_t *f, long long id)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", id);
    kvt_resp_t g = kvt_api(f->key, "GET", path, NULL);
    const char *ua = se_str(&g, "updated_at");
    char before[32];
    snprintf(before, sizeof before, "%s", ua ? ua : "");
    kvt_resp_free(&g);
    kvt_resp_t r = kvt_api(f->key, "PATCH", path, "{\"segment\":\"lead\",\"pipeline_stage\":\"new\"}");
    int ok = r.status == 200;
    KVT_EQ_STR(se_str(&r, "updated_at"), before,
               "customers: a PATCH repeating the values does not move updated_at");
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

/* ---- calls ---- */

static void s_call_body(s_fix_t *f, int i, char *body, size_t size)
{
    char started[32];
    time_t t = time(NULL) - 3600 + i;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, size,
             "{\"caller_phone\":\"+1666%03d%04d\",\"started_at\":\"%s\",\"duration_seconds\":60,"
             "\"external_id\":\"sync-%lld-%d\",\"summary\":\"first\"}",
             (int)(f->tenant % 1000), i, started, f->tenant, i);
}

static long long s_call_create(s_fix_t *f, int i)
{
    char body[512];
    s_call_body(f, i, body, sizeof body);
    kvt_resp_t r = kvt_api(f->key, "POST", "/api/v1/calls", body);
    long long id = r.status == 201 ? se_int(&r, "id") : -1;
    if (id < 0)
        fprintf(stderr, "call create: %ld %.200s\n", r.status, r.body ? r.body : "");
    else
        KVT_OK(se_str(&r, "updated_at") && se_str(&r, "created_at") &&
               strcmp(se_str(&r, "updated_at"), se_str(&r, "created_at")) == 0,
               "calls: a new call has updated_at equal to created_at");
    kvt_resp_free(&r);
    return id;
}

/* An UPDATE as role kaivox_calls: what any future update path does. */
static int s_call_change(s_fix_t *f, long long id, int i)
{
    char tid[24], cid[24], summary[48];
    snprintf(tid, sizeof tid, "%lld", f->tenant);
    snprintf(cid, sizeof cid, "%lld", id);
    snprintf(summary, sizeof summary, "change %d", i);
    const char *p[3] = { tid, cid, summary };
    return sy_run(f->calls_db, "UPDATE calls SET summary = $3 WHERE tenant_id = $1 AND id = $2",
                  3, p);
}

/* Logs call 3 again (same external_id): 200, nothing recorded. */
static int s_call_noop(s_fix_t *f, long long id)
{
    (void)id;
    char body[512];
    s_call_body(f, 3, body, sizeof body);
    kvt_resp_t r = kvt_api(f->key, "POST", "/api/v1/calls", body);
    int ok = r.status == 200;
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

static const s_list_t s_lists[] = {
    { "appointments", "/api/v1/appointments", "status=scheduled", s_appt_create, s_appt_change,
      s_appt_noop },
    { "customers", "/api/v1/customers", "segment=lead", s_cust_create, s_cust_change,
      s_cust_noop },
    { "calls", "/api/v1/calls", "sentiment=positive", s_call_create, s_call_change,
      s_call_noop },
};

/* A tenant; with booking, also what appointments need (a service, a staff
 * member working all day every day, a customer, a date two days ahead). */
static void s_fixture(s_fix_t *f, const char *prefix, int booking)
{
    memset(f, 0, sizeof *f);
    f->tenant = se_tenant(prefix, "UTC", 15, f->key);
    if (!booking)
        return;
    char hours[512];
    f->service = se_service(f->tenant, "Cut", 15, "20.00");
    f->staff = se_staff(f->tenant, "Alex", se_every_day("[[\"00:00\",\"24:00\"]]", hours,
                                                        sizeof hours), NULL);
    f->customer = se_customer(f->key);
    se_date(2, f->date);
}

/* The item of items with id, or NULL. */
static json_t *s_item(json_t *items, long long id)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
        if (json_integer_value(json_object_get(it, "id")) == id)
            return it;
    return NULL;
}

/* "YYYY-MM-DDTHH:MM:SSZ" as the same instant written with +01:00, sep
 * being "+" or "%2B". */
static void s_plus_one(const char *utc, const char *sep, char *out, size_t size)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    strptime(utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
    time_t t = timegm(&tm) + 3600;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s%s01:00", buf, sep);
}

static void test_list(const s_list_t *L, s_fix_t *a, s_fix_t *b)
{
    const char *n = L->name;
    long long id[6];
    char ids[256], want[256];

    for (int i = 0; i < 2; i++)
        id[i] = L->create(a, i);
    kvt_sleep_ms(1100);   /* rows 2.. are changed in a later second than rows 0, 1 */
    for (int i = 2; i < 5; i++)
        id[i] = L->create(a, i);
    long long other = L->create(b, 0);
    KVT_OK(id[0] > 0 && id[1] > 0 && id[2] > 0 && id[3] > 0 && id[4] > 0 && other > 0,
           "%s: fixture rows created", n);

    /* the plain list is as before */
    kvt_resp_t r = sy_get(a->key, L->path, "per_page=2");
    json_t *meta = json_object_get(r.json, "meta");
    KVT_OK(r.status == 200 && json_object_size(meta) == 3 && se_meta(&r, "page") == 1 &&
           se_meta(&r, "per_page") == 2 && se_meta(&r, "total") == 5,
           "%s: without updated_since or cursor the list keeps page, per_page and total", n);
    kvt_resp_free(&r);

    /* a whole walk, two at a time */
    json_t *items = json_array();
    char resume[64];
    r = sy_page(a->key, L->path, S_EPOCH, NULL, 2);
    meta = json_object_get(r.json, "meta");
    KVT_OK(r.status == 200 && json_object_size(meta) == 3 &&
           json_integer_value(json_object_get(meta, "per_page")) == 2 &&
           json_is_string(json_object_get(meta, "next_cursor")) &&
           json_is_string(json_object_get(meta, "resume_cursor")) &&
           !json_object_get(meta, "total") && !json_object_get(meta, "page"),
           "%s: a sync page's meta is per_page, next_cursor and resume_cursor", n);
    kvt_resp_free(&r);
    int pages = sy_walk(a->key, L->path, S_EPOCH, NULL, 2, items, resume);
    snprintf(want, sizeof want, "%lld,%lld,%lld,%lld,%lld", id[0], id[1], id[2], id[3], id[4]);
    KVT_EQ_INT(pages, 3, "%s: 5 rows two at a time are 3 pages, the last with next_cursor null", n);
    KVT_EQ_STR(sy_ids(items, ids, sizeof ids), want,
               "%s: the walk returns the tenant's rows once each, oldest change first", n);
    KVT_OK(!s_item(items, other), "%s: another tenant's row never appears", n);
    size_t i;
    json_t *it;
    int stamped = 1;
    json_array_foreach(items, i, it)
        stamped &= json_is_string(json_object_get(it, "created_at")) &&
                   json_is_string(json_object_get(it, "updated_at"));
    KVT_OK(stamped, "%s: every object carries created_at and updated_at", n);
    json_array_clear(items);

    pages = sy_walk(a->key, L->path, S_EPOCH, NULL, 5, items, resume);
    KVT_OK(pages == 1 && json_array_size(items) == 5,
           "%s: a last page that is exactly full has next_cursor null (%d pages)", n, pages);

    /* updated_since keeps the rows changed at or after it */
    const char *since = json_string_value(json_object_get(s_item(items, id[2]), "updated_at"));
    char q[256], ts[64];
    snprintf(want, sizeof want, "%lld,%lld,%lld", id[2], id[3], id[4]);
    json_t *part = json_array();
    snprintf(q, sizeof q, "updated_since=%s", since ? since : "x");
    char tmp[64];
    sy_walk(a->key, L->path, q, NULL, 20, part, tmp);
    KVT_EQ_STR(sy_ids(part, ids, sizeof ids), want,
               "%s: updated_since=<row 2's updated_at> returns rows 2, 3, 4, not the older ones", n);
    json_array_clear(part);
    s_plus_one(since ? since : "", "%2B", ts, sizeof ts);
    snprintf(q, sizeof q, "updated_since=%s", ts);
    sy_walk(a->key, L->path, q, NULL, 20, part, tmp);
    KVT_EQ_STR(sy_ids(part, ids, sizeof ids), want,
               "%s: the same instant written with +01:00 (%%2B) selects the same rows", n);
    json_array_clear(part);
    s_plus_one(since ? since : "", "+", ts, sizeof ts);
    snprintf(q, sizeof q, "updated_since=%s", ts);
    sy_walk(a->key, L->path, q, NULL, 20, part, tmp);
    KVT_EQ_STR(sy_ids(part, ids, sizeof ids), want,
               "%s: ... and with the + left unencoded (it arrives as a space)", n);
    json_decref(part);

    r = sy_get(a->key, L->path, "updated_since=2999-01-01T00:00:00Z");
    KVT_OK(r.status == 200 && json_array_size(se_data(&r)) == 0 &&
           json_is_null(json_object_get(json_object_get(r.json, "meta"), "next_cursor")),
           "%s: updated_since in the future: an empty page, next_cursor null", n);
    kvt_resp_free(&r);

    /* resuming returns what changed since, once */
    const char *before = json_string_value(json_object_get(s_item(items, id[1]), "updated_at"));
    char before_s[32];
    snprintf(before_s, sizeof before_s, "%s", before ? before : "");
    json_array_clear(items);
    KVT_OK(L->change(a, id[1], 1) == 0, "%s: row 1 changed", n);
    char resume2[64];
    sy_walk(a->key, L->path, NULL, resume, 20, items, resume2);
    snprintf(want, sizeof want, "%lld", id[1]);
    KVT_EQ_STR(sy_ids(items, ids, sizeof ids), want,
               "%s: after a change, resuming returns that row only", n);
    const char *after = json_string_value(json_object_get(json_array_get(items, 0), "updated_at"));
    KVT_OK(after && strcmp(after, before_s) > 0,
           "%s: ... with updated_at moved (%s -> %s)", n, before_s, after ? after : "null");
    json_array_clear(items);
    sy_walk(a->key, L->path, NULL, resume2, 20, items, resume);
    KVT_OK(json_array_size(items) == 0, "%s: resuming again returns nothing: each change once", n);

    KVT_OK(L->noop(a, id[3]) == 0, "%s: a request that changes nothing answered 200", n);
    json_array_clear(items);
    sy_walk(a->key, L->path, NULL, resume2, 20, items, resume);
    KVT_OK(json_array_size(items) == 0,
           "%s: a request that changes nothing brings no row back", n);

    id[5] = L->create(a, 5);
    sy_walk(a->key, L->path, NULL, resume2, 20, items, resume);
    snprintf(want, sizeof want, "%lld", id[5]);
    KVT_EQ_STR(sy_ids(items, ids, sizeof ids), want, "%s: a new row appears when resuming", n);
    json_decref(items);

    /* refusals */
    r = sy_get(a->key, L->path, "updated_since=2026-03-10");
    KVT_OK(r.status == 422 && sy_err(&r, "updated_since"),
           "%s: a date without time is 422 errors.updated_since", n);
    kvt_resp_free(&r);
    r = sy_get(a->key, L->path, "updated_since=2026-03-10T14:05:00");
    KVT_OK(r.status == 422 && sy_err(&r, "updated_since"),
           "%s: a date-time without offset is 422 errors.updated_since", n);
    kvt_resp_free(&r);
    char bad[64];
    snprintf(bad, sizeof bad, "%s", resume);
    bad[20] = bad[20] == 'x' ? 'y' : 'x';
    snprintf(q, sizeof q, "cursor=%s", bad);
    r = sy_get(a->key, L->path, q);
    KVT_OK(r.status == 422 && sy_err(&r, "cursor"), "%s: an edited cursor is 422 errors.cursor", n);
    kvt_resp_free(&r);
    r = sy_get(a->key, L->path, "cursor=not-a-cursor");
    KVT_OK(r.status == 422 && sy_err(&r, "cursor"), "%s: a garbled cursor is 422 errors.cursor", n);
    kvt_resp_free(&r);
    snprintf(q, sizeof q, "cursor=%s", resume);
    r = sy_get(b->key, L->path, q);
    KVT_OK(r.status == 422 && sy_err(&r, "cursor"),
           "%s: another tenant's cursor is 422 errors.cursor", n);
    kvt_resp_free(&r);
    snprintf(q, sizeof q, "cursor=%s&page=2", resume);
    r = sy_get(a->key, L->path, q);
    KVT_OK(r.status == 422 && sy_err(&r, "page") && !sy_err(&r, "cursor"),
           "%s: cursor with page is 422 errors.page", n);
    kvt_resp_free(&r);
    snprintf(q, sizeof q, "cursor=%s&updated_since=2026-03-10T14:05:00Z", resume);
    r = sy_get(a->key, L->path, q);
    KVT_OK(r.status == 422 && sy_err(&r, "updated_since"),
           "%s: cursor with updated_since is 422 errors.updated_since", n);
    kvt_resp_free(&r);
    snprintf(q, sizeof q, "%s&%s", S_EPOCH, L->filter);
    r = sy_get(a->key, L->path, q);
    char field[32];
    snprintf(field, sizeof field, "%.*s", (int)(strchr(L->filter, '=') - L->filter), L->filter);
    KVT_OK(r.status == 422 && sy_err(&r, field),
           "%s: updated_since with the %s filter is 422 errors.%s", n, field, field);
    kvt_resp_free(&r);
    snprintf(q, sizeof q, "%s&per_page=0", S_EPOCH);
    r = sy_get(a->key, L->path, q);
    KVT_OK(r.status == 422 && sy_err(&r, "per_page"), "%s: per_page=0 is 422 in a walk too", n);
    kvt_resp_free(&r);
}

/* A cursor of one list is refused by the others. */
static void test_cross_list(s_fix_t *a)
{
    for (size_t i = 0; i < 3; i++) {
        kvt_resp_t r = sy_page(a->key, s_lists[i].path, S_EPOCH, NULL, 1);
        const char *c = sy_meta_str(&r, "resume_cursor");
        char q[128];
        snprintf(q, sizeof q, "cursor=%s", c ? c : "");
        kvt_resp_free(&r);
        const s_list_t *o = &s_lists[(i + 1) % 3];
        r = sy_get(a->key, o->path, q);
        KVT_OK(r.status == 422 && sy_err(&r, "cursor"),
               "a cursor of %s is refused by %s (422 errors.cursor)", s_lists[i].name, o->name);
        kvt_resp_free(&r);
    }
}

/* Renaming a service or staff member changes service_name / staff_name of
 * their appointments: each comes back once with the new name. */
static void test_rename(s_fix_t *a)
{
    json_t *items = json_array();
    char resume[64], tmp[64], path[128];
    sy_walk(a->key, "/api/v1/appointments", S_EPOCH, NULL, 100, items, resume);
    size_t total = json_array_size(items);
    KVT_OK(total >= 6, "rename: the tenant has appointments (%zu)", total);
    json_array_clear(items);

    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services/%lld", a->tenant, a->service);
    kvt_resp_t r = kvt_admin("PATCH", path, "{\"name\":\"Cut\"}");
    KVT_OK(r.status == 200, "rename: the service renamed to its own name (%ld)", r.status);
    kvt_resp_free(&r);
    sy_walk(a->key, "/api/v1/appointments", NULL, resume, 100, items, tmp);
    KVT_OK(json_array_size(items) == 0, "rename: a service 'renamed' to the same name brings nothing back");

    r = kvt_admin("PATCH", path, "{\"name\":\"Haircut\"}");
    KVT_OK(r.status == 200, "rename: the service renamed (%ld)", r.status);
    kvt_resp_free(&r);
    sy_walk(a->key, "/api/v1/appointments", NULL, resume, 100, items, resume);
    int named = json_array_size(items) == total;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *sn = json_string_value(json_object_get(it, "service_name"));
        named &= sn && strcmp(sn, "Haircut") == 0;
    }
    KVT_OK(named, "rename: every appointment of the service comes back once with the new "
           "service_name (%zu of %zu)", json_array_size(items), total);
    json_array_clear(items);

    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/staff/%lld", a->tenant, a->staff);
    r = kvt_admin("PATCH", path, "{\"name\":\"Alexandra\"}");
    KVT_OK(r.status == 200, "rename: the staff member renamed (%ld)", r.status);
    kvt_resp_free(&r);
    sy_walk(a->key, "/api/v1/appointments", NULL, resume, 100, items, resume);
    named = json_array_size(items) == total;
    json_array_foreach(items, i, it) {
        const char *sn = json_string_value(json_object_get(it, "staff_name"));
        named &= sn && strcmp(sn, "Alexandra") == 0;
    }
    KVT_OK(named, "rename: every appointment of the staff member comes back once with the new "
           "staff_name (%zu of %zu)", json_array_size(items), total);
    json_decref(items);
}

int main(void)
{
    PGconn *calls_db = sy_pg("calls");
    s_fix_t appt_a;
    /* two fresh tenants per list: a's rows are exactly the ones the test
     * makes (the fixture's customer and the callers' leads live in other
     * lists), b is the other tenant */
    for (size_t i = 0; i < sizeof s_lists / sizeof s_lists[0]; i++) {
        s_fix_t a, b;
        s_fixture(&a, "sync-a", i == 0);
        s_fixture(&b, "sync-b", i == 0);
        a.calls_db = b.calls_db = calls_db;
        test_list(&s_lists[i], &a, &b);
        if (i == 0)
            appt_a = a;
    }
    test_cross_list(&appt_a);
    test_rename(&appt_a);
    PQfinish(calls_db);
    return kvt_done();
}
