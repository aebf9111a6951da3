/*
 * test_scheduling_slots.c -- GET /api/v1/appointments/slots end to end:
 * the grid, breaks, durations that do not divide the interval, the last
 * slot of the day, overlapping appointments (and cancelled ones freeing
 * their time), staff who do not perform the service, merging staff ids,
 * the tenant's slot interval, tenants in non-UTC time zones (today and the
 * past-time cut-off are the tenant's), validation and 404s.
 */
#include "sched_e2e.h"

static int s_has(const char *list, const char *t)
{
    size_t n = strlen(t);
    for (const char *p = list; (p = strstr(p, t)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

/* staff_ids of the slot at time t in r, as "1,2" into buf. */
static const char *s_ids_at(const kvt_resp_t *r, const char *t, char *buf, size_t size)
{
    size_t i, k;
    json_t *s, *id;
    buf[0] = '\0';
    json_array_foreach(se_data(r), i, s) {
        if (strcmp(json_string_value(json_object_get(s, "time")), t) != 0)
            continue;
        size_t len = 0;
        json_array_foreach(json_object_get(s, "staff_ids"), k, id)
            len += (size_t)snprintf(buf + len, size - len, "%s%lld", len ? "," : "",
                                    (long long)json_integer_value(id));
    }
    return buf;
}

static void s_date_add(const char *date, int days, char out[11])
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    sscanf(date, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_hour = 12;
    time_t t = timegm(&tm) + (time_t)days * 86400;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static void s_tz_case(const char *tz)
{
    char key[64], hours[512], today[11], yesterday[11], times[8192], nowbuf[16];
    int now;
    int64_t t = se_tenant("slots-tz", tz, 0, key);
    long long svc = se_service(t, "Quick", 15, "5.00");
    long long all = se_staff(t, "Allday", se_every_day("[[\"00:00\",\"24:00\"]]", hours, sizeof hours), NULL);
    (void)all;
    se_local_now(tz, today, &now);
    s_date_add(today, -1, yesterday);
    kvt_resp_t r = se_slots(key, today, svc, 0);
    KVT_EQ_INT(r.status, 200, "slots_%s_local_today_is_not_past", tz);
    se_slot_times(&r, times, sizeof times);
    int all_future = 1;
    size_t i;
    json_t *s;
    json_array_foreach(se_data(&r), i, s) {
        int h, m;
        sscanf(json_string_value(json_object_get(s, "time")), "%d:%d", &h, &m);
        if (h * 60 + m < now)   /* the current minute may still be the same */
            all_future = 0;
    }
    KVT_OK(all_future, "slots_%s_today_leaves_out_past_local_times", tz);
    snprintf(nowbuf, sizeof nowbuf, "%02d:%02d", now / 60, now % 60);
    if (now < 23 * 60) {
        json_t *first = json_array_get(se_data(&r), 0);
        int h = 99, m = 0;
        if (first)
            sscanf(json_string_value(json_object_get(first, "time")), "%d:%d", &h, &m);
        KVT_OK(h * 60 + m <= now + 16, "slots_%s_today_first_slot_is_next_grid_point_after_%s",
               tz, nowbuf);
    } else {
        KVT_OK(1, "slots_%s_today_first_slot_is_next_grid_point_after_%s", tz, nowbuf);
    }
    kvt_resp_free(&r);
    r = se_slots(key, yesterday, svc, 0);
    KVT_EQ_INT(r.status, 422, "slots_%s_local_yesterday_is_422", tz);
    KVT_OK(se_has_err(&r, "date"), "slots_%s_local_yesterday_error_on_date", tz);
    kvt_resp_free(&r);
}

int main(void)
{
    char key[64], key_b[64], mon[11], times[8192], ids[128], path[256], body[1024];
    int64_t t = se_tenant("slots", NULL, 0, key);
    int64_t tb = se_tenant("slots-b", NULL, 0, key_b);
    long long cut = se_service(t, "Cut", 30, "20.00");
    long long longsvc = se_service(t, "Long", 45, "40.00");
    long long inactive = se_service(t, "Inactive", 30, "1.00");
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services/%lld", (long long)t, inactive);
    kvt_resp_t r = kvt_admin("PATCH", path, "{\"active\":false}");
    kvt_resp_free(&r);
    long long a = se_staff(t, "A", "{\"mon\":[[\"09:00\",\"12:00\"],[\"13:00\",\"17:00\"]]}", NULL);
    snprintf(body, sizeof body, "[%lld]", cut);
    long long b = se_staff(t, "B", "{\"mon\":[[\"09:00\",\"10:00\"]]}", body);
    long long c = se_staff(t, "C", "{\"mon\":[[\"22:00\",\"24:00\"]]}", body);
    long long b_svc_b = se_service(tb, "OtherCut", 30, "1.00");
    long long b_staff = se_staff(tb, "OtherStaff", "{\"mon\":[[\"09:00\",\"17:00\"]]}", NULL);
    KVT_OK(cut > 0 && longsvc > 0 && a > 0 && b > 0 && c > 0 && b_svc_b > 0 && b_staff > 0,
           "slots_fixture_created");
    se_monday(8, mon);

    /* grid with a lunch break */
    r = se_slots(key, mon, cut, a);
    KVT_EQ_INT(r.status, 200, "slots_for_one_staff_is_200");
    se_slot_times(&r, times, sizeof times);
    KVT_EQ_INT(se_len(&r), 26, "slots_break_day_has_26_half_hour_starts_on_15_min_grid");
    KVT_OK(s_has(times, "09:00") && s_has(times, "11:30") && s_has(times, "13:00") && s_has(times, "16:30"),
           "slots_first_and_last_of_each_interval");
    KVT_OK(!s_has(times, "11:45") && !s_has(times, "12:00") && !s_has(times, "12:45"),
           "slots_nothing_spans_or_sits_in_the_break");
    KVT_OK(!s_has(times, "16:45"), "slots_last_slot_must_end_by_closing");
    json_t *last = json_array_get(se_data(&r), se_len(&r) - 1);
    KVT_EQ_STR(json_string_value(json_object_get(last, "end_time")), "17:00", "slots_end_time_is_start_plus_duration");
    kvt_resp_free(&r);

    /* durations that do not divide the interval */
    r = se_slots(key, mon, longsvc, a);
    se_slot_times(&r, times, sizeof times);
    KVT_OK(s_has(times, "11:15") && !s_has(times, "11:30") && s_has(times, "16:15") && !s_has(times, "16:30"),
           "slots_45_min_service_fits_entirely_in_interval");
    KVT_EQ_INT(se_len(&r), 10 + 14, "slots_45_min_service_count");
    kvt_resp_free(&r);

    /* staff who do not perform the service */
    r = se_slots(key, mon, longsvc, b);
    KVT_EQ_INT(r.status, 200, "slots_staff_not_performing_is_200");
    KVT_EQ_INT(se_len(&r), 0, "slots_staff_not_performing_has_no_slots");
    kvt_resp_free(&r);
    r = se_slots(key, mon, longsvc, 0);
    KVT_OK(r.body && !strstr(r.body, "\"staff_ids\":[]"), "slots_merged_never_empty_staff_ids");
    s_ids_at(&r, "09:00", ids, sizeof ids);
    snprintf(body, sizeof body, "%lld", a);
    KVT_EQ_STR(ids, body, "slots_merged_excludes_staff_not_performing");
    kvt_resp_free(&r);

    /* merged across staff */
    r = se_slots(key, mon, cut, 0);
    KVT_EQ_INT(r.status, 200, "slots_all_staff_is_200");
    snprintf(body, sizeof body, "%lld,%lld", a, b);
    KVT_EQ_STR(s_ids_at(&r, "09:00", ids, sizeof ids), body, "slots_merged_staff_ids_at_09_00");
    KVT_EQ_STR(s_ids_at(&r, "09:30", ids, sizeof ids), body, "slots_merged_staff_ids_at_09_30");
    snprintf(body, sizeof body, "%lld", a);
    KVT_EQ_STR(s_ids_at(&r, "09:45", ids, sizeof ids), body, "slots_merged_staff_ids_at_09_45");
    se_slot_times(&r, times, sizeof times);
    KVT_OK(s_has(times, "23:30") && !s_has(times, "23:45"), "slots_last_slot_of_the_day_ends_at_midnight");
    snprintf(body, sizeof body, "%lld", c);
    KVT_EQ_STR(s_ids_at(&r, "23:30", ids, sizeof ids), body, "slots_late_staff_at_23_30");
    last = json_array_get(se_data(&r), se_len(&r) - 1);
    KVT_EQ_STR(json_string_value(json_object_get(last, "end_time")), "24:00", "slots_last_end_time_24_00");
    /* ordered by time */
    int ordered = 1;
    for (size_t i = 1; i < se_len(&r); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(se_data(&r), i - 1), "time")),
                   json_string_value(json_object_get(json_array_get(se_data(&r), i), "time"))) >= 0)
            ordered = 0;
    KVT_OK(ordered, "slots_ordered_by_time_without_duplicates");
    kvt_resp_free(&r);

    /* other days have no hours */
    char tue[11];
    s_date_add(mon, 1, tue);
    r = se_slots(key, tue, cut, 0);
    KVT_EQ_INT(se_len(&r), 0, "slots_day_without_working_hours_is_empty");
    kvt_resp_free(&r);

    /* overlapping appointments */
    long long cust = se_customer(key);
    KVT_OK(cust > 0, "slots_customer_created");
    long long ap = se_book_id(key, cust, cut, a, mon, "10:00");
    KVT_OK(ap > 0, "slots_booking_10_00_created");
    kvt_resp_t off = kvt_apif(key, "POST", "/api/v1/appointments",
                              "{\"customer_id\":%lld,\"service_id\":%lld,\"staff_id\":%lld,"
                              "\"appointment_date\":\"%s\",\"appointment_time\":\"14:10\","
                              "\"allow_off_grid\":true}", cust, longsvc, a, mon);
    long long ap2 = off.status == 201 ? se_int(&off, "id") : -1;
    kvt_resp_free(&off);
    KVT_OK(ap2 > 0, "slots_off_grid_booking_14_10_created_with_allow_off_grid");
    r = se_slots(key, mon, cut, a);
    se_slot_times(&r, times, sizeof times);
    KVT_OK(s_has(times, "09:30") && !s_has(times, "09:45") && !s_has(times, "10:00")
           && !s_has(times, "10:15") && s_has(times, "10:30"),
           "slots_booking_blocks_overlapping_starts_only");
    KVT_OK(s_has(times, "13:30") && !s_has(times, "13:45") && !s_has(times, "14:45")
           && s_has(times, "15:00"), "slots_off_grid_booking_blocks_its_span");
    kvt_resp_free(&r);
    r = se_slots(key, mon, cut, 0);
    snprintf(body, sizeof body, "%lld", b);
    KVT_EQ_STR(s_ids_at(&r, "09:45", ids, sizeof ids), "", "slots_09_45_nobody_free_after_booking_and_B_done");
    KVT_EQ_STR(s_ids_at(&r, "10:00", ids, sizeof ids), "", "slots_10_00_absent_when_only_staff_booked");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", ap);
    r = kvt_api(key, "DELETE", path, NULL);
    kvt_resp_free(&r);
    r = se_slots(key, mon, cut, a);
    se_slot_times(&r, times, sizeof times);
    KVT_OK(s_has(times, "09:45") && s_has(times, "10:00") && s_has(times, "10:15"),
           "slots_cancelled_booking_frees_its_time");
    kvt_resp_free(&r);

    /* the tenant's slot interval */
    char key30[64];
    int64_t t30 = se_tenant("slots30", NULL, 30, key30);
    long long s30 = se_service(t30, "Cut", 30, "1.00");
    se_staff(t30, "S", "{\"mon\":[[\"09:00\",\"11:00\"]]}", NULL);
    r = se_slots(key30, mon, s30, 0);
    se_slot_times(&r, times, sizeof times);
    KVT_EQ_STR(times, "09:00 09:30 10:00 10:30", "slots_tenant_slot_interval_30");
    kvt_resp_free(&r);

    /* validation and 404s */
    struct { const char *q, *field, *name; } inval[] = {
        { "service_id=1", "date", "missing_date" },
        { "date=2026-02-30&service_id=1", "date", "date_feb_30" },
        { "date=2026-1-05&service_id=1", "date", "date_not_padded" },
        { "date=tomorrow&service_id=1", "date", "date_text" },
        { "date=2020-01-06&service_id=1", "date", "date_in_past" },
        { "date=2099-01-05", "service_id", "missing_service_id" },
        { "date=2099-01-05&service_id=abc", "service_id", "service_id_text" },
        { "date=2099-01-05&service_id=-3", "service_id", "service_id_negative" },
        { "date=2099-01-05&service_id=1&staff_id=x", "staff_id", "staff_id_text" },
    };
    for (size_t i = 0; i < sizeof inval / sizeof *inval; i++) {
        snprintf(path, sizeof path, "/api/v1/appointments/slots?%s", inval[i].q);
        r = kvt_api(key, "GET", path, NULL);
        KVT_EQ_INT(r.status, 422, "slots_%s_is_422", inval[i].name);
        KVT_OK(se_has_err(&r, inval[i].field), "slots_%s_error_on_%s", inval[i].name, inval[i].field);
        kvt_resp_free(&r);
    }
    r = se_slots(key, mon, 999999999, 0);
    KVT_EQ_INT(r.status, 404, "slots_unknown_service_is_404");
    kvt_resp_free(&r);
    r = se_slots(key, mon, inactive, 0);
    KVT_EQ_INT(r.status, 404, "slots_inactive_service_is_404");
    kvt_resp_free(&r);
    r = se_slots(key, mon, cut, 999999999);
    KVT_EQ_INT(r.status, 404, "slots_unknown_staff_is_404");
    kvt_resp_free(&r);
    r = se_slots(key, mon, b_svc_b, 0);
    KVT_EQ_INT(r.status, 404, "slots_other_tenants_service_is_404");
    kvt_resp_free(&r);
    r = se_slots(key, mon, cut, b_staff);
    KVT_EQ_INT(r.status, 404, "slots_other_tenants_staff_is_404");
    kvt_resp_free(&r);
    r = se_slots(key_b, mon, cut, 0);
    KVT_EQ_INT(r.status, 404, "slots_service_seen_from_other_tenant_is_404");
    kvt_resp_free(&r);

    /* non-UTC tenants: today and "now" are the tenant's */
    s_tz_case("Pacific/Kiritimati");
    s_tz_case("Pacific/Pago_Pago");
    s_tz_case("Asia/Kolkata");
    return kvt_done();
}
