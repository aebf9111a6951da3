/*
 * resolve.c -- the process's resolver thread: every host name lookup of
 * the webhooks service, API workers' and deliverer's alike, on one c-ares
 * channel, each with a hard deadline.  See resolve.h for the why.
 *
 * c-ares 1.18 (Debian 12) wants a channel used by one thread only, so the
 * channel belongs to the resolver thread.  Other threads hand it jobs
 * through an inbox (s_lock) and an eventfd that wakes its poll(); the
 * thread starts them (ares_getaddrinfo), drives c-ares' sockets and
 * timers, and ends every job by its deadline even when c-ares would still
 * wait.  A job is shared by its owner (a waiting API worker, or the
 * deliverer) and the resolver: refs counts the two holds and the last to
 * let go frees it; c-ares cannot cancel one query, so an abandoned job
 * lives until c-ares gives up on it (its own timeouts are set to end about
 * at the deadline).  Every job field is guarded by s_lock.
 */
#include "resolve.h"
#include "hook.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>

#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"

#define S_JOBS_MAX   1024    /* lookups under way at once, all callers */
#define S_POLL_MAX_MS 1000

struct hook_dns_job {
    hook_dns_job_t *next;        /* the inbox, then the resolver's list */
    char host[HOOK_HOST_MAX + 1];
    int64_t deadline;            /* mono ms */
    int done;                    /* the outcome is final */
    int status;                  /* HOOK_DNS_* when done */
    hook_addrs_t addrs;          /* when status is HOOK_DNS_OK */
    int refs;                    /* owner + resolver */
    int owned;                   /* the owner still holds it */
    pthread_cond_t cond;         /* signalled when done */
    void (*notify)(void *);      /* called when done, while owned */
    void *notify_arg;
};

/* The resolver, process-wide. */
static struct {
    pthread_mutex_t lock;        /* s_lock: everything below and every job */
    pthread_t thread;
    int running;                 /* the thread was started */
    int stopping;
    int wake_fd;                 /* eventfd */
    ares_channel channel;        /* the resolver thread's only */
    hook_dns_job_t *inbox;       /* submitted, not started yet */
    hook_dns_job_t *active;      /* started (in c-ares), or ended and
                                    waiting for c-ares to let go */
    int njobs;                   /* jobs alive (inbox + active) */
    int api_waiting;             /* API lookups being waited on */
    int64_t api_tenants[256];    /* their tenants (api_waiting of them) */
} s = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake_fd = -1 };

/* ---- jobs (s.lock held) ------------------------------------------------ */

/* Ends job with status (and addrs on OK) unless it has ended already. */
static void s_finish(hook_dns_job_t *job, int status, const hook_addrs_t *addrs)
{
    if (job->done)
        return;
    job->done = 1;
    job->status = status;
    if (status == HOOK_DNS_OK && addrs)
        job->addrs = *addrs;
    pthread_cond_broadcast(&job->cond);
    if (job->owned && job->notify)
        job->notify(job->notify_arg);
}

/* Drops one hold on job; frees it after the last. */
static void s_unref(hook_dns_job_t *job)
{
    if (--job->refs > 0)
        return;
    pthread_cond_destroy(&job->cond);
    free(job);
    s.njobs--;
}

/* Takes job out of the resolver's active list. */
static void s_unlink_active(hook_dns_job_t *job)
{
    for (hook_dns_job_t **pp = &s.active; *pp; pp = &(*pp)->next)
        if (*pp == job) {
            *pp = job->next;
            job->next = NULL;
            return;
        }
}

/* ---- the resolver thread ---------------------------------------------- */

/* c-ares' answer for job arg (resolver thread; maybe inside
 * ares_getaddrinfo itself).  Takes ownership of res. */
