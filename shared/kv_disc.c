/*
 * kv_disc.c -- discovery of the gateways (kv_disc.h).
 *
 * Each setting becomes one kv_disc_t for the life of the process: its
 * parsed endpoints, the addresses each currently stands for, and their
 * union with a generation number.  One resolver thread, started with the
 * first setting that names a host, looks every name up again each
 * KAIVOX_BUS_RESOLVE_MS and publishes a new union (under the object's
 * mutex, generation bumped) only when it changed.  Readers poll the
 * generation with one atomic load, so nothing on the request path waits
 * for DNS.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <zmq.h>

#include "kv_disc.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"

struct kv_disc {
    char setting[64];
    kv_ep_spec_t specs[KV_EP_SPECS_MAX];
    int nspecs;
    int names;                        /* specs that are names */
    kv_eps_t per_spec[KV_EP_SPECS_MAX]; /* resolver thread only (after creation) */
    pthread_mutex_t mu;               /* guards cur */
    kv_eps_t cur;                     /* the union of per_spec */
    atomic_uint gen;
    kv_disc_t *next;                  /* in s_discs */
};

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;   /* guards s_discs, s_thread */
static kv_disc_t *s_discs;
static int s_thread;
static _Atomic(kv_ep_resolve_fn) s_resolve = kv_ep_resolve;   /* unit tests may replace it */

void kv_disc_test_resolver(kv_ep_resolve_fn fn)
{
    atomic_store(&s_resolve, fn ? fn : kv_ep_resolve);
}

/* ---- parsing -------------------------------------------------------------- */

static int s_port_ok(const char *p, size_t len)
{
    if (len == 0 || len > 5)
        return 0;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)p[i]))
            return 0;
        v = v * 10 + (p[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

static int s_name_ok(const char *h, size_t len)
{
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = h[i];
        if (!(isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_'))
            return 0;
    }
    return 1;
}

/* Parses one entry e[0..len) into *sp.  0 or -1. */
static int s_parse_one(const char *e, size_t len, kv_ep_spec_t *sp)
{
    memset(sp, 0, sizeof *sp);
    if (len == 0 || len >= KV_EP_LEN)
        return -1;
    memcpy(sp->text, e, len);
    sp->text[len] = '\0';
    if (strncmp(sp->text, "ipc://", 6) == 0 || strncmp(sp->text, "inproc://", 9) == 0) {
        const char *rest = strstr(sp->text, "://") + 3;
        return *rest ? 0 : -1;
    }
    if (strncmp(sp->text, "tcp://", 6) != 0)
        return -1;
    const char *h = sp->text + 6, *colon;
    size_t hlen;
    if (*h == '[') {
        const char *close = strchr(h, ']');
        if (!close || close[1] != ':')
            return -1;
        hlen = (size_t)(close - h - 1);
        if (hlen == 0 || hlen >= sizeof sp->host)
            return -1;
        memcpy(sp->host, h + 1, hlen);
        sp->host[hlen] = '\0';
        unsigned char buf[16];
        if (inet_pton(AF_INET6, sp->host, buf) != 1)
            return -1;
        colon = close + 1;
    } else {
        colon = strrchr(h, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - h);
        if (hlen == 0 || hlen >= sizeof sp->host || memchr(h, ':', hlen))
            return -1;
        memcpy(sp->host, h, hlen);
        sp->host[hlen] = '\0';
        unsigned char buf[4];
        if (inet_pton(AF_INET, sp->host, buf) != 1) {
            if (!s_name_ok(sp->host, hlen))
                return -1;
            sp->name = 1;
        }
    }
    const char *port = colon + 1;
    if (!s_port_ok(port, strlen(port)))
        return -1;
    snprintf(sp->port, sizeof sp->port, "%s", port);
    return 0;
}

int kv_ep_parse(const char *text, kv_ep_spec_t *out, int max)
{
    int n = 0;
    const char *p = text ? text : "";
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *q = end;
        while (q > p && isspace((unsigned char)q[-1]))
            q--;
        if (n == max || s_parse_one(p, (size_t)(q - p), &out[n]) != 0)
            return -1;
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

/* ---- sets ----------------------------------------------------------------- */

int kv_eps_add(kv_eps_t *set, const char *ep)
{
    size_t len = strlen(ep);
    if (len >= KV_EP_LEN)
        return -1;
    int lo = 0, hi = set->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(set->ep[mid], ep);
        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (set->n == KV_EPS_MAX)
        return -1;
    memmove(set->ep[lo + 1], set->ep[lo], (size_t)(set->n - lo) * KV_EP_LEN);
    memcpy(set->ep[lo], ep, len + 1);
    set->n++;
    return 0;
}

int kv_eps_has(const kv_eps_t *set, const char *ep)
{
    for (int i = 0; i < set->n; i++)
        if (strcmp(set->ep[i], ep) == 0)
            return 1;
    return 0;
}

int kv_eps_equal(const kv_eps_t *a, const kv_eps_t *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->ep[i], b->ep[i]) != 0)
            return 0;
    return 1;
}

int kv_ep_expand(const kv_ep_spec_t *spec, const struct addrinfo *res, kv_eps_t *out)
{
    int have4 = 0;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        have4 |= a->ai_family == AF_INET;
    for (const struct addrinfo *a = res; a; a = a->ai_next) {
        char ip[INET6_ADDRSTRLEN], ep[KV_EP_LEN];
        if (a->ai_family == AF_INET) {
            inet_ntop(AF_INET, &((const struct sockaddr_in *)a->ai_addr)->sin_addr, ip, sizeof ip);
            snprintf(ep, sizeof ep, "tcp://%s:%s", ip, spec->port);
        } else if (a->ai_family == AF_INET6 && !have4) {
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a->ai_addr)->sin6_addr, ip, sizeof ip);
            snprintf(ep, sizeof ep, "tcp://[%s]:%s", ip, spec->port);
        } else {
            continue;
        }
        if (kv_eps_add(out, ep) != 0)
            return -1;
    }
    return 0;
}

