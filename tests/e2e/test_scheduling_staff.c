/*
 * test_scheduling_staff.c -- admin.staff.create / update (validation of
 * names, specialties, services, weekday hours) and the public
 * GET /api/v1/staff and /staff/{id}: active only, specialties,
 * working_hours, next_available_slot, upcoming_appointments without any
 * customer data, and tenant isolation.
 */
#include "sched_e2e.h"

static kvt_resp_t s_staff_admin(const char *method, int64_t tenant, long long id, const char *body)
{
    char path[128];
    if (id > 0)
        snprintf(path, sizeof path, "/admin/v1/tenants/%lld/staff/%lld", (long long)tenant, id);
    else
        snprintf(path, sizeof path, "/admin/v1/tenants/%lld/staff", (long long)tenant);
    return kvt_admin(method, path, body);
}

int main(void)
{
    char key[64], key_b[64], path[160], body[2048], hours[1024];
    int64_t t = se_tenant("staff", NULL, 0, key);
    int64_t tb = se_tenant("staff-b", NULL, 0, key_b);
    long long cut = se_service(t, "Cut", 30, "20.00");
    long long colour = se_service(t, "Colour", 60, "50.00");
    long long other_svc = se_service(tb, "Other", 30, "10.00");

    /* create with everything */

    kvt_resp_t r = s_staff_admin("POST", t, 0,
        "{\"name\":\"Alice\",\"specialties\":[\"cuts\",\"colour\"],\"services\":[" "0" "],"
        "\"hours\":{}}");
    KVT_EQ_INT(r.status, 422, "admin_staff_create_service_id_0_is_422");
    KVT_OK(se_has_err(&r, "services"), "admin_staff_create_service_id_0_error_on_services");
    kvt_resp_free(&r);
    snprintf(body, sizeof body,
             "{\"name\":\"Alice\",\"specialties\":[\"cuts\",\"colour\"],\"services\":[%lld,%lld],"
             "\"hours\":{\"mon\":[[\"09:00\",\"12:00\"],[\"13:00\",\"17:00\"]],\"tue\":[{\"start\":\"10:00\",\"end\":\"24:00\"}],\"sun\":[]}}",
             cut, colour);
    r = s_staff_admin("POST", t, 0, body);
    KVT_EQ_INT(r.status, 201, "admin_staff_create_is_201");
    long long alice = se_int(&r, "id");
    KVT_EQ_STR(se_str(&r, "name"), "Alice", "admin_staff_create_returns_name");
    json_t *d = se_data(&r);
    KVT_EQ_INT(json_array_size(json_object_get(d, "specialties")), 2, "admin_staff_create_returns_specialties");
    KVT_EQ_INT(json_array_size(json_object_get(d, "services")), 2, "admin_staff_create_returns_services");
    json_t *wh = json_object_get(d, "working_hours");
    KVT_EQ_INT(json_array_size(json_object_get(wh, "mon")), 2, "admin_staff_create_two_intervals_monday");
    KVT_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(wh, "mon"), 1), "start")),
               "13:00", "admin_staff_create_second_interval_start");
    KVT_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(wh, "tue"), 0), "end")),
               "24:00", "admin_staff_create_end_24_00_accepted");
    KVT_EQ_INT(json_array_size(json_object_get(wh, "wed")), 0, "admin_staff_create_days_without_hours_empty");
    KVT_OK(json_is_true(json_object_get(d, "active")), "admin_staff_create_active_default");
    kvt_resp_free(&r);

    long long bob = se_staff(t, "Bob", se_every_day("[[\"09:00\",\"17:00\"]]", hours, sizeof hours), NULL);
    KVT_OK(bob > 0, "admin_staff_create_without_services_performs_all");
    snprintf(body, sizeof body, "{\"name\":\"Carol\",\"active\":false,\"hours\":%s}",
             se_every_day("[[\"09:00\",\"17:00\"]]", hours, sizeof hours));
    r = s_staff_admin("POST", t, 0, body);
    KVT_EQ_INT(r.status, 201, "admin_staff_create_inactive_is_201");
    long long carol = se_int(&r, "id");
    kvt_resp_free(&r);

    /* validation */
    struct { const char *body, *field, *name; } inval[] = {
        { "{}", "name", "missing_name" },
        { "{\"name\":\"\"}", "name", "empty_name" },
        { "{\"name\":\"x\",\"specialties\":\"cuts\"}", "specialties", "specialties_not_list" },
        { "{\"name\":\"x\",\"specialties\":[1]}", "specialties", "specialties_not_strings" },
        { "{\"name\":\"x\",\"services\":\"1\"}", "services", "services_not_list" },
        { "{\"name\":\"x\",\"services\":[\"abc\"]}", "services", "services_not_ids" },
        { "{\"name\":\"x\",\"services\":[999999999]}", "services", "services_unknown_id" },
        { "{\"name\":\"x\",\"hours\":[]}", "hours", "hours_not_object" },
        { "{\"name\":\"x\",\"hours\":{\"xyz\":[]}}", "hours", "hours_unknown_day" },
        { "{\"name\":\"x\",\"hours\":{\"mon\":[[\"25:00\",\"26:00\"]]}}", "hours.mon", "hours_time_25_00" },
        { "{\"name\":\"x\",\"hours\":{\"mon\":[[\"9:00\",\"12:00\"]]}}", "hours.mon", "hours_time_one_digit_hour" },
        { "{\"name\":\"x\",\"hours\":{\"tue\":[[\"12:00\",\"09:00\"]]}}", "hours.tue", "hours_start_after_end" },
        { "{\"name\":\"x\",\"hours\":{\"tue\":[[\"09:00\",\"09:00\"]]}}", "hours.tue", "hours_start_equals_end" },
        { "{\"name\":\"x\",\"hours\":{\"wed\":[[\"09:00\",\"12:00\"],[\"11:00\",\"13:00\"]]}}", "hours.wed", "hours_overlapping_intervals" },
        { "{\"name\":\"x\",\"hours\":{\"fri\":[[\"09:00\"]]}}", "hours.fri", "hours_interval_one_bound" },
        { "{\"name\":\"x\",\"hours\":{\"sat\":[[\"24:00\",\"24:00\"]]}}", "hours.sat", "hours_start_24_00" },
        { "{\"name\":\"x\",\"active\":1}", "active", "active_not_bool" },
    };
    for (size_t i = 0; i < sizeof inval / sizeof *inval; i++) {
        r = s_staff_admin("POST", t, 0, inval[i].body);
        KVT_EQ_INT(r.status, 422, "admin_staff_create_%s_is_422", inval[i].name);
        KVT_OK(se_has_err(&r, inval[i].field), "admin_staff_create_%s_error_on_%s", inval[i].name,
               inval[i].field);
        kvt_resp_free(&r);
    }
    snprintf(body, sizeof body, "{\"name\":\"x\",\"services\":[%lld]}", other_svc);
    r = s_staff_admin("POST", t, 0, body);
    KVT_EQ_INT(r.status, 422, "admin_staff_create_other_tenants_service_is_422");
    KVT_OK(se_has_err(&r, "services"), "admin_staff_create_other_tenants_service_error_on_services");
    kvt_resp_free(&r);
    r = s_staff_admin("POST", t, 0,
        "{\"name\":\"x\",\"hours\":{\"mon\":[[\"09:00\",\"12:00\"],[\"12:00\",\"13:00\"]]}}");
    KVT_EQ_INT(r.status, 201, "admin_staff_create_adjacent_intervals_ok");
    long long xid = se_int(&r, "id");
    kvt_resp_free(&r);

    /* public list: active only, ordered by id, with specialties and next slot */
    r = kvt_api(key, "GET", "/api/v1/staff", NULL);
    KVT_EQ_INT(r.status, 200, "staff_list_is_200");
    KVT_EQ_INT(se_meta(&r, "total"), 3, "staff_list_active_only_total");
    KVT_EQ_INT(se_len(&r), 3, "staff_list_active_only_items");
    json_t *a0 = json_array_get(se_data(&r), 0);
    KVT_EQ_INT(json_integer_value(json_object_get(a0, "id")), alice, "staff_list_ordered_by_id");
    KVT_OK(json_is_array(json_object_get(a0, "specialties")), "staff_list_has_specialties");
    KVT_OK(json_object_get(a0, "next_available_slot") != NULL, "staff_list_has_next_available_slot");
    json_t *b1 = json_array_get(se_data(&r), 1);
    json_t *nb = json_object_get(b1, "next_available_slot");
    KVT_OK(json_is_string(json_object_get(nb, "date")) && json_is_string(json_object_get(nb, "time")),
           "staff_list_next_slot_has_date_and_time");
    json_t *x2 = json_array_get(se_data(&r), 2);
    KVT_OK(json_is_null(json_object_get(x2, "next_available_slot")) || json_is_object(json_object_get(x2, "next_available_slot")),
           "staff_list_next_slot_object_or_null");
    KVT_OK(r.body && !strstr(r.body, "Carol"), "staff_list_hides_inactive");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/staff?per_page=2&page=2", NULL);
    KVT_EQ_INT(se_len(&r), 1, "staff_list_paginates");
    KVT_EQ_INT(json_integer_value(json_object_get(json_array_get(se_data(&r), 0), "id")), xid,
               "staff_list_page_2_item");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/staff?per_page=101", NULL);
    KVT_EQ_INT(r.status, 422, "staff_list_per_page_101_is_422");
    kvt_resp_free(&r);

    /* staff without hours has no next slot */
    r = s_staff_admin("POST", t, 0, "{\"name\":\"Nohours\"}");
    long long noh = se_int(&r, "id");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/staff/%lld", noh);
    r = kvt_api(key, "GET", path, NULL);
    KVT_OK(json_is_null(json_object_get(se_data(&r), "next_available_slot")), "staff_without_hours_next_slot_null");
    kvt_resp_free(&r);

    /* staff performing only an inactive service has no next slot */
    long long gone = se_service(t, "Gone", 30, "1");
    snprintf(body, sizeof body, "{\"name\":\"OnlyGone\",\"services\":[%lld],\"hours\":%s}", gone,
             se_every_day("[[\"00:00\",\"24:00\"]]", hours, sizeof hours));
    r = s_staff_admin("POST", t, 0, body);
    long long onlygone = se_int(&r, "id");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services/%lld", (long long)t, gone);
    r = kvt_admin("PATCH", path, "{\"active\":false}");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/staff/%lld", onlygone);
    r = kvt_api(key, "GET", path, NULL);
    KVT_OK(json_is_null(json_object_get(se_data(&r), "next_available_slot")),
           "staff_performing_only_inactive_service_next_slot_null");
    kvt_resp_free(&r);

    /* show */
    snprintf(path, sizeof path, "/api/v1/staff/%lld", alice);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "staff_get_is_200");
    d = se_data(&r);
    KVT_EQ_STR(se_str(&r, "name"), "Alice", "staff_get_name");
    wh = json_object_get(d, "working_hours");
    KVT_OK(json_is_object(wh) && json_object_size(wh) == 7, "staff_get_working_hours_has_seven_days");
    KVT_EQ_INT(json_array_size(json_object_get(wh, "mon")), 2, "staff_get_working_hours_break_kept");
    KVT_OK(json_is_array(json_object_get(d, "upcoming_appointments")), "staff_get_has_upcoming_appointments");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/staff/%lld", carol);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "staff_get_inactive_is_404");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/staff/999999999", NULL);
    KVT_EQ_INT(r.status, 404, "staff_get_missing_is_404");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/staff/%lld", alice);
    r = kvt_api(key_b, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "staff_get_other_tenant_is_404");
    kvt_resp_free(&r);
    r = kvt_api(key_b, "GET", "/api/v1/staff", NULL);
    KVT_EQ_INT(se_len(&r), 0, "staff_list_other_tenant_sees_none");
    kvt_resp_free(&r);

    /* upcoming appointments: date/time only, no customer data */
    long long cust = se_customer(key);
    char mon[11];
    se_monday(8, mon);
    long long appt = se_book_id(key, cust, cut, alice, mon, "09:30");
    KVT_OK(appt > 0, "booking_for_upcoming_created");
    snprintf(path, sizeof path, "/api/v1/staff/%lld", alice);
    r = kvt_api(key, "GET", path, NULL);
    json_t *up = json_object_get(se_data(&r), "upcoming_appointments");
    json_t *u0 = json_array_get(up, 0);
    KVT_EQ_INT(json_array_size(up), 1, "staff_get_upcoming_lists_booking");
    KVT_EQ_STR(json_string_value(json_object_get(u0, "date")), mon, "staff_get_upcoming_date");
    KVT_EQ_STR(json_string_value(json_object_get(u0, "time")), "09:30", "staff_get_upcoming_time");
    KVT_OK(json_object_get(u0, "customer_id") == NULL && json_object_get(u0, "notes") == NULL
           && r.body && !strstr(r.body, "customer"), "staff_get_upcoming_has_no_customer_data");
    kvt_resp_free(&r);

    /* update: replace hours, services; deactivate */
    r = s_staff_admin("PATCH", t, alice, "{\"hours\":{\"fri\":[[\"08:00\",\"10:00\"]]},\"services\":[]}");
    KVT_EQ_INT(r.status, 200, "admin_staff_update_is_200");
    wh = json_object_get(se_data(&r), "working_hours");
    KVT_EQ_INT(json_array_size(json_object_get(wh, "mon")), 0, "admin_staff_update_hours_replace_whole_set");
    KVT_EQ_INT(json_array_size(json_object_get(wh, "fri")), 1, "admin_staff_update_hours_new_day");
    KVT_EQ_INT(json_array_size(json_object_get(se_data(&r), "services")), 0, "admin_staff_update_services_cleared");
    KVT_EQ_INT(json_array_size(json_object_get(se_data(&r), "specialties")), 2, "admin_staff_update_keeps_specialties");
    kvt_resp_free(&r);
    r = s_staff_admin("PATCH", t, alice, "{\"hours\":{\"fri\":[[\"08:00\",\"07:00\"]]}}");
    KVT_EQ_INT(r.status, 422, "admin_staff_update_invalid_hours_is_422");
    kvt_resp_free(&r);
    r = s_staff_admin("PATCH", tb, alice, "{\"name\":\"Hijack\"}");
    KVT_EQ_INT(r.status, 404, "admin_staff_update_other_tenant_is_404");
    kvt_resp_free(&r);
    r = s_staff_admin("PATCH", t, alice, "{\"active\":false,\"name\":\"Alice B\"}");
    KVT_EQ_INT(r.status, 200, "admin_staff_deactivate_is_200");
    KVT_EQ_STR(se_str(&r, "name"), "Alice B", "admin_staff_update_renames");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/staff/%lld", alice);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "staff_get_after_deactivate_is_404");
    kvt_resp_free(&r);

    return kvt_done();
}
