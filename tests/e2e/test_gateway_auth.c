/*
 * test_gateway_auth.c -- API key authentication end to end: the three ways
 * to pass a key, a missing key, keys of the wrong shape (prefix, length,
 * alphabet, checksum), a well-formed unknown key (made with the
 * deployment's secret) answered from the negative cache the second time,
 * WWW-Authenticate on every 401, revocation taking effect within the cache
 * TTL, and no key ever reaching the gateway's log.
 */
#include <time.h>

#include "gw_e2e.h"
/* The key shape functions are pure: the test builds well-formed keys that
 * the gateway never issued with the very code that checks them. */
#include "../../services/gateway/gw_keys.c"

static long s_status_with_header(const char *path, const char *header)
{
    kvt_resp_t r = gw_get_with(path, header);
    long st = r.status;
    kvt_resp_free(&r);
    return st;
}

/* The gateway's log file, or NULL when the test cannot find it. */
static char *s_read_log(void)
{
    char path[1024];
    const char *var = kvt_env("KAIVOX_VAR_DIR", NULL);
    if (!var)
        return NULL;
    snprintf(path, sizeof path, "%s/log/gateway.log", var);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

int main(void)
{
    int64_t tid;
    char key[64], hdr[256], path[256];
    if (kvt_tenant("gw-auth", NULL, &tid, key) != 0) {
        KVT_OK(0, "a tenant and key can be created");
        return kvt_done();
    }

    /* --- the three methods --- */
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "Authorization: Bearer key is accepted");
    KVT_OK(json_is_true(json_object_get(r.json, "success")), "bearer answer is a success envelope");
    kvt_resp_free(&r);

    snprintf(hdr, sizeof hdr, "X-API-Key: %s", key);
    KVT_EQ_INT(s_status_with_header("/api/v1/services", hdr), 200, "X-API-Key header is accepted");

    snprintf(path, sizeof path, "/api/v1/services?api_key=%s", key);
    KVT_EQ_INT(s_status_with_header(path, NULL), 200, "?api_key= query parameter is accepted");
    snprintf(path, sizeof path, "/api/v1/services?page=1&api_key=%s&per_page=5", key);
    r = gw_get_with(path, NULL);
    KVT_EQ_INT(r.status, 200, "?api_key= among other query parameters is accepted");
    json_t *pp = json_object_get(json_object_get(r.json, "meta"), "per_page");
    KVT_EQ_INT(json_integer_value(pp), 5, "other query parameters still reach the service");
    kvt_resp_free(&r);

    snprintf(hdr, sizeof hdr, "Authorization: bearer %s", key);
    KVT_EQ_INT(s_status_with_header("/api/v1/services", hdr), 200, "the Bearer scheme is case-insensitive");

    /* --- missing --- */
    r = kvt_api(NULL, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 401, "no key is 401");
    KVT_OK(gw_is_error(&r, "API key missing."), "no key says API key missing.");
    char www0[128] = "";
    kvt_header(&r, "WWW-Authenticate", www0, sizeof www0);
    KVT_EQ_STR(www0, "Bearer", "a missing key's 401 carries WWW-Authenticate: Bearer");
    KVT_OK(gw_has_hdr(&r, "X-Request-Id"), "401 carries X-Request-Id");
    KVT_OK(!gw_has_hdr(&r, "X-RateLimit-Limit"), "401 carries no rate-limit headers");
    kvt_resp_free(&r);
    KVT_EQ_INT(s_status_with_header("/api/v1/services", "Authorization: Basic dXNlcjpwYXNz"), 401,
               "a non-Bearer Authorization is no key");
    KVT_EQ_INT(s_status_with_header("/api/v1/services?api_key=", NULL), 401, "an empty ?api_key= is no key");

    /* --- wrong shapes, all 401 "Invalid API key." --- */
    char bad[64];
    const char *names[] = { "wrong prefix", "too short", "too long", "outside the alphabet",
                            "wrong checksum", "lower-case prefix swap" };
    for (int i = 0; i < 6; i++) {
        snprintf(bad, sizeof bad, "%s", key);
        switch (i) {
        case 0: memcpy(bad, "kv2_", 4); break;
        case 1: bad[strlen(bad) - 1] = '\0'; break;
        case 2: strcat(bad, "A"); break;
        case 3: bad[8] = '_'; break;
        case 4: bad[8] = bad[8] == 'a' ? 'b' : 'a'; break;
        case 5: memcpy(bad, "KV1_", 4); break;
        }
        r = kvt_api(bad, "GET", "/api/v1/services", NULL);
        KVT_EQ_INT(r.status, 401, "key with %s is 401", names[i]);
        KVT_OK(gw_is_error(&r, "Invalid API key."), "key with %s says Invalid API key.", names[i]);
        kvt_resp_free(&r);
    }
    /* A key with a valid keyed checksum that was never issued: made here
     * with the deployment's secret, read from the database as its
     * superuser (a client cannot do that). */
    char forged[GW_KEY_LEN + 1];
    unsigned char secret[GW_KEY_SECRET_LEN];
    PGconn *pg = gw_pg_super();
    char *hex = pg ? gw_sql(pg, "SELECT encode(secret, 'hex') FROM gateway.key_secret") : NULL;
    KVT_OK(hex && gw_key_unhex(hex, secret) == 0, "the key secret exists in the gateway's schema");
    free(hex);
    gw_key_generate(secret, forged);
    r = kvt_api(forged, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 401, "well-formed key that was never issued is 401");
    KVT_OK(gw_is_error(&r, "Invalid API key."), "unknown key says Invalid API key.");
    char www[128] = "";
    kvt_header(&r, "WWW-Authenticate", www, sizeof www);
    KVT_EQ_STR(www, "Bearer error=\"invalid_token\"", "an invalid key's 401 carries WWW-Authenticate: Bearer error=\"invalid_token\"");
    kvt_resp_free(&r);
    long long lookups = gw_stat(NULL, "keys", "lookups");
    r = kvt_api(forged, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 401, "unknown key stays 401 when answered from the negative cache");
    kvt_resp_free(&r);
    KVT_EQ_INT(gw_stat(NULL, "keys", "lookups"), lookups, "the second try of an unknown key costs no lookup");
    if (pg)
        PQfinish(pg);

    /* The key is checked on the headers: an anonymous client announcing a
     * 1 MB body gets its 401 before sending a byte of it, and the
     * connection is closed (the body is never read). */
    {
        const char *base = kvt_env("KVT_BASE_URL", "http://127.0.0.1:18080");
        int port = atoi(strrchr(base, ':') + 1);
        int fd = gw_connect_from("127.0.0.11", port), closed = 0;
        const char *req = "POST /api/v1/customers HTTP/1.1\r\nHost: t\r\n"
                          "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n";
        char buf[2048];
        int64_t t0 = kv_mono_ms();
        if (fd >= 0)
            send(fd, req, strlen(req), MSG_NOSIGNAL);
        gw_read_reply(fd, buf, sizeof buf, 3000, &closed);
        int64_t took = kv_mono_ms() - t0;
        KVT_EQ_INT(gw_reply_status(buf), 401, "an anonymous POST announcing 1 MB is 401 before its body is sent");
        KVT_OK(took < 2000, "... at once (%lld ms)", (long long)took);
        KVT_OK(strcasestr(buf, "\r\nConnection: close\r\n") != NULL, "... and the connection is closed");
        if (fd >= 0)
            close(fd);
    }

    /* 401 comes before the route table: nothing leaks about routes. */
    r = kvt_api(NULL, "GET", "/api/v1/no-such-route", NULL);
    KVT_EQ_INT(r.status, 401, "without a key an unknown route is 401, not 404");
    kvt_resp_free(&r);
    r = kvt_api(NULL, "DELETE", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 401, "without a key a wrong method is 401, not 405");
    kvt_resp_free(&r);

    /* --- key listing shows no secrets --- */
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/keys", (long long)tid);
    r = kvt_admin("GET", path, NULL);
    json_t *k0 = json_array_get(json_object_get(r.json, "data"), 0);
    long long key_id = json_integer_value(json_object_get(k0, "id"));
    KVT_EQ_INT(r.status, 200, "the tenant's keys can be listed");
    KVT_OK(k0 && !json_object_get(k0, "key") && !json_object_get(k0, "key_hash"),
           "a listed key shows neither the key nor its hash");
    KVT_OK(r.body && !strstr(r.body, key + 12), "the key's secret part is nowhere in the listing");
    KVT_OK(json_string_value(json_object_get(k0, "prefix")) &&
           strncmp(json_string_value(json_object_get(k0, "prefix")), key, 12) == 0,
           "a listed key shows its 12-character prefix");
    KVT_OK(json_object_get(k0, "last_used_at") && !json_is_null(json_object_get(k0, "last_used_at")),
           "last_used_at is set after the key was used");
    KVT_OK(json_is_false(json_object_get(k0, "legacy")),
           "a key made now is not legacy (it carries the keyed checksum)");
    kvt_resp_free(&r);

    /* --- no key in the log: find our request's line, check the key is absent --- */
    snprintf(path, sizeof path, "/api/v1/services?api_key=%s", key);
    char rid[80];
    snprintf(rid, sizeof rid, "X-Request-Id: gw-auth-log-%ld", (long)time(NULL));
    r = gw_get_with(path, rid);
    kvt_resp_free(&r);
    char *log = NULL;
    int found = 0;
    for (int i = 0; i < 50 && !found; i++) {
        free(log);
        log = s_read_log();
        found = log && strstr(log, rid + strlen("X-Request-Id: ")) != NULL;
        if (!found)
            kvt_sleep_ms(100);
    }
    KVT_OK(found, "the request with ?api_key= is logged under its request id");
    KVT_OK(log && !strstr(log, key), "the gateway's log never contains the API key");
    KVT_OK(log && !strstr(log, key + 12), "the gateway's log never contains the key's secret part");
    free(log);

    /* --- revocation: 401 within the cache TTL (5 s), polled --- */
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/keys/%lld/revoke", (long long)tid, key_id);
    r = kvt_admin("POST", path, NULL);
    KVT_EQ_INT(r.status, 200, "the key can be revoked");
    KVT_OK(!json_is_null(json_object_get(json_object_get(r.json, "data"), "revoked_at")),
           "revocation sets revoked_at");
    kvt_resp_free(&r);
    int64_t t0 = kv_mono_ms();
    long st = 0;
    double waited = 0;
    do {
        r = kvt_api(key, "GET", "/api/v1/services", NULL);
        st = r.status;
        kvt_resp_free(&r);
        waited = (double)(kv_mono_ms() - t0) / 1000;
        if (st != 401)
            kvt_sleep_ms(200);
    } while (st != 401 && waited < 6.0);
    KVT_EQ_INT(st, 401, "a revoked key is refused within 6 s (took %.1f s)", waited);
    snprintf(hdr, sizeof hdr, "X-API-Key: %s", key);
    KVT_EQ_INT(s_status_with_header("/api/v1/services", hdr), 401, "a revoked key is refused via X-API-Key too");
    return kvt_done();
}
