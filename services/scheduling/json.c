/*
 * json.c -- the public JSON objects of the scheduling service, built from
 * result rows, and the small helpers every handler shares (tenant clock,
 * slot interval, failure answers).
 *
 * Objects are always built here so that the list, show, create and event
 * payload of one resource can never drift apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "kv_log.h"

json_t *sched_price_json(long long cents)
{
    return json_real((double)cents / 100.0);
}

static json_t *s_time(int minutes)
{
    char buf[6];
    kv_format_time(minutes, buf);
    return json_string(buf);
}

void sched_service_write(kv_jw_t *w, const PGresult *r, int row, int admin)
{
    kv_jw_obj(w);
    kv_jw_key(w, "id");
    kv_jw_int(w, kv_db_i64(r, row, SCHED_S_ID));
    kv_jw_key(w, "name");
    kv_jw_cell_str(w, r, row, SCHED_S_NAME);
    kv_jw_key(w, "duration");
    kv_jw_int(w, kv_db_i64(r, row, SCHED_S_DURATION));
    kv_jw_key(w, "price");
    kv_jw_real(w, (double)kv_db_i64(r, row, SCHED_S_PRICE) / 100.0, 15);   /* sched_price_json */
    kv_jw_key(w, "buffer_before_minutes");
    kv_jw_int(w, kv_db_i64(r, row, SCHED_S_BUF_BEFORE));
    kv_jw_key(w, "buffer_after_minutes");
    kv_jw_int(w, kv_db_i64(r, row, SCHED_S_BUF_AFTER));
    kv_jw_key(w, "min_notice_minutes");
    kv_jw_int(w, kv_db_i64(r, row, SCHED_S_NOTICE));
    kv_jw_key(w, "max_advance_days");
    kv_jw_int(w, kv_db_i64(r, row, SCHED_S_ADVANCE));
    if (admin) {
        const char *a = kv_db_str(r, row, SCHED_S_ACTIVE);
        kv_jw_key(w, "active");
        kv_jw_bool(w, a && a[0] == 't');
        kv_jw_key(w, "created_at");
        kv_jw_cell_str(w, r, row, SCHED_S_CREATED);
        kv_jw_key(w, "updated_at");
        kv_jw_cell_str(w, r, row, SCHED_S_UPDATED);
    }
    kv_jw_end(w);
}

json_t *sched_service_json(const PGresult *r, int row, int admin)
{
    /* written once, read back: the list (written directly) and every other
     * answer of a service can never drift apart */
    kv_jw_t w;
    kv_jw_init(&w);
    sched_service_write(&w, r, row, admin);
    return kv_jw_tree(&w);
}

json_t *sched_staff_json(const PGresult *r, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(kv_db_i64(r, row, SCHED_T_ID)));
    json_object_set_new(o, "name", json_string(kv_db_str(r, row, SCHED_T_NAME)));
    json_t *sp = json_loads(kv_db_str(r, row, SCHED_T_SPECIALTIES), 0, NULL);
    json_object_set_new(o, "specialties", sp ? sp : json_array());
    return o;
}

