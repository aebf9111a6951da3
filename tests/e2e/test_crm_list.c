/*
 * test_crm_list.c -- GET /api/v1/customers end to end: newest first, each
 * filter (segment, pipeline_stage, search by name / email / phone however
 * punctuated, LIKE wildcards taken literally), filters combined, and the
 * pagination edges (page past the end, per_page 0 / 101 / -1 / "abc").
 */
#include "crm_e2e.h"

/* The customers of the test tenant, in creation order. */
enum { ANN, BOB, CARLA, DAN, PERCENT, N_CUSTOMERS };
static long long ids[N_CUSTOMERS];

static int s_seed(const char *key)
{
    const char *bodies[N_CUSTOMERS] = {
        "{\"name\":\"Ann Lee\",\"phone\":\"555-123-4567\",\"email\":\"ann@example.com\","
        "\"segment\":\"vip\"}",
        "{\"name\":\"Bob Stone\",\"phone\":\"(555) 987-6543\",\"email\":\"Bob@Shop.IO\"}",
        "{\"name\":\"Carla ANNE\",\"phone\":\"+1 212 555 0000\",\"email\":\"carla@mail.com\","
        "\"segment\":\"active\",\"pipeline_stage\":\"qualified\"}",
        "{\"name\":\"Dan\",\"phone\":\"444.555.6666\",\"segment\":\"inactive\"}",
        "{\"name\":\"Percent 50% Guy\",\"phone\":\"777 888 9999\",\"email\":\"p50@deals.net\"}",
    };
    for (int i = 0; i < N_CUSTOMERS; i++)
        if ((ids[i] = crm_create(key, bodies[i])) <= 0)
            return -1;
    return 0;
}

/* Lists with one query parameter and checks the total and the ids. */
static void s_expect(const char *key, const char *name, const char *value,
                     const long long *want, size_t n, const char *what)
{
    kvt_resp_t r = crm_list1(key, name, value, NULL);
    KVT_EQ_INT(r.status, 200, "%s answers 200", what);
    KVT_EQ_INT(crm_meta(&r, "total"), (long long)n, "%s: meta.total", what);
    KVT_OK(crm_ids_are(&r, want, n), "%s: exactly the expected customers, newest first", what);
    kvt_resp_free(&r);
}

static void s_expect_422(const char *key, const char *query, const char *field, const char *what)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/customers?%s", query);
    kvt_resp_t r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 422, "%s answers 422", what);
    KVT_OK(crm_err(&r, field) != NULL, "%s names errors.%s", what, field);
    kvt_resp_free(&r);
}

static void test_all(const char *key)
{
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/customers", NULL);
    KVT_EQ_INT(r.status, 200, "list answers 200");
    KVT_OK(json_is_true(json_object_get(r.json, "success")), "list answers success true");
    KVT_EQ_INT(crm_meta(&r, "page"), 1, "list meta.page defaults to 1");
    KVT_EQ_INT(crm_meta(&r, "per_page"), 20, "list meta.per_page defaults to 20");
    KVT_EQ_INT(crm_meta(&r, "total"), N_CUSTOMERS, "list meta.total counts the tenant's customers");
    long long newest_first[] = { ids[PERCENT], ids[DAN], ids[CARLA], ids[BOB], ids[ANN] };
    KVT_OK(crm_ids_are(&r, newest_first, N_CUSTOMERS), "list is newest first");
    json_t *c = json_array_get(crm_data(&r), 0);
    const char *fields[] = { "id", "name", "phone", "email", "segment", "pipeline_stage",
                             "notes", "source", "created_at", "updated_at", NULL };
    for (int i = 0; fields[i]; i++)
        KVT_OK(json_object_get(c, fields[i]) != NULL, "listed customer has field %s", fields[i]);
    kvt_resp_free(&r);
}

