/*
 * gw_loop.c -- the gateway's event loop (see gw_loop.h).
 *
 * Order inside one turn: signals, new connections, the broker's socket
 * (replies resume their connections), the eventfds (admin submissions, key
 * lookup answers, console jobs done), then libmicrohttpd (reads new requests, which the public
 * dispatch hands to the broker at once, and writes the answers resumed
 * above), then the timers: key lookups waiting too long, connections past
 * their header or body deadline (at least every GW_SWEEP_MS), the broker's.  libmicrohttpd runs whenever anything
 * happened or its own timeout is due, as its external-polling contract
 * requires.
 *
 * The loop waits in one epoll set of its own (not zmq_poll, which costs
 * three poll(2) calls and two getpid(2) per turn): the ROUTER's ZMQ_FD
 * beside the plain descriptors.  ZMQ_FD only says "look at ZMQ_EVENTS"
 * and may stay quiet about messages that arrived while the loop itself
 * used the socket, so ZMQ_EVENTS is asked before every wait and a waiting
 * message makes the wait a poll.  After a second without HTTP traffic the
 * loop gives freed memory back (kv_mem_idle).
 *
 * While it holds at most one request (a quick read; gw_broker_quick), the
 * loop polls (epoll_wait without a timeout, ZMQ_EVENTS) for an adaptive
 * window before it sleeps, so that a lightly loaded machine's lone request
 * is not slowed by halted vCPUs (gw_poll.h).
 */
#include "gw_loop.h"

#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "gw_poll.h"
#include "gw_stats.h"

enum { I_ROUTER, I_BROKER_WAKE, I_AUTH_WAKE, I_WORK_WAKE, I_MHD, I_SIGNAL, I_LISTEN, I_COUNT };

/* Adds fd to the epoll set ep, for reading, tagged with index i.  0/-1. */
static int s_watch(int ep, int fd, int i)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
    return fd < 0 ? 0 : epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* True when a message waits on the ZeroMQ socket sock. */
static int s_zmq_readable(void *sock)
{
    int ev = 0;
    size_t len = sizeof ev;
    return zmq_getsockopt(sock, ZMQ_EVENTS, &ev, &len) == 0 && (ev & ZMQ_POLLIN);
}

/* Waits in ep for at most timeout ms, as epoll_wait, polling first for the
 * window of p when poll is set; *router_ready is set when the ROUTER turned
 * readable during the poll.  The wait teaches p its next window. */
static int s_wait(int ep, struct epoll_event *evs, int nevs, int timeout, void *router,
                  int *router_ready, gw_poll_t *p, int poll)
{
    if (!poll || timeout == 0)
        return epoll_wait(ep, evs, nevs, timeout);
    int64_t t0 = kv_mono_ns();
    int64_t win = gw_poll_window_ns(p);
    int nev = 0;
    if (win > 0 && !gw_poll_claim(p)) {
        atomic_fetch_add(&gw_stats.poll_deferred, 1);   /* another gateway polls */
        return epoll_wait(ep, evs, nevs, timeout);
    }
    if (win > 0) {
        for (;;) {
            nev = epoll_wait(ep, evs, nevs, 0);
            if (nev != 0)
                break;
            if (s_zmq_readable(router)) {
                *router_ready = 1;
                break;
            }
            if (kv_mono_ns() - t0 >= win)
                break;
        }
        gw_poll_release(p);
        if (nev != 0 || *router_ready) {
            atomic_fetch_add(&gw_stats.poll_caught, 1);
            return nev;
        }
        atomic_fetch_add(&gw_stats.poll_slept, 1);
        int64_t spent_ms = (kv_mono_ns() - t0) / 1000000;
        if (timeout > 0)
            timeout = spent_ms >= timeout ? 0 : timeout - (int)spent_ms;
    }
    nev = epoll_wait(ep, evs, nevs, timeout);
    gw_poll_learn(p, kv_mono_ns() - t0);
    return nev;
}

/* Returns the signal read from sfd, 0 when none. */
static int s_read_signal(int sfd)
{
    struct signalfd_siginfo si;
    ssize_t n = read(sfd, &si, sizeof si);
    return n == (ssize_t)sizeof si ? (int)si.ssi_signo : 0;
}

