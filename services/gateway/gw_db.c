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

#include "kv_crypto.h"
#include "kv_log.h"

/* Timestamps leave the database as RFC 3339 UTC text. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define TENANT_COLS "id, name, timezone, slot_interval_minutes, " TS("created_at")
#define KEY_COLS    "id, tenant_id, name, prefix, " TS("created_at") ", " \
                    TS("last_used_at") ", " TS("revoked_at") ", legacy, scope"
/* The console's users (gw_users.c) and API keys (gw_console.c). */
#define USER_COLS   "id, tenant_id, email, name, " TS("created_at") ", " \
                    "password_hash IS NOT NULL, " TS("password_set_at") ", " TS("disabled_at")
#define APIKEY_COLS "id, name, prefix, " TS("created_at") ", " TS("last_used_at") ", scope"
/* A window of $n seconds. */
#define SECS(n)     "make_interval(secs => $" n "::int)"

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

    /* ---- the console: sessions (gw_session.c, gw_console.c) ---- */
    /* $1 token hash, $2 idle seconds.  The last column: last_seen_at is
     * worth moving (older than a minute, or a tenth of the idle time). */
    { "gw_session_lookup",
      "SELECT s.id, s.user_id, s.tenant_id, t.timezone, t.slot_interval_minutes, "
      "s.last_seen_at < now() - least(interval '60 seconds', " SECS("2") " / 10), "
      "u.email, u.name, t.name, " TS("s.expires_at") " "
      "FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id "
      "WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() "
      "AND s.last_seen_at > now() - " SECS("2") " AND u.disabled_at IS NULL" },
    { "gw_session_touch", "UPDATE sessions SET last_seen_at = now() WHERE id = $1" },
    /* $1 user, $2 tenant, $3 token hash, $4 lifetime seconds */
    { "gw_session_create",
      "INSERT INTO sessions (user_id, tenant_id, token_hash, expires_at) "
      "VALUES ($1, $2, $3, now() + " SECS("4") ") RETURNING id, " TS("expires_at") },
    /* A user's sessions that are over ($2: idle seconds), at each sign-in. */
    { "gw_session_prune",
      "DELETE FROM sessions WHERE user_id = $1 AND (revoked_at IS NOT NULL "
      "OR expires_at < now() OR last_seen_at < now() - " SECS("2") ")" },
    { "gw_session_revoke",
      "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL "
      "RETURNING id" },
    { "gw_session_revoke_user",
      "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL" },
    /* ---- sign-in ---- */
    { "gw_signin_user",
      "SELECT u.id, u.tenant_id, u.password_hash, u.email, u.name, t.name, t.timezone "
      "FROM users u JOIN tenants t ON t.id = u.tenant_id "
      "WHERE u.email = $1 AND u.disabled_at IS NULL" },
    /* $1 account subject, $2 address subject, $3 window seconds: the live
     * windows, with the seconds each has left. */
    { "gw_throttle_get",
      "SELECT scope, failures, greatest(1, ceil(extract(epoch FROM "
      "window_start + " SECS("3") " - now())))::int FROM signin_throttle "
      "WHERE ((scope = 'account' AND subject = $1) OR (scope = 'address' AND subject = $2)) "
      "AND window_start > now() - " SECS("3") },
    /* One more failure for ($1 scope, $2 subject) in its window of $3 s. */
    { "gw_throttle_fail",
      "INSERT INTO signin_throttle AS t (scope, subject, window_start, failures) "
      "VALUES ($1, $2, now(), 1) ON CONFLICT (scope, subject) DO UPDATE SET "
      "failures = CASE WHEN t.window_start <= now() - " SECS("3") " THEN 1 ELSE t.failures + 1 END, "
      "window_start = CASE WHEN t.window_start <= now() - " SECS("3") " THEN now() "
      "ELSE t.window_start END" },
    { "gw_throttle_clear",
      "DELETE FROM signin_throttle WHERE scope = 'account' AND subject = $1" },
    { "gw_throttle_prune",
      "DELETE FROM signin_throttle WHERE window_start <= now() - " SECS("1") },
    /* ---- set-password links ---- */
    { "gw_pwtoken_check",
      "SELECT u.id FROM password_tokens p JOIN users u ON u.id = p.user_id "
      "WHERE p.token_hash = $1 AND p.used_at IS NULL AND p.expires_at > now() "
      "AND u.disabled_at IS NULL" },
    /* Uses the link $1 and sets the password hash $2, ending the user's
     * sessions, in one statement: a link works once. */
    { "gw_pwtoken_use",
      "WITH t AS (UPDATE password_tokens p SET used_at = now() "
      "  WHERE p.token_hash = $1 AND p.used_at IS NULL AND p.expires_at > now() "
      "  AND EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id AND u.disabled_at IS NULL) "
      "  RETURNING p.user_id), "
      "u AS (UPDATE users SET password_hash = $2, password_set_at = now() "
      "  WHERE id = (SELECT user_id FROM t) RETURNING id, email), "
      "s AS (UPDATE sessions SET revoked_at = now() "
      "  WHERE user_id = (SELECT id FROM u) AND revoked_at IS NULL RETURNING 1) "
      "SELECT id, email, (SELECT count(*) FROM s) FROM u" },
    { "gw_pwtoken_void",
      "UPDATE password_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL" },
    /* $1 user, $2 token hash, $3 validity seconds */
    { "gw_pwtoken_create",
      "INSERT INTO password_tokens (user_id, token_hash, expires_at) "
      "VALUES ($1, $2, now() + " SECS("3") ") RETURNING " TS("expires_at") },
    /* ---- users (admin API, gw_users.c) ---- */
    { "gw_user_create",
      "INSERT INTO users (tenant_id, email, name) VALUES ($1, $2, $3) "
      "ON CONFLICT (email) DO NOTHING RETURNING " USER_COLS },
    { "gw_user_list", "SELECT " USER_COLS " FROM users WHERE tenant_id = $1 ORDER BY id" },
    { "gw_user_get", "SELECT " USER_COLS " FROM users WHERE tenant_id = $1 AND id = $2" },
    { "gw_user_disable",
      "UPDATE users SET disabled_at = coalesce(disabled_at, now()) "
      "WHERE tenant_id = $1 AND id = $2 RETURNING " USER_COLS },
    /* ---- API keys of the public API (gw_console.c) ---- */
    { "gw_apikey_count",
      "SELECT count(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL" },
    { "gw_apikey_list",
      "SELECT " APIKEY_COLS " FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL "
      "ORDER BY id LIMIT $2 OFFSET $3" },
    /* $1 tenant, $2 name, $3 hash, $4 prefix, $5 the most active keys a
     * tenant may hold (no row when it holds them already), $6 the scope. */
    { "gw_apikey_create",
      "INSERT INTO api_keys (tenant_id, name, key_hash, prefix, legacy, scope) "
      "SELECT $1, $2, $3, $4, false, $6 WHERE (SELECT count(*) FROM api_keys "
      "WHERE tenant_id = $1 AND revoked_at IS NULL) < $5::int RETURNING " APIKEY_COLS },
    { "gw_apikey_revoke",
      "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 "
      "AND revoked_at IS NULL RETURNING " APIKEY_COLS ", key_hash" },
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
    if (kv_random_bytes(fresh, sizeof fresh) != 0) {
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