static void test_filters(const char *key)
{
    long long vip[] = { ids[ANN] };
    s_expect(key, "segment", "vip", vip, 1, "segment=vip");
    long long lead[] = { ids[PERCENT], ids[BOB] };
    s_expect(key, "segment", "lead", lead, 2, "segment=lead");
    long long active[] = { ids[CARLA] };
    s_expect(key, "segment", "active", active, 1, "segment=active");
    long long inactive[] = { ids[DAN] };
    s_expect(key, "segment", "inactive", inactive, 1, "segment=inactive");
    s_expect_422(key, "segment=gold", "segment", "segment=gold");

    long long qualified[] = { ids[CARLA] };
    s_expect(key, "pipeline_stage", "qualified", qualified, 1, "pipeline_stage=qualified");
    long long fresh[] = { ids[PERCENT], ids[DAN], ids[BOB], ids[ANN] };
    s_expect(key, "pipeline_stage", "new", fresh, 4, "pipeline_stage=new");
    s_expect(key, "pipeline_stage", "won", NULL, 0, "pipeline_stage=won (none)");
    s_expect_422(key, "pipeline_stage=closed", "pipeline_stage", "pipeline_stage=closed");

    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/customers?segment=lead&search=stone", NULL);
    long long both[] = { ids[BOB] };
    KVT_OK(r.status == 200 && crm_ids_are(&r, both, 1), "segment and search combine (AND)");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/customers?segment=vip&search=stone", NULL);
    KVT_OK(r.status == 200 && crm_meta(&r, "total") == 0, "combined filters can match nothing");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/customers?segment=&pipeline_stage=&search=", NULL);
    KVT_EQ_INT(crm_meta(&r, "total"), N_CUSTOMERS, "empty filter values mean no filter");
    kvt_resp_free(&r);
}

static void test_search(const char *key)
{
    long long ann[] = { ids[CARLA], ids[ANN] };
    s_expect(key, "search", "ann", ann, 2, "search=ann (name, case-insensitive)");
    s_expect(key, "search", "ANN", ann, 2, "search=ANN (name, case-insensitive)");
    long long bob[] = { ids[BOB] };
    s_expect(key, "search", "shop.io", bob, 1, "search=shop.io (email, case-insensitive)");
    s_expect(key, "search", "BOB@SHOP", bob, 1, "search=BOB@SHOP (email)");
    long long ann_phone[] = { ids[ANN] };
    s_expect(key, "search", "555 123", ann_phone, 1, "search=\"555 123\" (phone with a space)");
    s_expect(key, "search", "(555)-123", ann_phone, 1, "search=\"(555)-123\" (phone punctuated)");
    s_expect(key, "search", "5551234567", ann_phone, 1, "search by the whole phone");
    s_expect(key, "search", "555-123-4567", ann_phone, 1, "search by the phone as created");
    long long p555[] = { ids[DAN], ids[CARLA], ids[BOB], ids[ANN] };
    s_expect(key, "search", "555", p555, 4, "search=555 matches phones containing 555");
    long long p1212[] = { ids[CARLA] };
    s_expect(key, "search", "+1 212", p1212, 1, "search=\"+1 212\" ignores the +");
    long long pct[] = { ids[PERCENT] };
    s_expect(key, "search", "50%", pct, 1, "search=50% takes % literally");
    s_expect(key, "search", "%", pct, 1, "search=% matches only a literal %");
    s_expect(key, "search", "_", NULL, 0, "search=_ matches only a literal _");
    s_expect(key, "search", "\\", NULL, 0, "search=\\ matches only a literal backslash");
    s_expect(key, "search", "  Lee  ", ann_phone, 1, "search term is trimmed");
    s_expect(key, "search", "zzzz", NULL, 0, "search with no match: total 0, data []");
    char big[120];
    memset(big, 'a', 101);
    big[101] = '\0';
    kvt_resp_t r = crm_list1(key, "search", big, NULL);
    KVT_EQ_INT(r.status, 422, "a 101-character search answers 422");
    KVT_OK(crm_err(&r, "search") != NULL, "a 101-character search names errors.search");
    kvt_resp_free(&r);
}