int kv_ep_lookup_final(int gai_rc)
{
#ifdef EAI_NODATA
    if (gai_rc == EAI_NODATA)
        return 1;
#endif
    return gai_rc == EAI_NONAME;
}

int kv_ep_resolve(const kv_ep_spec_t *spec, kv_eps_t *out)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(spec->host, spec->port, &hints, &res);
    if (rc != 0) {
        if (!kv_ep_lookup_final(rc))
            return -1;
        memset(out, 0, sizeof *out);
        return 0;
    }
    kv_eps_t set;
    memset(&set, 0, sizeof set);
    if (kv_ep_expand(spec, res, &set) != 0)
        kv_warn(NULL, "discovery: %s resolves to more than %d addresses; the first %d are used",
                spec->host, KV_EPS_MAX, KV_EPS_MAX);
    freeaddrinfo(res);
    *out = set;
    return 0;
}

/* ---- the process's discoveries -------------------------------------------- */

/* The union of d->per_spec. */
static void s_union(const kv_disc_t *d, kv_eps_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < d->nspecs; i++)
        for (int k = 0; k < d->per_spec[i].n; k++)
            (void)kv_eps_add(out, d->per_spec[i].ep[k]);
}

static void s_describe(const kv_eps_t *set, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < set->n && o + 1 < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? " " : "", set->ep[i]);
}

/* Looks d's names up again; publishes the new union when it changed. */
static void s_refresh(kv_disc_t *d)
{
    for (int i = 0; i < d->nspecs; i++) {
        if (!d->specs[i].name)
            continue;
        kv_eps_t got;
        if (atomic_load(&s_resolve)(&d->specs[i], &got) == 0)
            d->per_spec[i] = got;
    }
    kv_eps_t u;
    s_union(d, &u);
    pthread_mutex_lock(&d->mu);
    int same = kv_eps_equal(&u, &d->cur);
    if (!same) {
        d->cur = u;
        atomic_fetch_add(&d->gen, 1);
    }
    pthread_mutex_unlock(&d->mu);
    if (!same) {
        char desc[1024];
        s_describe(&u, desc, sizeof desc);
        kv_info(NULL, "discovery: %s now stands for %d address(es): %s", d->setting, u.n,
                u.n ? desc : "(none)");
    }
}

static void *s_resolver(void *arg)
{
    (void)arg;
    int ivl = (int)kv_env_int("KAIVOX_BUS_RESOLVE_MS", 2000, 100, 60000);
    for (;;) {
        kv_sleep_ms(ivl);
        pthread_mutex_lock(&s_mu);
        kv_disc_t *list = s_discs;
        pthread_mutex_unlock(&s_mu);
        /* objects are only ever prepended and never freed: walking from a
         * head read under the lock is safe */
        for (kv_disc_t *d = list; d; d = d->next)
            if (d->names)
                s_refresh(d);
    }
    return NULL;
}

