/*
 * gw_db.c -- every SQL statement of the gateway, as named prepared
 * statements, and the lazily created per-thread connection.
 *
 * The connection pointer lives in a C11 _Thread_local for the fast path;
 * a pthread key with a destructor closes it when an MHD pool thread ends.
 */
#include "gw_db.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "kv_log.h"

/* Timestamps leave the database as RFC 3339 UTC text. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define TENANT_COLS "id, name, timezone, slot_interval_minutes, " TS("created_at")
#define KEY_COLS    "id, tenant_id, name, prefix, " TS("created_at") ", " \
                    TS("last_used_at") ", " TS("revoked_at") ", legacy, scope"

const kv_stmt_t gw_db_stmts[] = {
    { "gw_ping", "SELECT 1" },
    /* Authentication: one row per key hash (unique index). */
    { "gw_key_lookup",
      "SELECT k.id, k.tenant_id, t.timezone, t.slot_interval_minutes, "
      "k.revoked_at IS NOT NULL, "
      "(k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'), k.scope "
      "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = $1" },
    { "gw_key_touch",
      "UPDATE api_keys SET last_used_at = now() WHERE id = $1 "
      "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')" },
    { "gw_key_legacy",
      "SELECT key_hash FROM api_keys WHERE legacy AND revoked_at IS NULL" },
    /* The key secret (sql/gateway/002_keyed_checksum.sql). */
    { "gw_secret_init",
      "INSERT INTO key_secret (id, secret) VALUES (1, decode($1, 'hex')) "
      "ON CONFLICT (id) DO NOTHING" },
    { "gw_secret_get", "SELECT encode(secret, 'hex') FROM key_secret WHERE id = 1" },
    /* Admin API. */
    { "gw_tz_valid", "SELECT 1 FROM pg_timezone_names WHERE name = $1" },
    { "gw_tenant_create",
      "INSERT INTO tenants (name, timezone, slot_interval_minutes) VALUES ($1, $2, $3::int) "
      "RETURNING " TENANT_COLS },
    { "gw_tenant_list", "SELECT " TENANT_COLS " FROM tenants ORDER BY id" },
    { "gw_tenant_get", "SELECT " TENANT_COLS " FROM tenants WHERE id = $1" },
    { "gw_key_create",
      "INSERT INTO api_keys (tenant_id, name, key_hash, prefix, legacy, scope) "
      "VALUES ($1, $2, $3, $4, false, $5) RETURNING " KEY_COLS },
    { "gw_key_list", "SELECT " KEY_COLS " FROM api_keys WHERE tenant_id = $1 ORDER BY id" },
    { "gw_key_revoke",
      "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
      "WHERE tenant_id = $1 AND id = $2 RETURNING " KEY_COLS ", key_hash" },
    { NULL, NULL }
};

static pthread_key_t s_key;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static _Thread_local kv_db_t *s_db;

static void s_close(void *p)
{
    kv_db_t *db = p;
    kv_db_destroy(&db);
}

static void s_make_key(void)
{
    (void)pthread_key_create(&s_key, s_close);
}

kv_db_t *gw_db_thread(void)
{
    pthread_once(&s_once, s_make_key);
    if (!s_db) {
        s_db = kv_db_new("gateway", gw_db_stmts);
        (void)pthread_setspecific(s_key, s_db);
    }
    return kv_db_ensure(s_db) == 0 ? s_db : NULL;
}

int gw_db_legacy_keys(kv_db_t *db, gw_keyset_t *out)
{
    PGresult *r = kv_db_exec(db, NULL, "gw_key_legacy", 0, NULL);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        unsigned char d[32];
        if (gw_key_unhex(PQgetvalue(r, i, 0), d) == 0)
            gw_keyset_add(out, d);
    }
    PQclear(r);
    gw_keyset_seal(out);
    return 0;
}

int gw_db_key_secret(unsigned char secret[GW_KEY_SECRET_LEN], gw_keyset_t *legacy)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char fresh[GW_KEY_SECRET_LEN];
    char text[2 * GW_KEY_SECRET_LEN + 1];
    int rc = -1;
    PGresult *r = NULL;
    kv_db_t *db = kv_db_new("gateway", gw_db_stmts);
    if (kv_db_ensure(db) != 0)
        goto out;
    if (RAND_bytes(fresh, (int)sizeof fresh) != 1) {
        kv_error(NULL, "random source failed");
        goto out;
    }
    for (int i = 0; i < GW_KEY_SECRET_LEN; i++) {
        text[2 * i] = hex[fresh[i] >> 4];
        text[2 * i + 1] = hex[fresh[i] & 15];
    }
    text[2 * GW_KEY_SECRET_LEN] = '\0';
    const char *p[1] = { text };
    if (kv_db_run(db, NULL, "gw_secret_init", 1, p) != 0)
        goto out;
    r = kv_db_exec(db, NULL, "gw_secret_get", 0, NULL);
    if (!r || PQntuples(r) != 1 || gw_key_unhex(PQgetvalue(r, 0, 0), secret) != 0) {
        kv_error(NULL, "the key secret cannot be read");
        goto out;
    }
    if (gw_db_legacy_keys(db, legacy) != 0)
        goto out;
    rc = 0;
out:
    if (r && PQntuples(r) == 1)
        OPENSSL_cleanse(PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)));
    if (r)
        PQclear(r);
    OPENSSL_cleanse(fresh, sizeof fresh);
    OPENSSL_cleanse(text, sizeof text);
    kv_db_destroy(&db);
    return rc;
}
