/*
 * test_booking_holds.c -- slot holds (POST /api/v1/appointments/holds,
 * DELETE .../holds/{id}, POST /appointments with hold_id), end to end:
 *
 *  - a hold answers its shape, is not offered by /slots, cannot be held or
 *    booked by anyone else (409 with the nearest free alternatives), and
 *    appears in no appointment list;
 *  - without staff_id the staff member is assigned as for a booking; 409
 *    when nobody is free;
 *  - booking with hold_id takes exactly the held slot and consumes the
 *    hold; a body naming another slot is 422; a used, released, unknown or
 *    other tenant's hold is 422 (and 404 to DELETE);
 *  - races: 12 clients holding one slot at once (one 201, eleven 409 with
 *    alternatives); booking with the hold while 8 others book the same slot
 *    (the hold wins, the others 409); two clients booking with one hold
 *    (one 201, one 422, one appointment);
 *  - release makes the slot free again;
 *  - expiry without any job: a 30 s hold, once past expires_at, is offered
 *    again, booking with it is 409 "The hold has expired." (with the slot
 *    itself as first alternative), and someone else books the slot;
 *  - every input rule of the hold body.
 */
#include "booking_e2e.h"

#define N_HOLDERS 12
#define N_RIVALS 8

static char s_key[64], s_date[11];
static long long s_svc, s_a, s_b, s_cust, s_cust2;
static long s_st[64];
static long long s_id[64];
static int s_alts_ok[64];
static long long s_hold;

/* holding 14:00 with staff A */
static void s_hold_job(int i)
{
    kvt_resp_t r = bk_hold(s_key, s_svc, s_a, s_date, "14:00", 0);
    s_st[i] = r.status;
    s_id[i] = r.status == 201 ? se_int(&r, "id") : 0;
    s_alts_ok[i] = r.status != 409 || json_is_array(json_object_get(se_data(&r), "alternatives"));
    kvt_resp_free(&r);
}

/* job 0 books with the hold s_hold; the others book 15:00 with staff A */
static void s_rival_job(int i)
{
    kvt_resp_t r = i == 0 ? bk_book_hold(s_key, s_cust, s_hold, "")
                          : se_book(s_key, s_cust2, s_svc, s_a, s_date, "15:00");
    s_st[i] = r.status;
    s_id[i] = r.status == 201 ? se_int(&r, "id") : 0;
    kvt_resp_free(&r);
}

/* two clients book with the same hold */
static void s_same_hold_job(int i)
{
    kvt_resp_t r = bk_book_hold(s_key, i ? s_cust2 : s_cust, s_hold, "");
    s_st[i] = r.status;
    s_id[i] = r.status == 201 ? se_int(&r, "id") : 0;
    kvt_resp_free(&r);
}

static int s_count(int n, long status)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += s_st[i] == status;
    return k;
}

/* Appointments of the tenant on s_date (any status). */
static long long s_appointments_on_date(void)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/appointments?date=%s", s_date);
    kvt_resp_t r = kvt_api(s_key, "GET", path, NULL);
    long long n = se_meta(&r, "total");
    kvt_resp_free(&r);
    return n;
}

