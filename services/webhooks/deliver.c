/*
 * deliver.c -- the deliverer: claims due deliveries and POSTs them, many at
 * once, with libcurl's multi interface.
 *
 * One thread per instance runs hook_deliverer_run().  It claims due
 * deliveries in one short statement (FOR UPDATE SKIP LOCKED; the claim is a
 * lease: next_attempt_at moves past the attempt's timeout, so a crashed
 * instance's claims come due again by themselves), starts one transfer per
 * delivery, and records each outcome as it completes (attempt row + new
 * status, one short transaction).  No transaction is ever open during
 * HTTP, and one slow receiver holds only its own transfers.
 *
 * At most S_HOST_MAX transfers run at once per receiver (scheme, host and
 * port of the URL); the others of that receiver wait here, in claim order,
 * and are handed to curl only when one of its transfers ends.  The queue is
 * ours, not curl's (CURLMOPT_MAX_HOST_CONNECTIONS is left unlimited): curl
 * counts the time a transfer waits in its own connection queue against
 * CURLOPT_TIMEOUT_MS (by design), so a delivery parked there behind a burst
 * or a slow receiver failed with "timeout" without ever having connected
 * (with a receiver answering in 1.5 s and a 2 s timeout, 193 of 300 first
 * attempts did).  Here the attempt -- its
 * timeout, its attempted_at, its signed timestamp -- starts when curl gets
 * the transfer; time spent waiting for a slot is never an attempt.  A
 * delivery whose lease would end before a full attempt could fit is handed
 * back (hook_claim_release) instead of being started, so no other instance
 * can claim it while it still runs here.
 *
 * Claiming is fair per endpoint: an instance holds (in flight or waiting)
 * at most hook_config.endpoint_max deliveries of one endpoint, and the
 * claim statement takes only what fits under that (the counts held here go
 * with it), every endpoint's oldest first.  So a slow receiver with a big
 * backlog holds a few slots, never the whole claim budget
 * (hook_config.max_inflight), and other tenants' deliveries are claimed and
 * started as soon as they are due.  An endpoint that had as many as it may
 * hold is claimed for again as soon as it is down to half with none of its
 * deliveries waiting for a slot (s_hungry), not at the next poll, so a fast
 * receiver with a backlog is not held to one share per poll.  Each
 * instance counts its own holdings: n instances hold up to n shares.
 *
 * Every attempt signs the stored body bytes (sign.c) with a fresh
 * timestamp.  Redirects are not followed (a 3xx is a failure), only http
 * and https are spoken, proxies from the environment are ignored, and the
 * address curl connects to passes the SSRF guard in the open-socket
 * callback -- after DNS, so rebinding cannot get around the check made at
 * creation.
 */
#include "hook.h"
#include "sign.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"

#define S_GRACE_MS      3000    /* at shutdown, time left to in-flight transfers */
#define S_LEASE_EXTRA_S 30      /* claim lease beyond the transfer timeout */
#define S_RETRY_AFTER_MAX_S 86400
#define S_REAP_MAX      256     /* outcomes recorded per transaction */
#define S_HOST_MAX      64      /* transfers at once per receiver (scheme://host:port) */
#define S_LEASE_MARGIN_MS 5000  /* a queued delivery starts only if its attempt
                                   ends this long before its lease does */

typedef struct s_host s_host_t;
typedef struct s_ep s_ep_t;

/* One claimed delivery: waiting for a slot of its receiver (easy NULL), or
 * a transfer in the multi handle. */
typedef struct s_xfer {
    struct s_xfer *prev, *next;  /* the deliverer's list of claimed deliveries */
    struct s_xfer *qnext;        /* its receiver's queue, while waiting */
    s_host_t *host;              /* its receiver */
    s_ep_t *ep;                  /* its endpoint's count */
    CURL *easy;                  /* NULL until started */
    int64_t id;                  /* delivery id */
    int64_t tenant_id;
    int64_t endpoint_id;
    char claim_no[24];           /* the claim this attempt was made under */
    int attempt_count;           /* attempts of the series before this one */
    int64_t lease_end;           /* mono ms: the claim's lease ends (about) */
    int64_t started_ms;          /* epoch ms: attempted_at (when started) */
    char *url, *secret, *type;   /* owned, from the claim */
    char *body;                  /* owned: the exact bytes sent */
    struct curl_slist *headers;  /* owned */
    const char *blocked;         /* SSRF class of a refused address, or NULL */
    char errbuf[CURL_ERROR_SIZE];
} s_xfer_t;

