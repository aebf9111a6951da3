/*
 * test_gateway_errors.c -- the gateway's own answers: 404 unknown route,
 * 405 wrong method with Allow (HEAD listed wherever GET is), HEAD on GET
 * routes, 413 body over 1 MiB (by Content-Length and chunked), 415 for a
 * body that is not JSON, 400 malformed JSON and query strings (each with
 * its true message), 414 for an over-long request-target, X-Request-Id
 * echoed or made and present on every answer, JSON content type, /healthz
 * and /readyz, and keep-alive (also after the gateway's own errors).
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
    KVT_EQ_STR(allow, "GET, HEAD", "405 lists the allowed methods in Allow, HEAD with GET");
    KVT_OK(gw_is_error(&r, "Method not allowed."), "405 is an error envelope");
    KVT_OK(s_rid_ok(&r), "405 carries X-Request-Id");
    kvt_resp_free(&r);
    r = kvt_api(key, "PUT", "/api/v1/appointments/1", "{}");
    allow[0] = '\0';
    kvt_header(&r, "Allow", allow, sizeof allow);
    KVT_EQ_INT(r.status, 405, "PUT on an appointment is 405");
    KVT_EQ_STR(allow, "GET, HEAD, DELETE, PATCH", "Allow lists every method of the path");
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
    KVT_OK(gw_is_error(&r, "Malformed query string: invalid UTF-8."),
           "bad UTF-8 says Malformed query string: invalid UTF-8.");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/services?name=a%%00b", base);
    r = kvt_http("GET", url, NULL, 0, h1);
    KVT_EQ_INT(r.status, 400, "a NUL byte in the query string is 400");
    KVT_OK(gw_is_error(&r, "Malformed query string: control characters are not allowed."),
           "a NUL byte says control characters are not allowed");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/customers?search=%%zz", base);
    r = kvt_http("GET", url, NULL, 0, h1);
    KVT_EQ_INT(r.status, 400, "?search=%%zz is 400, not taken literally");
    KVT_OK(gw_is_error(&r, "Malformed query string: bad percent-encoding."),
           "?search=%%zz says bad percent-encoding");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/customers?search=50%%", base);
    r = kvt_http("GET", url, NULL, 0, h1);
    KVT_EQ_INT(r.status, 400, "a trailing %% in the query is 400");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/customers?search=%%41%%6c", base);
    r = kvt_http("GET", url, NULL, 0, h1);
    KVT_EQ_INT(r.status, 200, "valid percent-escapes are decoded (200)");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/%%zz", base);
    r = kvt_http("GET", url, NULL, 0, h1);
    KVT_EQ_INT(r.status, 404, "a bad escape in the path is an unknown route (404)");
    kvt_resp_free(&r);

    /* --- 414: the request-target over 8 KiB; under it the service decides --- */
    char *longq = malloc(16384);
    int off = snprintf(longq, 16384, "%s/api/v1/customers?search=", base);
    memset(longq + off, 'a', 8300);
    longq[off + 8300] = '\0';
    r = kvt_http("GET", longq, NULL, 0, h1);
    KVT_EQ_INT(r.status, 414, "an 8 KB query string is 414");
    KVT_OK(gw_is_error(&r, "Request URI too long."), "414 says Request URI too long.");
    KVT_OK(s_rid_ok(&r) && s_is_json(&r), "414 is a JSON envelope with X-Request-Id");
    kvt_resp_free(&r);
    longq[off + 6000] = '\0';
    r = kvt_http("GET", longq, NULL, 0, h1);
    KVT_EQ_INT(r.status, 422, "a 6 KB search term reaches crm, which says what is wrong (422)");
    KVT_OK(json_object_get(json_object_get(r.json, "errors"), "search") != NULL,
           "... in errors.search, not as a malformed query string");
    kvt_resp_free(&r);
    free(longq);

    /* --- 415: a body must be JSON --- */
    snprintf(url, sizeof url, "%s/api/v1/customers", base);
    const char *hf[] = { auth, "Content-Type: application/x-www-form-urlencoded", NULL };
    r = kvt_http("POST", url, "name=x&phone=5551234567", 23, hf);
    KVT_EQ_INT(r.status, 415, "a form body (curl -d's default type) is 415");
    KVT_OK(gw_is_error(&r, "Unsupported Media Type: the body must be JSON (Content-Type: application/json)."),
           "415 says the body must be JSON");
    KVT_OK(gw_has_hdr(&r, "X-RateLimit-Limit"), "415 comes after authentication");
    kvt_resp_free(&r);
    const char *ht[] = { auth, "Content-Type: text/plain", NULL };
    snprintf(url, sizeof url, "%s/api/v1/customers/1", base);
    r = kvt_http("PATCH", url, "{}", 2, ht);
    KVT_EQ_INT(r.status, 415, "a text/plain PATCH body is 415");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/customers", base);
    const char *hj[] = { auth, "Content-Type: application/json; charset=utf-8", NULL };
    const char *b1 = "{\"name\":\"Charset Ok\",\"phone\":\"+15550100999\"}";
    r = kvt_http("POST", url, b1, strlen(b1), hj);
    KVT_EQ_INT(r.status, 201, "application/json; charset=utf-8 is JSON (201)");
    kvt_resp_free(&r);
    const char *hn[] = { auth, "Content-Type:", NULL };
    const char *b2 = "{\"name\":\"No Type\",\"phone\":\"+15550100998\"}";
    r = kvt_http("POST", url, b2, strlen(b2), hn);
    KVT_EQ_INT(r.status, 201, "a body without Content-Type is taken as JSON (201)");
    kvt_resp_free(&r);
    r = kvt_http("POST", url, NULL, 0, hf);
    KVT_EQ_INT(r.status, 422, "an empty body with a form type is not 415 (there is no body)");
    kvt_resp_free(&r);

    /* --- HEAD on every GET route --- */
    snprintf(url, sizeof url, "%s/api/v1/services", base);
    kvt_resp_t g = kvt_http("GET", url, NULL, 0, h1);
    r = kvt_http("HEAD", url, NULL, 0, h1);
    KVT_EQ_INT(r.status, 200, "HEAD on a GET route is 200");
    KVT_EQ_INT((long long)r.body_len, 0, "HEAD sends no body");
    char l1[32] = "", l2[32] = "";
    kvt_header(&g, "Content-Length", l1, sizeof l1);
    kvt_header(&r, "Content-Length", l2, sizeof l2);
    KVT_OK(*l1 && strcmp(l1, l2) == 0, "HEAD's Content-Length is the GET body's (%s, %s)", l1, l2);
    KVT_OK(s_is_json(&r) && s_rid_ok(&r) && gw_has_hdr(&r, "X-RateLimit-Remaining"),
           "HEAD carries the GET answer's headers");
    kvt_resp_free(&r);
    kvt_resp_free(&g);
    snprintf(url, sizeof url, "%s/api/v1/appointments/999999999", base);
    r = kvt_http("HEAD", url, NULL, 0, h1);
    KVT_EQ_INT(r.status, 404, "HEAD of a missing id is the GET's 404");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/appointments/1/status", base);
    r = kvt_http("HEAD", url, NULL, 0, h1);
    allow[0] = '\0';
    kvt_header(&r, "Allow", allow, sizeof allow);
    KVT_EQ_INT(r.status, 405, "HEAD of a path without GET is 405");
    KVT_EQ_STR(allow, "PATCH", "... whose Allow has no HEAD");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/healthz", base);
    r = kvt_http("HEAD", url, NULL, 0, NULL);
    KVT_EQ_INT(r.status, 200, "HEAD /healthz is 200");
    kvt_resp_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/services", base);
    r = kvt_http("HEAD", url, NULL, 0, NULL);
    KVT_EQ_INT(r.status, 401, "HEAD without a key is 401");
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
    snprintf(url, sizeof url, "%s/api/v1/no-such-route", base);
    KVT_EQ_INT(s_keepalive_connects(url, auth), 0, "a 404 of the gateway keeps the connection alive");
    snprintf(url, sizeof url, "%s/healthz", base);
    KVT_EQ_INT(s_keepalive_connects(url, "X-Nothing: 1"), 0, "/healthz keeps the connection alive");
    return kvt_done();
}