int main(void)
{
    char hours[1024], buf[256], path[128], st[64];
    int64_t t = se_tenant("holds", NULL, 15, s_key);
    s_svc = se_service(t, "Cut", 30, "20.00");
    se_every_day("[[\"09:00\",\"17:00\"]]", hours, sizeof hours);
    s_a = se_staff(t, "Anna", hours, NULL);
    s_b = se_staff(t, "Ben", hours, NULL);
    s_cust = se_customer(s_key);
    s_cust2 = se_customer(s_key);
    KVT_OK(s_svc > 0 && s_a > 0 && s_b > 0 && s_cust > 0 && s_cust2 > 0, "holds_fixture_created");
    se_monday(8, s_date);

    /* the expiry check needs 30 s: its hold is made first, checked last */
    kvt_resp_t ex = bk_hold(s_key, s_svc, s_a, s_date, "16:00", 30);
    KVT_EQ_INT(ex.status, 201, "a hold with ttl_seconds 30 is 201");
    long long ex_id = se_int(&ex, "id");
    char ex_at[32];
    snprintf(ex_at, sizeof ex_at, "%s", se_str(&ex, "expires_at") ? se_str(&ex, "expires_at") : "");
    kvt_resp_free(&ex);

    /* ---- shape ---- */
    time_t before = time(NULL);
    kvt_resp_t h = bk_hold(s_key, s_svc, s_a, s_date, "10:00", 0);
    KVT_EQ_INT(h.status, 201, "hold answers 201");
    long long h1 = se_int(&h, "id");
    KVT_OK(h1 > 0, "hold has an id");
    KVT_EQ_INT(se_int(&h, "service_id"), s_svc, "hold names the service");
    KVT_EQ_INT(se_int(&h, "staff_id"), s_a, "hold names the staff member asked for");
    KVT_EQ_STR(se_str(&h, "appointment_date"), s_date, "hold names the date");
    KVT_EQ_STR(se_str(&h, "appointment_time"), "10:00", "hold names the time");
    KVT_EQ_STR(se_str(&h, "end_time"), "10:30", "hold names the end of the service");
    KVT_OK(json_is_null(json_object_get(se_data(&h), "call_id")), "hold without call has call_id null");
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *exp = se_str(&h, "expires_at");
    int parsed = exp && strptime(exp, "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL;
    time_t exp_t = parsed ? timegm(&tm) : 0;
    KVT_OK(parsed && exp_t >= before + 298 && exp_t <= time(NULL) + 300,
           "expires_at is about 300 s (the default ttl) from now (%s)", exp ? exp : "null");
    kvt_resp_free(&h);

    /* ---- the held slot is not offered, and nobody else can take it ---- */
    kvt_resp_t s = se_slots(s_key, s_date, s_svc, s_a);
    KVT_OK(s.status == 200 && !bk_offers(&s, "10:00", s_a) && !bk_offers(&s, "09:45", s_a) &&
           bk_offers(&s, "10:30", s_a) && bk_offers(&s, "09:30", s_a),
           "slots of the holder's staff leave out the held interval only (%s)",
           se_slot_times(&s, buf, sizeof buf));
    kvt_resp_free(&s);
    s = se_slots(s_key, s_date, s_svc, 0);
    KVT_OK(bk_offers(&s, "10:00", s_b) && !bk_offers(&s, "10:00", s_a),
           "slots of every staff member offer 10:00 with the other one only");
    kvt_resp_free(&s);

    kvt_resp_t c = se_book(s_key, s_cust2, s_svc, s_a, s_date, "10:00");
    KVT_EQ_INT(c.status, 409, "booking a held slot is 409");
    KVT_EQ_STR(json_string_value(json_object_get(c.json, "message")),
               "The selected time slot is no longer available.", "the 409 says the slot is taken");
    KVT_OK(json_is_false(json_object_get(c.json, "success")), "the 409 keeps success false");
    KVT_EQ_STR(bk_alt_times(&c, buf, sizeof buf), "09:30 10:30 09:15",
               "the 409 names the three nearest free times of that staff member, earlier first on a tie");
    json_t *a0 = json_array_get(json_object_get(se_data(&c), "alternatives"), 0);
    KVT_EQ_STR(json_string_value(json_object_get(a0, "end_time")), "10:00",
               "an alternative has the /slots shape (end_time)");
    KVT_EQ_STR(bk_alt_staff(&c, 0, st, sizeof st), (snprintf(buf, sizeof buf, "%lld", s_a), buf),
               "alternatives of a named staff member list only that member");
    kvt_resp_free(&c);

    c = bk_hold(s_key, s_svc, s_a, s_date, "10:00", 0);
    KVT_EQ_INT(c.status, 409, "holding a held slot is 409");
    KVT_EQ_STR(bk_alt_times(&c, buf, sizeof buf), "09:30 10:30 09:15", "that 409 carries the alternatives too");
    kvt_resp_free(&c);

    /* ---- staff assigned as for a booking; 409 when nobody is free ---- */
    h = bk_hold(s_key, s_svc, 0, s_date, "10:00", 0);
    KVT_EQ_INT(h.status, 201, "a hold without staff_id is 201");
    KVT_EQ_INT(se_int(&h, "staff_id"), s_b, "and gets the staff member who is free");
    long long h2 = se_int(&h, "id");
    kvt_resp_free(&h);
    c = bk_hold(s_key, s_svc, 0, s_date, "10:00", 0);
    KVT_EQ_INT(c.status, 409, "a hold without staff_id when everyone is taken is 409");
    KVT_EQ_STR(bk_alt_times(&c, buf, sizeof buf), "09:30 10:30 09:15",
               "its alternatives are of any staff member");
    char both[64];
    snprintf(both, sizeof both, "%lld,%lld", s_a < s_b ? s_a : s_b, s_a < s_b ? s_b : s_a);
    KVT_EQ_STR(bk_alt_staff(&c, 0, st, sizeof st), both, "with every staff member free then");
    kvt_resp_free(&c);
    c = se_book(s_key, s_cust2, s_svc, 0, s_date, "10:00");
    KVT_EQ_INT(c.status, 409, "a booking without staff_id when both are held is 409");
    kvt_resp_free(&c);

    KVT_EQ_INT(s_appointments_on_date(), 0, "holds are not appointments: the list is empty");

    /* ---- booking with the hold ---- */
    snprintf(buf, sizeof buf, ",\"appointment_time\":\"10:15\"");
    c = bk_book_hold(s_key, s_cust, h1, buf);
    KVT_EQ_INT(c.status, 422, "booking with a hold but another time is 422");
    KVT_OK(se_has_err(&c, "appointment_time"), "errors.appointment_time names the mismatch");
    kvt_resp_free(&c);
    snprintf(buf, sizeof buf, ",\"staff_id\":%lld", s_b);
    c = bk_book_hold(s_key, s_cust, h1, buf);
    KVT_EQ_INT(c.status, 422, "booking with a hold but another staff member is 422");
    KVT_OK(se_has_err(&c, "staff_id"), "errors.staff_id names the mismatch");
    kvt_resp_free(&c);

    snprintf(buf, sizeof buf, ",\"service_id\":%lld,\"appointment_date\":\"%s\","
             "\"appointment_time\":\"10:00\",\"staff_id\":%lld,\"notes\":\"held\"", s_svc, s_date, s_a);
    c = bk_book_hold(s_key, s_cust, h1, buf);
    KVT_EQ_INT(c.status, 201, "booking with the hold (naming the same slot) is 201");
    KVT_EQ_INT(se_int(&c, "staff_id"), s_a, "the appointment has the held staff member");
    KVT_EQ_STR(se_str(&c, "appointment_time"), "10:00", "the appointment has the held time");
    KVT_EQ_STR(se_str(&c, "appointment_date"), s_date, "the appointment has the held date");
    KVT_EQ_INT(se_int(&c, "customer_id"), s_cust, "the appointment is the customer's");
    KVT_EQ_STR(se_str(&c, "notes"), "held", "the other fields of the body apply");
    kvt_resp_free(&c);
    c = bk_book_hold(s_key, s_cust2, h1, "");
    KVT_EQ_INT(c.status, 422, "booking again with a used hold is 422");
    KVT_OK(se_has_err(&c, "hold_id"), "errors.hold_id says so");
    kvt_resp_free(&c);
    snprintf(path, sizeof path, "/api/v1/appointments/holds/%lld", h1);
    c = kvt_api(s_key, "DELETE", path, NULL);
    KVT_EQ_INT(c.status, 404, "a used hold cannot be released (404)");
    kvt_resp_free(&c);

    /* ---- release ---- */
    snprintf(path, sizeof path, "/api/v1/appointments/holds/%lld", h2);
    c = kvt_api(s_key, "DELETE", path, NULL);
    KVT_EQ_INT(c.status, 200, "releasing a hold is 200");
    KVT_EQ_INT(se_int(&c, "id"), h2, "the answer names the hold");
    KVT_OK(json_is_true(json_object_get(se_data(&c), "released")), "and says released");
    kvt_resp_free(&c);
    s = se_slots(s_key, s_date, s_svc, 0);
    KVT_OK(bk_offers(&s, "10:00", s_b), "a released slot is offered again");
    kvt_resp_free(&s);
    c = kvt_api(s_key, "DELETE", path, NULL);
    KVT_EQ_INT(c.status, 404, "releasing it twice is 404");
    kvt_resp_free(&c);
    c = bk_book_hold(s_key, s_cust, h2, "");
    KVT_EQ_INT(c.status, 422, "booking with a released hold is 422");
    kvt_resp_free(&c);
    c = bk_book_hold(s_key, s_cust, 999999999, "");
    KVT_EQ_INT(c.status, 422, "booking with an unknown hold is 422");
    KVT_OK(se_has_err(&c, "hold_id"), "errors.hold_id for an unknown hold");
    kvt_resp_free(&c);

    /* ---- another tenant cannot see or use a hold ---- */
    char key2[64];
    int64_t t2 = se_tenant("holds-other", NULL, 15, key2);
    long long cust_other = se_customer(key2);
    (void)t2;
    h = bk_hold(s_key, s_svc, s_b, s_date, "11:00", 0);
    long long h3 = se_int(&h, "id");
    kvt_resp_free(&h);
    snprintf(path, sizeof path, "/api/v1/appointments/holds/%lld", h3);
    c = kvt_api(key2, "DELETE", path, NULL);
    KVT_EQ_INT(c.status, 404, "another tenant's hold is 404 to DELETE");
    kvt_resp_free(&c);
    c = bk_book_hold(key2, cust_other, h3, "");
    KVT_EQ_INT(c.status, 422, "another tenant's hold cannot be booked (422)");
    kvt_resp_free(&c);
    c = kvt_api(s_key, "DELETE", path, NULL);
    KVT_EQ_INT(c.status, 200, "the owner still can release it");
    kvt_resp_free(&c);

    /* ---- race: twelve clients hold one slot at once ---- */
    bk_together(N_HOLDERS, s_hold_job);
    int alts = 1;
    for (int i = 0; i < N_HOLDERS; i++)
        alts &= s_alts_ok[i];
    KVT_EQ_INT(s_count(N_HOLDERS, 201), 1, "twelve simultaneous holds of one slot: exactly one 201");
    KVT_EQ_INT(s_count(N_HOLDERS, 409), N_HOLDERS - 1, "and eleven 409");
    KVT_OK(alts, "every one of those 409 carries data.alternatives");

    /* ---- race: the hold is booked while eight others book the slot ---- */
    h = bk_hold(s_key, s_svc, s_a, s_date, "15:00", 0);
    s_hold = se_int(&h, "id");
    KVT_EQ_INT(h.status, 201, "a hold of 15:00 is 201");
    kvt_resp_free(&h);
    bk_together(1 + N_RIVALS, s_rival_job);
    KVT_EQ_INT(s_st[0], 201, "booking with the hold while others book the slot: the hold wins");
    int lost = 0;
    for (int i = 1; i <= N_RIVALS; i++)
        lost += s_st[i] == 409;
    KVT_EQ_INT(lost, N_RIVALS, "every rival booking of the held slot is 409");
    for (int i = 1; i <= N_RIVALS; i++)
        if (s_st[i] != 409)
            fprintf(stderr, "rival %d: %ld\n", i, s_st[i]);

    /* ---- race: two clients book with one hold ---- */
    h = bk_hold(s_key, s_svc, s_b, s_date, "15:00", 0);
    s_hold = se_int(&h, "id");
    kvt_resp_free(&h);
    bk_together(2, s_same_hold_job);
    KVT_EQ_INT(s_count(2, 201), 1, "two bookings with one hold: one 201");
    KVT_EQ_INT(s_count(2, 422), 1, "and one 422 (the hold is used)");

    KVT_EQ_INT(s_appointments_on_date(), 3, "three appointments exist: 10:00 and two at 15:00");

    /* ---- input rules ---- */
    const struct { const char *body, *field, *name; } bad[] = {
        { "{\"service_id\":%lld,\"appointment_date\":\"%s\",\"appointment_time\":\"12:00\",\"ttl_seconds\":29}",
          "ttl_seconds", "ttl_seconds 29 is 422" },
        { "{\"service_id\":%lld,\"appointment_date\":\"%s\",\"appointment_time\":\"12:00\",\"ttl_seconds\":901}",
          "ttl_seconds", "ttl_seconds 901 is 422" },
        { "{\"service_id\":%lld,\"appointment_date\":\"%s\",\"appointment_time\":\"12:00\",\"ttl_seconds\":\"300\"}",
          "ttl_seconds", "ttl_seconds as a string is 422" },
        { "{\"service_id\":%lld,\"appointment_date\":\"%s\",\"appointment_time\":\"12:07\"}",
          "appointment_time", "an off-grid time is 422" },
        { "{\"service_id\":%lld,\"appointment_date\":\"%s\",\"appointment_time\":\"12:00\",\"customer_id\":1}",
          "customer_id", "a key a hold does not take is 422" },
        { "{\"service_id\":%lld,\"appointment_date\":\"%s\"}",
          "appointment_time", "a hold without appointment_time is 422" },
        { "{\"service_id\":%lld,\"appointment_date\":\"%s\",\"appointment_time\":\"12:00\",\"staff_id\":\"1\"}",
          "staff_id", "a staff_id as a string is 422" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[512];
        snprintf(body, sizeof body, bad[i].body, s_svc, s_date);
        c = kvt_api(s_key, "POST", "/api/v1/appointments/holds", body);
        KVT_OK(c.status == 422 && se_has_err(&c, bad[i].field), "%s (errors.%s; got %ld)",
               bad[i].name, bad[i].field, c.status);
        kvt_resp_free(&c);
    }
    c = kvt_api(s_key, "POST", "/api/v1/appointments/holds", "[1]");
    KVT_OK(c.status == 422 && se_has_err(&c, "body"), "a body that is not an object is 422 errors.body");
    kvt_resp_free(&c);
    c = bk_hold(s_key, 999999999, 0, s_date, "12:00", 0);
    KVT_OK(c.status == 422 && se_has_err(&c, "service_id"), "an unknown service is 422 errors.service_id");
    kvt_resp_free(&c);
    char past[11];
    se_date(-2, past);
    c = bk_hold(s_key, s_svc, 0, past, "12:00", 0);
    KVT_OK(c.status == 422 && se_has_err(&c, "appointment_date"), "a past date is 422 errors.appointment_date");
    kvt_resp_free(&c);
    c = bk_hold(s_key, s_svc, 0, s_date, "18:00", 0);
    KVT_OK(c.status == 422 && se_has_err(&c, "appointment_time"),
           "a time nobody works is 422 errors.appointment_time");
    kvt_resp_free(&c);
    c = kvt_api(s_key, "GET", "/api/v1/appointments/holds", NULL);
    KVT_EQ_INT(c.status, 405, "GET on holds is 405");
    kvt_resp_free(&c);
    c = bk_book_hold(s_key, s_cust, 0, "");
    KVT_OK(c.status == 422 && se_has_err(&c, "hold_id"), "hold_id 0 is 422");
    kvt_resp_free(&c);

    /* ---- expiry, with no job: the 30 s hold of 16:00 ---- */
    memset(&tm, 0, sizeof tm);
    time_t ex_t = strptime(ex_at, "%Y-%m-%dT%H:%M:%SZ", &tm) ? timegm(&tm) : time(NULL) + 30;
    s = se_slots(s_key, s_date, s_svc, s_a);
    int held_then = !bk_offers(&s, "16:00", s_a);
    kvt_resp_free(&s);
    KVT_OK(held_then || time(NULL) >= ex_t, "before it expires the 30 s hold is not offered");
    while (time(NULL) <= ex_t + 1)
        kvt_sleep_ms(250);
    s = se_slots(s_key, s_date, s_svc, s_a);
    KVT_OK(bk_offers(&s, "16:00", s_a), "once expired the slot is offered again (no job ran)");
    kvt_resp_free(&s);
    c = bk_book_hold(s_key, s_cust, ex_id, "");
    KVT_EQ_INT(c.status, 409, "booking with an expired hold is 409");
    KVT_EQ_STR(json_string_value(json_object_get(c.json, "message")), "The hold has expired.",
               "the 409 says the hold expired");
    KVT_EQ_STR(bk_alt_times(&c, buf, sizeof buf), "16:00 15:45 16:15",
               "its alternatives start with the (now free) slot itself");
    kvt_resp_free(&c);
    c = se_book(s_key, s_cust2, s_svc, s_a, s_date, "16:00");
    KVT_EQ_INT(c.status, 201, "someone else books the slot of the expired hold");
    kvt_resp_free(&c);
    c = bk_book_hold(s_key, s_cust, ex_id, "");
    KVT_EQ_INT(c.status, 409, "the expired hold still answers 409 after the slot was taken");
    kvt_resp_free(&c);
    snprintf(path, sizeof path, "/api/v1/appointments/holds/%lld", ex_id);
    c = kvt_api(s_key, "DELETE", path, NULL);
    KVT_EQ_INT(c.status, 200, "an expired hold can still be released");
    kvt_resp_free(&c);

    /* ---- holds expired over a day ago are forgotten as new ones are made ---- */
    PGconn *db = bk_db();
    if (db) {
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "INSERT INTO holds (tenant_id, service_id, staff_id, appointment_date, start_min, "
                 "end_min, duration_minutes, price_cents, buffer_before_minutes, buffer_after_minutes, "
                 "expires_at) VALUES (%lld, %lld, %lld, '%s', 720, 750, 30, 0, 0, 0, "
                 "now() - interval '2 days') RETURNING id", (long long)t, s_svc, s_b, s_date);
        PGresult *pr = PQexec(db, sql);
        long long old_id = PQresultStatus(pr) == PGRES_TUPLES_OK ? atoll(PQgetvalue(pr, 0, 0)) : 0;
        PQclear(pr);
        KVT_OK(old_id > 0, "a hold that expired two days ago (written straight into holds)");
        h = bk_hold(s_key, s_svc, s_b, s_date, "13:00", 0);
        KVT_EQ_INT(h.status, 201, "a new hold of the tenant is 201");
        kvt_resp_free(&h);
        c = bk_book_hold(s_key, s_cust, old_id, "");
        KVT_EQ_INT(c.status, 422, "the hold expired two days ago is forgotten: booking with it is 422");
        kvt_resp_free(&c);
        snprintf(path, sizeof path, "/api/v1/appointments/holds/%lld", old_id);
        c = kvt_api(s_key, "DELETE", path, NULL);
        KVT_EQ_INT(c.status, 404, "and releasing it is 404");
        kvt_resp_free(&c);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM busy WHERE hold_id = %lld", old_id);
        pr = PQexec(db, sql);
        KVT_EQ_STR(PQresultStatus(pr) == PGRES_TUPLES_OK ? PQgetvalue(pr, 0, 0) : "?", "0",
                   "its busy row went with it");
        PQclear(pr);
        PQfinish(db);
    }
    return kvt_done();
}
