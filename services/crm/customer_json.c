/*
 * customer_json.c -- the public customer object, built from a result row.
 *
 * One place decides what a customer looks like to clients and to other
 * services (customers.lookup, customers.find_or_create hand out the same
 * object):
 *   {"id", "name", "phone", "email", "segment", "pipeline_stage", "notes",
 *    "source", "created_at", "updated_at"}
 * with id an integer, email and notes null when unset, and both times RFC
 * 3339 UTC as formatted by the SQL (db.c).
 */
#include "crm.h"

#include <assert.h>

json_t *crm_customer_json(const PGresult *r, int row)
{
    assert(PQnfields(r) >= CRM_COL_COUNT);
    json_t *c = json_object();
    json_object_set_new(c, "id", json_integer(kv_db_i64(r, row, CRM_COL_ID)));
    json_object_set_new(c, "name", kv_json_cell_str(r, row, CRM_COL_NAME));
    json_object_set_new(c, "phone", kv_json_cell_str(r, row, CRM_COL_PHONE));
    json_object_set_new(c, "email", kv_json_cell_str(r, row, CRM_COL_EMAIL));
    json_object_set_new(c, "segment", kv_json_cell_str(r, row, CRM_COL_SEGMENT));
    json_object_set_new(c, "pipeline_stage", kv_json_cell_str(r, row, CRM_COL_STAGE));
    json_object_set_new(c, "notes", kv_json_cell_str(r, row, CRM_COL_NOTES));
    json_object_set_new(c, "source", kv_json_cell_str(r, row, CRM_COL_SOURCE));
    json_object_set_new(c, "created_at", kv_json_cell_str(r, row, CRM_COL_CREATED));
    json_object_set_new(c, "updated_at", kv_json_cell_str(r, row, CRM_COL_UPDATED));
    return c;
}
