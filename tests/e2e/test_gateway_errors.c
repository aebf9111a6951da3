/*
 * test_gateway_errors.c -- the gateway's own answers: 404 unknown route,
 * 405 wrong method with Allow, 413 body over 1 MiB (by Content-Length and
 * chunked), 400 malformed JSON and query, X-Request-Id echoed or made and
 * present on every answer, JSON content type, /healthz and /readyz, and
 * keep-alive.
 */
#include <curl/curl.h>

#include "gw_e2e.h"

static int s_rid_ok(const kvt_resp_t *r)
{
    char v[128];
    return kvt_header(r, "X-Request-Id", v, sizeof v) == 0 && strlen(v) >= 1 && strlen(v) <= 64;
}

static int s_is_json(const kvt_resp_t *r)
{
    char v[128];
    return kvt_header(r, "Content-Type", v, sizeof v) == 0 && strncmp(v, "application/json", 16) == 0;
}

/* Two requests on one libcurl handle; returns the number of new
 * connections the second one needed (0 = the first was kept alive). */
static long s_keepalive_connects(const char *url, const char *auth)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    FILE *devnull = fopen("/dev/null", "w");
    long connects = -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    if (curl_easy_perform(c) == CURLE_OK && curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    fclose(devnull);
    return connects;
}

