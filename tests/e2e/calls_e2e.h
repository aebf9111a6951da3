/*
 * calls_e2e.h -- small helpers shared by the calls end-to-end tests
 * (tests/e2e/test_calls_*.c): log a call, list with a query, read fields of
 * an envelope.
 * Header-only (static functions) so that each test stays one
 * self-contained binary.
 */
#ifndef CALLS_E2E_H
#define CALLS_E2E_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/kvt.h"

/* data of an envelope (borrowed, may be NULL). */
static inline json_t *calls_data(const kvt_resp_t *r)
{
    return json_object_get(r->json, "data");
}

/* data.<field> as a string (borrowed), NULL when absent or not a string. */
static inline const char *calls_str(const kvt_resp_t *r, const char *field)
{
    return json_string_value(json_object_get(calls_data(r), field));
}

/* data.<field> as an integer, -1 when absent or not an integer. */
static inline long long calls_int(const kvt_resp_t *r, const char *field)
{
    json_t *v = json_object_get(calls_data(r), field);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* meta.<field> as an integer, -1 when absent. */
static inline long long calls_meta(const kvt_resp_t *r, const char *field)
{
    json_t *v = json_object_get(json_object_get(r->json, "meta"), field);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* True when errors.<field> holds at least one message. */
static inline int calls_has_err(const kvt_resp_t *r, const char *field)
{
    json_t *e = json_object_get(json_object_get(r->json, "errors"), field);
    return json_is_array(e) && json_array_size(e) > 0;
}

/* POSTs body (JSON text) to /api/v1/calls. */
static inline kvt_resp_t calls_post(const char *key, const char *body)
{
    return kvt_api(key, "POST", "/api/v1/calls", body);
}

/* POSTs body and returns the new call's id, or -1 when the answer is not
 * 201 (printed on stderr). */
static inline long long calls_log(const char *key, const char *body)
{
    kvt_resp_t r = calls_post(key, body);
    long long id = r.status == 201 ? calls_int(&r, "id") : -1;
    if (id <= 0)
        fprintf(stderr, "calls_log %s -> %ld %.300s\n", body, r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return id;
}

/* GET /api/v1/calls?query (query may be ""): writes the ids of data, in
 * order, comma-separated into ids (e.g. "12,9,3"; "" when none), sets
 * *total to meta.total and returns the HTTP status. */
static inline long calls_list_ids(const char *key, const char *query, char *ids, size_t size,
                                  long long *total)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/calls%s%s", query[0] ? "?" : "", query);
    kvt_resp_t r = kvt_api(key, "GET", path, NULL);
    size_t o = 0;
    ids[0] = '\0';
    size_t i;
    json_t *c;
    json_array_foreach(calls_data(&r), i, c) {
        int n = snprintf(ids + o, size - o, "%s%lld", o ? "," : "",
                         (long long)json_integer_value(json_object_get(c, "id")));
        if (n < 0 || (size_t)n >= size - o)
            break;
        o += (size_t)n;
    }
    *total = calls_meta(&r, "total");
    long st = r.status;
    kvt_resp_free(&r);
    return st;
}

#endif
