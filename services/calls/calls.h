/*
 * calls.h -- the pieces of the calls service that its files share: the
 * statement table (db.c), the call object builders (call_json.c) and the
 * operation handlers (calls.c).  main.c wires them into a kv_service_def_t.
 * Pure validation lives apart in call_valid.h so that the unit tests reach
 * it without a database.
 */
#ifndef CALLS_H
#define CALLS_H

#include <libpq-fe.h>
#include <jansson.h>

#include "kv_service.h"

/* Every statement of the service, ending with {NULL, NULL} (db.c). */
extern const kv_stmt_t calls_stmts[];

/* The columns every call-returning statement yields, in this order
 * (CALLS_COLS in db.c).  Timestamps are RFC 3339 UTC text, missed is
 * 't'/'f'. */
enum {
    CALLS_COL_ID = 0, CALLS_COL_EXTERNAL_ID, CALLS_COL_PHONE, CALLS_COL_NAME,
    CALLS_COL_CUSTOMER_ID, CALLS_COL_DIRECTION, CALLS_COL_STARTED, CALLS_COL_ENDED,
    CALLS_COL_DURATION, CALLS_COL_MISSED, CALLS_COL_OUTCOME, CALLS_COL_SENTIMENT,
    CALLS_COL_QUALITY, CALLS_COL_SUMMARY, CALLS_COL_RECORDING, CALLS_COL_CREATED,
    CALLS_COL_UPDATED, CALLS_COL_COUNT
};

/* The columns of calls_turns: speaker, text, offset_seconds (numeric text). */
enum { CALLS_TURN_SPEAKER = 0, CALLS_TURN_TEXT, CALLS_TURN_OFFSET, CALLS_TURN_COUNT };

/* The public call object of row `row` of r (columns above), without the
 * transcript: what list items carry.  Caller owns the result. */
json_t *calls_call_json(const PGresult *r, int row);

/* The ordered transcript list from a calls_turns result.  Caller owns the
 * result. */
json_t *calls_transcript_json(const PGresult *turns);

/* Operation handlers (calls.c). */
void calls_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void calls_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void calls_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
/* calls.stats: GET /api/v1/calls/stats?from_date=&to_date= (extension). */
void calls_stats(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
/* calls.lookup (bus only, asked by scheduling): params {"id"} -> 200
 * {"id","started_at"} | 404 when the tenant has no such call. */
void calls_lookup(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);

#endif
