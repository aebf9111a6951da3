/*
 * test_scheduling_concurrency.c -- double booking is impossible by
 * construction: 50 simultaneous creates for the same staff member and time
 * (50 threads, each with its own HTTP connection) give exactly one 201 and
 * 49 409s, and exactly one appointment exists afterwards.  Then 12
 * simultaneous creates without staff_id for a time when 3 eligible staff
 * are free give 3 appointments with 3 different staff and 9 409s.
 */
#include <pthread.h>

#include "sched_e2e.h"

#define N_SAME 50
#define N_AUTO 12

static char s_key[64], s_date[11];
static long long s_cust, s_svc, s_staff;
static long s_status[N_SAME];
static long long s_staff_of[N_SAME];
static pthread_barrier_t s_bar;
static char s_unexpected[200];   /* first odd answer, for the failure message */

static void *s_book(void *arg)
{
    int i = (int)(intptr_t)arg;
    pthread_barrier_wait(&s_bar);
    kvt_resp_t r = se_book(s_key, s_cust, s_svc, s_staff, s_date, "11:00");
    s_status[i] = r.status;
    s_staff_of[i] = r.status == 201 ? se_int(&r, "staff_id") : 0;
    if (r.status != 201 && r.status != 409 && !s_unexpected[0])
        snprintf(s_unexpected, sizeof s_unexpected, "%ld %.150s", r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return NULL;
}

static void s_run(int n)
{
    pthread_t th[N_SAME];
    pthread_barrier_init(&s_bar, NULL, (unsigned)n);
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, s_book, (void *)(intptr_t)i);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&s_bar);
}

int main(void)
{
    char hours[1024], path[256];
    int64_t t = se_tenant("conc", NULL, 0, s_key);
    s_svc = se_service(t, "Cut", 30, "20.00");
    se_every_day("[[\"09:00\",\"17:00\"]]", hours, sizeof hours);
    long long st[3];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "S%d", i);
        st[i] = se_staff(t, name, hours, NULL);
    }
    s_cust = se_customer(s_key);
    KVT_OK(s_svc > 0 && st[0] > 0 && st[2] > 0 && s_cust > 0, "concurrency_fixture_created");
    se_monday(8, s_date);

    s_staff = st[0];
    s_run(N_SAME);
    int created = 0, conflict = 0, other = 0;
    for (int i = 0; i < N_SAME; i++) {
        if (s_status[i] == 201)
            created++;
        else if (s_status[i] == 409)
            conflict++;
        else
            other++;
    }
    KVT_EQ_INT(created, 1, "fifty_simultaneous_creates_exactly_one_201");
    KVT_EQ_INT(conflict, 49, "fifty_simultaneous_creates_forty_nine_409");
    KVT_EQ_INT(other, 0, "fifty_simultaneous_creates_no_other_status (first: %s)", s_unexpected);
    snprintf(path, sizeof path, "/api/v1/appointments?staff_id=%lld&date=%s", st[0], s_date);
    kvt_resp_t r = kvt_api(s_key, "GET", path, NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 1, "fifty_simultaneous_creates_one_appointment_stored");
    kvt_resp_free(&r);

    /* without staff_id: the three free staff get one each */
    memset(s_status, 0, sizeof s_status);
    s_staff = 0;
    /* another day so that all three are free */
    char next[11];
    se_monday(15, next);
    memcpy(s_date, next, sizeof next);
    s_run(N_AUTO);
    created = conflict = other = 0;
    long long seen[3] = { 0, 0, 0 };
    int distinct = 1;
    for (int i = 0; i < N_AUTO; i++) {
        if (s_status[i] == 201) {
            for (int k = 0; k < created && k < 3; k++)
                if (seen[k] == s_staff_of[i])
                    distinct = 0;
            if (created < 3)
                seen[created] = s_staff_of[i];
            created++;
        } else if (s_status[i] == 409) {
            conflict++;
        } else {
            other++;
        }
    }
    KVT_EQ_INT(created, 3, "auto_assign_simultaneous_creates_fill_each_free_staff_once");
    KVT_EQ_INT(conflict, N_AUTO - 3, "auto_assign_simultaneous_creates_rest_409");
    KVT_EQ_INT(other, 0, "auto_assign_simultaneous_creates_no_other_status");
    KVT_OK(distinct, "auto_assign_simultaneous_creates_distinct_staff");
    snprintf(path, sizeof path, "/api/v1/appointments?date=%s", s_date);
    r = kvt_api(s_key, "GET", path, NULL);
    KVT_EQ_INT(se_meta(&r, "total"), 3, "auto_assign_simultaneous_creates_three_stored");
    kvt_resp_free(&r);
    return kvt_done();
}
