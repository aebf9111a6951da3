/*
 * resolve.h -- bounded, asynchronous host name resolution for webhook URLs
 * (c-ares), shared by the API workers and the deliverer of a process.
 *
 * No thread ever blocks in getaddrinfo: one resolver thread owns a c-ares
 * channel and runs every lookup of the process side by side; a lookup
 * ends at its deadline (KAIVOX_WEBHOOK_DNS_TIMEOUT_MS) whatever the DNS
 * server does.  The API path waits for its own lookup only (hook_resolve),
 * and only when admitted: one lookup at a time per tenant, and at most
 * hook_config.dns_api_max (KAIVOX_WORKERS - 1) API lookups at once, so a
 * name whose DNS never answers costs its own request its timeout and never
 * holds every worker.  The deliverer starts lookups and is woken when they
 * end (hook_dns_start), so it never waits for one.
 *
 * Servers: the system's /etc/resolv.conf, or KAIVOX_WEBHOOK_DNS_SERVERS
 * ("ip[:port],..."; tests point it at a server that never answers).
 * Search domains are not applied (a webhook URL names a full host) and
 * /etc/hosts is read before DNS.
 */
#ifndef HOOK_RESOLVE_H
#define HOOK_RESOLVE_H

#include <stdint.h>
#include <sys/socket.h>

#define HOOK_ADDRS_MAX 16

/* The addresses a name resolved to (port 0). */
typedef struct {
    int n;
    int ttl_s;                               /* the smallest TTL of them */
    struct sockaddr_storage addr[HOOK_ADDRS_MAX];
} hook_addrs_t;

/* Outcomes (0 or negative). */
enum {
    HOOK_DNS_OK = 0,
    HOOK_DNS_NOTFOUND = -1,     /* no such name, or no address */
    HOOK_DNS_TIMEOUT = -2,      /* no answer before the deadline */
    HOOK_DNS_ERROR = -3,        /* anything else (server failure, refused, ...) */
    HOOK_DNS_BUSY = -4,         /* API: dns_api_max lookups already waited on */
    HOOK_DNS_TENANT_BUSY = -5,  /* API: this tenant has a lookup running */
};

/* Starts the process's resolver thread (after hook_config_load).  0, or -1
 * when c-ares cannot be set up (bad KAIVOX_WEBHOOK_DNS_SERVERS: logged). */
int hook_resolver_start(void);
/* Stops it; lookups still running end with HOOK_DNS_ERROR.  Safe when it
 * was never started. */
void hook_resolver_stop(void);

/* API path: resolves host (an ASCII name, as hook_url_parse gives it) for
 * tenant, waiting at most timeout_ms.  Fills *out on HOOK_DNS_OK; returns
 * a HOOK_DNS_* outcome.  Thread-safe. */
int hook_resolve(const char *host, int64_t tenant, int timeout_ms, hook_addrs_t *out);

/* Deliverer path: a lookup that runs on its own. */
typedef struct hook_dns_job hook_dns_job_t;

/* Starts resolving host, to end by timeout_ms from now; when it ends,
 * notify(arg) is called from the resolver thread (it must be thread-safe
 * and quick, e.g. curl_multi_wakeup).  Caller owns the result (release it
 * with hook_dns_release).  NULL when the resolver is not running or too
 * many lookups are under way. */
hook_dns_job_t *hook_dns_start(const char *host, int timeout_ms,
                               void (*notify)(void *arg), void *arg);
/* HOOK_DNS_OK or an error when job has ended (filling *out on OK), 1 while
 * it runs. */
int hook_dns_poll(hook_dns_job_t *job, hook_addrs_t *out);
/* Gives up the caller's hold on *pjob (running or not; no notify comes
 * after this returns) and sets *pjob NULL. */
void hook_dns_release(hook_dns_job_t **pjob);

#endif
