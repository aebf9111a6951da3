/*
 * test_booking_calls.c -- calls linked to bookings, end to end:
 *
 *  - POST /appointments and POST /appointments/holds take call_id: a call
 *    of the tenant (an unknown call or another tenant's is 422
 *    errors.call_id); the appointment shows call_id (null without); a
 *    booking with a hold takes the hold's call, and a body naming another
 *    call is 422;
 *  - GET /calls/{id} shows appointment_ids, oldest first, cancelled ones
 *    included;
 *  - GET /calls/stats on a known data set in America/New_York: calls,
 *    answered, missed, booked (calls with at least one appointment, a
 *    cancelled one counting), conversion_rate = booked / answered,
 *    average_duration over answered calls -- with a call at 23:30 local
 *    time that UTC would put on the next day; an empty range; the query
 *    rules (both dates, order, at most 366 days);
 *  - with scheduling stopped, GET /calls/{id} and /calls/stats answer 503
 *    (never a wrong answer); calls are listed as before.
 */
#include "booking_e2e.h"

#define TZ "America/New_York"

static char s_key[64];

/* A call that started at local date + minute (TZ) and lasted secs: its id. */
static long long s_call(const char *date, int minute, int secs, const char *phone)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    strptime(date, "%Y-%m-%d", &tm);
    tm.tm_hour = minute / 60;
    tm.tm_min = minute % 60;
    tm.tm_isdst = -1;
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", TZ, 1);
    tzset();
    time_t t = mktime(&tm);
    if (old) {
        setenv("TZ", old, 1);
        free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
    struct tm u;
    gmtime_r(&t, &u);
    char at[32];
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &u);
    kvt_resp_t r = kvt_apif(s_key, "POST", "/api/v1/calls",
                            "{\"caller_phone\":\"%s\",\"started_at\":\"%s\",\"duration_seconds\":%d}",
                            phone, at, secs);
    long long id = r.status == 201 ? se_int(&r, "id") : -1;
    if (id < 0)
        fprintf(stderr, "s_call %s: %ld %.300s\n", at, r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return id;
}

static kvt_resp_t s_stats(const char *key, const char *query)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/calls/stats%s", query);
    return kvt_api(key, "GET", path, NULL);
}

/* The appointment_ids of call id as "1,2"; "(none)" when absent. */
static const char *s_appt_ids(long long id, long *status, char *buf, size_t size)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/calls/%lld", id);
    kvt_resp_t r = kvt_api(s_key, "GET", path, NULL);
    *status = r.status;
    json_t *ids = json_object_get(se_data(&r), "appointment_ids");
    size_t len = 0, i;
    json_t *v;
    snprintf(buf, size, "%s", json_is_array(ids) ? "" : "(none)");
    json_array_foreach(ids, i, v)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", len ? "," : "",
                                (long long)json_integer_value(v));
    kvt_resp_free(&r);
    return buf;
}

