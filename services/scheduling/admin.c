/*
 * admin.c -- the operator operations behind the gateway's admin API and
 * kaivoxctl: admin.services.create / update, admin.staff.create / update.
 *
 * Bodies (bus body "body"):
 *   service: {"name": 1..200 chars, "duration": integer 5..1440 minutes,
 *             "price": "25.50" or 25.5 (>= 0, at most two decimals),
 *             "active": bool (default true), the booking rules
 *             "buffer_before_minutes", "buffer_after_minutes" (0..1440,
 *             default 0), "min_notice_minutes" (0..525600, default 0),
 *             "max_advance_days" (0..3650, default 365)}
 *   staff:   {"name", "specialties": ["..."], "services": [ids] (absent or
 *             empty: performs every service), "hours": {"mon": [["09:00",
 *             "12:00"], ["13:00","17:00"]], ..., "sun": []} (an interval may
 *             also be {"start","end"}; "24:00" is accepted as an end),
 *             "active": bool}
 * Create needs name (and duration, price for a service); update takes any
 * subset, and for staff "hours" / "services" replace the whole set.  The
 * rules are sched_parse_service / sched_parse_staff (sched_valid.c): every
 * invalid or unknown field is reported at once (422, errors per field).
 * Answers carry the admin object: the public fields plus active and
 * timestamps.
 */
#include <stdio.h>
#include <string.h>

#include "sched.h"
#include "kv_mem.h"

/* ---- services ------------------------------------------------------------ */

/* The four booking rules of in as decimal text (the defaults when not
 * given): buffer before, buffer after, minimum notice, maximum advance. */
static void s_rule_params(const sched_service_input_t *in, char rule[4][16])
{
    snprintf(rule[0], 16, "%d", in->buffer_before);
    snprintf(rule[1], 16, "%d", in->buffer_after);
    snprintf(rule[2], 16, "%d", in->min_notice);
    snprintf(rule[3], 16, "%d", in->max_advance);
}

