/*
 * test_webhooks_limits.c -- what a tenant may register: at most
 * KAIVOX_WEBHOOK_MAX_ENDPOINTS (20) endpoints, enforced by the database
 * even for concurrent creates; no URL with user-info (and the password of
 * one stored before that rule is never shown back); no address of the
 * IANA special-purpose ranges, 6to4, Teredo and NAT64 included.
 */
#include "webhooks_e2e.h"

#define MAX_EP   20      /* KAIVOX_WEBHOOK_MAX_ENDPOINTS default */
#define RACERS   30

static void test_limit(const char *key)
{
    long long ids[MAX_EP];
    int created = 0;
    for (int i = 0; i < MAX_EP; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:9/limit-%d", i);
        ids[i] = wh_endpoint(key, url, "[\"call.ended\"]", NULL);
        created += ids[i] > 0;
    }
    KVT_EQ_INT(created, MAX_EP, "a tenant creates 20 endpoints");
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/webhooks",
                           "{\"url\":\"http://127.0.0.1:9/one-too-many\",\"events\":[\"call.ended\"]}");
    KVT_EQ_INT(r.status, 422, "the 21st endpoint is refused with 422");
    KVT_OK(se_has_err(&r, "endpoints"), "the refusal is errors.endpoints");
    json_t *msg = json_array_get(json_object_get(json_object_get(r.json, "errors"), "endpoints"), 0);
    KVT_OK(json_string_value(msg) && strstr(json_string_value(msg), "20"),
           "the message names the limit (%s)", json_string_value(msg) ? json_string_value(msg) : "");
    kvt_resp_free(&r);

    char path[96];
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld", ids[0]);
    r = kvt_api(key, "DELETE", path, NULL);
    kvt_resp_free(&r);
    KVT_OK(wh_endpoint(key, "http://127.0.0.1:9/after-delete", "[\"call.ended\"]", NULL) > 0,
           "after deleting one, a tenant at the limit may create one again");
    r = kvt_api(key, "GET", "/api/v1/webhooks?per_page=100", NULL);
    KVT_EQ_INT(se_meta(&r, "total"), MAX_EP, "the tenant has exactly 20 endpoints");
    kvt_resp_free(&r);
}

typedef struct {
    const char *key;
    int n;
    long status;
} s_racer_t;

static void *s_race(void *arg)
{
    s_racer_t *x = arg;
    kvt_resp_t r = kvt_apif(x->key, "POST", "/api/v1/webhooks",
                            "{\"url\":\"http://127.0.0.1:9/race-%d\",\"events\":[\"call.ended\"]}",
                            x->n);
    x->status = r.status;
    kvt_resp_free(&r);
    return NULL;
}

/* 30 creates at once from an empty tenant: the limit holds exactly. */
static void test_limit_race(const char *key)
{
    pthread_t th[RACERS];
    s_racer_t x[RACERS];
    for (int i = 0; i < RACERS; i++) {
        x[i] = (s_racer_t){ key, i, 0 };
        pthread_create(&th[i], NULL, s_race, &x[i]);
    }
    int ok = 0, refused = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        ok += x[i].status == 201;
        refused += x[i].status == 422;
    }
    KVT_EQ_INT(ok, MAX_EP, "of 30 concurrent creates exactly 20 succeed");
    KVT_EQ_INT(refused, RACERS - MAX_EP, "and the other 10 are refused with 422");
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/webhooks?per_page=100", NULL);
    KVT_EQ_INT(se_meta(&r, "total"), MAX_EP, "the database holds 20 endpoints, not more");
    kvt_resp_free(&r);
}

