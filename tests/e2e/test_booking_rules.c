/*
 * test_booking_rules.c -- booking rules per service, end to end:
 *
 *  - buffer_before_minutes, buffer_after_minutes, min_notice_minutes,
 *    max_advance_days: defaults 0, 0, 0, 365; set by the admin API and by
 *    kaivoxctl (--buffer-before ...), shown by GET /api/v1/services, refused
 *    out of range;
 *  - buffers keep the staff member free around an appointment: /slots
 *    leaves the buffered interval out for every service, a booking whose
 *    buffered interval overlaps another's is 409 with alternatives even
 *    when the appointments themselves do not overlap, cancelling frees the
 *    buffered interval;
 *  - the database enforces it: an INSERT straight into the appointments
 *    table that overlaps only a buffer is refused by busy_no_overlap, a
 *    non-overlapping one gets its busy row (the slot is no longer offered);
 *  - min_notice (counted from now in the tenant's time zone, here
 *    Asia/Kolkata) and max_advance (days from the tenant's today): /slots
 *    offers nothing outside them, and booking, holding and rescheduling
 *    answer 422 naming the rule (errors.appointment_time /
 *    errors.appointment_date).
 */
#include "booking_e2e.h"

#define TZ "Asia/Kolkata"

static char s_key[64];
static int64_t s_t;

/* The local date and "HH:MM" of now + offset_min, rounded up to the
 * 15-minute grid, in TZ; a time after 23:30, whose 30 minutes would run past
 * the day's end, moves on to the next day's 00:00 (still later than asked). */
