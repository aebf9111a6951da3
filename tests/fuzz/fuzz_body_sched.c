/*
 * fuzz_body_sched.c -- request bodies of the scheduling service: any bytes
 * through the gateway's JSON parse and the bus (fuzz_body), then through
 * sched_parse_create (POST /appointments), sched_parse_hold (POST
 * /appointments/holds) and sched_parse_patch (PATCH /appointments/{id},
 * rescheduling), each on the default 15-minute grid and on a grid of
 * 5..120 minutes chosen by the input's length (the range a tenant's
 * slot_interval may take), sched_parse_status (PATCH
 * /appointments/{id}/status) with the transition table, and the
 * operators' sched_parse_service and sched_parse_staff (create and update).
 *
 * Properties: success exactly when no error was added, every error a
 * non-empty list of messages; a valid appointment has positive ids, a real
 * date, a start on the grid unless allow_off_grid, a token source (and,
 * without hold_id, service, date and time all given); a hold is on the
 * grid with a ttl of 30..900 s; a reschedule changes something; a
 * status is one of the four and every transition answers one of the
 * three outcomes (with a reason exactly when refused); a valid service
 * has a duration of 5..1440 and a price in cents of 0..1e11; valid staff
 * hours are rows [weekday 0..6, start, end] with start < end <= 1440 and
 * no two intervals of a day overlapping, and services distinct ids.
 */
#include "fuzz.h"

#include "kv_valid.h"
#include "../../services/scheduling/sched_valid.h"
#include "../../services/scheduling/slots.h"

static void s_date_ok(const kv_date_t *date)
{
    char d[11];
    kv_date_t back;
    kv_format_date(date, d);
    FUZZ_CHECK(kv_parse_date(d, &back) == 0 && kv_date_to_days(&back) == kv_date_to_days(date));
}

static void s_create(json_t *body, int step)
{
    json_t *errors = json_object();
    sched_create_t c;
    int rc = sched_parse_create(body, step, &c, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        FUZZ_CHECK(c.customer_id >= 1 && c.staff_id >= 0 && c.hold_id >= 0 && c.call_id >= 0);
        /* without a hold, service, date and time are all given */
        FUZZ_CHECK(c.hold_id > 0 || (c.service_id >= 1 && c.has_date && c.has_time));
        FUZZ_CHECK(c.service_id >= 0);
        if (c.has_date)
            s_date_ok(&c.date);
        if (c.has_time) {
            FUZZ_CHECK(c.start >= 0 && c.start < 1440);
            FUZZ_CHECK(c.allow_off_grid || sched_on_grid(c.start, step));
        }
        FUZZ_CHECK(c.source && kv_text_check(c.source, &kv_rule_source) == 0);
        FUZZ_CHECK(!c.notes || kv_text_check(c.notes, &kv_rule_notes) == 0);
    }
    sched_create_cleanup(&c);
    json_decref(errors);
}

static void s_hold(json_t *body, int step)
{
    json_t *errors = json_object();
    sched_hold_input_t h;
    int rc = sched_parse_hold(body, step, &h, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        FUZZ_CHECK(h.service_id >= 1 && h.staff_id >= 0 && h.call_id >= 0);
        s_date_ok(&h.date);
        FUZZ_CHECK(h.start >= 0 && h.start < 1440 && sched_on_grid(h.start, step));
        FUZZ_CHECK(h.ttl_seconds >= KV_HOLD_TTL_MIN && h.ttl_seconds <= KV_HOLD_TTL_MAX);
    }
    json_decref(errors);
}

static void s_patch(json_t *body, int step)
{
    json_t *errors = json_object();
    sched_patch_t p;
    int rc = sched_parse_patch(body, step, &p, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        FUZZ_CHECK(p.has_date || p.has_time || p.staff_id || p.service_id || p.has_notes);
        FUZZ_CHECK(p.staff_id >= 0 && p.service_id >= 0);
        if (p.has_date)
            s_date_ok(&p.date);
        if (p.has_time) {
            FUZZ_CHECK(p.start >= 0 && p.start < 1440);
            FUZZ_CHECK(p.allow_off_grid || sched_on_grid(p.start, step));
        }
        FUZZ_CHECK(p.has_notes || !p.notes);
        FUZZ_CHECK(!p.notes || kv_text_check(p.notes, &kv_rule_notes) == 0);
    }
    sched_patch_cleanup(&p);
    json_decref(errors);
}

