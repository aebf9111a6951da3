/*
 * admin.c -- the operator operations behind the gateway's admin API and
 * kaivoxctl: admin.services.create / update, admin.staff.create / update.
 *
 * Bodies (bus body "body"):
 *   service: {"name": 1..200 chars, "duration": integer 5..1440 minutes,
 *             "price": "25.50" or 25.5 (>= 0, at most two decimals),
 *             "active": bool (default true)}
 *   staff:   {"name", "specialties": ["..."], "services": [ids] (absent or
 *             empty: performs every service), "hours": {"mon": [["09:00",
 *             "12:00"], ["13:00","17:00"]], ..., "sun": []} (an interval may
 *             also be {"start","end"}; "24:00" is accepted as an end),
 *             "active": bool}
 * Create needs name (and duration, price for a service); update takes any
 * subset, and for staff "hours" / "services" replace the whole set.  Every
 * invalid field is reported at once (422, errors per field).  Answers carry
 * the admin object: the public fields plus active and timestamps.
 */
#include <stdio.h>
#include <string.h>

#include "sched.h"
#include "kv_mem.h"

#define SCHED_NAME_MAX       200
#define SCHED_SPECIALTY_MAX  100
#define SCHED_SPECIALTIES    50
#define SCHED_SERVICES_MAX   500
#define SCHED_DAY_IVS        24

/* ---- field readers: each adds to errors and returns -1 when invalid, 1
 * when absent, 0 when valid ------------------------------------------------ */

/* The request body when it is an object, else empty (a body that is
 * neither absent, null nor an object adds errors["body"]).  Borrowed. */
static json_t *s_body(const kv_req_t *req, json_t *empty, json_t *errors)
{
    if (json_is_object(req->body))
        return req->body;
    if (req->body && !json_is_null(req->body))
        kv_errors_add(errors, "body", "The request body must be a JSON object.");
    return empty;
}

/* body[key] into *v.  0 when present and not null; otherwise 1 when not
 * required, -1 when required (errors[key] "The <key> field is required."). */
static int s_field(json_t *body, const char *key, int required, json_t *errors, json_t **v)
{
    *v = json_object_get(body, key);
    if (*v && !json_is_null(*v))
        return 0;
    if (!required)
        return 1;
    char msg[96];
    snprintf(msg, sizeof msg, "The %s field is required.", key);
    kv_errors_add(errors, key, msg);
    return -1;
}

static int s_name(json_t *body, const char *key, int required, json_t *errors,
                  const char **out)
{
    json_t *v;
    char msg[96];
    int rc = s_field(body, key, required, errors, &v);
    if (rc != 0)
        return rc;
    const char *s = json_string_value(v);
    if (!s || !kv_valid_text(s, SCHED_NAME_MAX * 4) || sched_utf8_len(s) < 1
        || sched_utf8_len(s) > SCHED_NAME_MAX) {
        snprintf(msg, sizeof msg, "The %s must be a string of 1 to %d characters.", key,
                 SCHED_NAME_MAX);
        kv_errors_add(errors, key, msg);
        return -1;
    }
    *out = s;
    return 0;
}