int main(void)
{
    int64_t tid;
    char key[64], auth[128], url[1024];
    if (kvt_tenant("gw-errors", NULL, &tid, key) != 0) {
        KVT_OK(0, "a tenant and key can be created");
        return kvt_done();
    }
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *base = kvt_env("KVT_BASE_URL", "http://127.0.0.1:18080");

    /* --- health --- */
    kvt_resp_t r = gw_get_with("/healthz", NULL);
    KVT_EQ_INT(r.status, 200, "/healthz answers 200 without a key");
    KVT_EQ_STR(json_string_value(json_object_get(json_object_get(r.json, "data"), "status")), "ok",
               "/healthz says status ok");
    KVT_OK(s_rid_ok(&r), "/healthz carries X-Request-Id");
    kvt_resp_free(&r);
    r = gw_get_with("/readyz", NULL);
    KVT_EQ_INT(r.status, 200, "/readyz answers 200 with the whole stack up");
    json_t *w = json_object_get(json_object_get(r.json, "data"), "workers");
    KVT_OK(json_integer_value(json_object_get(w, "scheduling")) > 0 &&
           json_integer_value(json_object_get(w, "crm")) > 0 &&
           json_integer_value(json_object_get(w, "calls")) > 0 &&
           json_integer_value(json_object_get(w, "webhooks")) > 0,
           "/readyz counts live workers of every service");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/healthz", base);
    r = kvt_http("POST", url, "{}", 2, NULL);
    KVT_EQ_INT(r.status, 405, "POST /healthz is 405");
    kvt_resp_free(&r);

    /* --- 404 --- */
    r = kvt_api(key, "GET", "/api/v1/nothing-here", NULL);
    KVT_EQ_INT(r.status, 404, "unknown route is 404");
    KVT_OK(gw_is_error(&r, "Route not found."), "unknown route says Route not found.");
    KVT_OK(s_rid_ok(&r) && s_is_json(&r), "404 carries X-Request-Id and a JSON content type");
    KVT_OK(gw_has_hdr(&r, "X-RateLimit-Remaining"), "authenticated 404 carries rate-limit headers");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/services/abc", NULL);
    KVT_EQ_INT(r.status, 404, "non-numeric id is 404");
    KVT_OK(gw_is_error(&r, "Route not found."), "non-numeric id is an unknown route");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/services/", NULL);
    KVT_EQ_INT(r.status, 404, "trailing slash is 404");
    kvt_resp_free(&r);
    r = gw_get_with("/not-api", NULL);
    KVT_EQ_INT(r.status, 404, "path outside /api/v1 is 404 without a key");
    KVT_OK(gw_is_error(&r, "Route not found.") && s_rid_ok(&r), "outside /api/v1 the 404 is an envelope with X-Request-Id");
    kvt_resp_free(&r);

    /* --- 405 --- */
    r = kvt_api(key, "DELETE", "/api/v1/services", NULL);
    char allow[128] = "";
    kvt_header(&r, "Allow", allow, sizeof allow);
    KVT_EQ_INT(r.status, 405, "wrong method is 405");
    KVT_EQ_STR(allow, "GET", "405 lists the allowed methods in Allow");
    KVT_OK(gw_is_error(&r, "Method not allowed."), "405 is an error envelope");
    KVT_OK(s_rid_ok(&r), "405 carries X-Request-Id");
    kvt_resp_free(&r);
    r = kvt_api(key, "PUT", "/api/v1/appointments/1", "{}");
    allow[0] = '\0';
    kvt_header(&r, "Allow", allow, sizeof allow);
    KVT_EQ_INT(r.status, 405, "PUT on an appointment is 405");
    KVT_EQ_STR(allow, "GET, DELETE, PATCH", "Allow lists every method of the path");
    kvt_resp_free(&r);

    /* --- 413: 2 MiB --- */
    size_t big = 2u * 1024 * 1024;
    char *blob = malloc(big + 1);
    memset(blob, ' ', big);
    blob[0] = '{';
    blob[big - 1] = '}';
    blob[big] = '\0';
    snprintf(url, sizeof url, "%s/api/v1/customers", base);
    const char *h1[] = { auth, NULL };
    r = kvt_http("POST", url, blob, big, h1);
    KVT_EQ_INT(r.status, 413, "a 2 MiB body is 413");
    KVT_OK(gw_is_error(&r, "Request body too large."), "413 is an error envelope");
    KVT_OK(s_rid_ok(&r), "413 carries X-Request-Id");
    kvt_resp_free(&r);
    const char *h2[] = { auth, "Transfer-Encoding: chunked", NULL };
    r = kvt_http("POST", url, blob, big, h2);
    KVT_EQ_INT(r.status, 413, "a 2 MiB chunked body (no Content-Length) is 413");
    kvt_resp_free(&r);
    free(blob);
    r = kvt_api(key, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "the gateway serves normally after oversized bodies");
    kvt_resp_free(&r);

    /* --- 400 --- */
    r = kvt_api(key, "POST", "/api/v1/customers", "{\"name\": ");
    KVT_EQ_INT(r.status, 400, "malformed JSON is 400");
    KVT_OK(gw_is_error(&r, "Malformed JSON body."), "malformed JSON says Malformed JSON body.");
    KVT_OK(s_rid_ok(&r), "400 carries X-Request-Id");
    kvt_resp_free(&r);
    r = kvt_api(key, "PATCH", "/api/v1/customers/1", "{\"a\":\"\\u0000\"}");
    KVT_EQ_INT(r.status, 400, "JSON with a NUL character in a string is 400");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/services?name=%%ff%%fe", base);
    r = kvt_http("GET", url, NULL, 0, h1);
    KVT_EQ_INT(r.status, 400, "invalid UTF-8 in the query string is 400");
    KVT_OK(gw_is_error(&r, "Malformed query string."), "bad query says Malformed query string.");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/services?name=a%%00b", base);
    r = kvt_http("GET", url, NULL, 0, h1);
    KVT_EQ_INT(r.status, 400, "a NUL byte in the query string is 400");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/services?per_page=1&per_page=3", base);
    r = kvt_http("GET", url, NULL, 0, h1);
    KVT_EQ_INT(json_integer_value(json_object_get(json_object_get(r.json, "meta"), "per_page")), 3,
               "a repeated query parameter keeps its last value");
    kvt_resp_free(&r);

    /* --- X-Request-Id --- */
    const char *h3[] = { auth, "X-Request-Id: my-trace.42_A", NULL };
    snprintf(url, sizeof url, "%s/api/v1/services", base);
    r = kvt_http("GET", url, NULL, 0, h3);
    char rid[128] = "";
    kvt_header(&r, "X-Request-Id", rid, sizeof rid);
    KVT_EQ_STR(rid, "my-trace.42_A", "a valid client X-Request-Id is echoed");
    kvt_resp_free(&r);
    const char *h4[] = { "X-Request-Id: my-trace.43", NULL };
    snprintf(url, sizeof url, "%s/api/v1/nothing", base);
    r = kvt_http("GET", url, NULL, 0, h4);
    rid[0] = '\0';
    kvt_header(&r, "X-Request-Id", rid, sizeof rid);
    KVT_EQ_STR(rid, "my-trace.43", "the client's X-Request-Id is echoed on errors");
    kvt_resp_free(&r);
    const char *h5[] = { auth, "X-Request-Id: not valid!", NULL };
    snprintf(url, sizeof url, "%s/api/v1/services", base);
    r = kvt_http("GET", url, NULL, 0, h5);
    rid[0] = '\0';
    kvt_header(&r, "X-Request-Id", rid, sizeof rid);
    KVT_OK(strlen(rid) == 32 && strcmp(rid, "not valid!") != 0, "an invalid X-Request-Id is replaced by a new one");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/services", NULL);
    char rid2[128] = "";
    kvt_header(&r, "X-Request-Id", rid2, sizeof rid2);
    KVT_OK(strlen(rid2) == 32 && strcmp(rid, rid2) != 0, "each request without an id gets a fresh one");
    KVT_OK(s_is_json(&r), "a forwarded answer has a JSON content type");
    kvt_resp_free(&r);

    /* --- keep-alive --- */
    snprintf(url, sizeof url, "%s/api/v1/services", base);
    KVT_EQ_INT(s_keepalive_connects(url, auth), 0, "a second request reuses the kept-alive connection");
    return kvt_done();
}
