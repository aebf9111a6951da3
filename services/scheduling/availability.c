/*
 * availability.c -- GET /api/v1/appointments/slots, the free starts of a
 * day that the alternatives of a 409 are picked from (sched_day_slots),
 * and the "next available slot" of staff members: the I/O around the pure
 * arithmetic of slots.c.
 *
 * Each computation loads everything it needs in two statements (working
 * intervals of the eligible staff, and their busy intervals -- bookings and
 * unexpired holds, widened by their buffers, from the busy table -- over the
 * dates in question and the day either side, which buffers can reach),
 * both ordered by staff id, then walks the two results side by side and
 * computes per staff member in C.  The service's own buffers, minimum
 * notice and maximum advance decide which starts remain.  The tenant's
 * "today" and "now" come from PostgreSQL in the tenant's time zone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "kv_mem.h"

/* Advances *pos over rows of r (ordered by column 0 = staff id) to the
 * first row of staff_id; sets [*begin, *end) to that staff member's rows
 * (empty when none).  Rows of smaller ids are skipped for good. */
static void s_range(const PGresult *r, int *pos, int64_t staff_id, int *begin, int *end)
{
    int n = PQntuples(r);
    while (*pos < n && kv_db_i64(r, *pos, 0) < staff_id)
        (*pos)++;
    *begin = *pos;
    while (*pos < n && kv_db_i64(r, *pos, 0) == staff_id)
        (*pos)++;
    *end = *pos;
}

/* A slot list under construction. */
typedef struct {
    sched_slot_t *v;     /* owned */
    size_t n, cap;
} s_slots_t;

static void s_push(s_slots_t *s, int time, int64_t staff_id)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = kv_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n].time = time;
    s->v[s->n].staff_id = staff_id;
    s->n++;
}

int sched_day_slots(kv_ctx_t *ctx, const kv_req_t *req, const sched_svc_t *svc,
                    const kv_date_t *date, int64_t staff_id, int64_t exclude,
                    const kv_date_t *today, int now_min, sched_slot_t **out, size_t *n)
{
    int rc = -1;
    PGresult *h = NULL, *b = NULL;
    s_slots_t all = { NULL, 0, 0 };
    sched_iv_t *work = NULL, *busy = NULL;
    *out = NULL;
    *n = 0;

    int64_t day = kv_date_to_days(date), t0 = kv_date_to_days(today);
    int after = sched_slots_cutoff(day, t0, now_min, svc->rules.min_notice);
    if (day < t0 || day - t0 > svc->rules.max_advance || after >= 1440)
        return 0;   /* nothing on that date can be booked */

    char tid[KV_DB_I64_LEN], sv[KV_DB_I64_LEN], stf[KV_DB_I64_LEN], ex[KV_DB_I64_LEN];
    char dtxt[11], wd[4];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_db_i64_param(sv, svc->id);
    kv_db_i64_param(stf, staff_id);
    kv_db_i64_param(ex, exclude);
    kv_format_date(date, dtxt);
    snprintf(wd, sizeof wd, "%d", kv_date_weekday(date));
    const char *ph[4] = { tid, wd, staff_id > 0 ? stf : NULL, sv };
    h = kv_db_exec(ctx->db, KV_RID(req), "slots_hours", 4, ph);
    if (!h)
        goto out;
    const char *pb[4] = { tid, dtxt, staff_id > 0 ? stf : NULL, exclude > 0 ? ex : NULL };
    b = kv_db_exec(ctx->db, KV_RID(req), "slots_busy", 4, pb);
    if (!b)
        goto out;

    int step = sched_step(req);
    int nh = PQntuples(h), nb = PQntuples(b);
    work = kv_malloc(sizeof *work * (size_t)(nh ? nh : 1));
    busy = kv_malloc(sizeof *busy * (size_t)(nb ? nb : 1));
    int out_times[1440];
    int hpos = 0, bpos = 0;
    while (hpos < nh) {
        int64_t sid = kv_db_i64(h, hpos, 0);
        int h0, h1, b0, b1;
        s_range(h, &hpos, sid, &h0, &h1);
        s_range(b, &bpos, sid, &b0, &b1);
        size_t nw = 0, nbz = 0;
        for (int i = h0; i < h1; i++) {
            work[nw].start = (int)kv_db_i64(h, i, 1);
            work[nw].end = (int)kv_db_i64(h, i, 2);
            nw++;
        }
        for (int i = b0; i < b1; i++) {
            busy[nbz].start = (int)kv_db_i64(b, i, 1);
            busy[nbz].end = (int)kv_db_i64(b, i, 2);
            nbz++;
        }
        size_t k = sched_slots_staff_buffered(work, nw, busy, nbz, svc->duration,
                                              svc->rules.buffer_before,
                                              svc->rules.buffer_after, step, after,
                                              out_times, 1440);
        for (size_t i = 0; i < k; i++)
            s_push(&all, out_times[i], sid);
    }
    sched_slots_sort(all.v, all.n);
    *out = all.v;
    *n = all.n;
    all.v = NULL;
    rc = 0;
out:
    if (h)
        PQclear(h);
    if (b)
        PQclear(b);
    free(all.v);
    free(work);
    free(busy);
    return rc;
}

