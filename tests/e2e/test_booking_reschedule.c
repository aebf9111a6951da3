/*
 * test_booking_reschedule.c -- PATCH /api/v1/appointments/{id} moves an
 * appointment in place, end to end:
 *
 *  - time, staff member, date and service change on the same id; the old
 *    slot is free again, the new one taken; a move onto a time overlapping
 *    its own current slot works;
 *  - every move fires appointment.rescheduled, delivered to an endpoint
 *    subscribed to it, its data the appointment plus previous {date, time,
 *    staff_id}; a notes-only PATCH (or one naming the slot it has) changes
 *    no slot and fires nothing;
 *  - a taken slot is 409 with alternatives (the appointment's own interval
 *    does not count against them) and changes nothing;
 *  - races: two appointments moved onto one slot at once (one 200, one
 *    409), then eight (one 200, seven 409), one appointment there after;
 *  - only scheduled appointments move (422 errors.status); notes can still
 *    be set on a cancelled one;
 *  - the input rules of the body, 404 for unknown and other tenants' ids.
 */
#include "webhooks_e2e.h"
#include "booking_e2e.h"

#define N_MOVERS 8
#define WAIT_MS 20000

static char s_key[64], s_d1[11], s_d2[11];
static long long s_cut, s_long, s_a, s_b, s_cust;
static long long s_movers[N_MOVERS];
static long s_st[N_MOVERS];

static void s_move_job(int i)
{
    char body[128];
    snprintf(body, sizeof body, "{\"appointment_date\":\"%s\",\"appointment_time\":\"12:00\","
             "\"staff_id\":%lld}", s_d1, s_b);
    kvt_resp_t r = bk_patch(s_key, s_movers[i], body);
    s_st[i] = r.status;
    kvt_resp_free(&r);
}

/* The appointment id as GET shows it; checks fields into a short text
 * "date time staff duration". */
static const char *s_where(long long id, char *buf, size_t size)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", id);
    kvt_resp_t r = kvt_api(s_key, "GET", path, NULL);
    snprintf(buf, size, "%s %s %lld %lld", se_str(&r, "appointment_date") ? se_str(&r, "appointment_date") : "?",
             se_str(&r, "appointment_time") ? se_str(&r, "appointment_time") : "?",
             se_int(&r, "staff_id"), se_int(&r, "duration"));
    kvt_resp_free(&r);
    return buf;
}

static int s_count_at(const char *date, long long staff, const char *hm)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v1/appointments?date=%s&staff_id=%lld&status=scheduled&per_page=100",
             date, staff);
    kvt_resp_t r = kvt_api(s_key, "GET", path, NULL);
    int n = 0;
    size_t i;
    json_t *a;
    json_array_foreach(se_data(&r), i, a)
        n += strcmp(json_string_value(json_object_get(a, "appointment_time")), hm) == 0;
    kvt_resp_free(&r);
    return n;
}

