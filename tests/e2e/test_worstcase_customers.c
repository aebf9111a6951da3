/*
 * test_worstcase_customers.c -- the largest legal page of customers is
 * listed, whole (issue 9, item 1: "crm lists of long 4-byte-character
 * notes").
 *
 * A tenant creates 100 customers through POST /api/v1/customers, each
 * with the longest name (200 characters) and notes (5000) of 4-byte
 * characters, the longest e-mail address (254), phone (15 digits), source
 * token (32) and enumeration values.  GET /api/v1/customers?per_page=100
 * answers 200 with all of them whole, and so does the same page of a sync
 * walk; the profile of one (GET /api/v1/customers/{id}) too.  Each answer's
 * size is printed and held against its bound in proto/kv_sizes.h.
 */
#include "worstcase_e2e.h"

#define N_CUSTOMERS 100

/* The longest e-mail address: a 64-character local part and labels of
 * 63, 63 and 61 characters (254 in all). */
static void s_email(char out[255])
{
    memset(out, 'a', 254);
    out[64] = '@';
    out[128] = '.';
    out[192] = '.';
    out[254] = '\0';
}

int main(void)
{
    char key[64], email[255], phone[20];
    se_tenant("wc-customers", "UTC", 0, key);
    s_email(email);

    int made = 0;
    long long last = -1;
    for (int i = 0; i < N_CUSTOMERS; i++) {
        if (i == 1)
            wc_record(0);   /* the first is recorded for the contract check */
        snprintf(phone, sizeof phone, "+1%014d", 55500000 + i);
        json_t *o = json_object();
        json_object_set_new(o, "name", wc_text(KV_CUSTOMER_NAME_MAX, (unsigned)i));
        json_object_set_new(o, "phone", json_string(phone));
        json_object_set_new(o, "email", json_string(email));
        json_object_set_new(o, "segment", json_string("inactive"));
        json_object_set_new(o, "pipeline_stage", json_string("qualified"));
        json_object_set_new(o, "source", json_string(WC_TOKEN));
        json_object_set_new(o, "notes", wc_text(KV_CUSTOMER_NOTES_MAX, (unsigned)i));
        char *body = wc_dump(o);
        kvt_resp_t r = kvt_api(key, "POST", "/api/v1/customers", body);
        if (r.status == 201) {
            made++;
            last = se_int(&r, "id");
        } else {
            fprintf(stderr, "customer %d: %ld %.300s\n", i, r.status, r.body ? r.body : "");
        }
        kvt_resp_free(&r);
        free(body);
    }
    wc_record(1);
    KVT_EQ_INT(made, N_CUSTOMERS, "100 customers with every field at its longest are created");

    const char *lists[2] = { "/api/v1/customers?per_page=100",
                             "/api/v1/customers?updated_since=1970-01-01T00:00:00Z&per_page=100" };
    const char *names[2] = { "customers.list of 100 customers at their longest",
                             "customers.list sync page of 100 customers at their longest" };
    for (int l = 0; l < 2; l++) {
        kvt_resp_t r = kvt_api(key, "GET", lists[l], NULL);
        KVT_EQ_INT(r.status, 200, "%s answers 200", lists[l]);
        json_t *data = json_object_get(r.json, "data");
        KVT_EQ_INT(json_array_size(data), N_CUSTOMERS, "with all 100 customers");
        int whole = 0;
        size_t i;
        json_t *c;
        json_array_foreach(data, i, c) {
            const char *notes = json_string_value(json_object_get(c, "notes"));
            const char *name = json_string_value(json_object_get(c, "name"));
            const char *mail = json_string_value(json_object_get(c, "email"));
            whole += notes && strlen(notes) == 4 * KV_CUSTOMER_NOTES_MAX && name &&
                     strlen(name) == 4 * KV_CUSTOMER_NAME_MAX && mail && strcmp(mail, email) == 0;
        }
        KVT_EQ_INT(whole, N_CUSTOMERS, "every name, e-mail and notes is shown whole");
        wc_size(names[l], r.body_len, KV_SZ_CUSTOMERS_PAGE, 98);
        kvt_resp_free(&r);
    }

    char path[64];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", last);
    kvt_resp_t r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "the profile of one of them answers 200");
    KVT_OK(json_is_integer(json_object_get(json_object_get(r.json, "data"), "total_appointments")),
           "with the figures scheduling adds");
    wc_size("customers.get of the longest customer", r.body_len, KV_SZ_CUSTOMERS_SHOW, 95);
    kvt_resp_free(&r);
    return kvt_done();
}
