/*
 * slots.c -- bookable start times from working hours and appointments.
 *
 * Pure functions over caller-owned arrays (see slots.h for the rules).  The
 * per-staff computation walks each working interval's grid once and keeps
 * a cursor into the busy list sorted by start, so one day of one staff
 * member costs O(grid points + appointments) after the sorts.
 */
#include <assert.h>
#include <stdlib.h>

#include "slots.h"

static int s_iv_cmp(const void *a, const void *b)
{
    const sched_iv_t *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

void sched_iv_sort(sched_iv_t *ivs, size_t n)
{
    if (n > 1)
        qsort(ivs, n, sizeof *ivs, s_iv_cmp);
}

size_t sched_slots_staff(sched_iv_t *work, size_t nwork, sched_iv_t *busy, size_t nbusy,
                         int duration, int step, int after, int *out, size_t cap)
{
    return sched_slots_staff_buffered(work, nwork, busy, nbusy, duration, 0, 0, step, after,
                                      out, cap);
}

size_t sched_slots_staff_buffered(sched_iv_t *work, size_t nwork, sched_iv_t *busy,
                                  size_t nbusy, int duration, int buf_before, int buf_after,
                                  int step, int after, int *out, size_t cap)
{
    assert(duration > 0 && step > 0 && buf_before >= 0 && buf_after >= 0);
    size_t n = 0;
    sched_iv_sort(work, nwork);
    sched_iv_sort(busy, nbusy);
    size_t j = 0;   /* busy[0..j) all end at or before the current t - buf_before */
    for (size_t w = 0; w < nwork && n < cap; w++) {
        /* the first start on the grid (multiples of step from 00:00) inside
         * the interval: an interval starting off the grid starts later */
        int first = (work[w].start + step - 1) / step * step;
        for (int t = first; t + duration <= work[w].end && n < cap; t += step) {
            if (t <= after)
                continue;
            /* the interval the staff member must be free: the booking and
             * its buffers */
            int lo = t - buf_before, hi = t + duration + buf_after;
            /* lo only grows: what ends by lo never matters again */
            while (j < nbusy && busy[j].end <= lo)
                j++;
            int clash = 0;
            for (size_t k = j; k < nbusy && busy[k].start < hi; k++) {
                if (busy[k].end > lo) {
                    clash = 1;
                    break;
                }
            }
            if (!clash)
                out[n++] = t;
        }
    }
    return n;
}

size_t sched_slots_nearest(const int *times, size_t n, int asked, int *out, size_t k)
{
    size_t got = 0;
    while (got < k) {
        /* the best time not taken yet: nearest, then earlier; times ascend
         * and may repeat, so the first candidate of a distance is the
         * earlier one and equal times are one choice */
        int best = -1, best_d = 0;
        for (size_t i = 0; i < n; i++) {
            int t = times[i], d = t > asked ? t - asked : asked - t, taken = 0;
            for (size_t g = 0; g < got && !taken; g++)
                taken = out[g] == t;
            if (taken)
                continue;
            if (best < 0 || d < best_d || (d == best_d && t < best)) {
                best = t;
                best_d = d;
            }
        }
        if (best < 0)
            break;
        out[got++] = best;
    }
    return got;
}

int sched_slots_within(const sched_iv_t *work, size_t n, int start, int end)
{
    for (size_t i = 0; i < n; i++)
        if (work[i].start <= start && end <= work[i].end)
            return 1;
    return 0;
}

int sched_slots_overlaps(const sched_iv_t *busy, size_t n, int start, int end)
{
    for (size_t i = 0; i < n; i++)
        if (busy[i].start < end && start < busy[i].end)
            return 1;
    return 0;
}

int sched_iv_overlapping(sched_iv_t *ivs, size_t n)
{
    sched_iv_sort(ivs, n);
    for (size_t i = 1; i < n; i++)
        if (ivs[i].start < ivs[i - 1].end)
            return 1;
    return 0;
}

static int s_slot_cmp(const void *a, const void *b)
{
    const sched_slot_t *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->staff_id != y->staff_id)
        return x->staff_id < y->staff_id ? -1 : 1;
    return 0;
}

void sched_slots_sort(sched_slot_t *s, size_t n)
{
    if (n > 1)
        qsort(s, n, sizeof *s, s_slot_cmp);
}
