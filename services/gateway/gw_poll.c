/*
 * gw_poll.c -- the adaptive poll window of the gateway's loop (see
 * gw_poll.h).
 */
#include "gw_poll.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "kv_log.h"

void gw_poll_init(gw_poll_t *p, int64_t max_us, const char *lock_path)
{
    p->max_ns = max_us > 0 ? max_us * 1000 : 0;
    p->win_ns = 0;
    p->lock_fd = -1;
    if (p->max_ns > 0 && lock_path && *lock_path) {
        /* read-only: flock(2) needs no more, so gateways of other users
         * share a file the first one created */
        p->lock_fd = open(lock_path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
        if (p->lock_fd < 0)
            kv_warn(NULL, "poll lock %s: %s: polling without it", lock_path, strerror(errno));
    }
}

void gw_poll_close(gw_poll_t *p)
{
    if (p->lock_fd >= 0)
        close(p->lock_fd);
    p->lock_fd = -1;
}

int gw_poll_claim(gw_poll_t *p)
{
    if (p->lock_fd < 0)
        return 1;
    return flock(p->lock_fd, LOCK_EX | LOCK_NB) == 0;
}

void gw_poll_release(gw_poll_t *p)
{
    if (p->lock_fd >= 0)
        (void)flock(p->lock_fd, LOCK_UN);
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