static void s_on_result(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    (void)timeouts;
    hook_dns_job_t *job = arg;
    hook_addrs_t addrs;
    int outcome;

    memset(&addrs, 0, sizeof addrs);
    addrs.ttl_s = 3600;
    if (status == ARES_SUCCESS && res) {
        for (struct ares_addrinfo_node *n = res->nodes; n && addrs.n < HOOK_ADDRS_MAX;
             n = n->ai_next) {
            if ((n->ai_family != AF_INET && n->ai_family != AF_INET6) || !n->ai_addr ||
                n->ai_addrlen > sizeof addrs.addr[0])
                continue;
            memcpy(&addrs.addr[addrs.n++], n->ai_addr, n->ai_addrlen);
            if (n->ai_ttl >= 0 && n->ai_ttl < addrs.ttl_s)
                addrs.ttl_s = n->ai_ttl;
        }
        outcome = addrs.n > 0 ? HOOK_DNS_OK : HOOK_DNS_NOTFOUND;
    } else if (status == ARES_ENOTFOUND || status == ARES_ENODATA || status == ARES_ENONAME) {
        outcome = HOOK_DNS_NOTFOUND;
    } else if (status == ARES_ETIMEOUT) {
        outcome = HOOK_DNS_TIMEOUT;
    } else {
        outcome = HOOK_DNS_ERROR;
    }
    if (res)
        ares_freeaddrinfo(res);

    pthread_mutex_lock(&s.lock);
    s_finish(job, outcome, &addrs);
    s_unlink_active(job);
    s_unref(job);
    pthread_mutex_unlock(&s.lock);
}

/* Ends the active jobs whose deadline passed; returns the ms until the
 * nearest deadline still ahead (S_POLL_MAX_MS at most). */
static int s_expire(int64_t now)
{
    int wait = S_POLL_MAX_MS;
    pthread_mutex_lock(&s.lock);
    for (hook_dns_job_t *j = s.active; j; j = j->next) {
        if (j->done)
            continue;
        if (now >= j->deadline)
            s_finish(j, HOOK_DNS_TIMEOUT, NULL);
        else if (j->deadline - now < wait)
            wait = (int)(j->deadline - now);
    }
    pthread_mutex_unlock(&s.lock);
    return wait;
}

static void *s_thread(void *arg)
{
    (void)arg;
    struct ares_addrinfo_hints hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;

    for (;;) {
        pthread_mutex_lock(&s.lock);
        hook_dns_job_t *fresh = s.inbox;
        s.inbox = NULL;
        int stopping = s.stopping;
        pthread_mutex_unlock(&s.lock);
        if (stopping) {
            /* hand the unstarted back as failed; ares_destroy fails the rest */
            pthread_mutex_lock(&s.lock);
            while (fresh) {
                hook_dns_job_t *j = fresh;
                fresh = j->next;
                s_finish(j, HOOK_DNS_ERROR, NULL);
                s_unref(j);
            }
            pthread_mutex_unlock(&s.lock);
            break;
        }
        while (fresh) {
            hook_dns_job_t *j = fresh;
            fresh = j->next;
            pthread_mutex_lock(&s.lock);
            j->next = s.active;
            s.active = j;
            pthread_mutex_unlock(&s.lock);
            /* may call s_on_result at once (hosts file, bad name) */
            ares_getaddrinfo(s.channel, j->host, NULL, &hints, s_on_result, j);
        }

        int wait = s_expire(kv_mono_ms());
        struct timeval tv, maxtv = { wait / 1000, (wait % 1000) * 1000 };
        struct timeval *tvp = ares_timeout(s.channel, &maxtv, &tv);
        int timeout_ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);

        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        struct pollfd pfd[ARES_GETSOCK_MAXNUM + 1];
        int bits = ares_getsock(s.channel, socks, ARES_GETSOCK_MAXNUM);
        int n = 0;
        pfd[n++] = (struct pollfd){ .fd = s.wake_fd, .events = POLLIN };
        /* c-ares' own ARES_GETSOCK_WRITABLE shifts a signed 1 by up to 31:
         * undefined behaviour, so the bits are read unsigned here. */
        unsigned ubits = (unsigned)bits;
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short ev = 0;
            if ((ubits >> i) & 1u)
                ev |= POLLIN;
            if ((ubits >> (i + ARES_GETSOCK_MAXNUM)) & 1u)
                ev |= POLLOUT;
            if (ev)
                pfd[n++] = (struct pollfd){ .fd = socks[i], .events = ev };
        }
        int ready = poll(pfd, (nfds_t)n, timeout_ms);
        if (ready < 0 && errno != EINTR)
            kv_warn(NULL, "resolve: poll: %s", strerror(errno));
        if (ready > 0 && (pfd[0].revents & POLLIN)) {
            uint64_t v;
            ssize_t got = read(s.wake_fd, &v, sizeof v);
            (void)got;
        }
        int any = 0;
        for (int i = 1; ready > 0 && i < n; i++) {
            if (!pfd[i].revents)
                continue;
            any = 1;
            ares_process_fd(s.channel,
                            pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd
                                                                         : ARES_SOCKET_BAD,
                            pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
        }
        if (!any)
            ares_process_fd(s.channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);   /* timers */
        (void)s_expire(kv_mono_ms());
    }
    ares_destroy(s.channel);   /* fails every query still running: s_on_result */
    return NULL;
}

