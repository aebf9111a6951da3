/*
 * gw_poll.c -- the adaptive poll window of the gateway's loop (see
 * gw_poll.h).
 */
#include "gw_poll.h"

void gw_poll_init(gw_poll_t *p, int64_t max_us)
{
    p->max_ns = max_us > 0 ? max_us * 1000 : 0;
    p->win_ns = 0;
}

int64_t gw_poll_window_ns(const gw_poll_t *p)
{
    return p->win_ns;
}

void gw_poll_learn(gw_poll_t *p, int64_t waited_ns)
{
    if (p->max_ns <= 0)
        return;
    if (waited_ns > p->win_ns && waited_ns <= p->max_ns) {
        /* a longer poll would have seen it: grow */
        int64_t w = p->win_ns * 2;
        if (w < GW_POLL_GROW_START_NS)
            w = GW_POLL_GROW_START_NS;
        p->win_ns = w < p->max_ns ? w : p->max_ns;
    } else if (waited_ns > p->max_ns) {
        /* no poll within the ceiling would have: shrink, to nothing in the end */
        p->win_ns /= 2;
        if (p->win_ns < GW_POLL_GROW_START_NS / 2)
            p->win_ns = 0;
    }
}
