/*
 * gw_auth.c -- the API key caches and their lookup thread (see gw_auth.h).
 *
 * Two caches, keyed by the raw SHA-256 of the key: known keys (4096 sets x
 * 4, valid answers only) and unknown keys (1024 sets x 4: unknown or
 * revoked answers).  Each set has its own mutex, held only to copy an
 * entry in or out (the loop thread reads and fills them, the admin thread
 * may forget an entry after a revocation).
 *
 * A miss becomes a lookup: one s_lookup_t per key digest in flight, with
 * the list of checks waiting for it.  The loop thread owns the in-flight
 * list; a lookup travels to the lookup thread through the job queue and
 * back through the done list (both under a->mu), and the loop thread
 * applies it when the eventfd says so.  Nothing the loop thread does ever
 * waits for PostgreSQL; a lookup that takes longer than GW_AUTH_WAIT_MS
 * loses its waiters (503) and, until it returns, makes misses fail fast.
 */
#include "gw_auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gw_db.h"
#include "gw_keys.h"
#include "gw_stats.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"

#define AUTH_SETS      4096     /* known keys: 16384 entries */
#define NEG_SETS       1024     /* unknown keys: 4096 entries */
#define AUTH_WAYS      4
#define AUTH_LOCKS     64       /* mutexes striped over the sets of both caches */
#define AUTH_INFLIGHT  1024     /* distinct keys being looked up at once */
#define AUTH_PING_MS   1000     /* idle database ping, for /readyz */
#define AUTH_DOWN_MS   1000     /* after a failure, misses fail fast this long */
#define AUTH_LEGACY_MS 60000    /* legacy set reload */

typedef struct {
    unsigned char digest[32];  /* SHA-256 of the key */
    int64_t fetched_ms;        /* monotonic time of the database answer; 0: empty */
    uint64_t seq;              /* insertion order, for eviction (ms can tie) */
    gw_principal_t principal;  /* known keys only */
} auth_entry_t;

/* A set has no mutex of its own: the caches are calloc'ed and stay
 * untouched (no resident memory) until keys fill them; AUTH_LOCKS mutexes
 * in gw_auth_t guard them, striped by the set's address (s_lock). */
typedef struct {
    auth_entry_t entries[AUTH_WAYS];
} auth_set_t;

typedef struct s_waiter {
    gw_auth_fn cb;
    void *arg;
    struct s_waiter *next;
} s_waiter_t;

typedef struct s_lookup {
    int ping;                    /* 1: a database ping, not a key */
    unsigned char digest[32];
    char hex[65];                /* the digest in hex, the lookup key in SQL */
    char rid[65];                /* request id of the first asker, for logs */
    int64_t submitted_ms;        /* monotonic; for GW_AUTH_WAIT_MS */
    s_waiter_t *waiters;         /* loop thread only */
    int rc;                      /* set by the lookup thread */
    gw_principal_t who;          /* set by the lookup thread when rc is OK */
    struct s_lookup *inflight_next;  /* loop thread's in-flight list */
    struct s_lookup *queue_next;     /* job queue or done list, under a->mu */
} s_lookup_t;

struct gw_auth {
    int ttl_ms;                  /* age after which an entry is re-checked */
    unsigned char secret[GW_KEY_SECRET_LEN];
    auth_set_t *sets;            /* known keys: AUTH_SETS of them */
    auth_set_t *neg;             /* unknown keys: NEG_SETS of them */
    pthread_mutex_t locks[AUTH_LOCKS];  /* guard the sets' entries (s_lock) */
    gw_keyset_t legacy;          /* loop thread only */

    s_lookup_t *inflight;        /* loop thread only */
    int ninflight;

    pthread_mutex_t mu;          /* guards jobs, done, legacy_next, stop */
    pthread_cond_t cv;           /* jobs arrived, or stop */
    s_lookup_t *jobs_head, *jobs_tail;
    s_lookup_t *done;            /* LIFO; order does not matter */
    gw_keyset_t *legacy_next;    /* a reloaded legacy set for the loop to take */
    int stop;
    int efd;                     /* poked when done or legacy_next gets something */
    pthread_t thread;
    int started;

    atomic_int db_ok;            /* last lookup or ping answered */
    atomic_llong db_failed_ms;   /* monotonic time of the last failure; 0 none */
};

static auth_set_t *s_set(auth_set_t *sets, int nsets, const unsigned char d[32])
{
    uint32_t h;
    memcpy(&h, d, sizeof h);   /* SHA-256 bytes are already uniform */
    return &sets[h % (uint32_t)nsets];
}

