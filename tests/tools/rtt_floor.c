/*
 * rtt_floor.c -- the floor under one request of the bus: round trips
 * between two processes over loopback TCP, with ZeroMQ (a DEALER asking a
 * ROUTER that echoes, as a service worker and the gateway's broker do) and
 * with plain sockets, so that docs/architecture.md ("Performance") can say
 * how much of a request's latency ZeroMQ's hops cost on a machine.
 *
 *   rtt_floor [ROUNDS] [PAUSE_US]   (default 2000 rounds, 0 us pause)
 *
 * PAUSE_US sleeps between round trips, so that the threads go idle as they
 * do between the requests of a lightly loaded server.  Prints p50, p90 and
 * p99 in microseconds for each transport.  Uses 127.0.0.1 ports the kernel
 * picks; sends nothing elsewhere; exits when done.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "kv_env.h"

static double s_now_us(void)
{
    return (double)kv_mono_ns() / 1e3;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void s_report(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, s_cmp);
    printf("%-34s p50 %7.1f us  p90 %7.1f us  p99 %7.1f us  (%d rounds)\n", what, v[n / 2],
           v[n * 9 / 10], v[n * 99 / 100], n);
}

static void s_pause(int us)
{
    if (us > 0) {
        struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };
        nanosleep(&ts, NULL);
    }
}

/* A DEALER in this process asks, a ROUTER in a child process echoes: the
 * shape of a service worker and the gateway's broker (each side with its
 * own ZeroMQ I/O thread). */
static void s_zmq(int rounds, int pause_us)
{
    int port_pipe[2];
    if (pipe(port_pipe) != 0)
        return;
    pid_t child = fork();
    if (child == 0) {
        void *ctx = zmq_ctx_new();
        void *r = zmq_socket(ctx, ZMQ_ROUTER);
        char ep[64];
        size_t len = sizeof ep;
        zmq_bind(r, "tcp://127.0.0.1:*");
        zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &len);
        if (write(port_pipe[1], ep, strlen(ep) + 1) < 0)
            _exit(1);
        char rid[256], data[256];
        for (;;) {
            int ni = zmq_recv(r, rid, sizeof rid, 0);
            int nd = zmq_recv(r, data, sizeof data, 0);
            if (ni < 0 || nd < 0)
                break;
            zmq_send(r, rid, (size_t)ni, ZMQ_SNDMORE);
            zmq_send(r, data, (size_t)nd, 0);
        }
        _exit(0);
    }
    char ep[64] = "";
    if (read(port_pipe[0], ep, sizeof ep) <= 0)
        return;
    void *ctx = zmq_ctx_new();
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    zmq_connect(dealer, ep);
    char data[64] = "ping", back[256];
    for (int i = 0; i < 10; i++) {   /* warm-up: the connection is made */
        zmq_send(dealer, data, sizeof data, 0);
        zmq_recv(dealer, back, sizeof back, 0);
    }
    double *v = calloc((size_t)rounds, sizeof *v);
    for (int i = 0; i < rounds; i++) {
        s_pause(pause_us);
        double t0 = s_now_us();
        zmq_send(dealer, data, sizeof data, 0);
        zmq_recv(dealer, back, sizeof back, 0);
        v[i] = s_now_us() - t0;
    }
    s_report("ZeroMQ DEALER -> ROUTER echo", v, rounds);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    int zero = 0;
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
    close(port_pipe[0]);
    close(port_pipe[1]);
    free(v);
}

static void s_tcp(int rounds, int pause_us)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    bind(ls, (struct sockaddr *)&a, sizeof a);
    listen(ls, 1);
    getsockname(ls, (struct sockaddr *)&a, &al);
    pid_t child = fork();
    if (child == 0) {
        int c = accept(ls, NULL, NULL);
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char buf[64];
        for (;;) {
            ssize_t n = recv(c, buf, sizeof buf, 0);
            if (n <= 0 || send(c, buf, (size_t)n, 0) != n)
                break;
        }
        _exit(0);
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0)
        return;
    double *v = calloc((size_t)rounds, sizeof *v);
    char buf[64] = "ping";
    for (int i = 0; i < rounds; i++) {
        s_pause(pause_us);
        double t0 = s_now_us();
        if (send(s, buf, sizeof buf, 0) != (ssize_t)sizeof buf)
            break;
        size_t got = 0;
        while (got < sizeof buf) {
            ssize_t n = recv(s, buf + got, sizeof buf - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        v[i] = s_now_us() - t0;
    }
    s_report("plain TCP echo", v, rounds);
    close(s);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(ls);
    free(v);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 2000;
    int pause_us = argc > 2 ? atoi(argv[2]) : 0;
    if (rounds < 10)
        rounds = 10;
    s_tcp(rounds, pause_us);
    s_zmq(rounds, pause_us);
    return 0;
}
