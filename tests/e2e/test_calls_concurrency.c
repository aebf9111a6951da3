/*
 * test_calls_concurrency.c -- a telephony bridge that retries eagerly may
 * send the same call several times at once.  Eight concurrent POSTs with
 * one external_id must log exactly one call (one 201, the others 200 with
 * the same call): the unique index decides (INSERT ... ON CONFLICT DO
 * NOTHING), not a check-then-insert.  The caller, new to crm, must become
 * exactly one customer.
 */
#include <pthread.h>

#include "calls_e2e.h"

#define N_THREADS 8

static char key[64];
static pthread_barrier_t s_barrier;

static const char *const BODY =
    "{\"caller_phone\":\"+15550111001\",\"caller_name\":\"Rita Race\","
    "\"started_at\":\"2026-06-01T10:00:00Z\",\"duration_seconds\":8,"
    "\"external_id\":\"race-1\"}";

typedef struct {
    long status;
    long long id;
    long long customer_id;
} s_result_t;

static void *s_post(void *arg)
{
    s_result_t *res = arg;
    pthread_barrier_wait(&s_barrier);
    kvt_resp_t r = calls_post(key, BODY);
    res->status = r.status;
    res->id = calls_int(&r, "id");
    res->customer_id = calls_int(&r, "customer_id");
    kvt_resp_free(&r);
    return NULL;
}

int main(void)
{
    if (kvt_tenant("calls-race", "UTC", NULL, key) != 0) {
        KVT_OK(0, "a test tenant can be created");
        return kvt_done();
    }
    pthread_t th[N_THREADS];
    s_result_t res[N_THREADS];
    memset(res, 0, sizeof res);
    pthread_barrier_init(&s_barrier, NULL, N_THREADS);
    for (int i = 0; i < N_THREADS; i++)
        pthread_create(&th[i], NULL, s_post, &res[i]);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&s_barrier);

    int created = 0, replayed = 0, same_id = 1, same_customer = 1;
    for (int i = 0; i < N_THREADS; i++) {
        if (res[i].status == 201)
            created++;
        else if (res[i].status == 200)
            replayed++;
        if (res[i].id != res[0].id || res[i].id <= 0)
            same_id = 0;
        if (res[i].customer_id != res[0].customer_id || res[i].customer_id <= 0)
            same_customer = 0;
    }
    KVT_EQ_INT(created, 1, "eight concurrent POSTs of one external_id create exactly one call");
    KVT_EQ_INT(replayed, N_THREADS - 1, "the other concurrent POSTs answer 200");
    KVT_OK(same_id, "every concurrent POST answers the same call");
    KVT_OK(same_customer, "every answer links the same customer");

    char ids[256];
    long long total = -1;
    calls_list_ids(key, "", ids, sizeof ids, &total);
    KVT_EQ_INT(total, 1, "the tenant has exactly one call");

    kvt_resp_t s = kvt_api(key, "GET", "/api/v1/customers?search=5550111001", NULL);
    KVT_EQ_INT(calls_meta(&s, "total"), 1, "the racing new caller became exactly one customer");
    kvt_resp_free(&s);
    return kvt_done();
}
