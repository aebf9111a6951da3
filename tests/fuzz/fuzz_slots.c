/*
 * fuzz_slots.c -- the slot arithmetic of GET /appointments/slots
 * (services/scheduling/slots.c) against a brute-force oracle.
 *
 * The input's bytes become one staff member's day the way the database
 * hands it in: working intervals inside 00:00..24:00 that do not overlap
 * (the staff validator guarantees it; bytes that give overlapping ones are
 * sorted out first), appointments of that date (start 00:00..23:59, any
 * length up to a day, overlapping allowed, ending past midnight allowed),
 * a service duration of 5..1440 minutes, the tenant's grid of 5..120
 * minutes or the out-of-range fallback 15, and the cut-off ("after": the
 * current minute today, -1 any other day).
 *
 * Properties: sched_slots_staff returns exactly the grid times t > after
 * for which [t, t + duration) lies inside one working interval and
 * overlaps no appointment (sched_slots_within / sched_slots_overlaps on
 * the same data, and a minute-by-minute oracle), ascending, and a
 * smaller cap gives a prefix of the same list; merged slots sort by time,
 * then staff.  With buffers of 0..1440 minutes before and after (read
 * after the rest, so older inputs keep their meaning), the other bookings
 * grown by them, sched_slots_staff_buffered returns exactly the grid
 * times whose booking fits a working interval and whose buffered span
 * [t - before, t + duration + after) overlaps no grown booking; with no
 * buffers it agrees with sched_slots_staff.  sched_slots_nearest gives
 * the distinct times nearest to the asked one, by distance then earlier,
 * as a sort of all of them does.
 */

#include "fuzz.h"

#include "../../services/scheduling/sched_valid.h"
#include "../../services/scheduling/slots.h"

#define S_MAX_WORK 24
#define S_MAX_BUSY 64

/* The brute-force answer: one minute of the day at a time. */
static size_t s_oracle(const sched_iv_t *work, size_t nw, const sched_iv_t *busy, size_t nb,
                       int duration, int step, int after, int *out)
{
    size_t n = 0;
    for (int t = 0; t < 1440; t++) {
        if (t % step != 0 || t <= after)
            continue;
        int inside = 0;
        for (size_t i = 0; i < nw; i++)
            if (work[i].start <= t && t + duration <= work[i].end)
                inside = 1;
        if (!inside)
            continue;
        int clash = 0;
        for (size_t i = 0; i < nb; i++)
            for (int m = t; m < t + duration && !clash; m++)
                if (busy[i].start <= m && m < busy[i].end)
                    clash = 1;
        if (!clash)
            out[n++] = t;
    }
    return n;
}

/* The buffered answer by its definition, interval by interval. */
static size_t s_oracle_buffered(const sched_iv_t *work, size_t nw, const sched_iv_t *busy,
                                size_t nb, int duration, int before, int after_buf, int step,
                                int after, int *out)
{
    size_t n = 0;
    for (int t = 0; t < 1440; t += step) {
        if (t <= after)
            continue;
        int inside = 0;
        for (size_t i = 0; i < nw; i++)
            if (work[i].start <= t && t + duration <= work[i].end)
                inside = 1;
        if (!inside)
            continue;
        int lo = t - before, hi = t + duration + after_buf, clash = 0;
        for (size_t i = 0; i < nb && !clash; i++)
            clash = busy[i].start < hi && lo < busy[i].end;
        if (!clash)
            out[n++] = t;
    }
    return n;
}

static int s_asked;

static int s_by_nearness(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    int dx = abs(x - s_asked), dy = abs(y - s_asked);
    return dx != dy ? (dx < dy ? -1 : 1) : (x > y) - (x < y);
}

static void s_nearest(const int *times, size_t n, int asked, size_t k)
{
    int out[16], sorted[2 * 1440];
    size_t got = sched_slots_nearest(times, n, asked, out, k);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || sorted[m - 1] != times[i])
            sorted[m++] = times[i];
    s_asked = asked;
    qsort(sorted, m, sizeof *sorted, s_by_nearness);
    FUZZ_CHECK(got == (m < k ? m : k));
    for (size_t i = 0; i < got; i++)
        FUZZ_CHECK(out[i] == sorted[i]);
}

