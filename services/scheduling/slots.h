/*
 * slots.h -- the pure arithmetic of bookable slots: no I/O, no allocation
 * beyond what the caller hands in, unit-tested in
 * tests/unit/scheduling/test_slots.c.
 *
 * Times are minutes since the tenant's local midnight; an interval
 * [start, end) excludes its end.  A start time t is bookable for a staff
 * member when t lies on the tenant's grid k * step (counted from 00:00,
 * the grid appointments are booked on: sched_on_grid), [t, t + duration)
 * fits entirely inside one working interval, it
 * overlaps none of the member's booked intervals, and t is later than the
 * cut-off (the current minute on today's date).
 */
#ifndef SCHED_SLOTS_H
#define SCHED_SLOTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int start;      /* minutes since local midnight, inclusive */
    int end;        /* exclusive, at most 1440 */
} sched_iv_t;

/* One bookable start of one staff member, as merged across staff. */
typedef struct {
    int time;
    int64_t staff_id;
} sched_slot_t;

/* Sorts ivs by start (then end), in place. */
void sched_iv_sort(sched_iv_t *ivs, size_t n);

/* The bookable start times of one staff member on one day, ascending.
 * work: the working intervals of that weekday (any order; sorted in place;
 * they must not overlap).  busy: the non-cancelled appointments of that
 * date (any order; sorted in place; may overlap).  duration > 0, step > 0.
 * Starts <= after are left out (after = -1: none).  Writes at most cap
 * starts into out and returns how many it wrote. */
size_t sched_slots_staff(sched_iv_t *work, size_t nwork, sched_iv_t *busy, size_t nbusy,
                         int duration, int step, int after, int *out, size_t cap);

/* As sched_slots_staff, for a service with buffers: the staff member must
 * be free over [t - buf_before, t + duration + buf_after), not only over
 * the booking itself (the booking must still fit inside a working
 * interval; its buffers need not).  busy intervals are the other bookings'
 * buffered intervals and may reach outside the day (minutes < 0 or > 1440,
 * counted from this day's midnight).  buf_before, buf_after >= 0. */
size_t sched_slots_staff_buffered(sched_iv_t *work, size_t nwork, sched_iv_t *busy,
                                  size_t nbusy, int duration, int buf_before, int buf_after,
                                  int step, int after, int *out, size_t cap);

/* The alternatives of a taken slot: of the start times times[0..n)
 * (ascending, repeats allowed: one per staff member), the up to k distinct
 * ones nearest to asked -- by distance, then the earlier of two equally
 * near -- written nearest first into out.  Returns how many. */
size_t sched_slots_nearest(const int *times, size_t n, int asked, int *out, size_t k);

/* 1 when [start, end) lies entirely inside one of work[0..n), else 0. */
int sched_slots_within(const sched_iv_t *work, size_t n, int start, int end);

/* 1 when [start, end) overlaps one of busy[0..n), else 0. */
int sched_slots_overlaps(const sched_iv_t *busy, size_t n, int start, int end);

/* 1 when the intervals ivs[0..n) overlap each other (touching ends, as
 * 09:00-12:00 and 12:00-13:00, do not); sorts ivs in place. */
int sched_iv_overlapping(sched_iv_t *ivs, size_t n);

/* Sorts merged slots by time, then staff id, in place. */
void sched_slots_sort(sched_slot_t *s, size_t n);

#endif
