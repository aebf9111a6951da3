/*
 * deliver.c -- the deliverer: claims due deliveries and POSTs them, many at
 * once, with libcurl's multi interface.
 *
 * One thread per instance runs hook_deliverer_run().  It claims due
 * deliveries in one short statement (FOR UPDATE SKIP LOCKED; the claim is a
 * lease: next_attempt_at moves past the attempt's timeout, so a crashed
 * instance's claims come due again by themselves), starts one attempt per
 * delivery, and records each outcome as it completes (attempt row + new
 * status, one short transaction).  No transaction is ever open during
 * HTTP, and one slow receiver holds only its own transfers.
 *
 * At most S_HOST_MAX attempts run at once per receiver (scheme, host and
 * port of the URL), and at most S_HOST_TENANT_MAX of them for one tenant,
 * so that a receiver many tenants share (an integration platform) cannot
 * be filled by one; the others of that receiver wait here, in claim order,
 * and are started only when a slot frees.  The queue is ours, not curl's
 * (CURLMOPT_MAX_HOST_CONNECTIONS is left unlimited): curl counts the time
 * a transfer waits in its own connection queue against CURLOPT_TIMEOUT_MS
 * (by design), so a delivery parked there behind a burst or a slow
 * receiver failed with "timeout" without ever having connected (with a
 * receiver answering in 1.5 s and a 2 s timeout, 193 of 300 first
 * attempts did).  Here the attempt -- its timeout, its attempted_at, its
 * signed timestamp -- starts when it gets a slot; time spent waiting for
 * one is never an attempt.  A delivery whose lease would end before a full
 * attempt could fit is handed back (hook_claim_release) instead of being
 * started, so no other instance can claim it while it still runs here.
 *
 * Claiming is fair per endpoint and per tenant: an instance holds (in
 * flight or waiting) at most hook_config.endpoint_max deliveries of one
 * endpoint and hook_config.tenant_max of one tenant, and the claim
 * statement takes only what fits under both (the counts held here go with
 * it), every tenant's oldest first.  So a slow receiver with a big
 * backlog, or a tenant with many of them, holds a few slots, never the
 * whole claim budget (hook_config.max_inflight), and other tenants'
 * deliveries are claimed and started as soon as they are due.  An
 * endpoint or tenant that had as many as it may hold is claimed for again
 * as soon as it is down to half with none of its deliveries waiting for a
 * slot (s_hungry), not at the next poll, so a fast receiver with a backlog
 * is not held to one share per poll.  Each instance counts its own
 * holdings: n instances hold up to n shares.
 *
 * Where an attempt connects: a URL whose host is a name is resolved here
 * by resolve.c -- asynchronously, the deliverer is only woken when the
 * lookup ends, with the DNS deadline counted in the attempt's timeout --
 * every address must pass the SSRF guard, and curl gets exactly those
 * addresses (CURLOPT_RESOLVE), so it never resolves anything itself and
 * connects only to vetted addresses; a receiver's vetted addresses are
 * kept for their TTL (1 s to S_DNS_CACHE_MAX_S).  The open-socket callback
 * checks the very address curl connects to once more.  A DNS rebinding
 * can therefore never reach an internal address, and a name whose DNS
 * hangs costs its own attempts their timeout, never the deliverer's loop.
 *
 * Every attempt signs the stored body bytes (sign.c) with a fresh
 * timestamp; during a secret rotation's overlap webhook-signature carries
 * a signature with each secret.  Redirects are not followed (a 3xx is a
 * failure), only http and https are spoken, proxies from the environment
 * are ignored.  The error text an attempt records is at most S_ERROR_MAX
 * characters of printable ASCII, and never names the address a host name
 * resolved to.
 */
#include "hook.h"
#include "resolve.h"
#include "sign.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "kv_env.h"
#include "kv_log.h"
#include "kv_trace.h"
#include "kv_mem.h"

#define S_GRACE_MS      3000    /* at shutdown, time left to in-flight transfers */
#define S_LEASE_EXTRA_S 30      /* claim lease beyond the transfer timeout */
#define S_RETRY_AFTER_MAX_S 86400
#define S_REAP_MAX      256     /* outcomes recorded per transaction */
#define S_HOST_MAX      64      /* attempts at once per receiver (scheme://host:port) */
#define S_HOST_TENANT_MAX (S_HOST_MAX / 2)   /* ... of them for one tenant */
#define S_LEASE_MARGIN_MS 5000  /* a queued delivery starts only if its attempt
                                   ends this long before its lease does */
#define S_DNS_CACHE_MAX_S 60    /* vetted addresses kept at most this long */
#define S_ERROR_MAX     300     /* characters of an attempt's error text
                                   (attempts_error_short) */

typedef struct s_host s_host_t;
typedef struct s_ep s_ep_t;
typedef struct s_tenant s_tenant_t;

/* Where a claimed delivery stands. */
enum { S_WAITING, S_RESOLVING, S_RUNNING, S_FAILED };

/* One claimed delivery: waiting for a slot of its receiver, started and
 * waiting for its receiver's addresses, a transfer in the multi handle, or
 * failed before curl got it (to be recorded). */
