/*
 * test_slots.c -- unit tests of the pure slot arithmetic (services/
 * scheduling/slots.c), apart from any database: grid steps, breaks,
 * appointments that overlap a candidate, durations that do not divide the
 * interval, the last slot of the day, the past-time cut-off, and merging
 * across staff.  Prints one "PASS name" / "FAIL name: why" line per check,
 * like the kvt framework, and exits non-zero when anything failed.
 */
#include <stdio.h>
#include <string.h>

#include "../../../services/scheduling/slots.h"

static int s_passed, s_failed;

static void s_check(int ok, const char *name, const char *why)
{
    if (ok) {
        s_passed++;
        printf("PASS %s\n", name);
    } else {
        s_failed++;
        printf("FAIL %s: %s\n", name, why);
    }
}

#define HM(h, m) ((h) * 60 + (m))

/* Runs sched_slots_staff and compares with the expected starts. */
static void s_expect(const char *name, const sched_iv_t *work, size_t nwork,
                     const sched_iv_t *busy, size_t nbusy, int duration, int step, int after,
                     const int *want, size_t nwant)
{
    sched_iv_t w[32], b[32];
    int got[1440];
    memcpy(w, work, nwork * sizeof *w);
    if (nbusy)
        memcpy(b, busy, nbusy * sizeof *b);
    size_t n = sched_slots_staff(w, nwork, b, nbusy, duration, step, after, got, 1440);
    char why[2048];
    int ok = n == nwant;
    for (size_t i = 0; ok && i < n; i++)
        ok = got[i] == want[i];
    size_t len = (size_t)snprintf(why, sizeof why, "got %zu [", n);
    for (size_t i = 0; i < n && len < sizeof why - 16; i++)
        len += (size_t)snprintf(why + len, sizeof why - len, "%s%02d:%02d", i ? " " : "",
                                got[i] / 60, got[i] % 60);
    snprintf(why + len, sizeof why - len, "], want %zu", nwant);
    s_check(ok, name, why);
}

