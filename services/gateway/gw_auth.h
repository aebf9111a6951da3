/*
 * gw_auth.h -- API key -> tenant, with bounded in-memory caches and
 * database lookups that never block the event loop.
 *
 * What a key costs, cheapest first:
 *   - wrong shape, or no checksum matches (gw_keys.h): refused at once;
 *   - only the legacy CRC checksum matches and the key is not in the legacy
 *     set: refused at once;
 *   - in the known-key cache (valid keys only) and younger than the TTL
 *     (KAIVOX_KEY_CACHE_TTL_MS, 5000): the cached tenant;
 *   - in the negative cache (unknown or revoked keys, same TTL): refused;
 *   - otherwise one database lookup (concurrent checks of one key share it).
 * The two caches are separate tables of fixed size (set-associative,
 * oldest evicted), so an unknown key can never push a known one out.  An
 * entry older than the TTL is checked against the database again, so a
 * revocation takes effect within the TTL on every gateway instance (and at
 * once on the instance that revoked it).
 *
 * Database lookups run on a thread of their own (one connection): the loop
 * thread asks, gets GW_AUTH_PENDING, and its callback runs on the loop
 * thread once the answer is there (gw_auth_on_wake, when the wake-up fd is
 * readable).  A check waits at most GW_AUTH_WAIT_MS for its lookup
 * (gw_auth_tick answers GW_AUTH_UNAVAILABLE after that); while the database
 * is known to be unreachable or a lookup is overdue, misses answer
 * GW_AUTH_UNAVAILABLE at once instead of queueing.  The lookup thread also
 * pings the database every second while idle, for /readyz (gw_auth_db_ok),
 * and reloads the legacy set every minute (it can only shrink, as legacy
 * keys are revoked, unless a gateway of the previous version still creates
 * keys during a rolling upgrade).
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stdint.h>

#include "gw_keys.h"

/* How long a check waits for its database lookup before answering
 * GW_AUTH_UNAVAILABLE (503). */
#define GW_AUTH_WAIT_MS 2000

typedef struct gw_auth gw_auth_t;

/* Who a valid key belongs to. */
typedef struct {
    int64_t key_id;
    int64_t tenant_id;
    char tz[65];             /* the tenant's IANA time zone */
    int slot_interval;       /* the tenant's slot interval, minutes */
    int read_only;           /* scope 'read': GET and HEAD only (403 on writes) */
} gw_principal_t;

enum {
    GW_AUTH_OK = 0,
    GW_AUTH_INVALID = -1,      /* bad shape, unknown or revoked */
    GW_AUTH_UNAVAILABLE = -2,  /* the database cannot be asked right now */
    GW_AUTH_PENDING = -3,      /* asked; the callback will tell */
};

/* Runs on the loop thread with the outcome of a GW_AUTH_PENDING check:
 * GW_AUTH_OK (who is set), GW_AUTH_INVALID or GW_AUTH_UNAVAILABLE (who is
 * NULL).  who is borrowed for the call. */
typedef void (*gw_auth_fn)(void *arg, int rc, const gw_principal_t *who);

/* ttl_ms > 0; secret is the deployment's key secret (copied); legacy the
 * digests of the legacy keys (sealed; taken over: *legacy is left empty).
 * Starts the lookup thread; the calling thread is the loop thread.  Caller
 * owns the result. */
gw_auth_t *gw_auth_new(int ttl_ms, const unsigned char secret[GW_KEY_SECRET_LEN],
                       gw_keyset_t *legacy);
/* Stops the lookup thread; every waiting check gets GW_AUTH_UNAVAILABLE
 * (callbacks run here, so call it on the loop thread).  Frees *pa, sets it
 * to NULL; safe on NULL. */
void gw_auth_destroy(gw_auth_t **pa);

/* Loop thread.  Authenticates key (NUL-terminated).  Returns GW_AUTH_OK
 * (fills *out), GW_AUTH_INVALID, GW_AUTH_UNAVAILABLE, or GW_AUTH_PENDING:
 * then cb(arg, ...) runs later on the loop thread, exactly once, and *out
 * is untouched. */
int gw_auth_check(gw_auth_t *a, const char *key, const char *req_id, gw_principal_t *out,
                  gw_auth_fn cb, void *arg);

/* Loop thread.  1 when key is a key this gateway knows to be valid: in
 * the known-key cache, however old its entry.  Never asks the database.
 * (The failed-authentication limiter lets such keys through.) */
int gw_auth_known(gw_auth_t *a, const char *key);

/* Loop thread.  Answers GW_AUTH_UNAVAILABLE to the checks that waited
 * GW_AUTH_WAIT_MS for their lookup; call at least every few hundred ms.
 * Returns how many it answered (their connections were resumed: let
 * libmicrohttpd run). */
int gw_auth_tick(gw_auth_t *a);

/* Loop thread: the eventfd the lookup thread pokes, and what to do when
 * it is readable (apply answers, run callbacks). */
int gw_auth_wake_fd(gw_auth_t *a);
void gw_auth_on_wake(gw_auth_t *a);

/* Any thread.  Drops the cache entry of the key whose SHA-256 hex is
 * key_hash (after a revocation through this gateway). */
void gw_auth_forget(gw_auth_t *a, const char *key_hash);

/* Any thread.  1 when the database answered the last lookup or ping. */
int gw_auth_db_ok(const gw_auth_t *a);

/* Loop thread.  Asks the lookup thread to ping the database now; cb(arg,
 * GW_AUTH_OK or GW_AUTH_UNAVAILABLE, NULL) runs on the loop thread once
 * it answered (concurrent pings share one). */
void gw_auth_ping(gw_auth_t *a, gw_auth_fn cb, void *arg);

#endif
