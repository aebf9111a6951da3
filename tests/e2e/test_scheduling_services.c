/*
 * test_scheduling_services.c -- GET /api/v1/services and /services/{id}
 * through the real gateway, plus the operator's admin.services.create /
 * update (validation, price formats, activation) that feed them.
 */
#include "sched_e2e.h"

static kvt_resp_t s_svc_admin(const char *method, int64_t tenant, long long id, const char *body)
{
    char path[128];
    if (id > 0)
        snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services/%lld", (long long)tenant, id);
    else
        snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services", (long long)tenant);
    return kvt_admin(method, path, body);
}

int main(void)
{
    char key[64], key_b[64], path[128];
    int64_t t = se_tenant("svc", NULL, 0, key);
    int64_t tb = se_tenant("svc-b", NULL, 0, key_b);

    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "services_list_empty_tenant_is_200");
    KVT_EQ_INT(se_len(&r), 0, "services_list_empty_tenant_has_no_data");
    KVT_EQ_INT(se_meta(&r, "total"), 0, "services_list_empty_meta_total_0");
    kvt_resp_free(&r);

    /* create through admin */
    r = s_svc_admin("POST", t, 0, "{\"name\":\"Haircut\",\"duration\":30,\"price\":\"25.50\"}");
    KVT_EQ_INT(r.status, 201, "admin_service_create_is_201");
    long long cut = se_int(&r, "id");
    KVT_EQ_STR(se_str(&r, "name"), "Haircut", "admin_service_create_returns_name");
    KVT_EQ_INT(se_int(&r, "duration"), 30, "admin_service_create_returns_duration");
    KVT_OK(se_real(&r, "price") == 25.5, "admin_service_create_price_string_parsed");
    KVT_OK(json_is_true(json_object_get(se_data(&r), "active")), "admin_service_create_active_default_true");
    kvt_resp_free(&r);

    r = s_svc_admin("POST", t, 0, "{\"name\":\"Colour\",\"duration\":90,\"price\":30}");
    KVT_EQ_INT(r.status, 201, "admin_service_create_price_integer_number");
    long long colour = se_int(&r, "id");
    kvt_resp_free(&r);
    r = s_svc_admin("POST", t, 0, "{\"name\":\"Shave\",\"duration\":15,\"price\":19.99}");
    KVT_EQ_INT(r.status, 201, "admin_service_create_price_real_number");
    long long shave = se_int(&r, "id");
    kvt_resp_free(&r);
    r = s_svc_admin("POST", t, 0, "{\"name\":\"Retired\",\"duration\":15,\"price\":\"5\",\"active\":false}");
    KVT_EQ_INT(r.status, 201, "admin_service_create_inactive");
    long long retired = se_int(&r, "id");
    KVT_OK(json_is_false(json_object_get(se_data(&r), "active")), "admin_service_create_inactive_flag");
    kvt_resp_free(&r);

    /* list: active only, ordered by id, prices as numbers */
    r = kvt_api(key, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "services_list_is_200");
    KVT_OK(json_is_true(json_object_get(r.json, "success")), "services_list_success_true");
    KVT_EQ_INT(se_len(&r), 3, "services_list_shows_active_only");
    KVT_EQ_INT(se_meta(&r, "total"), 3, "services_list_meta_total_counts_active");
    KVT_EQ_INT(se_meta(&r, "page"), 1, "services_list_meta_page_default_1");
    KVT_EQ_INT(se_meta(&r, "per_page"), 20, "services_list_meta_per_page_default_20");
    json_t *first = json_array_get(se_data(&r), 0);
    KVT_EQ_INT(json_integer_value(json_object_get(first, "id")), cut, "services_list_ordered_by_id");
    KVT_OK(json_object_get(first, "name") && json_object_get(first, "duration")
           && json_is_real(json_object_get(first, "price")), "services_list_item_has_id_name_duration_price");
    KVT_OK(r.body && strstr(r.body, "\"price\":25.5") != NULL, "services_list_price_25_5_as_number");
    KVT_OK(r.body && strstr(r.body, "\"price\":30.0") != NULL, "services_list_price_30_0_with_decimal");
    KVT_OK(r.body && strstr(r.body, "\"price\":19.99") != NULL, "services_list_price_19_99_exact");
    KVT_OK(r.body && !strstr(r.body, "Retired"), "services_list_hides_inactive");
    kvt_resp_free(&r);

    /* pagination */
    r = kvt_api(key, "GET", "/api/v1/services?page=2&per_page=1", NULL);
    KVT_EQ_INT(se_len(&r), 1, "services_list_page_2_per_page_1_one_item");
    KVT_EQ_INT(json_integer_value(json_object_get(json_array_get(se_data(&r), 0), "id")), colour,
               "services_list_page_2_is_second_service");
    KVT_EQ_INT(se_meta(&r, "per_page"), 1, "services_list_meta_per_page_echoed");
    KVT_EQ_INT(se_meta(&r, "page"), 2, "services_list_meta_page_echoed");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/services?page=9", NULL);
    KVT_EQ_INT(r.status, 200, "services_list_page_past_end_is_200");
    KVT_EQ_INT(se_len(&r), 0, "services_list_page_past_end_empty");
    KVT_EQ_INT(se_meta(&r, "total"), 3, "services_list_page_past_end_meta_total");
    kvt_resp_free(&r);
    const char *bad[] = { "per_page=0", "per_page=101", "per_page=abc", "page=0", "page=-1", "page=abc" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(path, sizeof path, "/api/v1/services?%s", bad[i]);
        r = kvt_api(key, "GET", path, NULL);
        KVT_EQ_INT(r.status, 422, "services_list_%s_is_422", bad[i]);
        KVT_OK(se_has_err(&r, strncmp(bad[i], "page", 4) == 0 ? "page" : "per_page"),
               "services_list_%s_names_the_field", bad[i]);
        kvt_resp_free(&r);
    }
    r = kvt_api(key, "GET", "/api/v1/services?per_page=100", NULL);
    KVT_EQ_INT(r.status, 200, "services_list_per_page_100_allowed");
    kvt_resp_free(&r);

    /* show */
    snprintf(path, sizeof path, "/api/v1/services/%lld", cut);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "services_get_is_200");
    KVT_EQ_INT(se_int(&r, "id"), cut, "services_get_returns_id");
    KVT_EQ_STR(se_str(&r, "name"), "Haircut", "services_get_returns_name");
    KVT_EQ_INT(se_int(&r, "duration"), 30, "services_get_returns_duration");
    KVT_OK(se_real(&r, "price") == 25.5, "services_get_returns_price");
    KVT_OK(json_object_get(se_data(&r), "active") == NULL, "services_get_public_object_has_no_admin_fields");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/services/%lld", retired);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "services_get_inactive_is_404");
    KVT_OK(json_is_false(json_object_get(r.json, "success")), "services_get_404_envelope_success_false");
    KVT_OK(json_is_string(json_object_get(r.json, "message")), "services_get_404_envelope_has_message");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/services/999999999", NULL);
    KVT_EQ_INT(r.status, 404, "services_get_missing_is_404");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/services/%lld", cut);
    r = kvt_api(key_b, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "services_get_other_tenant_is_404");
    kvt_resp_free(&r);
    r = kvt_api(key_b, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(se_len(&r), 0, "services_list_other_tenant_sees_none");
    kvt_resp_free(&r);

    /* admin validation */
    r = s_svc_admin("POST", t, 0, "{}");
    KVT_EQ_INT(r.status, 422, "admin_service_create_empty_is_422");
    KVT_OK(se_has_err(&r, "name") && se_has_err(&r, "duration") && se_has_err(&r, "price"),
           "admin_service_create_empty_reports_every_required_field");
    kvt_resp_free(&r);
    struct { const char *body, *field, *name; } inval[] = {
        { "{\"name\":\"\",\"duration\":30,\"price\":\"1\"}", "name", "empty_name" },
        { "{\"name\":5,\"duration\":30,\"price\":\"1\"}", "name", "numeric_name" },
        { "{\"name\":\"x\",\"duration\":4,\"price\":\"1\"}", "duration", "duration_4" },
        { "{\"name\":\"x\",\"duration\":1441,\"price\":\"1\"}", "duration", "duration_1441" },
        { "{\"name\":\"x\",\"duration\":30.5,\"price\":\"1\"}", "duration", "duration_fraction" },
        { "{\"name\":\"x\",\"duration\":\"abc\",\"price\":\"1\"}", "duration", "duration_text" },
        { "{\"name\":\"x\",\"duration\":30,\"price\":\"-1\"}", "price", "price_negative" },
        { "{\"name\":\"x\",\"duration\":30,\"price\":\"1.234\"}", "price", "price_three_decimals" },
        { "{\"name\":\"x\",\"duration\":30,\"price\":1.234}", "price", "price_number_three_decimals" },
        { "{\"name\":\"x\",\"duration\":30,\"price\":\"abc\"}", "price", "price_text" },
        { "{\"name\":\"x\",\"duration\":30,\"price\":true}", "price", "price_bool" },
        { "{\"name\":\"x\",\"duration\":30,\"price\":\"1\",\"active\":\"yes\"}", "active", "active_string" },
    };
    for (size_t i = 0; i < sizeof inval / sizeof *inval; i++) {
        r = s_svc_admin("POST", t, 0, inval[i].body);
        KVT_EQ_INT(r.status, 422, "admin_service_create_%s_is_422", inval[i].name);
        KVT_OK(se_has_err(&r, inval[i].field), "admin_service_create_%s_error_on_%s",
               inval[i].name, inval[i].field);
        kvt_resp_free(&r);
    }
    char longname[260];
    memset(longname, 'a', 201);
    longname[201] = '\0';
    char body[400];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"duration\":30,\"price\":\"1\"}", longname);
    r = s_svc_admin("POST", t, 0, body);
    KVT_EQ_INT(r.status, 422, "admin_service_create_name_201_chars_is_422");
    kvt_resp_free(&r);
    longname[200] = '\0';
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"duration\":1440,\"price\":\"0\"}", longname);
    r = s_svc_admin("POST", t, 0, body);
    KVT_EQ_INT(r.status, 201, "admin_service_create_name_200_chars_duration_1440_price_0_ok");
    long long longsvc = se_int(&r, "id");
    kvt_resp_free(&r);

    /* admin update */
    r = s_svc_admin("PATCH", t, shave, "{\"price\":\"21.00\",\"duration\":20}");
    KVT_EQ_INT(r.status, 200, "admin_service_update_is_200");
    KVT_OK(se_real(&r, "price") == 21.0, "admin_service_update_changes_price");
    KVT_EQ_INT(se_int(&r, "duration"), 20, "admin_service_update_changes_duration");
    KVT_EQ_STR(se_str(&r, "name"), "Shave", "admin_service_update_keeps_other_fields");
    kvt_resp_free(&r);
    r = s_svc_admin("PATCH", t, shave, "{\"duration\":2000}");
    KVT_EQ_INT(r.status, 422, "admin_service_update_invalid_is_422");
    KVT_OK(se_has_err(&r, "duration"), "admin_service_update_invalid_names_field");
    kvt_resp_free(&r);
    r = s_svc_admin("PATCH", tb, shave, "{\"price\":\"1\"}");
    KVT_EQ_INT(r.status, 404, "admin_service_update_other_tenant_is_404");
    kvt_resp_free(&r);
    r = s_svc_admin("PATCH", t, longsvc, "{\"active\":false}");
    KVT_EQ_INT(r.status, 200, "admin_service_deactivate_is_200");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/services/%lld", longsvc);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "services_get_after_deactivate_is_404");
    kvt_resp_free(&r);
    r = s_svc_admin("PATCH", t, retired, "{\"active\":true}");
    KVT_EQ_INT(r.status, 200, "admin_service_reactivate_is_200");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/services/%lld", retired);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "services_get_after_reactivate_is_200");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 4, "services_list_total_follows_activation");
    kvt_resp_free(&r);
    return kvt_done();
}
