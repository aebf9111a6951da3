/*
 * test_gateway_db_restart.c -- PostgreSQL going away and coming back under
 * running services.
 *
 * While the database is down, requests get the 503 envelope quickly (never
 * a hang, never a crash) and /readyz says not ready while /healthz stays
 * up; once it is back, every service reconnects by itself (kv_db
 * re-prepares its statements) and requests succeed again without
 * restarting any process.
 */
#include <stdio.h>
#include <string.h>

#include "gw_e2e.h"

/* GET path with key until it answers want (or ~timeout_ms passes). */
static long s_poll_status(const char *key, const char *path, long want, int timeout_ms)
{
    long last = 0;
    for (int waited = 0; waited <= timeout_ms; waited += 250) {
        kvt_resp_t r = kvt_api(key, "GET", path, NULL);
        last = r.status;
        kvt_resp_free(&r);
        if (last == want)
            break;
        kvt_sleep_ms(250);
    }
    return last;
}

int main(void)
{
    int64_t tid;
    char key[64];
    if (kvt_tenant("dbrestart", NULL, &tid, key) != 0) {
        kvt_check(0, "admin API unreachable", "db restart: tenant created");
        return kvt_done();
    }
    long long sid = gw_make_service(tid, "Before restart", 30, "20.00");
    KVT_OK(sid > 0, "db restart: service created");

    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "db restart: services answer before the restart");
    kvt_resp_free(&r);

    KVT_EQ_INT(kvt_stack("db-stop"), 0, "db restart: PostgreSQL stopped");

    /* the key is still cached: the request reaches scheduling, whose
     * database is gone */
    r = kvt_api(key, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 503, "db restart: a request while the database is down answers 503");
    KVT_OK(gw_is_error(&r, "Service temporarily unavailable."),
           "db restart: the 503 is the error envelope");
    KVT_OK(r.seconds < 5.0, "db restart: the 503 comes fast (%.2f s)", r.seconds);
    kvt_resp_free(&r);

    r = gw_get_with("/healthz", NULL);
    KVT_EQ_INT(r.status, 200, "db restart: /healthz stays up while the database is down");
    kvt_resp_free(&r);
    r = gw_get_with("/readyz", NULL);
    KVT_EQ_INT(r.status, 503, "db restart: /readyz is not ready while the database is down");
    kvt_resp_free(&r);

    KVT_EQ_INT(kvt_stack("db-start"), 0, "db restart: PostgreSQL started again");

    KVT_EQ_INT(s_poll_status(key, "/api/v1/services", 200, 15000), 200,
               "db restart: scheduling serves again without being restarted");
    r = kvt_api(key, "GET", "/api/v1/services", NULL);
    json_t *data = json_object_get(r.json, "data");
    KVT_EQ_INT((long long)json_array_size(data), 1, "db restart: the data survived the restart");
    kvt_resp_free(&r);

    r = kvt_apif(key, "POST", "/api/v1/customers",
                 "{\"name\":\"After Restart\",\"phone\":\"+1 555 0100 %lld\"}", (long long)(tid % 1000));
    KVT_EQ_INT(r.status, 201, "db restart: crm writes again without being restarted");
    kvt_resp_free(&r);

    long ready = 0;
    for (int waited = 0; waited <= 15000 && ready != 200; waited += 250) {
        r = gw_get_with("/readyz", NULL);
        ready = r.status;
        kvt_resp_free(&r);
        if (ready != 200)
            kvt_sleep_ms(250);
    }
    KVT_EQ_INT(ready, 200, "db restart: /readyz is ready again");
    return kvt_done();
}