int main(void)
{
    char hours[1024], buf[512], want[256], path[128];
    int64_t t = se_tenant("callsbk", TZ, 15, s_key);
    se_every_day("[[\"00:00\",\"24:00\"]]", hours, sizeof hours);
    long long a = se_staff(t, "Anna", hours, NULL);
    long long svc = se_service(t, "Cut", 30, "20.00");
    long long cust = se_customer(s_key);
    KVT_OK(a > 0 && svc > 0 && cust > 0, "calls_fixture_created");

    /* the data set: local dates day0 and day1 (five and four days ago) */
    char today[11], day0[11], day1[11], before[11], after[11], d[11];
    int now_min;
    bk_local_at(TZ, 0, today, &now_min);
    bk_date_add(today, -5, day0);
    bk_date_add(today, -4, day1);
    bk_date_add(today, -6, before);
    bk_date_add(today, -3, after);
    long long c1 = s_call(day0, 10 * 60, 120, "+15550170001");       /* answered, 2 bookings */
    long long c2 = s_call(day0, 11 * 60, 10, "+15550170002");        /* missed */
    long long c3 = s_call(day0, 23 * 60 + 30, 300, "+15550170003");  /* answered at 23:30, booked by hold */
    long long c4 = s_call(day1, 9 * 60, 60, "+15550170004");         /* answered, booking cancelled */
    long long c5 = s_call(day1, 12 * 60, 5, "+15550170005");         /* missed, only a hold */
    long long c8 = s_call(day1, 15 * 60, 201, "+15550170008");       /* answered, nothing booked */
    long long c6 = s_call(before, 12 * 60, 100, "+15550170006");     /* outside, booked */
    long long c7 = s_call(after, 12 * 60, 100, "+15550170007");      /* outside */
    KVT_OK(c1 > 0 && c2 > 0 && c3 > 0 && c4 > 0 && c5 > 0 && c6 > 0 && c7 > 0 && c8 > 0,
           "eight calls logged");

    /* ---- call_id on bookings and holds ---- */
    se_monday(8, d);
    kvt_resp_t r = kvt_apif(s_key, "POST", "/api/v1/appointments",
                            "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"%s\","
                            "\"appointment_time\":\"09:00\",\"call_id\":%lld}", cust, svc, d, c1);
    KVT_EQ_INT(r.status, 201, "a booking with call_id is 201");
    KVT_EQ_INT(se_int(&r, "call_id"), c1, "the appointment shows its call_id");
    long long a1 = se_int(&r, "id");
    kvt_resp_free(&r);
    r = kvt_apif(s_key, "POST", "/api/v1/appointments",
                 "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"%s\","
                 "\"appointment_time\":\"10:00\",\"call_id\":%lld}", cust, svc, d, c1);
    long long a2 = se_int(&r, "id");
    kvt_resp_free(&r);
    r = kvt_apif(s_key, "POST", "/api/v1/appointments",
                 "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"%s\","
                 "\"appointment_time\":\"11:00\",\"call_id\":%lld}", cust, svc, d, c4);
    long long a4 = se_int(&r, "id");
    kvt_resp_free(&r);
    r = kvt_apif(s_key, "POST", "/api/v1/appointments",
                 "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"%s\","
                 "\"appointment_time\":\"12:00\",\"call_id\":%lld}", cust, svc, d, c6);
    kvt_resp_free(&r);
    long long plain = se_book_id(s_key, cust, svc, a, d, "13:00");
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", plain);
    r = kvt_api(s_key, "GET", path, NULL);
    KVT_OK(r.status == 200 && json_is_null(json_object_get(se_data(&r), "call_id")),
           "an appointment booked without a call shows call_id null");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", a4);
    r = kvt_api(s_key, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 200, "the booking of call 4 is cancelled");
    kvt_resp_free(&r);

    /* the hold of call 3, booked: the appointment takes the hold's call */
    r = kvt_apif(s_key, "POST", "/api/v1/appointments/holds",
                 "{\"service_id\":%lld,\"appointment_date\":\"%s\",\"appointment_time\":\"14:00\","
                 "\"call_id\":%lld}", svc, d, c3);
    KVT_EQ_INT(r.status, 201, "a hold with call_id is 201");
    KVT_EQ_INT(se_int(&r, "call_id"), c3, "the hold shows its call_id");
    long long h3 = se_int(&r, "id");
    kvt_resp_free(&r);
    snprintf(buf, sizeof buf, ",\"call_id\":%lld", c1);
    r = bk_book_hold(s_key, cust, h3, buf);
    KVT_OK(r.status == 422 && se_has_err(&r, "call_id"),
           "booking the hold with another call_id is 422 errors.call_id");
    kvt_resp_free(&r);
    r = bk_book_hold(s_key, cust, h3, "");
    KVT_EQ_INT(r.status, 201, "booking the hold is 201");
    KVT_EQ_INT(se_int(&r, "call_id"), c3, "and the appointment has the hold's call_id");
    long long a3 = se_int(&r, "id");
    kvt_resp_free(&r);
    r = kvt_apif(s_key, "POST", "/api/v1/appointments/holds",
                 "{\"service_id\":%lld,\"appointment_date\":\"%s\",\"appointment_time\":\"15:00\","
                 "\"call_id\":%lld}", svc, d, c5);
    KVT_EQ_INT(r.status, 201, "a hold of call 5 that is never booked");
    kvt_resp_free(&r);

    /* refused links */
    char key2[64];
    int64_t t2 = se_tenant("callsbk-other", TZ, 15, key2);
    (void)t2;
    kvt_resp_t oc = kvt_api(key2, "POST", "/api/v1/calls",
                            "{\"caller_phone\":\"+15550170099\",\"started_at\":\"2026-05-01T10:00:00Z\","
                            "\"duration_seconds\":30}");
    long long other_call = se_int(&oc, "id");
    kvt_resp_free(&oc);
    const struct { long long call; const char *name; } badcall[] = {
        { 999999999, "an unknown call" },
        { other_call, "another tenant's call" },
    };
    for (size_t i = 0; i < 2; i++) {
        r = kvt_apif(s_key, "POST", "/api/v1/appointments",
                     "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"%s\","
                     "\"appointment_time\":\"16:00\",\"call_id\":%lld}", cust, svc, d, badcall[i].call);
        KVT_OK(r.status == 422 && se_has_err(&r, "call_id"),
               "booking with %s is 422 errors.call_id (got %ld)", badcall[i].name, r.status);
        kvt_resp_free(&r);
        r = kvt_apif(s_key, "POST", "/api/v1/appointments/holds",
                     "{\"service_id\":%lld,\"appointment_date\":\"%s\",\"appointment_time\":\"16:00\","
                     "\"call_id\":%lld}", svc, d, badcall[i].call);
        KVT_OK(r.status == 422 && se_has_err(&r, "call_id"), "holding with %s is 422 errors.call_id",
               badcall[i].name);
        kvt_resp_free(&r);
    }
    r = kvt_apif(s_key, "POST", "/api/v1/appointments",
                 "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"%s\","
                 "\"appointment_time\":\"16:00\",\"call_id\":\"%lld\"}", cust, svc, d, c1);
    KVT_OK(r.status == 422 && se_has_err(&r, "call_id"), "a call_id as a string is 422");
    kvt_resp_free(&r);

    /* ---- appointment_ids of a call ---- */
    long st;
    snprintf(want, sizeof want, "%lld,%lld", a1, a2);
    KVT_EQ_STR(s_appt_ids(c1, &st, buf, sizeof buf), want, "GET /calls/{id} lists the call's appointments, oldest first");
    KVT_EQ_INT(st, 200, "GET /calls/{id} is 200");
    snprintf(want, sizeof want, "%lld", a4);
    KVT_EQ_STR(s_appt_ids(c4, &st, buf, sizeof buf), want, "a cancelled booking is still listed");
    snprintf(want, sizeof want, "%lld", a3);
    KVT_EQ_STR(s_appt_ids(c3, &st, buf, sizeof buf), want, "a booking made from a hold is listed");
    KVT_EQ_STR(s_appt_ids(c2, &st, buf, sizeof buf), "", "a call without bookings has []");
    KVT_EQ_STR(s_appt_ids(c5, &st, buf, sizeof buf), "", "a hold alone is no booking");

    /* ---- statistics ---- */
    snprintf(buf, sizeof buf, "?from_date=%s&to_date=%s", day0, day1);
    r = s_stats(s_key, buf);
    KVT_EQ_INT(r.status, 200, "GET /calls/stats is 200");
    KVT_EQ_STR(se_str(&r, "from_date"), day0, "stats echo from_date");
    KVT_EQ_STR(se_str(&r, "to_date"), day1, "stats echo to_date");
    KVT_EQ_INT(se_int(&r, "calls"), 6, "calls: the six calls of the two local days");
    KVT_EQ_INT(se_int(&r, "answered"), 4, "answered: four of 15 s or more");
    KVT_EQ_INT(se_int(&r, "missed"), 2, "missed: two under 15 s");
    KVT_EQ_INT(se_int(&r, "booked"), 3, "booked: three calls with an appointment (a cancelled one counts, a hold does not)");
    KVT_OK(se_real(&r, "conversion_rate") == 0.75, "conversion_rate = 3 / 4 = 0.75 (got %g)",
           se_real(&r, "conversion_rate"));
    KVT_OK(se_real(&r, "average_duration") == 170.3,
           "average_duration over answered calls = 681 / 4 = 170.25 s, shown 170.3 (got %g)",
           se_real(&r, "average_duration"));
    kvt_resp_free(&r);
    snprintf(buf, sizeof buf, "?from_date=%s&to_date=%s", day0, day0);
    r = s_stats(s_key, buf);
    KVT_OK(se_int(&r, "calls") == 3 && se_int(&r, "answered") == 2 && se_int(&r, "booked") == 2 &&
           se_real(&r, "conversion_rate") == 1.0 && se_real(&r, "average_duration") == 210.0,
           "one local day: the 23:30 call (04:30 UTC the next day) counts on its local date");
    kvt_resp_free(&r);
    snprintf(buf, sizeof buf, "?from_date=%s&to_date=%s", before, after);
    r = s_stats(s_key, buf);
    KVT_OK(se_int(&r, "calls") == 8 && se_int(&r, "booked") == 4, "the wider range counts all eight, four booked");
    kvt_resp_free(&r);
    r = s_stats(s_key, "?from_date=2020-01-01&to_date=2020-01-31");
    KVT_OK(r.status == 200 && se_int(&r, "calls") == 0 && se_int(&r, "booked") == 0 &&
           se_real(&r, "conversion_rate") == 0.0 && se_real(&r, "average_duration") == 0.0,
           "a range without calls is all zeros");
    kvt_resp_free(&r);
    r = s_stats(key2, "?from_date=2026-05-01&to_date=2026-05-01");
    KVT_OK(r.status == 200 && se_int(&r, "calls") == 1 && se_int(&r, "booked") == 0,
           "another tenant sees only its own call");
    kvt_resp_free(&r);

    const struct { const char *q, *field, *name; } bad[] = {
        { "", "from_date", "no dates" },
        { "?from_date=2026-01-01", "to_date", "no to_date" },
        { "?from_date=2026-01-10&to_date=2026-01-09", "to_date", "to_date before from_date" },
        { "?from_date=2025-01-01&to_date=2026-01-02", "to_date", "367 days" },
        { "?from_date=2026-02-30&to_date=2026-03-01", "from_date", "an impossible date" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = s_stats(s_key, bad[i].q);
        KVT_OK(r.status == 422 && se_has_err(&r, bad[i].field), "stats with %s is 422 errors.%s (got %ld)",
               bad[i].name, bad[i].field, r.status);
        kvt_resp_free(&r);
    }
    r = s_stats(s_key, "?from_date=2025-01-01&to_date=2026-01-01");
    KVT_EQ_INT(r.status, 200, "366 days is allowed");
    kvt_resp_free(&r);

    /* ---- scheduling down: 503, never a wrong answer ---- */
    KVT_EQ_INT(kvt_stack("stop scheduling"), 0, "scheduling can be stopped");
    s_appt_ids(c1, &st, buf, sizeof buf);
    KVT_EQ_INT(st, 503, "GET /calls/{id} while scheduling is down is 503");
    snprintf(buf, sizeof buf, "?from_date=%s&to_date=%s", day0, day1);
    r = s_stats(s_key, buf);
    KVT_EQ_INT(r.status, 503, "GET /calls/stats while scheduling is down is 503");
    kvt_resp_free(&r);
    r = kvt_api(s_key, "GET", "/api/v1/calls", NULL);
    KVT_EQ_INT(r.status, 200, "listing calls does not need scheduling");
    kvt_resp_free(&r);
    KVT_EQ_INT(kvt_stack("start scheduling"), 0, "scheduling can be started again");
    st = 0;
    for (int i = 0; i < 100 && st != 200; i++) {
        s_appt_ids(c1, &st, buf, sizeof buf);
        if (st != 200)
            kvt_sleep_ms(100);
    }
    snprintf(want, sizeof want, "%lld,%lld", a1, a2);
    KVT_EQ_STR(buf, want, "once scheduling is back the call shows its appointments again");
    return kvt_done();
}
