/*
 * test_crm_show.c -- GET /api/v1/customers/{id} end to end: the profile
 * with total_appointments, total_spent and last_visit_date, which crm gets
 * from scheduling (appointments.customer_stats): zeros for a new customer,
 * real figures after a booking is completed, and 503 (never made-up
 * figures) while scheduling is down.  A booking can be completed only once
 * it has started: the tenant is in UTC-12 and the first booking is marked
 * completed as seen 26 hours later (started_e2e.h).
 */
#include <time.h>

#include "crm_e2e.h"
#include "started_e2e.h"

static kvt_resp_t s_show(const char *key, long long id)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", id);
    return kvt_api(key, "GET", path, NULL);
}

static void test_new_customer(const char *key, long long id)
{
    kvt_resp_t r = s_show(key, id);
    KVT_EQ_INT(r.status, 200, "show answers 200");
    KVT_EQ_INT(crm_int(&r, "id"), id, "show answers the customer");
    KVT_EQ_STR(crm_str(&r, "name"), "Gail", "show has the name");
    KVT_EQ_STR(crm_str(&r, "phone"), "5555050001", "show has the normalised phone");
    KVT_EQ_STR(crm_str(&r, "segment"), "lead", "show has the segment");
    KVT_EQ_INT(crm_int(&r, "total_appointments"), 0, "a new customer has 0 appointments");
    json_t *spent = json_object_get(crm_data(&r), "total_spent");
    KVT_OK(json_is_number(spent) && json_number_value(spent) == 0.0,
           "a new customer has total_spent 0 (a number)");
    json_t *last = json_object_get(crm_data(&r), "last_visit_date");
    KVT_OK(last && json_is_null(last), "a new customer has last_visit_date null");
    kvt_resp_free(&r);
}

static void test_with_appointments(const char *key, long long tenant, long long id)
{
    char path[128], body[512], d1[11];
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services", tenant);
    kvt_resp_t r = kvt_admin("POST", path, "{\"name\":\"Cut\",\"duration\":30,\"price\":\"25.50\","
                                           "\"active\":true}");
    long long svc = crm_int(&r, "id");
    KVT_OK(r.status == 201 && svc > 0, "a service can be created for the show test");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/staff", tenant);
    const char *h = "[[\"00:00\",\"23:59\"]]";
    snprintf(body, sizeof body, "{\"name\":\"Sam\",\"specialties\":[],\"active\":true,"
             "\"hours\":{\"mon\":%s,\"tue\":%s,\"wed\":%s,\"thu\":%s,\"fri\":%s,\"sat\":%s,"
             "\"sun\":%s}}", h, h, h, h, h, h, h);
    r = kvt_admin("POST", path, body);
    long long staff = crm_int(&r, "id");
    KVT_OK(r.status == 201 && staff > 0, "a staff member can be created for the show test");
    kvt_resp_free(&r);

    st_tomorrow(d1);
    long long appt[2];
    const char *times[2] = { "00:15", "10:00" };
    for (int i = 0; i < 2; i++) {
        r = kvt_apif(key, "POST", "/api/v1/appointments",
                     "{\"customer_id\":%lld,\"service_id\":%lld,\"staff_id\":%lld,"
                     "\"appointment_date\":\"%s\",\"appointment_time\":\"%s\"}",
                     id, svc, staff, d1, times[i]);
        appt[i] = crm_int(&r, "id");
        KVT_OK(r.status == 201 && appt[i] > 0, "appointment %d for the customer is booked", i + 1);
        if (r.status != 201)
            fprintf(stderr, "book -> %ld %.300s\n", r.status, r.body ? r.body : "");
        kvt_resp_free(&r);
    }
    KVT_EQ_INT(st_set_status(tenant, appt[0], "completed"), 200,
               "the first appointment, once started, is marked completed");

    r = s_show(key, id);
    KVT_EQ_INT(r.status, 200, "show after bookings answers 200");
    KVT_EQ_INT(crm_int(&r, "total_appointments"), 2, "total_appointments counts both bookings");
    json_t *spent = json_object_get(crm_data(&r), "total_spent");
    KVT_OK(json_is_number(spent) && json_number_value(spent) > 25.49 &&
           json_number_value(spent) < 25.51, "total_spent is the completed booking's price 25.50");
    KVT_EQ_STR(crm_str(&r, "last_visit_date"), d1, "last_visit_date is the completed visit's date");
    kvt_resp_free(&r);
}

static void test_scheduling_down(const char *key, long long id)
{
    if (kvt_stack("stop scheduling") != 0) {
        KVT_OK(0, "scheduling could be stopped");
        return;
    }
    long status = 0;
    for (int i = 0; i < 100 && status != 503; i++) {   /* at most ~10 s */
        kvt_resp_t r = s_show(key, id);
        status = r.status;
        if (status == 503)
            KVT_EQ_STR(json_string_value(json_object_get(r.json, "message")),
                       "Service temporarily unavailable.", "show without scheduling: message");
        kvt_resp_free(&r);
        if (status != 503)
            kvt_sleep_ms(100);
    }
    KVT_EQ_INT(status, 503, "show answers 503 while scheduling is down (no made-up figures)");
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/customers", NULL);
    KVT_EQ_INT(r.status, 200, "the customer list still works while scheduling is down");
    kvt_resp_free(&r);

    KVT_EQ_INT(kvt_stack("start scheduling"), 0, "scheduling could be started again");
    for (int i = 0; i < 150 && status != 200; i++) {   /* at most ~15 s */
        r = s_show(key, id);
        status = r.status;
        kvt_resp_free(&r);
        if (status != 200)
            kvt_sleep_ms(100);
    }
    KVT_EQ_INT(status, 200, "show answers 200 again once scheduling is back");
}

int main(void)
{
    char key[64];
    int64_t tenant;
    long long id;
    if (kvt_tenant("crm-show", ST_EARLY_TZ, &tenant, key) != 0 ||
        (id = crm_create(key, "{\"name\":\"Gail\",\"phone\":\"555-505-0001\"}")) <= 0) {
        KVT_OK(0, "a test tenant with a customer could be created");
        return kvt_done();
    }
    test_new_customer(key, id);
    test_with_appointments(key, (long long)tenant, id);

    /* another tenant's appointments never count, and its key cannot read */
    char kb[64];
    if (kvt_tenant("crm-show-b", NULL, NULL, kb) == 0) {
        kvt_resp_t r = s_show(kb, id);
        KVT_EQ_INT(r.status, 404, "another tenant cannot read the profile");
        kvt_resp_free(&r);
    }
    test_scheduling_down(key, id);
    return kvt_done();
}
