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

/* The parameters of a day's two statements (slots_hours, slots_busy). */
typedef struct {
    char tid[KV_DB_I64_LEN], sv[KV_DB_I64_LEN], stf[KV_DB_I64_LEN], ex[KV_DB_I64_LEN];
    char dtxt[11], wd[4];
    const char *ph[4], *pb[4];
} s_day_query_t;

static void s_day_query(s_day_query_t *q, const kv_req_t *req, int64_t service_id,
                        const kv_date_t *date, int64_t staff_id, int64_t exclude)
{
    kv_db_i64_param(q->tid, KV_TENANT(req));
    kv_db_i64_param(q->sv, service_id);
    kv_db_i64_param(q->stf, staff_id);
    kv_db_i64_param(q->ex, exclude);
    kv_format_date(date, q->dtxt);
    snprintf(q->wd, sizeof q->wd, "%d", kv_date_weekday(date));
    q->ph[0] = q->tid;
    q->ph[1] = q->wd;
    q->ph[2] = staff_id > 0 ? q->stf : NULL;
    q->ph[3] = q->sv;
    q->pb[0] = q->tid;
    q->pb[1] = q->dtxt;
    q->pb[2] = staff_id > 0 ? q->stf : NULL;
    q->pb[3] = exclude > 0 ? q->ex : NULL;
}

/* The day's slots from the rows of slots_hours (h) and slots_busy (b) of
 * s_day_query: as sched_day_slots.  Does not take h or b. */
static void s_day_compute(const kv_req_t *req, const sched_svc_t *svc, const kv_date_t *date,
                          const kv_date_t *today, int now_min, const PGresult *h,
                          const PGresult *b, sched_slot_t **out, size_t *n)
{
    s_slots_t all = { NULL, 0, 0 };
    sched_iv_t *work = NULL, *busy = NULL;
    *out = NULL;
    *n = 0;

    int64_t day = kv_date_to_days(date), t0 = kv_date_to_days(today);
    int after = sched_slots_cutoff(day, t0, now_min, svc->rules.min_notice);
    if (day < t0 || day - t0 > svc->rules.max_advance || after >= 1440)
        return;   /* nothing on that date can be booked */

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
    free(work);
    free(busy);
}

int sched_day_slots(kv_ctx_t *ctx, const kv_req_t *req, const sched_svc_t *svc,
                    const kv_date_t *date, int64_t staff_id, int64_t exclude,
                    const kv_date_t *today, int now_min, sched_slot_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int64_t day = kv_date_to_days(date), t0 = kv_date_to_days(today);
    int after = sched_slots_cutoff(day, t0, now_min, svc->rules.min_notice);
    if (day < t0 || day - t0 > svc->rules.max_advance || after >= 1440)
        return 0;   /* nothing on that date can be booked */
    s_day_query_t q;
    s_day_query(&q, req, svc->id, date, staff_id, exclude);
    kv_db_call_t calls[2] = { { "slots_hours", 4, q.ph, NULL }, { "slots_busy", 4, q.pb, NULL } };
    if (kv_db_pipeline(ctx->db, KV_RID(req), calls, 2) != 0)
        return -1;
    s_day_compute(req, svc, date, today, now_min, calls[0].res, calls[1].res, out, n);
    PQclear(calls[0].res);
    PQclear(calls[1].res);
    return 0;
}

void sched_slots_write(kv_jw_t *w, const sched_slot_t *v, size_t n, int duration,
                       const int *times, size_t ntimes)
{
    kv_jw_arr(w);
    for (size_t k = 0; k < ntimes; k++) {
        int t = times[k];
        char a[6], e[6];
        kv_format_time(t, a);
        kv_format_time(t + duration, e);
        kv_jw_obj(w);
        kv_jw_key(w, "time");
        kv_jw_str(w, a, strlen(a));
        kv_jw_key(w, "end_time");
        kv_jw_str(w, e, strlen(e));
        kv_jw_key(w, "staff_ids");
        kv_jw_arr(w);
        for (size_t i = 0; i < n; i++)
            if (v[i].time == t)
                kv_jw_int(w, v[i].staff_id);
        kv_jw_end(w);
        kv_jw_end(w);
    }
    kv_jw_end(w);
}