/* ---- the lookup thread ------------------------------------------------ */

/* Asks the database about the key with hash hex.  Returns GW_AUTH_OK,
 * GW_AUTH_INVALID or GW_AUTH_UNAVAILABLE. */
static int s_db_lookup(kv_db_t *db, const char *hex, const char *req_id, gw_principal_t *out)
{
    if (kv_db_ensure(db) != 0)
        return GW_AUTH_UNAVAILABLE;
    atomic_fetch_add(&gw_stats.key_lookups, 1);
    const char *params[1] = { hex };
    PGresult *r = kv_db_exec(db, req_id, "gw_key_lookup", 1, params);
    if (!r)
        return GW_AUTH_UNAVAILABLE;
    int rc = GW_AUTH_INVALID;
    if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 4), "f") == 0) {
        out->key_id = kv_db_i64(r, 0, 0);
        out->tenant_id = kv_db_i64(r, 0, 1);
        const char *tz = kv_db_str(r, 0, 2);
        snprintf(out->tz, sizeof out->tz, "%s", tz ? tz : "UTC");
        out->slot_interval = (int)kv_db_i64(r, 0, 3);
        out->read_only = strcmp(PQgetvalue(r, 0, 6), "read") == 0;
        rc = GW_AUTH_OK;
        if (strcmp(PQgetvalue(r, 0, 5), "t") == 0) {
            char id[24];
            snprintf(id, sizeof id, "%lld", (long long)out->key_id);
            const char *p2[1] = { id };
            (void)kv_db_run(db, req_id, "gw_key_touch", 1, p2);   /* best effort */
        }
    }
    PQclear(r);
    return rc;
}

static void s_db_state(gw_auth_t *a, int ok)
{
    atomic_store(&a->db_ok, ok);
    atomic_store(&a->db_failed_ms, ok ? 0 : (long long)kv_mono_ms());
}

