/*
 * test_idem_races.c -- Idempotency-Key when requests race and processes
 * fail:
 *   - a retry that arrives while the first request still runs gets 409 at
 *     once (it does not wait for the first), with the same request or
 *     another;
 *   - the client gives up after a 504 (the service was slower than the
 *     gateway's deadline) and retries: once the first request committed,
 *     the retry gets its 201, replayed, and the customer exists once;
 *   - the service instance is killed while it runs the first request (502,
 *     "may or may not have been applied"): nothing was committed, so the
 *     retry runs it, once.
 * The first request is held in the worker by the test hook
 * KAIVOX_TEST_SLOW_OPS (customers.create sleeps 7 s, past the 5 s request
 * deadline) on a second crm instance, the only one running meanwhile.
 * That it is running is read from the database (its advisory lock), not
 * guessed from a sleep.  The same instance prunes every second
 * (KAIVOX_RETENTION_PRUNE_S=1): an expired key's record is deleted after the
 * next keyed write commits, a live one kept.
 */
#include "idem_e2e.h"
#include "bus_e2e.h"

#define S_SLOW_MS 7000

typedef struct {
    const char *key, *body, *idem;
    kvt_resp_t resp;
} s_call_t;

static void *s_post(void *arg)
{
    s_call_t *c = arg;
    c->resp = idem_req(c->key, "POST", "/api/v1/customers", c->body, c->idem, NULL);
    return NULL;
}

/* Waits until a crm connection holds an advisory lock (a keyed write is
 * running), at most ms.  1 when it does. */
static int s_wait_running(PGconn *pg, int ms)
{
    for (int waited = 0; waited <= ms; waited += 50) {
        if (idem_sql_int(pg, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                             "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                             "AND a.application_name = 'kaivox-crm'") > 0)
            return 1;
        kvt_sleep_ms(50);
    }
    return 0;
}

static long long s_count_phone(PGconn *pg, int64_t tenant, const char *phone)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM crm.customers WHERE tenant_id = %lld "
             "AND phone = '%s'", (long long)tenant, phone);
    return idem_sql_int(pg, sql);
}

/* Retries until the answer is not 409 (the first request still running)
 * or 503 (no crm worker yet), at most about ms. */
static kvt_resp_t s_retry(const char *key, const char *body, const char *idem, int ms, int *tries)
{
    kvt_resp_t r = { 0 };
    *tries = 0;
    for (int waited = 0; waited <= ms; waited += 250) {
        kvt_resp_free(&r);
        r = idem_req(key, "POST", "/api/v1/customers", body, idem, NULL);
        (*tries)++;
        if (r.status != 409 && r.status != 503)
            break;
        kvt_sleep_ms(250);
    }
    return r;
}

static void test_in_flight_then_504(const char *key, int64_t tenant, PGconn *pg)
{
    char k[96], phone[32], body[256], other[256], phone2[32];
    idem_new_key("slow", k);
    snprintf(body, sizeof body, "{\"name\":\"Ida Slow\",\"phone\":\"%s\"}", idem_phone(phone));
    snprintf(other, sizeof other, "{\"name\":\"Ida Else\",\"phone\":\"%s\"}", idem_phone(phone2));

    s_call_t a = { key, body, k, { 0 } };
    pthread_t th;
    pthread_create(&th, NULL, s_post, &a);
    KVT_OK(s_wait_running(pg, 10000), "the first request is running (its key's lock is held)");

    kvt_resp_t b = idem_req(key, "POST", "/api/v1/customers", body, k, NULL);
    KVT_EQ_INT(b.status, 409, "a retry while the first runs answers 409");
    KVT_OK(gw_is_error(&b, "A request with this Idempotency-Key is still being processed; "
                           "retry once it has finished."), "saying the first is still running");
    KVT_OK(b.seconds < 3.0, "at once, without waiting for the first (%.2f s; it holds %d ms)",
           b.seconds, S_SLOW_MS);
    KVT_OK(idem_fresh(&b), "the 409 is not a replay");
    kvt_resp_t c = idem_req(key, "POST", "/api/v1/customers", other, k, NULL);
    KVT_EQ_INT(c.status, 409, "another request with the key meanwhile answers 409 too");

    pthread_join(th, NULL);
    KVT_EQ_INT(a.resp.status, 504, "the first request's client gave up: 504 at the deadline");

    int tries;
    kvt_resp_t d = s_retry(key, body, k, 20000, &tries);
    KVT_EQ_INT(d.status, 201, "once the first committed, the retry gets its 201 (%d tries)", tries);
    KVT_OK(idem_replayed(&d), "replayed: Idempotent-Replayed: true");
    KVT_EQ_STR(se_str(&d, "phone"), phone, "the answer is the customer the first request made");
    KVT_EQ_INT(s_count_phone(pg, tenant, phone), 1, "the customer exists once");
    KVT_EQ_INT(s_count_phone(pg, tenant, phone2), 0, "the other body never ran");
    kvt_resp_t e = s_retry(key, body, k, 1000, &tries);
    KVT_OK(e.status == 201 && idem_replayed(&e) && e.body && d.body && strcmp(e.body, d.body) == 0,
           "every later retry gets the same answer");
    kvt_resp_free(&a.resp); kvt_resp_free(&b); kvt_resp_free(&c);
    kvt_resp_free(&d); kvt_resp_free(&e);
}

