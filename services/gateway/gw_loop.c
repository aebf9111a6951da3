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
 */
#include "gw_loop.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#include "kv_env.h"
#include "kv_log.h"

enum { I_ROUTER, I_BROKER_WAKE, I_AUTH_WAKE, I_WORK_WAKE, I_MHD, I_SIGNAL, I_LISTEN, I_COUNT };

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

    int64_t drain_at = 0;            /* monotonic ms the drain started; 0: serving */
    int64_t last_accept = 0;         /* monotonic ms of the last accepted connection */

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

        zmq_pollitem_t items[I_COUNT] = {
            [I_ROUTER]      = { gw_broker_socket(cfg->broker), 0, ZMQ_POLLIN, 0 },
            [I_BROKER_WAKE] = { NULL, gw_broker_wake_fd(cfg->broker), ZMQ_POLLIN, 0 },
            [I_AUTH_WAKE]   = { NULL, gw_auth_wake_fd(cfg->auth), ZMQ_POLLIN, 0 },
            [I_WORK_WAKE]   = { NULL, gw_work_wake_fd(cfg->work), ZMQ_POLLIN, 0 },
            [I_MHD]         = { NULL, gw_server_epoll_fd(cfg->http), ZMQ_POLLIN, 0 },
            [I_SIGNAL]      = { NULL, sfd, ZMQ_POLLIN, 0 },
            [I_LISTEN]      = { NULL, gw_server_listen_fd(cfg->http), ZMQ_POLLIN, 0 },
        };
        int n = items[I_LISTEN].fd >= 0 ? I_COUNT : I_COUNT - 1;
        if (zmq_poll(items, n, timeout) < 0 && zmq_errno() != EINTR) {
            kv_error(NULL, "event loop: zmq_poll: %s", zmq_strerror(zmq_errno()));
            break;
        }
        now = kv_mono_ms();
        int work = 0;

        if (items[I_SIGNAL].revents & ZMQ_POLLIN) {
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
        if (n == I_COUNT && (items[I_LISTEN].revents & ZMQ_POLLIN)) {
            int before = gw_server_connections(cfg->http);
            gw_server_accept(cfg->http);
            if (gw_server_connections(cfg->http) != before)
                last_accept = now;
            work = 1;
        }
        if (items[I_ROUTER].revents & ZMQ_POLLIN) {
            gw_broker_on_socket(cfg->broker);
            work = 1;
        }
        if (items[I_BROKER_WAKE].revents & ZMQ_POLLIN) {
            gw_broker_on_wake(cfg->broker);
            work = 1;
        }
        if (items[I_AUTH_WAKE].revents & ZMQ_POLLIN) {
            gw_auth_on_wake(cfg->auth);
            work = 1;
        }
        if (items[I_WORK_WAKE].revents & ZMQ_POLLIN) {
            gw_work_on_wake(cfg->work);
            work = 1;
        }
        if (gw_auth_tick(cfg->auth) > 0)
            work = 1;                    /* lookups past their wait: 503s resumed */
        if (gw_work_tick(cfg->work) > 0)
            work = 1;                    /* console jobs past their wait: the same */
        gw_server_sweep(cfg->http);
        if (work || (items[I_MHD].revents & ZMQ_POLLIN) || (mt >= 0 && mt <= timeout))
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
    close(sfd);
    return 0;
}
