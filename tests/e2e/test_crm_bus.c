/*
 * test_crm_bus.c -- the crm operations other services call over the bus,
 * end to end through the gateway's broker (this test is a bus client
 * itself, with kv_client on KAIVOX_BUS_ENDPOINT):
 *   customers.lookup          params {"id"} -> 200 customer | 404
 *   customers.find_or_create  body {"phone","name"?} -> 200 existing | 201 new
 * including tenant scoping of both, the normalised phone matching a
 * customer created over HTTP however punctuated, and eight concurrent
 * find_or_create calls for one new phone creating exactly one customer.
 */
#include <pthread.h>
#include <zmq.h>

#include "crm_e2e.h"
#include "gw_e2e.h"
#include "kv_client.h"

#define S_TIMEOUT_MS 5000

static void *s_zmq;
static kv_client_t *s_client;   /* the main thread's client */

/* A bus client whose connection to the broker is up (gw_e2e.h).  Caller
 * owns the result. */
static kv_client_t *s_client_new(void)
{
    return gw_bus_client_new(s_zmq, KV_SVC_CRM);
}

/* One bus call for tenant; returns the status, *out the envelope (caller
 * owns it; may be NULL).  params / body are JSON texts or NULL. */
static int s_call(int64_t tenant, const char *op, const char *params, const char *body,
                  json_t **out)
{
    json_t *p = params ? json_loads(params, 0, NULL) : NULL;
    json_t *b = body ? json_loads(body, JSON_DECODE_ANY, NULL) : NULL;
    char rid[33];
    kv_bus_new_id(rid);
    *out = NULL;
    int st = kv_client_call_tenant(s_client, rid, tenant, KV_SVC_CRM, op, p, b, S_TIMEOUT_MS,
                                   out);
    json_decref(p);
    json_decref(b);
    return st;
}

static const char *s_dstr(json_t *env, const char *field)
{
    return json_string_value(json_object_get(json_object_get(env, "data"), field));
}

