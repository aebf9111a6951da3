/*
 * gw_poll.h -- how long the gateway's loop polls before it sleeps.
 *
 * A request crosses about ten threads (docs/architecture.md, "Where a
 * request's time goes").  On a virtual machine every one of them that finds
 * its vCPU halted pays for the host to wake it up again, and on a lightly
 * loaded machine that is every hop: it was half of a lone request's time.
 * So while the gateway holds at most one request -- a read, of an operation
 * that lately answered within the ceiling (gw_broker_quick) -- its loop
 * polls for a while before it sleeps: the vCPU it runs on stays awake, the
 * rest of the request's chain (ZeroMQ's I/O threads, the worker,
 * PostgreSQL) runs on the other one hop after hop, each waking the next
 * just before it sleeps, and the answer -- or the client's next request --
 * is seen without a wake-up.
 * With more than one request held the machine is busy and its vCPUs are
 * awake anyway: the loop never polls then, so a poll never takes a core that
 * the requests' own work needs.  Nor while a write is held or within
 * GW_BROKER_WRITE_QUIET_MS of one's answer: its event and the webhooks'
 * fan-out need that core.
 *
 * The window adapts as Linux's cpuidle-haltpoll governor does for the
 * guest's idle loop: a wait that ended after the window but within the
 * ceiling doubles it (from 50 us), a wait longer than the ceiling halves
 * it, so operations slower than the ceiling (a day's slots) or an idle
 * gateway bring it back to nothing and cost no polling.  The ceiling is
 * KAIVOX_GATEWAY_POLL_US; 0 turns polling off.
 *
 * One poller per machine: several gateways on one host (a scaled-out
 * compose file, the tests' second gateway) would each hold one request and
 * poll together, leaving the requests' own threads no CPU (measured: two
 * gateways at one connection each lost a fifth of their rate with both
 * polling).  So a poll first takes an exclusive flock(2) on a file shared
 * by the host's gateways (KAIVOX_GATEWAY_POLL_LOCK, default
 * /dev/shm/kaivox-gateway-poll.lock); when another gateway holds it, this
 * one sleeps at once.  A file that cannot be opened means polling without
 * that guard.
 *
 * The window is pure arithmetic, no clock: the loop measures,
 * gw_poll_learn() adapts.
 */
#ifndef GW_POLL_H
#define GW_POLL_H

#include <stdint.h>

#define GW_POLL_GROW_START_NS 50000   /* the first window after an empty one */

#define GW_POLL_LOCK_DEFAULT "/dev/shm/kaivox-gateway-poll.lock"

typedef struct {
    int64_t max_ns;        /* the ceiling; 0: never poll */
    int64_t win_ns;        /* the window of the next wait */
    int lock_fd;           /* the host's poll lock file, -1: none */
} gw_poll_t;

/* A poller with ceiling max_us microseconds (0 or less: off), starting with
 * an empty window, guarded by the lock file lock_path (NULL or "": none;
 * not opened when polling is off). */
void gw_poll_init(gw_poll_t *p, int64_t max_us, const char *lock_path);
/* Closes the lock file. */
void gw_poll_close(gw_poll_t *p);

/* Takes the host's poll lock without waiting: 1 when this gateway may poll
 * (taken, or there is no lock file), 0 when another one polls now. */
int gw_poll_claim(gw_poll_t *p);
/* Gives the lock back after a poll. */
void gw_poll_release(gw_poll_t *p);

/* The window to poll before the next sleep, in nanoseconds (0: sleep at
 * once). */
int64_t gw_poll_window_ns(const gw_poll_t *p);

/* Adapts the window to a wait that lasted waited_ns from its start (the
 * poll included) to the event that ended it, or to the end of its sleep. */
void gw_poll_learn(gw_poll_t *p, int64_t waited_ns);

#endif
