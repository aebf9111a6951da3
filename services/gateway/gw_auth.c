/*
 * gw_auth.c -- the API key cache (see gw_auth.h).
 *
 * 4096 sets x 4 entries, keyed by the raw SHA-256 of the key; each set has
 * its own mutex, held only to copy an entry in or out, never across the
 * database round trip.  Two threads missing the same key at once both ask
 * the database; that costs one extra query and keeps the code simple.
 */
#include "gw_auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_db.h"
#include "gw_keys.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"

#define AUTH_SETS 4096
#define AUTH_WAYS 4

typedef struct {
    unsigned char digest[32];  /* SHA-256 of the key */
    int64_t fetched_ms;        /* monotonic time of the database answer; 0: empty */
    int valid;                 /* 1: principal is meaningful; 0: unknown/revoked */
    gw_principal_t principal;
} auth_entry_t;

typedef struct {
    pthread_mutex_t mu;        /* guards entries */
    auth_entry_t entries[AUTH_WAYS];
} auth_set_t;

struct gw_auth {
    int ttl_ms;                /* age after which an entry is re-checked */
    auth_set_t *sets;          /* AUTH_SETS of them */
};

gw_auth_t *gw_auth_new(int ttl_ms)
{
    gw_auth_t *a = kv_calloc(1, sizeof *a);
    a->ttl_ms = ttl_ms > 0 ? ttl_ms : 1;
    a->sets = kv_calloc(AUTH_SETS, sizeof *a->sets);
    for (int i = 0; i < AUTH_SETS; i++)
        pthread_mutex_init(&a->sets[i].mu, NULL);
    return a;
}

void gw_auth_destroy(gw_auth_t **pa)
{
    if (!pa || !*pa)
        return;
    gw_auth_t *a = *pa;
    for (int i = 0; i < AUTH_SETS; i++)
        pthread_mutex_destroy(&a->sets[i].mu);
    free(a->sets);
    free(a);
    *pa = NULL;
}

static auth_set_t *s_set(gw_auth_t *a, const unsigned char d[32])
{
    uint32_t h;
    memcpy(&h, d, sizeof h);   /* SHA-256 bytes are already uniform */
    return &a->sets[h % AUTH_SETS];
}

/* Asks the database about the key with hash hex.  Returns GW_AUTH_OK,
 * GW_AUTH_INVALID or GW_AUTH_UNAVAILABLE. */
static int s_db_lookup(const char *hex, const char *req_id, gw_principal_t *out)
{
    kv_db_t *db = gw_db_thread();
    if (!db)
        return GW_AUTH_UNAVAILABLE;
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

int gw_auth_check(gw_auth_t *a, const char *key, const char *req_id, gw_principal_t *out)
{
    unsigned char d[32];
    if (!gw_key_shape_ok(key))
        return GW_AUTH_INVALID;
    gw_key_digest(key, d);
    auth_set_t *set = s_set(a, d);
    int64_t now = kv_mono_ms();

    pthread_mutex_lock(&set->mu);
    for (int i = 0; i < AUTH_WAYS; i++) {
        auth_entry_t *e = &set->entries[i];
        if (e->fetched_ms && memcmp(e->digest, d, 32) == 0 && now - e->fetched_ms < a->ttl_ms) {
            int valid = e->valid;
            if (valid)
                *out = e->principal;
            pthread_mutex_unlock(&set->mu);
            return valid ? GW_AUTH_OK : GW_AUTH_INVALID;
        }
    }
    pthread_mutex_unlock(&set->mu);

    char hex[65];
    gw_principal_t p;
    memset(&p, 0, sizeof p);
    gw_key_hash_hex(key, hex);
    int rc = s_db_lookup(hex, req_id, &p);
    if (rc == GW_AUTH_UNAVAILABLE)
        return rc;

    pthread_mutex_lock(&set->mu);
    auth_entry_t *victim = &set->entries[0];
    for (int i = 0; i < AUTH_WAYS; i++) {
        auth_entry_t *e = &set->entries[i];
        if (e->fetched_ms && memcmp(e->digest, d, 32) == 0) {
            victim = e;
            break;
        }
        if (victim->fetched_ms != 0 && (e->fetched_ms == 0 || e->fetched_ms < victim->fetched_ms))
            victim = e;
    }
    memcpy(victim->digest, d, 32);
    victim->fetched_ms = kv_mono_ms();
    if (victim->fetched_ms == 0)
        victim->fetched_ms = 1;
    victim->valid = rc == GW_AUTH_OK;
    victim->principal = p;
    pthread_mutex_unlock(&set->mu);

    if (rc == GW_AUTH_OK)
        *out = p;
    return rc;
}

static int s_unhex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void gw_auth_forget(gw_auth_t *a, const char *key_hash)
{
    unsigned char d[32];
    if (!key_hash || strlen(key_hash) != 64)
        return;
    for (int i = 0; i < 32; i++) {
        int hi = s_unhex(key_hash[2 * i]), lo = s_unhex(key_hash[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return;
        d[i] = (unsigned char)(hi << 4 | lo);
    }
    auth_set_t *set = s_set(a, d);
    pthread_mutex_lock(&set->mu);
    for (int i = 0; i < AUTH_WAYS; i++) {
        if (set->entries[i].fetched_ms && memcmp(set->entries[i].digest, d, 32) == 0)
            set->entries[i].fetched_ms = 0;
    }
    pthread_mutex_unlock(&set->mu);
}