int hook_resolver_start(void)
{
    struct ares_options opt;
    int rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        kv_error(NULL, "resolve: c-ares: %s", ares_strerror(rc));
        return -1;
    }
    memset(&opt, 0, sizeof opt);
    /* Two tries (the second waits twice as long): they end about at the
     * deadline, which is kept here anyway. */
    opt.timeout = hook_config.dns_timeout_ms / 3 > 0 ? hook_config.dns_timeout_ms / 3 : 1;
    opt.tries = 2;
    opt.flags = ARES_FLAG_NOSEARCH;
    opt.lookups = (char *)"fb";
    rc = ares_init_options(&s.channel, &opt,
                           ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_LOOKUPS);
    if (rc != ARES_SUCCESS) {
        kv_error(NULL, "resolve: c-ares: %s", ares_strerror(rc));
        return -1;
    }
    if (hook_config.dns_servers &&
        (rc = ares_set_servers_ports_csv(s.channel, hook_config.dns_servers)) != ARES_SUCCESS) {
        kv_error(NULL, "KAIVOX_WEBHOOK_DNS_SERVERS must be a comma-separated list of "
                 "ip[:port] (IPv6 as [ip]:port): %s", ares_strerror(rc));
        ares_destroy(s.channel);
        return -1;
    }
    s.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    /* Started before kv_service_run() blocks the signals for its own
     * threads: this one must not take SIGTERM either (it would end the
     * process at once instead of letting kv_service drain it). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int started = s.wake_fd >= 0 && pthread_create(&s.thread, NULL, s_thread, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!started) {
        kv_error(NULL, "resolve: cannot start the resolver thread");
        if (s.wake_fd >= 0)
            close(s.wake_fd);
        s.wake_fd = -1;
        ares_destroy(s.channel);
        return -1;
    }
    s.running = 1;
    kv_info(NULL, "resolve: resolver started (%s, %d ms per lookup)",
            hook_config.dns_servers ? "KAIVOX_WEBHOOK_DNS_SERVERS" : "system servers",
            hook_config.dns_timeout_ms);
    return 0;
}

static void s_wake(void)
{
    uint64_t one = 1;
    ssize_t n = write(s.wake_fd, &one, sizeof one);
    (void)n;   /* a full counter wakes it just the same */
}

void hook_resolver_stop(void)
{
    if (!s.running)
        return;
    pthread_mutex_lock(&s.lock);
    s.stopping = 1;
    pthread_mutex_unlock(&s.lock);
    s_wake();
    pthread_join(s.thread, NULL);
    s.running = 0;
    close(s.wake_fd);
    s.wake_fd = -1;
    ares_library_cleanup();
}

/* A new job for host, due by timeout_ms from now, in the inbox, with the
 * owner's and the resolver's holds.  NULL when the resolver is not running
 * or S_JOBS_MAX jobs are alive. */
