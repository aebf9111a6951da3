/*
 * test_poll.c -- the adaptive window the gateway's loop polls before it
 * sleeps (gw_poll.h): off at a ceiling of 0, empty at the start, grown
 * (doubling from 50 us, capped at the ceiling) by a wait that a longer poll
 * would have caught, unchanged by one the poll caught, halved by a wait
 * longer than the ceiling and emptied in the end, so that an idle gateway
 * or a slow operation costs no polling; one poller per host through the
 * lock file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_poll.h"

#define US 1000LL

int main(void)
{
    gw_poll_t p;

    gw_poll_init(&p, 0, NULL);
    gw_poll_learn(&p, 10 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 0, "a ceiling of 0: never a window, whatever the waits");
    gw_poll_init(&p, -5, NULL);
    gw_poll_learn(&p, 10 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 0, "a negative ceiling is off too");

    gw_poll_init(&p, 1000, NULL);
    KVT_EQ_INT(gw_poll_window_ns(&p), 0, "the window starts empty");
    gw_poll_learn(&p, 300 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), GW_POLL_GROW_START_NS,
               "a wait within the ceiling grows an empty window to 50 us");
    gw_poll_learn(&p, 300 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 100 * US, "... then doubles it (100 us)");
    gw_poll_learn(&p, 300 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 200 * US, "... 200 us");
    gw_poll_learn(&p, 300 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 400 * US, "... 400 us: now it covers the 300 us wait");
    gw_poll_learn(&p, 300 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 400 * US, "a wait the poll caught leaves the window alone");
    gw_poll_learn(&p, 1000 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 800 * US, "a wait just at the ceiling still grows it");
    gw_poll_learn(&p, 900 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 1000 * US, "growth stops at the ceiling (1 ms)");
    gw_poll_learn(&p, 1000 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 1000 * US, "... and stays there");

    gw_poll_learn(&p, 5000 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 500 * US, "a wait past the ceiling halves the window");
    gw_poll_learn(&p, 250 * 1000 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 250 * US, "an idle sweep (250 ms) halves it again");
    int n = 0;
    while (gw_poll_window_ns(&p) > 0 && n < 64) {
        gw_poll_learn(&p, 250 * 1000 * US);
        n++;
    }
    KVT_EQ_INT(gw_poll_window_ns(&p), 0, "idle waits bring the window to nothing");
    KVT_OK(n <= 4, "in a few of them (%d)", n);
    gw_poll_learn(&p, 250 * 1000 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 0, "an empty window stays empty while idle");

    /* a slow operation (4 ms) between quick client waits (30 us): the
     * window never grows past a few tens of microseconds */
    gw_poll_init(&p, 1000, NULL);
    int64_t most = 0;
    for (int i = 0; i < 100; i++) {
        gw_poll_learn(&p, 30 * US);
        if (gw_poll_window_ns(&p) > most)
            most = gw_poll_window_ns(&p);
        gw_poll_learn(&p, 4000 * US);
    }
    KVT_OK(most <= GW_POLL_GROW_START_NS, "slow answers keep the window at most 50 us (%lld ns)",
           (long long)most);

    gw_poll_init(&p, 20, NULL);
    gw_poll_learn(&p, 10 * US);
    KVT_EQ_INT(gw_poll_window_ns(&p), 20 * US, "a ceiling under 50 us caps the first window too");

    /* one poller per host */
    char path[] = "/tmp/kvt-poll-lock-XXXXXX";
    int fd = mkstemp(path);
    KVT_OK(fd >= 0, "a lock file");
    gw_poll_t a, b;
    gw_poll_init(&a, 1000, path);
    gw_poll_init(&b, 1000, path);
    KVT_OK(a.lock_fd >= 0 && b.lock_fd >= 0, "two gateways open the same lock file");
    KVT_EQ_INT(gw_poll_claim(&a), 1, "the first to poll takes the lock");
    KVT_EQ_INT(gw_poll_claim(&b), 0, "another one may not poll meanwhile");
    gw_poll_release(&a);
    KVT_EQ_INT(gw_poll_claim(&b), 1, "once given back, the other one takes it");
    KVT_EQ_INT(gw_poll_claim(&a), 0, "... and the first one waits its turn");
    gw_poll_close(&b);
    KVT_EQ_INT(gw_poll_claim(&a), 1, "a gateway that goes away frees the lock");
    gw_poll_release(&a);
    gw_poll_close(&a);
    gw_poll_t c;
    gw_poll_init(&c, 0, path);
    KVT_EQ_INT(c.lock_fd, -1, "polling off opens no lock file");
    gw_poll_init(&c, 1000, NULL);
    KVT_EQ_INT(gw_poll_claim(&c), 1, "without a lock file a gateway polls alone");
    gw_poll_init(&c, 1000, "/nonexistent-dir/kvt/lock");
    KVT_EQ_INT(c.lock_fd, -1, "a lock file that cannot be opened...");
    KVT_EQ_INT(gw_poll_claim(&c), 1, "... means polling without the guard");
    gw_poll_close(&c);
    if (fd >= 0)
        close(fd);
    unlink(path);

    return kvt_done();
}
