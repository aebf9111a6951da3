/*
 * test_gateway_admin_api.c -- the operator API: the admin token guards
 * every route, tenants are created with validated time zone and slot
 * interval, keys are shown once and listed without secrets, unknown
 * tenants and keys are 404, and services/staff are forwarded to scheduling
 * with the tenant's context.
 */
#include "gw_e2e.h"

static kvt_resp_t s_admin_token(const char *method, const char *path, const char *token)
{
    char url[512], auth[256];
    snprintf(url, sizeof url, "%s%s", kvt_env("KVT_ADMIN_URL", "http://127.0.0.1:18081"), path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *h[] = { auth, NULL };
    return kvt_http(method, url, NULL, 0, token ? h : NULL);
}

static json_t *s_data(const kvt_resp_t *r)
{
    return json_object_get(r->json, "data");
}

static const char *s_err(const kvt_resp_t *r, const char *field)
{
    return json_string_value(json_array_get(json_object_get(json_object_get(r->json, "errors"), field), 0));
}

int main(void)
{
    char path[256], tok[256];
    kvt_resp_t r;

    /* --- the token --- */
    r = s_admin_token("GET", "/admin/v1/tenants", NULL);
    KVT_EQ_INT(r.status, 401, "admin API without a token is 401");
    KVT_OK(json_is_false(json_object_get(r.json, "success")) && gw_has_hdr(&r, "X-Request-Id"),
           "admin 401 is an error envelope with X-Request-Id");
    kvt_resp_free(&r);
    snprintf(tok, sizeof tok, "%sx", kvt_env("KVT_ADMIN_TOKEN", ""));
    r = s_admin_token("GET", "/admin/v1/tenants", tok);
    KVT_EQ_INT(r.status, 401, "admin API with a wrong token is 401");
    kvt_resp_free(&r);
    snprintf(tok, sizeof tok, "%s", kvt_env("KVT_ADMIN_TOKEN", ""));
    tok[strlen(tok) / 2] = '\0';
    r = s_admin_token("GET", "/admin/v1/tenants", tok);
    KVT_EQ_INT(r.status, 401, "admin API with a prefix of the token is 401");
    kvt_resp_free(&r);
    r = s_admin_token("POST", "/admin/v1/tenants/1/keys", NULL);
    KVT_EQ_INT(r.status, 401, "creating a key without the token is 401");
    kvt_resp_free(&r);

    /* --- tenants --- */
    r = kvt_admin("POST", "/admin/v1/tenants", "{\"name\":\"Admin test salon\"}");
    long long tid = json_integer_value(json_object_get(s_data(&r), "id"));
    KVT_EQ_INT(r.status, 201, "tenant create is 201");
    KVT_OK(tid > 0, "tenant create returns the id");
    KVT_EQ_STR(json_string_value(json_object_get(s_data(&r), "timezone")), "UTC", "time zone defaults to UTC");
    KVT_EQ_INT(json_integer_value(json_object_get(s_data(&r), "slot_interval")), 15, "slot interval defaults to 15");
    kvt_resp_free(&r);
    r = kvt_admin("POST", "/admin/v1/tenants",
                  "{\"name\":\"Berlin salon\",\"timezone\":\"Europe/Berlin\",\"slot_interval\":30}");
    KVT_EQ_INT(r.status, 201, "tenant create with a zone and interval is 201");
    KVT_EQ_STR(json_string_value(json_object_get(s_data(&r), "timezone")), "Europe/Berlin", "the zone is kept");
    KVT_EQ_INT(json_integer_value(json_object_get(s_data(&r), "slot_interval")), 30, "the interval is kept");
    kvt_resp_free(&r);
    r = kvt_admin("POST", "/admin/v1/tenants", "{\"name\":\"X\",\"timezone\":\"Mars/Olympus\"}");
    KVT_EQ_INT(r.status, 422, "an unknown time zone is 422");
    KVT_OK(s_err(&r, "timezone") != NULL, "the 422 names the timezone field");
    kvt_resp_free(&r);
    r = kvt_admin("POST", "/admin/v1/tenants", "{\"name\":\"X\",\"slot_interval\":3}");
    KVT_EQ_INT(r.status, 422, "a slot interval under 5 is 422");
    KVT_OK(s_err(&r, "slot_interval") != NULL, "the 422 names the slot_interval field");
    kvt_resp_free(&r);
    r = kvt_admin("POST", "/admin/v1/tenants", "{}");
    KVT_EQ_INT(r.status, 422, "a tenant without a name is 422");
    KVT_OK(s_err(&r, "name") != NULL, "the 422 names the name field");
    kvt_resp_free(&r);
    r = kvt_admin("POST", "/admin/v1/tenants", "{\"name\":");
    KVT_EQ_INT(r.status, 400, "malformed JSON to the admin API is 400");
    kvt_resp_free(&r);
    r = kvt_admin("POST", "/admin/v1/tenants", "[1]");
    KVT_EQ_INT(r.status, 422, "a non-object body is 422");
    kvt_resp_free(&r);
    r = kvt_admin("GET", "/admin/v1/tenants", NULL);
    int listed = 0;
    size_t i;
    json_t *t;
    json_array_foreach(s_data(&r), i, t)
        listed |= json_integer_value(json_object_get(t, "id")) == tid;
    KVT_OK(r.status == 200 && listed, "tenant list includes the new tenant");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld", tid);
    r = kvt_admin("GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "a tenant can be shown");
    kvt_resp_free(&r);
    r = kvt_admin("DELETE", "/admin/v1/tenants", NULL);
    KVT_EQ_INT(r.status, 405, "wrong method on the admin API is 405");
    kvt_resp_free(&r);
    r = kvt_admin("GET", "/admin/v1/nothing", NULL);
    KVT_EQ_INT(r.status, 404, "unknown admin route is 404");
    kvt_resp_free(&r);

    /* --- unknown tenant --- */
    r = kvt_admin("GET", "/admin/v1/tenants/999999999/keys", NULL);
    KVT_EQ_INT(r.status, 404, "keys of an unknown tenant is 404");
    kvt_resp_free(&r);
    r = kvt_admin("POST", "/admin/v1/tenants/999999999/keys", "{\"name\":\"k\"}");
    KVT_EQ_INT(r.status, 404, "a key for an unknown tenant is 404");
    kvt_resp_free(&r);
    r = kvt_admin("POST", "/admin/v1/tenants/999999999/services",
                  "{\"name\":\"s\",\"duration\":30,\"price\":\"10.00\"}");
    KVT_EQ_INT(r.status, 404, "a service for an unknown tenant is 404");
    kvt_resp_free(&r);

    /* --- keys --- */
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/keys", tid);
    r = kvt_admin("POST", path, "{\"name\":\"Zapier\"}");
    const char *key = json_string_value(json_object_get(s_data(&r), "key"));
    char keycopy[64] = "";
    if (key)
        snprintf(keycopy, sizeof keycopy, "%s", key);
    long long kid = json_integer_value(json_object_get(s_data(&r), "id"));
    KVT_EQ_INT(r.status, 201, "key create is 201");
    KVT_OK(strlen(keycopy) == 42 && strncmp(keycopy, "kv1_", 4) == 0, "the new key is kv1_ + 38 characters");
    KVT_OK(json_string_value(json_object_get(s_data(&r), "prefix")) &&
           strncmp(json_string_value(json_object_get(s_data(&r), "prefix")), keycopy, 12) == 0,
           "the key's prefix is its first 12 characters");
    KVT_EQ_STR(json_string_value(json_object_get(s_data(&r), "name")), "Zapier", "the key keeps its name");
    kvt_resp_free(&r);
    r = kvt_admin("POST", path, "{}");
    KVT_EQ_INT(r.status, 422, "a key without a name is 422");
    kvt_resp_free(&r);
    r = kvt_api(keycopy, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "the new key works on the public API");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/keys/%lld/revoke", tid, kid + 1000000);
    r = kvt_admin("POST", path, NULL);
    KVT_EQ_INT(r.status, 404, "revoking an unknown key is 404");
    kvt_resp_free(&r);

    /* --- forwarded to scheduling --- */
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services", tid);
    r = kvt_admin("POST", path, "{\"name\":\"Beard trim\",\"duration\":20,\"price\":\"12.50\",\"active\":true}");
    long long sid = json_integer_value(json_object_get(s_data(&r), "id"));
    KVT_EQ_INT(r.status, 201, "service create is forwarded and answers 201");
    KVT_OK(sid > 0, "the created service has an id");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services/%lld", tid, sid);
    r = kvt_admin("PATCH", path, "{\"price\":\"14.00\"}");
    KVT_EQ_INT(r.status, 200, "service update is forwarded");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/services/%lld", sid);
    r = kvt_api(keycopy, "GET", path, NULL);
    json_t *price = json_object_get(s_data(&r), "price");
    KVT_OK(r.status == 200 && json_is_number(price) && json_number_value(price) == 14.0,
           "the updated price shows on the public API");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/staff", tid);
    r = kvt_admin("POST", path,
                  "{\"name\":\"Anna\",\"specialties\":[\"cuts\"],\"hours\":{\"mon\":[[\"09:00\",\"12:00\"],[\"13:00\",\"17:00\"]]},\"active\":true}");
    long long staff = json_integer_value(json_object_get(s_data(&r), "id"));
    KVT_EQ_INT(r.status, 201, "staff create is forwarded and answers 201");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/staff/%lld", tid, staff);
    r = kvt_admin("PATCH", path, "{\"name\":\"Anna B\"}");
    KVT_EQ_INT(r.status, 200, "staff update is forwarded");
    kvt_resp_free(&r);
    return kvt_done();
}
