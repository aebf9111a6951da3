/*
 * db.c -- every SQL statement of the crm service, in one table.
 *
 * kv_db prepares them all at connect time; handlers run them by name with
 * $n text parameters (kv_db_exec), so no SQL is ever built from input.
 * Every statement filters on tenant_id ($1).  Each statement that returns
 * customers selects CRM_CUSTOMER_COLS, whose order crm.h's CRM_COL_* names.
 *
 * The list statements take optional filters as "($n IS NULL OR ...)".
 * Planned with the actual values (a custom plan), PostgreSQL folds those
 * conditions away and picks the index of sql/crm/001_init.sql that serves
 * what is left; a generic plan could not (it scans the tenant: measured
 * 0.6 s instead of 2 ms for a search at 100,000 customers).  So the list
 * handler runs them in a transaction that first sets plan_cache_mode to
 * force_custom_plan for that transaction only (crm_force_custom_plans):
 * one statement and one plan shape instead of one statement per filter
 * combination, at the price of planning each list (~0.2 ms).  The
 * measured timings are in README.md.  Search is a substring match:
 * lower(name) / lower(email) LIKE '%' || lower($4) || '%' (the term arrives
 * with % _ \ escaped, crm_like_escape) -- written with lower() rather than
 * ILIKE so that it is exactly the expression the trigram indexes cover --
 * and, for a phone-like term, phone_digits LIKE '%' || $5 || '%' with the
 * term's digits only.
 */
#include "crm.h"
#include "kv_sync.h"

#define CRM_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define CRM_CUSTOMER_COLS \
    "id, name, phone, email, segment, pipeline_stage, notes, source, " \
    CRM_TS("created_at") ", " CRM_TS("updated_at")

/* $1 tenant, $2 segment, $3 pipeline_stage, $4 escaped search term,
 * $5 digits of a phone-like term (each NULL: no such filter). */
#define CRM_LIST_WHERE \
    " WHERE tenant_id = $1" \
    " AND ($2::text IS NULL OR segment = $2::text)" \
    " AND ($3::text IS NULL OR pipeline_stage = $3::text)" \
    " AND ($4::text IS NULL" \
    "      OR lower(name) LIKE '%' || lower($4::text) || '%'" \
    "      OR lower(email) LIKE '%' || lower($4::text) || '%'" \
    "      OR ($5::text IS NOT NULL AND phone_digits LIKE '%' || $5::text || '%'))"

const kv_stmt_t crm_stmts[] = {
    /* Inside a transaction: plan every statement with its actual values
     * until COMMIT (see above). */
    { "crm_force_custom_plans",
      "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)" },

    /* GET /customers: the total for meta, then one page newest first
     * ($6 limit, $7 offset).  The page's ids are chosen by a subquery that
     * reads only the index (tenant_id[, segment], created_at, id), and only
     * those rows are fetched and formatted: a deep OFFSET then skips index
     * entries instead of formatting every skipped row. */
    { "crm_customers_count",
      "SELECT count(*) FROM customers" CRM_LIST_WHERE },
    { "crm_customers_list",
      "SELECT " CRM_CUSTOMER_COLS " FROM customers WHERE tenant_id = $1 AND id IN"
      " (SELECT id FROM customers" CRM_LIST_WHERE
      "  ORDER BY created_at DESC, id DESC LIMIT $6::bigint OFFSET $7::bigint)"
      " ORDER BY created_at DESC, id DESC" },

    /* GET /customers?updated_since= | ?cursor=: a sync page in change order,
     * rows of finished transactions only (kv_sync.h, sql/crm/002_sync.sql);
     * $1 tenant, then first: $2 updated_since, $3 limit; next: $2 sync_xid,
     * $3 id, $4 updated_since or NULL, $5 limit.  Plain range conditions on
     * (tenant_id, sync_xid, id): any plan, generic or custom, walks that
     * index in order. */
    { "crm_sync_first",
      "SELECT " CRM_CUSTOMER_COLS KV_SYNC_SQL_COLS("") " FROM customers WHERE tenant_id = $1"
      KV_SYNC_SQL_FIRST_WHERE("customers", "") KV_SYNC_SQL_ORDER("") " LIMIT $3" },
    { "crm_sync_next",
      "SELECT " CRM_CUSTOMER_COLS KV_SYNC_SQL_COLS("") " FROM customers WHERE tenant_id = $1"
      KV_SYNC_SQL_NEXT_WHERE("") KV_SYNC_SQL_ORDER("") " LIMIT $5" },

    /* GET /customers/{id}, customers.lookup: $1 tenant, $2 id. */
    { "crm_customer_get",
      "SELECT " CRM_CUSTOMER_COLS " FROM customers WHERE tenant_id = $1 AND id = $2" },

    /* customers.find_or_create: $1 tenant, $2 normalised phone. */
    { "crm_customer_by_phone",
      "SELECT " CRM_CUSTOMER_COLS " FROM customers WHERE tenant_id = $1 AND phone = $2" },

    /* POST /customers and customers.find_or_create: $1 tenant, $2 name,
     * $3 phone, $4 email, $5 segment, $6 pipeline_stage, $7 notes,
     * $8 source.  No row back: the phone is already taken in this tenant
     * (decided atomically by the unique index, never check-then-insert). */
    { "crm_customer_insert",
      "INSERT INTO customers (tenant_id, name, phone, email, segment, pipeline_stage,"
      " notes, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
      " ON CONFLICT (tenant_id, phone) DO NOTHING RETURNING " CRM_CUSTOMER_COLS },

    /* PATCH /customers/{id}: $1 tenant, $2 id, then for segment,
     * pipeline_stage, notes, email a pair (set?, value). */
    { "crm_customer_update",
      "UPDATE customers SET"
      " segment = CASE WHEN $3::boolean THEN $4::text ELSE segment END,"
      " pipeline_stage = CASE WHEN $5::boolean THEN $6::text ELSE pipeline_stage END,"
      " notes = CASE WHEN $7::boolean THEN $8::text ELSE notes END,"
      " email = CASE WHEN $9::boolean THEN $10::text ELSE email END,"
      " updated_at = now()"
      " WHERE tenant_id = $1 AND id = $2 RETURNING " CRM_CUSTOMER_COLS },

    { NULL, NULL }
};
