/*
 * test_gateway_isolation.c -- tenant isolation through the gateway: the
 * key decides the tenant; tenant A's key never sees tenant B's service (404
 * like a missing id, absent from the list), and the admin API refuses an
 * unknown tenant.
 */
#include "gw_e2e.h"

static int s_list_has(const kvt_resp_t *r, long long id)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(r->json, "data"), i, s) {
        if (json_integer_value(json_object_get(s, "id")) == id)
            return 1;
    }
    return 0;
}

int main(void)
{
    int64_t ta, tb;
    char ka[64], kb[64], path[128];
    if (kvt_tenant("gw-iso-a", NULL, &ta, ka) != 0 || kvt_tenant("gw-iso-b", "Europe/Berlin", &tb, kb) != 0) {
        KVT_OK(0, "tenants and keys can be created");
        return kvt_done();
    }
    long long sa = gw_make_service(ta, "A cut", 30, "20.00");
    long long sb = gw_make_service(tb, "B colour", 60, "55.50");
    KVT_OK(sa > 0 && sb > 0, "each tenant gets a service through the admin API");

    snprintf(path, sizeof path, "/api/v1/services/%lld", sb);
    kvt_resp_t r = kvt_api(kb, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "tenant B's key sees B's service");
    KVT_EQ_STR(json_string_value(json_object_get(json_object_get(r.json, "data"), "name")), "B colour",
               "B's service comes back with its name");
    kvt_resp_free(&r);

    r = kvt_api(ka, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "tenant A's key gets 404 for B's service");
    KVT_OK(json_is_false(json_object_get(r.json, "success")), "the 404 is an error envelope");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/services/%lld", sb + 1000000);
    kvt_resp_t missing = kvt_api(ka, "GET", path, NULL);
    snprintf(path, sizeof path, "/api/v1/services/%lld", sb);
    r = kvt_api(ka, "GET", path, NULL);
    KVT_EQ_STR(r.body, missing.body, "another tenant's id answers exactly like a missing id");
    kvt_resp_free(&r);
    kvt_resp_free(&missing);

    r = kvt_api(ka, "GET", "/api/v1/services?per_page=100", NULL);
    KVT_OK(r.status == 200 && s_list_has(&r, sa) && !s_list_has(&r, sb),
           "A's list holds A's service and not B's");
    kvt_resp_free(&r);
    r = kvt_api(kb, "GET", "/api/v1/services?per_page=100", NULL);
    KVT_OK(r.status == 200 && s_list_has(&r, sb) && !s_list_has(&r, sa),
           "B's list holds B's service and not A's");
    kvt_resp_free(&r);

    /* Admin: a service update under the wrong tenant is refused. */
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services/%lld", (long long)ta, sb);
    r = kvt_admin("PATCH", path, "{\"name\":\"hijack\"}");
    KVT_EQ_INT(r.status, 404, "updating B's service under tenant A is 404");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/services/%lld", sb);
    r = kvt_api(kb, "GET", path, NULL);
    KVT_EQ_STR(json_string_value(json_object_get(json_object_get(r.json, "data"), "name")), "B colour",
               "B's service is unchanged");
    kvt_resp_free(&r);
    return kvt_done();
}