/* Reloads the legacy set and hands it to the loop thread. */
static void s_reload_legacy(gw_auth_t *a, kv_db_t *db)
{
    gw_keyset_t *set = kv_calloc(1, sizeof *set);
    gw_keyset_init(set);
    if (gw_db_legacy_keys(db, set) != 0) {
        gw_keyset_cleanup(set);
        free(set);
        return;
    }
    pthread_mutex_lock(&a->mu);
    gw_keyset_t *old = a->legacy_next;
    a->legacy_next = set;
    pthread_mutex_unlock(&a->mu);
    if (old) {
        gw_keyset_cleanup(old);
        free(old);
    }
    uint64_t one = 1;
    if (write(a->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        kv_warn(NULL, "auth eventfd write: %s", strerror(errno));
}

static void *s_thread(void *arg)
{
    gw_auth_t *a = arg;
    kv_db_t *db = kv_db_new("gateway", gw_db_stmts);
    s_db_state(a, kv_db_ensure(db) == 0);
    int64_t legacy_due = kv_mono_ms() + AUTH_LEGACY_MS;
    for (;;) {
        pthread_mutex_lock(&a->mu);
        if (!a->jobs_head && !a->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += AUTH_PING_MS / 1000;
            (void)pthread_cond_timedwait(&a->cv, &a->mu, &ts);
        }
        if (a->stop) {
            pthread_mutex_unlock(&a->mu);
            break;
        }
        s_lookup_t *job = a->jobs_head;
        if (job) {
            a->jobs_head = job->queue_next;
            if (!a->jobs_head)
                a->jobs_tail = NULL;
        }
        pthread_mutex_unlock(&a->mu);

        if (!job) {                  /* idle: keep /readyz honest */
            s_db_state(a, kv_db_ensure(db) == 0 && kv_db_run(db, NULL, "gw_ping", 0, NULL) == 0);
            if (kv_mono_ms() >= legacy_due) {
                legacy_due = kv_mono_ms() + AUTH_LEGACY_MS;
                if (atomic_load(&a->db_ok))
                    s_reload_legacy(a, db);
            }
            continue;
        }
        memset(&job->who, 0, sizeof job->who);
        if (job->ping)
            job->rc = kv_db_ensure(db) == 0 && kv_db_run(db, NULL, "gw_ping", 0, NULL) == 0
                      ? GW_AUTH_OK : GW_AUTH_UNAVAILABLE;
        else
            job->rc = s_db_lookup(db, job->hex, job->rid, &job->who);
        s_db_state(a, job->rc != GW_AUTH_UNAVAILABLE);

        pthread_mutex_lock(&a->mu);
        job->queue_next = a->done;
        a->done = job;
        pthread_mutex_unlock(&a->mu);
        uint64_t one = 1;
        if (write(a->efd, &one, sizeof one) < 0 && errno != EAGAIN)
            kv_warn(NULL, "auth eventfd write: %s", strerror(errno));
    }
    kv_db_destroy(&db);
    return NULL;
}

/* ---- the caches ----------------------------------------------------------- */

/* The mutex that guards set's entries. */
static pthread_mutex_t *s_lock(gw_auth_t *a, const auth_set_t *set)
{
    return &a->locks[((uintptr_t)set / sizeof *set) % AUTH_LOCKS];
}

/* Stores d (with principal p, may be NULL) in set: its own entry, else an
 * empty one, else the oldest. */
static void s_put(gw_auth_t *a, auth_set_t *set, const unsigned char d[32],
                  const gw_principal_t *p)
{
    pthread_mutex_lock(s_lock(a, set));
    auth_entry_t *victim = &set->entries[0];
    for (int i = 0; i < AUTH_WAYS; i++) {
        auth_entry_t *e = &set->entries[i];
        if (e->fetched_ms && memcmp(e->digest, d, 32) == 0) {
            victim = e;
            break;
        }
        if (victim->fetched_ms != 0 && (e->fetched_ms == 0 || e->seq < victim->seq))
            victim = e;
    }
    static atomic_ullong s_seq;
    victim->seq = atomic_fetch_add(&s_seq, 1) + 1;
    memcpy(victim->digest, d, 32);
    victim->fetched_ms = kv_mono_ms();
    if (victim->fetched_ms == 0)
        victim->fetched_ms = 1;
    if (p)
        victim->principal = *p;
    else
        memset(&victim->principal, 0, sizeof victim->principal);
    pthread_mutex_unlock(s_lock(a, set));
}

/* Drops d from set. */
static void s_drop(gw_auth_t *a, auth_set_t *set, const unsigned char d[32])
{
    pthread_mutex_lock(s_lock(a, set));
    for (int i = 0; i < AUTH_WAYS; i++) {
        if (set->entries[i].fetched_ms && memcmp(set->entries[i].digest, d, 32) == 0)
            set->entries[i].fetched_ms = 0;
    }
    pthread_mutex_unlock(s_lock(a, set));
}

/* Finds d in set: 0 absent, 1 fresh (younger than ttl_ms), 2 stale.  Copies
 * the principal into *p when found and p is not NULL. */
static int s_get(gw_auth_t *a, auth_set_t *set, const unsigned char d[32], int64_t now,
                 int ttl_ms, gw_principal_t *p)
{
    int rc = 0;
    pthread_mutex_lock(s_lock(a, set));
    for (int i = 0; i < AUTH_WAYS; i++) {
        auth_entry_t *e = &set->entries[i];
        if (e->fetched_ms && memcmp(e->digest, d, 32) == 0) {
            rc = now - e->fetched_ms < ttl_ms ? 1 : 2;
            if (p)
                *p = e->principal;
            break;
        }
    }
    pthread_mutex_unlock(s_lock(a, set));
    return rc;
}

/* Applies a database answer to the caches. */
static void s_cache_answer(gw_auth_t *a, const unsigned char d[32], int rc, const gw_principal_t *p)
{
    if (rc == GW_AUTH_OK) {
        s_drop(a, s_set(a->neg, NEG_SETS, d), d);
        s_put(a, s_set(a->sets, AUTH_SETS, d), d, p);
    } else if (rc == GW_AUTH_INVALID) {
        s_drop(a, s_set(a->sets, AUTH_SETS, d), d);
        s_put(a, s_set(a->neg, NEG_SETS, d), d, NULL);
    }
}

/* ---- the loop side ---------------------------------------------------- */

gw_auth_t *gw_auth_new(int ttl_ms, const unsigned char secret[GW_KEY_SECRET_LEN],
                       gw_keyset_t *legacy)
{
    gw_auth_t *a = kv_calloc(1, sizeof *a);
    a->ttl_ms = ttl_ms > 0 ? ttl_ms : 1;
    memcpy(a->secret, secret, GW_KEY_SECRET_LEN);
    a->sets = kv_calloc(AUTH_SETS, sizeof *a->sets);
    a->neg = kv_calloc(NEG_SETS, sizeof *a->neg);
    for (int i = 0; i < AUTH_LOCKS; i++)
        pthread_mutex_init(&a->locks[i], NULL);
    gw_keyset_init(&a->legacy);
    if (legacy) {
        a->legacy = *legacy;
        gw_keyset_init(legacy);
    }
    atomic_store(&gw_stats.legacy_keys, (int)a->legacy.n);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (a->efd < 0 || pthread_create(&a->thread, NULL, s_thread, a) != 0) {
        kv_error(NULL, "cannot start the key lookup thread: %s", strerror(errno));
        abort();   /* like running out of memory: nothing sensible to do */
    }
    a->started = 1;
    return a;
}

/* Unlinks l from the in-flight list, runs its waiters with (rc, who) and
 * frees it. */
static void s_finish(gw_auth_t *a, s_lookup_t *l, int rc, const gw_principal_t *who)
{
    s_lookup_t **pp = &a->inflight;
    while (*pp && *pp != l)
        pp = &(*pp)->inflight_next;
    if (*pp) {
        *pp = l->inflight_next;
        a->ninflight--;
    }
    s_waiter_t *w = l->waiters;
    while (w) {
        s_waiter_t *next = w->next;
        w->cb(w->arg, rc, rc == GW_AUTH_OK ? who : NULL);
        free(w);
        w = next;
    }
    free(l);
}

void gw_auth_on_wake(gw_auth_t *a)
{
    uint64_t v;
    if (read(a->efd, &v, sizeof v) < 0 && errno != EAGAIN)
        kv_warn(NULL, "auth eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&a->mu);
    s_lookup_t *list = a->done;
    a->done = NULL;
    gw_keyset_t *legacy = a->legacy_next;
    a->legacy_next = NULL;
    pthread_mutex_unlock(&a->mu);
    if (legacy) {
        if (legacy->n != a->legacy.n)
            kv_info(NULL, "legacy key set reloaded: %zu keys (was %zu)", legacy->n, a->legacy.n);
        gw_keyset_cleanup(&a->legacy);
        a->legacy = *legacy;
        free(legacy);
        atomic_store(&gw_stats.legacy_keys, (int)a->legacy.n);
    }
    while (list) {
        s_lookup_t *l = list;
        list = l->queue_next;
        if (!l->ping)
            s_cache_answer(a, l->digest, l->rc, &l->who);
        s_finish(a, l, l->rc, l->ping ? NULL : &l->who);
    }
}

int gw_auth_tick(gw_auth_t *a)
{
    int answered = 0;
    int64_t now = kv_mono_ms();
    for (s_lookup_t *l = a->inflight; l; l = l->inflight_next) {
        if (now - l->submitted_ms < GW_AUTH_WAIT_MS)
            continue;
        /* overdue: the database is not answering; misses fail fast until
         * this lookup comes back */
        atomic_store(&a->db_failed_ms, (long long)now);
        atomic_store(&a->db_ok, 0);
        s_waiter_t *w = l->waiters;
        l->waiters = NULL;
        if (w)
            kv_warn(l->ping ? NULL : l->rid, "key lookup unanswered after %d ms: 503",
                    GW_AUTH_WAIT_MS);
        while (w) {
            s_waiter_t *next = w->next;
            if (!l->ping)
                atomic_fetch_add(&gw_stats.key_wait_timeouts, 1);
            w->cb(w->arg, GW_AUTH_UNAVAILABLE, NULL);
            free(w);
            w = next;
            answered++;
        }
    }
    return answered;
}

void gw_auth_destroy(gw_auth_t **pa)
{
    if (!pa || !*pa)
        return;
    gw_auth_t *a = *pa;
    if (a->started) {
        pthread_mutex_lock(&a->mu);
        a->stop = 1;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->thread, NULL);
    }
    gw_auth_on_wake(a);              /* answers that made it back */
    while (a->inflight)              /* the rest never will */
        s_finish(a, a->inflight, GW_AUTH_UNAVAILABLE, NULL);
    /* jobs the thread never took are in-flight lookups: freed above */
    free(a->sets);
    free(a->neg);
    for (int i = 0; i < AUTH_LOCKS; i++)
        pthread_mutex_destroy(&a->locks[i]);
    gw_keyset_cleanup(&a->legacy);
    memset(a->secret, 0, sizeof a->secret);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    close(a->efd);
    free(a);
    *pa = NULL;
}

/* Puts l on the in-flight list and the lookup thread's job queue. */
static void s_submit(gw_auth_t *a, s_lookup_t *l)
{
    l->submitted_ms = kv_mono_ms();
    l->inflight_next = a->inflight;
    a->inflight = l;
    a->ninflight++;
    pthread_mutex_lock(&a->mu);
    if (a->jobs_tail)
        a->jobs_tail->queue_next = l;
    else
        a->jobs_head = l;
    a->jobs_tail = l;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

/* Adds a waiter to l. */
static void s_wait(s_lookup_t *l, gw_auth_fn cb, void *arg)
{
    s_waiter_t *w = kv_calloc(1, sizeof *w);
    w->cb = cb;
    w->arg = arg;
    w->next = l->waiters;
    l->waiters = w;
}

/* The digest of key when it is worth caching or looking up (keyed
 * checksum, or a legacy key of the legacy set): 0; else -1. */
static int s_admissible(gw_auth_t *a, const char *key, unsigned char d[32])
{
    int kind = gw_key_classify(key, a->secret);
    if (kind == GW_KEY_BAD)
        return -1;
    gw_key_digest(key, d);
    if (kind == GW_KEY_CRC && !gw_keyset_has(&a->legacy, d))
        return -1;
    return 0;
}

int gw_auth_check(gw_auth_t *a, const char *key, const char *req_id, gw_principal_t *out,
                  gw_auth_fn cb, void *arg)
{
    unsigned char d[32];
    if (s_admissible(a, key, d) != 0) {
        atomic_fetch_add(&gw_stats.key_refused, 1);
        return GW_AUTH_INVALID;
    }
    int64_t now = kv_mono_ms();
    gw_principal_t p;
    if (s_get(a, s_set(a->sets, AUTH_SETS, d), d, now, a->ttl_ms, &p) == 1) {
        *out = p;
        return GW_AUTH_OK;
    }
    if (s_get(a, s_set(a->neg, NEG_SETS, d), d, now, a->ttl_ms, NULL) == 1) {
        atomic_fetch_add(&gw_stats.key_negative_hits, 1);
        return GW_AUTH_INVALID;
    }

    long long failed = atomic_load(&a->db_failed_ms);
    if (failed && now - failed < AUTH_DOWN_MS)
        return GW_AUTH_UNAVAILABLE;          /* fail fast while the database is down */
    /* a lookup of this key already on its way: wait for it too */
    s_lookup_t *l;
    for (l = a->inflight; l; l = l->inflight_next)
        if (!l->ping && memcmp(l->digest, d, 32) == 0)
            break;
    if (l && now - l->submitted_ms >= GW_AUTH_WAIT_MS)
        return GW_AUTH_UNAVAILABLE;          /* it is overdue itself */
    if (!l) {
        if (a->ninflight >= AUTH_INFLIGHT) {
            kv_warn(req_id, "too many key lookups in flight: 503");
            return GW_AUTH_UNAVAILABLE;
        }
        l = kv_calloc(1, sizeof *l);
        memcpy(l->digest, d, 32);
        gw_key_hash_hex(key, l->hex);
        snprintf(l->rid, sizeof l->rid, "%s", req_id ? req_id : "");
        s_submit(a, l);
    }
    s_wait(l, cb, arg);
    return GW_AUTH_PENDING;
}

int gw_auth_known(gw_auth_t *a, const char *key)
{
    unsigned char d[32];
    if (s_admissible(a, key, d) != 0)
        return 0;
    return s_get(a, s_set(a->sets, AUTH_SETS, d), d, kv_mono_ms(), a->ttl_ms, NULL) != 0;
}

void gw_auth_ping(gw_auth_t *a, gw_auth_fn cb, void *arg)
{
    s_lookup_t *l;
    for (l = a->inflight; l; l = l->inflight_next)
        if (l->ping)
            break;
    /* (a ping that is overdue still takes the waiter: the next
     * gw_auth_tick answers it, never this call) */
    if (!l) {
        l = kv_calloc(1, sizeof *l);
        l->ping = 1;
        s_submit(a, l);
    }
    s_wait(l, cb, arg);
}

int gw_auth_wake_fd(gw_auth_t *a)
{
    return a->efd;
}

int gw_auth_db_ok(const gw_auth_t *a)
{
    return atomic_load(&a->db_ok);
}

void gw_auth_forget(gw_auth_t *a, const char *key_hash)
{
    unsigned char d[32];
    if (gw_key_unhex(key_hash, d) != 0)
        return;
    s_drop(a, s_set(a->sets, AUTH_SETS, d), d);
}
