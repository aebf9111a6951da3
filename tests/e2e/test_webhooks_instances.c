/*
 * test_webhooks_instances.c -- two webhook instances side by side: both
 * take events in and both deliver, yet with claims made FOR UPDATE SKIP
 * LOCKED and events unique by producer and sequence, 200 events reach the
 * receiver once each.
 */
#include "webhooks_e2e.h"

#define N_BOOK 100

int main(void)
{
    wh_receiver_t rcv = { 0 };
    wh_receiver_start(&rcv, 5000);
    wh_shop_t s;
    wh_shop(&s, "wh-instances");
    char url[256];
    wh_url(&rcv, "/ok/instances", url, sizeof url);
    KVT_OK(wh_endpoint(s.key, url, WH_ALL_EVENTS, NULL) > 0, "endpoint created");

    KVT_EQ_INT(kvt_stack("start webhooks --instance 2"), 0, "a second webhook instance started");
    kvt_sleep_ms(1000);   /* let it subscribe and catch up */
    long long ids[N_BOOK];
    int booked = 0, cancelled = 0;
    for (int i = 0; i < N_BOOK; i++)
        if ((ids[i] = wh_book(&s, i)) > 0)
            booked++;
    for (int i = 0; i < N_BOOK; i++)
        if (ids[i] > 0 && wh_cancel(&s, ids[i]) == 0)
            cancelled++;
    KVT_EQ_INT(booked + cancelled, 2 * N_BOOK, "200 events produced");
    int got = wh_wait_count(&rcv, "/ok/instances", 2 * N_BOOK, 60000);
    KVT_EQ_INT(got, 2 * N_BOOK, "all 200 events were delivered");
    kvt_sleep_ms(2000);
    got = wh_count(&rcv, "/ok/instances");
    KVT_EQ_INT(got, 2 * N_BOOK, "no event was delivered twice by the two instances");
    int events, created, cancels;
    int deliveries = wh_distinct(&rcv, "/ok/instances", got, &events, &created, &cancels);
    KVT_EQ_INT(deliveries, 2 * N_BOOK, "200 distinct deliveries");
    KVT_EQ_INT(events, 2 * N_BOOK, "200 distinct events");

    KVT_EQ_INT(kvt_stack("stop webhooks --instance 2"), 0, "the second instance stopped");
    /* SIGTERM drains an instance: it says so in its log (a thread that
     * took the signal with its default action would end it at once). */
    char logp[512];
    snprintf(logp, sizeof logp, "%s/log/webhooks-2.log",
             kvt_env("KAIVOX_VAR_DIR", "var"));
    char *log = wh_read(logp, NULL);
    KVT_OK(log && strstr(log, "signal 15: draining") && strstr(log, "service webhooks drained and stopped"),
           "the second instance stopped cleanly on SIGTERM");
    free(log);
    wh_receiver_stop(&rcv);
    return kvt_done();
}
