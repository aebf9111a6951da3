/*
 * test_iplimit.c -- the per-client tables of the public listener:
 * connections per address (counts, the entry leaving at zero, a full
 * table) and failed authentications per address (the limit, Retry-After,
 * the window's end, addresses counted apart, a limit of 0, eviction).
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_iplimit.h"

static gw_addr_t A(const char *s)
{
    gw_addr_t a;
    memset(&a, 0, sizeof a);
    gw_addr_parse(s, strlen(s), &a);
    return a;
}

int main(void)
{
    /* --- connections --- */
    gw_ipcount_t *t = gw_ipcount_new(4);
    gw_addr_t a = A("192.0.2.1"), b = A("192.0.2.2"), c = A("192.0.2.3");
    KVT_EQ_INT(gw_ipcount_get(t, &a), 0, "an unknown address holds no connection");
    for (int i = 0; i < 3; i++)
        gw_ipcount_add(t, &a);
    gw_ipcount_add(t, &b);
    KVT_EQ_INT(gw_ipcount_get(t, &a), 3, "connections of one address add up");
    KVT_EQ_INT(gw_ipcount_get(t, &b), 1, "another address counts apart");
    KVT_EQ_INT(gw_ipcount_size(t), 2, "two addresses in the table");
    gw_ipcount_sub(t, &a);
    KVT_EQ_INT(gw_ipcount_get(t, &a), 2, "a closed connection is subtracted");
    gw_ipcount_sub(t, &b);
    KVT_EQ_INT(gw_ipcount_get(t, &b), 0, "an address with no connection left...");
    KVT_EQ_INT(gw_ipcount_size(t), 1, "... leaves the table");
    gw_ipcount_sub(t, &c);
    KVT_EQ_INT(gw_ipcount_size(t), 1, "subtracting an absent address changes nothing");
    gw_addr_t many[4] = { A("198.51.100.1"), A("198.51.100.2"), A("198.51.100.3"), A("198.51.100.4") };
    int added = 0;
    for (int i = 0; i < 4; i++)
        added += gw_ipcount_add(t, &many[i]) == 0;
    KVT_EQ_INT(added, 3, "a table of 4 takes 4 addresses at once, then refuses");
    KVT_EQ_INT(gw_ipcount_add(t, &a), 0, "an address already in a full table still counts");
    gw_ipcount_sub(t, &many[0]);
    KVT_EQ_INT(gw_ipcount_add(t, &many[3]), 0, "a freed entry is reused");
    /* churn: many addresses coming and going never leak entries */
    gw_ipcount_t *t2 = gw_ipcount_new(8);
    int ok = 1;
    for (int i = 0; i < 10000 && ok; i++) {
        char s[32];
        snprintf(s, sizeof s, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        gw_addr_t x = A(s);
        ok = gw_ipcount_add(t2, &x) == 0 && gw_ipcount_get(t2, &x) == 1;
        gw_ipcount_sub(t2, &x);
    }
    KVT_OK(ok && gw_ipcount_size(t2) == 0, "10,000 addresses coming and going leave an empty table");
    gw_ipcount_destroy(&t2);
    gw_ipcount_destroy(&t);
    KVT_OK(t == NULL, "destroy nulls the pointer");
    gw_ipcount_destroy(&t);

    /* --- failed authentications --- */
    gw_authfail_t *f = gw_authfail_new(3, 60);
    KVT_EQ_INT(gw_authfail_blocked(f, &a, 1000), 0, "an address with no failure may try");
    gw_authfail_record(f, &a, 1000);
    gw_authfail_record(f, &a, 1010);
    KVT_EQ_INT(gw_authfail_blocked(f, &a, 1010), 0, "below the limit it may try");
    gw_authfail_record(f, &a, 1020);
    KVT_EQ_INT(gw_authfail_blocked(f, &a, 1020), 40, "at the limit it waits until the window ends");
    KVT_EQ_INT(gw_authfail_blocked(f, &a, 1059), 1, "Retry-After is at least 1");
    KVT_EQ_INT(gw_authfail_blocked(f, &b, 1020), 0, "another address is not blocked");
    KVT_EQ_INT(gw_authfail_blocked(f, &a, 1060), 0, "the window's end unblocks");
    gw_authfail_record(f, &a, 1061);
    KVT_EQ_INT(gw_authfail_blocked(f, &a, 1061), 0, "a new window counts from zero");
    /* eviction keeps the table bounded and never blocks a stranger */
    for (int i = 0; i < 20000; i++) {
        char s[32];
        snprintf(s, sizeof s, "172.16.%d.%d", (i >> 8) & 255, i & 255);
        gw_addr_t x = A(s);
        gw_authfail_record(f, &x, 2000);
    }
    KVT_EQ_INT(gw_authfail_blocked(f, &c, 2000), 0, "after 20,000 failing addresses a stranger may try");
    gw_authfail_destroy(&f);
    f = gw_authfail_new(0, 60);
    for (int i = 0; i < 100; i++)
        gw_authfail_record(f, &a, 3000);
    KVT_EQ_INT(gw_authfail_blocked(f, &a, 3000), 0, "a limit of 0 never blocks");
    gw_authfail_destroy(&f);
    KVT_OK(f == NULL, "destroy nulls the pointer");
    return kvt_done();
}
