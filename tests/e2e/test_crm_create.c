/*
 * test_crm_create.c -- POST /api/v1/customers end to end: the created
 * object, the defaults, every validation rule (422 with errors per field),
 * and the phone rule: normalised, unique per tenant however it is
 * punctuated, decided by the database.
 */
#include "crm_e2e.h"

static void test_created_object(const char *key)
{
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/customers",
                           "{\"name\":\"  Ann Lee \",\"phone\":\"+1 (555) 201-0001\","
                           "\"email\":\"ann@example.com\",\"segment\":\"vip\","
                           "\"source\":\"walk_in\"}");
    KVT_EQ_INT(r.status, 201, "create answers 201");
    KVT_OK(json_is_true(json_object_get(r.json, "success")), "create answers success true");
    KVT_OK(json_object_get(r.json, "meta") == NULL, "create answer has no meta");
    KVT_OK(crm_int(&r, "id") > 0, "created customer has a positive integer id");
    KVT_EQ_STR(crm_str(&r, "name"), "Ann Lee", "created customer's name is trimmed");
    KVT_EQ_STR(crm_str(&r, "phone"), "+15552010001", "created customer's phone is normalised");
    KVT_EQ_STR(crm_str(&r, "email"), "ann@example.com", "created customer keeps the email");
    KVT_EQ_STR(crm_str(&r, "segment"), "vip", "created customer keeps the segment");
    KVT_EQ_STR(crm_str(&r, "source"), "walk_in", "created customer keeps the source");
    KVT_EQ_STR(crm_str(&r, "pipeline_stage"), "new", "created customer starts at stage new");
    KVT_OK(json_is_null(json_object_get(crm_data(&r), "notes")), "created customer has notes null");
    const char *ca = crm_str(&r, "created_at");
    KVT_OK(ca && strlen(ca) == 20 && ca[4] == '-' && ca[10] == 'T' && ca[19] == 'Z',
           "created_at is RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)");
    KVT_OK(crm_str(&r, "updated_at") != NULL, "created customer has updated_at");
    kvt_resp_free(&r);

    r = kvt_api(key, "POST", "/api/v1/customers", "{\"name\":\"Bo\",\"phone\":\"555.201.0002\"}");
    KVT_EQ_INT(r.status, 201, "create with only name and phone answers 201");
    KVT_EQ_STR(crm_str(&r, "segment"), "lead", "segment defaults to lead");
    KVT_EQ_STR(crm_str(&r, "source"), "api", "source defaults to api");
    KVT_EQ_STR(crm_str(&r, "phone"), "5552010002", "dots are dropped from the phone");
    KVT_OK(json_is_null(json_object_get(crm_data(&r), "email")), "email defaults to null");
    kvt_resp_free(&r);

    r = kvt_api(key, "POST", "/api/v1/customers",
                "{\"name\":\"Cy\",\"phone\":\"5552010003\",\"pipeline_stage\":\"contacted\","
                "\"notes\":\"prefers mornings\"}");
    KVT_EQ_INT(r.status, 201, "create accepts pipeline_stage and notes (extension)");
    KVT_EQ_STR(crm_str(&r, "pipeline_stage"), "contacted", "create keeps pipeline_stage");
    KVT_EQ_STR(crm_str(&r, "notes"), "prefers mornings", "create keeps notes");
    kvt_resp_free(&r);
}

/* POSTs body and checks a 422 naming field (with message msg unless NULL). */
static void s_invalid(const char *key, const char *body, const char *field, const char *msg,
                      const char *what)
{
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/customers", body);
    KVT_EQ_INT(r.status, 422, "create with %s answers 422", what);
    KVT_OK(json_is_false(json_object_get(r.json, "success")), "create with %s: success false",
           what);
    KVT_EQ_STR(json_string_value(json_object_get(r.json, "message")),
               "The given data was invalid.", "create with %s: the 422 message", what);
    if (msg)
        KVT_EQ_STR(crm_err(&r, field), msg, "create with %s names errors.%s", what, field);
    else
        KVT_OK(crm_err(&r, field) != NULL, "create with %s names errors.%s", what, field);
    kvt_resp_free(&r);
}

