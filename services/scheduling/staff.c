/*
 * staff.c -- the public Staff endpoints: GET /api/v1/staff and
 * GET /api/v1/staff/{id}.
 *
 * Only active staff are visible (an inactive member answers 404 like a
 * missing one).  next_available_slot is the earliest bookable start within
 * 30 days for the shortest active service the member performs (with that
 * service's buffers, notice and advance; live holds count as taken), as
 * {"date","time"}, or null.  The show endpoint adds working_hours (per
 * weekday, a list of {"start","end"}) and upcoming_appointments: scheduled
 * appointments from now on as {"date","time","end_time"} -- never anything
 * about the customer.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sched.h"
#include "kv_mem.h"

/* {"date","time"} of day offset day from today at minute, or null. */
static json_t *s_next_json(const kv_date_t *today, int day, int minute)
{
    if (day < 0)
        return json_null();
    kv_date_t d;
    char dbuf[11], tbuf[6];
    kv_days_to_date(kv_date_to_days(today) + day, &d);
    kv_format_date(&d, dbuf);
    kv_format_time(minute, tbuf);
    json_t *o = json_object();
    json_object_set_new(o, "date", json_string(dbuf));
    json_object_set_new(o, "time", json_string(tbuf));
    return o;
}

/* The duration (0: the member performs no active service) and booking
 * rules of the shortest service the member of row performs. */
static int s_min_duration(const PGresult *r, int row, sched_rules_t *rules)
{
    rules->buffer_before = (int)kv_db_i64(r, row, SCHED_T_BUF_BEFORE);
    rules->buffer_after = (int)kv_db_i64(r, row, SCHED_T_BUF_AFTER);
    rules->min_notice = (int)kv_db_i64(r, row, SCHED_T_NOTICE);
    rules->max_advance = (int)kv_db_i64(r, row, SCHED_T_ADVANCE);
    return kv_db_str(r, row, SCHED_T_MIN_DURATION) ? (int)kv_db_i64(r, row, SCHED_T_MIN_DURATION) : 0;
}

/* staff.list: query page, per_page -> data [staff], meta. */
void sched_staff_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL, *c = NULL;
    json_t *errors = json_object();
    int64_t *ids = NULL;
    int *dur = NULL, *nd = NULL, *nm = NULL;
    sched_rules_t *rules = NULL;
    int page, per_page, now_min;
    kv_date_t today;
    if (kv_query_page(req->query, KV_PER_PAGE_DEFAULT, KV_PER_PAGE_MAX, &page, &per_page,
                      errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    char tid[KV_DB_I64_LEN], lim[KV_DB_I64_LEN], off[KV_DB_I64_LEN];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_page_params(page, per_page, lim, off);
    const char *pl[3] = { tid, lim, off };
    r = kv_db_exec(ctx->db, KV_RID(req), "staff_list", 3, pl);
    if (!r)
        goto fail;
    c = kv_db_exec(ctx->db, KV_RID(req), "staff_count", 1, pl);
    if (!c)
        goto fail;
    if (sched_tenant_now(ctx, req, &today, &now_min) != 0)
        goto fail;
    size_t n = (size_t)PQntuples(r);
    ids = kv_calloc(n + 1, sizeof *ids);
    dur = kv_calloc(n + 1, sizeof *dur);
    nd = kv_calloc(n + 1, sizeof *nd);
    nm = kv_calloc(n + 1, sizeof *nm);
    rules = kv_calloc(n + 1, sizeof *rules);
    for (size_t i = 0; i < n; i++) {
        ids[i] = kv_db_i64(r, (int)i, SCHED_T_ID);
        dur[i] = s_min_duration(r, (int)i, &rules[i]);
    }
    if (sched_next_slots(ctx, req, ids, dur, rules, n, &today, now_min, nd, nm) != 0)
        goto fail;
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = sched_staff_json(r, (int)i);
        json_object_set_new(o, "next_available_slot", s_next_json(&today, nd[i], nm[i]));
        json_array_append_new(data, o);
    }
    kv_reply_ok(rep, KV_ST_OK, data, kv_meta_page(page, per_page, kv_db_i64(c, 0, 0)));
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    if (r)
        PQclear(r);
    if (c)
        PQclear(c);
    if (errors)
        json_decref(errors);
    free(ids);
    free(dur);
    free(nd);
    free(nm);
    free(rules);
}

/* staff.get: params id -> data staff with working_hours and
 * upcoming_appointments | 404. */
void sched_staff_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL, *h = NULL, *u = NULL;
    int64_t id = kv_param_id(req, "id");
    kv_date_t today;
    int now_min;
    if (id <= 0) {
        kv_reply_not_found(rep, "Staff member");
        return;
    }
    char tid[KV_DB_I64_LEN], sid[KV_DB_I64_LEN], arr[32], dtxt[11], mtxt[8];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_db_i64_param(sid, id);
    snprintf(arr, sizeof arr, "{%lld}", (long long)id);
    const char *p[2] = { tid, sid };
    r = kv_db_exec(ctx->db, KV_RID(req), "staff_get", 2, p);
    if (!r)
        goto fail;
    if (PQntuples(r) == 0) {
        kv_reply_not_found(rep, "Staff member");
        goto out;
    }
    if (sched_tenant_now(ctx, req, &today, &now_min) != 0)
        goto fail;
    kv_format_date(&today, dtxt);
    snprintf(mtxt, sizeof mtxt, "%d", now_min);
    const char *ph[2] = { tid, arr };
    h = kv_db_exec(ctx->db, KV_RID(req), "staff_hours_of", 2, ph);
    if (!h)
        goto fail;
    const char *pu[4] = { tid, sid, dtxt, mtxt };
    u = kv_db_exec(ctx->db, KV_RID(req), "staff_upcoming", 4, pu);
    if (!u)
        goto fail;
    sched_rules_t rules;
    int dur = s_min_duration(r, 0, &rules), nd = -1, nm = 0;
    if (sched_next_slots(ctx, req, &id, &dur, &rules, 1, &today, now_min, &nd, &nm) != 0)
        goto fail;

    json_t *o = sched_staff_json(r, 0);
    json_object_set_new(o, "working_hours", sched_hours_json(h, id));
    json_object_set_new(o, "next_available_slot", s_next_json(&today, nd, nm));
    json_t *up = json_array();
    for (int i = 0; i < PQntuples(u); i++) {
        char a[6], e[6];
        kv_format_time((int)kv_db_i64(u, i, 1), a);
        kv_format_time((int)kv_db_i64(u, i, 2), e);
        json_t *x = json_object();
        json_object_set_new(x, "date", json_string(kv_db_str(u, i, 0)));
        json_object_set_new(x, "time", json_string(a));
        json_object_set_new(x, "end_time", json_string(e));
        json_array_append_new(up, x);
    }
    json_object_set_new(o, "upcoming_appointments", up);
    kv_reply_ok(rep, KV_ST_OK, o, NULL);
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    if (r)
        PQclear(r);
    if (h)
        PQclear(h);
    if (u)
        PQclear(u);
}
