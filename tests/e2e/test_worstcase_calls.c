/*
 * test_worstcase_calls.c -- the largest legal page of calls is listed,
 * whole (issue 9, item 1: data the API accepted can always be listed).
 *
 * A tenant logs 100 calls through POST /api/v1/calls, every field at its
 * longest and made of the character that costs most in JSON: a 20,000-
 * character summary, a 200-character caller_name and a 128-character
 * external_id of 4-byte characters, a 2048-byte recording_url, the
 * longest enumerations and numbers.
 * Then GET /api/v1/calls?per_page=100 -- the page the issue saw jam every
 * calls worker -- answers 200 with all 100 calls, every text whole; so do
 * four such requests at once (within the request deadline: a 504 would
 * fail) and the same page of a sync walk.  The size of the page is printed and held
 * against KV_SZ_CALLS_PAGE (proto/kv_sizes.h): at most that, and close to
 * it, so that this is really the worst case.
 */
#include <pthread.h>

#include "worstcase_e2e.h"

#define N_CALLS 100

/* 1 when item (a call of the list) holds number i's texts whole. */
static int s_whole(json_t *item)
{
    const char *sum = json_string_value(json_object_get(item, "summary"));
    const char *name = json_string_value(json_object_get(item, "caller_name"));
    const char *ext = json_string_value(json_object_get(item, "external_id"));
    const char *url = json_string_value(json_object_get(item, "recording_url"));
    return sum && strlen(sum) == 4 * KV_CALL_SUMMARY_MAX && name &&
           strlen(name) == 4 * KV_CALL_CALLER_NAME_MAX && ext &&
           strlen(ext) == 4 * KV_CALL_EXTERNAL_ID_MAX && url && strlen(url) == KV_CALL_URL_MAX &&
           json_object_get(item, "transcript") == NULL;
}

typedef struct {
    const char *key;
    long status;
    size_t len, rows;
    double secs;
} s_req_t;

static void *s_list(void *arg)
{
    s_req_t *q = arg;
    kvt_resp_t r = kvt_api(q->key, "GET", "/api/v1/calls?per_page=100", NULL);
    q->status = r.status;
    q->len = r.body_len;
    q->rows = json_array_size(json_object_get(r.json, "data"));
    q->secs = r.seconds;
    kvt_resp_free(&r);
    return NULL;
}

int main(void)
{
    char key[64];
    se_tenant("wc-calls", "UTC", 0, key);

    int logged = 0;
    size_t body_len = 0;
    for (int i = 0; i < N_CALLS; i++) {
        if (i == 1)
            wc_record(0);   /* the first is recorded for the contract check */
        char *body = wc_dump(wc_call_json(i, 0));
        body_len = strlen(body);
        kvt_resp_t r = calls_post(key, body);
        logged += r.status == 201;
        if (r.status != 201)
            fprintf(stderr, "call %d: %ld %.300s\n", i, r.status, r.body ? r.body : "");
        kvt_resp_free(&r);
        free(body);
    }
    wc_record(1);
    KVT_EQ_INT(logged, N_CALLS, "100 calls with every field at its longest are logged "
               "(request bodies of %zu bytes)", body_len);

    /* the page of the issue */
    long hwm0 = wc_mem_kb("gateway", "VmRSS"), svc0 = wc_mem_kb("calls", "VmRSS");
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/calls?per_page=100", NULL);
    KVT_EQ_INT(r.status, 200, "GET /api/v1/calls?per_page=100 of the largest calls answers 200");
    KVT_EQ_INT(json_array_size(json_object_get(r.json, "data")), N_CALLS, "with all 100 calls");
    KVT_EQ_INT(json_integer_value(json_object_get(json_object_get(r.json, "meta"), "total")),
               N_CALLS, "meta.total says 100");
    int whole = 0;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r.json, "data"), i, item)
        whole += s_whole(item);
    KVT_EQ_INT(whole, N_CALLS, "every summary, caller_name, external_id and recording_url is "
               "shown whole (and no transcript in a list)");
    long long clen = -1;
    KVT_OK(gw_hdr_ll(&r, "Content-Length", &clen) == 0 && clen == (long long)r.body_len,
           "the whole body arrived: Content-Length %lld, %zu bytes read", clen, r.body_len);
    wc_size("calls.list of 100 calls at their longest", r.body_len, KV_SZ_CALLS_PAGE, 97);
    size_t page_len = r.body_len;
    kvt_resp_free(&r);

    /* four at once, as in the issue: each answered, none at a deadline */
    wc_record(0);
    s_req_t q[4];
    pthread_t th[4];
    for (int k = 0; k < 4; k++) {
        memset(&q[k], 0, sizeof q[k]);
        q[k].key = key;
        pthread_create(&th[k], NULL, s_list, &q[k]);
    }
    for (int k = 0; k < 4; k++)
        pthread_join(th[k], NULL);
    wc_record(1);
    int ok = 0;
    double worst = 0;
    for (int k = 0; k < 4; k++) {
        ok += q[k].status == 200 && q[k].rows == N_CALLS && q[k].len == page_len;
        if (q[k].secs > worst)
            worst = q[k].secs;
        if (q[k].status != 200)
            fprintf(stderr, "parallel list %d: %ld\n", k, q[k].status);
    }
    long hwm1 = wc_mem_kb("gateway", "VmHWM"), svc1 = wc_mem_kb("calls", "VmHWM");
    KVT_EQ_INT(ok, 4, "four such pages at once are each answered 200, whole");
    fprintf(stderr, "worstcase: four pages at once, the slowest in %.2f s; the gateway's "
            "resident memory %ld kB before the pages, high-water mark %ld kB after; the calls "
            "service's high-water mark %ld kB (from %ld kB)\n", worst, hwm0, hwm1, svc1, svc0);

    /* the same page of a sync walk (the other shape of the list) */
    r = kvt_api(key, "GET", "/api/v1/calls?updated_since=1970-01-01T00:00:00Z&per_page=100", NULL);
    KVT_EQ_INT(r.status, 200, "the sync page of the same calls answers 200");
    KVT_EQ_INT(json_array_size(json_object_get(r.json, "data")), N_CALLS, "with all 100 calls");
    wc_size("calls.list sync page of 100 calls at their longest", r.body_len, KV_SZ_CALLS_PAGE, 97);
    kvt_resp_free(&r);
    return kvt_done();
}
