/*
 * test_webhooks_api.c -- the webhook endpoint API end to end: create with
 * every validation rule (including the SSRF guard), the secret shown only
 * at creation, show, list with pagination, update, delete, the delivery
 * log of an endpoint without deliveries, and tenant isolation of
 * endpoints and deliveries.
 */
#include "webhooks_e2e.h"

static void test_create_and_read(const char *key)
{
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/webhooks",
                           "{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"call.ended\","
                           "\"appointment.created\",\"call.ended\"],\"description\":\"CRM sync\"}");
    KVT_EQ_INT(r.status, 201, "create answers 201");
    long long id = se_int(&r, "id");
    const char *secret = se_str(&r, "secret");
    KVT_OK(secret && strncmp(secret, "whsec_", 6) == 0 && strlen(secret) > 30,
           "create shows a whsec_ secret");
    KVT_EQ_STR(se_str(&r, "url"), "http://127.0.0.1:9/hook", "create echoes the url");
    json_t *ev = json_object_get(se_data(&r), "events");
    KVT_EQ_INT(json_array_size(ev), 2, "duplicate event names are kept once");
    KVT_EQ_STR(json_string_value(json_array_get(ev, 0)), "appointment.created",
               "events come back in canonical order");
    KVT_EQ_STR(se_str(&r, "description"), "CRM sync", "create keeps the description");
    KVT_OK(json_is_true(json_object_get(se_data(&r), "active")), "a new endpoint is active");
    KVT_OK(se_str(&r, "created_at") != NULL, "create has created_at");
    kvt_resp_free(&r);

    char path[96];
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld", id);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "show answers 200");
    KVT_OK(json_object_get(se_data(&r), "secret") == NULL, "show never returns the secret");
    KVT_OK(r.body && !strstr(r.body, "whsec_"), "show body carries no secret anywhere");
    kvt_resp_free(&r);

    r = kvt_api(key, "GET", "/api/v1/webhooks", NULL);
    KVT_EQ_INT(r.status, 200, "list answers 200");
    KVT_EQ_INT(se_meta(&r, "total"), 1, "list counts the endpoint");
    KVT_OK(r.body && !strstr(r.body, "whsec_"), "list never returns a secret");
    kvt_resp_free(&r);

    r = kvt_apif(key, "PATCH", path, "{\"events\":[\"call.missed\"],\"active\":false,"
                 "\"description\":null}");
    KVT_EQ_INT(r.status, 200, "update answers 200");
    ev = json_object_get(se_data(&r), "events");
    KVT_OK(json_array_size(ev) == 1 &&
           strcmp(json_string_value(json_array_get(ev, 0)), "call.missed") == 0,
           "update replaces the events");
    KVT_OK(json_is_false(json_object_get(se_data(&r), "active")), "update deactivates");
    KVT_OK(json_is_null(json_object_get(se_data(&r), "description")), "update clears the description");
    KVT_EQ_STR(se_str(&r, "url"), "http://127.0.0.1:9/hook", "update keeps fields not given");
    kvt_resp_free(&r);

    r = kvt_apif(key, "PATCH", path, "{\"url\":\"http://10.0.0.7/hook\"}");
    KVT_EQ_INT(r.status, 422, "update to a private address is refused");
    KVT_OK(se_has_err(&r, "url"), "update SSRF refusal names url");
    kvt_resp_free(&r);
    r = kvt_apif(key, "PATCH", path, "{\"secret\":\"whsec_AAAA\"}");
    KVT_EQ_INT(r.status, 422, "update refuses unknown fields");
    KVT_OK(se_has_err(&r, "secret"), "unknown field named in errors");
    kvt_resp_free(&r);
    r = kvt_apif(key, "PATCH", path, "{}");
    KVT_EQ_INT(r.status, 422, "update with an empty body is refused");
    kvt_resp_free(&r);
    r = kvt_apif(key, "PATCH", path, "{\"active\":\"yes\"}");
    KVT_EQ_INT(r.status, 422, "update refuses a non-boolean active");
    KVT_OK(se_has_err(&r, "active"), "active error named");
    kvt_resp_free(&r);

    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/deliveries", id);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "deliveries of a quiet endpoint answers 200");
    KVT_EQ_INT(se_len(&r), 0, "deliveries of a quiet endpoint is empty");
    KVT_EQ_INT(se_meta(&r, "total"), 0, "deliveries meta total is 0");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/deliveries?per_page=101", id);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 422, "deliveries per_page 101 is refused");
    KVT_OK(se_has_err(&r, "per_page"), "deliveries per_page error named");
    kvt_resp_free(&r);

    snprintf(path, sizeof path, "/api/v1/webhooks/%lld", id);
    r = kvt_api(key, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 200, "delete answers 200");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "a deleted endpoint is gone");
    kvt_resp_free(&r);
    r = kvt_api(key, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 404, "deleting twice is 404");
    kvt_resp_free(&r);
}

