/*
 * test_sync_race.c -- a sync walk over a list that is being written, end
 * to end, on appointments, customers and calls (issue 13, item 5):
 * "every change exactly once while rows are inserted and updated
 * concurrently".
 *
 * 1. Held transactions, deterministic.  A test connection as the service's
 *    own database role holds an UPDATE of row X open while the API inserts
 *    row Z (a younger transaction, committed).  A walk must not return Z
 *    yet (an updated_at or id cursor would, and would then step past X for
 *    good); after COMMIT it returns X then Z, once each.  Then the reverse
 *    race: a transaction that began (now() = its updated_at) before the API
 *    inserted W writes X after W committed; the walk returns W, then X --
 *    although X's updated_at is older than W's, which an updated_at cursor
 *    would have skipped.
 *
 * 2. Concurrent writers, randomised.  Three writer threads, each with its
 *    own connection as the service's role, update random rows in
 *    overlapping transactions (some begin, sleep, then write; all sleep
 *    between writes), each write bumping a per-row version "v<n>" in a text
 *    column; an API thread inserts rows and, where the API can change a
 *    row, changes them, always forward (an appointment is cancelled, a
 *    customer moves one pipeline stage on).  A reader thread walks the list
 *    with cursors only, from the start, for the whole run.  Then:
 *      - per row, the states the walk returned strictly move forward
 *        (version, API rank): no change returned twice, never an older
 *        state after a newer;
 *      - every row that exists at the end was returned, and the last state
 *        the walk returned is the row's final state (GET /{id}, and the
 *        version in the database) -- nothing lost;
 *    and the run reports how many changes it saw.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched_e2e.h"
#include "sync_e2e.h"

#define S_EPOCH "updated_since=1970-01-01T00:00:00Z"
#define S_MAX_ROWS 1000
#define S_INITIAL_ROWS 20
#define S_RUN_MS 4000
#define S_SQL_WRITERS 3
#define S_CONVERGE_MS 20000

typedef struct s_ctx s_ctx_t;

/* One list, and how the test writes it. */
typedef struct {
    const char *name;
    const char *path;
    const char *service;     /* database role kaivox_<service> */
    const char *col;         /* the versioned text column, as the JSON shows it */
    const char *bump_sql;    /* $1 tenant, $2 id: col = v<n+1> */
    const char *set_sql;     /* $1 tenant, $2 id, $3 value */
    const char *version_sql; /* $1 tenant: id, col of every row */
    long long (*create)(s_ctx_t *c, const char *key, int i);
    /* changes row k (an index of c->ids) through the API, always forward
     * (see s_rank); NULL when the API cannot change a row */
    int (*api_change)(s_ctx_t *c, const char *key, int k);
    /* the rank of an item's API-made state: it only grows (0 without) */
    int (*rank)(const json_t *item);
} s_list_t;

struct s_ctx {
    const s_list_t *L;
    long long tenant;
    char key[64];
    long long service, staff, customer;   /* appointments */

    pthread_mutex_t mu;                   /* guards ids, nids */
    long long ids[S_MAX_ROWS];
    int nids;
    int stage[S_MAX_ROWS];                /* customers: pipeline stage index, API thread only */
    atomic_int next_row;                  /* index of the next row to create */

    atomic_int stop_writers, stop_reader;
    atomic_int sql_commits, sql_errors, api_writes, api_errors;

    json_t *seen;                         /* every item the walk returned, in order */
    char resume[64];
    int reader_pages, reader_errors;
    char reader_key[64];
};

/* ---- the lists -------------------------------------------------------------- */

static long long s_appt_create(s_ctx_t *c, const char *key, int i)
{
    char date[11], hm[16];
    se_date(2 + i / 96, date);
    int m = (i % 96) * 15;
    snprintf(hm, sizeof hm, "%02d:%02d", m / 60, m % 60);
    return se_book_id(key, c->customer, c->service, c->staff, date, hm);
}

