/*
 * test_worstcase_appointments.c -- the largest legal page of appointments
 * is listed, whole, and so is the largest staff member (issue 9, item 1).
 *
 * An operator creates a service and a staff member with the longest names
 * (200 characters of 4-byte characters), the staff member with the most
 * specialties (50 of 100 characters) and the most working intervals (24 a
 * day, every day).  The tenant books 100 appointments with the longest
 * notes (5000 4-byte characters) and source token (32).  Then
 * GET /api/v1/appointments?per_page=100 answers 200 with all of them
 * whole, and so does the same page of a sync walk; GET /api/v1/staff/{id}
 * shows the whole week, every specialty and the 100 upcoming appointments.
 * Each answer's size is printed and held against its bound in
 * proto/kv_sizes.h.
 */
#include "worstcase_e2e.h"

#define N_APPTS 100

/* An admin body (stolen) under tenant; the created id or -1. */
static long long s_admin(int64_t tenant, const char *what, json_t *o)
{
    char *body = wc_dump(o);
    long long id = se_admin_create(tenant, what, body);
    free(body);
    return id;
}

int main(void)
{
    char key[64];
    int64_t tenant = se_tenant("wc-appointments", "UTC", 5, key);

    json_t *svc = json_object();
    json_object_set_new(svc, "name", wc_text(KV_SCHED_SERVICE_NAME_MAX, 1));
    json_object_set_new(svc, "duration", json_integer(5));
    json_object_set_new(svc, "price", json_string("999999999.99"));
    long long service = s_admin(tenant, "services", svc);

    /* 24 half-hour intervals every day: 00:00-00:30, 01:00-01:30, ... */
    json_t *day = json_array();
    for (int h = 0; h < KV_STAFF_DAY_INTERVALS; h++) {
        char a[16], b[16];
        snprintf(a, sizeof a, "%02d:00", h);
        snprintf(b, sizeof b, "%02d:30", h);
        json_array_append_new(day, json_pack("[ss]", a, b));
    }
    json_t *hours = json_object();
    static const char *const days[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
    for (int d = 0; d < 7; d++)
        json_object_set(hours, days[d], day);
    json_decref(day);
    json_t *spec = json_array();
    for (int i = 0; i < KV_STAFF_SPECIALTIES_MAX; i++)
        json_array_append_new(spec, wc_text(KV_STAFF_SPECIALTY_MAX, (unsigned)i));
    json_t *stf = json_object();
    json_object_set_new(stf, "name", wc_text(KV_STAFF_NAME_MAX, 2));
    json_object_set_new(stf, "specialties", spec);
    json_object_set_new(stf, "hours", hours);
    long long staff = s_admin(tenant, "staff", stf);
    long long customer = se_customer(key);
    KVT_OK(service > 0 && staff > 0 && customer > 0,
           "a service and a staff member with the longest names, the most specialties and "
           "working intervals, and a customer");

    /* 100 bookings tomorrow, six 5-minute slots in each working interval */
    char date[11];
    se_date(1, date);
    int booked = 0;
    for (int i = 0; i < N_APPTS; i++) {
        if (i == 1)
            wc_record(0);   /* the first is recorded for the contract check */
        int m = (i / 6) * 60 + (i % 6) * 5;
        char hm[16];
        snprintf(hm, sizeof hm, "%02d:%02d", m / 60, m % 60);
        json_t *o = json_pack("{sIsIsIssss}", "customer_id", (json_int_t)customer,
                              "service_id", (json_int_t)service, "staff_id", (json_int_t)staff,
                              "appointment_date", date, "appointment_time", hm);
        json_object_set_new(o, "notes", wc_text(KV_APPT_NOTES_MAX, (unsigned)i));
        json_object_set_new(o, "source", json_string(WC_TOKEN));
        char *body = wc_dump(o);
        kvt_resp_t r = kvt_api(key, "POST", "/api/v1/appointments", body);
        booked += r.status == 201;
        if (r.status != 201)
            fprintf(stderr, "booking %d at %s: %ld %.300s\n", i, hm, r.status,
                    r.body ? r.body : "");
        kvt_resp_free(&r);
        free(body);
    }
    wc_record(1);
    KVT_EQ_INT(booked, N_APPTS, "100 appointments with the longest notes are booked");

    const char *lists[2] = { "/api/v1/appointments?per_page=100",
                             "/api/v1/appointments?updated_since=1970-01-01T00:00:00Z&per_page=100" };
    const char *names[2] = { "appointments.list of 100 appointments at their longest",
                             "appointments.list sync page of 100 appointments at their longest" };
    for (int l = 0; l < 2; l++) {
        kvt_resp_t r = kvt_api(key, "GET", lists[l], NULL);
        KVT_EQ_INT(r.status, 200, "%s answers 200", lists[l]);
        json_t *data = json_object_get(r.json, "data");
        KVT_EQ_INT(json_array_size(data), N_APPTS, "with all 100 appointments");
        int whole = 0;
        size_t i;
        json_t *a;
        json_array_foreach(data, i, a) {
            const char *notes = json_string_value(json_object_get(a, "notes"));
            const char *sn = json_string_value(json_object_get(a, "service_name"));
            const char *tn = json_string_value(json_object_get(a, "staff_name"));
            whole += notes && strlen(notes) == 4 * KV_APPT_NOTES_MAX && sn &&
                     strlen(sn) == 4 * KV_SCHED_SERVICE_NAME_MAX && tn &&
                     strlen(tn) == 4 * KV_STAFF_NAME_MAX;
        }
        KVT_EQ_INT(whole, N_APPTS, "every notes, service_name and staff_name is shown whole");
        wc_size(names[l], r.body_len, KV_SZ_APPTS_PAGE, 97);
        kvt_resp_free(&r);
    }

    char path[64];
    snprintf(path, sizeof path, "/api/v1/staff/%lld", staff);
    kvt_resp_t r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "GET /api/v1/staff/{id} of that staff member answers 200");
    json_t *d = json_object_get(r.json, "data");
    KVT_EQ_INT(json_array_size(json_object_get(d, "specialties")), KV_STAFF_SPECIALTIES_MAX,
               "with all 50 specialties");
    KVT_EQ_INT(json_array_size(json_object_get(json_object_get(d, "working_hours"), "sun")),
               KV_STAFF_DAY_INTERVALS, "24 working intervals a day");
    KVT_EQ_INT(json_array_size(json_object_get(d, "upcoming_appointments")),
               KV_STAFF_UPCOMING_MAX, "and the 100 upcoming appointments");
    wc_size("staff.get of the longest staff member", r.body_len, KV_SZ_STAFF_SHOW, 80);
    kvt_resp_free(&r);
    return kvt_done();
}
