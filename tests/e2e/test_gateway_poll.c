/*
 * test_gateway_poll.c -- the gateway's loop polls before it sleeps while
 * it holds at most one request (services/gateway/gw_poll.h), and only
 * then.  A private gateway each time, since the setting is per process:
 *
 *   - KAIVOX_GATEWAY_POLL_US=50000: a client's requests one after another
 *     on one connection are seen while the loop polls (loop.polls_caught
 *     in /admin/v1/stats and kaivox_gateway_loop_polls_total move), and
 *     the answers are the usual ones;
 *   - with two requests held (bodies still on their way) the loop does not
 *     poll at all, whatever the traffic: a poll never takes a vCPU from a
 *     busy machine;
 *   - one poller per host: while another process holds the poll lock
 *     (KAIVOX_GATEWAY_POLL_LOCK; here the test itself, as a second gateway
 *     would), the loop sleeps at once (loop.polls_deferred), and polls
 *     again once the lock is free;
 *   - an idle gateway does not poll: a second of it costs next to no CPU;
 *   - KAIVOX_GATEWAY_POLL_US=0: never a poll;
 *   - a ceiling out of range refuses to start.
 */
#include <sys/file.h>

#include "gw_e2e.h"
#include "obs_e2e.h"

/* n requests of GET /healthz one after another on one connection to
 * port; returns how many were answered 200. */
static int s_healthz(int port, int n)
{
    int fd = gw_connect_from("127.0.0.1", port), ok = 0;
    if (fd < 0)
        return 0;
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < n; i++) {
        char buf[2048];
        int closed = 0;
        if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1))
            break;
        gw_read_reply(fd, buf, sizeof buf, 5000, &closed);
        if (gw_reply_status(buf) == 200)
            ok++;
        if (closed)
            break;
    }
    close(fd);
    return ok;
}

/* A request held by the gateway: headers of a POST whose body never
 * completes.  Returns the connection, or -1. */
