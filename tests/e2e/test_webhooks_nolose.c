/*
 * test_webhooks_nolose.c -- nothing is lost while the webhook service is
 * down: with kaivox-webhooks stopped, 100 appointments are booked and 20
 * of them cancelled; once it starts again it catches up from the
 * scheduling outbox (events.since) and every one of the 120 events is
 * delivered, once each.
 */
#include "webhooks_e2e.h"

#define N_BOOK 100
#define N_CANCEL 20

int main(void)
{
    wh_receiver_t rcv = { 0 };
    wh_receiver_start(&rcv, 5000);
    wh_shop_t s;
    wh_shop(&s, "wh-nolose");
    char url[256];
    wh_url(&rcv, "/ok/nolose", url, sizeof url);
    KVT_OK(wh_endpoint(s.key, url, WH_ALL_EVENTS, NULL) > 0, "endpoint created");

    KVT_EQ_INT(kvt_stack("stop webhooks"), 0, "the webhook service is stopped");
    long long ids[N_BOOK];
    int booked = 0, cancelled = 0;
    for (int i = 0; i < N_BOOK; i++)
        if ((ids[i] = wh_book(&s, i)) > 0)
            booked++;
    for (int i = 0; i < N_CANCEL; i++)
        if (ids[i * 5] > 0 && wh_cancel(&s, ids[i * 5]) == 0)
            cancelled++;
    KVT_EQ_INT(booked, N_BOOK, "100 appointments booked while webhooks was down");
    KVT_EQ_INT(cancelled, N_CANCEL, "20 of them cancelled while webhooks was down");
    kvt_sleep_ms(500);
    KVT_EQ_INT(wh_count(&rcv, "/ok/nolose"), 0, "nothing was delivered while the service was down");

    KVT_EQ_INT(kvt_stack("start webhooks"), 0, "the webhook service is started again");
    int got = wh_wait_count(&rcv, "/ok/nolose", N_BOOK + N_CANCEL, 60000);
    KVT_EQ_INT(got, N_BOOK + N_CANCEL, "all 120 events were delivered after the restart");
    kvt_sleep_ms(2000);   /* a duplicate would have arrived by now */
    got = wh_count(&rcv, "/ok/nolose");
    KVT_EQ_INT(got, N_BOOK + N_CANCEL, "no event was delivered twice");
    int events, created, cancels;
    int deliveries = wh_distinct(&rcv, "/ok/nolose", got, &events, &created, &cancels);
    KVT_EQ_INT(deliveries, N_BOOK + N_CANCEL, "120 distinct deliveries");
    KVT_EQ_INT(events, N_BOOK + N_CANCEL, "120 distinct events");
    KVT_EQ_INT(created, N_BOOK, "100 appointment.created");
    KVT_EQ_INT(cancels, N_CANCEL, "20 appointment.cancelled");

    wh_receiver_stop(&rcv);
    return kvt_done();
}