json_t *sched_appt_json(const PGresult *r, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(kv_db_i64(r, row, SCHED_A_ID)));
    json_object_set_new(o, "customer_id", json_integer(kv_db_i64(r, row, SCHED_A_CUSTOMER)));
    json_object_set_new(o, "service_id", json_integer(kv_db_i64(r, row, SCHED_A_SERVICE)));
    json_object_set_new(o, "service_name", kv_json_cell_str(r, row, SCHED_A_SERVICE_NAME));
    json_object_set_new(o, "staff_id", json_integer(kv_db_i64(r, row, SCHED_A_STAFF)));
    json_object_set_new(o, "staff_name", kv_json_cell_str(r, row, SCHED_A_STAFF_NAME));
    json_object_set_new(o, "appointment_date", kv_json_cell_str(r, row, SCHED_A_DATE));
    json_object_set_new(o, "appointment_time", s_time((int)kv_db_i64(r, row, SCHED_A_START)));
    json_object_set_new(o, "end_time", s_time((int)kv_db_i64(r, row, SCHED_A_END)));
    json_object_set_new(o, "duration", json_integer(kv_db_i64(r, row, SCHED_A_DURATION)));
    json_object_set_new(o, "status", kv_json_cell_str(r, row, SCHED_A_STATUS));
    json_object_set_new(o, "notes", kv_json_cell_str(r, row, SCHED_A_NOTES));
    json_object_set_new(o, "source", kv_json_cell_str(r, row, SCHED_A_SOURCE));
    json_object_set_new(o, "price", sched_price_json(kv_db_i64(r, row, SCHED_A_PRICE)));
    json_object_set_new(o, "created_at", kv_json_cell_str(r, row, SCHED_A_CREATED));
    json_object_set_new(o, "updated_at", kv_json_cell_str(r, row, SCHED_A_UPDATED));
    json_object_set_new(o, "call_id", kv_json_cell_int(r, row, SCHED_A_CALL));
    return o;
}

json_t *sched_hold_json(const PGresult *r, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(kv_db_i64(r, row, SCHED_H_ID)));
    json_object_set_new(o, "service_id", json_integer(kv_db_i64(r, row, SCHED_H_SERVICE)));
    json_object_set_new(o, "staff_id", json_integer(kv_db_i64(r, row, SCHED_H_STAFF)));
    json_object_set_new(o, "appointment_date", kv_json_cell_str(r, row, SCHED_H_DATE));
    json_object_set_new(o, "appointment_time", s_time((int)kv_db_i64(r, row, SCHED_H_START)));
    json_object_set_new(o, "end_time", s_time((int)kv_db_i64(r, row, SCHED_H_END)));
    json_object_set_new(o, "expires_at", kv_json_cell_str(r, row, SCHED_H_EXPIRES));
    json_object_set_new(o, "call_id", kv_json_cell_int(r, row, SCHED_H_CALL));
    return o;
}

json_t *sched_hours_json(const PGresult *r, int64_t staff_id)
{
    json_t *days[7];
    json_t *o = json_object();
    for (int d = 0; d < 7; d++) {
        days[d] = json_array();
        json_object_set_new(o, sched_weekdays[d], days[d]);  /* o holds it; days[] borrowed */
    }
    for (int i = 0; r && i < PQntuples(r); i++) {
        if (kv_db_i64(r, i, 0) != staff_id)
            continue;
        long long wd = kv_db_i64(r, i, 1);
        if (wd < 0 || wd > 6)
            continue;
        json_t *iv = json_object();
        json_object_set_new(iv, "start", s_time((int)kv_db_i64(r, i, 2)));
        json_object_set_new(iv, "end", s_time((int)kv_db_i64(r, i, 3)));
        json_array_append_new(days[wd], iv);
    }
    return o;
}

void sched_db_fail(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    kv_db_rollback(ctx->db, KV_RID(req));   /* keeps the failure's SQLSTATE */
    kv_reply_db_error(rep, ctx->db);
}

const char *sched_tenant_tz(const kv_req_t *req)
{
    return req->hdr->tenant_tz[0] ? req->hdr->tenant_tz : "UTC";
}

int sched_tenant_now_of(const PGresult *r, kv_date_t *today, int *now_min)
{
    if (!r || PQntuples(r) != 1 || kv_parse_date(kv_db_str(r, 0, 0), today) != 0)
        return -1;
    *now_min = (int)kv_db_i64(r, 0, 1);
    return 0;
}

int sched_tenant_now(kv_ctx_t *ctx, const kv_req_t *req, kv_date_t *today, int *now_min)
{
    const char *p[1] = { sched_tenant_tz(req) };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "sched_now", 1, p);
    int rc = r ? sched_tenant_now_of(r, today, now_min) : -1;
    if (r)
        PQclear(r);
    return rc;
}

int sched_step(const kv_req_t *req)
{
    int st = req->hdr->slot_interval;
    return (st > 0 && st <= 1440) ? st : SCHED_DEFAULT_STEP;
}
