/*
 * test_idem_replay.c -- Idempotency-Key on writes: the first answer is
 * recorded with the change and sent again, byte for byte with
 * Idempotent-Replayed: true, to every retry with the same key and request;
 * the effect happens once (one customer, one appointment, one event); the
 * same key with another request is 422 errors.idempotency_key; a malformed
 * key is 422 before anything runs; keys are per tenant; 4xx answers are
 * recorded, 5xx answers are not (the retry runs again); a record older than
 * the TTL is forgotten; reads ignore the header.
 */
#include "idem_e2e.h"

/* customers whose phone is phone, in f's tenant (the search finds digits) */
static long long s_count_phone(const char *key, const char *phone)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/customers?search=%s", phone + 1);
    kvt_resp_t r = kvt_api(key, "GET", path, NULL);
    long long n = r.status == 200 ? se_meta(&r, "total") : -1;
    kvt_resp_free(&r);
    return n;
}

static void test_replay_and_reuse(const idem_fixture_t *f)
{
    char k[96], phone[32], body[256], other[256];
    idem_new_key("cust", k);
    idem_phone(phone);
    snprintf(body, sizeof body, "{\"name\":\"Ida Replay\",\"phone\":\"%s\"}", phone);

    kvt_resp_t a = idem_req(f->key, "POST", "/api/v1/customers", body, k, NULL);
    KVT_EQ_INT(a.status, 201, "a keyed create answers 201");
    KVT_OK(idem_fresh(&a), "the first answer has no Idempotent-Replayed header");
    kvt_resp_t b = idem_req(f->key, "POST", "/api/v1/customers", body, k, NULL);
    KVT_EQ_INT(b.status, 201, "the retry answers the recorded 201");
    KVT_OK(idem_replayed(&b), "the retry carries Idempotent-Replayed: true");
    KVT_OK(a.body && b.body && strcmp(a.body, b.body) == 0,
           "the retry's body is the first answer's, byte for byte");
    KVT_EQ_INT(s_count_phone(f->key, phone), 1, "the customer was created once");

    /* the same request written differently is the same request */
    char spaced[300];
    snprintf(spaced, sizeof spaced, "{ \"phone\" : \"%s\",\n  \"name\": \"Ida Replay\" }", phone);
    kvt_resp_t c = idem_req(f->key, "POST", "/api/v1/customers", spaced, k, NULL);
    KVT_EQ_INT(c.status, 201, "spaces and key order do not make another request");
    KVT_OK(idem_replayed(&c) && c.body && a.body && strcmp(c.body, a.body) == 0,
           "it gets the recorded answer");

    /* another request with the key: 422, nothing done */
    char phone2[32];
    snprintf(other, sizeof other, "{\"name\":\"Ida Other\",\"phone\":\"%s\"}", idem_phone(phone2));
    kvt_resp_t d = idem_req(f->key, "POST", "/api/v1/customers", other, k, NULL);
    KVT_EQ_INT(d.status, 422, "the key with another body answers 422");
    KVT_OK(strstr(idem_err(&d, "idempotency_key"), "already used for another request") != NULL,
           "errors.idempotency_key says the key was used for another request (%s)",
           idem_err(&d, "idempotency_key"));
    KVT_OK(idem_fresh(&d), "the 422 is not a replay");
    KVT_EQ_INT(s_count_phone(f->key, phone2), 0, "and nothing was created");

    long long id = se_int(&a, "id");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", id);
    kvt_resp_t e = idem_req(f->key, "PATCH", path, "{\"segment\":\"vip\"}", k, NULL);
    KVT_EQ_INT(e.status, 422, "the key on another route of the service answers 422");
    kvt_resp_t g = kvt_api(f->key, "GET", path, NULL);
    KVT_EQ_STR(se_str(&g, "segment"), "lead", "and the update did not happen");
    kvt_resp_t q = idem_req(f->key, "POST", "/api/v1/customers?x=1", body, k, NULL);
    KVT_EQ_INT(q.status, 422, "the key with another query string answers 422");

    kvt_resp_free(&a); kvt_resp_free(&b); kvt_resp_free(&c); kvt_resp_free(&d);
    kvt_resp_free(&e); kvt_resp_free(&g); kvt_resp_free(&q);
}

