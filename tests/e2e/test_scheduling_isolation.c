/*
 * test_scheduling_isolation.c -- tenant isolation on every scheduling
 * endpoint: tenant B's key, given tenant A's ids, gets exactly what a
 * missing id gets (404, or nothing in a list, or 422 for a referenced id in
 * a body), and nothing B does changes A's data.
 */
#include "sched_e2e.h"

int main(void)
{
    char ka[64], kb[64], hours[1024], mon[11], path[256];
    int64_t ta = se_tenant("iso-a", NULL, 0, ka);
    int64_t tb = se_tenant("iso-b", NULL, 0, kb);
    se_every_day("[[\"09:00\",\"17:00\"]]", hours, sizeof hours);
    long long svc_a = se_service(ta, "A-Cut", 30, "20.00");
    long long staff_a = se_staff(ta, "A-Staff", hours, NULL);
    long long cust_a = se_customer(ka);
    long long svc_b = se_service(tb, "B-Cut", 30, "20.00");
    long long staff_b = se_staff(tb, "B-Staff", hours, NULL);
    long long cust_b = se_customer(kb);
    se_monday(8, mon);
    long long ap_a = se_book_id(ka, cust_a, svc_a, staff_a, mon, "10:00");
    KVT_OK(svc_a > 0 && staff_a > 0 && cust_a > 0 && svc_b > 0 && staff_b > 0 && cust_b > 0
           && ap_a > 0, "isolation_fixture_created");

    struct { const char *method, *fmt, *body; long long id; const char *name; } probes[] = {
        { "GET", "/api/v1/services/%lld", NULL, svc_a, "services_get" },
        { "GET", "/api/v1/staff/%lld", NULL, staff_a, "staff_get" },
        { "GET", "/api/v1/appointments/%lld", NULL, ap_a, "appointments_get" },
        { "DELETE", "/api/v1/appointments/%lld", NULL, ap_a, "appointments_cancel" },
        { "PATCH", "/api/v1/appointments/%lld/status", "{\"status\":\"completed\"}", ap_a, "appointments_status" },
        { "PATCH", "/api/v1/appointments/%lld/status", "{\"status\":\"cancelled\"}", ap_a, "appointments_status_cancel" },
    };
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        snprintf(path, sizeof path, probes[i].fmt, probes[i].id);
        kvt_resp_t r = kvt_api(kb, probes[i].method, path, probes[i].body);
        KVT_EQ_INT(r.status, 404, "isolation_%s_of_other_tenant_is_404", probes[i].name);
        KVT_OK(r.body && !strstr(r.body, "A-"), "isolation_%s_leaks_nothing", probes[i].name);
        kvt_resp_free(&r);
    }
    /* lists */
    const char *lists[] = { "/api/v1/services", "/api/v1/staff", "/api/v1/appointments" };
    for (size_t i = 0; i < 3; i++) {
        kvt_resp_t r = kvt_api(kb, "GET", lists[i], NULL);
        KVT_OK(r.status == 200 && r.body && !strstr(r.body, "A-"), "isolation_list_%zu_shows_only_own", i);
        kvt_resp_free(&r);
    }
    snprintf(path, sizeof path, "/api/v1/appointments?staff_id=%lld", staff_a);
    kvt_resp_t r = kvt_api(kb, "GET", path, NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 0, "isolation_appointments_list_by_other_tenants_staff_empty");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/appointments?date=%s", mon);
    r = kvt_api(kb, "GET", path, NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 0, "isolation_appointments_list_by_date_excludes_other_tenant");
    kvt_resp_free(&r);
    /* slots */
    r = se_slots(kb, mon, svc_a, 0);
    KVT_EQ_INT(r.status, 404, "isolation_slots_with_other_tenants_service_is_404");
    kvt_resp_free(&r);
    r = se_slots(kb, mon, svc_b, staff_a);
    KVT_EQ_INT(r.status, 404, "isolation_slots_with_other_tenants_staff_is_404");
    kvt_resp_free(&r);
    r = se_slots(kb, mon, svc_b, 0);
    char times[4096];
    se_slot_times(&r, times, sizeof times);
    KVT_OK(strstr(times, "10:00") != NULL, "isolation_other_tenants_booking_does_not_block_slots");
    kvt_resp_free(&r);
    /* creates referencing A's ids */
    r = se_book(kb, cust_b, svc_a, staff_b, mon, "11:00");
    KVT_EQ_INT(r.status, 422, "isolation_create_with_other_tenants_service_is_422");
    KVT_OK(se_has_err(&r, "service_id"), "isolation_create_with_other_tenants_service_error_on_service_id");
    kvt_resp_free(&r);
    r = se_book(kb, cust_b, svc_b, staff_a, mon, "11:00");
    KVT_EQ_INT(r.status, 422, "isolation_create_with_other_tenants_staff_is_422");
    KVT_OK(se_has_err(&r, "staff_id"), "isolation_create_with_other_tenants_staff_error_on_staff_id");
    kvt_resp_free(&r);
    r = se_book(kb, cust_a, svc_b, staff_b, mon, "11:00");
    KVT_EQ_INT(r.status, 422, "isolation_create_with_other_tenants_customer_is_422");
    KVT_OK(se_has_err(&r, "customer_id"), "isolation_create_with_other_tenants_customer_error_on_customer_id");
    kvt_resp_free(&r);
    r = se_book(kb, cust_b, svc_b, staff_b, mon, "10:00");
    KVT_EQ_INT(r.status, 201, "isolation_same_time_other_tenant_books_freely");
    kvt_resp_free(&r);
    /* admin paths under the wrong tenant */
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services/%lld", (long long)tb, svc_a);
    r = kvt_admin("PATCH", path, "{\"name\":\"Stolen\"}");
    KVT_EQ_INT(r.status, 404, "isolation_admin_service_update_under_other_tenant_is_404");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/staff/%lld", (long long)tb, staff_a);
    r = kvt_admin("PATCH", path, "{\"name\":\"Stolen\"}");
    KVT_EQ_INT(r.status, 404, "isolation_admin_staff_update_under_other_tenant_is_404");
    kvt_resp_free(&r);
    /* A's data untouched */
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", ap_a);
    r = kvt_api(ka, "GET", path, NULL);
    KVT_EQ_STR(se_str(&r, "status"), "scheduled", "isolation_owner_appointment_unchanged");
    KVT_EQ_STR(se_str(&r, "service_name"), "A-Cut", "isolation_owner_service_unchanged");
    KVT_EQ_STR(se_str(&r, "staff_name"), "A-Staff", "isolation_owner_staff_unchanged");
    kvt_resp_free(&r);
    return kvt_done();
}
