/*
 * sched_bench.c -- measures GET /api/v1/appointments/slots (and the staff
 * list, which computes each member's next available slot) for a tenant
 * with 20 staff and 2,000 appointments on the measured day -- the worst
 * case of "20 staff, 2,000 appointments in range": every appointment on the
 * one day the slots are computed for, 5-minute grid.
 *
 * Runs against a live stack (KVT_BASE_URL, KVT_ADMIN_URL, KVT_ADMIN_TOKEN as
 * for the e2e tests).  Usage: sched_bench [ROUNDS]   (default 200)
 *
 * sched_bench --seed  only builds the fixture and prints it as shell
 * assignments (KEY, TENANT, SERVICE, CUSTOMER, STAFF0, STAFF19, DATE,
 * SLOTS_PATH) for scripts/bench.sh, which measures with wrk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../e2e/sched_e2e.h"

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void s_measure(const char *label, const char *key, const char *path, int rounds)
{
    double *ms = calloc((size_t)rounds, sizeof *ms);
    size_t bytes = 0;
    for (int i = 0; i < rounds; i++) {
        kvt_resp_t r = kvt_api(key, "GET", path, NULL);
        if (r.status != 200) {
            fprintf(stderr, "%s: %ld %.200s\n", label, r.status, r.body ? r.body : "");
            exit(1);
        }
        ms[i] = r.seconds * 1000.0;
        bytes = r.body_len;
        kvt_resp_free(&r);
    }
    qsort(ms, (size_t)rounds, sizeof *ms, s_cmp);
    double sum = 0;
    for (int i = 0; i < rounds; i++)
        sum += ms[i];
    printf("%-44s rounds %d  mean %.2f ms  p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu bytes)\n",
           label, rounds, sum / rounds, ms[rounds / 2], ms[(int)(rounds * 0.99)], ms[rounds - 1],
           bytes);
    free(ms);
}

int main(int argc, char **argv)
{
    int seed_only = argc > 1 && strcmp(argv[1], "--seed") == 0;
    int rounds = argc > 1 && !seed_only ? atoi(argv[1]) : 200;
    char key[64], hours[1024], mon[11], path[256];
    int64_t t = se_tenant("bench", "Europe/Berlin", 5, key);
    long long svc = se_service(t, "Quick", 5, "10.00");
    se_every_day("[[\"00:00\",\"24:00\"]]", hours, sizeof hours);
    long long staff[20];
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof name, "Staff%02d", i);
        staff[i] = se_staff(t, name, hours, NULL);
    }
    long long cust = se_customer(key);
    if (svc <= 0 || cust <= 0 || staff[19] <= 0) {
        fprintf(stderr, "fixture failed\n");
        return 1;
    }
    se_monday(8, mon);
    int booked = 0;
    for (int s = 0; s < 20; s++) {
        for (int k = 0; k < 100; k++) {
            int m = k * 14 + (s % 3);
            char hm[16];
            snprintf(hm, sizeof hm, "%02d:%02d", m / 60, m % 60);
            /* off the grid on purpose (a fragmented day): allow_off_grid */
            kvt_resp_t b = kvt_apif(key, "POST", "/api/v1/appointments",
                                    "{\"customer_id\":%lld,\"service_id\":%lld,\"staff_id\":%lld,"
                                    "\"appointment_date\":\"%s\",\"appointment_time\":\"%s\","
                                    "\"allow_off_grid\":true}", cust, svc, staff[s], mon, hm);
            booked += b.status == 201;
            kvt_resp_free(&b);
        }
    }
    snprintf(path, sizeof path, "/api/v1/appointments/slots?date=%s&service_id=%lld", mon, svc);
    if (seed_only) {
        /* values of our own making: digits, a key of [A-Za-z0-9_], a date */
        printf("KEY=%s\nTENANT=%lld\nSERVICE=%lld\nCUSTOMER=%lld\nSTAFF0=%lld\nSTAFF19=%lld\n"
               "DATE=%s\nBOOKED=%d\nSLOTS_PATH='%s'\n", key, (long long)t, svc, cust, staff[0],
               staff[19], mon, booked, path);
        return booked == 2000 ? 0 : 1;
    }
    printf("tenant %lld: 20 staff working 00:00-24:00, %d appointments on %s, 5-minute grid\n",
           (long long)t, booked, mon);
    kvt_resp_t r = kvt_api(key, "GET", path, NULL);
    printf("slots answer: %zu slot times\n", se_len(&r));
    kvt_resp_free(&r);
    s_measure("GET slots (20 staff, 2000 appointments)", key, path, rounds);
    snprintf(path, sizeof path, "/api/v1/appointments/slots?date=%s&service_id=%lld&staff_id=%lld",
             mon, svc, staff[0]);
    s_measure("GET slots one staff member", key, path, rounds);
    s_measure("GET staff (20, next_available_slot each)", key, "/api/v1/staff", rounds);
    return 0;
}
