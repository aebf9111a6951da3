/*
 * customer_json.c -- the public customer object, built from a result row.
 *
 * One place decides what a customer looks like to clients and to other
 * services (customers.lookup, customers.find_or_create hand out the same
 * object):
 *   {"id", "name", "phone", "email", "segment", "pipeline_stage", "notes",
 *    "source", "created_at", "updated_at"}
 * with id an integer, email and notes null when unset, and both times RFC
 * 3339 UTC as formatted by the SQL (db.c).  A page of the list is written
 * directly (crm_customer_write, no tree); every other answer reads that
 * text back into a tree (crm_customer_json).
 */
#include "crm.h"

#include <assert.h>
#include <stdlib.h>

void crm_customer_write(kv_jw_t *w, const PGresult *r, int row)
{
    assert(PQnfields(r) >= CRM_COL_COUNT);
    static const struct { const char *key; int col; } strs[] = {
        { "name", CRM_COL_NAME }, { "phone", CRM_COL_PHONE }, { "email", CRM_COL_EMAIL },
        { "segment", CRM_COL_SEGMENT }, { "pipeline_stage", CRM_COL_STAGE },
        { "notes", CRM_COL_NOTES }, { "source", CRM_COL_SOURCE },
        { "created_at", CRM_COL_CREATED }, { "updated_at", CRM_COL_UPDATED },
    };
    kv_jw_obj(w);
    kv_jw_key(w, "id");
    kv_jw_int(w, kv_db_i64(r, row, CRM_COL_ID));
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        kv_jw_key(w, strs[i].key);
        kv_jw_cell_str(w, r, row, strs[i].col);
    }
    kv_jw_end(w);
}

json_t *crm_customer_json(const PGresult *r, int row)
{
    /* the written object read back: one definition for both */
    kv_jw_t w;
    kv_jw_init(&w);
    crm_customer_write(&w, r, row);
    return kv_jw_tree(&w);
}