static void test_pagination(const char *key)
{
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/customers?per_page=2", NULL);
    long long p1[] = { ids[PERCENT], ids[DAN] };
    KVT_OK(r.status == 200 && crm_ids_are(&r, p1, 2), "per_page=2 gives the two newest");
    KVT_EQ_INT(crm_meta(&r, "per_page"), 2, "per_page=2: meta.per_page");
    KVT_EQ_INT(crm_meta(&r, "total"), N_CUSTOMERS, "per_page=2: meta.total is the full count");
    kvt_resp_free(&r);

    r = kvt_api(key, "GET", "/api/v1/customers?per_page=2&page=2", NULL);
    long long p2[] = { ids[CARLA], ids[BOB] };
    KVT_OK(r.status == 200 && crm_ids_are(&r, p2, 2), "page=2 continues where page 1 ended");
    KVT_EQ_INT(crm_meta(&r, "page"), 2, "page=2: meta.page");
    kvt_resp_free(&r);

    r = kvt_api(key, "GET", "/api/v1/customers?per_page=2&page=3", NULL);
    long long p3[] = { ids[ANN] };
    KVT_OK(r.status == 200 && crm_ids_are(&r, p3, 1), "the last page holds the rest");
    kvt_resp_free(&r);

    r = kvt_api(key, "GET", "/api/v1/customers?per_page=2&page=4", NULL);
    KVT_EQ_INT(r.status, 200, "a page past the end answers 200");
    KVT_OK(json_is_array(crm_data(&r)) && json_array_size(crm_data(&r)) == 0,
           "a page past the end has data []");
    KVT_EQ_INT(crm_meta(&r, "page"), 4, "a page past the end: meta.page");
    KVT_EQ_INT(crm_meta(&r, "total"), N_CUSTOMERS, "a page past the end: meta.total");
    kvt_resp_free(&r);

    r = kvt_api(key, "GET", "/api/v1/customers?per_page=100", NULL);
    KVT_EQ_INT(r.status, 200, "per_page=100 is accepted");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/customers?per_page=1", NULL);
    KVT_OK(r.status == 200 && json_array_size(crm_data(&r)) == 1, "per_page=1 gives one");
    kvt_resp_free(&r);

    const char *bad_pp[] = { "0", "101", "-1", "abc", "1.5", "", NULL };
    for (int i = 0; bad_pp[i]; i++) {
        char q[64];
        snprintf(q, sizeof q, "per_page=%s", bad_pp[i]);
        char what[80];
        snprintf(what, sizeof what, "per_page=\"%s\"", bad_pp[i]);
        s_expect_422(key, q, "per_page", what);
    }
    const char *bad_page[] = { "0", "-1", "abc", NULL };
    for (int i = 0; bad_page[i]; i++) {
        char q[64];
        snprintf(q, sizeof q, "page=%s", bad_page[i]);
        char what[80];
        snprintf(what, sizeof what, "page=\"%s\"", bad_page[i]);
        s_expect_422(key, q, "page", what);
    }
    r = kvt_api(key, "GET", "/api/v1/customers?page=0&per_page=0&segment=gold", NULL);
    KVT_EQ_INT(r.status, 422, "several bad query values answer 422");
    KVT_EQ_INT(crm_nerrors(&r), 3, "page, per_page and segment are reported together");
    kvt_resp_free(&r);
}

int main(void)
{
    char key[64];
    if (kvt_tenant("crm-list", NULL, NULL, key) != 0 || s_seed(key) != 0) {
        KVT_OK(0, "a test tenant with five customers could be created");
        return kvt_done();
    }
    test_all(key);
    test_filters(key);
    test_search(key);
    test_pagination(key);
    return kvt_done();
}