static void s_buffered(const sched_iv_t *work, size_t nw, const sched_iv_t *busy, size_t nb,
                       int duration, int step, int after, fuzz_in_t *in,
                       const int *plain, size_t nplain)
{
    int before = fuzz_range(in, 0, KV_SERVICE_BUFFER_MAX);
    int after_buf = fuzz_range(in, 0, KV_SERVICE_BUFFER_MAX);
    if (fuzz_u8(in) % 4 == 0)
        before = after_buf = 0;
    sched_iv_t w2[S_MAX_WORK], grown[S_MAX_BUSY], b2[S_MAX_BUSY];
    for (size_t i = 0; i < nb; i++) {
        grown[i].start = busy[i].start - before;   /* may reach the day before */
        grown[i].end = busy[i].end + after_buf;
    }
    int got[1440], want[1440];
    memcpy(w2, work, nw * sizeof *work);
    memcpy(b2, grown, nb * sizeof *grown);
    size_t n = sched_slots_staff_buffered(w2, nw, b2, nb, duration, before, after_buf, step,
                                          after, got, 1440);
    size_t m = s_oracle_buffered(work, nw, grown, nb, duration, before, after_buf, step, after,
                                 want);
    FUZZ_CHECK(n == m && memcmp(got, want, n * sizeof *got) == 0);
    if (before == 0 && after_buf == 0)
        FUZZ_CHECK(n == nplain && memcmp(got, plain, n * sizeof *got) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = { data, size };
    sched_iv_t work[S_MAX_WORK], busy[S_MAX_BUSY], w2[S_MAX_WORK], b2[S_MAX_BUSY];
    size_t nw = fuzz_u8(&in) % (S_MAX_WORK + 1), nb = fuzz_u8(&in) % (S_MAX_BUSY + 1);
    int duration = fuzz_range(&in, 5, 1440);
    int grid = fuzz_range(&in, 0, 121);
    int step = grid >= 5 && grid <= 120 ? grid : 15;   /* sched_step's fallback */
    int after = fuzz_range(&in, -1, 1439);
    for (size_t i = 0; i < nw; i++) {
        int a = fuzz_range(&in, 0, 1439);
        int b = fuzz_range(&in, a + 1, 1440);
        work[i].start = a;
        work[i].end = b;
    }
    for (size_t i = 0; i < nb; i++) {
        int a = fuzz_range(&in, 0, 1439);
        busy[i].start = a;
        busy[i].end = a + fuzz_range(&in, 1, 1440);
    }
    /* the staff validator never lets overlapping hours through */
    memcpy(w2, work, sizeof work);
    if (sched_iv_overlapping(w2, nw))
        return 0;

    int got[1440], want[1440];
    memcpy(w2, work, sizeof work);
    memcpy(b2, busy, sizeof busy);
    size_t n = sched_slots_staff(w2, nw, b2, nb, duration, step, after, got, 1440);
    size_t m = s_oracle(work, nw, busy, nb, duration, step, after, want);
    FUZZ_CHECK(n == m);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(got[i] == want[i]);
        FUZZ_CHECK(i == 0 || got[i - 1] < got[i]);
        FUZZ_CHECK(sched_on_grid(got[i], step) && got[i] > after);
        FUZZ_CHECK(sched_slots_within(work, nw, got[i], got[i] + duration));
        FUZZ_CHECK(!sched_slots_overlaps(busy, nb, got[i], got[i] + duration));
    }
    /* a smaller cap: a prefix */
    size_t cap = n ? (size_t)fuzz_u8(&in) % n : 0;
    int part[1440];
    memcpy(w2, work, sizeof work);
    memcpy(b2, busy, sizeof busy);
    size_t k = sched_slots_staff(w2, nw, b2, nb, duration, step, after, part, cap);
    FUZZ_CHECK(k == cap && memcmp(part, got, k * sizeof *part) == 0);

    /* merged across staff: sorted by time, then staff id */
    sched_slot_t all[2 * 1440];
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        all[na].time = got[i];
        all[na++].staff_id = 2;
        if (i % 2 == 0) {
            all[na].time = got[i];
            all[na++].staff_id = 1;
        }
    }
    sched_slots_sort(all, na);
    for (size_t i = 1; i < na; i++)
        FUZZ_CHECK(all[i - 1].time < all[i].time ||
                   (all[i - 1].time == all[i].time && all[i - 1].staff_id < all[i].staff_id));

    /* the alternatives of a taken slot, from the merged times */
    int times[2 * 1440];
    for (size_t i = 0; i < na; i++)
        times[i] = all[i].time;
    s_nearest(times, na, fuzz_range(&in, 0, 1439), (size_t)fuzz_u8(&in) % 17);

    s_buffered(work, nw, busy, nb, duration, step, after, &in, got, n);
    return 0;
}