static void test_key_shape(const idem_fixture_t *f)
{
    char phone[32], body[256];
    snprintf(body, sizeof body, "{\"name\":\"Ida Shape\",\"phone\":\"%s\"}", idem_phone(phone));
    static const char *const bad[] = { "", "tab\there", "caf\xc3\xa9", "del\x7f" };
    static const char *const why[] = { "empty", "a control character", "a non-ASCII character",
                                       "DEL" };
    for (int i = 0; i < 4; i++) {
        char h[300];
        if (*bad[i])
            snprintf(h, sizeof h, "Idempotency-Key: %s", bad[i]);
        else    /* libcurl sends an empty header as "Name;" */
            snprintf(h, sizeof h, "Idempotency-Key;");
        kvt_resp_t r = idem_req(f->key, "POST", "/api/v1/customers", body, NULL, h);
        KVT_EQ_INT(r.status, 422, "a key that is %s answers 422", why[i]);
        KVT_EQ_STR(idem_err(&r, "idempotency_key"),
                   "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
                   "errors.idempotency_key says what a key is (%s)", why[i]);
        kvt_resp_free(&r);
    }
    char longkey[300];
    memset(longkey, 'k', 256);
    longkey[256] = '\0';
    kvt_resp_t r = idem_req(f->key, "POST", "/api/v1/customers", body, longkey, NULL);
    KVT_EQ_INT(r.status, 422, "a key of 256 characters answers 422");
    kvt_resp_free(&r);
    kvt_resp_t two = idem_req(f->key, "POST", "/api/v1/customers", body, "one",
                              "Idempotency-Key: two");
    KVT_EQ_INT(two.status, 422, "two Idempotency-Key headers answer 422");
    KVT_EQ_STR(idem_err(&two, "idempotency_key"),
               "The Idempotency-Key header may be given only once.", "errors.idempotency_key says so");
    kvt_resp_free(&two);
    KVT_EQ_INT(s_count_phone(f->key, phone), 0, "none of those created anything");

    /* the longest key, with every printable kind of character */
    char k255[300];
    char rnd[33];
    kv_bus_new_id(rnd);
    snprintf(k255, sizeof k255, "%s ~!@#$%%^&*()_+{}|:\"<>?`-=[]\\;',./", rnd);
    size_t len = strlen(k255);
    memset(k255 + len, 'z', 255 - len);
    k255[255] = '\0';
    kvt_resp_t ok = idem_req(f->key, "POST", "/api/v1/customers", body, k255, NULL);
    KVT_EQ_INT(ok.status, 201, "a key of 255 printable characters (spaces, quotes, backslash) works");
    kvt_resp_t again = idem_req(f->key, "POST", "/api/v1/customers", body, k255, NULL);
    KVT_OK(again.status == 201 && idem_replayed(&again), "and its retry is a replay");
    kvt_resp_free(&ok);
    kvt_resp_free(&again);

    /* reads ignore the header, even a malformed one */
    kvt_resp_t get = idem_req(f->key, "GET", "/api/v1/customers", NULL, NULL, "Idempotency-Key;");
    KVT_EQ_INT(get.status, 200, "a GET ignores an Idempotency-Key header");
    KVT_OK(idem_fresh(&get), "and never says it was replayed");
    kvt_resp_free(&get);
}

static void test_per_tenant(const idem_fixture_t *f)
{
    char key2[64];
    (void)se_tenant("idem-other", "UTC", 15, key2);
    char k[96], phone[32], body[256];
    idem_new_key("shared", k);
    snprintf(body, sizeof body, "{\"name\":\"Ida Tenant\",\"phone\":\"%s\"}", idem_phone(phone));
    kvt_resp_t a = idem_req(f->key, "POST", "/api/v1/customers", body, k, NULL);
    kvt_resp_t b = idem_req(key2, "POST", "/api/v1/customers", body, k, NULL);
    KVT_EQ_INT(a.status, 201, "tenant A creates with the key");
    KVT_EQ_INT(b.status, 201, "tenant B creates with the same key and body");
    KVT_OK(idem_fresh(&b), "tenant B's answer is its own, not A's replayed");
    KVT_OK(se_int(&a, "id") != se_int(&b, "id"), "two customers, one per tenant");
    KVT_EQ_INT(s_count_phone(key2, phone), 1, "tenant B sees its own customer");
    kvt_resp_t c = idem_req(key2, "POST", "/api/v1/customers", body, k, NULL);
    KVT_OK(c.status == 201 && idem_replayed(&c) && c.body && b.body && strcmp(c.body, b.body) == 0,
           "tenant B's retry replays B's answer");
    kvt_resp_free(&a); kvt_resp_free(&b); kvt_resp_free(&c);
}