int main(void)
{
    char hours[1024], buf[256], want[256], url[256], secret[80];
    int64_t t = se_tenant("resched", NULL, 15, s_key);
    s_cut = se_service(t, "Cut", 30, "20.00");
    s_long = se_service(t, "Colour", 60, "55.50");
    se_every_day("[[\"09:00\",\"17:00\"]]", hours, sizeof hours);
    s_a = se_staff(t, "Anna", hours, NULL);
    s_b = se_staff(t, "Ben", hours, NULL);
    s_cust = se_customer(s_key);
    KVT_OK(s_cut > 0 && s_long > 0 && s_a > 0 && s_b > 0 && s_cust > 0, "reschedule_fixture_created");
    se_monday(8, s_d1);
    se_monday(15, s_d2);

    wh_receiver_t rcv = { 0 };
    wh_receiver_start(&rcv, 0);
    wh_url(&rcv, "/ok/moves", url, sizeof url);
    long long ep = wh_endpoint(s_key, url, "[\"appointment.rescheduled\"]", secret);
    KVT_OK(ep > 0, "an endpoint can subscribe to appointment.rescheduled");

    /* ---- moves, in place ---- */
    long long x = se_book_id(s_key, s_cust, s_cut, s_a, s_d1, "10:00");
    KVT_OK(x > 0, "appointment booked at 10:00");
    kvt_resp_t r = bk_patch(s_key, x, "{\"appointment_time\":\"11:00\"}");
    KVT_EQ_INT(r.status, 200, "moving the time is 200");
    KVT_EQ_INT(se_int(&r, "id"), x, "the same appointment (same id)");
    KVT_EQ_STR(se_str(&r, "appointment_time"), "11:00", "at the new time");
    KVT_EQ_STR(se_str(&r, "end_time"), "11:30", "ending a duration later");
    KVT_EQ_STR(se_str(&r, "status"), "scheduled", "still scheduled");
    kvt_resp_free(&r);
    snprintf(want, sizeof want, "%s 11:00 %lld 30", s_d1, s_a);
    KVT_EQ_STR(s_where(x, buf, sizeof buf), want, "GET shows the move");
    kvt_resp_t s = se_slots(s_key, s_d1, s_cut, s_a);
    KVT_OK(bk_offers(&s, "10:00", s_a) && !bk_offers(&s, "11:00", s_a),
           "the old slot is offered again, the new one is not");
    kvt_resp_free(&s);

    r = bk_patch(s_key, x, "{\"appointment_time\":\"11:15\"}");
    KVT_EQ_INT(r.status, 200, "a move overlapping its own current slot is 200");
    kvt_resp_free(&r);
    snprintf(buf, sizeof buf, "{\"staff_id\":%lld}", s_b);
    r = bk_patch(s_key, x, buf);
    KVT_EQ_INT(r.status, 200, "moving to another staff member is 200");
    KVT_EQ_INT(se_int(&r, "staff_id"), s_b, "with that staff member");
    kvt_resp_free(&r);
    snprintf(buf, sizeof buf, "{\"appointment_date\":\"%s\",\"appointment_time\":\"09:00\"}", s_d2);
    r = bk_patch(s_key, x, buf);
    KVT_EQ_INT(r.status, 200, "moving to another date is 200");
    kvt_resp_free(&r);
    snprintf(buf, sizeof buf, "{\"service_id\":%lld}", s_long);
    r = bk_patch(s_key, x, buf);
    KVT_EQ_INT(r.status, 200, "changing the service is 200");
    KVT_EQ_INT(se_int(&r, "duration"), 60, "with the new service's duration");
    KVT_EQ_STR(se_str(&r, "end_time"), "10:00", "and end");
    KVT_OK(se_real(&r, "price") == 55.5, "and price");
    kvt_resp_free(&r);

    /* ---- no move: no event ---- */
    r = bk_patch(s_key, x, "{\"notes\":\"call back first\"}");
    KVT_EQ_INT(r.status, 200, "a notes-only PATCH is 200");
    KVT_EQ_STR(se_str(&r, "notes"), "call back first", "and sets the notes");
    kvt_resp_free(&r);
    snprintf(buf, sizeof buf, "{\"appointment_date\":\"%s\",\"appointment_time\":\"09:00\",\"notes\":null}", s_d2);
    r = bk_patch(s_key, x, buf);
    KVT_EQ_INT(r.status, 200, "naming the slot it already has is 200");
    KVT_OK(json_is_null(json_object_get(se_data(&r), "notes")), "notes null clears them");
    kvt_resp_free(&r);

    /* five moves, five events; the two PATCHes that moved nothing fired none */
    int got = wh_wait_count(&rcv, "/ok/moves", 5, WAIT_MS);
    KVT_EQ_INT(got, 5, "five moves deliver five appointment.rescheduled");
    /* deliveries may arrive in any order: find the first move and the
     * staff move among them */
    int seen_first = 0, seen_staff = 0, types_ok = 1;
    for (int n = 1; n <= got; n++) {
        char *body = NULL, *hdrs = NULL, bp[600], ev[64];
        size_t len;
        if (wh_request(&rcv, "/ok/moves", n, &body, &len, &hdrs, bp, sizeof bp) != 0)
            continue;
        json_t *o = json_loadb(body, len, 0, NULL);
        json_t *d = json_object_get(o, "data"), *prev = json_object_get(d, "previous");
        wh_hdr(hdrs, "X-KaiVox-Event", ev, sizeof ev);
        types_ok &= strcmp(ev, "appointment.rescheduled") == 0 &&
                    json_integer_value(json_object_get(d, "id")) == x &&
                    json_object_size(prev) == 3;
        const char *now_t = json_string_value(json_object_get(d, "appointment_time"));
        const char *prev_t = json_string_value(json_object_get(prev, "appointment_time"));
        const char *prev_d = json_string_value(json_object_get(prev, "appointment_date"));
        long long prev_s = json_integer_value(json_object_get(prev, "staff_id"));
        long long now_s = json_integer_value(json_object_get(d, "staff_id"));
        if (now_t && prev_t && prev_d && strcmp(now_t, "11:00") == 0 &&
            strcmp(prev_t, "10:00") == 0 && strcmp(prev_d, s_d1) == 0 && prev_s == s_a)
            seen_first = 1;
        if (prev_s == s_a && now_s == s_b && prev_t && strcmp(prev_t, "11:15") == 0)
            seen_staff = 1;
        json_decref(o);
        free(body);
        free(hdrs);
    }
    KVT_OK(types_ok, "each delivery is appointment.rescheduled of the appointment with a previous "
           "of exactly date, time and staff_id");
    KVT_OK(seen_first, "the first move's event: data at 11:00, previous 10:00 on the old date with the old staff");
    KVT_OK(seen_staff, "the staff move's event: previous.staff_id the old member, data.staff_id the new one");

    /* ---- a taken slot: 409, nothing changes ---- */
    long long y = se_book_id(s_key, s_cust, s_cut, s_a, s_d1, "14:00");
    snprintf(buf, sizeof buf, "{\"appointment_date\":\"%s\",\"appointment_time\":\"14:00\",\"staff_id\":%lld}",
             s_d1, s_a);
    r = bk_patch(s_key, x, buf);
    KVT_EQ_INT(r.status, 409, "moving onto a taken slot is 409");
    KVT_EQ_STR(bk_alt_times(&r, buf, sizeof buf), "14:30 14:45 13:00",
               "with the nearest free times for its 60 minutes with that staff member");
    kvt_resp_free(&r);
    snprintf(want, sizeof want, "%s 09:00 %lld 60", s_d2, s_b);
    KVT_EQ_STR(s_where(x, buf, sizeof buf), want, "a refused move changes nothing");
    KVT_OK(y > 0, "the other appointment exists");

    /* the alternatives leave the appointment's own interval out: X at
     * 09:00-10:00, Z at 10:30; moving X to 10:15 clashes with Z, and 09:30
     * (over X's own time) is free for it */
    snprintf(buf, sizeof buf, "{\"appointment_date\":\"%s\",\"appointment_time\":\"09:00\",\"staff_id\":%lld}",
             s_d1, s_a);
    r = bk_patch(s_key, x, buf);
    KVT_EQ_INT(r.status, 200, "X moved to 09:00 of the first date");
    kvt_resp_free(&r);
    long long z = se_book_id(s_key, s_cust, s_cut, s_a, s_d1, "10:30");
    KVT_OK(z > 0, "Z booked at 10:30");
    r = bk_patch(s_key, x, "{\"appointment_time\":\"10:15\"}");
    KVT_EQ_INT(r.status, 409, "moving X onto Z is 409");
    KVT_EQ_STR(bk_alt_times(&r, buf, sizeof buf), "09:30 11:00 09:15",
               "the alternatives count X's own time as free");
    kvt_resp_free(&r);

    /* ---- races: appointments moved onto one slot at once ---- */
    for (int round = 0; round < 2; round++) {
        int n = round == 0 ? 2 : N_MOVERS;
        for (int i = 0; i < n; i++) {
            char hm[16];
            snprintf(hm, sizeof hm, "%02d:%02d", 13 + i / 4, (i % 4) * 15);
            s_movers[i] = se_book_id(s_key, s_cust, s_cut, 0, s_d2, hm);
        }
        bk_together(n, s_move_job);
        int ok = 0, conflict = 0;
        for (int i = 0; i < n; i++) {
            ok += s_st[i] == 200;
            conflict += s_st[i] == 409;
        }
        KVT_EQ_INT(ok, 1, "%d simultaneous reschedules onto one slot: exactly one 200", n);
        KVT_EQ_INT(conflict, n - 1, "%d simultaneous reschedules onto one slot: the rest 409", n);
        KVT_EQ_INT(s_count_at(s_d1, s_b, "12:00"), 1, "one appointment holds the slot after %d movers", n);
        /* free the slot again for the next round */
        for (int i = 0; i < n; i++) {
            char path[96];
            snprintf(path, sizeof path, "/api/v1/appointments/%lld", s_movers[i]);
            kvt_resp_t d = kvt_api(s_key, "DELETE", path, NULL);
            kvt_resp_free(&d);
        }
    }

    /* ---- only scheduled appointments move ---- */
    long long w = se_book_id(s_key, s_cust, s_cut, s_b, s_d1, "15:00");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", w);
    r = kvt_api(s_key, "DELETE", path, NULL);
    kvt_resp_free(&r);
    r = bk_patch(s_key, w, "{\"appointment_time\":\"16:00\"}");
    KVT_EQ_INT(r.status, 422, "a cancelled appointment cannot be rescheduled");
    KVT_OK(se_has_err(&r, "status"), "errors.status says why");
    kvt_resp_free(&r);
    r = bk_patch(s_key, w, "{\"notes\":\"no longer coming\"}");
    KVT_EQ_INT(r.status, 200, "its notes can still be set");
    KVT_EQ_STR(se_str(&r, "status"), "cancelled", "and it stays cancelled");
    kvt_resp_free(&r);

    /* ---- input ---- */
    const struct { const char *body, *field, *name; } bad[] = {
        { "{}", "body", "an empty body is 422" },
        { "{\"allow_off_grid\":true}", "body", "allow_off_grid alone is 422" },
        { "{\"customer_id\":3}", "customer_id", "a key PATCH does not take is 422" },
        { "{\"appointment_time\":\"10:07\"}", "appointment_time", "an off-grid time is 422" },
        { "{\"appointment_time\":null}", "appointment_time", "appointment_time null is 422" },
        { "{\"appointment_date\":\"2026-02-30\"}", "appointment_date", "an impossible date is 422" },
        { "{\"staff_id\":\"2\"}", "staff_id", "a staff_id as a string is 422" },
        { "{\"service_id\":0}", "service_id", "service_id 0 is 422" },
        { "{\"appointment_time\":\"20:00\"}", "appointment_time", "a time outside the hours is 422" },
        { "{\"service_id\":999999999}", "service_id", "an unknown service is 422" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = bk_patch(s_key, z, bad[i].body);
        KVT_OK(r.status == 422 && se_has_err(&r, bad[i].field), "%s (errors.%s; got %ld %.120s)",
               bad[i].name, bad[i].field, r.status, r.body ? r.body : "");
        kvt_resp_free(&r);
    }
    char past[11];
    se_date(-3, past);
    snprintf(buf, sizeof buf, "{\"appointment_date\":\"%s\"}", past);
    r = bk_patch(s_key, z, buf);
    KVT_OK(r.status == 422 && se_has_err(&r, "appointment_date"), "a past date is 422");
    kvt_resp_free(&r);
    r = bk_patch(s_key, z, "[]");
    KVT_OK(r.status == 422 && se_has_err(&r, "body"), "a body that is not an object is 422");
    kvt_resp_free(&r);
    r = bk_patch(s_key, 999999999, "{\"appointment_time\":\"10:00\"}");
    KVT_EQ_INT(r.status, 404, "an unknown appointment is 404");
    kvt_resp_free(&r);
    char key2[64];
    se_tenant("resched-other", NULL, 15, key2);
    r = bk_patch(key2, z, "{\"notes\":\"x\"}");
    KVT_EQ_INT(r.status, 404, "another tenant's appointment is 404");
    kvt_resp_free(&r);
    snprintf(want, sizeof want, "%s 10:30 %lld 30", s_d1, s_a);
    KVT_EQ_STR(s_where(z, buf, sizeof buf), want, "no refused PATCH changed anything");

    /* nothing more was delivered: 5 moves + the 09:00 one + 2 race winners */
    kvt_sleep_ms(1500);
    KVT_EQ_INT(wh_wait_count(&rcv, "/ok/moves", 8, WAIT_MS), 8,
               "exactly one event per move (8), none for refused or slot-less PATCHes");
    kvt_sleep_ms(1000);
    KVT_EQ_INT(wh_count(&rcv, "/ok/moves"), 8, "and no more after a while");
    return kvt_done();
}
