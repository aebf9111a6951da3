/*
 * test_crm_update.c -- PATCH /api/v1/customers/{id} end to end: each
 * accepted field (segment, pipeline_stage, notes, email, and clearing notes
 * and email with null), and each refusal: phone ("Phone cannot be updated
 * via API"), unknown fields named, empty / non-object bodies, bad values;
 * a refused update changes nothing.  Unknown ids answer 404.
 */
#include "crm_e2e.h"

static kvt_resp_t s_patch(const char *key, long long id, const char *body)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", id);
    return kvt_api(key, "PATCH", path, body);
}

/* The customer as the list shows it (searching its unique phone); caller
 * owns the result (NULL when not found). */
static json_t *s_current(const char *key, const char *phone)
{
    kvt_resp_t r = crm_list1(key, "search", phone, NULL);
    json_t *c = json_incref(json_array_get(crm_data(&r), 0));
    kvt_resp_free(&r);
    return c;
}

static void test_accepted(const char *key, long long id)
{
    kvt_resp_t r = s_patch(key, id, "{\"segment\":\"vip\"}");
    KVT_EQ_INT(r.status, 200, "patch segment answers 200");
    KVT_OK(json_is_true(json_object_get(r.json, "success")), "patch answers success true");
    KVT_EQ_INT(crm_int(&r, "id"), id, "patch answers the customer");
    KVT_EQ_STR(crm_str(&r, "segment"), "vip", "patch sets the segment");
    KVT_EQ_STR(crm_str(&r, "name"), "Eve", "patch leaves the name alone");
    KVT_EQ_STR(crm_str(&r, "email"), "eve@example.com", "patch leaves an absent email alone");
    kvt_resp_free(&r);

    r = s_patch(key, id, "{\"pipeline_stage\":\"proposal\",\"notes\":\"call back Friday\","
                "\"email\":\"eve@new.example\"}");
    KVT_EQ_INT(r.status, 200, "patch of several fields answers 200");
    KVT_EQ_STR(crm_str(&r, "pipeline_stage"), "proposal", "patch sets the pipeline_stage");
    KVT_EQ_STR(crm_str(&r, "notes"), "call back Friday", "patch sets the notes");
    KVT_EQ_STR(crm_str(&r, "email"), "eve@new.example", "patch sets the email");
    KVT_EQ_STR(crm_str(&r, "segment"), "vip", "patch keeps the earlier segment");
    const char *ca = crm_str(&r, "created_at"), *ua = crm_str(&r, "updated_at");
    KVT_OK(ca && ua && strcmp(ua, ca) >= 0, "updated_at is not before created_at");
    kvt_resp_free(&r);

    json_t *c = s_current(key, "5553030001");
    KVT_EQ_STR(json_string_value(json_object_get(c, "pipeline_stage")), "proposal",
               "the update is stored (seen by the list)");
    json_decref(c);

    r = s_patch(key, id, "{\"notes\":null,\"email\":null}");
    KVT_EQ_INT(r.status, 200, "patch with nulls answers 200");
    KVT_OK(json_is_null(json_object_get(crm_data(&r), "notes")), "notes null clears the notes");
    KVT_OK(json_is_null(json_object_get(crm_data(&r), "email")), "email null clears the email");
    kvt_resp_free(&r);

    const char *stages[] = { "new", "contacted", "qualified", "proposal", "won", "lost", NULL };
    for (int i = 0; stages[i]; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"pipeline_stage\":\"%s\"}", stages[i]);
        r = s_patch(key, id, body);
        KVT_OK(r.status == 200 && crm_str(&r, "pipeline_stage") &&
               strcmp(crm_str(&r, "pipeline_stage"), stages[i]) == 0,
               "pipeline_stage %s is accepted", stages[i]);
        kvt_resp_free(&r);
    }
    const char *segments[] = { "lead", "active", "inactive", "vip", NULL };
    for (int i = 0; segments[i]; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"segment\":\"%s\"}", segments[i]);
        r = s_patch(key, id, body);
        KVT_OK(r.status == 200 && crm_str(&r, "segment") &&
               strcmp(crm_str(&r, "segment"), segments[i]) == 0,
               "segment %s is accepted", segments[i]);
        kvt_resp_free(&r);
    }
}