/* admin.services.create: body service -> 201 admin service object. */
void sched_admin_services_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    PGresult *r = NULL;
    sched_service_input_t in;
    if (sched_parse_service(req->body, 1, &in, errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    char tid[KV_DB_I64_LEN], dur[16], pc[KV_DB_I64_LEN], rule[4][16];
    kv_db_i64_param(tid, KV_TENANT(req));
    snprintf(dur, sizeof dur, "%d", in.duration);
    kv_db_i64_param(pc, in.price_cents);
    s_rule_params(&in, rule);
    const char *p[9] = { tid, in.name, dur, pc, in.active ? "true" : "false",
                         rule[0], rule[1], rule[2], rule[3] };
    r = kv_db_exec(ctx->db, KV_RID(req), "services_insert", 9, p);
    if (!r || PQntuples(r) != 1) {
        sched_db_fail(ctx, req, rep);
        goto out;
    }
    kv_reply_ok(rep, KV_ST_CREATED, sched_service_json(r, 0, 1), NULL);
out:
    if (r)
        PQclear(r);
    if (errors)
        json_decref(errors);
    sched_service_input_cleanup(&in);
}

/* admin.services.update: params id, body subset -> 200 admin object | 404. */
void sched_admin_services_update(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    PGresult *r = NULL;
    sched_service_input_t in;
    memset(&in, 0, sizeof in);
    int64_t id = kv_param_id(req, "id");
    if (id <= 0) {
        kv_reply_not_found(rep, "Service");
        goto out;
    }
    if (sched_parse_service(req->body, 0, &in, errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    char tid[KV_DB_I64_LEN], sid[KV_DB_I64_LEN], dur[16], pc[KV_DB_I64_LEN], rule[4][16];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_db_i64_param(sid, id);
    snprintf(dur, sizeof dur, "%d", in.duration);
    kv_db_i64_param(pc, in.price_cents);
    s_rule_params(&in, rule);
    const char *p[10] = { tid, sid, in.name, in.has_duration ? dur : NULL,
                          in.has_price ? pc : NULL,
                          in.has_active ? (in.active ? "true" : "false") : NULL,
                          in.has_buffer_before ? rule[0] : NULL,
                          in.has_buffer_after ? rule[1] : NULL,
                          in.has_min_notice ? rule[2] : NULL,
                          in.has_max_advance ? rule[3] : NULL };
    r = kv_db_exec(ctx->db, KV_RID(req), "services_update", 10, p);
    if (!r) {
        sched_db_fail(ctx, req, rep);
        goto out;
    }
    if (PQntuples(r) == 0)
        kv_reply_not_found(rep, "Service");
    else
        kv_reply_ok(rep, KV_ST_OK, sched_service_json(r, 0, 1), NULL);
out:
    if (r)
        PQclear(r);
    if (errors)
        json_decref(errors);
    sched_service_input_cleanup(&in);
}

/* ---- staff --------------------------------------------------------------- */

/* The admin staff object of staff id, read inside the caller's transaction
 * or not.  New reference, or NULL (not found: *missing = 1; db failure:
 * *missing = 0). */
static json_t *s_staff_admin_json(kv_ctx_t *ctx, const kv_req_t *req, int64_t id, int *missing)
{
    json_t *o = NULL;
    PGresult *r = NULL, *h = NULL, *sv = NULL;
    char tid[KV_DB_I64_LEN], sid[KV_DB_I64_LEN], arr[32];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_db_i64_param(sid, id);
    snprintf(arr, sizeof arr, "{%lld}", (long long)id);
    const char *p[2] = { tid, sid };
    const char *ph[2] = { tid, arr };
    *missing = 0;
    r = kv_db_exec(ctx->db, KV_RID(req), "staff_get_any", 2, p);
    if (!r)
        goto out;
    if (PQntuples(r) == 0) {
        *missing = 1;
        goto out;
    }
    h = kv_db_exec(ctx->db, KV_RID(req), "staff_hours_of", 2, ph);
    sv = h ? kv_db_exec(ctx->db, KV_RID(req), "staff_services_of", 2, p) : NULL;
    if (!h || !sv)
        goto out;
    o = sched_staff_json(r, 0);
    json_t *ids = json_array();
    for (int i = 0; i < PQntuples(sv); i++)
        json_array_append_new(ids, json_integer(kv_db_i64(sv, i, 0)));
    json_object_set_new(o, "services", ids);
    json_object_set_new(o, "working_hours", sched_hours_json(h, id));
    const char *a = kv_db_str(r, 0, SCHED_T_ACTIVE);
    json_object_set_new(o, "active", json_boolean(a && a[0] == 't'));
    json_object_set_new(o, "created_at", json_string(kv_db_str(r, 0, SCHED_T_CREATED)));
    json_object_set_new(o, "updated_at", json_string(kv_db_str(r, 0, SCHED_T_UPDATED)));
out:
    if (r)
        PQclear(r);
    if (h)
        PQclear(h);
    if (sv)
        PQclear(sv);
    return o;
}

/* Shared by create (id 0) and update. */
static void s_staff_write(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep, int64_t id)
{
    json_t *errors = json_object();
    sched_staff_input_t in;
    char *spec_txt = NULL, *svc_txt = NULL, *hours_txt = NULL;
    PGresult *r = NULL;
    const int create = id == 0;
    char tid[KV_DB_I64_LEN], sid[KV_DB_I64_LEN];
    kv_db_i64_param(tid, KV_TENANT(req));

    if (sched_parse_staff(req->body, create, &in, errors) == 0 && in.services &&
        json_array_size(in.services) > 0) {
        svc_txt = json_dumps(in.services, JSON_COMPACT);
        const char *p[2] = { tid, svc_txt };
        r = kv_db_exec(ctx->db, KV_RID(req), "services_count_ids", 2, p);
        if (!r)
            goto fail;
        if (kv_db_i64(r, 0, 0) != (long long)json_array_size(in.services))
            kv_errors_add(errors, "services", "The selected services are invalid.");
        PQclear(r);
        r = NULL;
    }
    if (json_object_size(errors) > 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    json_t *specialties = in.specialties, *services = in.services, *hours = in.hours;
    const char *name = in.name;
    const int active = in.active, has_active = in.has_active;
    spec_txt = specialties ? json_dumps(specialties, JSON_COMPACT) : NULL;
    hours_txt = hours ? json_dumps(hours, JSON_COMPACT) : NULL;

    if (kv_db_begin(ctx->db, KV_RID(req)) != 0)
        goto fail;
    if (create) {
        const char *p[4] = { tid, name, spec_txt ? spec_txt : "[]", active ? "true" : "false" };
        r = kv_db_exec(ctx->db, KV_RID(req), "staff_insert", 4, p);
    } else {
        kv_db_i64_param(sid, id);
        const char *p[5] = { tid, sid, name, spec_txt,
                             has_active ? (active ? "true" : "false") : NULL };
        r = kv_db_exec(ctx->db, KV_RID(req), "staff_update", 5, p);
    }
    if (!r)
        goto fail;
    if (PQntuples(r) == 0) {
        kv_db_rollback(ctx->db, KV_RID(req));
        kv_reply_not_found(rep, "Staff member");
        goto out;
    }
    id = kv_db_i64(r, 0, 0);
    kv_db_i64_param(sid, id);
    PQclear(r);
    r = NULL;
    const char *pd[2] = { tid, sid };
    if (hours) {
        const char *ph[3] = { tid, sid, hours_txt };
        if ((!create && kv_db_run(ctx->db, KV_RID(req), "staff_hours_delete", 2, pd) != 0)
            || kv_db_run(ctx->db, KV_RID(req), "staff_hours_insert", 3, ph) != 0)
            goto fail;
    }
    if (services) {
        const char *ps[3] = { tid, sid, svc_txt ? svc_txt : "[]" };
        if ((!create && kv_db_run(ctx->db, KV_RID(req), "staff_services_delete", 2, pd) != 0)
            || kv_db_run(ctx->db, KV_RID(req), "staff_services_insert", 3, ps) != 0)
            goto fail;
    }
    int missing = 0;
    json_t *obj = s_staff_admin_json(ctx, req, id, &missing);
    if (!obj)
        goto fail;
    if (kv_db_commit(ctx->db, KV_RID(req)) != 0) {
        json_decref(obj);
        goto fail;
    }
    kv_reply_ok(rep, create ? KV_ST_CREATED : KV_ST_OK, obj, NULL);
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    if (r)
        PQclear(r);
    if (errors)
        json_decref(errors);
    sched_staff_input_cleanup(&in);
    free(spec_txt);
    free(svc_txt);
    free(hours_txt);
}

/* admin.staff.create: body staff -> 201 admin staff object. */
void sched_admin_staff_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    s_staff_write(ctx, req, rep, 0);
}

/* admin.staff.update: params id, body subset -> 200 admin staff object | 404. */
void sched_admin_staff_update(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t id = kv_param_id(req, "id");
    if (id <= 0) {
        kv_reply_not_found(rep, "Staff member");
        return;
    }
    s_staff_write(ctx, req, rep, id);
}