typedef struct s_xfer {
    struct s_xfer *prev, *next;  /* the deliverer's list of claimed deliveries */
    struct s_xfer *qnext;        /* its receiver's queue or resolving list,
                                    or the deliverer's failed list */
    int state;                   /* S_* */
    s_host_t *host;              /* its receiver */
    s_ep_t *ep;                  /* its endpoint's count */
    s_tenant_t *tenant;          /* its tenant's count */
    CURL *easy;                  /* while S_RUNNING */
    int64_t id;                  /* delivery id */
    int64_t tenant_id;
    int64_t endpoint_id;
    char claim_no[24];           /* the claim this attempt was made under */
    int attempt_count;           /* attempts of the series before this one */
    int64_t lease_end;           /* mono ms: the claim's lease ends (about) */
    int64_t started_ms;          /* epoch ms: attempted_at (when started) */
    int64_t started_mono;        /* mono ms: the same, for the budget */
    int64_t handed_mono;         /* mono ms: given to curl */
    char *url, *secret, *type;   /* owned, from the claim */
    char *previous;              /* owned: the rotated-out secret, or NULL */
    char *body;                  /* owned: the exact bytes sent */
    kv_trace_t trace;            /* this attempt's span, of its event's trace */
    struct curl_slist *headers;  /* owned */
    struct curl_slist *resolve;  /* owned: the vetted addresses for curl */
    const char *blocked;         /* set when an address was refused */
    char fail[96];               /* S_FAILED: why */
    char errbuf[CURL_ERROR_SIZE];
} s_xfer_t;

/* Running attempts of one tenant at one receiver. */
typedef struct s_share {
    struct s_share *next;
    int64_t tenant_id;
    int running;
} s_share_t;

/* One receiver (scheme://host:port) with claimed deliveries, or with
 * vetted addresses still fresh. */
struct s_host {
    s_host_t *next;
    char *key;                   /* owned: "scheme://host:port" */
    hook_url_t target;           /* host name (or literal) and port */
    int running;                 /* its attempts started (resolving or in curl) */
    s_share_t *shares;           /* of those, per tenant */
    s_xfer_t *qhead, *qtail;     /* its deliveries waiting for a slot, in order */
    s_xfer_t *resolving;         /* started, waiting for the lookup */
    hook_dns_job_t *dns;         /* the lookup under way, or NULL */
    hook_addrs_t addrs;          /* the last vetted addresses */
    int64_t addrs_until;         /* mono ms: they are fresh until */
};

/* One endpoint with claimed deliveries here. */
struct s_ep {
    s_ep_t *next;
    int64_t id;
    int held;                    /* its claimed deliveries here */
    int waiting;                 /* of those, not started yet */
    int more;                    /* held reached endpoint_max at the last
                                    claim: it may have more due */
};

/* One tenant with claimed deliveries here. */
struct s_tenant {
    s_tenant_t *next;
    int64_t id;
    int held;
    int waiting;
    int more;                    /* held reached tenant_max at the last claim */
};

struct hook_deliverer {
    kv_db_t *db;                 /* the deliverer thread's own connection */
    CURLM *multi;
    atomic_int wake;             /* set by hook_deliverer_wake() */
    atomic_int dns_done;         /* a lookup ended (resolver thread) */
    int inflight;                /* claimed deliveries not yet finished */
    int running;                 /* of those, transfers in the multi handle */
    s_xfer_t *xfers;             /* every claimed delivery, for shutdown */
    s_xfer_t *failed;            /* failed before curl, to record */
    s_host_t *hosts;             /* receivers with claimed deliveries */
    s_ep_t *eps;                 /* endpoints with claimed deliveries */
    int neps;
    s_tenant_t *tenants;         /* tenants with claimed deliveries */
    int ntenants;
    int reclaim;                 /* an endpoint or tenant with more due was
                                    forgotten (all its deliveries done):
                                    claim now */
    int async;                   /* session set to synchronous_commit off */
};

hook_deliverer_t *hook_deliverer_new(void)
{
    hook_deliverer_t *d = kv_calloc(1, sizeof *d);
    d->db = kv_db_new(KV_SVC_WEBHOOKS, hook_stmts);
    d->multi = curl_multi_init();
    if (!d->multi) {
        kv_error(NULL, "deliver: curl_multi_init failed");
        abort();
    }
    atomic_init(&d->wake, 0);
    atomic_init(&d->dns_done, 0);
    /* Many receivers, a few connections each, reused across deliveries.
     * The per-receiver limit is S_HOST_MAX, kept by s_host_*: curl itself
     * never has to queue a transfer (no MAX_HOST / MAX_TOTAL_CONNECTIONS). */
    curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, 256L);
    return d;
}

void hook_deliverer_destroy(hook_deliverer_t **pd)
{
    if (!pd || !*pd)
        return;
    hook_deliverer_t *d = *pd;
    curl_multi_cleanup(d->multi);
    kv_db_destroy(&d->db);
    free(d);
    *pd = NULL;
}

void hook_deliverer_wake(hook_deliverer_t *d)
{
    atomic_store(&d->wake, 1);
    curl_multi_wakeup(d->multi);
}

/* resolve.c's notification (resolver thread): a lookup ended. */
static void s_dns_notify(void *arg)
{
    hook_deliverer_t *d = arg;
    atomic_store(&d->dns_done, 1);
    curl_multi_wakeup(d->multi);
}

/* CURLOPT_OPENSOCKETFUNCTION: the SSRF guard on the very address curl is
 * about to connect to. */
