/*
 * db.c -- every SQL statement of the calls service, in one table.
 *
 * kv_db prepares them all at connect time; handlers run them by name with
 * $n text parameters (kv_db_exec), so no SQL is ever built from input.
 * Every statement filters on tenant_id ($1).  Each statement that returns
 * calls selects CALLS_COLS, whose order calls.h's CALLS_COL_* names.
 *
 * The list has two optional equality filters (sentiment, missed) and a
 * date range.  Rather than one statement with "($n IS NULL OR col = $n)"
 * terms -- which a prepared statement may, after five executions, run with
 * a generic plan that can use no index for them -- there is one statement
 * per combination of the two equality filters (calls_list_0..3 and
 * calls_count_0..3; bit 0 sentiment, bit 1 missed), each written so that
 * any plan, generic or custom, scans the matching index of
 * sql/calls/001_init.sql in order.  The date range is always present:
 * absent bounds are NULL and fall back to -infinity / infinity, so the
 * range condition stays sargable.  from_date / to_date are inclusive dates
 * in the tenant's zone ($2), turned into the half-open instant range
 * [from 00:00 local, (to + 1) 00:00 local) -- correct across DST changes.
 */
#include "calls.h"
#include "kv_outbox.h"
#include "kv_sync.h"

#define CALLS_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define CALLS_COLS \
    "id, external_id, caller_phone, caller_name, customer_id, direction, " \
    CALLS_TS("started_at") ", " CALLS_TS("ended_at") ", duration_seconds, missed, " \
    "outcome, sentiment, quality_score, summary, recording_url, " CALLS_TS("created_at") ", " \
    CALLS_TS("updated_at")

/* $1 tenant, $2 tenant's IANA zone, $3 from_date, $4 to_date (NULL: open). */
#define CALLS_RANGE_WHERE \
    " WHERE tenant_id = $1" \
    " AND started_at >= COALESCE(($3::date)::timestamp AT TIME ZONE $2::text," \
    "                            '-infinity'::timestamptz)" \
    " AND started_at < COALESCE((($4::date) + 1)::timestamp AT TIME ZONE $2::text," \
    "                           'infinity'::timestamptz)"

#define CALLS_ORDER " ORDER BY started_at DESC, id DESC LIMIT $5::bigint OFFSET $6::bigint"