static int s_hold(int port, const char *key)
{
    int fd = gw_connect_from("127.0.0.1", port);
    if (fd < 0)
        return -1;
    char req[512];
    int n = snprintf(req, sizeof req,
                     "POST /api/v1/customers HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":", key);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    return fd;
}

/* CPU time (user + system) of process pid so far, in milliseconds. */
static long s_cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');          /* the name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

static long long s_polls(const gw_private_t *g, const char *result)
{
    char url[256], series[128];
    snprintf(url, sizeof url, "%s/metrics", g->admin_url);
    snprintf(series, sizeof series, "kaivox_gateway_loop_polls_total{result=\"%s\"}", result);
    char *text = obs_scrape_url(url);
    double v = text ? obs_value(text, series) : -1;
    free(text);
    return (long long)v;
}

int main(void)
{
    int64_t tenant;
    char key[64];
    if (kvt_tenant("gw-poll", NULL, &tenant, key) != 0) {
        printf("FAIL setup: tenant\n");
        return kvt_done();
    }

    gw_private_t g;
    static char lockenv[1100];
    char lockpath[1024];
    snprintf(lockpath, sizeof lockpath, "%s/gateway-poll-test.lock", kvt_env("KAIVOX_VAR_DIR", "var"));
    snprintf(lockenv, sizeof lockenv, "KAIVOX_GATEWAY_POLL_LOCK=%s", lockpath);
    const char *const on[] = { "KAIVOX_GATEWAY_POLL_US=50000", lockenv, NULL };
    if (gw_private_start(&g, "gateway-poll-on", on) != 0) {
        printf("FAIL setup: the gateway with polling did not start\n");
        return kvt_done();
    }
    long long caught0 = gw_stat(&g, "loop", "polls_caught");
    long long slept0 = gw_stat(&g, "loop", "polls_slept");
    KVT_OK(caught0 >= 0 && slept0 >= 0, "/admin/v1/stats has loop.polls_caught and loop.polls_slept");
    /* on a busy machine (the client slower than the window) more rounds
     * may be needed before one is caught */
    int answered = 0, sent = 0;
    long long caught1 = caught0, slept1 = slept0;
    for (int round = 0; round < 5 && caught1 - caught0 < 1; round++) {
        answered += s_healthz(g.http_port, 40);
        sent += 40;
        caught1 = gw_stat(&g, "loop", "polls_caught");
        slept1 = gw_stat(&g, "loop", "polls_slept");
    }
    KVT_EQ_INT(answered, sent, "requests one after another are all answered 200 (%d)", sent);
    KVT_OK(caught1 - caught0 >= 1,
           "the loop saw some of them while polling (%lld caught, %lld slept)",
           caught1 - caught0, slept1 - slept0);
    /* (the loop may wait once more between the two readings) */
    long long mc = s_polls(&g, "caught"), ms = s_polls(&g, "slept");
    KVT_OK(mc >= caught1 && mc <= caught1 + 2,
           "kaivox_gateway_loop_polls_total{result=\"caught\"} says the same (%lld, %lld)", mc, caught1);
    KVT_OK(ms >= slept1 && ms <= slept1 + 2, "... and {result=\"slept\"} (%lld, %lld)", ms, slept1);

    /* two requests held: no poll, whatever comes */
    int h1 = s_hold(g.http_port, key), h2 = s_hold(g.http_port, key);
    KVT_OK(h1 >= 0 && h2 >= 0, "two requests are held (their bodies never complete)");
    kvt_sleep_ms(300);               /* their headers are read and checked */
    long long c2 = gw_stat(&g, "loop", "polls_caught"), s2 = gw_stat(&g, "loop", "polls_slept");
    KVT_EQ_INT(s_healthz(g.http_port, 40), 40, "40 more requests meanwhile are answered 200");
    long long c3 = gw_stat(&g, "loop", "polls_caught"), s3 = gw_stat(&g, "loop", "polls_slept");
    KVT_EQ_INT(c3 - c2, 0, "with more than one request held the loop never polls (caught)");
    KVT_EQ_INT(s3 - s2, 0, "... (slept)");
    if (h1 >= 0)
        close(h1);
    if (h2 >= 0)
        close(h2);

    /* another gateway of the host polls: this one sleeps at once */
    int lk = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    KVT_OK(lk >= 0 && flock(lk, LOCK_EX) == 0, "the test holds the host's poll lock (%s)", lockpath);
    long long c4 = gw_stat(&g, "loop", "polls_caught"), s4 = gw_stat(&g, "loop", "polls_slept");
    long long d4 = gw_stat(&g, "loop", "polls_deferred");
    KVT_EQ_INT(s_healthz(g.http_port, 40), 40, "40 requests while the lock is held are answered 200");
    long long c5 = gw_stat(&g, "loop", "polls_caught"), s5 = gw_stat(&g, "loop", "polls_slept");
    long long d5 = gw_stat(&g, "loop", "polls_deferred");
    KVT_EQ_INT(c5 - c4 + s5 - s4, 0, "while another process holds the poll lock the loop never polls");
    KVT_OK(d5 - d4 >= 1, "... it defers instead (%lld deferred)", d5 - d4);
    if (lk >= 0)
        close(lk);                   /* releases the lock */
    answered = 0;
    sent = 0;
    long long c6 = c5;
    for (int round = 0; round < 5 && c6 - c5 < 1; round++) {
        answered += s_healthz(g.http_port, 40);
        sent += 40;
        c6 = gw_stat(&g, "loop", "polls_caught");
    }
    KVT_OK(c6 - c5 >= 1 && answered == sent, "once the lock is free the loop polls again (%lld caught)",
           c6 - c5);

    /* idle: no polling */
    kvt_sleep_ms(500);
    long t0 = s_cpu_ms(g.pid);
    kvt_sleep_ms(1500);
    long t1 = s_cpu_ms(g.pid);
    KVT_OK(t0 >= 0 && t1 - t0 < 300, "an idle gateway does not poll: %ld ms of CPU in 1.5 s", t1 - t0);
    KVT_EQ_INT(gw_private_stop(&g), 0, "the gateway stops cleanly");

    /* 0: off */
    const char *const off[] = { "KAIVOX_GATEWAY_POLL_US=0", NULL };
    if (gw_private_start(&g, "gateway-poll-off", off) != 0) {
        printf("FAIL setup: the gateway without polling did not start\n");
        return kvt_done();
    }
    KVT_EQ_INT(s_healthz(g.http_port, 40), 40, "polling off: 40 requests are answered 200");
    long long polls = gw_stat(&g, "loop", "polls_caught") + gw_stat(&g, "loop", "polls_slept");
    KVT_EQ_INT(polls, 0, "KAIVOX_GATEWAY_POLL_US=0: the loop never polls");
    KVT_EQ_INT(gw_private_stop(&g), 0, "the gateway stops cleanly");

    const char *const bad[] = { "KAIVOX_GATEWAY_POLL_US=100001", NULL };
    KVT_OK(gw_private_start_once(&g, "gateway-poll-bad", bad) != 0,
           "a ceiling above 100 ms refuses to start");
    if (g.pid > 0)
        gw_private_stop(&g);

    return kvt_done();
}
