/*
 * test_scheduling_strict.c -- issue 9, the appointment side: what a
 * careless client sends is refused, with the message every service gives.
 *
 *   - unknown fields on create ("price", "status") and on PATCH .../status;
 *   - ids as JSON strings ("customer_id":"1");
 *   - a source that is not a token ("Web Form!!"), with the customers' rule;
 *   - appointment_time off the tenant's slot grid ("10:07") -> 422 naming the
 *     grid, unless the request says "allow_off_grid": true;
 *   - the status transition table: completed / no_show only once started,
 *     completed and cancelled final, no_show correctable to completed,
 *     same status idempotent -- and a refused change fires no event and
 *     moves no customer figure;
 *   - a huge page number gets its true message.
 *
 * "Once started" (started_e2e.h): the tenant's zone is UTC-12, the
 * appointments are tomorrow 00:15..01:45 local, and the service is asked
 * over the bus with the zone given as UTC+14, 26 hours later on the wall
 * clock; through HTTP the same appointments have not started.  Events are
 * read back with events.since, as the webhook service reads them.
 */
#include <zmq.h>

#include "sched_e2e.h"
#include "started_e2e.h"
#include "kv_bus.h"
#include "kv_client.h"

static kv_client_t *s_bus;
static int64_t s_tenant;

/* appointments.<op> of the test tenant over the bus, its zone given as tz. */
static int s_bus_call(const char *op, long long id, const char *body, const char *tz,
                      json_t **out)
{
    return st_call(s_tenant, tz, op, id, body, out);
}

static const char *s_bus_status(json_t *env)
{
    return json_string_value(json_object_get(json_object_get(env, "data"), "status"));
}

static kvt_resp_t s_patch(const char *key, long long id, const char *body)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld/status", id);
    return kvt_api(key, "PATCH", path, body);
}

static kvt_resp_t s_get(const char *key, long long id)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", id);
    return kvt_api(key, "GET", path, NULL);
}

/* The status of appointment id as the API shows it (static copy). */
static const char *s_status_of(const char *key, long long id)
{
    static char buf[32];
    kvt_resp_t r = s_get(key, id);
    snprintf(buf, sizeof buf, "%s", se_str(&r, "status") ? se_str(&r, "status") : "?");
    kvt_resp_free(&r);
    return buf;
}

/* How many events of type (NULL: any type) the scheduling outbox holds for
 * appointment id (-1 when events.since could not be read). */
static int s_events(const char *type, long long id)
{
    int n = 0;
    long long after = 0;
    for (;;) {
        json_t *body = json_pack("{s:I, s:i}", "after", (json_int_t)after, "limit", 1000);
        json_t *out = NULL;
        int st = kv_client_call_tenant(s_bus, "test-strict", 0, "scheduling", "events.since",
                                       NULL, body, 5000, &out);
        json_decref(body);
        json_t *d = json_object_get(out, "data");
        if (st != 200 || !json_is_array(d)) {
            json_decref(out);
            return -1;
        }
        size_t i;
        json_t *e;
        json_array_foreach(d, i, e) {
            after = json_integer_value(json_object_get(e, "seq"));
            json_t *p = json_object_get(e, "payload");
            if (json_integer_value(json_object_get(e, "tenant_id")) == s_tenant &&
                (!type || strcmp(json_string_value(json_object_get(e, "type")), type) == 0) &&
                json_integer_value(json_object_get(p, "id")) == id)
                n++;
        }
        size_t got = json_array_size(d);
        json_decref(out);
        if (got < 1000)
            return n;
    }
}

/* total_spent of customer id as the crm profile shows it. */
static double s_spent(const char *key, long long id)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", id);
    kvt_resp_t r = kvt_api(key, "GET", path, NULL);
    double v = se_real(&r, "total_spent");
    kvt_resp_free(&r);
    return v;
}