int main(void)
{
    /* one plain interval, 30-minute service on a 15-minute grid */
    {
        sched_iv_t w[] = { { HM(9, 0), HM(10, 0) } };
        int want[] = { HM(9, 0), HM(9, 15), HM(9, 30) };
        s_expect("grid_steps_by_interval_and_service_fits_entirely", w, 1, NULL, 0, 30, 15, -1,
                 want, 3);
    }
    /* a lunch break: two intervals, nothing spans the break */
    {
        sched_iv_t w[] = { { HM(13, 0), HM(14, 0) }, { HM(9, 0), HM(10, 0) } };
        int want[] = { HM(9, 0), HM(9, 30), HM(13, 0), HM(13, 30) };
        s_expect("break_splits_day_and_intervals_are_sorted", w, 2, NULL, 0, 30, 30, -1, want, 4);
    }
    /* slot that would span the break is not offered */
    {
        sched_iv_t w[] = { { HM(9, 0), HM(12, 0) }, { HM(13, 0), HM(17, 0) } };
        int got[64];
        size_t n = sched_slots_staff(w, 2, NULL, 0, 60, 15, -1, got, 64);
        int spans = 0;
        for (size_t i = 0; i < n; i++)
            if (got[i] > HM(11, 0) && got[i] < HM(13, 0))
                spans = 1;
        s_check(!spans && n == 9 + 13, "no_slot_spans_the_break", "a slot crosses 12:00-13:00");
    }
    /* an appointment blocks every candidate that overlaps it, not the ones
     * that only touch it */
    {
        sched_iv_t w[] = { { HM(9, 0), HM(12, 0) } };
        sched_iv_t b[] = { { HM(10, 0), HM(10, 30) } };
        int want[] = { HM(9, 0), HM(9, 15), HM(9, 30), HM(10, 30), HM(10, 45), HM(11, 0),
                       HM(11, 15), HM(11, 30) };
        s_expect("appointment_blocks_overlapping_starts_only", w, 1, b, 1, 30, 15, -1, want, 8);
    }
    /* overlapping and unsorted appointments (one long, one inside it) */
    {
        sched_iv_t w[] = { { HM(9, 0), HM(12, 0) } };
        sched_iv_t b[] = { { HM(10, 15), HM(10, 30) }, { HM(9, 30), HM(11, 0) },
                           { HM(11, 30), HM(11, 45) } };
        int want[] = { HM(9, 0), HM(11, 0) };
        s_expect("overlapping_unsorted_appointments", w, 1, b, 3, 30, 15, -1, want, 2);
    }
    /* a long early appointment must still block later candidates even when
     * a short one sorted after it ends earlier */
    {
        sched_iv_t w[] = { { HM(9, 0), HM(12, 0) } };
        sched_iv_t b[] = { { HM(9, 0), HM(11, 0) }, { HM(9, 15), HM(9, 30) } };
        int want[] = { HM(11, 0), HM(11, 30) };
        s_expect("long_appointment_keeps_blocking_after_short_one", w, 1, b, 2, 30, 30, -1,
                 want, 2);
    }
    /* 45-minute service on a 30-minute grid inside 2 hours: 09:00, 09:30,
     * 10:00 (10:30 would end 11:15 > 11:00) */
    {
        sched_iv_t w[] = { { HM(9, 0), HM(11, 0) } };
        int want[] = { HM(9, 0), HM(9, 30), HM(10, 0) };
        s_expect("duration_not_dividing_the_interval", w, 1, NULL, 0, 45, 30, -1, want, 3);
    }
    /* the grid is the tenant's, counted from 00:00 (the grid bookings must
     * be on): an interval starting off the grid starts at the next grid
     * time, so every slot offered can be booked */
    {
        sched_iv_t w[] = { { HM(9, 10), HM(10, 0) } };
        int want[] = { HM(9, 15), HM(9, 30) };
        s_expect("grid_anchored_at_midnight_not_at_interval_start", w, 1, NULL, 0, 20, 15, -1,
                 want, 2);
    }
    {
        sched_iv_t w[] = { { HM(10, 0), HM(12, 0) } };
        int want[] = { HM(10, 30), HM(11, 15) };
        s_expect("grid_of_45_minutes_counts_from_midnight", w, 1, NULL, 0, 30, 45, -1, want, 2);
    }
    /* the last slot of the day ends exactly at midnight */
    {
        sched_iv_t w[] = { { HM(22, 0), 1440 } };
        int want[] = { HM(22, 0), HM(22, 30), HM(23, 0), HM(23, 30) };
        s_expect("last_slot_ends_at_midnight", w, 1, NULL, 0, 30, 30, -1, want, 4);
    }
    /* last slot of the working day ends exactly at closing */
    {
        sched_iv_t w[] = { { HM(16, 0), HM(17, 0) } };
        int want[] = { HM(16, 0), HM(16, 15), HM(16, 30) };
        s_expect("last_slot_ends_at_closing_time", w, 1, NULL, 0, 30, 15, -1, want, 3);
    }
    /* past-time cut-off: starts at or before "now" are left out */
    {
        sched_iv_t w[] = { { HM(9, 0), HM(12, 0) } };
        int want[] = { HM(10, 45), HM(11, 0), HM(11, 15), HM(11, 30) };
        s_expect("past_times_cut_off_today", w, 1, NULL, 0, 30, 15, HM(10, 30), want, 4);
        int want2[] = { HM(10, 45), HM(11, 0), HM(11, 15), HM(11, 30) };
        s_expect("start_in_the_current_minute_counts_as_past", w, 1, NULL, 0, 30, 15, HM(10, 32),
                 want2, 4);
    }
    /* a service longer than every interval has no slot */
    {
        sched_iv_t w[] = { { HM(9, 0), HM(10, 0) }, { HM(11, 0), HM(11, 50) } };
        s_expect("service_longer_than_intervals_has_no_slot", w, 2, NULL, 0, 90, 15, -1, NULL, 0);
    }
    /* the cap limits the output (the next-available search asks for 1) */
    {
        sched_iv_t w[] = { { HM(9, 0), HM(12, 0) } };
        sched_iv_t b[] = { { HM(9, 0), HM(10, 0) } };
        int t = -1;
        size_t n = sched_slots_staff(w, 1, b, 1, 30, 15, -1, &t, 1);
        s_check(n == 1 && t == HM(10, 0), "cap_one_gives_first_free_start", "wrong first start");
    }
    /* within / overlaps / overlapping */
    {
        sched_iv_t w[] = { { HM(9, 0), HM(12, 0) }, { HM(13, 0), HM(17, 0) } };
        s_check(sched_slots_within(w, 2, HM(11, 30), HM(12, 0)), "within_accepts_end_at_close", "");
        s_check(!sched_slots_within(w, 2, HM(11, 30), HM(13, 30)), "within_refuses_across_break", "");
        s_check(!sched_slots_within(w, 2, HM(8, 45), HM(9, 15)), "within_refuses_before_open", "");
        sched_iv_t b[] = { { HM(10, 0), HM(10, 30) } };
        s_check(!sched_slots_overlaps(b, 1, HM(10, 30), HM(11, 0)), "touching_is_not_overlap", "");
        s_check(sched_slots_overlaps(b, 1, HM(10, 29), HM(11, 0)), "one_minute_is_overlap", "");
        sched_iv_t x[] = { { HM(13, 0), HM(14, 0) }, { HM(9, 0), HM(13, 0) } };
        s_check(!sched_iv_overlapping(x, 2), "adjacent_working_intervals_do_not_overlap", "");
        sched_iv_t y[] = { { HM(12, 0), HM(14, 0) }, { HM(9, 0), HM(13, 0) } };
        s_check(sched_iv_overlapping(y, 2), "overlapping_working_intervals_detected", "");
    }
    /* merge across staff: by time, then staff id */
    {
        sched_slot_t s[] = { { HM(10, 0), 7 }, { HM(9, 0), 9 }, { HM(10, 0), 3 }, { HM(9, 0), 2 } };
        sched_slots_sort(s, 4);
        int ok = s[0].time == HM(9, 0) && s[0].staff_id == 2 && s[1].staff_id == 9
                 && s[2].time == HM(10, 0) && s[2].staff_id == 3 && s[3].staff_id == 7;
        s_check(ok, "merged_slots_sorted_by_time_then_staff", "wrong order");
    }
    /* a 5-minute grid over a full day with 100 appointments stays exact */
    {
        sched_iv_t w[] = { { 0, 1440 } };
        sched_iv_t b[100];
        for (int i = 0; i < 100; i++) {
            b[i].start = i * 14;
            b[i].end = i * 14 + 7;
        }
        int got[1440];
        size_t n = sched_slots_staff(w, 1, b, 100, 5, 5, -1, got, 1440);
        int ok = 1;
        for (size_t i = 0; i < n; i++)
            if (sched_slots_overlaps(b, 100, got[i], got[i] + 5))
                ok = 0;
        /* brute force count */
        size_t want = 0;
        for (int t = 0; t + 5 <= 1440; t += 5)
            if (!sched_slots_overlaps(b, 100, t, t + 5))
                want++;
        s_check(ok && n == want, "dense_day_matches_brute_force", "mismatch with brute force");
    }
    /* buffers: the staff member must be free over [t - before, t + d +
     * after); another booking's buffered interval 09:45-10:45 */
    {
        sched_iv_t w[] = { { HM(9, 0), HM(12, 0) } };
        sched_iv_t b[] = { { HM(9, 45), HM(10, 45) } };
        int want[] = { HM(9, 0), HM(11, 0), HM(11, 15), HM(11, 30) };
        int got[64];
        sched_iv_t ww[1], bb[1];
        memcpy(ww, w, sizeof ww);
        memcpy(bb, b, sizeof bb);
        size_t n = sched_slots_staff_buffered(ww, 1, bb, 1, 30, 15, 15, 15, -1, got, 64);
        int ok = n == 4;
        for (size_t i = 0; ok && i < n; i++)
            ok = got[i] == want[i];
        s_check(ok, "buffers_keep_the_staff_member_free_around_the_booking",
                "want 09:00 11:00 11:15 11:30");
    }
    /* a buffer may leave the working interval (only the booking must fit)
     * and the day: a busy interval from the previous day (minutes < 0)
     * still counts against it, and with nothing there a booking at 00:00
     * with 30 minutes before is fine */
    {
        sched_iv_t w[] = { { HM(0, 0), HM(2, 0) } };
        sched_iv_t b[] = { { -60, HM(0, 20) } };
        int got[64];
        size_t n = sched_slots_staff_buffered(w, 1, b, 1, 30, 30, 0, 15, -1, got, 64);
        s_check(n > 0 && got[0] == HM(1, 0), "a_buffer_may_leave_the_day_and_yesterday_counts",
                "want the first start at 01:00 (its buffer 00:30-01:00 clears 00:20)");
        sched_iv_t w1[] = { { HM(0, 0), HM(2, 0) } };
        n = sched_slots_staff_buffered(w1, 1, NULL, 0, 30, 30, 0, 15, -1, got, 64);
        s_check(n > 0 && got[0] == HM(0, 0), "a_buffer_before_midnight_is_allowed_when_free",
                "want 00:00 first");
        sched_iv_t w2[] = { { HM(9, 0), HM(10, 0) } };
        n = sched_slots_staff_buffered(w2, 1, NULL, 0, 30, 60, 60, 30, -1, got, 64);
        s_check(n == 2 && got[0] == HM(9, 0) && got[1] == HM(9, 30),
                "buffers_need_not_fit_the_working_hours", "want 09:00 09:30");
    }
    /* without buffers the buffered walk is the plain one */
    {
        sched_iv_t w[] = { { HM(8, 0), HM(18, 0) } };
        sched_iv_t b[] = { { HM(9, 10), HM(9, 50) }, { HM(12, 0), HM(13, 0) } };
        int g1[1440], g2[1440];
        sched_iv_t w1[1], w2[1], b1[2], b2[2];
        memcpy(w1, w, sizeof w1);
        memcpy(w2, w, sizeof w2);
        memcpy(b1, b, sizeof b1);
        memcpy(b2, b, sizeof b2);
        size_t n1 = sched_slots_staff(w1, 1, b1, 2, 45, 15, -1, g1, 1440);
        size_t n2 = sched_slots_staff_buffered(w2, 1, b2, 2, 45, 0, 0, 15, -1, g2, 1440);
        s_check(n1 == n2 && memcmp(g1, g2, n1 * sizeof *g1) == 0,
                "zero_buffers_change_nothing", "the buffered walk differs");
    }
    /* nearest alternatives: by distance, then earlier; repeats are one */
    {
        int times[] = { HM(9, 0), HM(9, 15), HM(9, 30), HM(9, 30), HM(10, 30), HM(10, 45) };
        int out[3];
        size_t n = sched_slots_nearest(times, 6, HM(10, 0), out, 3);
        s_check(n == 3 && out[0] == HM(9, 30) && out[1] == HM(10, 30) && out[2] == HM(9, 15),
                "nearest_by_distance_then_earlier_without_repeats", "want 09:30 10:30 09:15");
        n = sched_slots_nearest(times, 6, HM(10, 45), out, 3);
        s_check(n == 3 && out[0] == HM(10, 45) && out[1] == HM(10, 30) && out[2] == HM(9, 30),
                "nearest_starts_with_the_time_itself_when_free", "want 10:45 10:30 09:30");
        n = sched_slots_nearest(times, 0, HM(10, 0), out, 3);
        s_check(n == 0, "nearest_of_nothing_is_empty", "want none");
        int two[] = { HM(8, 0), HM(8, 0) };
        n = sched_slots_nearest(two, 2, HM(12, 0), out, 3);
        s_check(n == 1 && out[0] == HM(8, 0), "nearest_fewer_than_asked", "want 08:00 only");
    }
    printf("%d passed, %d failed\n", s_passed, s_failed);
    return s_failed ? 1 : 0;
}
