/*
 * crm.h -- the pieces of the crm service that its files share: the
 * statement table (db.c), the customer object builder (customer_json.c) and
 * the operation handlers (customers.c).  main.c wires them into a
 * kv_service_def_t.  Pure validation lives apart in crm_valid.h so that the
 * unit tests reach it without a database.
 */
#ifndef CRM_H
#define CRM_H

#include <libpq-fe.h>
#include <jansson.h>

#include "kv_service.h"

/* Every statement of the service, ending with {NULL, NULL} (db.c). */
extern const kv_stmt_t crm_stmts[];

/* The columns every customer-returning statement yields, in this order
 * (CRM_CUSTOMER_COLS in db.c): id, name, phone, email, segment,
 * pipeline_stage, notes, source, created_at, updated_at (both RFC 3339 UTC
 * text). */
enum {
    CRM_COL_ID = 0, CRM_COL_NAME, CRM_COL_PHONE, CRM_COL_EMAIL, CRM_COL_SEGMENT,
    CRM_COL_STAGE, CRM_COL_NOTES, CRM_COL_SOURCE, CRM_COL_CREATED, CRM_COL_UPDATED,
    CRM_COL_COUNT
};

/* The public customer object of row `row` of r (which has the columns
 * above): written into w, or as a tree (caller owns it). */
void crm_customer_write(kv_jw_t *w, const PGresult *r, int row);
json_t *crm_customer_json(const PGresult *r, int row);

/* Operation handlers (customers.c). */
void crm_customers_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void crm_customers_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void crm_customers_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void crm_customers_update(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void crm_customers_lookup(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);
void crm_customers_find_or_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);

#endif