static void test_bodies(const char *key, long long cust, long long svc, long long staff,
                        const char *date)
{
    char body[1024];
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/appointments", NULL);
    long long before = se_meta(&r, "total");
    kvt_resp_free(&r);

    r = kvt_apif(key, "POST", "/api/v1/appointments",
                 "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"%s\","
                 "\"appointment_time\":\"10:00\",\"price\":0,\"status\":\"completed\"}", cust, svc,
                 date);
    KVT_EQ_INT(r.status, 422, "create: unknown fields price and status are 422");
    KVT_EQ_STR(se_err(&r, "price"), "The price field is not allowed.", "create: errors.price names it");
    KVT_EQ_STR(se_err(&r, "status"), "The status field is not allowed.", "create: errors.status names it");
    kvt_resp_free(&r);

    r = kvt_apif(key, "POST", "/api/v1/appointments",
                 "{\"customer_id\":\"%lld\",\"service_id\":%lld,\"appointment_date\":\"%s\","
                 "\"appointment_time\":\"10:00\"}", cust, svc, date);
    KVT_EQ_INT(r.status, 422, "create: customer_id as a string is 422");
    KVT_EQ_STR(se_err(&r, "customer_id"), "The customer_id must be a positive integer.",
               "create: errors.customer_id says ids are integers");
    kvt_resp_free(&r);

    r = kvt_apif(key, "POST", "/api/v1/appointments",
                 "{\"customer_id\":%lld,\"service_id\":%lld,\"appointment_date\":\"%s\","
                 "\"appointment_time\":\"10:00\",\"source\":\"Web Form!!\"}", cust, svc, date);
    KVT_EQ_INT(r.status, 422, "create: source \"Web Form!!\" is 422");
    char appt_msg[256];
    snprintf(appt_msg, sizeof appt_msg, "%s", se_err(&r, "source") ? se_err(&r, "source") : "");
    kvt_resp_free(&r);
    r = kvt_api(key, "POST", "/api/v1/customers",
                "{\"name\":\"Src\",\"phone\":\"+15550199001\",\"source\":\"Web Form!!\"}");
    KVT_OK(r.status == 422 && se_err(&r, "source") && strcmp(se_err(&r, "source"), appt_msg) == 0,
           "create: an appointment's source and a customer's follow one rule, one message");
    kvt_resp_free(&r);

    r = kvt_apif(key, "POST", "/api/v1/appointments",
                 "{\"customer_id\":%lld,\"service_id\":%lld,\"staff_id\":%lld,"
                 "\"appointment_date\":\"%s\",\"appointment_time\":\"10:07\"}", cust, svc, staff, date);
    KVT_EQ_INT(r.status, 422, "grid: 10:07 on the 15-minute grid is 422");
    KVT_EQ_STR(se_err(&r, "appointment_time"),
               "The appointment_time must be on the tenant's 15-minute slot grid (:00, :15, :30, "
               ":45): 10:00 or 10:15, not 10:07.", "grid: the message names the grid");
    kvt_resp_free(&r);

    r = kvt_api(key, "GET", "/api/v1/appointments", NULL);
    KVT_EQ_INT(se_meta(&r, "total"), before, "refused creates booked nothing");
    kvt_resp_free(&r);

    snprintf(body, sizeof body,
             "{\"customer_id\":%lld,\"service_id\":%lld,\"staff_id\":%lld,\"appointment_date\":\"%s\","
             "\"appointment_time\":\"10:07\",\"allow_off_grid\":true,\"source\":\"walk_in\"}",
             cust, svc, staff, date);
    r = kvt_api(key, "POST", "/api/v1/appointments", body);
    KVT_EQ_INT(r.status, 201, "grid: allow_off_grid true books 10:07");
    KVT_EQ_STR(se_str(&r, "appointment_time"), "10:07", "grid: the off-grid time is kept");
    KVT_EQ_STR(se_str(&r, "end_time"), "10:37", "grid: and its end");
    long long off = se_int(&r, "id");
    kvt_resp_free(&r);
    r = se_slots(key, date, svc, staff);
    char times[4096];
    se_slot_times(&r, times, sizeof times);
    KVT_OK(!strstr(times, "10:00") && !strstr(times, "10:30") && strstr(times, "10:45"),
           "grid: the off-grid booking blocks the grid slots it overlaps");
    kvt_resp_free(&r);

    r = s_patch(key, off, "{\"status\":\"cancelled\",\"price\":0}");
    KVT_EQ_INT(r.status, 422, "status: an unknown field is 422");
    KVT_EQ_STR(se_err(&r, "price"), "The price field is not allowed.", "status: errors.price names it");
    kvt_resp_free(&r);
    KVT_EQ_STR(s_status_of(key, off), "scheduled", "status: a refused body changed nothing");

    r = kvt_api(key, "GET", "/api/v1/appointments?page=999999999999999999999", NULL);
    KVT_EQ_INT(r.status, 422, "list: a huge page is 422");
    KVT_EQ_STR(se_err(&r, "page"), "The page may not be greater than 10000000.",
               "list: a huge page has its true message");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/appointments?staff_id=99999999999999999999", NULL);
    KVT_EQ_STR(se_err(&r, "staff_id"), "The staff_id may not be greater than 9223372036854775807.",
               "list: a staff_id beyond bigint has its true message");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/appointments?status=&date=&staff_id=", NULL);
    KVT_EQ_INT(r.status, 200, "list: empty filters mean no filter");
    kvt_resp_free(&r);
}