static void test_userinfo(const char *key, int64_t tenant)
{
    static const char *const urls[] = {
        "http://user:s3cr3t-pw@127.0.0.1:9/x", "http://:s3cr3t-pw@127.0.0.1:9/x",
        "http://user@127.0.0.1:9/x", "http://@127.0.0.1:9/x",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        kvt_resp_t r = kvt_apif(key, "POST", "/api/v1/webhooks",
                                "{\"url\":\"%s\",\"events\":[\"call.ended\"]}", urls[i]);
        KVT_EQ_INT(r.status, 422, "a URL with user-info is refused (%s)", urls[i]);
        KVT_OK(se_has_err(&r, "url"), "as errors.url (%s)", urls[i]);
        KVT_OK(r.body && !strstr(r.body, "s3cr3t-pw"), "the refusal never repeats the password");
        kvt_resp_free(&r);
    }
    long long id = wh_endpoint(key, "http://127.0.0.1:9/plain", "[\"call.ended\"]", NULL);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld", id);
    kvt_resp_t r = kvt_apif(key, "PATCH", path, "{\"url\":\"http://u:s3cr3t-pw@127.0.0.1:9/p\"}");
    KVT_EQ_INT(r.status, 422, "an update to a URL with user-info is refused");
    KVT_OK(r.body && !strstr(r.body, "s3cr3t-pw"), "and does not repeat the password");
    kvt_resp_free(&r);

    /* An endpoint stored before the rule (written as the service would
     * have): its password is never shown back. */
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", (long long)tenant);
    const char *p[1] = { tid };
    long long legacy = wh_sql_int("webhooks",
        "INSERT INTO webhooks.endpoints (tenant_id, url, secret, events) VALUES ($1, "
        "'https://legacy-user:s3cr3t-pw@127.0.0.1:9/legacy?a=b@c', "
        "'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '{call.ended}') RETURNING id", 1, p);
    KVT_OK(legacy > 0, "an endpoint with user-info from before the rule exists");
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld", legacy);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_STR(se_str(&r, "url"), "https://127.0.0.1:9/legacy?a=b@c",
               "show gives its URL without the user-info (the query's @ kept)");
    KVT_OK(r.body && !strstr(r.body, "s3cr3t-pw") && !strstr(r.body, "legacy-user"),
           "show never carries its user name or password");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/webhooks?per_page=100", NULL);
    KVT_OK(r.status == 200 && r.body && !strstr(r.body, "s3cr3t-pw"),
           "the list never carries its password");
    kvt_resp_free(&r);
    r = kvt_apif(key, "PATCH", path, "{\"description\":\"kept\"}");
    KVT_OK(r.status == 200 && r.body && !strstr(r.body, "s3cr3t-pw"),
           "an update answer never carries its password");
    kvt_resp_free(&r);
}

static void test_special_ranges(const char *key)
{
    static const struct { const char *url, *name; } cases[] = {
        { "http://[2002:7f00:1::1]/x", "6to4 (2002::/16)" },
        { "http://[2002:808:808::1]/x", "6to4 embedding a public address" },
        { "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x", "Teredo (2001::/32)" },
        { "http://[64:ff9b::7f00:1]/x", "NAT64 (64:ff9b::/96) of loopback" },
        { "http://[64:ff9b::808:808]/x", "NAT64 of a public address" },
        { "http://[64:ff9b:1::1]/x", "local-use NAT64 (64:ff9b:1::/48)" },
        { "http://[::ffff:127.0.0.1]/x", "IPv4-mapped loopback" },
        { "http://[100::1]/x", "discard-only (100::/64)" },
        { "http://[2001:2::1]/x", "benchmarking (2001:2::/48)" },
        { "http://[3fff::1]/x", "documentation (3fff::/20)" },
        { "http://[5f00::1]/x", "SRv6 (5f00::/16)" },
        { "http://[fec0::1]/x", "site-local (fec0::/10)" },
        { "http://192.88.99.1/x", "6to4 relay anycast (192.88.99.0/24)" },
        { "http://192.0.0.9/x", "IETF protocol assignments (192.0.0.0/24)" },
        { "http://198.18.0.1/x", "benchmarking (198.18.0.0/15)" },
        { "http://192.31.196.1/x", "AS112 (192.31.196.0/24)" },
        { "http://240.0.0.1/x", "reserved (240.0.0.0/4)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kvt_resp_t r = kvt_apif(key, "POST", "/api/v1/webhooks",
                                "{\"url\":\"%s\",\"events\":[\"call.ended\"]}", cases[i].url);
        KVT_EQ_INT(r.status, 422, "a URL to %s is refused", cases[i].name);
        KVT_OK(se_has_err(&r, "url"), "as errors.url (%s)", cases[i].name);
        kvt_resp_free(&r);
    }
    static char longurl[2100], body[2300];
    memset(longurl, 'a', sizeof longurl - 1);
    memcpy(longurl, "http://127.0.0.1:9/", 19);
    longurl[2049] = '\0';
    snprintf(body, sizeof body, "{\"url\":\"%s\",\"events\":[\"call.ended\"]}", longurl);
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/webhooks", body);
    KVT_EQ_INT(r.status, 422, "a URL of 2049 characters is refused");
    KVT_OK(r.body && strstr(r.body, "greater than 2048"), "saying the limit");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/webhooks", NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 0, "none of them left an endpoint behind");
    kvt_resp_free(&r);
}

int main(void)
{
    char key_a[64], key_b[64], key_c[64], key_d[64];
    se_tenant("wh-limit-a", "UTC", 0, key_a);
    se_tenant("wh-limit-b", "UTC", 0, key_b);
    int64_t c = se_tenant("wh-limit-c", "UTC", 0, key_c);
    se_tenant("wh-limit-d", "UTC", 0, key_d);
    test_limit(key_a);
    test_limit_race(key_b);
    test_userinfo(key_c, c);
    test_special_ranges(key_d);
    return kvt_done();
}
