/*
 * customers.c -- the crm service's operations on customers.
 *
 * Public (routed by the gateway):
 *   customers.list    GET   /api/v1/customers (a page, or a sync page in
 *                           change order with updated_since / cursor)
 *   customers.create  POST  /api/v1/customers
 *   customers.get     GET   /api/v1/customers/{id}
 *   customers.update  PATCH /api/v1/customers/{id}
 * For other services over the bus:
 *   customers.lookup          params {"id"}             -> 200 customer | 404
 *   customers.find_or_create  body {"phone", "name"?}   -> 200 existing | 201 new
 *
 * Each handler validates its whole input first (crm_valid.c, every problem
 * in one 422), then runs named statements of db.c scoped to the caller's
 * tenant: another tenant's id answers 404 exactly like a missing one.
 * Uniqueness of a phone within a tenant is decided by the database
 * (INSERT ... ON CONFLICT DO NOTHING on the unique index), so two
 * concurrent creates of one phone can never both succeed.  The profile's
 * appointment figures come from scheduling (appointments.customer_stats);
 * when scheduling cannot answer, the profile is refused with 503 rather
 * than shown with figures that would be wrong.
 */
#include "crm.h"
#include "crm_valid.h"

#include <stdio.h>
#include <string.h>

#include "kv_client.h"
#include "kv_log.h"
#include "kv_sync.h"
#include "kv_valid.h"

#define CRM_STATS_TIMEOUT_MS 2000

#define S_MSG_PHONE_TAKEN "The phone has already been taken."

/* The customer id of the request: params["id"] as a string of digits (what
 * the gateway sends) or, from a bus peer, a positive JSON integer.  0 when
 * absent or invalid. */
static int64_t s_id(const kv_req_t *req)
{
    json_t *v = json_object_get(req->params, "id");
    if (json_is_integer(v))
        return json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
    return kv_param_id(req, "id");
}

/* Runs a statement that yields at most one customer row.  Returns 1 with
 * *out the customer (caller owns it), 0 when there is no row, -1 on a
 * database failure (rep answered). */
static int s_one(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep, const char *stmt,
                 int n, const char *const *params, json_t **out)
{
    *out = NULL;
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), stmt, n, params);
    if (!r) {
        kv_reply_db_error(rep, ctx->db);
        return -1;
    }
    int found = PQntuples(r) > 0;
    if (found)
        *out = crm_customer_json(r, 0);
    PQclear(r);
    return found;
}

/* Reads customer id of the request's tenant; sid receives the id as text.
 * Returns 1 with *out the customer (caller owns it), 0 when there is none
 * (404 answered), -1 on a database failure (rep answered). */
static int s_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep, int64_t id,
                 char sid[KV_DB_I64_LEN], json_t **out)
{
    char tenant[KV_DB_I64_LEN];
    const char *p[2] = { kv_db_i64_param(tenant, KV_TENANT(req)), kv_db_i64_param(sid, id) };
    int rc = s_one(ctx, req, rep, "crm_customer_get", 2, p, out);
    if (rc == 0)
        kv_reply_not_found(rep, "Customer");
    return rc;
}

/* ---- customers.list --------------------------------------------------- */

/* The list's filters: none of them combines with a sync page. */
static const char *const s_list_filters[] = { "segment", "pipeline_stage", "search", NULL };

/* One sync page (updated_since / cursor): the tenant's customers in change
 * order, with the sync meta (kv_sync.h). */
static void s_list_sync(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                        const kv_sync_req_t *q)
{
    PGresult *r = NULL;
    json_t *meta = NULL;
    int shown;
    if (kv_sync_fetch(ctx->db, KV_RID(req), "crm_sync_first", "crm_sync_next",
                      KV_SYNC_CUSTOMERS, KV_TENANT(req), q, &r, &shown, &meta) != 0) {
        kv_reply_db_error(rep, ctx->db);
        return;
    }
    kv_jw_t w;
    kv_reply_ok_begin(&w);
    kv_jw_arr(&w);
    for (int i = 0; i < shown; i++)
        crm_customer_write(&w, r, i);
    kv_jw_end(&w);
    kv_reply_ok_end(rep, KV_ST_OK, &w, meta);
    PQclear(r);
}