static int s_bool(json_t *body, const char *key, json_t *errors, int *out)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_boolean(v)) {
        kv_errors_add(errors, key, "The active field must be true or false.");
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

static int s_duration(json_t *body, int required, json_t *errors, int *out)
{
    json_t *v;
    int rc = s_field(body, "duration", required, errors, &v);
    if (rc != 0)
        return rc;
    int64_t x = 0;
    int ok = 0;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
        ok = 1;
    } else if (json_is_string(v)) {
        ok = kv_parse_i64(json_string_value(v), &x) == 0;
    }
    if (!ok || x < 5 || x > 1440) {
        kv_errors_add(errors, "duration",
                      "The duration must be an integer number of minutes between 5 and 1440.");
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int s_price(json_t *body, int required, json_t *errors, int64_t *out)
{
    json_t *v;
    int rc = s_field(body, "price", required, errors, &v);
    if (rc != 0)
        return rc;
    char buf[64];
    const char *s = NULL;
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        s = buf;
    } else if (json_is_real(v)) {
        /* 15 significant digits: what the client wrote, without the binary
         * noise (25.1 stays "25.1"); three decimals are still refused */
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
        s = buf;
    }
    if (!s || kv_parse_money(s, out) != 0) {
        kv_errors_add(errors, "price",
                      "The price must be an amount of at least 0 with at most two decimals.");
        return -1;
    }
    return 0;
}

/* ---- services ------------------------------------------------------------ */

/* admin.services.create: body service -> 201 admin service object. */
void sched_admin_services_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    json_t *empty = json_object();
    json_t *body = s_body(req, empty, errors);
    PGresult *r = NULL;
    const char *name = NULL;
    int duration = 0, active = 1;
    int64_t cents = 0;
    s_name(body, "name", 1, errors, &name);
    s_duration(body, 1, errors, &duration);
    s_price(body, 1, errors, &cents);
    s_bool(body, "active", errors, &active);
    if (json_object_size(errors) > 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    char tid[KV_DB_I64_LEN], dur[16], pc[KV_DB_I64_LEN];
    kv_db_i64_param(tid, KV_TENANT(req));
    snprintf(dur, sizeof dur, "%d", duration);
    kv_db_i64_param(pc, cents);
    const char *p[5] = { tid, name, dur, pc, active ? "true" : "false" };
    r = kv_db_exec(ctx->db, KV_RID(req), "services_insert", 5, p);
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
    json_decref(empty);
}

/* admin.services.update: params id, body subset -> 200 admin object | 404. */
void sched_admin_services_update(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    json_t *empty = json_object();
    PGresult *r = NULL;
    int64_t id = kv_param_id(req, "id");
    if (id <= 0) {
        kv_reply_not_found(rep, "Service");
        goto out;
    }
    json_t *body = s_body(req, empty, errors);
    const char *name = NULL;
    int duration = 0, active = 1;
    int64_t cents = 0;
    int has_dur = s_duration(body, 0, errors, &duration) == 0;
    int has_price = s_price(body, 0, errors, &cents) == 0;
    int has_active = s_bool(body, "active", errors, &active) == 0;
    s_name(body, "name", 0, errors, &name);
    if (json_object_size(errors) > 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    char tid[KV_DB_I64_LEN], sid[KV_DB_I64_LEN], dur[16], pc[KV_DB_I64_LEN];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_db_i64_param(sid, id);
    snprintf(dur, sizeof dur, "%d", duration);
    kv_db_i64_param(pc, cents);
    const char *p[6] = { tid, sid, name, has_dur ? dur : NULL, has_price ? pc : NULL,
                         has_active ? (active ? "true" : "false") : NULL };
    r = kv_db_exec(ctx->db, KV_RID(req), "services_update", 6, p);
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
    json_decref(empty);
}

/* ---- staff --------------------------------------------------------------- */

/* specialties: array of 0..50 strings of 1..100 characters.  *out borrowed. */
static int s_specialties(json_t *body, json_t *errors, json_t **out)
{
    json_t *v = json_object_get(body, "specialties");
    if (!v || json_is_null(v))
        return 1;
    int ok = json_is_array(v) && json_array_size(v) <= SCHED_SPECIALTIES;
    size_t i;
    json_t *e;
    json_array_foreach(ok ? v : NULL, i, e) {
        const char *s = json_string_value(e);
        if (!s || !kv_valid_text(s, SCHED_SPECIALTY_MAX * 4) || sched_utf8_len(s) < 1
            || sched_utf8_len(s) > SCHED_SPECIALTY_MAX)
            ok = 0;
    }
    if (!ok) {
        kv_errors_add(errors, "specialties",
                      "The specialties must be a list of at most 50 strings of 1 to 100 characters.");
        return -1;
    }
    *out = v;
    return 0;
}

/* services: array of positive ids, as a new JSON array of integers in *out
 * (caller owns it). */
static int s_service_ids(json_t *body, json_t *errors, json_t **out)
{
    json_t *v = json_object_get(body, "services");
    if (!v || json_is_null(v))
        return 1;
    int ok = json_is_array(v) && json_array_size(v) <= SCHED_SERVICES_MAX;
    json_t *ids = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(ok ? v : NULL, i, e) {
        int64_t id;
        if (sched_json_id(e, &id) != 0) {
            ok = 0;
            break;
        }
        int dup = 0;
        size_t k;
        json_t *x;
        json_array_foreach(ids, k, x)
            if (json_integer_value(x) == id)
                dup = 1;
        if (!dup)
            json_array_append_new(ids, json_integer(id));
    }
    if (!ok) {
        json_decref(ids);
        kv_errors_add(errors, "services", "The services must be a list of service ids.");
        return -1;
    }
    *out = ids;
    return 0;
}

/* One "HH:MM" bound; "24:00" only as an end. */
static int s_bound(const json_t *v, int is_end, int *out)
{
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    if (is_end && strcmp(s, "24:00") == 0) {
        *out = 1440;
        return 0;
    }
    return kv_parse_time(s, out);
}

/* hours: {"mon": [[start, end], ...], ...}.  *out gets a new JSON array of
 * [weekday, start_min, end_min] rows (caller owns it). */
static int s_hours(json_t *body, json_t *errors, json_t **out)
{
    json_t *v = json_object_get(body, "hours");
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_object(v)) {
        kv_errors_add(errors, "hours", "The hours must be an object of weekdays (mon..sun).");
        return -1;
    }
    int bad = 0;
    json_t *rows = json_array();
    const char *key;
    json_t *day;
    json_object_foreach(v, key, day) {
        char field[32];
        int wd = -1;
        for (int d = 0; d < 7; d++)
            if (strcmp(key, sched_weekdays[d]) == 0)
                wd = d;
        if (wd < 0) {
            kv_errors_add(errors, "hours", "The hours may only have the keys mon, tue, wed, thu, fri, sat and sun.");
            bad = 1;
            continue;
        }
        snprintf(field, sizeof field, "hours.%s", sched_weekdays[wd]);
        if (json_is_null(day))
            continue;
        if (!json_is_array(day) || json_array_size(day) > SCHED_DAY_IVS) {
            kv_errors_add(errors, field, "The working hours of a day must be a list of at most 24 intervals.");
            bad = 1;
            continue;
        }
        sched_iv_t ivs[SCHED_DAY_IVS];
        size_t n = 0, i;
        json_t *iv;
        int day_bad = 0;
        json_array_foreach(day, i, iv) {
            json_t *a = NULL, *b = NULL;
            if (json_is_array(iv) && json_array_size(iv) == 2) {
                a = json_array_get(iv, 0);
                b = json_array_get(iv, 1);
            } else if (json_is_object(iv) && json_object_size(iv) == 2) {
                a = json_object_get(iv, "start");
                b = json_object_get(iv, "end");
            }
            int s, e;
            if (!a || !b || s_bound(a, 0, &s) != 0 || s_bound(b, 1, &e) != 0) {
                kv_errors_add(errors, field, "Each interval must be [\"HH:MM\", \"HH:MM\"].");
                day_bad = 1;
                break;
            }
            if (s >= e) {
                kv_errors_add(errors, field, "Each interval must start before it ends.");
                day_bad = 1;
                break;
            }
            ivs[n].start = s;
            ivs[n].end = e;
            n++;
        }
        if (!day_bad && sched_iv_overlapping(ivs, n)) {
            kv_errors_add(errors, field, "The intervals of a day must not overlap.");
            day_bad = 1;
        }
        if (day_bad) {
            bad = 1;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            json_array_append_new(rows, json_pack("[iii]", wd, ivs[k].start, ivs[k].end));
    }
    if (bad) {
        json_decref(rows);
        return -1;
    }
    *out = rows;
    return 0;
}

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
    json_t *empty = json_object();
    json_t *body = s_body(req, empty, errors);
    json_t *specialties = NULL, *services = NULL, *hours = NULL;
    char *spec_txt = NULL, *svc_txt = NULL, *hours_txt = NULL;
    PGresult *r = NULL;
    const int create = id == 0;
    char tid[KV_DB_I64_LEN], sid[KV_DB_I64_LEN];
    kv_db_i64_param(tid, KV_TENANT(req));

    const char *name = NULL;
    int active = 1;
    s_name(body, "name", create, errors, &name);
    int has_active = s_bool(body, "active", errors, &active) == 0;
    s_specialties(body, errors, &specialties);
    s_service_ids(body, errors, &services);
    s_hours(body, errors, &hours);
    if (services && json_array_size(services) > 0) {
        svc_txt = json_dumps(services, JSON_COMPACT);
        const char *p[2] = { tid, svc_txt };
        r = kv_db_exec(ctx->db, KV_RID(req), "services_count_ids", 2, p);
        if (!r)
            goto fail;
        if (kv_db_i64(r, 0, 0) != (long long)json_array_size(services))
            kv_errors_add(errors, "services", "The selected services are invalid.");
        PQclear(r);
        r = NULL;
    }
    if (json_object_size(errors) > 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
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
    json_decref(empty);
    if (services)
        json_decref(services);
    if (hours)
        json_decref(hours);
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
