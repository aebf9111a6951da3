/*
 * test_scheduling_appointments.c -- the appointment endpoints end to end:
 * create (every validation rule, the customer asked of crm, working hours,
 * 409 on a taken slot, staff assignment when staff_id is absent), show,
 * list with each filter and pagination, status changes, cancelling (twice),
 * price snapshots, and the crm customer show reflecting a completed
 * appointment's price and date (completed once started: started_e2e.h).
 */
#include "sched_e2e.h"
#include "started_e2e.h"

static int s_rfc3339(const char *s)
{
    int y, mo, d, h, mi, se;
    char z = 0;
    return s && strlen(s) == 20 && sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) == 7
           && z == 'Z';
}

static kvt_resp_t s_status(const char *key, long long id, const char *body)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld/status", id);
    return kvt_api(key, "PATCH", path, body);
}

int main(void)
{
    char key[64], key_b[64], hours[1024], mon[11], path[256], body[2048];
    int64_t t = se_tenant("appt", NULL, 0, key);
    int64_t tb = se_tenant("appt-b", NULL, 0, key_b);
    long long cut = se_service(t, "Cut", 30, "20.00");
    long long colour = se_service(t, "Colour", 60, "50.00");
    long long inactive = se_service(t, "Inactive", 30, "1.00");
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services/%lld", (long long)t, inactive);
    kvt_resp_t r = kvt_admin("PATCH", path, "{\"active\":false}");
    kvt_resp_free(&r);
    se_every_day("[[\"09:00\",\"17:00\"]]", hours, sizeof hours);
    long long a = se_staff(t, "Anna", hours, NULL);
    snprintf(body, sizeof body, "[%lld]", cut);
    long long b = se_staff(t, "Ben", hours, body);
    snprintf(body, sizeof body, "{\"name\":\"Gone\",\"active\":false,\"hours\":%s}", hours);
    long long gone = se_admin_create(t, "staff", body);
    long long other_staff = se_staff(tb, "Other", hours, NULL);
    long long other_svc = se_service(tb, "OtherCut", 30, "1.00");
    long long cust = se_customer(key);
    long long other_cust = se_customer(key_b);
    KVT_OK(cut > 0 && colour > 0 && a > 0 && b > 0 && gone > 0 && other_staff > 0 && cust > 0
           && other_cust > 0, "appointments_fixture_created");
    se_monday(8, mon);

    /* create: the full object */
    r = kvt_apif(key, "POST", "/api/v1/appointments",
                 "{\"customer_id\":%lld,\"service_id\":%lld,\"staff_id\":%lld,"
                 "\"appointment_date\":\"%s\",\"appointment_time\":\"10:00\","
                 "\"notes\":\"Prefers scissors\",\"source\":\"walk_in\"}", cust, cut, a, mon);
    KVT_EQ_INT(r.status, 201, "appointment_create_is_201");
    long long ap1 = se_int(&r, "id");
    KVT_OK(ap1 > 0, "appointment_create_returns_id");
    KVT_EQ_INT(se_int(&r, "customer_id"), cust, "appointment_create_customer_id");
    KVT_EQ_INT(se_int(&r, "service_id"), cut, "appointment_create_service_id");
    KVT_EQ_STR(se_str(&r, "service_name"), "Cut", "appointment_create_service_name");
    KVT_EQ_INT(se_int(&r, "staff_id"), a, "appointment_create_staff_id");
    KVT_EQ_STR(se_str(&r, "staff_name"), "Anna", "appointment_create_staff_name");
    KVT_EQ_STR(se_str(&r, "appointment_date"), mon, "appointment_create_date");
    KVT_EQ_STR(se_str(&r, "appointment_time"), "10:00", "appointment_create_time");
    KVT_EQ_STR(se_str(&r, "end_time"), "10:30", "appointment_create_end_time");
    KVT_EQ_INT(se_int(&r, "duration"), 30, "appointment_create_duration");
    KVT_EQ_STR(se_str(&r, "status"), "scheduled", "appointment_create_status_scheduled");
    KVT_EQ_STR(se_str(&r, "notes"), "Prefers scissors", "appointment_create_notes");
    KVT_EQ_STR(se_str(&r, "source"), "walk_in", "appointment_create_source");
    KVT_OK(se_real(&r, "price") == 20.0, "appointment_create_price_snapshot");
    KVT_OK(s_rfc3339(se_str(&r, "created_at")) && s_rfc3339(se_str(&r, "updated_at")),
           "appointment_create_timestamps_rfc3339_utc");
    kvt_resp_free(&r);

    r = se_book(key, cust, cut, a, mon, "11:00");
    KVT_EQ_INT(r.status, 201, "appointment_create_minimal_is_201");
    KVT_EQ_STR(se_str(&r, "source"), "api", "appointment_create_source_defaults_to_api");
    KVT_OK(json_is_null(json_object_get(se_data(&r), "notes")), "appointment_create_notes_null_when_absent");
    long long ap2 = se_int(&r, "id");
    kvt_resp_free(&r);

    /* a taken slot */
    r = se_book(key, cust, cut, a, mon, "10:00");
    KVT_EQ_INT(r.status, 409, "appointment_create_same_slot_is_409");
    KVT_EQ_STR(json_string_value(json_object_get(r.json, "message")),
               "The selected time slot is no longer available.", "appointment_create_409_message");
    kvt_resp_free(&r);
    r = se_book(key, cust, colour, a, mon, "09:45");
    KVT_EQ_INT(r.status, 409, "appointment_create_overlapping_slot_is_409");
    kvt_resp_free(&r);
    r = se_book(key, cust, cut, a, mon, "10:30");
    KVT_EQ_INT(r.status, 201, "appointment_create_touching_slot_is_201");
    kvt_resp_free(&r);

    /* without staff_id: someone free who performs it */
    r = se_book(key, cust, cut, 0, mon, "10:00");
    KVT_EQ_INT(r.status, 201, "appointment_create_without_staff_is_201");
    KVT_EQ_INT(se_int(&r, "staff_id"), b, "appointment_create_without_staff_assigns_free_staff");
    kvt_resp_free(&r);
    r = se_book(key, cust, cut, 0, mon, "10:00");
    KVT_EQ_INT(r.status, 409, "appointment_create_without_staff_all_busy_is_409");
    kvt_resp_free(&r);
    r = se_book(key, cust, colour, 0, mon, "12:00");
    KVT_EQ_INT(se_int(&r, "staff_id"), a, "appointment_create_without_staff_skips_staff_not_performing");
    kvt_resp_free(&r);
    r = se_book(key, cust, cut, 0, mon, "07:00");
    KVT_EQ_INT(r.status, 422, "appointment_create_without_staff_nobody_working_is_422");
    KVT_OK(se_has_err(&r, "appointment_time"), "appointment_create_without_staff_nobody_working_error_on_time");
    kvt_resp_free(&r);

    /* working hours */
    r = se_book(key, cust, cut, a, mon, "08:45");
    KVT_EQ_INT(r.status, 422, "appointment_create_before_opening_is_422");
    KVT_OK(se_has_err(&r, "appointment_time"), "appointment_create_before_opening_error_on_time");
    kvt_resp_free(&r);
    r = se_book(key, cust, cut, a, mon, "16:45");
    KVT_EQ_INT(r.status, 422, "appointment_create_ending_after_closing_is_422");
    kvt_resp_free(&r);
    r = se_book(key, cust, cut, a, mon, "16:30");
    KVT_EQ_INT(r.status, 201, "appointment_create_ending_at_closing_is_201");
    kvt_resp_free(&r);

    /* validation */
    r = kvt_api(key, "POST", "/api/v1/appointments", "{}");
    KVT_EQ_INT(r.status, 422, "appointment_create_empty_is_422");
    KVT_OK(se_has_err(&r, "customer_id") && se_has_err(&r, "service_id")
           && se_has_err(&r, "appointment_date") && se_has_err(&r, "appointment_time"),
           "appointment_create_empty_reports_every_required_field");
    KVT_OK(!se_has_err(&r, "staff_id") && !se_has_err(&r, "notes"), "appointment_create_optional_fields_not_required");
    kvt_resp_free(&r);
    struct { const char *fmt, *field, *name; } inval[] = {
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"2026-02-30\",\"appointment_time\":\"10:00\"}", "appointment_date", "date_feb_30" },
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"2099-1-5\",\"appointment_time\":\"10:00\"}", "appointment_date", "date_not_padded" },
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"05/01/2099\",\"appointment_time\":\"10:00\"}", "appointment_date", "date_other_format" },
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":20990105,\"appointment_time\":\"10:00\"}", "appointment_date", "date_number" },
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"2099-01-05\",\"appointment_time\":\"25:00\"}", "appointment_time", "time_25_00" },
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"2099-01-05\",\"appointment_time\":\"9:00\"}", "appointment_time", "time_one_digit_hour" },
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"2099-01-05\",\"appointment_time\":\"10:60\"}", "appointment_time", "time_minute_60" },
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"2099-01-05\",\"appointment_time\":\"10:00:00\"}", "appointment_time", "time_with_seconds" },
        { "{\"customer_id\":\"abc\",\"service_id\":%lld%lld,\"appointment_date\":\"2099-01-05\",\"appointment_time\":\"10:00\"}", "customer_id", "customer_id_text" },
        { "{\"customer_id\":-%lld,\"service_id\":%lld,\"appointment_date\":\"2099-01-05\",\"appointment_time\":\"10:00\"}", "customer_id", "customer_id_negative" },
        { "{\"customer_id\":%lld,\"service_id\":%lld.5,\"appointment_date\":\"2099-01-05\",\"appointment_time\":\"10:00\"}", "service_id", "service_id_fraction" },
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"staff_id\":\"x\",\"appointment_date\":\"2099-01-05\",\"appointment_time\":\"10:00\"}", "staff_id", "staff_id_text" },
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"notes\":5,\"appointment_date\":\"2099-01-05\",\"appointment_time\":\"10:00\"}", "notes", "notes_number" },
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"source\":\"\",\"appointment_date\":\"2099-01-05\",\"appointment_time\":\"10:00\"}", "source", "source_empty" },
        { "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"2020-01-06\",\"appointment_time\":\"10:00\"}", "appointment_date", "date_in_past" },
    };
    for (size_t i = 0; i < sizeof inval / sizeof *inval; i++) {
        char *pct = strstr(inval[i].fmt, "%lld%lld");
        if (pct)
            snprintf(body, sizeof body, "{\"customer_id\":\"abc\",\"service_id\":%lld,\"appointment_date\":\"2099-01-05\",\"appointment_time\":\"10:00\"}", cut);
        else
            snprintf(body, sizeof body, inval[i].fmt, cust, cut);
        r = kvt_api(key, "POST", "/api/v1/appointments", body);
        KVT_EQ_INT(r.status, 422, "appointment_create_%s_is_422", inval[i].name);
        KVT_OK(se_has_err(&r, inval[i].field), "appointment_create_%s_error_on_%s", inval[i].name,
               inval[i].field);
        kvt_resp_free(&r);
    }
    char today[11];
    se_date(0, today);
    r = se_book(key, cust, cut, a, today, "00:00");
    KVT_EQ_INT(r.status, 422, "appointment_create_today_past_time_is_422");
    KVT_OK(se_has_err(&r, "appointment_time"), "appointment_create_today_past_time_error_on_time");
    kvt_resp_free(&r);
    r = kvt_api(key, "POST", "/api/v1/appointments", "[1,2]");
    KVT_EQ_INT(r.status, 422, "appointment_create_body_not_object_is_422");
    kvt_resp_free(&r);

    /* references that do not hold */
    struct { long long c, s, st; const char *field, *name; } refs[] = {
        { 999999999, cut, a, "customer_id", "unknown_customer" },
        { other_cust, cut, a, "customer_id", "other_tenants_customer" },
        { cust, 999999999, a, "service_id", "unknown_service" },
        { cust, inactive, a, "service_id", "inactive_service" },
        { cust, other_svc, a, "service_id", "other_tenants_service" },
        { cust, cut, 999999999, "staff_id", "unknown_staff" },
        { cust, cut, gone, "staff_id", "inactive_staff" },
        { cust, cut, other_staff, "staff_id", "other_tenants_staff" },
        { cust, colour, b, "staff_id", "staff_not_performing_service" },
    };
    for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) {
        r = se_book(key, refs[i].c, refs[i].s, refs[i].st, mon, "15:00");
        KVT_EQ_INT(r.status, 422, "appointment_create_%s_is_422", refs[i].name);
        KVT_OK(se_has_err(&r, refs[i].field), "appointment_create_%s_error_on_%s", refs[i].name,
               refs[i].field);
        kvt_resp_free(&r);
    }
    r = se_book(key, 999999999, cut, a, mon, "15:00");
    KVT_EQ_STR(se_err(&r, "customer_id"), "The selected customer does not exist.",
               "appointment_create_unknown_customer_message");
    kvt_resp_free(&r);

    /* show */
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", ap1);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "appointment_get_is_200");
    KVT_EQ_INT(se_int(&r, "id"), ap1, "appointment_get_id");
    KVT_EQ_STR(se_str(&r, "notes"), "Prefers scissors", "appointment_get_same_object");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/appointments/999999999", NULL);
    KVT_EQ_INT(r.status, 404, "appointment_get_missing_is_404");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", ap1);
    r = kvt_api(key_b, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "appointment_get_other_tenant_is_404");
    kvt_resp_free(&r);

    /* list and filters (7 appointments so far: 10:00 A, 11:00 A, 10:30 A,
     * 10:00 B, 12:00 A, 16:30 A -- 6 -- plus none else) */
    r = kvt_api(key, "GET", "/api/v1/appointments", NULL);
    KVT_EQ_INT(r.status, 200, "appointments_list_is_200");
    long long total = se_meta(&r, "total");
    KVT_EQ_INT(total, 6, "appointments_list_total");
    json_t *f0 = json_array_get(se_data(&r), 0), *f1 = json_array_get(se_data(&r), 1);
    KVT_OK(strcmp(json_string_value(json_object_get(f0, "appointment_time")), "10:00") == 0
           && strcmp(json_string_value(json_object_get(f1, "appointment_time")), "10:00") == 0
           && json_integer_value(json_object_get(f0, "id")) < json_integer_value(json_object_get(f1, "id")),
           "appointments_list_chronological_then_id");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/appointments?staff_id=%lld", b);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 1, "appointments_list_staff_filter");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/appointments?date=%s", mon);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 6, "appointments_list_date_filter_match");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/appointments?date=2099-12-31", NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 0, "appointments_list_date_filter_other_day");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/appointments?per_page=2&page=2", NULL);
    KVT_EQ_INT(se_len(&r), 2, "appointments_list_paginates");
    KVT_EQ_INT(se_meta(&r, "total"), 6, "appointments_list_paginated_total");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/appointments?page=50", NULL);
    KVT_EQ_INT(se_len(&r), 0, "appointments_list_past_end_empty");
    kvt_resp_free(&r);
    const char *badq[][2] = { { "status=done", "status" }, { "date=2026-13-01", "date" },
                              { "staff_id=abc", "staff_id" }, { "per_page=101", "per_page" },
                              { "page=0", "page" } };
    for (size_t i = 0; i < sizeof badq / sizeof *badq; i++) {
        snprintf(path, sizeof path, "/api/v1/appointments?%s", badq[i][0]);
        r = kvt_api(key, "GET", path, NULL);
        KVT_EQ_INT(r.status, 422, "appointments_list_%s_is_422", badq[i][0]);
        KVT_OK(se_has_err(&r, badq[i][1]), "appointments_list_%s_error_on_%s", badq[i][0], badq[i][1]);
        kvt_resp_free(&r);
    }

    /* status changes (the whole transition table: test_scheduling_strict) */
    r = s_status(key, ap2, "{\"status\":\"completed\"}");
    KVT_EQ_INT(r.status, 422, "appointment_status_completed_before_start_is_422");
    KVT_OK(se_has_err(&r, "status"), "appointment_status_completed_before_start_error_on_status");
    kvt_resp_free(&r);
    r = s_status(key, ap2, "{\"status\":\"scheduled\"}");
    KVT_EQ_INT(r.status, 200, "appointment_status_same_is_200");
    KVT_EQ_STR(se_str(&r, "status"), "scheduled", "appointment_status_same_unchanged");
    kvt_resp_free(&r);
    r = s_status(key, ap2, "{\"status\":\"done\"}");
    KVT_EQ_INT(r.status, 422, "appointment_status_unknown_is_422");
    KVT_OK(se_has_err(&r, "status"), "appointment_status_unknown_error_on_status");
    kvt_resp_free(&r);
    r = s_status(key, ap2, "{}");
    KVT_EQ_INT(r.status, 422, "appointment_status_missing_is_422");
    kvt_resp_free(&r);
    r = s_status(key, ap2, "{\"status\":1}");
    KVT_EQ_INT(r.status, 422, "appointment_status_number_is_422");
    kvt_resp_free(&r);
    r = s_status(key_b, ap2, "{\"status\":\"completed\"}");
    KVT_EQ_INT(r.status, 404, "appointment_status_other_tenant_is_404");
    kvt_resp_free(&r);
    r = s_status(key, 999999999, "{\"status\":\"completed\"}");
    KVT_EQ_INT(r.status, 404, "appointment_status_missing_appointment_is_404");
    kvt_resp_free(&r);

    /* cancel */
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", ap1);
    r = kvt_api(key_b, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 404, "appointment_cancel_other_tenant_is_404");
    kvt_resp_free(&r);
    r = kvt_api(key, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 200, "appointment_cancel_is_200");
    KVT_EQ_STR(se_str(&r, "status"), "cancelled", "appointment_cancel_sets_cancelled");
    kvt_resp_free(&r);
    r = kvt_api(key, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 200, "appointment_cancel_again_is_200");
    KVT_EQ_STR(se_str(&r, "status"), "cancelled", "appointment_cancel_again_still_cancelled");
    kvt_resp_free(&r);
    r = kvt_api(key, "DELETE", "/api/v1/appointments/999999999", NULL);
    KVT_EQ_INT(r.status, 404, "appointment_cancel_missing_is_404");
    kvt_resp_free(&r);
    r = se_book(key, cust, cut, a, mon, "10:00");
    KVT_EQ_INT(r.status, 201, "appointment_cancelled_slot_can_be_booked_again");
    kvt_resp_free(&r);
    r = s_status(key, ap1, "{\"status\":\"scheduled\"}");
    KVT_EQ_INT(r.status, 422, "appointment_uncancel_is_422_cancelled_is_final");
    kvt_resp_free(&r);
    r = s_status(key, ap2, "{\"status\":\"cancelled\"}");
    KVT_EQ_INT(r.status, 200, "appointment_status_cancelled_is_200");
    KVT_EQ_STR(se_str(&r, "status"), "cancelled", "appointment_status_cancelled_set");
    kvt_resp_free(&r);

    /* price snapshot and the customer's figures in crm, with bookings that
     * have started (started_e2e.h: a tenant in UTC-12, seen 26 hours later) */
    char lkey[64], tom[11];
    int64_t lt = se_tenant("appt-late", ST_EARLY_TZ, 0, lkey);
    long long lcut = se_service(lt, "Cut", 30, "20.00");
    long long lcolour = se_service(lt, "Colour", 60, "50.00");
    se_every_day("[[\"00:00\",\"24:00\"]]", hours, sizeof hours);
    long long lstaff = se_staff(lt, "Late", hours, NULL);
    long long cust2 = se_customer(lkey);
    st_tomorrow(tom);
    long long v1 = se_book_id(lkey, cust2, lcut, lstaff, tom, "00:15");
    long long v2 = se_book_id(lkey, cust2, lcolour, lstaff, tom, "00:45");
    KVT_OK(lcut > 0 && lcolour > 0 && lstaff > 0 && cust2 > 0 && v1 > 0 && v2 > 0,
           "appointments_started_fixture_created");
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services/%lld", (long long)lt, lcut);
    r = kvt_admin("PATCH", path, "{\"price\":\"99.00\"}");
    kvt_resp_free(&r);
    json_t *done = NULL;
    int st = st_call(lt, ST_LATE_TZ, "appointments.set_status", v1, "{\"status\":\"completed\"}",
                     &done);
    KVT_EQ_INT(st, 200, "appointment_status_completed_once_started_is_200");
    json_t *dd = json_object_get(done, "data");
    KVT_EQ_STR(json_string_value(json_object_get(dd, "status")), "completed",
               "appointment_status_completed_set");
    KVT_OK(json_number_value(json_object_get(dd, "price")) == 20.0,
           "appointment_price_is_a_snapshot_at_booking");
    json_decref(done);
    r = kvt_api(lkey, "GET", "/api/v1/appointments?status=completed", NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 1, "appointments_list_status_filter");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/customers/%lld", cust2);
    r = kvt_api(lkey, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "customer_show_is_200");
    KVT_EQ_INT(se_int(&r, "total_appointments"), 2, "customer_show_total_appointments_counts_non_cancelled");
    KVT_OK(se_real(&r, "total_spent") == 20.0, "customer_show_total_spent_reflects_completed_price");
    KVT_EQ_STR(se_str(&r, "last_visit_date"), tom, "customer_show_last_visit_date_is_completed_date");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", v2);
    r = kvt_api(lkey, "DELETE", path, NULL);
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/customers/%lld", cust2);
    r = kvt_api(lkey, "GET", path, NULL);
    KVT_EQ_INT(se_int(&r, "total_appointments"), 1, "customer_show_cancelled_not_counted");
    kvt_resp_free(&r);
    long long cust3 = se_customer(key);
    snprintf(path, sizeof path, "/api/v1/customers/%lld", cust3);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(se_int(&r, "total_appointments"), 0, "customer_show_new_customer_zero_appointments");
    KVT_OK(json_is_null(json_object_get(se_data(&r), "last_visit_date")), "customer_show_new_customer_last_visit_null");
    kvt_resp_free(&r);
    return kvt_done();
}