void crm_customers_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    crm_filter_t f;
    memset(&f, 0, sizeof f);
    PGresult *r = NULL;
    kv_sync_req_t sq;
    int sync = kv_query_sync(req->query, KV_SYNC_CUSTOMERS, KV_TENANT(req), s_list_filters,
                             &sq, errors);
    if (sync == KV_FIELD_BAD) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    if (sync == KV_FIELD_OK) {
        s_list_sync(ctx, req, rep, &sq);
        goto out;
    }
    int page, per_page;
    int bad = kv_query_page(req->query, KV_PER_PAGE_DEFAULT, KV_PER_PAGE_MAX,
                            &page, &per_page, errors) != 0;
    if (crm_parse_filter(req->query, &f, errors) != 0 || bad) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }

    char tenant[KV_DB_I64_LEN], limit[KV_DB_I64_LEN], offset[KV_DB_I64_LEN];
    kv_db_i64_param(tenant, KV_TENANT(req));
    kv_page_params(page, per_page, limit, offset);
    const char *p[7] = { tenant, f.segment, f.stage, f.like,
                         f.digits[0] ? f.digits : NULL, limit, offset };

    /* one round trip, one implicit transaction: custom plans for both
     * statements (db.c explains), the count and the page of one snapshot */
    kv_db_call_t calls[3] = { { "crm_force_custom_plans", 0, NULL, NULL },
                              { "crm_customers_count", 5, p, NULL },
                              { "crm_customers_list", 7, p, NULL } };
    if (kv_db_pipeline(ctx->db, KV_RID(req), calls, 3) != 0) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    long long total = kv_db_i64(calls[1].res, 0, 0);
    PQclear(calls[0].res);
    PQclear(calls[1].res);
    r = calls[2].res;
    kv_jw_t w;                   /* a page is written directly: no tree */
    kv_reply_ok_begin(&w);
    kv_jw_arr(&w);
    for (int i = 0; r && i < PQntuples(r); i++)
        crm_customer_write(&w, r, i);
    kv_jw_end(&w);
    kv_reply_ok_end(rep, KV_ST_OK, &w, kv_meta_page(page, per_page, total));
out:
    PQclear(r);
    crm_filter_cleanup(&f);
    json_decref(errors);
}

/* ---- customers.create ------------------------------------------------- */

/* Inserts a customer unless its phone is taken in the tenant.  Returns 1
 * with *out the new customer, 0 when the phone is taken, -1 on a database
 * failure (rep answered). */
static int s_insert(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep, const char *name,
                    const char *phone, const char *email, const char *segment,
                    const char *stage, const char *notes, const char *source, json_t **out)
{
    char tenant[KV_DB_I64_LEN];
    const char *p[8] = { kv_db_i64_param(tenant, KV_TENANT(req)), name, phone, email, segment, stage, notes, source };
    *out = NULL;
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "crm_customer_insert", 8, p);
    if (!r) {
        /* ON CONFLICT covers the phone; a unique violation can still come
         * from a conflict it did not name: treat it the same way. */
        if (strcmp(kv_db_sqlstate(ctx->db), KV_SQLSTATE_UNIQUE) == 0)
            return 0;
        kv_reply_db_error(rep, ctx->db);
        return -1;
    }
    int created = PQntuples(r) > 0;
    if (created)
        *out = crm_customer_json(r, 0);
    PQclear(r);
    return created;
}

