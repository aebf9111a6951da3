/*
 * test_webhooks_logsize.c -- the largest legal page of the webhook API
 * fits the bus body limit (KV_BODY_MAX) with room to spare, because
 * nothing in it grows without bound.
 *
 *  - The endpoint list at its worst: the most endpoints a tenant may have
 *    (20), each with the longest URL (2048 characters: a URL holds no
 *    character JSON escapes) and description (1000) made of the character
 *    JSON doubles ('"').
 *  - The delivery log at its worst: a page of 100 deliveries (per_page's
 *    maximum), each with more attempts than are shown (12), every attempt
 *    with the longest error text the database accepts (300 characters of
 *    '"').  The attempts are written in the database as the deliverer
 *    would (an attempt log that long takes hours of real retries); each
 *    delivery shows its latest 10, in order, and attempts_total.
 * Both answers must stay under 1 MiB, the budget these pages were designed
 * to (proto/kv_sizes.h bounds them for any characters: KV_SZ_*_PAGE).
 */
#include "webhooks_e2e.h"
#include "kv_proto.h"

#define MAX_EP      20
#define PAGE        100
#define ATTEMPTS    12
#define SHOWN       10
#define BUDGET      (1024 * 1024)

/* A JSON string body of n '"' characters, escaped: into buf. */
static void s_quotes(char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = '\\';
        buf[2 * i + 1] = '"';
    }
    buf[2 * n] = '\0';
}

static void test_endpoint_list(const char *key)
{
    static char path[2048 + 1], desc[2 * 1000 + 1], body[8192];
    const char *base = "http://127.0.0.1:9/";
    size_t plen = 2048 - strlen(base);
    for (size_t i = 0; i < plen; i++)   /* percent-encoded quotes, as a URL must carry them */
        path[i] = i < plen - plen % 3 ? "%22"[i % 3] : 'a';
    path[plen] = '\0';
    s_quotes(desc, 1000);
    int made = 0;
    for (int i = 0; i < MAX_EP; i++) {
        snprintf(body, sizeof body, "{\"url\":\"%s%s\",\"events\":[\"call.ended\"],"
                 "\"description\":\"%s\"}", base, path, desc);
        kvt_resp_t r = kvt_api(key, "POST", "/api/v1/webhooks", body);
        made += r.status == 201;
        if (r.status != 201)
            fprintf(stderr, "create: %ld %.300s\n", r.status, r.body ? r.body : "");
        kvt_resp_free(&r);
    }
    KVT_EQ_INT(made, MAX_EP, "20 endpoints with 2048-character URLs and 1000-character "
               "descriptions");
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/webhooks?per_page=100", NULL);
    KVT_EQ_INT(r.status, 200, "the list of them answers 200");
    KVT_EQ_INT(se_len(&r), MAX_EP, "with all 20");
    json_t *first = json_array_get(se_data(&r), 0);
    KVT_EQ_INT(strlen(json_string_value(json_object_get(first, "url"))), 2048,
               "each URL shown whole");
    fprintf(stderr, "logsize: worst endpoint list: %zu bytes\n", r.body_len);
    KVT_OK(r.body_len < BUDGET, "it is under 1 MiB (%zu bytes)", r.body_len);
    kvt_resp_free(&r);
}

static void test_delivery_log(const char *key, int64_t tenant)
{
    long long ep = wh_endpoint(key, "http://127.0.0.1:9/worst-log", "[\"call.ended\"]", NULL);
    KVT_OK(ep > 0, "an endpoint for the worst delivery log");
    char ts[24], es[24], pg[24], at[24];
    snprintf(ts, sizeof ts, "%lld", (long long)tenant);
    snprintf(es, sizeof es, "%lld", ep);
    snprintf(pg, sizeof pg, "%d", PAGE);
    snprintf(at, sizeof at, "%d", ATTEMPTS);
    const char *p[4] = { ts, es, pg, at };
    /* 100 events of a producer of this test's own, 100 failed deliveries,
     * 12 attempts each with the longest error text allowed. */
    long long n = wh_sql_int("webhooks",
        "WITH ev AS (INSERT INTO webhooks.events (tenant_id, producer, seq, event_id, type, "
        "  created_at, body) SELECT $1::bigint, 'test-logsize-' || $2::text, g, gen_random_uuid()::text, "
        "  'appointment.cancelled', now(), '{}' FROM generate_series(1, $3::int) g RETURNING id), "
        "dl AS (INSERT INTO webhooks.deliveries (tenant_id, endpoint_id, event_ref, status, "
        "  attempt_count) SELECT $1::bigint, $2::bigint, id, 'failed', 4 FROM ev RETURNING id) "
        "INSERT INTO webhooks.attempts (tenant_id, delivery_id, attempted_at, status_code, error, "
        "  duration_ms) SELECT $1::bigint, dl.id, now() - make_interval(mins => $4::int - k), "
        "  599, repeat('\"', 300), 120000 FROM dl, generate_series(1, $4::int) k", 4, p);
    KVT_EQ_INT(n, PAGE * ATTEMPTS, "100 deliveries with 12 attempts of 300-character errors");
    const char *q[1] = { es };
    long long refused = wh_sql_int("webhooks",
        "INSERT INTO webhooks.attempts (tenant_id, delivery_id, attempted_at, error, duration_ms) "
        "SELECT tenant_id, id, now(), repeat('x', 301), 1 FROM webhooks.deliveries "
        "WHERE endpoint_id = $1 LIMIT 1", 1, q);
    KVT_EQ_INT(refused, -1, "the database refuses an error text over 300 characters");

    char path[128];
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/deliveries?per_page=100", ep);
    kvt_resp_t r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "the largest page of the log answers 200");
    KVT_EQ_INT(se_len(&r), PAGE, "with 100 deliveries");
    int capped = 0, totals = 0, ordered = 0;
    size_t i;
    json_t *d;
    json_array_foreach(se_data(&r), i, d) {
        json_t *att = json_object_get(d, "attempts");
        capped += json_array_size(att) == SHOWN;
        totals += json_integer_value(json_object_get(d, "attempts_total")) == ATTEMPTS;
        /* the latest 10, oldest first: the 3rd to the 12th, minutes apart */
        const char *a0 = json_string_value(json_object_get(json_array_get(att, 0), "attempted_at"));
        const char *a9 = json_string_value(json_object_get(json_array_get(att, SHOWN - 1),
                                                           "attempted_at"));
        ordered += a0 && a9 && strcmp(a0, a9) < 0;
    }
    KVT_EQ_INT(capped, PAGE, "each delivery shows 10 attempts, not all 12");
    KVT_EQ_INT(totals, PAGE, "and attempts_total says 12");
    KVT_EQ_INT(ordered, PAGE, "the attempts shown are in order, oldest first");
    json_t *last = json_array_get(json_object_get(json_array_get(se_data(&r), 0), "attempts"),
                                  SHOWN - 1);
    KVT_EQ_INT(strlen(json_string_value(json_object_get(last, "error"))), 300,
               "each error shown whole");
    fprintf(stderr, "logsize: worst delivery page: %zu bytes (bus body limit %d)\n", r.body_len,
            KV_BODY_MAX);
    KVT_OK(r.body_len < BUDGET, "it is under 1 MiB (%zu bytes)", r.body_len);
    kvt_resp_free(&r);
}

int main(void)
{
    char key_a[64], key_b[64];
    se_tenant("wh-logsize-a", "UTC", 0, key_a);
    int64_t b = se_tenant("wh-logsize-b", "UTC", 0, key_b);
    test_endpoint_list(key_a);
    test_delivery_log(key_b, b);
    return kvt_done();
}
