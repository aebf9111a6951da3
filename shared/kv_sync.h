/*
 * kv_sync.h -- incremental sync of a list: `updated_since`, `cursor` and
 * the meta of a sync page (issue 13, item 5).
 *
 * Appointments, customers and calls can be walked in *change order*: every
 * row carries sync_xid, the id of the transaction that last changed it
 * (stamped by a trigger, sql/<service>/002_sync.sql), and a sync page holds
 * the rows after a position (sync_xid, id), in that order, whose
 * transaction is older than every transaction still running
 * (sync_xid < pg_snapshot_xmin(pg_current_snapshot())).  Nothing can
 * therefore appear later behind a position a client was given: a walk
 * returns every change once (docs/architecture.md, "Incremental sync", has
 * the argument).
 *
 * What the three list handlers share:
 *   - the RFC 3339 timestamps of `updated_since`;
 *   - the opaque cursor: base64url of (list, position, the walk's
 *     updated_since), with a digest over those and the tenant, so that a
 *     garbled or edited cursor, or one of another list or tenant, is
 *     refused (422 errors.cursor) instead of silently walking elsewhere;
 *   - the query reader deciding between a plain page (page / per_page, as
 *     before) and a sync page, with the combination rules;
 *   - the sync meta {"per_page", "next_cursor", "resume_cursor"}.
 * Everything but kv_sync_fetch is pure (no I/O) and unit-tested in
 * tests/unit/shared/test_sync.c; kv_sync_fetch runs a list's two sync
 * statements, written with the KV_SYNC_SQL_* pieces below so that the
 * three lists apply one rule.
 */
#ifndef KV_SYNC_H
#define KV_SYNC_H

#include <stdint.h>

#include "kv_valid.h"
#include <jansson.h>
#include <libpq-fe.h>

#include "kv_db.h"

/* The lists that can be walked; part of every cursor. */
typedef enum {
    KV_SYNC_APPOINTMENTS = 1,
    KV_SYNC_CUSTOMERS = 2,
    KV_SYNC_CALLS = 3
} kv_sync_list_t;

/* Characters of a cursor (36 bytes in base64url, no padding). */
#define KV_SYNC_CURSOR_CHARS 48

/* A position in a list's change order: just after the change of row id by
 * transaction xid.  {0, 0} is before every change. */
typedef struct {
    uint64_t xid;            /* < 2^63 */
    int64_t id;              /* >= 0 */
} kv_sync_pos_t;

/* What a cursor carries: where the walk is, and the updated_since it
 * started with (kept for the whole walk). */
typedef struct {
    kv_sync_pos_t pos;
    int has_since;           /* 1: since_us applies */
    int64_t since_us;        /* Unix epoch microseconds */
} kv_sync_state_t;

/* Encodes st for list and tenant into out (KV_SYNC_CURSOR_CHARS characters
 * of [A-Za-z0-9_-] and a NUL). */
void kv_sync_cursor_encode(kv_sync_list_t list, int64_t tenant, const kv_sync_state_t *st,
                           char out[KV_SYNC_CURSOR_CHARS + 1]);

/* Decodes a cursor that kv_sync_cursor_encode made for this list and
 * tenant.  0 with *st filled, or -1 for anything else: a wrong length or
 * character, an unknown version, another list or tenant, any changed byte
 * (the digest), a position or an updated_since out of range (the latter:
 * outside what kv_parse_rfc3339 can give). */
int kv_sync_cursor_decode(kv_sync_list_t list, int64_t tenant, const char *s,
                          kv_sync_state_t *st);

/* A sync request, read by kv_query_sync. */
typedef struct {
    kv_sync_state_t st;      /* where to start and the walk's updated_since */
    int first;               /* 1: no position yet (st.pos is {0, 0}) and an
                                updated_since: the page starts at the oldest
                                change at or after it */
    int per_page;            /* 1..KV_PER_PAGE_MAX, default KV_PER_PAGE_DEFAULT */
    char since[KV_RFC3339_LEN];   /* st.since_us as canonical text, "" when none */
} kv_sync_req_t;

/* Reads the sync parameters of a list's query (an object of strings; an
 * empty value is absent, as everywhere):
 *   - neither `updated_since` nor `cursor`: KV_FIELD_ABSENT, nothing read,
 *     no error: the caller serves a plain page as before;
 *   - `updated_since` (kv_parse_rfc3339; a '+' of the offset that arrived
 *     as a space -- an unencoded '+' in a query string -- is read as '+')
 *     starts a walk; `cursor` (kv_sync_cursor_decode for list and tenant)
 *     continues one;
 *   - refused together with them, each under its own name: `page`, the
 *     other of updated_since / cursor, and every key of filters (a
 *     NULL-terminated list of the list's filter parameters; may be NULL);
 *   - `per_page` as in a plain list.
 * Returns KV_FIELD_OK with *out filled, or KV_FIELD_BAD with every problem
 * added to errors. */
int kv_query_sync(json_t *query, kv_sync_list_t list, int64_t tenant,
                  const char *const *filters, kv_sync_req_t *out, json_t *errors);