json_t *sched_slots_json(const sched_slot_t *v, size_t n, int duration, const int *times,
                         size_t ntimes)
{
    json_t *data = json_array();
    for (size_t k = 0; k < ntimes; k++) {
        int t = times[k];
        char a[6], e[6];
        kv_format_time(t, a);
        kv_format_time(t + duration, e);
        json_t *ids = json_array();
        for (size_t i = 0; i < n; i++)
            if (v[i].time == t)
                json_array_append_new(ids, json_integer(v[i].staff_id));
        json_t *slot = json_object();
        json_object_set_new(slot, "time", json_string(a));
        json_object_set_new(slot, "end_time", json_string(e));
        json_object_set_new(slot, "staff_ids", ids);
        json_array_append_new(data, slot);
    }
    return data;
}

/* appointments.slots: query date, service_id, staff_id? -> data
 * [{"time","end_time","staff_ids"}] ordered by time. */
void sched_slots(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    PGresult *st = NULL;
    sched_slot_t *v = NULL;
    int *times = NULL;
    size_t n = 0;
    kv_date_t today;
    sched_slots_query_t q;
    sched_svc_t svc;
    int now_min = 0;

    if (sched_parse_slots(req->query, &q, errors) == 0) {
        if (sched_tenant_now(ctx, req, &today, &now_min) != 0)
            goto fail;
        if (kv_date_to_days(&q.date) < kv_date_to_days(&today))
            kv_errors_add(errors, "date", "The date must be today or a later date.");
    }
    if (json_object_size(errors) > 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    int found = sched_svc_load(ctx, req, q.service_id, 0, &svc);
    if (found < 0)
        goto fail;
    if (!found) {
        kv_reply_not_found(rep, "Service");
        goto out;
    }
    if (q.staff_id) {
        char tid[KV_DB_I64_LEN], stf[KV_DB_I64_LEN];
        const char *pt[2] = { kv_db_i64_param(tid, KV_TENANT(req)),
                              kv_db_i64_param(stf, q.staff_id) };
        st = kv_db_exec(ctx->db, KV_RID(req), "staff_get", 2, pt);
        if (!st)
            goto fail;
        if (PQntuples(st) == 0) {
            kv_reply_not_found(rep, "Staff member");
            goto out;
        }
    }
    if (sched_day_slots(ctx, req, &svc, &q.date, q.staff_id, 0, &today, now_min, &v, &n) != 0)
        goto fail;
    /* every distinct time, in order */
    times = kv_malloc(sizeof *times * (n ? n : 1));
    size_t nt = 0;
    for (size_t i = 0; i < n; i++)
        if (nt == 0 || times[nt - 1] != v[i].time)
            times[nt++] = v[i].time;
    kv_reply_ok(rep, KV_ST_OK, sched_slots_json(v, n, svc.duration, times, nt), NULL);
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    if (st)
        PQclear(st);
    free(v);
    free(times);
    if (errors)
        json_decref(errors);
}

int sched_next_slots(kv_ctx_t *ctx, const kv_req_t *req, const int64_t *ids,
                     const int *duration, const sched_rules_t *rules, size_t n,
                     const kv_date_t *today, int now_min, int *out_day, int *out_min)
{
    int rc = -1;
    PGresult *h = NULL, *b = NULL;
    char *arr = NULL;
    sched_iv_t *work = NULL, *busy = NULL;
    for (size_t i = 0; i < n; i++)
        out_day[i] = -1;
    if (n == 0)
        return 0;

    /* a bigint[] literal made of integers only */
    size_t cap = n * 21 + 3, len = 0;
    arr = kv_malloc(cap);
    arr[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(arr + len, cap - len, "%s%lld", i ? "," : "", (long long)ids[i]);
    snprintf(arr + len, cap - len, "}");

    char tid[KV_DB_I64_LEN], dtxt[11], days[8];
    kv_db_i64_param(tid, KV_TENANT(req));
    kv_format_date(today, dtxt);
    snprintf(days, sizeof days, "%d", SCHED_NEXT_SLOT_DAYS);
    const char *ph[2] = { tid, arr };
    h = kv_db_exec(ctx->db, KV_RID(req), "staff_hours_of", 2, ph);
    if (!h)
        goto out;
    const char *pb[4] = { tid, arr, dtxt, days };
    b = kv_db_exec(ctx->db, KV_RID(req), "staff_busy_range", 4, pb);
    if (!b)
        goto out;

    int nh = PQntuples(h), nb = PQntuples(b);
    work = kv_malloc(sizeof *work * (size_t)(nh ? nh : 1));
    busy = kv_malloc(sizeof *busy * (size_t)(nb ? nb : 1));
    int wd0 = kv_date_weekday(today);
    int64_t t0 = kv_date_to_days(today);
    int hpos = 0, bpos = 0;
    /* ids ascend (staff lists are ordered by id) as do both results */
    for (size_t i = 0; i < n; i++) {
        int h0, h1, b0, b1;
        s_range(h, &hpos, ids[i], &h0, &h1);
        s_range(b, &bpos, ids[i], &b0, &b1);
        if (duration[i] <= 0 || h0 == h1)
            continue;
        /* one member's busy rows never overlap (busy_no_overlap) and come
         * by start: their ends ascend too, so one cursor walks them */
        int bi = b0;
        for (int d = 0; d < SCHED_NEXT_SLOT_DAYS && d <= rules[i].max_advance && out_day[i] < 0;
             d++) {
            int wd = (wd0 + d) % 7;
            size_t nw = 0, nbz = 0;
            for (int k = h0; k < h1; k++) {
                if (kv_db_i64(h, k, 1) != wd)
                    continue;
                work[nw].start = (int)kv_db_i64(h, k, 2);
                work[nw].end = (int)kv_db_i64(h, k, 3);
                nw++;
            }
            if (nw == 0)
                continue;
            /* the rows that reach into [day - 1, day + 2), as minutes of day d */
            long long base = (long long)d * 1440;
            while (bi < b1 && kv_db_i64(b, bi, 2) <= base - 1440)
                bi++;
            for (int k = bi; k < b1 && kv_db_i64(b, k, 1) < base + 2880; k++) {
                busy[nbz].start = (int)(kv_db_i64(b, k, 1) - base);
                busy[nbz].end = (int)(kv_db_i64(b, k, 2) - base);
                nbz++;
            }
            int after = sched_slots_cutoff(t0 + d, t0, now_min, rules[i].min_notice);
            if (after >= 1440)
                continue;
            int t;
            if (sched_slots_staff_buffered(work, nw, busy, nbz, duration[i],
                                           rules[i].buffer_before, rules[i].buffer_after,
                                           sched_step(req), after, &t, 1) == 1) {
                out_day[i] = d;
                out_min[i] = t;
            }
        }
    }
    rc = 0;
out:
    if (h)
        PQclear(h);
    if (b)
        PQclear(b);
    free(arr);
    free(work);
    free(busy);
    return rc;
}
