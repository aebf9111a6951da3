/*
 * gw_auth.h -- API key -> tenant, with a bounded in-memory cache.
 *
 * A key of the wrong shape is refused at once (gw_keys.h).  Otherwise the
 * SHA-256 of the key is looked up in the cache; an entry older than the TTL
 * (KAIVOX_KEY_CACHE_TTL_MS, 5000) is checked against the database again, so
 * a revocation takes effect within the TTL on every gateway instance (and
 * at once on the instance that revoked it).  Unknown and revoked keys are
 * cached too, so a flood of bad keys does not reach the database more than
 * once per TTL per key.  The cache has a fixed number of entries
 * (set-associative, oldest evicted).  Thread-safe.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stdint.h>

typedef struct gw_auth gw_auth_t;

/* Who a valid key belongs to. */
typedef struct {
    int64_t key_id;
    int64_t tenant_id;
    char tz[65];             /* the tenant's IANA time zone */
    int slot_interval;       /* the tenant's slot interval, minutes */
} gw_principal_t;

enum { GW_AUTH_OK = 0, GW_AUTH_INVALID = -1, GW_AUTH_UNAVAILABLE = -2 };

/* ttl_ms > 0.  Caller owns the result. */
gw_auth_t *gw_auth_new(int ttl_ms);
void gw_auth_destroy(gw_auth_t **pa);

/* Authenticates key (NUL-terminated).  Returns GW_AUTH_OK (fills *out),
 * GW_AUTH_INVALID (bad shape, unknown or revoked), or GW_AUTH_UNAVAILABLE
 * (the database could not be asked and the cache had no fresh answer). */
int gw_auth_check(gw_auth_t *a, const char *key, const char *req_id, gw_principal_t *out);

/* Drops the cache entry of the key whose SHA-256 hex is key_hash (after a
 * revocation through this gateway). */
void gw_auth_forget(gw_auth_t *a, const char *key_hash);

#endif