static void test_validation(const char *key)
{
    static const struct { const char *body, *field, *name; } cases[] = {
        { "{\"events\":[\"call.ended\"]}", "url", "url is required" },
        { "{\"url\":\"http://127.0.0.1:9/\"}", "events", "events is required" },
        { "{\"url\":\"http://127.0.0.1:9/\",\"events\":[]}", "events", "events may not be empty" },
        { "{\"url\":\"http://127.0.0.1:9/\",\"events\":\"call.ended\"}", "events",
          "events must be a list" },
        { "{\"url\":\"http://127.0.0.1:9/\",\"events\":[\"call.started\"]}", "events",
          "an unknown event is refused" },
        { "{\"url\":\"http://127.0.0.1:9/\",\"events\":[7]}", "events",
          "a non-string event is refused" },
        { "{\"url\":\"ftp://127.0.0.1/x\",\"events\":[\"call.ended\"]}", "url",
          "an ftp url is refused" },
        { "{\"url\":\"not a url\",\"events\":[\"call.ended\"]}", "url", "a non-URL is refused" },
        { "{\"url\":42,\"events\":[\"call.ended\"]}", "url", "a non-string url is refused" },
        { "{\"url\":\"http://10.1.2.3/hook\",\"events\":[\"call.ended\"]}", "url",
          "a private 10/8 address is refused" },
        { "{\"url\":\"http://192.168.1.10/hook\",\"events\":[\"call.ended\"]}", "url",
          "a private 192.168/16 address is refused" },
        { "{\"url\":\"http://169.254.169.254/latest/meta-data\",\"events\":[\"call.ended\"]}",
          "url", "the cloud metadata address is refused" },
        { "{\"url\":\"http://[fd00::1]/hook\",\"events\":[\"call.ended\"]}", "url",
          "an IPv6 unique-local address is refused" },
        { "{\"url\":\"http://0.0.0.0/hook\",\"events\":[\"call.ended\"]}", "url",
          "the unspecified address is refused" },
        { "{\"url\":\"http://127.0.0.1:9/\",\"events\":[\"call.ended\"],\"description\":5}",
          "description", "a non-string description is refused" },
        { "{\"url\":\"http://127.0.0.1:9/\",\"events\":[\"call.ended\"],\"secret\":\"x\"}",
          "secret", "a client-chosen secret is refused" },
        { "[1,2]", "url", "a body that is not an object is refused" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kvt_resp_t r = kvt_api(key, "POST", "/api/v1/webhooks", cases[i].body);
        KVT_EQ_INT(r.status, 422, "create: %s (422)", cases[i].name);
        KVT_OK(se_has_err(&r, cases[i].field), "create: %s (errors.%s)", cases[i].name,
               cases[i].field);
        kvt_resp_free(&r);
    }
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/webhooks", NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 0, "no refused create left an endpoint behind");
    kvt_resp_free(&r);
}

static void test_pagination(const char *key)
{
    for (int i = 0; i < 3; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:9/p%d", i);
        wh_endpoint(key, url, "[\"call.ended\"]", NULL);
    }
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/webhooks?per_page=2&page=2", NULL);
    KVT_EQ_INT(r.status, 200, "list page 2 answers 200");
    KVT_EQ_INT(se_len(&r), 1, "list page 2 of 3 by 2 has one endpoint");
    KVT_EQ_INT(se_meta(&r, "total"), 3, "list total is 3");
    KVT_EQ_INT(se_meta(&r, "per_page"), 2, "list per_page echoes 2");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/webhooks?page=9", NULL);
    KVT_EQ_INT(se_len(&r), 0, "list page past the end is empty");
    KVT_EQ_INT(se_meta(&r, "total"), 3, "list page past the end keeps the total");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/webhooks?page=0", NULL);
    KVT_EQ_INT(r.status, 422, "list page 0 is refused");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/webhooks?per_page=abc", NULL);
    KVT_EQ_INT(r.status, 422, "list per_page abc is refused");
    kvt_resp_free(&r);
}

static void test_isolation(const char *key_a, const char *key_b)
{
    char path[128];
    long long id = wh_endpoint(key_a, "http://127.0.0.1:9/a-only", "[\"call.ended\"]", NULL);
    KVT_OK(id > 0, "tenant A creates an endpoint");
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld", id);
    kvt_resp_t r = kvt_api(key_b, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "tenant B cannot see tenant A's endpoint");
    kvt_resp_free(&r);
    r = kvt_apif(key_b, "PATCH", path, "{\"url\":\"http://127.0.0.1:9/stolen\"}");
    KVT_EQ_INT(r.status, 404, "tenant B cannot change tenant A's endpoint");
    kvt_resp_free(&r);
    r = kvt_api(key_b, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 404, "tenant B cannot delete tenant A's endpoint");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/deliveries", id);
    r = kvt_api(key_b, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "tenant B cannot read tenant A's delivery log");
    kvt_resp_free(&r);
    r = kvt_api(key_b, "GET", "/api/v1/webhooks", NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 0, "tenant B's list does not show tenant A's endpoint");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld", id);
    r = kvt_api(key_a, "GET", path, NULL);
    KVT_EQ_STR(se_str(&r, "url"), "http://127.0.0.1:9/a-only", "tenant A's endpoint is untouched");
    kvt_resp_free(&r);
    r = kvt_api(key_b, "POST", "/api/v1/webhooks/deliveries/999999999/redeliver", NULL);
    KVT_EQ_INT(r.status, 404, "redelivering an unknown delivery is 404");
    kvt_resp_free(&r);
    r = kvt_api(key_b, "GET", "/api/v1/webhooks/999999999", NULL);
    KVT_EQ_INT(r.status, 404, "an unknown endpoint is 404");
    kvt_resp_free(&r);
}

int main(void)
{
    char key_a[64], key_b[64], key_c[64], key_d[64];
    se_tenant("wh-api-a", "UTC", 0, key_a);
    se_tenant("wh-api-b", "UTC", 0, key_b);
    se_tenant("wh-api-c", "UTC", 0, key_c);
    se_tenant("wh-api-d", "UTC", 0, key_d);
    test_create_and_read(key_a);
    test_validation(key_b);
    test_pagination(key_c);
    test_isolation(key_d, key_b);
    return kvt_done();
}