static hook_dns_job_t *s_submit(const char *host, int timeout_ms,
                                void (*notify)(void *), void *arg)
{
    if (strlen(host) > HOOK_HOST_MAX)
        return NULL;
    pthread_mutex_lock(&s.lock);
    if (!s.running || s.stopping || s.njobs >= S_JOBS_MAX) {
        pthread_mutex_unlock(&s.lock);
        return NULL;
    }
    hook_dns_job_t *job = kv_calloc(1, sizeof *job);
    snprintf(job->host, sizeof job->host, "%s", host);
    job->deadline = kv_mono_ms() + timeout_ms;
    job->refs = 2;
    job->owned = 1;
    job->notify = notify;
    job->notify_arg = arg;
    pthread_cond_init(&job->cond, NULL);
    job->next = s.inbox;
    s.inbox = job;
    s.njobs++;
    pthread_mutex_unlock(&s.lock);
    s_wake();
    return job;
}

hook_dns_job_t *hook_dns_start(const char *host, int timeout_ms,
                               void (*notify)(void *arg), void *arg)
{
    return s_submit(host, timeout_ms, notify, arg);
}

int hook_dns_poll(hook_dns_job_t *job, hook_addrs_t *out)
{
    pthread_mutex_lock(&s.lock);
    int rc = job->done ? job->status : 1;
    if (rc == HOOK_DNS_OK && out)
        *out = job->addrs;
    pthread_mutex_unlock(&s.lock);
    return rc;
}

void hook_dns_release(hook_dns_job_t **pjob)
{
    if (!pjob || !*pjob)
        return;
    pthread_mutex_lock(&s.lock);
    (*pjob)->owned = 0;
    (*pjob)->notify = NULL;
    s_unref(*pjob);
    pthread_mutex_unlock(&s.lock);
    *pjob = NULL;
}

/* Admits an API lookup of tenant (s.lock held): 0, or the HOOK_DNS_*
 * refusal. */
static int s_admit(int64_t tenant)
{
    for (int i = 0; i < s.api_waiting; i++)
        if (s.api_tenants[i] == tenant)
            return HOOK_DNS_TENANT_BUSY;
    if (s.api_waiting >= hook_config.dns_api_max ||
        s.api_waiting >= (int)(sizeof s.api_tenants / sizeof s.api_tenants[0]))
        return HOOK_DNS_BUSY;
    s.api_tenants[s.api_waiting++] = tenant;
    return 0;
}

static void s_leave(int64_t tenant)
{
    for (int i = 0; i < s.api_waiting; i++)
        if (s.api_tenants[i] == tenant) {
            s.api_tenants[i] = s.api_tenants[--s.api_waiting];
            return;
        }
}

int hook_resolve(const char *host, int64_t tenant, int timeout_ms, hook_addrs_t *out)
{
    pthread_mutex_lock(&s.lock);
    int rc = s_admit(tenant);
    pthread_mutex_unlock(&s.lock);
    if (rc != 0)
        return rc;

    hook_dns_job_t *job = s_submit(host, timeout_ms, NULL, NULL);
    if (!job) {
        rc = HOOK_DNS_BUSY;
        goto out;
    }
    /* Wait for the outcome; the deadline is the job's, plus a little for
     * the resolver thread to notice it (it ends the job itself). */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t ns = until.tv_nsec + (int64_t)(timeout_ms + 50) * 1000000;
    until.tv_sec += (time_t)(ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&s.lock);
    while (!job->done)
        if (pthread_cond_timedwait(&job->cond, &s.lock, &until) == ETIMEDOUT)
            break;
    rc = job->done ? job->status : HOOK_DNS_TIMEOUT;
    if (rc == HOOK_DNS_OK)
        *out = job->addrs;
    pthread_mutex_unlock(&s.lock);
    hook_dns_release(&job);
out:
    pthread_mutex_lock(&s.lock);
    s_leave(tenant);
    pthread_mutex_unlock(&s.lock);
    return rc;
}