kv_disc_t *kv_disc_get(const char *setting, const char *def)
{
    pthread_mutex_lock(&s_mu);
    kv_disc_t *d = s_discs;
    while (d && strcmp(d->setting, setting) != 0)
        d = d->next;
    if (d) {
        pthread_mutex_unlock(&s_mu);
        return d;
    }
    const char *text = kv_env_str(setting, def);
    d = kv_calloc(1, sizeof *d);
    snprintf(d->setting, sizeof d->setting, "%s", setting);
    d->nspecs = kv_ep_parse(text, d->specs, KV_EP_SPECS_MAX);
    if (d->nspecs < 1) {
        pthread_mutex_unlock(&s_mu);
        kv_error(NULL, "%s: expected a comma-separated list of tcp://HOST:PORT (HOST a name, an "
                 "IPv4 address or [an IPv6 address]), ipc://PATH or inproc://NAME; at most %d",
                 setting, KV_EP_SPECS_MAX);
        free(d);
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    for (int i = 0; i < d->nspecs; i++) {
        if (d->specs[i].name) {
            d->names++;
            if (atomic_load(&s_resolve)(&d->specs[i], &d->per_spec[i]) != 0)
                kv_warn(NULL, "discovery: %s: %s cannot be resolved yet; trying again every few "
                        "seconds", setting, d->specs[i].host);
        } else {
            (void)kv_eps_add(&d->per_spec[i], d->specs[i].text);
        }
    }
    s_union(d, &d->cur);
    atomic_store(&d->gen, 1);
    d->next = s_discs;
    s_discs = d;
    int start = d->names && !s_thread;
    if (start)
        s_thread = 1;
    pthread_mutex_unlock(&s_mu);
    if (d->names) {
        char desc[1024];
        s_describe(&d->cur, desc, sizeof desc);
        kv_info(NULL, "discovery: %s (%s) stands for %d address(es): %s", setting, text,
                d->cur.n, d->cur.n ? desc : "(none yet)");
    }
    if (start) {
        pthread_t t;
        if (pthread_create(&t, NULL, s_resolver, NULL) == 0)
            pthread_detach(t);
        else
            kv_error(NULL, "discovery: cannot start the resolver thread");
    }
    return d;
}

unsigned kv_disc_gen(const kv_disc_t *d)
{
    return atomic_load(&((kv_disc_t *)d)->gen);
}

unsigned kv_disc_snapshot(kv_disc_t *d, kv_eps_t *out)
{
    pthread_mutex_lock(&d->mu);
    *out = d->cur;
    unsigned g = atomic_load(&d->gen);
    pthread_mutex_unlock(&d->mu);
    return g;
}

const char *kv_disc_setting(const kv_disc_t *d)
{
    return d->setting;
}

int kv_disc_prepare(void *sock, const char *ep)
{
    if (strncmp(ep, "tcp://[", 7) != 0)
        return 0;
    int one = 1;
    return zmq_setsockopt(sock, ZMQ_IPV6, &one, sizeof one);
}

void kv_disc_follow(kv_disc_t *d, void *sock, kv_eps_t *connected, unsigned *gen)
{
    if (kv_disc_gen(d) == *gen)
        return;
    kv_eps_t *now = kv_malloc(sizeof *now), *kept = kv_calloc(1, sizeof *kept);
    *gen = kv_disc_snapshot(d, now);
    for (int i = 0; i < connected->n; i++)
        if (!kv_eps_has(now, connected->ep[i]))
            zmq_disconnect(sock, connected->ep[i]);
    for (int i = 0; i < now->n; i++) {
        if (kv_eps_has(connected, now->ep[i]) ||
            (kv_disc_prepare(sock, now->ep[i]) == 0 && zmq_connect(sock, now->ep[i]) == 0))
            (void)kv_eps_add(kept, now->ep[i]);
        else
            kv_error(NULL, "%s: cannot connect to %s: %s", d->setting, now->ep[i],
                     zmq_strerror(zmq_errno()));
    }
    *connected = *kept;
    free(kept);
    free(now);
}
