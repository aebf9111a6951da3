/*
 * test_idem_routes.c -- every write route of every service takes an
 * Idempotency-Key: the retry gets the first answer again, byte for byte
 * with Idempotent-Replayed: true, and the same key with another request
 * (another body, another id in the path) answers 422.  The routes come
 * from `kaivox-gateway --print-routes`, so a write route added without a
 * line here fails this test.
 */
#include "idem_e2e.h"

typedef struct {
    const char *method, *pattern;
    char path[256], body[1024];      /* the request */
    char path2[256], body2[1024];    /* another request (for the 422) */
    int want;                        /* the first answer's status */
    int tested;
} s_case_t;

#define S_MAX 32
static s_case_t s_cases[S_MAX];
static int s_ncases;

static s_case_t *s_add(const char *method, const char *pattern, int want)
{
    s_case_t *c = &s_cases[s_ncases++];
    memset(c, 0, sizeof *c);
    c->method = method;
    c->pattern = pattern;
    c->want = want;
    return c;
}

/* A webhook endpoint of the tenant; its id or -1. */
static long long s_endpoint(const char *key, const char *events)
{
    char body[256];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:9/idem-hook\",\"events\":%s}", events);
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/webhooks", body);
    long long id = r.status == 201 ? se_int(&r, "id") : -1;
    kvt_resp_free(&r);
    return id;
}

/* A booking without a key; its id or -1. */
static long long s_book(const idem_fixture_t *f, const char *time)
{
    char body[512];
    kvt_resp_t r = kvt_api(f->key, "POST", "/api/v1/appointments",
                           idem_booking(f, time, body, sizeof body));
    long long id = r.status == 201 ? se_int(&r, "id") : -1;
    kvt_resp_free(&r);
    return id;
}

/* The first delivery of endpoint ep, waiting for it at most 15 s; -1 none. */
static long long s_delivery(const char *key, long long ep)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/deliveries", ep);
    for (int i = 0; i < 150; i++) {
        kvt_resp_t r = kvt_api(key, "GET", path, NULL);
        json_t *d = json_array_get(json_object_get(r.json, "data"), 0);
        long long id = json_is_integer(json_object_get(d, "id"))
                       ? json_integer_value(json_object_get(d, "id")) : -1;
        kvt_resp_free(&r);
        if (id > 0)
            return id;
        kvt_sleep_ms(100);
    }
    return -1;
}

