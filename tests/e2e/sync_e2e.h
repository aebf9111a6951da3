/*
 * sync_e2e.h -- helpers shared by the incremental-sync end-to-end tests
 * (tests/e2e/test_sync_*.c): one page of a list's sync, a whole walk to
 * "nothing more visible now", extra API keys of a tenant (each key has its
 * own rate limit), and PostgreSQL connections of a service's own role, with
 * which a test holds transactions open or writes as a future update path
 * would.  Header-only (static functions) so each test stays one binary.
 */
#ifndef SYNC_E2E_H
#define SYNC_E2E_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "../lib/kvt.h"

/* ---- the API ------------------------------------------------------------ */

/* meta.<field> as a string (borrowed), NULL when absent or not a string. */
static inline const char *sy_meta_str(const kvt_resp_t *r, const char *field)
{
    return json_string_value(json_object_get(json_object_get(r->json, "meta"), field));
}

/* The first message of errors.<field>, NULL when none. */
static inline const char *sy_err(const kvt_resp_t *r, const char *field)
{
    return json_string_value(json_array_get(
        json_object_get(json_object_get(r->json, "errors"), field), 0));
}

/* GET <path>?<query> with key. */
static inline kvt_resp_t sy_get(const char *key, const char *path, const char *query)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s%s", path, query && query[0] ? "?" : "", query ? query : "");
    return kvt_api(key, "GET", url, NULL);
}

/* One sync page: GET path?cursor=<cursor> (or ?<start> when cursor is NULL,
 * e.g. "updated_since=1970-01-01T00:00:00Z") with per_page. */
static inline kvt_resp_t sy_page(const char *key, const char *path, const char *start,
                                 const char *cursor, int per_page)
{
    char q[512];
    if (cursor)
        snprintf(q, sizeof q, "cursor=%s&per_page=%d", cursor, per_page);
    else
        snprintf(q, sizeof q, "%s&per_page=%d", start, per_page);
    return sy_get(key, path, q);
}

/* A walk: pages from start (or from cursor, when not NULL) until
 * next_cursor is null.  Appends every item to items (a JSON array, each
 * item a new reference), writes the last resume_cursor into resume[64] and
 * returns the number of pages, or -1 when a page was not 200 with the sync
 * meta (printed on stderr). */
static inline int sy_walk(const char *key, const char *path, const char *start,
                          const char *cursor, int per_page, json_t *items, char resume[64])
{
    char cur[64] = "";
    if (cursor)
        snprintf(cur, sizeof cur, "%s", cursor);
    for (int pages = 1; pages < 100000; pages++) {
        kvt_resp_t r = sy_page(key, path, start, cur[0] ? cur : NULL, per_page);
        const char *res = sy_meta_str(&r, "resume_cursor");
        json_t *next = json_object_get(json_object_get(r.json, "meta"), "next_cursor");
        json_t *data = json_object_get(r.json, "data");
        if (r.status != 200 || !res || !json_is_array(data) ||
            !(json_is_null(next) || json_is_string(next))) {
            fprintf(stderr, "sy_walk %s: %ld %.300s\n", path, r.status, r.body ? r.body : "");
            kvt_resp_free(&r);
            return -1;
        }
        json_array_extend(items, data);
        snprintf(resume, 64, "%s", res);
        int last = json_is_null(next);
        if (!last)
            snprintf(cur, sizeof cur, "%s", json_string_value(next));
        kvt_resp_free(&r);
        if (last)
            return pages;
    }
    return -1;
}

/* The ids of items, comma-separated, into buf ("" when none). */
static inline const char *sy_ids(const json_t *items, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        int n = snprintf(buf + o, size - o, "%s%lld", o ? "," : "",
                         (long long)json_integer_value(json_object_get(it, "id")));
        if (n < 0 || (size_t)n >= size - o)
            break;
        o += (size_t)n;
    }
    return buf;
}

/* One more API key of tenant (own rate-limit window) into key[64]; exits
 * the test when it cannot be made. */
static inline void sy_key(long long tenant, char key[64])
{
    char path[96];
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/keys", tenant);
    kvt_resp_t k = kvt_admin("POST", path, "{\"name\":\"sync-test\"}");
    const char *kv = json_string_value(json_object_get(json_object_get(k.json, "data"), "key"));
    if (k.status != 201 || !kv || strlen(kv) >= 64) {
        printf("FAIL sync_setup: could not create a key (%ld)\n", k.status);
        exit(1);
    }
    snprintf(key, 64, "%s", kv);
    kvt_resp_free(&k);
}

/* ---- PostgreSQL as a service's role ---------------------------------------- */

/* A connection to the test stack's database (KAIVOX_DATABASE_URL, set by
 * tests/run.sh) as role kaivox_<service>, search_path <service>: exactly
 * what the service itself can see and do.  Exits the test on failure. */
static inline PGconn *sy_pg(const char *service)
{
    char user[64], options[96];
    snprintf(user, sizeof user, "kaivox_%s", service);
    snprintf(options, sizeof options, "-c search_path=%s,public", service);
    const char *url = kvt_env("KAIVOX_DATABASE_URL", "postgresql://127.0.0.1:18032/kaivox");
    const char *const keys[] = { "dbname", "user", "options", "application_name", NULL };
    const char *const vals[] = { url, user, options, "kaivox-sync-test", NULL };
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        printf("FAIL sync_setup: cannot connect as %s: %s\n", user, PQerrorMessage(c));
        exit(1);
    }
    return c;
}

/* Runs sql with n text parameters on c; returns the result when it
 * succeeded (caller PQclears), else prints the error and returns NULL. */
static inline PGresult *sy_sql(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "sy_sql %s: %s\n", sql, PQerrorMessage(c));
        PQclear(r);
        return NULL;
    }
    return r;
}

/* sy_sql for statements whose result does not matter: 0 or -1. */
static inline int sy_run(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = sy_sql(c, sql, n, params);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

#endif
