/*
 * kv_api.h -- what a service operation handler sees and answers.
 *
 * The gateway turns an HTTP request into a bus request whose body is
 *   {"params": {"id": "12"}, "query": {"page": "2"}, "body": <JSON or null>}
 * (path parameters and query values always strings, exactly as sent).  A
 * handler is a pure function of that request and its connection state: it
 * fills a kv_rep_t with a status and a complete response envelope
 *   {"success": true, "data": ..., "meta": ...}
 *   {"success": false, "message": "...", "errors": {"field": ["..."]}}
 * which the gateway passes to the client byte for byte.
 */
#ifndef KV_API_H
#define KV_API_H

#include <stdint.h>
#include <jansson.h>

#include "kv_bus.h"
#include "kv_db.h"
#include "kv_json.h"

typedef struct {
    const kv_hdr_t *hdr;     /* request id, op, tenant context, deadline */
    json_t *params;          /* borrowed; object, never NULL */
    json_t *query;           /* borrowed; object, never NULL */
    json_t *body;            /* borrowed; any JSON value or NULL (no body) */
} kv_req_t;

typedef struct {
    int status;              /* KV_ST_*; preset to 500 before the handler runs */
    json_t *body;            /* owned; the whole envelope */
    char *text;              /* owned; or the whole envelope already written
                                (kv_reply_ok_end), body then NULL */
    size_t text_len;
} kv_rep_t;

/* Shortcuts for the common fields of a request. */
#define KV_RID(req)    ((req)->hdr->id)
#define KV_TENANT(req) ((req)->hdr->tenant_id)

/* Fill rep with a success envelope.  Steals data and meta (meta may be
 * NULL: no "meta" key). */
void kv_reply_ok(kv_rep_t *rep, int status, json_t *data, json_t *meta);
/* The success envelope of a long list written directly, without a tree
 * (kv_json.h, kv_jw): kv_reply_ok_begin starts w with the envelope up to
 * data's value, which the handler then writes; kv_reply_ok_end adds meta
 * (stolen, may be NULL), closes the envelope and makes it rep's answer:
 * the same bytes kv_reply_ok gives for the same data and meta.  A writer
 * that failed makes the answer a 500. */
void kv_reply_ok_begin(kv_jw_t *w);
void kv_reply_ok_end(kv_rep_t *rep, int status, kv_jw_t *w, json_t *meta);
/* Fill rep with an error envelope.  Steals errors (may be NULL: no
 * "errors" key). */
void kv_reply_error(kv_rep_t *rep, int status, const char *message, json_t *errors);
/* 404 with "<what> not found." */
void kv_reply_not_found(kv_rep_t *rep, const char *what);
/* 422 with message "The given data was invalid." and the errors object,
 * which it steals. */
void kv_reply_invalid(kv_rep_t *rep, json_t *errors);
/* 500 "Internal server error." (the details go to the log, not the client). */
void kv_reply_internal(kv_rep_t *rep);
/* 503 "Service temporarily unavailable." (e.g. database down). */
void kv_reply_unavailable(kv_rep_t *rep);
/* Answers a statement of db that failed (kv_db_exec NULL, kv_db_run -1):
 * 503 when the connection was the trouble (the client may retry), 500
 * otherwise (the details are in the log already).  Rolls nothing back. */
void kv_reply_db_error(kv_rep_t *rep, const kv_db_t *db);

/* The standard list meta {"page","per_page","total"}.  New reference. */
json_t *kv_meta_page(int page, int per_page, long long total);

/* Fills the LIMIT and OFFSET statement parameters of page (>= 1) of
 * per_page rows as decimal text; returns the offset as a number. */
long long kv_page_params(int page, int per_page, char limit[KV_DB_I64_LEN],
                         char offset[KV_DB_I64_LEN]);

/* Cell (row, col) of r as a JSON string, or null when SQL NULL.  New
 * reference. */
json_t *kv_json_cell_str(const PGresult *r, int row, int col);
/* Cell (row, col) of r (an integer column) as a JSON integer, or null when
 * SQL NULL.  New reference. */
json_t *kv_json_cell_int(const PGresult *r, int row, int col);

/* kv_json_cell_str for a writer: the cell as a string, or null. */
void kv_jw_cell_str(kv_jw_t *w, const PGresult *r, int row, int col);

/* Adds msg to errors[field] (creating the list).  errors must be an object. */
void kv_errors_add(json_t *errors, const char *field, const char *msg);

/* Reads page and per_page from query: absent means 1 and def_per_page;
 * page must be an integer 1..KV_PAGE_MAX, per_page an integer
 * 1..max_per_page (kv_query_int's messages: "The page must be an
 * integer.", "... must be at least 1.", "... may not be greater than N.";
 * an empty value is "must be an integer.").  Anything else adds a message to
 * errors["page"] / errors["per_page"].  Returns 0 when both are valid. */
int kv_query_page(json_t *query, int def_per_page, int max_per_page,
                  int *page, int *per_page, json_t *errors);

/* The string value of query[key] or params[key], or NULL when absent ("" for
 * a value that is not a string).  The typed readers of kv_valid.h
 * (kv_query_id, kv_query_date, ...) are what handlers use; this one is for
 * values no reader covers. */
const char *kv_query_str(json_t *query, const char *key);

/* The path parameter "id" as a positive 64-bit integer, or 0 when absent
 * or not a positive integer (the gateway only routes digits). */
int64_t kv_param_id(const kv_req_t *req, const char *key);

#endif