/* Where a sync page ends.  rows: how many rows the statement returned
 * when asked for per_page + 1; last: the position of row per_page - 1
 * (the last one shown) when rows > per_page, else of the last row
 * returned (ignored when rows == 0).  *more is set to 1 when rows >
 * per_page (rows beyond this page are visible now).  Returns the state a
 * cursor from here carries: the request's updated_since, and the position
 * after the last row shown (the request's own when the page is empty). */
kv_sync_state_t kv_sync_page_end(const kv_sync_req_t *q, int rows, kv_sync_pos_t last,
                                 int *more);

/* The meta of a sync page: {"per_page", "next_cursor", "resume_cursor"}.
 * next_cursor is the cursor of end when more is 1, else null (nothing more
 * is visible now); resume_cursor is always the cursor of end (keep it and
 * pass it as `cursor` later to get only what changed since).  New
 * reference. */
json_t *kv_sync_meta(const kv_sync_req_t *q, kv_sync_list_t list, int64_t tenant,
                     const kv_sync_state_t *end, int more);

/* Reads the position columns of a sync row: xid_text (the decimal text of
 * sync_xid) and id.  0, or -1 when they are not a valid position. */
int kv_sync_pos_parse(const char *xid_text, int64_t id, kv_sync_pos_t *pos);

/* ---- the statements ------------------------------------------------------
 *
 * Each list has two statements, both in change order and both limited to
 * rows of finished transactions (KV_SYNC_SQL_VISIBLE):
 *   <list>_sync_first  $1 tenant, $2 updated_since, $3 limit: from the
 *                      oldest change at or after updated_since;
 *   <list>_sync_next   $1 tenant, $2 sync_xid, $3 id (the position),
 *                      $4 updated_since or NULL, $5 limit: after the position.
 * Both select, besides the list's own columns, KV_SYNC_SQL_COLS (found by
 * name, so the list's columns may grow).  p is the table's alias with its
 * dot ("a.") or "". */
#define KV_SYNC_SQL_COLS(p) \
    ", " p "sync_xid::text AS kv_sync_xid, " p "id AS kv_sync_id"
/* Only rows whose transaction is older than every transaction running now:
 * those can no longer change places (docs/architecture.md). */
#define KV_SYNC_SQL_VISIBLE(p) \
    " AND " p "sync_xid < pg_snapshot_xmin(pg_current_snapshot())"
#define KV_SYNC_SQL_ORDER(p) " ORDER BY " p "sync_xid, " p "id"
/* The first page's start: the smallest sync_xid of the tenant's rows changed
 * at or after $2, a lower bound of where those rows sit in change order.
 * When $2 is not after the tenant's oldest updated_at (a full sync) that is
 * the tenant's smallest sync_xid, one index probe; otherwise it is read from
 * the (tenant_id, updated_at) INCLUDE (sync_xid) index alone, over the rows
 * changed since $2 (OFFSET 0 keeps the planner from turning min() into a
 * walk of the sync index that would filter out every older row first).
 * NULL (no row) makes the page empty.  t is the table. */
#define KV_SYNC_SQL_FIRST_BOUND(t) \
    "(SELECT CASE WHEN $2::timestamptz <= (SELECT min(updated_at) FROM " t \
    "                                      WHERE tenant_id = $1)" \
    " THEN (SELECT min(sync_xid) FROM " t " WHERE tenant_id = $1)" \
    " ELSE (SELECT min(s.x) FROM (SELECT sync_xid AS x FROM " t \
    "       WHERE tenant_id = $1 AND updated_at >= $2::timestamptz OFFSET 0) s) END)"
/* The WHERE conditions after "tenant_id = $1" of each statement. */
#define KV_SYNC_SQL_FIRST_WHERE(t, p) \
    " AND " p "updated_at >= $2::timestamptz" \
    " AND " p "sync_xid >= " KV_SYNC_SQL_FIRST_BOUND(t) KV_SYNC_SQL_VISIBLE(p)
#define KV_SYNC_SQL_NEXT_WHERE(p) \
    " AND (" p "sync_xid, " p "id) > ($2::xid8, $3::bigint)" \
    " AND ($4::timestamptz IS NULL OR " p "updated_at >= $4::timestamptz)" \
    KV_SYNC_SQL_VISIBLE(p)

/* Runs one sync page of q on db: first_stmt when q->first, else next_stmt
 * (parameters as above), asking for q->per_page + 1 rows to know whether
 * more are visible.  Returns 0 with *rows the result (caller owns it,
 * PQclear; its first *shown rows are the page, in order) and *meta the sync
 * meta (kv_sync_meta; caller owns it).  Returns -1 when a statement failed
 * (logged; kv_db_conn_error tells which kind) or a row lacks a valid
 * position (logged); *rows and *meta are then NULL. */
int kv_sync_fetch(kv_db_t *db, const char *req_id, const char *first_stmt,
                  const char *next_stmt, kv_sync_list_t list, int64_t tenant,
                  const kv_sync_req_t *q, PGresult **rows, int *shown, json_t **meta);

#endif