const kv_stmt_t calls_stmts[] = {
    /* GET /calls: the total for meta (count: $5, $6 are the filters), then
     * one page newest first (list: $5 limit, $6 offset, $7, $8 filters).
     * Suffix: 0 none, 1 sentiment, 2 missed, 3 sentiment and missed. */
    { "calls_count_0", "SELECT count(*) FROM calls" CALLS_RANGE_WHERE },
    { "calls_count_1", "SELECT count(*) FROM calls" CALLS_RANGE_WHERE
      " AND sentiment = $5::text" },
    { "calls_count_2", "SELECT count(*) FROM calls" CALLS_RANGE_WHERE
      " AND missed = $5::boolean" },
    { "calls_count_3", "SELECT count(*) FROM calls" CALLS_RANGE_WHERE
      " AND sentiment = $5::text AND missed = $6::boolean" },
    { "calls_list_0", "SELECT " CALLS_COLS " FROM calls" CALLS_RANGE_WHERE CALLS_ORDER },
    { "calls_list_1", "SELECT " CALLS_COLS " FROM calls" CALLS_RANGE_WHERE
      " AND sentiment = $7::text" CALLS_ORDER },
    { "calls_list_2", "SELECT " CALLS_COLS " FROM calls" CALLS_RANGE_WHERE
      " AND missed = $7::boolean" CALLS_ORDER },
    { "calls_list_3", "SELECT " CALLS_COLS " FROM calls" CALLS_RANGE_WHERE
      " AND sentiment = $7::text AND missed = $8::boolean" CALLS_ORDER },

    /* GET /calls?updated_since= | ?cursor=: a sync page in change order,
     * rows of finished transactions only (kv_sync.h, sql/calls/002_sync.sql);
     * $1 tenant, then first: $2 updated_since, $3 limit; next: $2 sync_xid,
     * $3 id, $4 updated_since or NULL, $5 limit.  Plain range conditions on
     * (tenant_id, sync_xid, id): any plan walks that index in order. */
    { "calls_sync_first",
      "SELECT " CALLS_COLS KV_SYNC_SQL_COLS("") " FROM calls WHERE tenant_id = $1"
      KV_SYNC_SQL_FIRST_WHERE("calls", "") KV_SYNC_SQL_ORDER("") " LIMIT $3" },
    { "calls_sync_next",
      "SELECT " CALLS_COLS KV_SYNC_SQL_COLS("") " FROM calls WHERE tenant_id = $1"
      KV_SYNC_SQL_NEXT_WHERE("") KV_SYNC_SQL_ORDER("") " LIMIT $5" },

    /* GET /calls/{id}: $1 tenant, $2 id. */
    { "calls_get",
      "SELECT " CALLS_COLS " FROM calls WHERE tenant_id = $1 AND id = $2::bigint" },
    /* The transcript of a call, in order: $1 tenant, $2 call id. */
    { "calls_turns",
      "SELECT speaker, text, offset_seconds::text FROM call_turns"
      " WHERE tenant_id = $1 AND call_id = $2::bigint ORDER BY position" },

    /* POST /calls idempotency: $1 tenant, $2 external_id. */
    { "calls_by_external",
      "SELECT " CALLS_COLS " FROM calls WHERE tenant_id = $1 AND external_id = $2" },

    /* POST /calls: $1 tenant, $2 external_id, $3 normalised caller_phone,
     * $4 caller_name, $5 customer_id, $6 direction, $7 started_at,
     * $8 ended_at (canonical UTC text), $9 duration_seconds, $10 outcome,
     * $11 sentiment, $12 quality_score, $13 summary, $14 recording_url.
     * No row back: a call with this external_id exists in the tenant
     * (decided atomically by calls_tenant_external_uq, never
     * check-then-insert). */
    { "calls_insert",
      "INSERT INTO calls (tenant_id, external_id, caller_phone, caller_name, customer_id,"
      " direction, started_at, ended_at, duration_seconds, outcome, sentiment,"
      " quality_score, summary, recording_url)"
      " VALUES ($1, $2, $3, $4, $5::bigint, $6, $7::timestamptz, $8::timestamptz,"
      " $9::integer, $10, $11, $12::smallint, $13, $14)"
      " ON CONFLICT (tenant_id, external_id) WHERE external_id IS NOT NULL DO NOTHING"
      " RETURNING " CALLS_COLS },
    /* The turns of a new call from the validated transcript list:
     * $1 call id, $2 tenant, $3 JSON array of {speaker, text,
     * offset_seconds}; position is the list index. */
    { "calls_turns_insert",
      "INSERT INTO call_turns (call_id, tenant_id, position, speaker, text, offset_seconds)"
      " SELECT $1::bigint, $2::bigint, (e.ord - 1)::integer, e.t->>'speaker', e.t->>'text',"
      "        (e.t->>'offset_seconds')::numeric"
      " FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(t, ord)" },

    /* calls.lookup (scheduling links a booking to a call): $1 tenant, $2 id
     * -> the call's id and started_at. */
    { "calls_lookup",
      "SELECT id, " CALLS_TS("started_at") " FROM calls WHERE tenant_id = $1 AND id = $2::bigint" },

    /* GET /calls/stats: $1 tenant, $2 its zone, $3 from_date, $4 to_date
     * (inclusive local dates) -> calls, answered, missed, and the average
     * duration of the answered ones in seconds (one decimal, 0 when none).
     * missed is duration_seconds < 15, the generated column's own rule,
     * written out so that the covering index calls_tenant_started_stats_idx
     * answers it index-only. */
    { "calls_stats",
      "SELECT count(*), count(*) FILTER (WHERE duration_seconds >= 15), "
      "count(*) FILTER (WHERE duration_seconds < 15), "
      "coalesce(round(avg(duration_seconds) FILTER (WHERE duration_seconds >= 15), 1), 0)::text "
      "FROM calls WHERE tenant_id = $1"
      " AND started_at >= ($3::date)::timestamp AT TIME ZONE $2::text"
      " AND started_at < (($4::date) + 1)::timestamp AT TIME ZONE $2::text" },

    KV_OUTBOX_STMTS

    { NULL, NULL }
};