int gw_loop_run(const gw_loop_cfg_t *cfg)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        kv_error(NULL, "signalfd: %s", strerror(errno));
        return -1;
    }

    void *router = gw_broker_socket(cfg->broker);
    int router_fd = -1;
    size_t fdlen = sizeof router_fd;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0 || zmq_getsockopt(router, ZMQ_FD, &router_fd, &fdlen) != 0 ||
        s_watch(ep, router_fd, I_ROUTER) != 0 ||
        s_watch(ep, gw_broker_wake_fd(cfg->broker), I_BROKER_WAKE) != 0 ||
        s_watch(ep, gw_auth_wake_fd(cfg->auth), I_AUTH_WAKE) != 0 ||
        s_watch(ep, gw_work_wake_fd(cfg->work), I_WORK_WAKE) != 0 ||
        s_watch(ep, gw_server_epoll_fd(cfg->http), I_MHD) != 0 ||
        s_watch(ep, sfd, I_SIGNAL) != 0 ||
        s_watch(ep, gw_server_listen_fd(cfg->http), I_LISTEN) != 0) {
        kv_error(NULL, "event loop: epoll set: %s", strerror(errno));
        if (ep >= 0)
            close(ep);
        close(sfd);
        return -1;
    }

    int64_t drain_at = 0;            /* monotonic ms the drain started; 0: serving */
    int64_t last_accept = 0;         /* monotonic ms of the last accepted connection */
    gw_poll_t poll;                  /* the window polled before sleeping */
    gw_poll_init(&poll, cfg->poll_us, cfg->poll_lock);
    int worked = 0;                  /* the last turn served HTTP or the bus */

    for (;;) {
        int64_t now = kv_mono_ms();
        int timeout = (int)(gw_broker_due(cfg->broker) - now);
        if (timeout < 0)
            timeout = 0;
        int mt = gw_server_timeout_ms(cfg->http);
        if (mt >= 0 && mt < timeout)
            timeout = mt;
        if (drain_at && timeout > 100)
            timeout = 100;
        if (timeout > GW_SWEEP_MS)       /* deadlines of connections and key lookups */
            timeout = GW_SWEEP_MS;
        int router_ready = s_zmq_readable(router);
        if (router_ready)
            timeout = 0;

        struct epoll_event evs[I_COUNT];
        int poll_now = cfg->poll_us > 0 && worked && gw_server_requests(cfg->http) <= 1 &&
                       gw_broker_quick(cfg->broker, cfg->poll_us);
        int nev = s_wait(ep, evs, I_COUNT, timeout, router, &router_ready, &poll, poll_now);
        if (nev < 0 && errno != EINTR) {
            kv_error(NULL, "event loop: epoll_wait: %s", strerror(errno));
            break;
        }
        int ready[I_COUNT] = { 0 };
        for (int i = 0; i < nev; i++)
            if (evs[i].data.u32 < I_COUNT)
                ready[evs[i].data.u32] = 1;
        /* HTTP traffic is work; a second without any gives freed memory
         * back (the bus's heartbeats do not count) */
        kv_mem_idle(ready[I_MHD] || ready[I_LISTEN]);
        now = kv_mono_ms();
        int work = 0;

        if (ready[I_SIGNAL]) {
            int sig = s_read_signal(sfd);
            if (sig && drain_at) {
                kv_info(NULL, "signal %d during the drain: stopping now", sig);
                break;
            }
            if (sig) {
                kv_info(NULL, "signal %d: draining (at most %d ms)", sig, cfg->drain_ms);
                gw_http_set_draining();
                drain_at = now;
                last_accept = now;
            }
        }
        if (ready[I_LISTEN] && gw_server_listen_fd(cfg->http) >= 0) {
            int before = gw_server_connections(cfg->http);
            gw_server_accept(cfg->http);
            if (gw_server_connections(cfg->http) != before)
                last_accept = now;
            work = 1;
        }
        if (router_ready || ready[I_ROUTER]) {
            gw_broker_on_socket(cfg->broker);
            work = 1;
        }
        if (ready[I_BROKER_WAKE]) {
            gw_broker_on_wake(cfg->broker);
            work = 1;
        }
        if (ready[I_AUTH_WAKE]) {
            gw_auth_on_wake(cfg->auth);
            work = 1;
        }
        if (ready[I_WORK_WAKE]) {
            gw_work_on_wake(cfg->work);
            work = 1;
        }
        if (gw_auth_tick(cfg->auth) > 0)
            work = 1;                    /* lookups past their wait: 503s resumed */
        if (gw_work_tick(cfg->work) > 0)
            work = 1;                    /* console jobs past their wait: the same */
        worked = work || ready[I_MHD];
        gw_server_sweep(cfg->http);
        if (worked || (mt >= 0 && mt <= timeout))
            gw_server_run(cfg->http);
        if (kv_mono_ms() >= gw_broker_due(cfg->broker))
            gw_broker_tick(cfg->broker);

        if (drain_at) {
            now = kv_mono_ms();
            if (gw_server_listen_fd(cfg->http) >= 0 &&
                ((now - drain_at >= 1000 && now - last_accept >= 1000) ||
                 now - drain_at >= cfg->drain_ms / 2))
                gw_server_close_listener(cfg->http);
            if (gw_server_listen_fd(cfg->http) < 0 && gw_broker_pending(cfg->broker) == 0 &&
                gw_server_requests(cfg->http) == 0) {
                kv_info(NULL, "drained in %lld ms", (long long)(now - drain_at));
                break;
            }
            if (now - drain_at >= cfg->drain_ms) {
                kv_warn(NULL, "drain time is up with %d requests in flight",
                        gw_server_requests(cfg->http));
                break;
            }
        }
    }
    gw_poll_close(&poll);
    close(ep);
    close(sfd);
    return 0;
}