int main(void)
{
    idem_fixture_t f;
    if (idem_fixture("idem-routes", &f) != 0) {
        KVT_OK(0, "the test tenant is set up");
        return kvt_done();
    }
    long long ep = s_endpoint(f.key, "[\"appointment.created\"]");
    long long ep_del = s_endpoint(f.key, "[\"call.ended\"]");
    long long ap1 = s_book(&f, "09:00"), ap2 = s_book(&f, "09:30"), ap3 = s_book(&f, "12:00");
    long long delivery = s_delivery(f.key, ep);
    /* a hold to release (and another for the 422) */
    long long holds[2] = { -1, -1 };
    for (int i = 0; i < 2; i++) {
        char hb[256];
        snprintf(hb, sizeof hb, "{\"service_id\":%lld,\"staff_id\":%lld,"
                 "\"appointment_date\":\"%s\",\"appointment_time\":\"%s\"}",
                 f.service, f.staff, f.date, i ? "15:00" : "14:00");
        kvt_resp_t r = kvt_api(f.key, "POST", "/api/v1/appointments/holds", hb);
        holds[i] = r.status == 201 ? se_int(&r, "id") : -1;
        kvt_resp_free(&r);
    }
    KVT_OK(ep > 0 && ep_del > 0 && ap1 > 0 && ap2 > 0 && ap3 > 0 && holds[0] > 0 &&
           holds[1] > 0 && delivery > 0,
           "the resources the routes act on exist (endpoints, appointments, a delivery)");
    char phone[32], phone2[32], bk[512];
    idem_phone(phone);
    idem_phone(phone2);

    s_case_t *c;
    c = s_add("POST", "/api/v1/appointments", 201);
    snprintf(c->path, sizeof c->path, "/api/v1/appointments");
    idem_booking(&f, "10:00", c->body, sizeof c->body);
    snprintf(c->path2, sizeof c->path2, "/api/v1/appointments");
    snprintf(c->body2, sizeof c->body2, "%s", idem_booking(&f, "11:00", bk, sizeof bk));

    c = s_add("DELETE", "/api/v1/appointments/{id}", 200);
    snprintf(c->path, sizeof c->path, "/api/v1/appointments/%lld", ap1);
    snprintf(c->path2, sizeof c->path2, "/api/v1/appointments/%lld", ap2);

    c = s_add("PATCH", "/api/v1/appointments/{id}", 200);     /* a reschedule */
    snprintf(c->path, sizeof c->path, "/api/v1/appointments/%lld", ap3);
    snprintf(c->body, sizeof c->body, "{\"appointment_time\":\"12:30\"}");
    snprintf(c->path2, sizeof c->path2, "%s", c->path);
    snprintf(c->body2, sizeof c->body2, "{\"appointment_time\":\"13:00\"}");

    c = s_add("POST", "/api/v1/appointments/holds", 201);
    snprintf(c->path, sizeof c->path, "/api/v1/appointments/holds");
    snprintf(c->body, sizeof c->body, "{\"service_id\":%lld,\"staff_id\":%lld,"
             "\"appointment_date\":\"%s\",\"appointment_time\":\"16:00\"}",
             f.service, f.staff, f.date);
    snprintf(c->path2, sizeof c->path2, "/api/v1/appointments/holds");
    snprintf(c->body2, sizeof c->body2, "{\"service_id\":%lld,\"staff_id\":%lld,"
             "\"appointment_date\":\"%s\",\"appointment_time\":\"16:30\"}",
             f.service, f.staff, f.date);

    c = s_add("DELETE", "/api/v1/appointments/holds/{id}", 200);
    snprintf(c->path, sizeof c->path, "/api/v1/appointments/holds/%lld", holds[0]);
    snprintf(c->path2, sizeof c->path2, "/api/v1/appointments/holds/%lld", holds[1]);

    c = s_add("PATCH", "/api/v1/appointments/{id}/status", 200);
    snprintf(c->path, sizeof c->path, "/api/v1/appointments/%lld/status", ap2);
    snprintf(c->body, sizeof c->body, "{\"status\":\"cancelled\"}");
    snprintf(c->path2, sizeof c->path2, "%s", c->path);
    snprintf(c->body2, sizeof c->body2, "{\"status\":\"scheduled\"}");

    c = s_add("POST", "/api/v1/customers", 201);
    snprintf(c->path, sizeof c->path, "/api/v1/customers");
    snprintf(c->body, sizeof c->body, "{\"name\":\"Route Customer\",\"phone\":\"%s\"}", phone);
    snprintf(c->path2, sizeof c->path2, "/api/v1/customers");
    snprintf(c->body2, sizeof c->body2, "{\"name\":\"Route Customer\",\"phone\":\"%s\"}", phone2);

    c = s_add("PATCH", "/api/v1/customers/{id}", 200);
    snprintf(c->path, sizeof c->path, "/api/v1/customers/%lld", f.customer);
    snprintf(c->body, sizeof c->body, "{\"segment\":\"vip\"}");
    snprintf(c->path2, sizeof c->path2, "%s", c->path);
    snprintf(c->body2, sizeof c->body2, "{\"segment\":\"active\"}");

    c = s_add("POST", "/api/v1/calls", 201);
    snprintf(c->path, sizeof c->path, "/api/v1/calls");
    snprintf(c->body, sizeof c->body, "{\"caller_phone\":\"%s\",\"started_at\":"
             "\"2026-01-05T10:00:00Z\",\"duration_seconds\":60}", phone);
    snprintf(c->path2, sizeof c->path2, "/api/v1/calls");
    snprintf(c->body2, sizeof c->body2, "{\"caller_phone\":\"%s\",\"started_at\":"
             "\"2026-01-05T10:00:00Z\",\"duration_seconds\":61}", phone);

    c = s_add("POST", "/api/v1/webhooks", 201);
    snprintf(c->path, sizeof c->path, "/api/v1/webhooks");
    snprintf(c->body, sizeof c->body, "{\"url\":\"http://127.0.0.1:9/a\",\"events\":[\"call.missed\"]}");
    snprintf(c->path2, sizeof c->path2, "/api/v1/webhooks");
    snprintf(c->body2, sizeof c->body2, "{\"url\":\"http://127.0.0.1:9/b\",\"events\":[\"call.missed\"]}");

    c = s_add("PATCH", "/api/v1/webhooks/{id}", 200);
    snprintf(c->path, sizeof c->path, "/api/v1/webhooks/%lld", ep);
    snprintf(c->body, sizeof c->body, "{\"description\":\"first\"}");
    snprintf(c->path2, sizeof c->path2, "%s", c->path);
    snprintf(c->body2, sizeof c->body2, "{\"description\":\"second\"}");

    c = s_add("DELETE", "/api/v1/webhooks/{id}", 200);
    snprintf(c->path, sizeof c->path, "/api/v1/webhooks/%lld", ep_del);
    snprintf(c->path2, sizeof c->path2, "/api/v1/webhooks/%lld", ep);

    c = s_add("POST", "/api/v1/webhooks/deliveries/{id}/redeliver", 202);
    snprintf(c->path, sizeof c->path, "/api/v1/webhooks/deliveries/%lld/redeliver", delivery);
    snprintf(c->path2, sizeof c->path2, "/api/v1/webhooks/deliveries/%lld/redeliver", delivery + 1);

    c = s_add("POST", "/api/v1/webhooks/{id}/rotate-secret", 200);
    snprintf(c->path, sizeof c->path, "/api/v1/webhooks/%lld/rotate-secret", ep);
    snprintf(c->path2, sizeof c->path2, "%s", c->path);
    snprintf(c->body2, sizeof c->body2, "{}");

    c = s_add("POST", "/api/v1/webhooks/{id}/test", 202);
    snprintf(c->path, sizeof c->path, "/api/v1/webhooks/%lld/test", ep);
    snprintf(c->path2, sizeof c->path2, "/api/v1/webhooks/%lld/test", ep_del);

    /* every write route of the services has its case (the gateway's own
     * routes, "gateway local", record no keys) */
    idem_route_t routes[IDEM_MAX_ROUTES];
    int nr = idem_routes(routes);
    KVT_OK(nr >= 24, "kaivox-gateway --print-routes lists the routes (%d)", nr);
    int writes = 0;
    for (int i = 0; i < nr; i++) {
        if (strcmp(routes[i].method, "GET") == 0 || strcmp(routes[i].op, "local") == 0)
            continue;
        writes++;
        s_case_t *found = NULL;
        for (int k = 0; k < s_ncases; k++)
            if (strcmp(s_cases[k].method, routes[i].method) == 0 &&
                strcmp(s_cases[k].pattern, routes[i].pattern) == 0)
                found = &s_cases[k];
        KVT_OK(found != NULL, "%s %s (%s) has a case here", routes[i].method, routes[i].pattern,
               routes[i].op);
        if (!found)
            continue;
        found->tested = 1;

        char k[96];
        idem_new_key("route", k);
        const char *body = found->body[0] ? found->body : NULL;
        kvt_resp_t a = idem_req(f.key, found->method, found->path, body, k, NULL);
        KVT_EQ_INT(a.status, found->want, "%s %s with a key: %d", found->method, found->pattern,
                   found->want);
        KVT_OK(idem_fresh(&a), "%s %s: the first answer is not a replay", found->method,
               found->pattern);
        kvt_resp_t b = idem_req(f.key, found->method, found->path, body, k, NULL);
        KVT_OK(b.status == a.status && idem_replayed(&b) && a.body && b.body &&
               strcmp(a.body, b.body) == 0,
               "%s %s: the retry gets the first answer again (%ld, replayed %d)", found->method,
               found->pattern, b.status, idem_replayed(&b));
        kvt_resp_t d = idem_req(f.key, found->method, found->path2,
                                found->body2[0] ? found->body2 : NULL, k, NULL);
        KVT_EQ_INT(d.status, 422, "%s %s: the key with another request answers 422",
                   found->method, found->pattern);
        KVT_OK(strstr(idem_err(&d, "idempotency_key"), "already used") != NULL,
               "%s %s: errors.idempotency_key", found->method, found->pattern);
        kvt_resp_free(&a);
        kvt_resp_free(&b);
        kvt_resp_free(&d);
    }
    KVT_EQ_INT(writes, s_ncases, "as many write routes as cases: none left untested");
    return kvt_done();
}