static void s_status(json_t *body)
{
    json_t *errors = json_object();
    const char *to = NULL;
    int rc = sched_parse_status(body, &to, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        FUZZ_CHECK(kv_pick(sched_statuses, to) == to);
        for (int i = 0; sched_statuses[i]; i++) {
            for (int started = 0; started <= 1; started++) {
                const char *why;
                int tr = sched_transition(sched_statuses[i], to, started, &why);
                FUZZ_CHECK(tr == SCHED_TR_REFUSED || tr == SCHED_TR_CHANGE || tr == SCHED_TR_SAME);
                FUZZ_CHECK((tr == SCHED_TR_REFUSED) == (why != NULL));
                FUZZ_CHECK((tr == SCHED_TR_SAME) == (strcmp(sched_statuses[i], to) == 0));
            }
        }
    }
    json_decref(errors);
}

static void s_service(json_t *body, int create)
{
    json_t *errors = json_object();
    sched_service_input_t s;
    int rc = sched_parse_service(body, create, &s, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        FUZZ_CHECK(!create || (s.name && s.has_duration && s.has_price));
        FUZZ_CHECK(!s.has_duration || (s.duration >= 5 && s.duration <= 1440));
        FUZZ_CHECK(!s.has_price || (s.price_cents >= 0 && s.price_cents <= 100000000000LL));
        FUZZ_CHECK(s.active == 0 || s.active == 1);
        FUZZ_CHECK(!s.name || (s.name[0] && s.name[0] != ' '));
    }
    sched_service_input_cleanup(&s);
    json_decref(errors);
}

static void s_staff(json_t *body, int create)
{
    json_t *errors = json_object();
    sched_staff_input_t s;
    int rc = sched_parse_staff(body, create, &s, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        FUZZ_CHECK(!create || s.name);
        FUZZ_CHECK(!s.specialties || json_array_size(s.specialties) <= KV_STAFF_SPECIALTIES_MAX);
        size_t i, k;
        json_t *e, *x;
        json_array_foreach(s.services, i, e) {
            FUZZ_CHECK(json_is_integer(e) && json_integer_value(e) >= 1);
            json_array_foreach(s.services, k, x)
                FUZZ_CHECK(k == i || json_integer_value(x) != json_integer_value(e));
        }
        FUZZ_CHECK(json_array_size(s.services) <= KV_STAFF_SERVICES_MAX);
        /* per weekday: intervals inside the day that do not overlap */
        sched_iv_t ivs[7][KV_STAFF_DAY_INTERVALS];
        size_t n[7] = { 0 };
        json_array_foreach(s.hours, i, e) {
            int wd = (int)json_integer_value(json_array_get(e, 0));
            int a = (int)json_integer_value(json_array_get(e, 1));
            int b = (int)json_integer_value(json_array_get(e, 2));
            FUZZ_CHECK(json_array_size(e) == 3 && wd >= 0 && wd <= 6);
            FUZZ_CHECK(a >= 0 && a < b && b <= 1440);
            FUZZ_CHECK(n[wd] < KV_STAFF_DAY_INTERVALS);
            ivs[wd][n[wd]].start = a;
            ivs[wd][n[wd]].end = b;
            n[wd]++;
        }
        for (int wd = 0; wd < 7; wd++)
            FUZZ_CHECK(!sched_iv_overlapping(ivs[wd], n[wd]));
    }
    sched_staff_input_cleanup(&s);
    json_decref(errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body;
    json_t *bus = fuzz_body(data, size, &body);
    if (!bus)
        return 0;
    s_create(body, 15);
    s_create(body, 5 + (int)(size % 116));
    s_hold(body, 15);
    s_hold(body, 5 + (int)(size % 116));
    s_patch(body, 15);
    s_patch(body, 5 + (int)(size % 116));
    s_status(body);
    s_service(body, 1);
    s_service(body, 0);
    s_staff(body, 1);
    s_staff(body, 0);
    json_decref(bus);
    return 0;
}
