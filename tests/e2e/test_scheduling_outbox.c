/*
 * test_scheduling_outbox.c -- every appointment create and cancel leaves
 * exactly one outbox event, with gapless consecutive sequence numbers, even
 * when the requests run concurrently; re-cancelling, setting the same
 * status again and refused status changes record nothing.  Events are read back with the producer's
 * events.since bus operation (as the webhook service catches up), through a
 * kv_client of our own on KAIVOX_BUS_ENDPOINT.
 */
#include <pthread.h>
#include <zmq.h>

#include "sched_e2e.h"
#include "kv_client.h"
#include "kv_curve.h"

#define N_BOOK 24      /* distinct slots, booked at once */
#define N_DUP  6       /* extra creates that collide with the first ones */

static char s_key[64], s_date[11];
static long long s_cust, s_svc, s_staff;
static long s_status[N_BOOK + N_DUP];
static long long s_ids[N_BOOK + N_DUP];
static long s_cancel_status[N_BOOK];
static pthread_barrier_t s_bar;

static void s_slot_time(int i, char out[16])
{
    int m = 8 * 60 + (i % N_BOOK) * 30;   /* 08:00, 08:30, ... */
    snprintf(out, 16, "%02d:%02d", m / 60, m % 60);
}

static void *s_book(void *arg)
{
    int i = (int)(intptr_t)arg;
    char hm[16];
    s_slot_time(i, hm);
    pthread_barrier_wait(&s_bar);
    kvt_resp_t r = se_book(s_key, s_cust, s_svc, s_staff, s_date, hm);
    s_status[i] = r.status;
    s_ids[i] = r.status == 201 ? se_int(&r, "id") : 0;
    kvt_resp_free(&r);
    return NULL;
}

/* Cancels created appointment i; odd ones by PATCH status, even by DELETE;
 * the first four twice (the second must record nothing). */
static void *s_cancel(void *arg)
{
    int i = (int)(intptr_t)arg;
    char path[96];
    pthread_barrier_wait(&s_bar);
    for (int k = 0; k < (i < 4 ? 2 : 1); k++) {
        kvt_resp_t r;
        if (i % 2) {
            snprintf(path, sizeof path, "/api/v1/appointments/%lld/status", s_ids[i]);
            r = kvt_api(s_key, "PATCH", path, "{\"status\":\"cancelled\"}");
        } else {
            snprintf(path, sizeof path, "/api/v1/appointments/%lld", s_ids[i]);
            r = kvt_api(s_key, "DELETE", path, NULL);
        }
        if (k == 0 || r.status != 200)
            s_cancel_status[i] = r.status;
        kvt_resp_free(&r);
    }
    return NULL;
}

/* events.since with body; retries while the fresh client is still
 * connecting (ZMQ_IMMEDIATE makes kv_client answer 503 until then). */
static int s_since(kv_client_t *c, json_t *body, json_t **out)
{
    int st = 503;
    for (int tries = 0; tries < 50 && st == 503; tries++) {
        if (tries)
            kvt_sleep_ms(100);
        if (*out) {
            json_decref(*out);
            *out = NULL;
        }
        st = kv_client_call_tenant(c, "test-outbox", 0, "scheduling", "events.since", NULL, body,
                                   5000, out);
    }
    return st;
}

/* All events after seq `after` (paging by 1000); new reference. */
static json_t *s_events_after(kv_client_t *c, long long after)
{
    json_t *all = json_array();
    for (;;) {
        json_t *body = json_pack("{s:I, s:i}", "after", (json_int_t)after, "limit", 1000);
        json_t *out = NULL;
        int st = s_since(c, body, &out);
        json_decref(body);
        json_t *d = json_object_get(out, "data");
        if (st != 200 || !json_is_array(d)) {
            if (out)
                json_decref(out);
            json_decref(all);
            return NULL;
        }
        size_t i;
        json_t *e;
        json_array_foreach(d, i, e) {
            json_array_append(all, e);
            after = json_integer_value(json_object_get(e, "seq"));
        }
        size_t n = json_array_size(d);
        json_decref(out);
        if (n < 1000)
            break;
    }
    return all;
}

static long long s_last_seq(kv_client_t *c)
{
    json_t *all = s_events_after(c, 0);
    if (!all)
        return -1;
    long long last = 0;
    size_t n = json_array_size(all);
    if (n)
        last = json_integer_value(json_object_get(json_array_get(all, n - 1), "seq"));
    json_decref(all);
    return last;
}