static void test_booking_once(const idem_fixture_t *f, PGconn *pg)
{
    char k[96], body[512], sql[512];
    idem_new_key("book", k);
    idem_booking(f, "10:00", body, sizeof body);
    kvt_resp_t a = idem_req(f->key, "POST", "/api/v1/appointments", body, k, NULL);
    KVT_EQ_INT(a.status, 201, "a keyed booking answers 201");
    kvt_resp_t b = idem_req(f->key, "POST", "/api/v1/appointments", body, k, NULL);
    KVT_OK(b.status == 201 && idem_replayed(&b) && a.body && b.body && strcmp(a.body, b.body) == 0,
           "its retry replays the 201 byte for byte");
    long long id = se_int(&a, "id");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM scheduling.appointments WHERE tenant_id = %lld",
             (long long)f->tenant);
    KVT_EQ_INT(idem_sql_int(pg, sql), 1, "one appointment exists");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM scheduling.outbox WHERE type = "
             "'appointment.created' AND tenant_id = %lld", (long long)f->tenant);
    KVT_EQ_INT(idem_sql_int(pg, sql), 1, "appointment.created was recorded once");

    /* a definitive 409 is recorded too */
    char k2[96];
    idem_new_key("book-taken", k2);
    kvt_resp_t c = idem_req(f->key, "POST", "/api/v1/appointments", body, k2, NULL);
    KVT_EQ_INT(c.status, 409, "booking the taken slot with another key answers 409");
    kvt_resp_t d = idem_req(f->key, "POST", "/api/v1/appointments", body, k2, NULL);
    KVT_OK(d.status == 409 && idem_replayed(&d), "its retry replays the 409");

    /* cancel with a key: once, one event */
    char path[96], k3[96];
    idem_new_key("cancel", k3);
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", id);
    kvt_resp_t e = idem_req(f->key, "DELETE", path, NULL, k3, NULL);
    kvt_resp_t g = idem_req(f->key, "DELETE", path, NULL, k3, NULL);
    KVT_EQ_INT(e.status, 200, "a keyed cancel answers 200");
    KVT_OK(g.status == 200 && idem_replayed(&g) && e.body && g.body && strcmp(e.body, g.body) == 0,
           "its retry replays it");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM scheduling.outbox WHERE type = "
             "'appointment.cancelled' AND tenant_id = %lld", (long long)f->tenant);
    KVT_EQ_INT(idem_sql_int(pg, sql), 1, "appointment.cancelled was recorded once");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM scheduling.idempotency_keys WHERE "
             "tenant_id = %lld", (long long)f->tenant);
    KVT_EQ_INT(idem_sql_int(pg, sql), 3, "scheduling recorded the three keys in its own schema");
    kvt_resp_free(&a); kvt_resp_free(&b); kvt_resp_free(&c); kvt_resp_free(&d);
    kvt_resp_free(&e); kvt_resp_free(&g);
}

static void test_4xx_recorded(const idem_fixture_t *f)
{
    char k[96], phone[32], good[256];
    idem_new_key("invalid", k);
    kvt_resp_t a = idem_req(f->key, "POST", "/api/v1/customers", "{\"name\":\"No Phone\"}", k, NULL);
    KVT_EQ_INT(a.status, 422, "an invalid keyed create answers 422");
    kvt_resp_t b = idem_req(f->key, "POST", "/api/v1/customers", "{\"name\":\"No Phone\"}", k, NULL);
    KVT_OK(b.status == 422 && idem_replayed(&b), "its retry replays the recorded 422");
    snprintf(good, sizeof good, "{\"name\":\"No Phone\",\"phone\":\"%s\"}", idem_phone(phone));
    kvt_resp_t c = idem_req(f->key, "POST", "/api/v1/customers", good, k, NULL);
    KVT_EQ_INT(c.status, 422, "a corrected body needs a new key (422)");
    KVT_EQ_INT(s_count_phone(f->key, phone), 0, "nothing was created with the old key");
    kvt_resp_free(&a); kvt_resp_free(&b); kvt_resp_free(&c);
}

static void test_5xx_not_recorded(const idem_fixture_t *f, PGconn *pg)
{
    char k[96], body[512], phone[32], sql[512];
    idem_new_key("call", k);
    snprintf(body, sizeof body, "{\"caller_phone\":\"%s\",\"started_at\":\"2026-01-05T10:00:00Z\","
             "\"duration_seconds\":42}", idem_phone(phone));
    KVT_EQ_INT(kvt_stack("stop crm"), 0, "crm is stopped");
    kvt_resp_t a = idem_req(f->key, "POST", "/api/v1/calls", body, k, NULL);
    KVT_EQ_INT(a.status, 503, "a keyed call log answers 503 while crm is down");
    KVT_EQ_INT(kvt_stack("start crm"), 0, "crm is started again");
    kvt_resp_t b = { 0 };
    for (int i = 0; i < 100; i++) {          /* crm's workers register within moments */
        kvt_resp_free(&b);
        b = idem_req(f->key, "POST", "/api/v1/calls", body, k, NULL);
        if (b.status != 503)
            break;
        kvt_sleep_ms(200);
    }
    KVT_EQ_INT(b.status, 201, "the retry with the key runs again: 201");
    KVT_OK(idem_fresh(&b), "it is not a replay of the 503");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM calls.calls WHERE tenant_id = %lld "
             "AND caller_phone = '%s'", (long long)f->tenant, phone);
    KVT_EQ_INT(idem_sql_int(pg, sql), 1, "one call is logged");
    kvt_resp_free(&a); kvt_resp_free(&b);
}

