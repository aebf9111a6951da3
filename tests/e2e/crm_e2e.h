/*
 * crm_e2e.h -- small helpers shared by the crm end-to-end tests
 * (tests/e2e/test_crm_*.c): create a customer, list with an encoded query,
 * read fields of an envelope.  Header-only (static functions) so that each
 * test stays one self-contained binary.
 */
#ifndef CRM_E2E_H
#define CRM_E2E_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/kvt.h"

/* data of an envelope (borrowed, may be NULL). */
static inline json_t *crm_data(const kvt_resp_t *r)
{
    return json_object_get(r->json, "data");
}

/* data.<field> as a string (borrowed), NULL when absent or not a string. */
static inline const char *crm_str(const kvt_resp_t *r, const char *field)
{
    return json_string_value(json_object_get(crm_data(r), field));
}

/* data.<field> as an integer, -1 when absent or not an integer. */
static inline long long crm_int(const kvt_resp_t *r, const char *field)
{
    json_t *v = json_object_get(crm_data(r), field);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* meta.<field> as an integer, -1 when absent. */
static inline long long crm_meta(const kvt_resp_t *r, const char *field)
{
    json_t *v = json_object_get(json_object_get(r->json, "meta"), field);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* The first message of errors.<field>, NULL when none. */
static inline const char *crm_err(const kvt_resp_t *r, const char *field)
{
    json_t *e = json_object_get(json_object_get(r->json, "errors"), field);
    return json_string_value(json_array_get(e, 0));
}

/* Number of keys of the errors object (-1 when there is none). */
static inline int crm_nerrors(const kvt_resp_t *r)
{
    json_t *e = json_object_get(r->json, "errors");
    return json_is_object(e) ? (int)json_object_size(e) : -1;
}

/* POSTs body (JSON text) to /api/v1/customers; the new id, or -1 when the
 * answer is not 201 (printed on stderr). */
static inline long long crm_create(const char *key, const char *body)
{
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/customers", body);
    long long id = r.status == 201 ? crm_int(&r, "id") : -1;
    if (id <= 0)
        fprintf(stderr, "crm_create %s -> %ld %.300s\n", body, r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return id;
}

/* Percent-encodes s into out (size bytes; truncates safely). */
static inline void crm_urlenc(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

/* GET /api/v1/customers?<name>=<value encoded>[&<extra>] (extra already
 * encoded, may be NULL). */
static inline kvt_resp_t crm_list1(const char *key, const char *name, const char *value,
                                   const char *extra)
{
    char enc[512], path[1024];
    crm_urlenc(value, enc, sizeof enc);
    snprintf(path, sizeof path, "/api/v1/customers?%s=%s%s%s", name, enc,
             extra ? "&" : "", extra ? extra : "");
    return kvt_api(key, "GET", path, NULL);
}

/* True when data is an array whose items' "id" are exactly ids[0..n) in
 * that order. */
static inline int crm_ids_are(const kvt_resp_t *r, const long long *ids, size_t n)
{
    json_t *d = crm_data(r);
    if (!json_is_array(d) || json_array_size(d) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (json_integer_value(json_object_get(json_array_get(d, i), "id")) != ids[i])
            return 0;
    return 1;
}

#endif