static void s_grid_at(int offset_min, char date[11], char hm[6])
{
    time_t t = time(NULL) + (time_t)offset_min * 60;
    t = (t + 899) / 900 * 900;
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", TZ, 1);
    tzset();
    struct tm tm;
    localtime_r(&t, &tm);
    if (tm.tm_hour == 23 && tm.tm_min > 30) {
        t += (time_t)(60 - tm.tm_min) * 60;
        localtime_r(&t, &tm);
    }
    strftime(date, 11, "%Y-%m-%d", &tm);
    snprintf(hm, 6, "%02d:%02d", tm.tm_hour, tm.tm_min);
    if (old) {
        setenv("TZ", old, 1);
        free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

static int s_minutes(const char *hm)
{
    return atoi(hm) * 60 + atoi(hm + 3);
}

static kvt_resp_t s_admin_service(const char *method, long long id, const char *body)
{
    char path[128];
    if (id > 0)
        snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services/%lld", (long long)s_t, id);
    else
        snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services", (long long)s_t);
    return kvt_admin(method, path, body);
}

int main(void)
{
    char hours[1024], buf[512], path[160], d[11], state[6], sql[1024];
    s_t = se_tenant("rules", TZ, 15, s_key);
    se_every_day("[[\"00:00\",\"24:00\"]]", hours, sizeof hours);
    long long a = se_staff(s_t, "Anna", hours, NULL);
    long long b = se_staff(s_t, "Ben", hours, NULL);
    long long cust = se_customer(s_key);
    long long plain = se_service(s_t, "Plain", 30, "10.00");
    long long buffered = bk_service(s_t, "Buffered", 30, 15, 15, 0, 365);
    KVT_OK(a > 0 && b > 0 && cust > 0 && plain > 0 && buffered > 0, "rules_fixture_created");

    /* ---- the four fields ---- */
    snprintf(path, sizeof path, "/api/v1/services/%lld", plain);
    kvt_resp_t r = kvt_api(s_key, "GET", path, NULL);
    KVT_OK(se_int(&r, "buffer_before_minutes") == 0 && se_int(&r, "buffer_after_minutes") == 0 &&
           se_int(&r, "min_notice_minutes") == 0 && se_int(&r, "max_advance_days") == 365,
           "a service made without rules shows the defaults 0, 0, 0, 365");
    kvt_resp_free(&r);
    r = kvt_api(s_key, "GET", "/api/v1/services", NULL);
    int listed = 0;
    size_t i;
    json_t *sv;
    json_array_foreach(se_data(&r), i, sv)
        if (json_integer_value(json_object_get(sv, "id")) == buffered)
            listed = json_integer_value(json_object_get(sv, "buffer_before_minutes")) == 15 &&
                     json_integer_value(json_object_get(sv, "buffer_after_minutes")) == 15;
    KVT_OK(listed, "GET /api/v1/services shows a service's buffers");
    kvt_resp_free(&r);

    const struct { const char *body, *field; } bad[] = {
        { "{\"buffer_before_minutes\":1441}", "buffer_before_minutes" },
        { "{\"buffer_after_minutes\":-1}", "buffer_after_minutes" },
        { "{\"min_notice_minutes\":525601}", "min_notice_minutes" },
        { "{\"max_advance_days\":3651}", "max_advance_days" },
        { "{\"max_advance_days\":null}", "max_advance_days" },
        { "{\"buffer_before_minutes\":\"15\"}", "buffer_before_minutes" },
        { "{\"min_notice_minutes\":1.5}", "min_notice_minutes" },
    };
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = s_admin_service("PATCH", plain, bad[i].body);
        KVT_OK(r.status == 422 && se_has_err(&r, bad[i].field), "admin %s is 422 errors.%s",
               bad[i].body, bad[i].field);
        kvt_resp_free(&r);
    }
    r = s_admin_service("PATCH", plain, "{\"min_notice_minutes\":5,\"max_advance_days\":400}");
    KVT_OK(r.status == 200 && se_int(&r, "min_notice_minutes") == 5 &&
           se_int(&r, "max_advance_days") == 400 && se_int(&r, "buffer_before_minutes") == 0,
           "admin update sets the rules it names and keeps the others");
    kvt_resp_free(&r);
    r = s_admin_service("PATCH", plain, "{\"min_notice_minutes\":0,\"max_advance_days\":365}");
    kvt_resp_free(&r);

    json_t *out = NULL;
    snprintf(buf, sizeof buf, "service create --tenant %lld --name 'CLI rules' --duration 45 "
             "--price 40 --buffer-before 10 --buffer-after 20 --min-notice 60 --max-advance 30",
             (long long)s_t);
    int rc = bk_cli(buf, &out);
    long long cli_svc = json_integer_value(json_object_get(out, "id"));
    KVT_OK(rc == 0 && json_integer_value(json_object_get(out, "buffer_before_minutes")) == 10 &&
           json_integer_value(json_object_get(out, "buffer_after_minutes")) == 20 &&
           json_integer_value(json_object_get(out, "min_notice_minutes")) == 60 &&
           json_integer_value(json_object_get(out, "max_advance_days")) == 30,
           "kaivoxctl service create --buffer-before --buffer-after --min-notice --max-advance");
    json_decref(out);
    snprintf(buf, sizeof buf, "service update --tenant %lld --id %lld --min-notice 0 --max-advance 365",
             (long long)s_t, cli_svc);
    rc = bk_cli(buf, &out);
    KVT_OK(rc == 0 && json_integer_value(json_object_get(out, "min_notice_minutes")) == 0 &&
           json_integer_value(json_object_get(out, "max_advance_days")) == 365 &&
           json_integer_value(json_object_get(out, "buffer_after_minutes")) == 20,
           "kaivoxctl service update --min-notice --max-advance changes only those");
    json_decref(out);
    snprintf(buf, sizeof buf, "service update --tenant %lld --id %lld --buffer-before 2000",
             (long long)s_t, cli_svc);
    rc = bk_cli(buf, &out);
    KVT_EQ_INT(rc, 2, "kaivoxctl refuses --buffer-before 2000 (usage error)");
    json_decref(out);
    snprintf(buf, sizeof buf, "service update --tenant %lld --id %lld --max-advance ten",
             (long long)s_t, cli_svc);
    rc = bk_cli(buf, &out);
    KVT_EQ_INT(rc, 2, "kaivoxctl refuses --max-advance ten (usage error)");
    json_decref(out);

    /* ---- buffers ---- */
    se_monday(8, d);
    long long bf10 = se_book_id(s_key, cust, buffered, a, d, "10:00");
    KVT_OK(bf10 > 0, "a buffered service booked at 10:00 (busy 09:45-10:45)");
    kvt_resp_t s = se_slots(s_key, d, plain, a);
    KVT_OK(bk_offers(&s, "09:15", a) && !bk_offers(&s, "09:30", a) && !bk_offers(&s, "10:30", a) &&
           bk_offers(&s, "10:45", a), "slots of another service leave the buffers free");
    kvt_resp_free(&s);
    s = se_slots(s_key, d, buffered, a);
    KVT_OK(bk_offers(&s, "09:00", a) && !bk_offers(&s, "09:15", a) && !bk_offers(&s, "10:45", a) &&
           bk_offers(&s, "11:00", a), "slots of a buffered service keep its own buffers free too");
    kvt_resp_free(&s);
    r = se_book(s_key, cust, plain, a, d, "10:30");
    KVT_EQ_INT(r.status, 409, "booking into another booking's buffer is 409");
    KVT_EQ_STR(bk_alt_times(&r, buf, sizeof buf), "10:45 11:00 11:15",
               "with the nearest times outside the buffer as alternatives");
    kvt_resp_free(&r);
    r = bk_hold(s_key, buffered, a, d, "09:30", 0);
    KVT_EQ_INT(r.status, 409, "holding into a buffer is 409");
    kvt_resp_free(&r);
    long long bf11 = se_book_id(s_key, cust, buffered, a, d, "11:00");
    KVT_OK(bf11 > 0, "buffers that only touch (10:45) do not conflict");

    /* two bookings whose appointments do not overlap but whose buffers do */
    KVT_OK(se_book_id(s_key, cust, buffered, b, d, "14:00") > 0, "B: buffered 14:00");
    KVT_OK(se_book_id(s_key, cust, buffered, b, d, "15:00") > 0, "B: buffered 15:00 (buffers touch)");
    r = se_book(s_key, cust, buffered, b, d, "14:30");
    KVT_EQ_INT(r.status, 409, "B: buffered 14:30 between them is 409: only the buffers overlap");
    kvt_resp_free(&r);

    /* cancelling frees the buffered interval */
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", bf10);
    r = kvt_api(s_key, "DELETE", path, NULL);
    kvt_resp_free(&r);
    s = se_slots(s_key, d, plain, a);
    KVT_OK(bk_offers(&s, "09:30", a) && bk_offers(&s, "10:00", a),
           "a cancelled appointment's buffers are free again");
    kvt_resp_free(&s);

    /* a move respects the buffers: moving plain 13:00 onto 11:30 (in the
     * buffer after the 11:00 booking, 11:30-11:45) is 409 */
    long long p13 = se_book_id(s_key, cust, plain, a, d, "13:00");
    r = bk_patch(s_key, p13, "{\"appointment_time\":\"11:30\"}");
    KVT_EQ_INT(r.status, 409, "rescheduling into a buffer is 409");
    kvt_resp_free(&r);

    /* ---- the database refuses a buffer overlap by itself ---- */
    PGconn *db = bk_db();
    if (db) {
        /* 10:45-11:00 overlaps no appointment, only the 11:00 booking's
         * buffer before (10:45-11:00) */
        snprintf(sql, sizeof sql,
                 "INSERT INTO appointments (tenant_id, customer_id, service_id, staff_id, "
                 "appointment_date, start_min, end_min, price_cents, duration_minutes) "
                 "VALUES (%lld, %lld, %lld, %lld, '%s', 645, 660, 0, 15)",
                 (long long)s_t, cust, plain, a, d);
        bk_sql(db, sql, state);
        KVT_EQ_STR(state, "23P01", "an INSERT straight into appointments that overlaps only a buffer "
                   "is refused by the database (exclusion violation)");
        PGresult *pr = PQexec(db, sql);
        const char *cn = PQresultErrorField(pr, PG_DIAG_CONSTRAINT_NAME);
        KVT_EQ_STR(cn ? cn : "", "busy_no_overlap", "by the constraint busy_no_overlap");
        PQclear(pr);
        /* a hold written straight into holds over a booking is refused too */
        snprintf(sql, sizeof sql,
                 "INSERT INTO holds (tenant_id, service_id, staff_id, appointment_date, start_min, "
                 "end_min, duration_minutes, price_cents, buffer_before_minutes, buffer_after_minutes, "
                 "expires_at) VALUES (%lld, %lld, %lld, '%s', 690, 720, 30, 0, 0, 0, now() + interval '1 hour')",
                 (long long)s_t, plain, a, d);
        bk_sql(db, sql, state);
        KVT_EQ_STR(state, "23P01", "an INSERT straight into holds over a booking is refused");
        /* a free interval: accepted, and its busy row follows */
        snprintf(sql, sizeof sql,
                 "INSERT INTO appointments (tenant_id, customer_id, service_id, staff_id, "
                 "appointment_date, start_min, end_min, price_cents, duration_minutes, "
                 "buffer_after_minutes) VALUES (%lld, %lld, %lld, %lld, '%s', 1200, 1230, 0, 30, 30)",
                 (long long)s_t, cust, plain, a, d);
        bk_sql(db, sql, state);
        KVT_EQ_STR(state, "", "an INSERT straight into appointments of a free interval is accepted");
        s = se_slots(s_key, d, plain, a);
        KVT_OK(!bk_offers(&s, "20:00", a) && !bk_offers(&s, "20:30", a) && bk_offers(&s, "21:00", a),
               "and the trigger wrote its buffered busy row: /slots leaves 20:00-21:00 out");
        kvt_resp_free(&s);
        PQfinish(db);
    }

    /* ---- min_notice, counted from now in the tenant's zone ---- */
    long long notice = bk_service(s_t, "Notice", 30, 0, 0, 120, 365);
    char soon_d[11], soon[6], ok_d[11], ok[6], now_d[11];
    int now_min;
    s_grid_at(60, soon_d, soon);
    s_grid_at(180, ok_d, ok);
    bk_local_at(TZ, 0, now_d, &now_min);
    r = se_book(s_key, cust, notice, b, soon_d, soon);
    KVT_EQ_INT(r.status, 422, "booking an hour ahead with a 120-minute notice is 422");
    const char *msg = se_err(&r, "appointment_time");
    KVT_OK(msg && strstr(msg, "at least 120 minutes from now") && strstr(msg, "min_notice_minutes"),
           "errors.appointment_time names the rule (%s)", msg ? msg : "none");
    kvt_resp_free(&r);
    r = bk_hold(s_key, notice, b, soon_d, soon, 0);
    KVT_OK(r.status == 422 && se_has_err(&r, "appointment_time"), "holding it is 422 too");
    kvt_resp_free(&r);
    s = se_slots(s_key, soon_d, notice, b);
    KVT_OK(s.status == 200 && !bk_offers(&s, soon, b), "/slots does not offer it");
    int first_ok = 1;
    if (strcmp(soon_d, now_d) == 0) {
        json_t *f = json_array_get(se_data(&s), 0);
        const char *ft = json_string_value(json_object_get(f, "time"));
        first_ok = !ft || s_minutes(ft) > now_min + 119;
    }
    KVT_OK(first_ok, "today's first offered slot is more than 120 minutes away");
    kvt_resp_free(&s);
    s = se_slots(s_key, ok_d, notice, b);
    KVT_OK(bk_offers(&s, ok, b), "/slots offers three hours ahead (%s %s)", ok_d, ok);
    kvt_resp_free(&s);
    r = se_book(s_key, cust, notice, b, ok_d, ok);
    KVT_EQ_INT(r.status, 201, "booking three hours ahead is 201");
    long long n1 = se_int(&r, "id");
    kvt_resp_free(&r);
    snprintf(buf, sizeof buf, "{\"appointment_date\":\"%s\",\"appointment_time\":\"%s\"}", soon_d, soon);
    r = bk_patch(s_key, n1, buf);
    KVT_OK(r.status == 422 && se_has_err(&r, "appointment_time"),
           "rescheduling it to an hour ahead is 422 errors.appointment_time");
    kvt_resp_free(&r);

    /* ---- max_advance, in days from the tenant's today ---- */
    long long advance = bk_service(s_t, "Advance", 30, 0, 0, 0, 10);
    char d10[11], d11[11];
    bk_date_add(now_d, 10, d10);
    bk_date_add(now_d, 11, d11);
    r = se_book(s_key, cust, advance, a, d11, "10:00");
    KVT_EQ_INT(r.status, 422, "booking 11 days ahead with max_advance_days 10 is 422");
    msg = se_err(&r, "appointment_date");
    KVT_OK(msg && strstr(msg, "at most 10 days ahead") && strstr(msg, "max_advance_days"),
           "errors.appointment_date names the rule (%s)", msg ? msg : "none");
    kvt_resp_free(&r);
    r = bk_hold(s_key, advance, a, d11, "10:00", 0);
    KVT_OK(r.status == 422 && se_has_err(&r, "appointment_date"), "holding it is 422 too");
    kvt_resp_free(&r);
    s = se_slots(s_key, d11, advance, a);
    KVT_OK(s.status == 200 && se_len(&s) == 0, "/slots 11 days ahead is empty");
    kvt_resp_free(&s);
    s = se_slots(s_key, d10, advance, a);
    KVT_OK(s.status == 200 && bk_offers(&s, "10:00", a), "/slots 10 days ahead offers 10:00");
    kvt_resp_free(&s);
    r = se_book(s_key, cust, advance, a, d10, "10:00");
    KVT_EQ_INT(r.status, 201, "booking 10 days ahead is 201");
    long long m1 = se_int(&r, "id");
    kvt_resp_free(&r);
    snprintf(buf, sizeof buf, "{\"appointment_date\":\"%s\"}", d11);
    r = bk_patch(s_key, m1, buf);
    KVT_OK(r.status == 422 && se_has_err(&r, "appointment_date"),
           "rescheduling it to 11 days ahead is 422 errors.appointment_date");
    kvt_resp_free(&r);
    long long same_day = bk_service(s_t, "Same day", 30, 0, 0, 0, 0);
    char d1[11];
    bk_date_add(now_d, 1, d1);
    r = se_book(s_key, cust, same_day, a, d1, "10:00");
    KVT_OK(r.status == 422 && se_has_err(&r, "appointment_date"),
           "max_advance_days 0: tomorrow is 422");
    kvt_resp_free(&r);
    return kvt_done();
}