static void s_refused(const char *key, long long id, const char *body, const char *field,
                      const char *msg, const char *what)
{
    kvt_resp_t r = s_patch(key, id, body);
    KVT_EQ_INT(r.status, 422, "patch with %s answers 422", what);
    KVT_EQ_STR(json_string_value(json_object_get(r.json, "message")),
               "The given data was invalid.", "patch with %s: the 422 message", what);
    if (msg)
        KVT_EQ_STR(crm_err(&r, field), msg, "patch with %s names errors.%s", what, field);
    else
        KVT_OK(crm_err(&r, field) != NULL, "patch with %s names errors.%s", what, field);
    kvt_resp_free(&r);
}

static void test_refused(const char *key, long long id)
{
    s_refused(key, id, "{\"phone\":\"5553039999\"}", "phone", "Phone cannot be updated via API",
              "a phone");
    s_refused(key, id, "{\"phone\":\"5553039999\",\"segment\":\"lead\"}", "phone",
              "Phone cannot be updated via API", "a phone beside a valid field");
    s_refused(key, id, "{\"name\":\"Mallory\"}", "name", "The name field is not allowed.",
              "a name");
    s_refused(key, id, "{\"source\":\"api\"}", "source", "The source field is not allowed.",
              "a source");
    s_refused(key, id, "{\"colour\":\"red\",\"segment\":\"lead\"}", "colour",
              "The colour field is not allowed.", "an unknown field beside a valid one");
    s_refused(key, id, "{}", "body", NULL, "an empty object");
    s_refused(key, id, NULL, "body", "The request body must be a JSON object.", "no body");
    s_refused(key, id, "[]", "body", "The request body must be a JSON object.", "an array");
    s_refused(key, id, "\"vip\"", "body", "The request body must be a JSON object.", "a string");
    s_refused(key, id, "{\"segment\":\"gold\"}", "segment", NULL, "an unknown segment");
    s_refused(key, id, "{\"segment\":null}", "segment", NULL, "a null segment");
    s_refused(key, id, "{\"pipeline_stage\":\"done\"}", "pipeline_stage", NULL,
              "an unknown pipeline_stage");
    s_refused(key, id, "{\"pipeline_stage\":7}", "pipeline_stage", NULL,
              "a numeric pipeline_stage");
    s_refused(key, id, "{\"email\":\"eve@\"}", "email", "The email must be a valid email address.",
              "an invalid email");
    s_refused(key, id, "{\"notes\":[\"a\"]}", "notes", "The notes must be a string.",
              "array notes");
    char *big = malloc(5100);
    memset(big, 'n', 5001);
    big[5001] = '\0';
    char *body = malloc(5200);
    snprintf(body, 5200, "{\"notes\":\"%s\"}", big);
    s_refused(key, id, body, "notes", "The notes may not be greater than 5000 characters.",
              "5001-character notes");
    free(body);
    free(big);

    kvt_resp_t r = s_patch(key, id, "{\"segment\":\"vip\",\"phone\":\"1\",\"x\":1}");
    KVT_EQ_INT(crm_nerrors(&r), 2, "phone and the unknown field are reported together");
    kvt_resp_free(&r);

    /* nothing of the refused updates was applied */
    json_t *c = s_current(key, "5553030001");
    KVT_EQ_STR(json_string_value(json_object_get(c, "phone")), "5553030001",
               "refused updates left the phone alone");
    KVT_EQ_STR(json_string_value(json_object_get(c, "name")), "Eve",
               "refused updates left the name alone");
    KVT_EQ_STR(json_string_value(json_object_get(c, "segment")), "vip",
               "refused updates left the segment alone");
    json_decref(c);

    r = kvt_api(key, "PATCH", "/api/v1/customers/999999999", "{\"segment\":\"vip\"}");
    KVT_EQ_INT(r.status, 404, "patch of an unknown id answers 404");
    KVT_EQ_STR(json_string_value(json_object_get(r.json, "message")), "Customer not found.",
               "patch of an unknown id: message");
    kvt_resp_free(&r);
}

int main(void)
{
    char key[64];
    long long id;
    if (kvt_tenant("crm-update", NULL, NULL, key) != 0 ||
        (id = crm_create(key, "{\"name\":\"Eve\",\"phone\":\"555-303-0001\","
                              "\"email\":\"eve@example.com\"}")) <= 0) {
        KVT_OK(0, "a test tenant with a customer could be created");
        return kvt_done();
    }
    test_accepted(key, id);
    test_refused(key, id);
    return kvt_done();
}