static int s_appt_cancel(s_ctx_t *c, const char *key, int k)
{
    pthread_mutex_lock(&c->mu);
    long long id = c->ids[k];
    pthread_mutex_unlock(&c->mu);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", id);
    kvt_resp_t r = kvt_api(key, "DELETE", path, NULL);
    int ok = r.status == 200;
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

static long long s_cust_create(s_ctx_t *c, const char *key, int i)
{
    char body[160];
    snprintf(body, sizeof body, "{\"name\":\"Race %d\",\"phone\":\"+1777%03d%04d\"}", i,
             (int)(c->tenant % 1000), i);
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/customers", body);
    long long id = r.status == 201 ? se_int(&r, "id") : -1;
    kvt_resp_free(&r);
    return id;
}

/* scheduled, then cancelled: a cancel is the one change the API makes */
static int s_appt_rank(const json_t *item)
{
    const char *st = json_string_value(json_object_get(item, "status"));
    return st && strcmp(st, "cancelled") == 0;
}

static const char *const s_stages[] = { "new", "contacted", "qualified", "proposal", "won" };

/* Moves customer k one pipeline stage forward (the API thread is the only
 * one to change stages). */
static int s_cust_stage(s_ctx_t *c, const char *key, int k)
{
    pthread_mutex_lock(&c->mu);
    long long id = c->ids[k];
    pthread_mutex_unlock(&c->mu);
    if (c->stage[k] >= 4)
        return 0;
    int next = ++c->stage[k];
    char path[96], body[64];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", id);
    snprintf(body, sizeof body, "{\"pipeline_stage\":\"%s\"}", s_stages[next]);
    kvt_resp_t r = kvt_api(key, "PATCH", path, body);
    int ok = r.status == 200;
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

static int s_cust_rank(const json_t *item)
{
    const char *st = json_string_value(json_object_get(item, "pipeline_stage"));
    for (int i = 0; st && i < 5; i++)
        if (strcmp(st, s_stages[i]) == 0)
            return i;
    return -1;
}

static int s_no_rank(const json_t *item)
{
    (void)item;
    return 0;
}

static long long s_call_create(s_ctx_t *c, const char *key, int i)
{
    char started[32], body[512];
    time_t t = time(NULL) - 7200 + i;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body,
             "{\"caller_phone\":\"+1888%03d%04d\",\"started_at\":\"%s\",\"duration_seconds\":30,"
             "\"external_id\":\"race-%lld-%d\"}",
             (int)(c->tenant % 1000), i % 50, started, c->tenant, i);
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/calls", body);
    long long id = r.status == 201 ? se_int(&r, "id") : -1;
    kvt_resp_free(&r);
    return id;
}

#define S_BUMP(t, col) \
    "UPDATE " t " SET " col " = 'v' || (coalesce(substring(" col " from '^v([0-9]+)$')::int, 0) + 1)" \
    " WHERE tenant_id = $1 AND id = $2"

static const s_list_t s_lists[] = {
    { "appointments", "/api/v1/appointments", "scheduling", "notes",
      S_BUMP("appointments", "notes"),
      "UPDATE appointments SET notes = $3 WHERE tenant_id = $1 AND id = $2",
      "SELECT id, notes FROM appointments WHERE tenant_id = $1",
      s_appt_create, s_appt_cancel, s_appt_rank },
    { "customers", "/api/v1/customers", "crm", "notes",
      S_BUMP("customers", "notes"),
      "UPDATE customers SET notes = $3 WHERE tenant_id = $1 AND id = $2",
      "SELECT id, notes FROM customers WHERE tenant_id = $1",
      s_cust_create, s_cust_stage, s_cust_rank },
    { "calls", "/api/v1/calls", "calls", "summary",
      S_BUMP("calls", "summary"),
      "UPDATE calls SET summary = $3 WHERE tenant_id = $1 AND id = $2",
      "SELECT id, summary FROM calls WHERE tenant_id = $1",
      s_call_create, NULL, s_no_rank },
};

/* ---- setup ------------------------------------------------------------------ */

static void s_setup(s_ctx_t *c, const s_list_t *L)
{
    memset(c, 0, sizeof *c);
    c->L = L;
    pthread_mutex_init(&c->mu, NULL);
    c->tenant = se_tenant("sync-race", "UTC", 15, c->key);
    sy_key(c->tenant, c->reader_key);
    if (L->create == s_appt_create) {
        char hours[512];
        c->service = se_service(c->tenant, "Cut", 15, "20.00");
        c->staff = se_staff(c->tenant, "Sam", se_every_day("[[\"00:00\",\"24:00\"]]", hours,
                                                           sizeof hours), NULL);
        c->customer = se_customer(c->key);
    }
    c->seen = json_array();
}

/* Creates the next row through the API with key and records its id. */
static long long s_add_row(s_ctx_t *c, const char *key)
{
    int i = atomic_fetch_add(&c->next_row, 1);
    long long id = c->L->create(c, key, i);
    if (id > 0) {
        pthread_mutex_lock(&c->mu);
        if (c->nids < S_MAX_ROWS)
            c->ids[c->nids++] = id;
        pthread_mutex_unlock(&c->mu);
    }
    return id;
}

/* ---- walking ------------------------------------------------------------------ */

/* Walks on from c->resume (from the start when it is empty) until nothing
 * more is visible, appending to c->seen.  0 or -1. */
static int s_walk_on(s_ctx_t *c, const char *key, int per_page)
{
    int pages = sy_walk(key, c->L->path, S_EPOCH, c->resume[0] ? c->resume : NULL, per_page,
                        c->seen, c->resume);
    if (pages < 0)
        return -1;
    c->reader_pages += pages;
    return 0;
}

/* The version n of "v<n>" (0 for null or anything else). */
static long s_version(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && s[0] == 'v' ? strtol(s + 1, NULL, 10) : 0;
}

/* The last item of c->seen with id, or NULL. */
static json_t *s_last_seen(s_ctx_t *c, long long id)
{
    for (size_t i = json_array_size(c->seen); i-- > 0;) {
        json_t *it = json_array_get(c->seen, i);
        if (json_integer_value(json_object_get(it, "id")) == id)
            return it;
    }
    return NULL;
}

/* ---- 1. held transactions ------------------------------------------------------- */

/* Walks on until every id of want[n] has been seen since index from of
 * c->seen, or S_CONVERGE_MS passed.  1 when all were seen. */
static int s_walk_until(s_ctx_t *c, size_t from, const long long *want, int n)
{
    for (int waited = 0; waited <= S_CONVERGE_MS; waited += 50) {
        if (s_walk_on(c, c->reader_key, 10) != 0)
            return 0;
        int all = 1;
        for (int k = 0; k < n && all; k++) {
            int found = 0;
            for (size_t i = from; i < json_array_size(c->seen) && !found; i++)
                found = json_integer_value(json_object_get(json_array_get(c->seen, i), "id")) ==
                        want[k];
            all = found;
        }
        if (all)
            return 1;
        kvt_sleep_ms(50);
    }
    return 0;
}

/* The ids of c->seen from index from, comma-separated. */
static const char *s_seen_ids(s_ctx_t *c, size_t from, char *buf, size_t size)
{
    json_t *tail = json_array();
    for (size_t i = from; i < json_array_size(c->seen); i++)
        json_array_append(tail, json_array_get(c->seen, i));
    sy_ids(tail, buf, size);
    json_decref(tail);
    return buf;
}

static void test_held(const s_list_t *L)
{
    s_ctx_t c;
    s_setup(&c, L);
    const char *n = L->name;
    long long x = s_add_row(&c, c.key);
    KVT_OK(x > 0, "%s held: row X created", n);
    KVT_OK(s_walk_on(&c, c.reader_key, 10) == 0 && json_array_size(c.seen) == 1,
           "%s held: the walk so far holds X", n);

    PGconn *db = sy_pg(L->service);
    char tid[24], xid_s[24], buf[256], want[128];
    snprintf(tid, sizeof tid, "%lld", c.tenant);
    snprintf(xid_s, sizeof xid_s, "%lld", x);
    const char *pa[3] = { tid, xid_s, "held-A" };

    /* A: an open write of X, then a younger committed insert Z */
    int held = sy_run(db, "BEGIN", 0, NULL) == 0 && sy_run(db, L->set_sql, 3, pa) == 0;
    KVT_OK(held, "%s held: X updated in a transaction left open", n);
    long long z = s_add_row(&c, c.key);
    KVT_OK(z > 0, "%s held: row Z inserted through the API meanwhile (committed)", n);
    size_t from = json_array_size(c.seen);
    KVT_OK(s_walk_on(&c, c.reader_key, 10) == 0 && json_array_size(c.seen) == from,
           "%s held: while X's transaction is open, the walk does not return Z "
           "(it would step past X for good)", n);
    KVT_OK(sy_run(db, "COMMIT", 0, NULL) == 0, "%s held: X's transaction committed", n);
    long long xz[2] = { x, z };
    KVT_OK(s_walk_until(&c, from, xz, 2), "%s held: after COMMIT the walk returns X and Z", n);
    snprintf(want, sizeof want, "%lld,%lld", x, z);
    KVT_EQ_STR(s_seen_ids(&c, from, buf, sizeof buf), want,
               "%s held: X first (its transaction is older), then Z, once each", n);
    json_t *xa = s_last_seen(&c, x);
    KVT_EQ_STR(json_string_value(json_object_get(xa, L->col)), "held-A",
               "%s held: X is returned with the held transaction's change", n);

    /* B: a transaction that began before W was inserted writes X after it */
    const char *pb[3] = { tid, xid_s, "held-B" };
    PGresult *r0 = sy_sql(db, "BEGIN", 0, NULL);
    PQclear(r0);
    r0 = sy_sql(db, "SELECT now()", 0, NULL);   /* the transaction's now(): X's updated_at */
    PQclear(r0);
    kvt_sleep_ms(1100);                          /* a later second for W's updated_at */
    long long w = s_add_row(&c, c.key);
    KVT_OK(w > 0, "%s reverse: row W inserted through the API", n);
    held = sy_run(db, L->set_sql, 3, pb) == 0;
    KVT_OK(held, "%s reverse: X written by the older transaction after W committed", n);
    from = json_array_size(c.seen);
    KVT_OK(s_walk_until(&c, from, &w, 1), "%s reverse: W is returned while X's write is open", n);
    KVT_OK(sy_run(db, "COMMIT", 0, NULL) == 0, "%s reverse: X's transaction committed", n);
    size_t from_x = json_array_size(c.seen);
    KVT_OK(s_walk_until(&c, from_x, &x, 1), "%s reverse: X is returned after W", n);
    snprintf(want, sizeof want, "%lld,%lld", w, x);
    KVT_EQ_STR(s_seen_ids(&c, from, buf, sizeof buf), want, "%s reverse: W then X, once each", n);
    json_t *xb = s_last_seen(&c, x), *wb = s_last_seen(&c, w);
    const char *xu = json_string_value(json_object_get(xb, "updated_at"));
    const char *wu = json_string_value(json_object_get(wb, "updated_at"));
    KVT_OK(xu && wu && strcmp(xu, wu) < 0,
           "%s reverse: X's updated_at (%s) is older than W's (%s), yet the walk did not skip it",
           n, xu ? xu : "null", wu ? wu : "null");
    KVT_EQ_STR(json_string_value(json_object_get(xb, L->col)), "held-B",
               "%s reverse: X is returned with the change", n);

    PQfinish(db);
    json_decref(c.seen);
    pthread_mutex_destroy(&c.mu);
}

/* ---- 2. concurrent writers ------------------------------------------------------ */

typedef struct {
    s_ctx_t *c;
    unsigned seed;
} s_writer_t;

static int s_cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Updates 1..3 random rows per transaction, in id order (no deadlock),
 * sleeping inside; half of the transactions begin, sleep, then write. */
static void *s_sql_writer(void *arg)
{
    s_writer_t *w = arg;
    s_ctx_t *c = w->c;
    PGconn *db = sy_pg(c->L->service);
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", c->tenant);
    while (!atomic_load(&c->stop_writers)) {
        long long pick[3];
        int k = 1 + (int)(rand_r(&w->seed) % 3);
        pthread_mutex_lock(&c->mu);
        int n = c->nids;
        for (int i = 0; i < k; i++)
            pick[i] = c->ids[rand_r(&w->seed) % (unsigned)n];
        pthread_mutex_unlock(&c->mu);
        qsort(pick, (size_t)k, sizeof pick[0], s_cmp_ll);
        int ok = sy_run(db, "BEGIN", 0, NULL) == 0;
        char sleep_s[32];
        if (ok && rand_r(&w->seed) % 2) {
            snprintf(sleep_s, sizeof sleep_s, "%.3f", (rand_r(&w->seed) % 30) / 1000.0);
            const char *ps[1] = { sleep_s };
            ok = sy_run(db, "SELECT now(), pg_sleep($1::float8)", 1, ps) == 0;
        }
        for (int i = 0; ok && i < k; i++) {
            if (i > 0 && pick[i] == pick[i - 1])
                continue;
            char id_s[24];
            snprintf(id_s, sizeof id_s, "%lld", pick[i]);
            const char *p[2] = { tid, id_s };
            ok = sy_run(db, c->L->bump_sql, 2, p) == 0;
            snprintf(sleep_s, sizeof sleep_s, "%.3f", (rand_r(&w->seed) % 15) / 1000.0);
            const char *ps[1] = { sleep_s };
            ok = ok && sy_run(db, "SELECT pg_sleep($1::float8)", 1, ps) == 0;
        }
        if (ok && sy_run(db, "COMMIT", 0, NULL) == 0) {
            atomic_fetch_add(&c->sql_commits, 1);
        } else {
            sy_run(db, "ROLLBACK", 0, NULL);
            atomic_fetch_add(&c->sql_errors, 1);
        }
    }
    PQfinish(db);
    return NULL;
}

/* Inserts rows through the API and, where the API can change a row, changes
 * random ones. */
static void *s_api_writer(void *arg)
{
    s_writer_t *w = arg;
    s_ctx_t *c = w->c;
    char key[64];
    sy_key(c->tenant, key);
    while (!atomic_load(&c->stop_writers)) {
        if (s_add_row(c, key) > 0)
            atomic_fetch_add(&c->api_writes, 1);
        else
            atomic_fetch_add(&c->api_errors, 1);
        if (c->L->api_change) {
            pthread_mutex_lock(&c->mu);
            int k = (int)(rand_r(&w->seed) % (unsigned)c->nids);
            pthread_mutex_unlock(&c->mu);
            if (c->L->api_change(c, key, k) == 0)
                atomic_fetch_add(&c->api_writes, 1);
            else
                atomic_fetch_add(&c->api_errors, 1);
        }
        kvt_sleep_ms(40);
    }
    return NULL;
}

/* Walks with cursors only, from the start, until told to stop. */
static void *s_reader(void *arg)
{
    s_ctx_t *c = arg;
    while (!atomic_load(&c->stop_reader)) {
        if (s_walk_on(c, c->reader_key, 7) != 0)
            c->reader_errors++;
        kvt_sleep_ms(30);
    }
    return NULL;
}

/* 1 when, for every row of the tenant, the last version the walk returned
 * is the one in the database; *missing gets how many rows lag. */
static int s_converged(s_ctx_t *c, PGconn *db, int *missing)
{
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", c->tenant);
    const char *p[1] = { tid };
    PGresult *r = sy_sql(db, c->L->version_sql, 1, p);
    *missing = -1;
    if (!r)
        return 0;
    int lag = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        long long id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        json_t *last = s_last_seen(c, id);
        const char *v = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
        json_t *vj = v ? json_string(v) : json_null();
        if (!last || s_version(json_object_get(last, c->L->col)) != s_version(vj))
            lag++;
        json_decref(vj);
    }
    PQclear(r);
    *missing = lag;
    return lag == 0;
}