static void test_expiry(const idem_fixture_t *f, PGconn *pg)
{
    char k[96], phone[32], body[256], other[256], sql[512];
    idem_new_key("old", k);
    snprintf(body, sizeof body, "{\"name\":\"Ida Old\",\"phone\":\"%s\"}", idem_phone(phone));
    kvt_resp_t a = idem_req(f->key, "POST", "/api/v1/customers", body, k, NULL);
    KVT_EQ_INT(a.status, 201, "a keyed create");
    snprintf(sql, sizeof sql, "UPDATE crm.idempotency_keys SET created_at = now() - "
             "interval '24 hours 1 second' WHERE tenant_id = %lld AND key = '%s'",
             (long long)f->tenant, k);
    char *done = gw_sql(pg, sql);
    KVT_OK(done != NULL, "its record is made 24 h old");
    free(done);
    char phone2[32];
    snprintf(other, sizeof other, "{\"name\":\"Ida New\",\"phone\":\"%s\"}", idem_phone(phone2));
    kvt_resp_t b = idem_req(f->key, "POST", "/api/v1/customers", other, k, NULL);
    KVT_EQ_INT(b.status, 201, "after 24 h the key is free: another request with it runs (201)");
    KVT_OK(idem_fresh(&b), "as a new request");
    kvt_resp_t c = idem_req(f->key, "POST", "/api/v1/customers", other, k, NULL);
    KVT_OK(c.status == 201 && idem_replayed(&c) && c.body && b.body && strcmp(c.body, b.body) == 0,
           "and the key now replays the new answer");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM crm.idempotency_keys WHERE tenant_id = %lld "
             "AND key = '%s'", (long long)f->tenant, k);
    KVT_EQ_INT(idem_sql_int(pg, sql), 1, "one record of the key remains");
    kvt_resp_free(&a); kvt_resp_free(&b); kvt_resp_free(&c);
}

static void test_cross_service(const idem_fixture_t *f)
{
    /* each service keeps the keys of its own writes (README: a key used on
     * a route of another service is new there, and never replays the
     * other service's answer) */
    char k[96], phone[32], body[256], call[512];
    idem_new_key("cross", k);
    snprintf(body, sizeof body, "{\"name\":\"Ida Cross\",\"phone\":\"%s\"}", idem_phone(phone));
    kvt_resp_t a = idem_req(f->key, "POST", "/api/v1/customers", body, k, NULL);
    snprintf(call, sizeof call, "{\"caller_phone\":\"%s\",\"started_at\":\"2026-01-05T11:00:00Z\","
             "\"duration_seconds\":5}", phone);
    kvt_resp_t b = idem_req(f->key, "POST", "/api/v1/calls", call, k, NULL);
    KVT_EQ_INT(a.status, 201, "a key used on crm's route");
    KVT_EQ_INT(b.status, 201, "the same key on calls' route runs there (201)");
    KVT_OK(idem_fresh(&b) && strstr(b.body ? b.body : "", "caller_phone") != NULL,
           "with calls' own answer, never crm's");
    kvt_resp_t c = idem_req(f->key, "POST", "/api/v1/calls", call, k, NULL);
    KVT_OK(c.status == 201 && idem_replayed(&c) && c.body && b.body && strcmp(c.body, b.body) == 0,
           "and its retry replays calls' answer");
    kvt_resp_free(&a); kvt_resp_free(&b); kvt_resp_free(&c);
}

int main(void)
{
    idem_fixture_t f;
    if (idem_fixture("idem-replay", &f) != 0) {
        KVT_OK(0, "the test tenant is set up");
        return kvt_done();
    }
    PGconn *pg = gw_pg_super();
    KVT_OK(pg != NULL, "the test can read the database");
    test_replay_and_reuse(&f);
    test_key_shape(&f);
    test_per_tenant(&f);
    test_booking_once(&f, pg);
    test_4xx_recorded(&f);
    test_expiry(&f, pg);
    test_cross_service(&f);
    test_5xx_not_recorded(&f, pg);
    PQfinish(pg);
    return kvt_done();
}
