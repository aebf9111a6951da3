/*
 * kv_api.c -- response envelopes, validation error lists and the common
 * request readers (pagination, path ids, query strings).
 *
 * Every reply a handler produces goes through kv_reply_*, so the envelope
 * shape of the API reference lives here only:
 *   {"success":true,"data":...[,"meta":{...}]}
 *   {"success":false,"message":"..."[,"errors":{"field":["..."]}]}
 * Query and path values arrive as JSON strings exactly as the client sent
 * them; a value of any other JSON type is treated as invalid input.
 */
#include "kv_api.h"
#include "kv_valid.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replaces rep's answer with body (stolen). */
static void s_set(kv_rep_t *rep, int status, json_t *body)
{
    if (rep->body)
        json_decref(rep->body);
    free(rep->text);
    rep->text = NULL;
    rep->text_len = 0;
    rep->status = status;
    rep->body = body;
}

void kv_reply_ok(kv_rep_t *rep, int status, json_t *data, json_t *meta)
{
    json_t *o = json_object();
    json_object_set_new(o, "success", json_true());
    json_object_set_new(o, "data", data ? data : json_null());
    if (meta)
        json_object_set_new(o, "meta", meta);
    s_set(rep, status, o);
}

void kv_reply_ok_begin(kv_jw_t *w)
{
    kv_jw_init(w);
    kv_jw_obj(w);
    kv_jw_key(w, "success");
    kv_jw_bool(w, 1);
    kv_jw_key(w, "data");
}

void kv_reply_ok_end(kv_rep_t *rep, int status, kv_jw_t *w, json_t *meta)
{
    if (meta) {
        kv_jw_key(w, "meta");
        kv_jw_json(w, meta, 15);
        json_decref(meta);
    }
    kv_jw_end(w);
    size_t len;
    char *text = kv_jw_take(w, &len);
    if (!text) {
        kv_reply_internal(rep);
        return;
    }
    s_set(rep, status, NULL);
    rep->text = text;
    rep->text_len = len;
}

void kv_reply_error(kv_rep_t *rep, int status, const char *message, json_t *errors)
{
    json_t *o = json_object();
    json_object_set_new(o, "success", json_false());
    json_object_set_new(o, "message", json_string(message ? message : "Error."));
    if (errors)
        json_object_set_new(o, "errors", errors);
    s_set(rep, status, o);
}

void kv_reply_not_found(kv_rep_t *rep, const char *what)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s not found.", what ? what : "Resource");
    kv_reply_error(rep, KV_ST_NOT_FOUND, msg, NULL);
}

void kv_reply_invalid(kv_rep_t *rep, json_t *errors)
{
    kv_reply_error(rep, KV_ST_UNPROCESSABLE, "The given data was invalid.",
                   errors ? errors : json_object());
}

void kv_reply_internal(kv_rep_t *rep)
{
    kv_reply_error(rep, KV_ST_INTERNAL, "Internal server error.", NULL);
}

void kv_reply_unavailable(kv_rep_t *rep)
{
    kv_reply_error(rep, KV_ST_UNAVAILABLE, "Service temporarily unavailable.", NULL);
}

void kv_reply_db_error(kv_rep_t *rep, const kv_db_t *db)
{
    if (kv_db_conn_error(db))
        kv_reply_unavailable(rep);
    else
        kv_reply_internal(rep);
}

json_t *kv_meta_page(int page, int per_page, long long total)
{
    json_t *m = json_object();
    json_object_set_new(m, "page", json_integer(page));
    json_object_set_new(m, "per_page", json_integer(per_page));
    json_object_set_new(m, "total", json_integer(total));
    return m;
}

long long kv_page_params(int page, int per_page, char limit[KV_DB_I64_LEN],
                         char offset[KV_DB_I64_LEN])
{
    assert(page >= 1 && per_page >= 1);
    long long off = (long long)(page - 1) * per_page;
    kv_db_i64_param(limit, per_page);
    kv_db_i64_param(offset, off);
    return off;
}

json_t *kv_json_cell_str(const PGresult *r, int row, int col)
{
    const char *v = kv_db_str(r, row, col);
    return v ? json_string(v) : json_null();
}

void kv_jw_cell_str(kv_jw_t *w, const PGresult *r, int row, int col)
{
    kv_jw_cstr(w, kv_db_str(r, row, col));
}

json_t *kv_json_cell_int(const PGresult *r, int row, int col)
{
    return kv_db_str(r, row, col) ? json_integer(kv_db_i64(r, row, col)) : json_null();
}

void kv_errors_add(json_t *errors, const char *field, const char *msg)
{
    assert(json_is_object(errors));
    json_t *list = json_object_get(errors, field);
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(errors, field, list);
    }
    json_array_append_new(list, json_string(msg));
}

/* One of page / per_page: absent means *out untouched (the default); an
 * empty value is refused like any other non-integer (unlike the filters,
 * where an empty value means "no filter": a page number is not optional
 * once the parameter is written). */
static int s_page_int(json_t *query, const char *key, int64_t max, int *out, json_t *errors)
{
    json_t *v = json_is_object(query) ? json_object_get(query, key) : NULL;
    if (v && json_is_string(v) && json_string_length(v) == 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "The %s must be an integer.", key);
        kv_errors_add(errors, key, msg);
        return -1;
    }
    int64_t x;
    int rc = kv_query_int(query, key, KV_OPTIONAL, 1, max, &x, errors);
    if (rc == KV_FIELD_OK)
        *out = (int)x;
    return rc == KV_FIELD_BAD ? -1 : 0;
}

int kv_query_page(json_t *query, int def_per_page, int max_per_page,
                  int *page, int *per_page, json_t *errors)
{
    assert(def_per_page >= 1 && def_per_page <= max_per_page);
    *page = 1;
    *per_page = def_per_page;
    int rc = 0;
    if (s_page_int(query, "page", KV_PAGE_MAX, page, errors) != 0)
        rc = -1;
    if (s_page_int(query, "per_page", max_per_page, per_page, errors) != 0)
        rc = -1;
    return rc;
}

const char *kv_query_str(json_t *query, const char *key)
{
    json_t *v = json_is_object(query) ? json_object_get(query, key) : NULL;
    if (!v)
        return NULL;
    /* A non-string value (null included) cannot come from a well-formed
     * query string: hand back "" so that the caller's validation refuses
     * it, as kv_query_page does. */
    return json_is_string(v) ? json_string_value(v) : "";
}

int64_t kv_param_id(const kv_req_t *req, const char *key)
{
    json_t *v = json_is_object(req->params) ? json_object_get(req->params, key ? key : "id") : NULL;
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    if (s[0] < '0' || s[0] > '9')  /* digits only: no '-' */
        return 0;
    int64_t x;
    if (kv_parse_i64(s, &x) != 0 || x <= 0)
        return 0;
    return x;
}