static curl_socket_t s_opensocket(void *clientp, curlsocktype purpose,
                                  struct curl_sockaddr *a)
{
    s_xfer_t *x = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN ||
        !hook_ssrf_allowed(&a->addr, hook_config.allow)) {
        x->blocked = "refused";
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

/* Response bodies are not kept. */
static size_t s_discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static void s_xfer_free(s_xfer_t *x)
{
    if (!x)
        return;
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    curl_slist_free_all(x->resolve);
    free(x->url);
    free(x->secret);
    free(x->previous);
    free(x->type);
    free(x->body);
    free(x);
}

/* ---- receivers ----------------------------------------------------------- */

/* The receiver of url: "scheme://host:port" with the host as curl connects
 * to it, into key (caller frees), and its target.  -1 when url does not
 * parse (the attempt then fails on its own). */
static int s_host_key(const char *url, char **key, hook_url_t *target)
{
    if (hook_url_target(url, target) != 0) {
        *key = kv_strdup(url);
        return -1;
    }
    *key = kv_asprintf("%s://%s:%d", target->https ? "https" : "http", target->host,
                       target->port);
    return 0;
}

/* The entry of receiver key, created when missing. */
static s_host_t *s_host_get(hook_deliverer_t *d, const char *key, const hook_url_t *target)
{
    for (s_host_t *h = d->hosts; h; h = h->next)
        if (strcmp(h->key, key) == 0)
            return h;
    s_host_t *h = kv_calloc(1, sizeof *h);
    h->key = kv_strdup(key);
    if (target)
        h->target = *target;
    h->next = d->hosts;
    d->hosts = h;
    return h;
}

/* Forgets receiver h when it has nothing running, waiting or resolving
 * and its addresses are stale (or it has none to keep). */
static void s_host_gc(hook_deliverer_t *d, s_host_t *h, int64_t now)
{
    if (h->running > 0 || h->qhead || h->resolving || h->dns ||
        (h->addrs.n > 0 && now < h->addrs_until))
        return;
    for (s_host_t **pp = &d->hosts; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    while (h->shares) {
        s_share_t *s = h->shares;
        h->shares = s->next;
        free(s);
    }
    free(h->key);
    free(h);
}

/* The running count of tenant at receiver h, created when missing. */
static s_share_t *s_share_get(s_host_t *h, int64_t tenant)
{
    for (s_share_t *s = h->shares; s; s = s->next)
        if (s->tenant_id == tenant)
            return s;
    s_share_t *s = kv_calloc(1, sizeof *s);
    s->tenant_id = tenant;
    s->next = h->shares;
    h->shares = s;
    return s;
}

/* x's attempt no longer holds a slot of its receiver. */
static void s_slot_put(s_xfer_t *x)
{
    s_host_t *h = x->host;
    h->running--;
    s_share_t *s = s_share_get(h, x->tenant_id);
    if (--s->running > 0)
        return;
    for (s_share_t **pp = &h->shares; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    free(s);
}

/* ---- endpoint and tenant counts -------------------------------------------- */

/* The count of endpoint id, created when missing. */
static s_ep_t *s_ep_get(hook_deliverer_t *d, int64_t id)
{
    for (s_ep_t *e = d->eps; e; e = e->next)
        if (e->id == id)
            return e;
    s_ep_t *e = kv_calloc(1, sizeof *e);
    e->id = id;
    e->next = d->eps;
    d->eps = e;
    d->neps++;
    return e;
}

/* The count of tenant id, created when missing. */
static s_tenant_t *s_tenant_get(hook_deliverer_t *d, int64_t id)
{
    for (s_tenant_t *t = d->tenants; t; t = t->next)
        if (t->id == id)
            return t;
    s_tenant_t *t = kv_calloc(1, sizeof *t);
    t->id = id;
    t->next = d->tenants;
    d->tenants = t;
    d->ntenants++;
    return t;
}

/* One delivery of endpoint e and tenant t is done here (was_waiting:
 * never started); each is forgotten when it holds none. */
static void s_counts_put(hook_deliverer_t *d, s_ep_t *e, s_tenant_t *t, int was_waiting)
{
    e->held--;
    t->held--;
    if (was_waiting) {
        e->waiting--;
        t->waiting--;
    }
    if (e->held == 0) {
        if (e->more)
            d->reclaim = 1;
        for (s_ep_t **pp = &d->eps; *pp; pp = &(*pp)->next)
            if (*pp == e) {
                *pp = e->next;
                break;
            }
        d->neps--;
        free(e);
    }
    if (t->held == 0) {
        if (t->more)
            d->reclaim = 1;
        for (s_tenant_t **pp = &d->tenants; *pp; pp = &(*pp)->next)
            if (*pp == t) {
                *pp = t->next;
                break;
            }
        d->ntenants--;
        free(t);
    }
}

/* True when the next claim should not wait for the poll: an endpoint or a
 * tenant that may have more due is down to half its share with nothing of
 * it waiting for a slot here (its pipeline is running dry). */
static int s_hungry(hook_deliverer_t *d)
{
    if (d->reclaim)
        return 1;
    for (s_ep_t *e = d->eps; e; e = e->next)
        if (e->more && e->waiting == 0 && e->held <= hook_config.endpoint_max / 2)
            return 1;
    for (s_tenant_t *t = d->tenants; t; t = t->next)
        if (t->more && t->waiting == 0 && t->held <= hook_config.tenant_max / 2)
            return 1;
    return 0;
}

/* ---- one claimed delivery ---------------------------------------------------- */

/* Unlinks x from the singly linked list *head (linked by qnext); *tail
 * (may be NULL) is kept right. */
static void s_qunlink(s_xfer_t **head, s_xfer_t **tail, s_xfer_t *x)
{
    s_xfer_t **pp = head, *prev = NULL;
    while (*pp && *pp != x) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (!*pp)
        return;
    *pp = x->qnext;
    if (tail && *tail == x)
        *tail = prev;
    x->qnext = NULL;
}

/* Takes x out of wherever it stands (multi handle, receiver queue,
 * resolving list, failed list), its receiver's slot, the counts and the
 * list, and frees it.  Never starts anything, and leaves the receiver's
 * entry to s_host_gc(). */
static void s_xfer_drop(hook_deliverer_t *d, s_xfer_t *x)
{
    s_host_t *h = x->host;
    switch (x->state) {
    case S_WAITING:
        s_qunlink(&h->qhead, &h->qtail, x);
        break;
    case S_RESOLVING:
        s_qunlink(&h->resolving, NULL, x);
        s_slot_put(x);
        break;
    case S_RUNNING:
        curl_multi_remove_handle(d->multi, x->easy);
        s_slot_put(x);
        d->running--;
        break;
    case S_FAILED:
        s_qunlink(&d->failed, NULL, x);
        break;
    }
    s_counts_put(d, x->ep, x->tenant, x->state == S_WAITING);
    if (x->prev)
        x->prev->next = x->next;
    else
        d->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    d->inflight--;
    s_xfer_free(x);
}

/* Hands claim x back (due again at once; its claim number guards against
 * a claim taken since) and drops it (s_xfer_drop). */
static void s_xfer_release(hook_deliverer_t *d, s_xfer_t *x)
{
    char id_s[24];
    snprintf(id_s, sizeof id_s, "%" PRId64, x->id);
    const char *p[2] = { id_s, x->claim_no };
    kv_db_run(d->db, NULL, "hook_claim_release", 2, p);
    s_xfer_drop(d, x);
}

/* Attempt x (started, holding a slot) failed before curl could take it:
 * it goes to the failed list, recorded by the next s_reap(). */
static void s_xfer_fail(hook_deliverer_t *d, s_xfer_t *x, const char *why)
{
    if (x->state == S_RESOLVING) {
        s_qunlink(&x->host->resolving, NULL, x);
        s_slot_put(x);
    }
    x->state = S_FAILED;
    snprintf(x->fail, sizeof x->fail, "%s", why);
    x->qnext = d->failed;
    d->failed = x;
}

static struct curl_slist *s_header(struct curl_slist *l, const char *name, const char *value)
{
    char *line = kv_asprintf("%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(l, line);
    free(line);
    if (!n)
        abort();   /* out of memory: kv_mem's policy */
    return n;
}

/* The CURLOPT_RESOLVE entry "host:port:addr,addr..." of receiver h's
 * vetted addresses.  Caller frees (curl_slist_free_all). */
static struct curl_slist *s_pin(const s_host_t *h)
{
    char line[HOOK_HOST_MAX + 16 + HOOK_ADDRS_MAX * (INET6_ADDRSTRLEN + 3)];
    size_t n = (size_t)snprintf(line, sizeof line, "%s:%d:", h->target.host, h->target.port);
    for (int i = 0; i < h->addrs.n && n < sizeof line; i++) {
        char a[INET6_ADDRSTRLEN];
        const struct sockaddr *sa = (const struct sockaddr *)&h->addrs.addr[i];
        const void *raw = sa->sa_family == AF_INET
            ? (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr
            : (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (!inet_ntop(sa->sa_family, raw, a, sizeof a))
            continue;
        n += (size_t)snprintf(line + n, sizeof line - n, sa->sa_family == AF_INET6 ? "%s[%s]" : "%s%s",
                              i ? "," : "", a);
    }
    struct curl_slist *l = curl_slist_append(NULL, line);
    if (!l)
        abort();   /* out of memory: kv_mem's policy */
    return l;
}

/* Hands started attempt x to curl, with what is left of its budget (the
 * lookup's time counts).  0, or -1 when it cannot be handed (x is left as
 * it was). */
static int s_transfer(hook_deliverer_t *d, s_xfer_t *x)
{
    char id_s[24], ts_s[24], hex[65], std[HOOK_SIG_HEADER_MAX];
    size_t len = strlen(x->body);

    snprintf(id_s, sizeof id_s, "%" PRId64, x->id);
    int64_t ts = x->started_ms / 1000;
    snprintf(ts_s, sizeof ts_s, "%" PRId64, ts);
    hook_sign_hex(x->secret, x->body, len, hex);
    if (hook_sign_std_header(x->secret, x->previous, id_s, ts, x->body, len, std) != 0) {
        kv_error(NULL, "deliver: endpoint %" PRId64 " has an unusable secret", x->endpoint_id);
        return -1;
    }
    struct curl_slist *hl = NULL;
    hl = s_header(hl, "Content-Type", "application/json");
    hl = s_header(hl, "X-KaiVox-Event", x->type);
    hl = s_header(hl, "X-KaiVox-Delivery", id_s);
    hl = s_header(hl, "X-KaiVox-Timestamp", ts_s);
    hl = s_header(hl, "X-KaiVox-Signature", hex);
    hl = s_header(hl, "webhook-id", id_s);
    hl = s_header(hl, "webhook-timestamp", ts_s);
    hl = s_header(hl, "webhook-signature", std);
    char tp[KV_TRACEPARENT_LEN + 1];
    kv_traceparent_format(&x->trace, tp);
    hl = s_header(hl, "traceparent", tp);
    struct curl_slist *nl = curl_slist_append(hl, "Expect:");   /* no 100-continue wait */
    if (!nl)
        abort();   /* out of memory: kv_mem's policy */
    hl = nl;

    CURL *e = curl_easy_init();
    if (!e) {
        curl_slist_free_all(hl);
        return -1;
    }
    x->handed_mono = kv_mono_ms();
    long left = (long)(hook_config.timeout_ms - (x->handed_mono - x->started_mono));
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "KaiVox-Webhooks/1");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left > 1 ? left : 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* Never wait for a resolver thread of curl's own when a transfer ends
     * (it should have none: names come pinned). */
    curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
    if (x->resolve)
        curl_easy_setopt(e, CURLOPT_RESOLVE, x->resolve);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, s_opensocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(d->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        curl_slist_free_all(hl);
        return -1;
    }
    if (x->state == S_RESOLVING)
        s_qunlink(&x->host->resolving, NULL, x);
    x->state = S_RUNNING;
    x->easy = e;
    x->headers = hl;
    d->running++;
    return 0;
}

/* 1 when every address of a is one policy lets a delivery reach. */
static int s_vetted(const hook_addrs_t *a)
{
    if (a->n == 0)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (!hook_ssrf_allowed((const struct sockaddr *)&a->addr[i], hook_config.allow))
            return 0;
    return 1;
}

/* Receiver h's lookup ended (or could not start: dns_rc HOOK_DNS_ERROR):
 * its resolving attempts go to curl with the vetted addresses, or fail. */
static void s_host_resolved(hook_deliverer_t *d, s_host_t *h, int dns_rc, const hook_addrs_t *a)
{
    const char *why = NULL;
    if (dns_rc == HOOK_DNS_OK && s_vetted(a)) {
        h->addrs = *a;
        int ttl = a->ttl_s < 1 ? 1 : a->ttl_s > S_DNS_CACHE_MAX_S ? S_DNS_CACHE_MAX_S : a->ttl_s;
        h->addrs_until = kv_mono_ms() + (int64_t)ttl * 1000;
    } else if (dns_rc == HOOK_DNS_OK) {
        why = "refused: the host did not resolve to public addresses only";
        h->addrs.n = 0;
    } else if (dns_rc == HOOK_DNS_TIMEOUT) {
        why = "could not resolve the host: no DNS answer in time";
    } else {
        why = "could not resolve the host";
    }
    while (h->resolving) {
        s_xfer_t *x = h->resolving;
        if (!why) {
            x->resolve = s_pin(h);
            if (s_transfer(d, x) == 0)
                continue;
            curl_slist_free_all(x->resolve);
            x->resolve = NULL;
            s_xfer_fail(d, x, "could not start the request");
            continue;
        }
        s_xfer_fail(d, x, why);
    }
}

/* Starts the attempt of waiting delivery x at its receiver (the attempt's
 * time runs from here): straight to curl for an IP literal or fresh
 * vetted addresses, else behind the receiver's lookup (started when none
 * runs).  0, or -1 when it cannot be started (x is left waiting). */
static int s_start(hook_deliverer_t *d, s_xfer_t *x)
{
    s_host_t *h = x->host;
    int64_t now = kv_mono_ms();
    x->started_ms = kv_now_ms();
    x->started_mono = now;
    x->state = S_RESOLVING;              /* holds a slot from here on */
    h->running++;
    s_share_get(h, x->tenant_id)->running++;
    if (h->target.host[0] == '\0' || h->target.literal) {
        if (s_transfer(d, x) != 0) {     /* curl parses (and refuses) the URL itself */
            x->state = S_WAITING;
            s_slot_put(x);
            return -1;
        }
        return 0;
    }
    if (h->addrs.n > 0 && now < h->addrs_until) {
        x->resolve = s_pin(h);
        if (s_transfer(d, x) != 0) {
            curl_slist_free_all(x->resolve);
            x->resolve = NULL;
            x->state = S_WAITING;
            s_slot_put(x);
            return -1;
        }
        return 0;
    }
    x->qnext = h->resolving;
    h->resolving = x;
    if (!h->dns) {
        h->dns = hook_dns_start(h->target.host, hook_config.dns_timeout_ms, s_dns_notify, d);
        if (!h->dns)
            s_host_resolved(d, h, HOOK_DNS_ERROR, NULL);
    }
    return 0;
}

/* Every receiver whose lookup ended hands its attempts on. */
static void s_dns_collect(hook_deliverer_t *d)
{
    if (!atomic_exchange(&d->dns_done, 0))
        return;
    for (s_host_t *h = d->hosts; h; h = h->next) {
        if (!h->dns)
            continue;
        hook_addrs_t a;
        int rc = hook_dns_poll(h->dns, &a);
        if (rc == 1)
            continue;
        hook_dns_release(&h->dns);
        s_host_resolved(d, h, rc, &a);
    }
}

/* The first waiting delivery of receiver h whose tenant has a slot left
 * there, or NULL. */
static s_xfer_t *s_host_next(s_host_t *h)
{
    for (s_xfer_t *x = h->qhead; x; x = x->qnext) {
        s_share_t *s = NULL;
        for (s_share_t *t = h->shares; t; t = t->next)
            if (t->tenant_id == x->tenant_id)
                s = t;
        if (!s || s->running < S_HOST_TENANT_MAX)
            return x;
    }
    return NULL;
}

/* Starts waiting deliveries of receiver h while it has a free slot (and
 * their tenant one of its own there).  One whose lease would end before
 * its attempt could, or that cannot be started, is handed back (due
 * again; tried under a fresh claim).  Then forgets h when it has nothing
 * left. */
static void s_host_pump(hook_deliverer_t *d, s_host_t *h)
{
    s_xfer_t *x;
    while (h->running < S_HOST_MAX && !kv_service_stopping() && (x = s_host_next(h)) != NULL) {
        if (kv_mono_ms() + hook_config.timeout_ms + S_LEASE_MARGIN_MS > x->lease_end) {
            kv_debug(NULL, "deliver: delivery %" PRId64 " handed back before its attempt", x->id);
            s_xfer_release(d, x);        /* unlinks it from h's queue */
            continue;
        }
        s_qunlink(&h->qhead, &h->qtail, x);
        if (s_start(d, x) != 0) {
            /* still waiting: back in front, then handed back */
            x->qnext = h->qhead;
            h->qhead = x;
            if (!h->qtail)
                h->qtail = x;
            kv_warn(NULL, "deliver: delivery %" PRId64 " could not be started", x->id);
            s_xfer_release(d, x);
            continue;
        }
        x->ep->waiting--;
        x->tenant->waiting--;
    }
    s_host_gc(d, h, kv_mono_ms());
}

/* Every receiver with a free slot starts what waits for it. */
static void s_pump_all(hook_deliverer_t *d)
{
    for (s_host_t *h = d->hosts, *next; h; h = next) {
        next = h->next;          /* s_host_pump may free h, and only h */
        s_host_pump(d, h);
    }
}

/* Takes claimed row i of r: queued behind its receiver.  0 or -1 (row
 * skipped; its lease expires and it is tried again). */
static int s_take(hook_deliverer_t *d, PGresult *r, int i, int64_t lease_end)
{
    const char *url = kv_db_str(r, i, 5), *secret = kv_db_str(r, i, 6);
    const char *type = kv_db_str(r, i, 7), *body = kv_db_str(r, i, 8);
    const char *previous = kv_db_str(r, i, 9);
    if (!url || !secret || !type || !body)
        return -1;

    s_xfer_t *x = kv_calloc(1, sizeof *x);
    x->state = S_WAITING;
    x->id = kv_db_i64(r, i, 0);
    x->tenant_id = kv_db_i64(r, i, 1);
    snprintf(x->claim_no, sizeof x->claim_no, "%s", kv_db_str(r, i, 2));
    x->attempt_count = (int)kv_db_i64(r, i, 3);
    x->endpoint_id = kv_db_i64(r, i, 4);
    x->lease_end = lease_end;
    x->url = kv_strdup(url);
    x->secret = kv_strdup(secret);
    x->previous = previous ? kv_strdup(previous) : NULL;
    x->type = kv_strdup(type);
    x->body = kv_strdup(body);
    /* the event's trace (a new one for an event made without): this
     * attempt is a span of it, sent on as the receiver's parent */
    kv_trace_begin(&x->trace, kv_db_str(r, i, 10), NULL);

    char *key = NULL;
    hook_url_t target;
    int parsed = s_host_key(url, &key, &target) == 0;
    s_host_t *h = x->host = s_host_get(d, key, parsed ? &target : NULL);
    free(key);
    if (h->qtail)
        h->qtail->qnext = x;
    else
        h->qhead = x;
    h->qtail = x;
    x->ep = s_ep_get(d, x->endpoint_id);
    x->ep->held++;
    x->ep->waiting++;
    x->tenant = s_tenant_get(d, x->tenant_id);
    x->tenant->held++;
    x->tenant->waiting++;
    d->inflight++;
    x->next = d->xfers;
    if (d->xfers)
        d->xfers->prev = x;
    d->xfers = x;
    return 0;
}

/* The claim's view of what this instance holds: "{id,...}" and
 * "{count,...}" of the endpoints, and of the tenants, with claimed
 * deliveries here.  Caller frees all four. */
static void s_held_arrays(hook_deliverer_t *d, char **ep_ids, char **ep_counts,
                          char **t_ids, char **t_counts)
{
    size_t cap = (size_t)d->neps * 24 + 3, tcap = (size_t)d->ntenants * 24 + 3;
    char *a = kv_malloc(cap), *b = kv_malloc(cap), *c = kv_malloc(tcap), *e = kv_malloc(tcap);
    size_t na = 0, nb = 0, nc = 0, ne = 0;
    a[na++] = b[nb++] = c[nc++] = e[ne++] = '{';
    for (s_ep_t *x = d->eps; x; x = x->next) {
        const char *sep = x == d->eps ? "" : ",";
        na += (size_t)snprintf(a + na, cap - na, "%s%" PRId64, sep, x->id);
        nb += (size_t)snprintf(b + nb, cap - nb, "%s%d", sep, x->held);
    }
    for (s_tenant_t *t = d->tenants; t; t = t->next) {
        const char *sep = t == d->tenants ? "" : ",";
        nc += (size_t)snprintf(c + nc, tcap - nc, "%s%" PRId64, sep, t->id);
        ne += (size_t)snprintf(e + ne, tcap - ne, "%s%d", sep, t->held);
    }
    snprintf(a + na, cap - na, "}");
    snprintf(b + nb, cap - nb, "}");
    snprintf(c + nc, tcap - nc, "}");
    snprintf(e + ne, tcap - ne, "}");
    *ep_ids = a;
    *ep_counts = b;
    *t_ids = c;
    *t_counts = e;
}

/* Claims up to limit due deliveries, at most endpoint_max of one endpoint
 * and tenant_max of one tenant counting those held here, and queues them
 * behind their receivers (s_pump_all starts them).  Returns how many were
 * claimed, or -1 when the database failed. */
static int s_claim(hook_deliverer_t *d, int limit)
{
    char limit_s[16], lease_s[16], epmax_s[16], tmax_s[16];
    char *ids = NULL, *counts = NULL, *tids = NULL, *tcounts = NULL;
    int lease = hook_config.timeout_ms / 1000 + S_LEASE_EXTRA_S;
    snprintf(limit_s, sizeof limit_s, "%d", limit);
    snprintf(lease_s, sizeof lease_s, "%d", lease);
    snprintf(epmax_s, sizeof epmax_s, "%d", hook_config.endpoint_max);
    snprintf(tmax_s, sizeof tmax_s, "%d", hook_config.tenant_max);
    s_held_arrays(d, &ids, &counts, &tids, &tcounts);
    /* Taken before the statement: the lease ends no earlier than this. */
    int64_t lease_end = kv_mono_ms() + (int64_t)lease * 1000;
    const char *p[8] = { limit_s, lease_s, ids, counts, epmax_s, tids, tcounts, tmax_s };
    if (!d->async)
        d->async = kv_db_run(d->db, NULL, "hook_session_async", 0, NULL) == 0;
    PGresult *r = kv_db_exec(d->db, NULL, "hook_claim", 8, p);
    free(ids);
    free(counts);
    free(tids);
    free(tcounts);
    if (!r) {
        d->async = 0;   /* maybe a new connection next time: set it again */
        return -1;
    }
    int n = PQntuples(r);
    for (int i = 0; i < n; i++)
        if (s_take(d, r, i, lease_end) != 0)
            kv_warn(NULL, "deliver: delivery %s could not be started", kv_db_str(r, i, 0));
    PQclear(r);
    /* An endpoint or tenant at its share may have more due: claim again
     * for it before its pipeline runs dry (s_hungry), not at the next
     * poll. */
    for (s_ep_t *e = d->eps; e; e = e->next)
        e->more = e->held >= hook_config.endpoint_max;
    for (s_tenant_t *t = d->tenants; t; t = t->next)
        t->more = t->held >= hook_config.tenant_max;
    return n;
}

/* Seconds a Retry-After header of the response asks for (delta-seconds or
 * HTTP-date), or -1 when there is none usable. */
static int64_t s_retry_after(CURL *e)
{
    struct curl_header *h = NULL;
    if (curl_easy_header(e, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h)
        return -1;
    const char *v = h->value;
    char *end = NULL;
    long long s = strtoll(v, &end, 10);
    if (end != v && *end == '\0' && s >= 0)
        return s > S_RETRY_AFTER_MAX_S ? S_RETRY_AFTER_MAX_S : s;
    time_t t = curl_getdate(v, NULL);
    if (t < 0)
        return -1;
    int64_t delta = (int64_t)t - time(NULL);
    if (delta < 0)
        delta = 0;
    return delta > S_RETRY_AFTER_MAX_S ? S_RETRY_AFTER_MAX_S : delta;
}

/* Pure.  Makes text fit the attempt log: printable ASCII only (anything
 * else becomes '?'), at most S_ERROR_MAX characters. */
static void s_clean_error(char *text)
{
    size_t i = 0;
    for (; text[i] && i < S_ERROR_MAX; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
            text[i] = '?';
    text[i] = '\0';
}

/* Runs, inside the open transaction, the statements that record the
 * outcome of attempt x (attempt row, delivery status, a 410's endpoint
 * switch-off) and logs it.  res is curl's result for a transfer; for an
 * attempt that failed before curl (S_FAILED) it is ignored.  0 or -1 (the
 * caller rolls back). */
static int s_record(hook_deliverer_t *d, s_xfer_t *x, CURLcode res)
{
    long code = 0;
    curl_off_t total_us = 0;
    char error[CURL_ERROR_SIZE + 64] = "";
    const char *status = "failed";
    int64_t delay = 0;
    int gone = 0;
    int ms;

    if (x->state == S_FAILED) {
        res = CURLE_COULDNT_RESOLVE_HOST;
        ms = (int)(kv_mono_ms() - x->started_mono);
        snprintf(error, sizeof error, "%s", x->fail);
    } else {
        curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
        if (res == CURLE_OK)
            curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        /* the lookup, when there was one, is part of the attempt */
        ms = (int)(total_us / 1000) + (int)(x->handed_mono - x->started_mono);
        if (x->blocked)
            snprintf(error, sizeof error, "refused: not a public address");
        else if (res == CURLE_OPERATION_TIMEDOUT) {
            long sent = 0;   /* request bytes sent: 0 when it never got that far */
            curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
            snprintf(error, sizeof error, "timeout after %d ms%s", hook_config.timeout_ms,
                     sent > 0 ? "" : " (request not sent)");
        }
        else if (res != CURLE_OK)
            snprintf(error, sizeof error, "%s",
                     x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
        else if (code >= 300 && code < 400)
            snprintf(error, sizeof error, "redirect not followed");
    }
    s_clean_error(error);

    int n = x->attempt_count + 1;           /* attempts of this series, this one included */
    if (res == CURLE_OK && code >= 200 && code < 300) {
        status = "succeeded";
    } else if (res == CURLE_OK && code == 410) {
        gone = 1;                               /* failed for good, endpoint off */
        snprintf(error, sizeof error, "410 Gone: endpoint disabled");
    } else if (n <= hook_config.nretry) {
        status = "pending";
        delay = hook_config.retry_s[n - 1];
        if (res == CURLE_OK && (code == 429 || code == 503)) {
            int64_t ra = s_retry_after(x->easy);
            if (ra > delay)
                delay = ra;
        }
    }

    char id_s[24], tenant_s[24], at_s[24], code_s[16], ms_s[16], delay_s[24], ep_s[24];
    snprintf(id_s, sizeof id_s, "%" PRId64, x->id);
    snprintf(tenant_s, sizeof tenant_s, "%" PRId64, x->tenant_id);
    snprintf(at_s, sizeof at_s, "%" PRId64, x->started_ms);
    snprintf(code_s, sizeof code_s, "%ld", code);
    snprintf(ms_s, sizeof ms_s, "%d", ms);
    snprintf(delay_s, sizeof delay_s, "%" PRId64, delay);
    snprintf(ep_s, sizeof ep_s, "%" PRId64, x->endpoint_id);
    const char *ap[6] = { tenant_s, id_s, at_s, code ? code_s : NULL,
                          error[0] ? error : NULL, ms_s };
    const char *rp[4] = { id_s, x->claim_no, status, delay_s };
    const char *gp[2] = { ep_s, "410 Gone" };

    if (kv_db_run(d->db, NULL, "hook_delivery_result", 4, rp) != 0 ||
        kv_db_run(d->db, NULL, "hook_attempt_insert", 6, ap) != 0 ||
        (gone && kv_db_run(d->db, NULL, "hook_endpoint_disable", 2, gp) != 0))
        return -1;
    hook_metrics_delivery(gone ? "gone" : strcmp(status, "pending") == 0 ? "retrying" : status, ms);
    kv_trace_set_current(&x->trace);
    kv_log(KV_LOG_INFO, NULL,
           "deliver: delivery %s attempt %d: %s%s%s (HTTP %ld, %d ms) span=%s", id_s, n, status,
           error[0] ? ", " : "", error, code, ms, x->trace.span_id);
    if (gone)
        kv_warn(NULL, "deliver: endpoint %s answered 410 Gone: disabled", ep_s);
    kv_trace_clear_current();
    return 0;
}

/* Records every attempt that ended -- transfers the multi handle reports
 * done, and attempts that failed before curl -- in one transaction per
 * S_REAP_MAX (one commit for a whole burst of completions), and frees
 * them.  When recording fails, the deliveries come due again when their
 * lease ends: at least once. */
static void s_reap(hook_deliverer_t *d)
{
    s_xfer_t *done[S_REAP_MAX];
    CURLcode res[S_REAP_MAX];
    size_t n = 0;
    CURLMsg *m;
    int left;
    do {
        n = 0;
        while (n < S_REAP_MAX && d->failed) {
            done[n] = d->failed;
            res[n++] = CURLE_COULDNT_RESOLVE_HOST;
            d->failed = d->failed->qnext;
            done[n - 1]->qnext = NULL;
            done[n - 1]->state = S_FAILED;
        }
        while (n < S_REAP_MAX && (m = curl_multi_info_read(d->multi, &left)) != NULL) {
            s_xfer_t *x = NULL;
            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (!x)
                continue;
            done[n] = x;
            res[n++] = m->data.result;
        }
        if (n == 0)
            return;
        int ok = kv_db_begin(d->db, NULL) == 0;
        for (size_t i = 0; ok && i < n; i++)
            ok = s_record(d, done[i], res[i]) == 0;
        if (!ok || kv_db_commit(d->db, NULL) != 0) {
            kv_db_rollback(d->db, NULL);
            kv_error(NULL, "deliver: outcomes of %zu deliveries not recorded "
                     "(tried again after their lease)", n);
        }
        for (size_t i = 0; i < n; i++)
            s_xfer_drop(d, done[i]);
        s_pump_all(d);           /* their receivers' next deliveries */
    } while (n == S_REAP_MAX);
}

/* Shutdown: hands back the claims of attempts that did not finish in time
 * (they were never recorded, so a receiver may see them again: at least
 * once) and of deliveries still waiting, and ends the lookups. */
static void s_release_all(hook_deliverer_t *d)
{
    while (d->xfers)
        s_xfer_release(d, d->xfers);
    while (d->hosts) {           /* nothing runs or waits now */
        s_host_t *h = d->hosts;
        d->hosts = h->next;
        hook_dns_release(&h->dns);
        while (h->shares) {
            s_share_t *s = h->shares;
            h->shares = s->next;
            free(s);
        }
        free(h->key);
        free(h);
    }
}

/* Forgets receivers that are idle and whose addresses went stale. */
static void s_host_sweep(hook_deliverer_t *d)
{
    int64_t now = kv_mono_ms();
    for (s_host_t *h = d->hosts, *next; h; h = next) {
        next = h->next;
        s_host_gc(d, h, now);
    }
}

void hook_deliverer_run(hook_deliverer_t *d)
{
    int64_t next_claim = 0, grace_end = 0, next_sweep = 0;
    int backlog = 0;
    const int max = hook_config.max_inflight;

    for (;;) {
        int64_t now = kv_mono_ms();
        if (kv_service_stopping()) {
            if (!grace_end)
                grace_end = now + S_GRACE_MS;
            if (d->running == 0 || now >= grace_end)
                break;
        } else {
            int woken = atomic_exchange(&d->wake, 0);
            int room = max - d->inflight;
            if (room > 0 && (woken || now >= next_claim || s_hungry(d) ||
                             (backlog && room >= (max + 1) / 2))) {
                d->reclaim = 0;
                int n = s_claim(d, room);
                backlog = n == room;
                next_claim = now + (n < 0 ? 1000 : hook_config.poll_ms);
                if (n > 0)
                    s_pump_all(d);
            }
        }
        int running = 0;
        curl_multi_perform(d->multi, &running);
        s_dns_collect(d);
        s_reap(d);
        if (now >= next_sweep) {
            s_host_sweep(d);
            next_sweep = now + 1000;
        }
        int wait = (int)(next_claim - kv_mono_ms());
        int room = max - d->inflight;
        if (!kv_service_stopping() && room > 0 &&
            (s_hungry(d) || (backlog && room >= (max + 1) / 2)))
            wait = 0;            /* the next claim is due at once */
        if (d->failed || atomic_load(&d->dns_done))
            wait = 0;
        if (wait < 0)
            wait = 0;
        if (wait > hook_config.poll_ms)
            wait = hook_config.poll_ms;
        if (kv_service_stopping() && wait > 100)
            wait = 100;
        curl_multi_poll(d->multi, NULL, 0, wait, NULL);
    }
    s_release_all(d);
}