static long long s_did(json_t *env)
{
    json_t *v = json_object_get(json_object_get(env, "data"), "id");
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void test_find_or_create(int64_t ta, const char *ka, int64_t tb)
{
    json_t *o = NULL;
    int st = s_call(ta, "customers.find_or_create", NULL, "{\"phone\":\"+1 (555) 606-0001\"}", &o);
    KVT_EQ_INT(st, 201, "find_or_create of a new phone answers 201");
    long long id = s_did(o);
    KVT_OK(id > 0, "find_or_create answers the new customer");
    KVT_EQ_STR(s_dstr(o, "name"), "Unknown caller", "a caller without a name is Unknown caller");
    KVT_EQ_STR(s_dstr(o, "phone"), "+15556060001", "find_or_create stores the normalised phone");
    KVT_EQ_STR(s_dstr(o, "segment"), "lead", "a created caller is a lead");
    KVT_EQ_STR(s_dstr(o, "source"), "phone", "a created caller has source phone");
    json_decref(o);

    st = s_call(ta, "customers.find_or_create", NULL,
                "{\"phone\":\"+1.555.606.0001\",\"name\":\"Zed\"}", &o);
    KVT_EQ_INT(st, 200, "find_or_create of a known phone answers 200");
    KVT_EQ_INT(s_did(o), id, "find_or_create of a known phone answers the same customer");
    KVT_EQ_STR(s_dstr(o, "name"), "Unknown caller", "find_or_create does not rename a known customer");
    json_decref(o);

    st = s_call(ta, "customers.find_or_create", NULL,
                "{\"phone\":\"5556060002\",\"name\":\"  Hal  \"}", &o);
    KVT_EQ_INT(st, 201, "find_or_create with a name answers 201");
    KVT_EQ_STR(s_dstr(o, "name"), "Hal", "find_or_create keeps the caller's trimmed name");
    json_decref(o);

    long long http_id = crm_create(ka, "{\"name\":\"Ivy\",\"phone\":\"555-606-0003\"}");
    st = s_call(ta, "customers.find_or_create", NULL, "{\"phone\":\"(555) 606 0003\"}", &o);
    KVT_EQ_INT(st, 200, "find_or_create finds a customer created over HTTP");
    KVT_EQ_INT(s_did(o), http_id, "find_or_create matches however the phone is punctuated");
    json_decref(o);

    kvt_resp_t r = kvt_api(ka, "GET", "/api/v1/customers?search=5556060001", NULL);
    KVT_EQ_INT(crm_meta(&r, "total"), 1, "the created caller is one customer in the list");
    kvt_resp_free(&r);

    st = s_call(tb, "customers.find_or_create", NULL, "{\"phone\":\"+15556060001\"}", &o);
    KVT_EQ_INT(st, 201, "the same phone in another tenant creates another customer");
    KVT_OK(s_did(o) > 0 && s_did(o) != id, "another tenant's caller is a different customer");
    json_decref(o);

    const struct { const char *body, *field, *what; } bad[] = {
        { "{\"phone\":\"123\"}", "phone", "a 3-digit phone" },
        { "{\"name\":\"No Phone\"}", "phone", "no phone" },
        { "{\"phone\":5556060009}", "phone", "a numeric phone" },
        { "{\"phone\":\"5556060009\",\"name\":7}", "name", "a numeric name" },
        { "[\"5556060009\"]", "body", "an array body" },
        { NULL, "body", "no body" },
        { NULL, NULL, NULL }
    };
    for (int i = 0; bad[i].field; i++) {
        st = s_call(ta, "customers.find_or_create", NULL, bad[i].body, &o);
        KVT_EQ_INT(st, 422, "find_or_create with %s answers 422", bad[i].what);
        json_t *e = json_object_get(json_object_get(o, "errors"), bad[i].field);
        KVT_OK(json_array_size(e) > 0, "find_or_create with %s names errors.%s", bad[i].what,
               bad[i].field);
        json_decref(o);
    }
    st = s_call(0, "customers.find_or_create", NULL, "{\"phone\":\"5556060009\"}", &o);
    KVT_EQ_INT(st, 400, "find_or_create without a tenant answers 400");
    json_decref(o);
}

/* ---- concurrency -------------------------------------------------------- */

#define S_RACERS 8

typedef struct {
    int64_t tenant;
    int status;
    long long id;
} s_racer_t;

static pthread_barrier_t s_barrier;

static void *s_race(void *arg)
{
    s_racer_t *rc = arg;
    kv_client_t *c = s_client_new();
    json_t *b = json_pack("{s:s}", "phone", "555-707-0001");
    json_t *o = NULL;
    char rid[33];
    kv_bus_new_id(rid);
    pthread_barrier_wait(&s_barrier);
    rc->status = c ? kv_client_call_tenant(c, rid, rc->tenant, KV_SVC_CRM,
                                           "customers.find_or_create", NULL, b,
                                           S_TIMEOUT_MS, &o) : 0;
    rc->id = s_did(o);
    json_decref(o);
    json_decref(b);
    kv_client_destroy(&c);
    return NULL;
}

static void test_race(int64_t tenant, const char *key)
{
    pthread_t th[S_RACERS];
    s_racer_t rc[S_RACERS];
    pthread_barrier_init(&s_barrier, NULL, S_RACERS);
    for (int i = 0; i < S_RACERS; i++) {
        rc[i] = (s_racer_t){ .tenant = tenant };
        pthread_create(&th[i], NULL, s_race, &rc[i]);
    }
    for (int i = 0; i < S_RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&s_barrier);
    int created = 0, found = 0, same = 1;
    for (int i = 0; i < S_RACERS; i++) {
        created += rc[i].status == 201;
        found += rc[i].status == 200;
        same = same && rc[i].id > 0 && rc[i].id == rc[0].id;
    }
    KVT_EQ_INT(created, 1, "8 concurrent find_or_create of one new phone create exactly one");
    KVT_EQ_INT(found, S_RACERS - 1, "the other 7 concurrent calls answer 200");
    KVT_OK(same, "all 8 concurrent calls answer the same customer");
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/customers?search=5557070001", NULL);
    KVT_EQ_INT(crm_meta(&r, "total"), 1, "the race left exactly one customer with the phone");
    kvt_resp_free(&r);
}

/* ---- lookup --------------------------------------------------------------- */

static void test_lookup(int64_t ta, const char *ka, int64_t tb)
{
    long long id = crm_create(ka, "{\"name\":\"Jo\",\"phone\":\"555-808-0001\","
                                  "\"email\":\"jo@example.com\"}");
    char params[64];
    snprintf(params, sizeof params, "{\"id\":\"%lld\"}", id);
    json_t *o = NULL;
    int st = s_call(ta, "customers.lookup", params, NULL, &o);
    KVT_EQ_INT(st, 200, "lookup of an existing customer answers 200");
    KVT_EQ_INT(s_did(o), id, "lookup answers the customer");
    KVT_EQ_STR(s_dstr(o, "name"), "Jo", "lookup answers the customer's name");
    KVT_EQ_STR(s_dstr(o, "email"), "jo@example.com", "lookup answers the customer's email");
    json_decref(o);

    snprintf(params, sizeof params, "{\"id\":%lld}", id);
    st = s_call(ta, "customers.lookup", params, NULL, &o);
    KVT_EQ_INT(st, 200, "lookup accepts the id as a JSON integer too");
    json_decref(o);

    snprintf(params, sizeof params, "{\"id\":\"%lld\"}", id);
    st = s_call(tb, "customers.lookup", params, NULL, &o);
    KVT_EQ_INT(st, 404, "lookup of another tenant's customer answers 404");
    json_decref(o);
    const char *bad[] = { "{\"id\":\"999999999\"}", "{\"id\":\"abc\"}", "{\"id\":\"-1\"}",
                          "{\"id\":0}", "{}", NULL };
    for (int i = 0; bad[i]; i++) {
        st = s_call(ta, "customers.lookup", bad[i], NULL, &o);
        KVT_EQ_INT(st, 404, "lookup with params %s answers 404", bad[i]);
        json_decref(o);
    }
}

int main(void)
{
    char ka[64], kb[64];
    int64_t ta, tb;
    s_zmq = zmq_ctx_new();
    s_client = s_client_new();
    KVT_OK(s_client != NULL, "a bus client connects to the broker");
    if (kvt_tenant("crm-bus-a", NULL, &ta, ka) != 0 || kvt_tenant("crm-bus-b", NULL, &tb, kb) != 0) {
        KVT_OK(0, "two test tenants could be created");
        return kvt_done();
    }
    test_find_or_create(ta, ka, tb);
    test_race(ta, ka);
    test_lookup(ta, ka, tb);
    kv_client_destroy(&s_client);
    zmq_ctx_term(s_zmq);
    return kvt_done();
}
