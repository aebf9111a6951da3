/*
 * test_crm_tenancy.c -- customers are tenant-scoped end to end: the same
 * phone is allowed in two tenants; tenant A cannot list, search, read or
 * patch tenant B's customer (404 exactly like a missing id), and B's
 * customer is unchanged by A's attempt.
 */
#include "crm_e2e.h"

int main(void)
{
    char ka[64], kb[64];
    if (kvt_tenant("crm-ten-a", NULL, NULL, ka) != 0 ||
        kvt_tenant("crm-ten-b", NULL, NULL, kb) != 0) {
        KVT_OK(0, "two test tenants could be created");
        return kvt_done();
    }
    long long a = crm_create(ka, "{\"name\":\"Alice A\",\"phone\":\"555-404-0001\"}");
    long long b = crm_create(kb, "{\"name\":\"Bella B\",\"phone\":\"(555) 404 0001\","
                                 "\"segment\":\"vip\"}");
    KVT_OK(a > 0, "tenant A creates a customer with 555-404-0001");
    KVT_OK(b > 0 && b != a, "tenant B creates a customer with the same phone");

    char path[96];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", b);
    kvt_resp_t r = kvt_api(ka, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "tenant A reading tenant B's customer answers 404");
    KVT_EQ_STR(json_string_value(json_object_get(r.json, "message")), "Customer not found.",
               "tenant A reading B's customer: same message as a missing id");
    kvt_resp_free(&r);

    r = kvt_api(ka, "PATCH", path, "{\"segment\":\"inactive\",\"notes\":\"mine now\"}");
    KVT_EQ_INT(r.status, 404, "tenant A patching tenant B's customer answers 404");
    kvt_resp_free(&r);

    r = kvt_api(ka, "GET", "/api/v1/customers", NULL);
    KVT_EQ_INT(crm_meta(&r, "total"), 1, "tenant A's list holds only its own customer");
    long long only_a[] = { a };
    KVT_OK(crm_ids_are(&r, only_a, 1), "tenant A's list is its own customer");
    kvt_resp_free(&r);

    r = kvt_api(ka, "GET", "/api/v1/customers?search=bella", NULL);
    KVT_EQ_INT(crm_meta(&r, "total"), 0, "tenant A's search does not find B's customer by name");
    kvt_resp_free(&r);

    r = kvt_api(ka, "GET", "/api/v1/customers?search=5554040001", NULL);
    KVT_OK(r.status == 200 && crm_ids_are(&r, only_a, 1),
           "tenant A's phone search finds only its own customer");
    kvt_resp_free(&r);

    /* B's customer is untouched */
    r = kvt_api(kb, "GET", "/api/v1/customers?search=5554040001", NULL);
    long long only_b[] = { b };
    KVT_OK(r.status == 200 && crm_ids_are(&r, only_b, 1), "tenant B still sees its customer");
    json_t *c = json_array_get(crm_data(&r), 0);
    KVT_EQ_STR(json_string_value(json_object_get(c, "segment")), "vip",
               "tenant A's patch did not change B's segment");
    KVT_OK(json_is_null(json_object_get(c, "notes")), "tenant A's patch did not change B's notes");
    kvt_resp_free(&r);

    /* a duplicate within B is still refused */
    r = kvt_api(kb, "POST", "/api/v1/customers", "{\"name\":\"Again\",\"phone\":\"5554040001\"}");
    KVT_EQ_INT(r.status, 422, "the phone is still unique within tenant B");
    kvt_resp_free(&r);

    /* an unknown id and a non-numeric id */
    r = kvt_api(kb, "GET", "/api/v1/customers/999999999", NULL);
    KVT_EQ_INT(r.status, 404, "an unknown customer id answers 404");
    kvt_resp_free(&r);
    r = kvt_api(kb, "GET", "/api/v1/customers/abc", NULL);
    KVT_EQ_INT(r.status, 404, "a non-numeric customer id answers 404");
    kvt_resp_free(&r);
    return kvt_done();
}