static void test_writers(const s_list_t *L)
{
    s_ctx_t c;
    s_setup(&c, L);
    const char *n = L->name;
    for (int i = 0; i < S_INITIAL_ROWS; i++)
        s_add_row(&c, c.key);
    KVT_EQ_INT(c.nids, S_INITIAL_ROWS, "%s writers: %d rows to start with", n, S_INITIAL_ROWS);

    pthread_t reader, api, sql[S_SQL_WRITERS];
    s_writer_t ws[S_SQL_WRITERS + 1];
    pthread_create(&reader, NULL, s_reader, &c);
    for (int i = 0; i <= S_SQL_WRITERS; i++) {
        ws[i].c = &c;
        ws[i].seed = (unsigned)(time(NULL) ^ (getpid() << 4) ^ (i * 7919));
    }
    for (int i = 0; i < S_SQL_WRITERS; i++)
        pthread_create(&sql[i], NULL, s_sql_writer, &ws[i]);
    pthread_create(&api, NULL, s_api_writer, &ws[S_SQL_WRITERS]);
    kvt_sleep_ms(S_RUN_MS);
    atomic_store(&c.stop_writers, 1);
    for (int i = 0; i < S_SQL_WRITERS; i++)
        pthread_join(sql[i], NULL);
    pthread_join(api, NULL);
    atomic_store(&c.stop_reader, 1);
    pthread_join(reader, NULL);

    /* the same walk goes on until it shows every row's final state (rows of
     * finished transactions become visible once every older transaction of
     * the cluster is finished: normally at once) */
    PGconn *db = sy_pg(L->service);
    int missing = -1, ok = 0;
    for (int waited = 0; waited <= S_CONVERGE_MS && !ok; waited += 100) {
        if (s_walk_on(&c, c.reader_key, 50) != 0)
            c.reader_errors++;
        ok = s_converged(&c, db, &missing);
        if (!ok)
            kvt_sleep_ms(100);
    }
    int commits = atomic_load(&c.sql_commits), api_writes = atomic_load(&c.api_writes);
    printf("# %s writers: %d SQL transactions committed (%d rolled back), %d API writes "
           "(%d failed), %d rows, %zu items returned in %d pages\n", n, commits,
           atomic_load(&c.sql_errors), api_writes, atomic_load(&c.api_errors), c.nids,
           json_array_size(c.seen), c.reader_pages);
    KVT_OK(commits > 20 && api_writes > 10, "%s writers: the writers wrote (%d transactions, "
           "%d API writes)", n, commits, api_writes);
    KVT_OK(c.reader_errors == 0, "%s writers: every page of the walk answered 200 (%d errors)",
           n, c.reader_errors);
    KVT_OK(ok, "%s writers: the walk reached every row's final version (%d rows lag)", n,
           missing);

    /* per row, the state the walk returns strictly moves forward: every
     * change bumps the version (SQL writers) or the rank (API changes), and
     * neither ever goes back, so a change returned twice would repeat a pair
     * and an older state after a newer one would lower it */
    json_t *last_v = json_object();
    int repeats = 0, regress = 0;
    size_t i;
    json_t *it;
    json_array_foreach(c.seen, i, it) {
        char k[24];
        snprintf(k, sizeof k, "%lld", (long long)json_integer_value(json_object_get(it, "id")));
        long v = s_version(json_object_get(it, L->col));
        long rk = L->rank(it);
        json_t *prev = json_object_get(last_v, k);
        if (prev) {
            long pv = (long)json_integer_value(json_array_get(prev, 0));
            long prk = (long)json_integer_value(json_array_get(prev, 1));
            if (v == pv && rk == prk)
                repeats++;
            else if (v < pv || rk < prk)
                regress++;
        }
        json_object_set_new(last_v, k, json_pack("[II]", (json_int_t)v, (json_int_t)rk));
    }
    KVT_OK(repeats == 0, "%s writers: no change was returned twice (%d repeats)", n, repeats);
    KVT_OK(regress == 0, "%s writers: no row went back to an older state (%d)", n, regress);
    KVT_OK(json_object_size(last_v) == (size_t)c.nids,
           "%s writers: every row was returned (%zu of %d)", n, json_object_size(last_v), c.nids);
    json_decref(last_v);

    /* the last state returned is the row's state, field for field */
    char show_key[64];
    sy_key(c.tenant, show_key);
    int differ = 0;
    for (int k = 0; k < c.nids; k++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%lld", L->path, c.ids[k]);
        kvt_resp_t r = kvt_api(show_key, "GET", path, NULL);
        json_t *now = se_data(&r), *last = s_last_seen(&c, c.ids[k]);
        const char *f;
        json_t *v;
        int same = r.status == 200 && last != NULL;
        json_object_foreach(last, f, v)
            same &= json_equal(v, json_object_get(now, f));
        if (!same && ++differ <= 3) {
            char *a = last ? json_dumps(last, JSON_COMPACT) : NULL;
            char *b = now ? json_dumps(now, JSON_COMPACT) : NULL;
            fprintf(stderr, "%s %lld: last seen %s, now %s\n", n, c.ids[k], a ? a : "none",
                    b ? b : "none");
            free(a);
            free(b);
        }
        kvt_resp_free(&r);
    }
    KVT_OK(differ == 0, "%s writers: the last state the walk returned is each row's final "
           "state (%d differ)", n, differ);

    PQfinish(db);
    json_decref(c.seen);
    pthread_mutex_destroy(&c.mu);
}

int main(void)
{
    for (size_t i = 0; i < sizeof s_lists / sizeof s_lists[0]; i++) {
        test_held(&s_lists[i]);
        test_writers(&s_lists[i]);
    }
    return kvt_done();
}