json_t *sched_slots_json(const sched_slot_t *v, size_t n, int duration, const int *times,
                         size_t ntimes)
{
    kv_jw_t w;
    kv_jw_init(&w);
    sched_slots_write(&w, v, n, duration, times, ntimes);
    json_t *data = kv_jw_tree(&w);
    return data ? data : json_array();
}

/* appointments.slots: query date, service_id, staff_id? -> data
 * [{"time","end_time","staff_ids"}] ordered by time. */
void sched_slots(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    sched_slot_t *v = NULL;
    int *times = NULL;
    size_t n = 0;
    kv_date_t today;
    sched_slots_query_t q;
    sched_svc_t svc;
    int now_min = 0;
    kv_db_call_t calls[5];
    int nc = 0;

    if (sched_parse_slots(req->query, &q, errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    /* one round trip for everything: the tenant's clock, the service, the
     * staff member when one is named, the day's hours and busy intervals;
     * what the checks below refuse is simply not used */
    char tid[KV_DB_I64_LEN], sid[KV_DB_I64_LEN], stf[KV_DB_I64_LEN];
    const char *pn[1] = { sched_tenant_tz(req) };
    const char *ps[2] = { kv_db_i64_param(tid, KV_TENANT(req)), kv_db_i64_param(sid, q.service_id) };
    const char *pt[2] = { tid, kv_db_i64_param(stf, q.staff_id) };
    s_day_query_t dq;
    s_day_query(&dq, req, q.service_id, &q.date, q.staff_id, 0);
    calls[nc++] = (kv_db_call_t){ "sched_now", 1, pn, NULL };
    calls[nc++] = (kv_db_call_t){ "services_get", 2, ps, NULL };
    calls[nc++] = (kv_db_call_t){ "slots_hours", 4, dq.ph, NULL };
    calls[nc++] = (kv_db_call_t){ "slots_busy", 4, dq.pb, NULL };
    if (q.staff_id)
        calls[nc++] = (kv_db_call_t){ "staff_get", 2, pt, NULL };
    if (kv_db_pipeline(ctx->db, KV_RID(req), calls, nc) != 0) {
        nc = 0;
        goto fail;
    }
    if (sched_tenant_now_of(calls[0].res, &today, &now_min) != 0)
        goto fail;
    if (kv_date_to_days(&q.date) < kv_date_to_days(&today)) {
        kv_errors_add(errors, "date", "The date must be today or a later date.");
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    if (PQntuples(calls[1].res) != 1) {
        kv_reply_not_found(rep, "Service");
        goto out;
    }
    sched_svc_from_row(calls[1].res, 0, &svc);
    if (q.staff_id && PQntuples(calls[4].res) == 0) {
        kv_reply_not_found(rep, "Staff member");
        goto out;
    }
    s_day_compute(req, &svc, &q.date, &today, now_min, calls[2].res, calls[3].res, &v, &n);
    /* every distinct time, in order */
    times = kv_malloc(sizeof *times * (n ? n : 1));
    size_t nt = 0;
    for (size_t i = 0; i < n; i++)
        if (nt == 0 || times[nt - 1] != v[i].time)
            times[nt++] = v[i].time;
    kv_jw_t w;                   /* written directly: up to a thousand values */
    kv_reply_ok_begin(&w);
    sched_slots_write(&w, v, n, svc.duration, times, nt);
    kv_reply_ok_end(rep, KV_ST_OK, &w, NULL);
    goto out;
fail:
    sched_db_fail(ctx, req, rep);
out:
    for (int i = 0; i < nc; i++)
        PQclear(calls[i].res);
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