int main(void)
{
    char hours[1024];
    int64_t t = se_tenant("outbox", NULL, 0, s_key);
    s_svc = se_service(t, "Cut", 30, "20.00");
    se_every_day("[[\"08:00\",\"20:00\"]]", hours, sizeof hours);
    s_staff = se_staff(t, "Olga", hours, NULL);
    s_cust = se_customer(s_key);
    KVT_OK(s_svc > 0 && s_staff > 0 && s_cust > 0, "outbox_fixture_created");
    se_monday(8, s_date);

    void *zctx = zmq_ctx_new();
    kv_curve_init("kvt");   /* the tests' bus role (tests/run.sh makes its keys) */
    kv_client_t *c = kv_client_new(zctx);
    KVT_OK(c != NULL, "outbox_bus_client_connects");
    long long base = s_last_seq(c);
    KVT_OK(base >= 0, "events_since_answers_before_the_run");

    /* concurrent creates, some colliding */
    pthread_t th[N_BOOK + N_DUP];
    pthread_barrier_init(&s_bar, NULL, N_BOOK + N_DUP);
    for (int i = 0; i < N_BOOK + N_DUP; i++)
        pthread_create(&th[i], NULL, s_book, (void *)(intptr_t)i);
    for (int i = 0; i < N_BOOK + N_DUP; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&s_bar);
    int created = 0;
    for (int i = 0; i < N_BOOK + N_DUP; i++)
        created += s_status[i] == 201;
    KVT_EQ_INT(created, N_BOOK, "outbox_concurrent_creates_one_per_distinct_slot");
    /* index the created ones first */
    long long ids[N_BOOK + N_DUP];
    int n = 0;
    for (int i = 0; i < N_BOOK + N_DUP; i++)
        if (s_ids[i] > 0)
            ids[n++] = s_ids[i];
    memcpy(s_ids, ids, sizeof(long long) * (size_t)n);

    /* concurrent cancels of half of them (four of those twice) */
    int ncancel = n / 2;
    pthread_barrier_init(&s_bar, NULL, (unsigned)ncancel);
    for (int i = 0; i < ncancel; i++)
        pthread_create(&th[i], NULL, s_cancel, (void *)(intptr_t)i);
    for (int i = 0; i < ncancel; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&s_bar);
    int cancelled_ok = 0;
    for (int i = 0; i < ncancel; i++)
        cancelled_ok += s_cancel_status[i] == 200;
    KVT_EQ_INT(cancelled_ok, ncancel, "outbox_concurrent_cancels_all_200");

    /* status requests that are not cancellations record nothing: the same
     * status again, and a refused change (a future appointment cannot be
     * completed; test_scheduling_strict completes started ones) */
    char path[96];
    snprintf(path, sizeof path, "/api/v1/appointments/%lld/status", s_ids[n - 1]);
    kvt_resp_t r = kvt_api(s_key, "PATCH", path, "{\"status\":\"scheduled\"}");
    KVT_EQ_INT(r.status, 200, "outbox_same_status_is_200");
    kvt_resp_free(&r);
    r = kvt_api(s_key, "PATCH", path, "{\"status\":\"completed\"}");
    KVT_EQ_INT(r.status, 422, "outbox_refused_status_change_is_422");
    kvt_resp_free(&r);

    json_t *ev = s_events_after(c, base);
    KVT_OK(ev != NULL, "events_since_answers_after_the_run");
    size_t nev = ev ? json_array_size(ev) : 0;
    KVT_EQ_INT(nev, (long long)(n + ncancel), "outbox_one_event_per_create_and_effective_cancel");
    int gapless = 1, right_tenant = 1, full = 1;
    int *seen_created = calloc((size_t)n, sizeof(int)), *seen_cancelled = calloc((size_t)n, sizeof(int));
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) {
        if (json_integer_value(json_object_get(e, "seq")) != base + 1 + (long long)i)
            gapless = 0;
        if (json_integer_value(json_object_get(e, "tenant_id")) != t)
            right_tenant = 0;
        json_t *p = json_object_get(e, "payload");
        const char *type = json_string_value(json_object_get(e, "type"));
        if (!json_is_string(json_object_get(e, "id")) || !json_is_string(json_object_get(e, "created_at")))
            full = 0;
        if (!json_object_get(p, "service_name") || !json_object_get(p, "staff_name")
            || !json_object_get(p, "appointment_time") || !json_object_get(p, "price")
            || !json_object_get(p, "customer_id"))
            full = 0;
        long long aid = json_integer_value(json_object_get(p, "id"));
        for (int k = 0; k < n; k++) {
            if (ids[k] != aid)
                continue;
            if (type && strcmp(type, "appointment.created") == 0) {
                seen_created[k]++;
                if (strcmp(json_string_value(json_object_get(p, "status")), "scheduled") != 0)
                    full = 0;
            } else if (type && strcmp(type, "appointment.cancelled") == 0) {
                seen_cancelled[k]++;
                if (strcmp(json_string_value(json_object_get(p, "status")), "cancelled") != 0)
                    full = 0;
            }
        }
    }
    int once_created = 1, once_cancelled = 1;
    for (int k = 0; k < n; k++) {
        if (seen_created[k] != 1)
            once_created = 0;
        if (seen_cancelled[k] != (k < ncancel ? 1 : 0))
            once_cancelled = 0;
    }
    KVT_OK(gapless, "outbox_sequence_numbers_consecutive_under_concurrency");
    KVT_OK(right_tenant, "outbox_events_carry_the_tenant");
    KVT_OK(once_created, "outbox_exactly_one_created_event_per_appointment");
    KVT_OK(once_cancelled, "outbox_exactly_one_cancelled_event_per_cancel_none_for_recancel");
    KVT_OK(full, "outbox_payload_is_the_full_appointment_object");

    /* events.since validation */
    json_t *out = NULL;
    json_t *bad = json_pack("{s:i}", "after", -1);
    int st = s_since(c, bad, &out);
    KVT_EQ_INT(st, 422, "events_since_negative_after_is_422");
    json_decref(bad);
    if (out)
        json_decref(out);
    out = NULL;
    json_t *lim = json_pack("{s:I, s:i}", "after", (json_int_t)base, "limit", 2);
    st = s_since(c, lim, &out);
    KVT_OK(st == 200 && json_array_size(json_object_get(out, "data")) == 2, "events_since_honours_limit");
    json_decref(lim);
    if (out)
        json_decref(out);

    free(seen_created);
    free(seen_cancelled);
    if (ev)
        json_decref(ev);
    kv_client_destroy(&c);
    zmq_ctx_term(zctx);
    return kvt_done();
}