static void test_grid_30(void)
{
    char key[64], mon[11], hours[512];
    int64_t t = se_tenant("strict30", NULL, 30, key);
    long long svc = se_service(t, "Cut", 30, "10.00");
    se_every_day("[[\"09:00\",\"17:00\"]]", hours, sizeof hours);
    long long staff = se_staff(t, "Thirty", hours, NULL);
    long long cust = se_customer(key);
    se_monday(8, mon);
    kvt_resp_t r = se_book(key, cust, svc, staff, mon, "10:15");
    KVT_EQ_INT(r.status, 422, "grid: 10:15 on a 30-minute tenant is 422");
    KVT_EQ_STR(se_err(&r, "appointment_time"),
               "The appointment_time must be on the tenant's 30-minute slot grid (:00, :30): "
               "10:00 or 10:30, not 10:15.", "grid: the tenant's own interval is named");
    kvt_resp_free(&r);
    r = se_book(key, cust, svc, staff, mon, "10:30");
    KVT_EQ_INT(r.status, 201, "grid: 10:30 on a 30-minute tenant is booked");
    kvt_resp_free(&r);
}

static void test_transitions(const char *key, long long cust, long long svc, long long staff)
{
    char tomorrow[11];
    st_tomorrow(tomorrow);

    long long a = se_book_id(key, cust, svc, staff, tomorrow, "00:15");
    long long b = se_book_id(key, cust, svc, staff, tomorrow, "00:45");
    long long c = se_book_id(key, cust, svc, staff, tomorrow, "01:15");
    long long f = se_book_id(key, cust, svc, staff, tomorrow, "01:45");
    KVT_OK(a > 0 && b > 0 && c > 0 && f > 0, "transitions: four appointments tomorrow 00:15..01:45");
    double spent0 = s_spent(key, cust);

    /* the future: not completed, not a no-show */
    kvt_resp_t r = s_patch(key, a, "{\"status\":\"completed\"}");
    KVT_EQ_INT(r.status, 422, "future: completed is 422");
    KVT_EQ_STR(se_err(&r, "status"), "An appointment can be set to completed or no_show only once "
               "it has started (its date and time, in the tenant's time zone, are not in the future).",
               "future: errors.status says why");
    kvt_resp_free(&r);
    r = s_patch(key, a, "{\"status\":\"no_show\"}");
    KVT_EQ_INT(r.status, 422, "future: no_show is 422");
    kvt_resp_free(&r);
    KVT_EQ_STR(s_status_of(key, a), "scheduled", "future: still scheduled");
    KVT_OK(s_spent(key, cust) == spent0, "future: total_spent unchanged");

    /* same status: 200, nothing changes */
    r = s_get(key, a);
    char upd[64];
    snprintf(upd, sizeof upd, "%s", se_str(&r, "updated_at") ? se_str(&r, "updated_at") : "");
    kvt_resp_free(&r);
    r = s_patch(key, a, "{\"status\":\"scheduled\"}");
    KVT_EQ_INT(r.status, 200, "same: scheduled -> scheduled is 200");
    KVT_EQ_STR(se_str(&r, "updated_at"), upd, "same: updated_at does not move");
    kvt_resp_free(&r);

    /* once started (seen 26 hours later): completed */
    json_t *o = NULL;
    int st = s_bus_call("appointments.set_status", a, "{\"status\":\"completed\"}", ST_LATE_TZ, &o);
    KVT_EQ_INT(st, 200, "started: completed is 200");
    KVT_EQ_STR(s_bus_status(o), "completed", "started: the appointment is completed");
    json_decref(o);
    double spent1 = s_spent(key, cust);
    KVT_OK(spent1 == spent0 + 20.0, "started: total_spent counts the completed price");

    /* completed is final: DELETE and PATCH cancelled are refused, no event */
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", a);
    r = kvt_api(key, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 422, "final: DELETE of a completed appointment is 422");
    KVT_EQ_STR(se_err(&r, "status"), "A completed appointment is final: its status cannot change.",
               "final: errors.status says why");
    kvt_resp_free(&r);
    r = s_patch(key, a, "{\"status\":\"cancelled\"}");
    KVT_EQ_INT(r.status, 422, "final: PATCH cancelled of a completed appointment is 422");
    kvt_resp_free(&r);
    st = s_bus_call("appointments.set_status", a, "{\"status\":\"no_show\"}", ST_LATE_TZ, &o);
    KVT_EQ_INT(st, 422, "final: completed -> no_show is 422 even once started");
    json_decref(o);
    st = s_bus_call("appointments.set_status", a, "{\"status\":\"scheduled\"}", ST_LATE_TZ, &o);
    KVT_EQ_INT(st, 422, "final: completed -> scheduled is 422");
    json_decref(o);
    KVT_EQ_STR(s_status_of(key, a), "completed", "final: still completed");
    KVT_EQ_INT(s_events("appointment.cancelled", a), 0, "final: no appointment.cancelled was fired");
    KVT_EQ_INT(s_events(NULL, a), 1, "final: its only event is appointment.created (completing "
               "and refused changes record none)");
    KVT_OK(s_spent(key, cust) == spent1, "final: total_spent unchanged by the refused cancels");
    r = s_patch(key, a, "{\"status\":\"completed\"}");
    KVT_EQ_INT(r.status, 200, "same: completed -> completed is 200 (nothing to do)");
    kvt_resp_free(&r);

    /* no_show, corrected to completed; not to cancelled */
    st = s_bus_call("appointments.set_status", b, "{\"status\":\"no_show\"}", ST_LATE_TZ, &o);
    KVT_EQ_INT(st, 200, "no_show: set once started");
    json_decref(o);
    st = s_bus_call("appointments.cancel", b, NULL, ST_LATE_TZ, &o);
    KVT_EQ_INT(st, 422, "no_show: cancelling it is 422");
    json_decref(o);
    KVT_EQ_INT(s_events("appointment.cancelled", b), 0, "no_show: no appointment.cancelled fired");
    st = s_bus_call("appointments.set_status", b, "{\"status\":\"completed\"}", ST_LATE_TZ, &o);
    KVT_EQ_INT(st, 200, "no_show: corrected to completed");
    KVT_EQ_STR(s_bus_status(o), "completed", "no_show: now completed");
    json_decref(o);
    KVT_OK(s_spent(key, cust) == spent1 + 20.0, "no_show: the correction counts in total_spent");

    /* cancelled is final; cancelling again is 200 and fires nothing */
    r = s_patch(key, c, "{\"status\":\"cancelled\"}");
    KVT_EQ_INT(r.status, 200, "cancel: a future appointment is cancelled");
    kvt_resp_free(&r);
    KVT_EQ_INT(s_events("appointment.cancelled", c), 1, "cancel: one appointment.cancelled fired");
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", c);
    r = kvt_api(key, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 200, "cancel: DELETE again is 200");
    kvt_resp_free(&r);
    r = s_patch(key, c, "{\"status\":\"scheduled\"}");
    KVT_EQ_INT(r.status, 422, "cancel: un-cancelling is 422 (book again instead)");
    kvt_resp_free(&r);
    st = s_bus_call("appointments.set_status", c, "{\"status\":\"completed\"}", ST_LATE_TZ, &o);
    KVT_EQ_INT(st, 422, "cancel: a cancelled appointment cannot be completed");
    json_decref(o);
    KVT_EQ_INT(s_events("appointment.cancelled", c), 1, "cancel: still exactly one event");
    KVT_EQ_STR(s_status_of(key, c), "cancelled", "cancel: still cancelled");

    /* a started appointment that is still scheduled can be cancelled */
    st = s_bus_call("appointments.cancel", f, NULL, ST_LATE_TZ, &o);
    KVT_EQ_INT(st, 200, "cancel: a started, still scheduled appointment can be cancelled");
    json_decref(o);
    KVT_EQ_INT(s_events("appointment.cancelled", f), 1, "cancel: and fires its event");
}

int main(void)
{
    char key[64], hours[1024], mon[11];
    s_tenant = se_tenant("strict", ST_EARLY_TZ, 0, key);
    long long svc = se_service(s_tenant, "Cut", 30, "20.00");
    se_every_day("[[\"00:00\",\"24:00\"]]", hours, sizeof hours);
    long long staff = se_staff(s_tenant, "Night", hours, NULL);
    long long cust = se_customer(key);
    KVT_OK(svc > 0 && staff > 0 && cust > 0, "strict_fixture_created");
    se_monday(8, mon);

    void *zctx = zmq_ctx_new();
    s_bus = gw_bus_client_new(zctx, "scheduling");
    test_bodies(key, cust, svc, staff, mon);
    test_grid_30();
    test_transitions(key, cust, svc, staff);
    kv_client_destroy(&s_bus);
    zmq_ctx_term(zctx);
    return kvt_done();
}