static void test_pruning(const char *key, int64_t tenant, long long customer, PGconn *pg)
{
    char k1[96], k2[96], path[96], sql[512];
    idem_new_key("prune-old", k1);
    idem_new_key("prune-new", k2);
    snprintf(path, sizeof path, "/api/v1/customers/%lld", customer);
    kvt_resp_t a = idem_req(key, "PATCH", path, "{\"notes\":\"one\"}", k1, NULL);
    KVT_EQ_INT(a.status, 200, "a keyed update is recorded");
    snprintf(sql, sizeof sql, "UPDATE crm.idempotency_keys SET created_at = now() - "
             "interval '25 hours' WHERE tenant_id = %lld AND key = '%s'", (long long)tenant, k1);
    free(gw_sql(pg, sql));
    kvt_sleep_ms(1500);                      /* a pruning step is due again */
    kvt_resp_t b = idem_req(key, "PATCH", path, "{\"notes\":\"two\"}", k2, NULL);
    KVT_EQ_INT(b.status, 200, "another keyed update commits (and prunes after it)");
    long long old = -1, live = -1;
    for (int i = 0; i < 40; i++) {           /* the step runs right after that commit */
        snprintf(sql, sizeof sql, "SELECT count(*) FROM crm.idempotency_keys WHERE "
                 "tenant_id = %lld AND key = '%s'", (long long)tenant, k1);
        old = idem_sql_int(pg, sql);
        if (old == 0)
            break;
        kvt_sleep_ms(100);
    }
    snprintf(sql, sizeof sql, "SELECT count(*) FROM crm.idempotency_keys WHERE "
             "tenant_id = %lld AND key = '%s'", (long long)tenant, k2);
    live = idem_sql_int(pg, sql);
    KVT_EQ_INT(old, 0, "the expired key's record was pruned");
    KVT_EQ_INT(live, 1, "the live one is kept");
    kvt_resp_free(&a);
    kvt_resp_free(&b);
}

static void test_killed_then_retry(const char *key, int64_t tenant, PGconn *pg, long long n)
{
    char k[96], phone[32], body[256];
    idem_new_key("killed", k);
    snprintf(body, sizeof body, "{\"name\":\"Ida Killed\",\"phone\":\"%s\"}", idem_phone(phone));
    s_call_t a = { key, body, k, { 0 } };
    pthread_t th;
    pthread_create(&th, NULL, s_post, &a);
    KVT_OK(s_wait_running(pg, 10000), "the request is running in the slow instance");
    KVT_EQ_INT(bus_stack("kill", "crm", 2), 0, "the instance holding it is killed");
    pthread_join(th, NULL);
    KVT_EQ_INT(a.resp.status, 502, "its client gets 502 (may or may not have been applied)");

    KVT_EQ_INT(bus_stack("start", "crm", 1), 0, "a crm instance without the hook starts");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CRM, n, 15000), n, "its workers are registered");
    int tries;
    kvt_resp_t b = s_retry(key, body, k, 15000, &tries);
    KVT_EQ_INT(b.status, 201, "the retry runs the write: nothing had been committed (%d tries)",
               tries);
    KVT_OK(idem_fresh(&b), "a fresh answer, not a replay");
    KVT_EQ_INT(s_count_phone(pg, tenant, phone), 1, "the customer exists once");
    kvt_resp_free(&a.resp);
    kvt_resp_free(&b);
}

int main(void)
{
    int64_t tenant;
    char key[64];
    tenant = se_tenant("idem-races", "UTC", 15, key);
    long long customer = se_customer(key);   /* made before creates become slow */
    KVT_OK(customer > 0, "a customer to update");
    PGconn *pg = gw_pg_super();
    KVT_OK(pg != NULL, "the test can read the database");
    long long n = bus_per_instance(KV_SVC_CRM);
    KVT_OK(n > 0 && n <= 64, "crm has %lld workers per instance", n);
    if (!pg || n <= 0 || n > 64)
        return kvt_done();
    long long locks = idem_sql_int(pg, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                                       "ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                                       "AND a.application_name = 'kaivox-crm'");
    KVT_EQ_INT(locks, 0, "no crm connection holds an advisory lock before the test");

    KVT_EQ_INT(bus_stack("stop", "crm", 1), 0, "crm's instance stops");
    char env[128];
    snprintf(env, sizeof env, "KAIVOX_TEST_HOOKS=1 KAIVOX_TEST_SLOW_OPS=customers.create:%d "
             "KAIVOX_RETENTION_PRUNE_S=1", S_SLOW_MS);
    KVT_EQ_INT(bus_start("crm", 2, env), 0, "a crm instance whose customers.create is slow starts");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CRM, n, 15000), n, "its workers are registered");

    test_in_flight_then_504(key, tenant, pg);
    test_pruning(key, tenant, customer, pg);
    test_killed_then_retry(key, tenant, pg, n);

    (void)bus_stack("stop", "crm", 2);    /* killed already; nothing to stop */
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CRM, n, 15000), n, "crm is back to its one instance");
    PQfinish(pg);
    return kvt_done();
}