void crm_customers_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    json_t *customer = NULL;
    crm_create_t c;
    if (crm_parse_create(req->body, &c, errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    int rc = s_insert(ctx, req, rep, c.name, c.phone, c.email, c.segment, c.stage,
                      c.notes, c.source, &customer);
    if (rc < 0)
        goto out;
    if (rc == 0) {
        kv_errors_add(errors, "phone", S_MSG_PHONE_TAKEN);
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    kv_info(KV_RID(req), "customer %lld created (tenant %lld)",
            (long long)json_integer_value(json_object_get(customer, "id")),
            (long long)KV_TENANT(req));
    kv_reply_ok(rep, KV_ST_CREATED, customer, NULL);
out:
    crm_create_cleanup(&c);
    json_decref(errors);
}

/* ---- customers.get ------------------------------------------------------ */

/* Copies the three figures of scheduling's customer_stats answer (the
 * whole envelope, borrowed) into customer.  0, or -1 when the answer does
 * not have the agreed shape. */
static int s_merge_stats(json_t *customer, json_t *answer)
{
    json_t *d = json_object_get(answer, "data");
    json_t *n = json_object_get(d, "total_appointments");
    json_t *spent = json_object_get(d, "total_spent");
    json_t *last = json_object_get(d, "last_visit_date");
    if (!json_is_integer(n) || json_integer_value(n) < 0)
        return -1;
    json_t *spent_v;
    if (json_is_number(spent) && json_number_value(spent) >= 0) {
        spent_v = json_incref(spent);
    } else if (json_is_string(spent)) {
        int64_t cents;   /* tolerate "25.50", the form prices take in bodies */
        if (kv_parse_money(json_string_value(spent), &cents) != 0)
            return -1;
        spent_v = json_real((double)cents / 100.0);
    } else {
        return -1;
    }
    kv_date_t date;
    if (!json_is_null(last) &&
        !(json_is_string(last) && kv_parse_date(json_string_value(last), &date) == 0)) {
        json_decref(spent_v);
        return -1;
    }
    json_object_set(customer, "total_appointments", n);
    json_object_set_new(customer, "total_spent", spent_v);
    json_object_set(customer, "last_visit_date", last);
    return 0;
}

void crm_customers_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *customer = NULL;
    json_t *answer = NULL;
    json_t *params = NULL;
    int64_t id = s_id(req);
    if (id <= 0) {
        kv_reply_not_found(rep, "Customer");
        goto out;
    }
    char sid[KV_DB_I64_LEN];
    if (s_get(ctx, req, rep, id, sid, &customer) <= 0)
        goto out;

    params = json_pack("{s:s}", "customer_id", sid);
    int st = kv_client_call(ctx->bus, req->hdr, KV_SVC_SCHEDULING,
                            "appointments.customer_stats", params, NULL,
                            CRM_STATS_TIMEOUT_MS, &answer);
    if (st != KV_ST_OK || s_merge_stats(customer, answer) != 0) {
        kv_warn(KV_RID(req), "customer %lld: scheduling appointments.customer_stats "
                "answered %d%s; profile refused with 503", (long long)id, st,
                st == KV_ST_OK ? " with an unexpected shape" : "");
        kv_reply_unavailable(rep);
        goto out;
    }
    kv_reply_ok(rep, KV_ST_OK, customer, NULL);
    customer = NULL;
out:
    json_decref(customer);
    json_decref(answer);
    json_decref(params);
}

/* ---- customers.update --------------------------------------------------- */

void crm_customers_update(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    json_t *customer = NULL;
    crm_patch_t u;
    memset(&u, 0, sizeof u);
    int64_t id = s_id(req);
    if (id <= 0) {
        kv_reply_not_found(rep, "Customer");
        goto out;
    }
    if (crm_parse_patch(req->body, &u, errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    char tenant[KV_DB_I64_LEN], sid[KV_DB_I64_LEN];
    kv_db_i64_param(tenant, KV_TENANT(req));
    kv_db_i64_param(sid, id);
#define S_FLAG(x) ((x) ? "true" : "false")
    const char *p[10] = { tenant, sid,
                          S_FLAG(u.set_segment), u.segment,
                          S_FLAG(u.set_stage), u.stage,
                          S_FLAG(u.set_notes), u.notes,
                          S_FLAG(u.set_email), u.email };
#undef S_FLAG
    int rc = s_one(ctx, req, rep, "crm_customer_update", 10, p, &customer);
    if (rc < 0)
        goto out;
    if (rc == 0) {
        kv_reply_not_found(rep, "Customer");
        goto out;
    }
    kv_reply_ok(rep, KV_ST_OK, customer, NULL);
out:
    crm_patch_cleanup(&u);
    json_decref(errors);
}

/* ---- customers.lookup (bus) ---------------------------------------------- */

void crm_customers_lookup(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *customer = NULL;
    int64_t id = s_id(req);
    if (id <= 0) {
        kv_reply_not_found(rep, "Customer");
        return;
    }
    char sid[KV_DB_I64_LEN];
    if (s_get(ctx, req, rep, id, sid, &customer) > 0)
        kv_reply_ok(rep, KV_ST_OK, customer, NULL);
}

/* ---- customers.find_or_create (bus) ------------------------------------- */

void crm_customers_find_or_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    json_t *customer = NULL;
    char phone[17];
    char *name = NULL;
    if (crm_parse_caller(req->body, phone, &name, errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    char tenant[KV_DB_I64_LEN];
    const char *p[2] = { kv_db_i64_param(tenant, KV_TENANT(req)), phone };

    /* Most callers are known: look first, so that a known caller costs one
     * indexed read and burns no sequence number. */
    int rc = s_one(ctx, req, rep, "crm_customer_by_phone", 2, p, &customer);
    if (rc < 0)
        goto out;
    if (rc == 0) {
        rc = s_insert(ctx, req, rep, name, phone, NULL, "lead", "new", NULL, "phone",
                      &customer);
        if (rc < 0)
            goto out;
        if (rc > 0) {
            kv_info(KV_RID(req), "customer %lld created from a call (tenant %lld)",
                    (long long)json_integer_value(json_object_get(customer, "id")),
                    (long long)KV_TENANT(req));
            kv_reply_ok(rep, KV_ST_CREATED, customer, NULL);
            goto out;
        }
        /* someone created it between our read and our insert: the insert
         * waited for that transaction, so the row is visible now */
        rc = s_one(ctx, req, rep, "crm_customer_by_phone", 2, p, &customer);
        if (rc < 0)
            goto out;
        if (rc == 0) {
            kv_error(KV_RID(req), "find_or_create: phone conflict without a row (tenant %lld)",
                     (long long)KV_TENANT(req));
            kv_reply_internal(rep);
            goto out;
        }
    }
    kv_reply_ok(rep, KV_ST_OK, customer, NULL);
out:
    free(name);
    json_decref(errors);
}
