/*
 * test_api.c -- unit tests of shared/kv_api.c: the response envelopes of
 * the API reference, the 422 error lists, pagination parsing and the path
 * and query readers.  Each check is named after the behaviour it proves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "kv_api.h"

/* The envelope as compact JSON with sorted keys, for exact comparisons. */
static char *s_dump(json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

static void s_expect_json(json_t *j, const char *want, const char *name)
{
    char *got = s_dump(j);
    KVT_EQ_STR(got, want, "%s", name);
    free(got);
}

static void test_envelopes(void)
{
    kv_rep_t rep = { 500, NULL, NULL, 0 };

    kv_reply_ok(&rep, 200, json_pack("{s:i}", "id", 7), NULL);
    KVT_EQ_INT(rep.status, 200, "reply_ok sets the status");
    s_expect_json(rep.body, "{\"data\":{\"id\":7},\"success\":true}",
                  "reply_ok without meta has exactly success and data");

    kv_reply_ok(&rep, 200, json_array(), kv_meta_page(3, 20, 142));
    s_expect_json(rep.body,
                  "{\"data\":[],\"meta\":{\"page\":3,\"per_page\":20,\"total\":142},\"success\":true}",
                  "reply_ok with meta carries page, per_page and total (replacing the old body)");

    kv_reply_ok(&rep, 201, NULL, NULL);
    KVT_EQ_INT(rep.status, 201, "reply_ok passes 201 through");
    s_expect_json(rep.body, "{\"data\":null,\"success\":true}", "reply_ok with NULL data gives null");

    kv_reply_error(&rep, 409, "Slot taken.", NULL);
    KVT_EQ_INT(rep.status, 409, "reply_error sets the status");
    s_expect_json(rep.body, "{\"message\":\"Slot taken.\",\"success\":false}",
                  "reply_error without errors has no errors key");

    kv_reply_not_found(&rep, "Appointment");
    KVT_EQ_INT(rep.status, 404, "reply_not_found is 404");
    s_expect_json(rep.body, "{\"message\":\"Appointment not found.\",\"success\":false}",
                  "reply_not_found says '<what> not found.'");

    json_t *errors = json_object();
    kv_errors_add(errors, "date", "The date field is required.");
    kv_reply_invalid(&rep, errors);
    KVT_EQ_INT(rep.status, 422, "reply_invalid is 422");
    s_expect_json(rep.body,
                  "{\"errors\":{\"date\":[\"The date field is required.\"]},"
                  "\"message\":\"The given data was invalid.\",\"success\":false}",
                  "reply_invalid matches the API reference error envelope");

    kv_reply_internal(&rep);
    KVT_EQ_INT(rep.status, 500, "reply_internal is 500");
    s_expect_json(rep.body, "{\"message\":\"Internal server error.\",\"success\":false}",
                  "reply_internal hides details");

    kv_reply_unavailable(&rep);
    KVT_EQ_INT(rep.status, 503, "reply_unavailable is 503");
    s_expect_json(rep.body,
                  "{\"message\":\"Service temporarily unavailable.\",\"success\":false}",
                  "reply_unavailable message");
    json_decref(rep.body);
}

static void test_errors_add(void)
{
    json_t *e = json_object();
    kv_errors_add(e, "phone", "The phone field is required.");
    kv_errors_add(e, "phone", "The phone format is invalid.");
    kv_errors_add(e, "name", "The name field is required.");
    s_expect_json(e,
                  "{\"name\":[\"The name field is required.\"],"
                  "\"phone\":[\"The phone field is required.\",\"The phone format is invalid.\"]}",
                  "errors_add creates a list per field and appends in order");
    json_decref(e);
}

/* Runs kv_query_page over a query built from a JSON text. */
static int s_page(const char *query_json, int *page, int *per_page, json_t **errors)
{
    json_t *q = json_loads(query_json, 0, NULL);
    *errors = json_object();
    int rc = kv_query_page(q, 20, 100, page, per_page, *errors);
    json_decref(q);
    return rc;
}

static void test_page(void)
{
    int page = -5, per_page = -5;
    json_t *errors;

    KVT_OK(s_page("{}", &page, &per_page, &errors) == 0 && page == 1 && per_page == 20 &&
           json_object_size(errors) == 0, "absent page and per_page default to 1 and 20");
    json_decref(errors);

    KVT_OK(s_page("{\"page\":\"3\",\"per_page\":\"50\"}", &page, &per_page, &errors) == 0 &&
           page == 3 && per_page == 50, "page 3 per_page 50 are read");
    json_decref(errors);

    KVT_OK(s_page("{\"per_page\":\"1\"}", &page, &per_page, &errors) == 0 && per_page == 1,
           "per_page 1 is the minimum accepted");
    json_decref(errors);
    KVT_OK(s_page("{\"per_page\":\"100\"}", &page, &per_page, &errors) == 0 && per_page == 100,
           "per_page 100 is the maximum accepted");
    json_decref(errors);

    /* every refusal gives the message that is true for it (issue 9: a huge
     * page used to be told it must be "at least 1") */
    struct { const char *field, *value, *msg; } bad[] = {
        { "per_page", "\"0\"", "The per_page must be at least 1." },
        { "per_page", "\"-1\"", "The per_page must be at least 1." },
        { "per_page", "\"101\"", "The per_page may not be greater than 100." },
        { "per_page", "\"99999999999999999999\"", "The per_page may not be greater than 100." },
        { "per_page", "\"abc\"", "The per_page must be an integer." },
        { "per_page", "\"1.5\"", "The per_page must be an integer." },
        { "per_page", "\"\"", "The per_page must be an integer." },
        { "per_page", "\" 5\"", "The per_page must be an integer." },
        { "per_page", "\"+5\"", "The per_page must be an integer." },
        { "per_page", "\"5x\"", "The per_page must be an integer." },
        { "per_page", "5", "The per_page must be an integer." },
        { "per_page", "null", "The per_page must be an integer." },
        { "per_page", "[\"5\"]", "The per_page must be an integer." },
        { "per_page", "true", "The per_page must be an integer." },
        { "page", "\"0\"", "The page must be at least 1." },
        { "page", "\"-1\"", "The page must be at least 1." },
        { "page", "\"-99999999999999999999\"", "The page must be at least 1." },
        { "page", "\"abc\"", "The page must be an integer." },
        { "page", "\"1.5\"", "The page must be an integer." },
        { "page", "\"\"", "The page must be an integer." },
        { "page", "\"1e2\"", "The page must be an integer." },
        { "page", "2", "The page must be an integer." },
        { "page", "null", "The page must be an integer." },
        { "page", "\"10000001\"", "The page may not be greater than 10000000." },
        { "page", "\"999999999999999999999\"", "The page may not be greater than 10000000." },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char q[128];
        snprintf(q, sizeof q, "{\"%s\":%s}", bad[i].field, bad[i].value);
        int rc = s_page(q, &page, &per_page, &errors);
        const char *m = json_string_value(json_array_get(json_object_get(errors, bad[i].field), 0));
        const char *other = strcmp(bad[i].field, "page") == 0 ? "per_page" : "page";
        KVT_OK(rc == -1 && m && strcmp(m, bad[i].msg) == 0 && json_object_size(errors) == 1 &&
               json_object_get(errors, other) == NULL && page == 1 && per_page == 20,
               "%s %s is refused with \"%s\"", bad[i].field, bad[i].value, bad[i].msg);
        json_decref(errors);
    }

    int rc = s_page("{\"page\":\"10000000\"}", &page, &per_page, &errors);
    KVT_OK(rc == 0 && page == 10000000, "page 10^7 (the cap) is accepted");
    json_decref(errors);

    rc = s_page("{\"page\":\"0\",\"per_page\":\"0\"}", &page, &per_page, &errors);
    KVT_OK(rc == -1 && json_object_get(errors, "page") && json_object_get(errors, "per_page"),
           "both page and per_page invalid report both fields");
    json_decref(errors);

    json_t *e2 = json_object();
    rc = kv_query_page(NULL, 20, 100, &page, &per_page, e2);
    KVT_OK(rc == 0 && page == 1 && per_page == 20, "a NULL query gives the defaults");
    json_decref(e2);
}

static void test_params(void)
{
    kv_hdr_t hdr;
    memset(&hdr, 0, sizeof hdr);
    kv_req_t req = { &hdr, NULL, NULL, NULL };

    struct { const char *json; int64_t want; const char *name; } ids[] = {
        { "{\"id\":\"12\"}", 12, "param_id reads a positive id" },
        { "{\"id\":\"9223372036854775807\"}", INT64_MAX, "param_id reads the largest bigint" },
        { "{\"id\":\"0\"}", 0, "param_id refuses 0" },
        { "{\"id\":\"-3\"}", 0, "param_id refuses a negative id" },
        { "{\"id\":\"12a\"}", 0, "param_id refuses trailing letters" },
        { "{\"id\":\"\"}", 0, "param_id refuses the empty string" },
        { "{\"id\":\"9223372036854775808\"}", 0, "param_id refuses ids above bigint" },
        { "{\"id\":12}", 0, "param_id refuses a non-string value" },
        { "{}", 0, "param_id gives 0 when absent" },
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        req.params = json_loads(ids[i].json, 0, NULL);
        KVT_EQ_INT(kv_param_id(&req, "id"), ids[i].want, "%s", ids[i].name);
        json_decref(req.params);
    }
    req.params = json_pack("{s:s}", "customer_id", "77");
    KVT_EQ_INT(kv_param_id(&req, "customer_id"), 77, "param_id reads the key it is given");
    json_decref(req.params);

    json_t *q = json_pack("{s:s,s:i,s:n}", "status", "completed", "date", 5, "x", "");
    KVT_EQ_STR(kv_query_str(q, "status"), "completed", "query_str returns the string value");
    KVT_OK(kv_query_str(q, "missing") == NULL, "query_str gives NULL when absent");
    KVT_EQ_STR(kv_query_str(q, "x"), "", "query_str gives \"\" for JSON null (present, not a string)");
    KVT_EQ_STR(kv_query_str(q, "date"), "",
               "query_str gives \"\" for a non-string value so validation refuses it");
    KVT_OK(kv_query_str(NULL, "status") == NULL, "query_str tolerates a NULL query");
    json_decref(q);
}

/* The envelope written directly is kv_reply_ok's, byte for byte. */
static void test_written(void)
{
    kv_rep_t tree = { 500, NULL, NULL, 0 }, text = { 500, NULL, NULL, 0 };
    json_t *data = json_pack("[{s:i,s:s,s:f},{s:i,s:n,s:f}]", "id", 1, "name", "Cut \"& wash\"",
                             "price", 25.5, "id", 2, "name", "price", 1999 / 100.0);
    kv_jw_t w;
    kv_reply_ok_begin(&w);
    kv_jw_json(&w, data, 15);
    kv_reply_ok_end(&text, 200, &w, kv_meta_page(2, 20, 42));
    kv_reply_ok(&tree, 200, data, kv_meta_page(2, 20, 42));
    char *want = json_dumps(tree.body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    KVT_EQ_INT(text.status, 200, "a written envelope keeps its status");
    KVT_OK(text.body == NULL && text.text != NULL, "and is text, not a tree");
    KVT_EQ_STR(text.text ? text.text : "", want,
               "kv_reply_ok_end writes the very bytes of kv_reply_ok's envelope, meta included");
    KVT_EQ_INT((long long)text.text_len, (long long)strlen(want), "with its length");
    free(want);

    /* a later kv_reply_* replaces the text */
    kv_reply_not_found(&text, "Service");
    KVT_OK(text.text == NULL && text.body != NULL && text.status == 404,
           "an error reply after a written one replaces it");
    json_decref(text.body);
    json_decref(tree.body);

    /* a writer that failed is a 500 */
    kv_rep_t bad = { 500, NULL, NULL, 0 };
    kv_reply_ok_begin(&w);
    kv_jw_str(&w, "\xff", 1);
    kv_reply_ok_end(&bad, 200, &w, NULL);
    KVT_EQ_INT(bad.status, 500, "a written envelope with invalid UTF-8 becomes 500");
    KVT_OK(bad.text == NULL && bad.body != NULL, "with the internal-error envelope");
    json_decref(bad.body);
}

int main(void)
{
    test_envelopes();
    test_written();
    test_errors_add();
    test_page();
    test_params();
    return kvt_done();
}