static void test_validation(const char *key)
{
    s_invalid(key, "{\"phone\":\"5552020001\"}", "name", "The name field is required.",
              "no name");
    s_invalid(key, "{\"name\":\"  \",\"phone\":\"5552020001\"}", "name",
              "The name field is required.", "a blank name");
    s_invalid(key, "{\"name\":42,\"phone\":\"5552020001\"}", "name", "The name must be a string.",
              "a numeric name");
    char body[600], big[300];
    memset(big, 'n', 201);
    big[201] = '\0';
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"phone\":\"5552020001\"}", big);
    s_invalid(key, body, "name", "The name may not be greater than 200 characters.",
              "a 201-character name");
    big[200] = '\0';
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"phone\":\"5552020009\"}", big);
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/customers", body);
    KVT_EQ_INT(r.status, 201, "create accepts a 200-character name");
    kvt_resp_free(&r);
    r = kvt_api(key, "POST", "/api/v1/customers", "{\"name\":\"Seven\",\"phone\":\"555-1234\"}");
    KVT_EQ_INT(r.status, 201, "create accepts a 7-digit phone");
    kvt_resp_free(&r);
    r = kvt_api(key, "POST", "/api/v1/customers",
                "{\"name\":\"Fifteen\",\"phone\":\"+123 456 789 012 345\"}");
    KVT_EQ_INT(r.status, 201, "create accepts a 15-digit phone with +");
    KVT_EQ_STR(crm_str(&r, "phone"), "+123456789012345", "a 15-digit phone is stored normalised");
    kvt_resp_free(&r);
    s_invalid(key, "{\"name\":\"a\\tb\",\"phone\":\"5552020001\"}", "name", NULL,
              "a name with a tab");
    s_invalid(key, "{\"name\":\"Ann\"}", "phone", "The phone field is required.", "no phone");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":null}", "phone", "The phone field is required.",
              "a null phone");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":5552020001}", "phone",
              "The phone must be a string.", "a numeric phone");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"555-123\"}", "phone", NULL,
              "a 6-digit phone");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"+1234567890123456\"}", "phone", NULL,
              "a 16-digit phone");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"555-CALL-NOW\"}", "phone", NULL,
              "a phone with letters");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"55+52020001\"}", "phone", NULL,
              "a phone with + inside");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"5552020001\",\"email\":\"not-an-email\"}",
              "email", "The email must be a valid email address.", "an invalid email");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"5552020001\",\"email\":\"a@b\"}",
              "email", "The email must be a valid email address.", "an email without a dot");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"5552020001\",\"segment\":\"gold\"}",
              "segment", NULL, "an unknown segment");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"5552020001\",\"segment\":\"VIP\"}",
              "segment", NULL, "an upper-case segment");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"5552020001\",\"pipeline_stage\":\"closed\"}",
              "pipeline_stage", NULL, "an unknown pipeline_stage");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"5552020001\",\"source\":\"Walk In\"}",
              "source", NULL, "a source that is not a token");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"5552020001\",\"source\":12}",
              "source", "The source must be a string.", "a numeric source");
    s_invalid(key, "{\"name\":\"Ann\",\"phone\":\"5552020001\",\"vip\":true}",
              "vip", "The vip field is not allowed.", "an unknown field");
    s_invalid(key, "[{\"name\":\"Ann\",\"phone\":\"5552020001\"}]", "body",
              "The request body must be a JSON object.", "an array body");
    s_invalid(key, "\"Ann\"", "body", "The request body must be a JSON object.",
              "a string body");
    s_invalid(key, NULL, "body", "The request body must be a JSON object.", "no body");

    r = kvt_api(key, "POST", "/api/v1/customers", "{\"email\":\"x\",\"segment\":\"gold\"}");
    KVT_EQ_INT(r.status, 422, "create with several bad fields answers 422");
    KVT_EQ_INT(crm_nerrors(&r), 4, "create reports name, phone, email and segment at once");
    kvt_resp_free(&r);

    r = kvt_api(key, "POST", "/api/v1/customers", "{\"name\":\"Ann\",");
    KVT_EQ_INT(r.status, 400, "create with malformed JSON answers 400");
    kvt_resp_free(&r);

    /* nothing of the refused requests was stored */
    r = kvt_api(key, "GET", "/api/v1/customers?search=5552020001", NULL);
    KVT_EQ_INT(crm_meta(&r, "total"), 0, "refused creates stored nothing");
    kvt_resp_free(&r);
}

static void test_duplicate_phone(const char *key)
{
    long long id = crm_create(key, "{\"name\":\"First\",\"phone\":\"555-203-0001\"}");
    KVT_OK(id > 0, "a first customer with 555-203-0001 is created");
    const char *dups[] = { "555-203-0001", "(555) 203 0001", "555.203.0001", "5552030001",
                           " 555 203-0001 ", NULL };
    for (int i = 0; dups[i]; i++) {
        char body[200];
        snprintf(body, sizeof body, "{\"name\":\"Again\",\"phone\":\"%s\"}", dups[i]);
        kvt_resp_t r = kvt_api(key, "POST", "/api/v1/customers", body);
        KVT_EQ_INT(r.status, 422, "duplicate phone \"%s\" answers 422", dups[i]);
        KVT_EQ_STR(crm_err(&r, "phone"), "The phone has already been taken.",
                   "duplicate phone \"%s\" names errors.phone", dups[i]);
        kvt_resp_free(&r);
    }
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/customers?search=5552030001", NULL);
    KVT_EQ_INT(crm_meta(&r, "total"), 1, "duplicates left exactly one customer with the phone");
    kvt_resp_free(&r);

    long long id2 = crm_create(key, "{\"name\":\"Other\",\"phone\":\"555-203-0002\"}");
    KVT_OK(id2 > 0 && id2 != id, "a different phone is accepted");
}

int main(void)
{
    char key[64];
    if (kvt_tenant("crm-create", NULL, NULL, key) != 0) {
        KVT_OK(0, "a test tenant could be created");
        return kvt_done();
    }
    test_created_object(key);
    test_validation(key);
    test_duplicate_phone(key);
    return kvt_done();
}