/* One receiver (scheme://host:port) with claimed deliveries. */
struct s_host {
    s_host_t *next;
    char *key;                   /* owned */
    int running;                 /* its transfers in the multi handle */
    s_xfer_t *qhead, *qtail;     /* its deliveries waiting for a slot, in order */
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

struct hook_deliverer {
    kv_db_t *db;                 /* the deliverer thread's own connection */
    CURLM *multi;
    atomic_int wake;             /* set by hook_deliverer_wake() */
    int inflight;                /* claimed deliveries not yet finished */
    int running;                 /* of those, transfers in the multi handle */
    s_xfer_t *xfers;             /* every claimed delivery, for shutdown */
    s_host_t *hosts;             /* receivers with claimed deliveries */
    s_ep_t *eps;                 /* endpoints with claimed deliveries */
    int neps;
    int reclaim;                 /* an endpoint with more due was forgotten
                                    (all its deliveries done): claim now */
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

/* CURLOPT_OPENSOCKETFUNCTION: the SSRF guard on the very address curl is
 * about to connect to. */
static curl_socket_t s_opensocket(void *clientp, curlsocktype purpose,
                                  struct curl_sockaddr *a)
{
    s_xfer_t *x = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN ||
        !hook_ssrf_allowed(&a->addr, hook_config.allow)) {
        const char *why = hook_ssrf_class(&a->addr);
        x->blocked = why ? why : "forbidden";
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
    free(x->url);
    free(x->secret);
    free(x->type);
    free(x->body);
    free(x);
}

/* The receiver of url: "scheme://host:port" as curl will connect to it
 * (or the URL itself when curl cannot parse it; the transfer then fails on
 * its own).  Caller frees. */
static char *s_host_key(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *key = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
        key = kv_asprintf("%s://%s:%s", scheme, host, port);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return key ? key : kv_strdup(url);
}

/* The entry of receiver key, created when missing. */
static s_host_t *s_host_get(hook_deliverer_t *d, const char *key)
{
    for (s_host_t *h = d->hosts; h; h = h->next)
        if (strcmp(h->key, key) == 0)
            return h;
    s_host_t *h = kv_calloc(1, sizeof *h);
    h->key = kv_strdup(key);
    h->next = d->hosts;
    d->hosts = h;
    return h;
}

/* Forgets receiver h when it has nothing running or waiting. */
static void s_host_gc(hook_deliverer_t *d, s_host_t *h)
{
    if (h->running > 0 || h->qhead)
        return;
    for (s_host_t **pp = &d->hosts; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    free(h->key);
    free(h);
}

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

/* One delivery of endpoint e is done here (was_waiting: never started);
 * e is forgotten when it holds none. */
static void s_ep_put(hook_deliverer_t *d, s_ep_t *e, int was_waiting)
{
    e->held--;
    if (was_waiting)
        e->waiting--;
    if (e->held > 0)
        return;
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

/* True when the next claim should not wait for the poll: an endpoint that
 * may have more due is down to half its share with nothing of it waiting
 * for a slot here (its pipeline is running dry). */
static int s_hungry(hook_deliverer_t *d)
{
    if (d->reclaim)
        return 1;
    for (s_ep_t *e = d->eps; e; e = e->next)
        if (e->more && e->waiting == 0 && e->held <= hook_config.endpoint_max / 2)
            return 1;
    return 0;
}

/* Takes x out of the multi handle (when started), its receiver, its
 * endpoint's count and the list, and frees it.  Never starts anything, and
 * leaves the receiver's entry to s_host_gc(). */
static void s_xfer_drop(hook_deliverer_t *d, s_xfer_t *x)
{
    s_host_t *h = x->host;
    if (x->easy) {
        curl_multi_remove_handle(d->multi, x->easy);
        h->running--;
        d->running--;
    } else {
        /* still waiting: unlink it from its receiver's queue */
        s_xfer_t **pp = &h->qhead, *prev = NULL;
        while (*pp && *pp != x) {
            prev = *pp;
            pp = &(*pp)->qnext;
        }
        if (*pp) {
            *pp = x->qnext;
            if (h->qtail == x)
                h->qtail = prev;
        }
    }
    s_ep_put(d, x->ep, x->easy == NULL);
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

static struct curl_slist *s_header(struct curl_slist *l, const char *name, const char *value)
{
    char *line = kv_asprintf("%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(l, line);
    free(line);
    if (!n)
        abort();   /* out of memory: kv_mem's policy */
    return n;
}

/* Starts the attempt of waiting delivery x: signs it with the time of now,
 * builds its easy handle and gives it to curl (the attempt's timeout runs
 * from here).  0, or -1 when it cannot be started (x is left as it was). */
static int s_start(hook_deliverer_t *d, s_xfer_t *x)
{
    char id_s[24], ts_s[24], hex[65], std[128];
    size_t len = strlen(x->body);

    x->started_ms = kv_now_ms();
    snprintf(id_s, sizeof id_s, "%" PRId64, x->id);
    int64_t ts = x->started_ms / 1000;
    snprintf(ts_s, sizeof ts_s, "%" PRId64, ts);
    hook_sign_hex(x->secret, x->body, len, hex);
    if (hook_sign_std(x->secret, id_s, ts, x->body, len, std, sizeof std) != 0) {
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
    struct curl_slist *nl = curl_slist_append(hl, "Expect:");   /* no 100-continue wait */
    if (!nl)
        abort();   /* out of memory: kv_mem's policy */
    hl = nl;

    CURL *e = curl_easy_init();
    if (!e) {
        curl_slist_free_all(hl);
        return -1;
    }
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "KaiVox-Webhooks/1");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)hook_config.timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
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
    x->easy = e;
    x->headers = hl;
    x->host->running++;
    d->running++;
    return 0;
}

/* Starts waiting deliveries of receiver h while it has a free slot.  One
 * whose lease would end before its attempt could, or that cannot be
 * started, is handed back (due again; tried under a fresh claim).  Then
 * forgets h when it has nothing left. */
static void s_host_pump(hook_deliverer_t *d, s_host_t *h)
{
    while (h->qhead && h->running < S_HOST_MAX && !kv_service_stopping()) {
        s_xfer_t *x = h->qhead;
        if (kv_mono_ms() + hook_config.timeout_ms + S_LEASE_MARGIN_MS > x->lease_end ||
            s_start(d, x) != 0) {
            kv_debug(NULL, "deliver: delivery %" PRId64 " handed back before its attempt", x->id);
            s_xfer_release(d, x);   /* unlinks it from h's queue */
            continue;
        }
        h->qhead = x->qnext;
        if (!h->qhead)
            h->qtail = NULL;
        x->qnext = NULL;
        x->ep->waiting--;
    }
    s_host_gc(d, h);
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
    if (!url || !secret || !type || !body)
        return -1;

    s_xfer_t *x = kv_calloc(1, sizeof *x);
    x->id = kv_db_i64(r, i, 0);
    x->tenant_id = kv_db_i64(r, i, 1);
    snprintf(x->claim_no, sizeof x->claim_no, "%s", kv_db_str(r, i, 2));
    x->attempt_count = (int)kv_db_i64(r, i, 3);
    x->endpoint_id = kv_db_i64(r, i, 4);
    x->lease_end = lease_end;
    x->url = kv_strdup(url);
    x->secret = kv_strdup(secret);
    x->type = kv_strdup(type);
    x->body = kv_strdup(body);

    char *key = s_host_key(url);
    s_host_t *h = x->host = s_host_get(d, key);
    free(key);
    if (h->qtail)
        h->qtail->qnext = x;
    else
        h->qhead = x;
    h->qtail = x;
    x->ep = s_ep_get(d, x->endpoint_id);
    x->ep->held++;
    x->ep->waiting++;
    d->inflight++;
    x->next = d->xfers;
    if (d->xfers)
        d->xfers->prev = x;
    d->xfers = x;
    return 0;
}

/* The claim's view of what this instance holds: "{id,...}" and
 * "{count,...}" of the endpoints with claimed deliveries here.  Caller
 * frees both. */
static void s_held_arrays(hook_deliverer_t *d, char **ids, char **counts)
{
    size_t cap = (size_t)d->neps * 24 + 3;
    char *a = kv_malloc(cap), *b = kv_malloc(cap);
    size_t na = 0, nb = 0;
    a[na++] = '{';
    b[nb++] = '{';
    for (s_ep_t *e = d->eps; e; e = e->next) {
        const char *sep = e == d->eps ? "" : ",";
        na += (size_t)snprintf(a + na, cap - na, "%s%" PRId64, sep, e->id);
        nb += (size_t)snprintf(b + nb, cap - nb, "%s%d", sep, e->held);
    }
    snprintf(a + na, cap - na, "}");
    snprintf(b + nb, cap - nb, "}");
    *ids = a;
    *counts = b;
}

/* Claims up to limit due deliveries, at most endpoint_max of one endpoint
 * counting those held here, and queues them behind their receivers
 * (s_pump_all starts them).  Returns how many were claimed, or -1 when the
 * database failed. */
static int s_claim(hook_deliverer_t *d, int limit)
{
    char limit_s[16], lease_s[16], epmax_s[16];
    char *ids = NULL, *counts = NULL;
    int lease = hook_config.timeout_ms / 1000 + S_LEASE_EXTRA_S;
    snprintf(limit_s, sizeof limit_s, "%d", limit);
    snprintf(lease_s, sizeof lease_s, "%d", lease);
    snprintf(epmax_s, sizeof epmax_s, "%d", hook_config.endpoint_max);
    s_held_arrays(d, &ids, &counts);
    /* Taken before the statement: the lease ends no earlier than this. */
    int64_t lease_end = kv_mono_ms() + (int64_t)lease * 1000;
    const char *p[5] = { limit_s, lease_s, ids, counts, epmax_s };
    if (!d->async)
        d->async = kv_db_run(d->db, NULL, "hook_session_async", 0, NULL) == 0;
    PGresult *r = kv_db_exec(d->db, NULL, "hook_claim", 5, p);
    free(ids);
    free(counts);
    if (!r) {
        d->async = 0;   /* maybe a new connection next time: set it again */
        return -1;
    }
    int n = PQntuples(r);
    for (int i = 0; i < n; i++)
        if (s_take(d, r, i, lease_end) != 0)
            kv_warn(NULL, "deliver: delivery %s could not be started", kv_db_str(r, i, 0));
    PQclear(r);
    /* An endpoint at its share may have more due: claim again for it
     * before its pipeline runs dry (s_hungry), not at the next poll. */
    for (s_ep_t *e = d->eps; e; e = e->next)
        e->more = e->held >= hook_config.endpoint_max;
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

/* Runs, inside the open transaction, the statements that record the
 * outcome of completed transfer x (attempt row, delivery status, a 410's
 * endpoint switch-off) and logs it.  0 or -1 (the caller rolls back). */
static int s_record(hook_deliverer_t *d, s_xfer_t *x, CURLcode res)
{
    long code = 0;
    curl_off_t total_us = 0;
    char error[CURL_ERROR_SIZE + 64] = "";
    const char *status = "failed";
    int64_t delay = 0;
    int gone = 0;

    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    if (res == CURLE_OK)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    int ms = (int)(total_us / 1000);

    if (x->blocked)
        snprintf(error, sizeof error, "refused: the host resolved to a %s address", x->blocked);
    else if (res == CURLE_OPERATION_TIMEDOUT) {
        long sent = 0;   /* request bytes sent: 0 when it never got that far */
        curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
        snprintf(error, sizeof error, "timeout after %d ms%s", hook_config.timeout_ms,
                 sent > 0 ? "" : " (request not sent)");
    }
    else if (res != CURLE_OK)
        snprintf(error, sizeof error, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
    else if (code >= 300 && code < 400)
        snprintf(error, sizeof error, "redirect not followed");

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
    kv_log(strcmp(status, "succeeded") == 0 ? KV_LOG_DEBUG : KV_LOG_INFO, NULL,
           "deliver: delivery %s attempt %d: %s%s%s (HTTP %ld, %d ms)", id_s, n, status,
           error[0] ? ", " : "", error, code, ms);
    if (gone)
        kv_warn(NULL, "deliver: endpoint %s answered 410 Gone: disabled", ep_s);
    return 0;
}

/* Records every transfer the multi handle reports done, all in one
 * transaction (one commit for a whole burst of completions), and frees
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

/* Shutdown: hands back the claims of transfers that did not finish in
 * time (they were never recorded, so a receiver may see them again: at
 * least once) and of deliveries still waiting for a slot. */
static void s_release_all(hook_deliverer_t *d)
{
    while (d->xfers)
        s_xfer_release(d, d->xfers);
    while (d->hosts) {           /* all empty now */
        s_host_t *h = d->hosts;
        d->hosts = h->next;
        free(h->key);
        free(h);
    }
}

void hook_deliverer_run(hook_deliverer_t *d)
{
    int64_t next_claim = 0, grace_end = 0;
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
        s_reap(d);
        int wait = (int)(next_claim - kv_mono_ms());
        int room = max - d->inflight;
        if (!kv_service_stopping() && room > 0 &&
            (s_hungry(d) || (backlog && room >= (max + 1) / 2)))
            wait = 0;            /* the next claim is due at once */
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
