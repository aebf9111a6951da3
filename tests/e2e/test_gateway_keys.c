/*
 * test_gateway_keys.c -- what a key costs the gateway, counted on GET
 * /admin/v1/stats: keys made up by a client (random checksum, or the public
 * CRC checksum of the old format) are refused without any database lookup
 * and without entering a cache; an unknown key with a valid checksum costs
 * one lookup and is then answered from the negative cache; unknown keys
 * never push a known key out of the cache; migration 002 marks the keys
 * that existed as legacy; a legacy key keeps working while a forged one of
 * the same format is refused without a lookup; and while key lookups do
 * not come back (gateway.api_keys locked), a miss answers 503 within
 * GW_AUTH_WAIT_MS and the next ones at once, while cached keys and
 * /healthz keep their speed.
 */
#include <stdint.h>
#include <openssl/rand.h>

#include "gw_e2e.h"
#include "../../services/gateway/gw_auth.h"   /* GW_AUTH_WAIT_MS */
#include "../../services/gateway/gw_keys.c"

#define PROBE "/api/v1/keys-probe"   /* no such route: the gateway answers 404 itself */

static long s_get(const char *base, const char *key, const char *path, double *secs)
{
    char url[512], auth[128];
    snprintf(url, sizeof url, "%s%s", base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *h[2] = { auth, NULL };
    kvt_resp_t r = kvt_http("GET", url, NULL, 0, key ? h : NULL);
    long st = r.status;
    if (secs)
        *secs = r.seconds;
    kvt_resp_free(&r);
    return st;
}

/* GET path with key from a source address of its own: made-up keys are
 * 401s, and 30 of them a minute from one address would have the gateway
 * answer 429 to that address (KAIVOX_AUTH_FAIL_LIMIT), to this test and
 * the ones after it.  i picks one of 64 loopback addresses 127.0.9.x. */
static long s_get_from(int i, const char *base, const char *key, const char *path)
{
    char src[32], req[512];
    snprintf(src, sizeof src, "127.0.9.%d", 10 + i % 64);
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
             "Connection: close\r\n\r\n", path, key);
    return gw_raw_request(src, atoi(strrchr(base, ':') + 1), req, 10000, NULL, NULL, 0);
}

/* The index of the cache set a digest falls in (gw_auth.c: the first four
 * bytes, native order, modulo the number of sets). */
static uint32_t s_set_of(const char *key, uint32_t nsets)
{
    unsigned char d[32];
    uint32_t h;
    gw_key_digest(key, d);
    memcpy(&h, d, sizeof h);
    return h % nsets;
}

/* Runs the statements of a migration file on c (in its search_path). */
static int s_run_file(PGconn *c, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/sql/gateway/%s", kvt_env("KVT_ROOT", "."), name);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    char *out = gw_sql(c, buf);
    int rc = out ? 0 : -1;
    free(out);
    return rc;
}

static void s_migration(PGconn *pg)
{
    char *v;
    free(gw_sql(pg, "DROP SCHEMA IF EXISTS gwmig_test CASCADE"));
    free(gw_sql(pg, "CREATE SCHEMA gwmig_test"));
    free(gw_sql(pg, "SET search_path = gwmig_test"));
    KVT_OK(s_run_file(pg, "001_init.sql") == 0, "migration: 001 runs in a scratch schema");
    free(gw_sql(pg, "INSERT INTO tenants (name) VALUES ('t')"));
    free(gw_sql(pg, "INSERT INTO api_keys (tenant_id, name, key_hash, prefix) VALUES "
                    "(1, 'before', repeat('a', 64), 'kv1_aaaaaaaa')"));
    KVT_OK(s_run_file(pg, "002_keyed_checksum.sql") == 0, "migration: 002 runs over existing keys");
    v = gw_sql(pg, "SELECT legacy FROM api_keys WHERE name = 'before'");
    KVT_EQ_STR(v, "t", "migration: a key that existed before 002 is legacy");
    free(v);
    free(gw_sql(pg, "INSERT INTO api_keys (tenant_id, name, key_hash, prefix) VALUES "
                    "(1, 'old gateway', repeat('b', 64), 'kv1_bbbbbbbb')"));
    v = gw_sql(pg, "SELECT legacy FROM api_keys WHERE name = 'old gateway'");
    KVT_EQ_STR(v, "t", "migration: a key inserted without the column (an older gateway) is legacy");
    free(v);
    v = gw_sql(pg, "SELECT count(*) FROM key_secret");
    KVT_EQ_STR(v, "0", "migration: the key secret is left to the first gateway (kv_random_bytes)");
    free(v);
    free(gw_sql(pg, "RESET search_path"));
    free(gw_sql(pg, "DROP SCHEMA gwmig_test CASCADE"));
}

int main(void)
{
    const char *base = kvt_env("KVT_BASE_URL", "http://127.0.0.1:18080");
    int64_t tid;
    char key[64];
    PGconn *pg = gw_pg_super();
    if (!pg || kvt_tenant("gw-keys", NULL, &tid, key) != 0) {
        KVT_OK(0, "a tenant, a key and a superuser connection");
        return kvt_done();
    }
    unsigned char secret[GW_KEY_SECRET_LEN];
    char *hex = gw_sql(pg, "SELECT encode(secret, 'hex') FROM gateway.key_secret");
    KVT_OK(hex && gw_key_unhex(hex, secret) == 0, "the gateway created its key secret");
    free(hex);
    KVT_EQ_INT(gw_key_classify(key, secret), GW_KEY_KEYED, "an issued key carries the keyed checksum");

    /* --- a flood of made-up keys costs no lookup --- */
    KVT_EQ_INT(s_get(base, key, PROBE, NULL), 404, "the known key works (and is cached)");
    long long lookups0 = gw_stat(NULL, "keys", "lookups");
    long long refused0 = gw_stat(NULL, "keys", "refused_without_lookup");
    int all401 = 1;
    for (int i = 0; i < 300; i++) {
        char k[GW_KEY_LEN + 1];
        unsigned char other[GW_KEY_SECRET_LEN];
        RAND_bytes(other, sizeof other);
        gw_key_generate(other, k);          /* a random 6-character checksum */
        if (i % 2)
            gw_key_checksum_crc(k + 4, k + 36);  /* the old, public checksum */
        all401 &= s_get_from(i, base, k, PROBE) == 401;
    }
    KVT_OK(all401, "300 made-up keys (half with the old public CRC checksum) are all 401");
    KVT_EQ_INT(gw_stat(NULL, "keys", "lookups") - lookups0, 0, "they cost no database lookup at all");
    KVT_EQ_INT(gw_stat(NULL, "keys", "refused_without_lookup") - refused0, 300,
               "every one was refused on its checksum");
    KVT_EQ_INT(s_get(base, key, PROBE, NULL), 404, "the known key still works");
    KVT_EQ_INT(gw_stat(NULL, "keys", "lookups") - lookups0, 0, "... from the cache: no lookup");

    /* --- unknown keys with a valid checksum: one lookup, then the
     * negative cache; and they cannot evict the known key, even when all
     * of them fall in its cache set --- */
    char same[8][GW_KEY_LEN + 1];
    uint32_t want = s_set_of(key, 4096);
    for (int n = 0, tries = 0; n < 8 && tries < 2000000; tries++) {
        gw_key_generate(secret, same[n]);
        if (s_set_of(same[n], 4096) == want)
            n++;
    }
    lookups0 = gw_stat(NULL, "keys", "lookups");
    int neg = 1;
    for (int i = 0; i < 8; i++)
        neg &= s_get_from(i, base, same[i], PROBE) == 401;
    KVT_OK(neg, "8 unknown keys with valid checksums, all in the known key's cache set, are 401");
    KVT_EQ_INT(gw_stat(NULL, "keys", "lookups") - lookups0, 8, "... each cost one lookup");
    /* the negative cache has 4 ways per set too: the last 4 are in it */
    long long hits0 = gw_stat(NULL, "keys", "negative_cache_hits");
    for (int i = 4; i < 8; i++)
        neg &= s_get_from(i, base, same[i], PROBE) == 401;
    KVT_OK(neg, "... and 401 again");
    KVT_EQ_INT(gw_stat(NULL, "keys", "lookups") - lookups0, 8, "asked again, they cost no more lookups");
    KVT_EQ_INT(gw_stat(NULL, "keys", "negative_cache_hits") - hits0, 4, "... the negative cache answers");
    KVT_EQ_INT(s_get(base, key, PROBE, NULL), 404, "the known key still works");
    KVT_EQ_INT(gw_stat(NULL, "keys", "lookups") - lookups0, 8,
               "... from the cache: the unknown keys did not evict it");

    /* --- migration 002 --- */
    s_migration(pg);

    /* --- a legacy key: insert one the old way, start a gateway that loads
     * the legacy set --- */
    char legacy[GW_KEY_LEN + 1], forged_crc[GW_KEY_LEN + 1], lhash[65], sql[512];
    gw_key_generate(secret, legacy);
    gw_key_checksum_crc(legacy + 4, legacy + 36);
    gw_key_generate(secret, forged_crc);
    gw_key_checksum_crc(forged_crc + 4, forged_crc + 36);
    gw_key_hash_hex(legacy, lhash);
    snprintf(sql, sizeof sql, "INSERT INTO gateway.api_keys (tenant_id, name, key_hash, prefix) "
             "VALUES (%lld, 'from before', '%s', '%.12s') RETURNING id", (long long)tid, lhash, legacy);
    char *lid = gw_sql(pg, sql);
    KVT_OK(lid && *lid, "a key of the old format is in the table (legacy by default)");
    gw_private_t g;
    KVT_OK(gw_private_start(&g, "gateway-keys", NULL) == 0, "a second gateway starts");
    KVT_OK(gw_stat(&g, "keys", "legacy_keys") >= 1, "it loaded the legacy set");
    KVT_EQ_INT(s_get(g.base_url, legacy, PROBE, NULL), 404, "the legacy key keeps working");
    KVT_EQ_INT(s_get(g.base_url, key, PROBE, NULL), 404, "a keyed key works on the second gateway too");
    lookups0 = gw_stat(&g, "keys", "lookups");
    KVT_EQ_INT(s_get_from(1, g.base_url, forged_crc, PROBE), 401,
               "a key with a valid CRC checksum that is not a legacy key is 401");
    KVT_EQ_INT(gw_stat(&g, "keys", "lookups") - lookups0, 0, "... without a lookup");
    char path[256];
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/keys", (long long)tid);
    kvt_resp_t r = gw_admin_at(&g, "GET", path, NULL);
    int shown = 0;
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(r.json, "data"), i, it) {
        if (lid && json_integer_value(json_object_get(it, "id")) == atoll(lid))
            shown = json_is_true(json_object_get(it, "legacy"));
    }
    KVT_OK(shown, "the key list shows it as legacy");
    kvt_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/keys/%s/revoke", (long long)tid, lid ? lid : "0");
    r = gw_admin_at(&g, "POST", path, NULL);
    KVT_EQ_INT(r.status, 200, "the operator revokes the legacy key");
    kvt_resp_free(&r);
    KVT_EQ_INT(s_get_from(2, g.base_url, legacy, PROBE), 401, "a revoked legacy key is refused at once");
    free(lid);

    /* --- key lookups that do not come back --- */
    char fresh1[64], fresh2[64];
    int64_t t2;
    if (kvt_tenant("gw-keys-a", NULL, &t2, fresh1) != 0 || kvt_tenant("gw-keys-b", NULL, &t2, fresh2) != 0)
        KVT_OK(0, "two more keys");
    KVT_EQ_INT(s_get(g.base_url, key, PROBE, NULL), 404, "a cached key, before the stall");
    free(gw_sql(pg, "BEGIN"));
    char *locked = gw_sql(pg, "LOCK TABLE gateway.api_keys IN ACCESS EXCLUSIVE MODE");
    KVT_OK(locked != NULL, "gateway.api_keys is locked: key lookups hang");
    free(locked);
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    KVT_EQ_INT(s_get(g.base_url, fresh1, PROBE, &s1), 503, "a key not in the cache answers 503");
    KVT_OK(s1 < GW_AUTH_WAIT_MS / 1000.0 + 1.5, "... within the lookup wait (%.2f s)", s1);
    KVT_EQ_INT(s_get(g.base_url, fresh2, PROBE, &s2), 503, "another key not in the cache answers 503");
    KVT_OK(s2 < 0.5, "... at once while the lookup is overdue (%.3f s)", s2);
    KVT_EQ_INT(s_get(g.base_url, key, PROBE, &s3), 404, "a cached key is served meanwhile");
    KVT_OK(s3 < 0.5, "... at its usual speed (%.3f s)", s3);
    KVT_EQ_INT(s_get(g.base_url, NULL, "/healthz", &s4), 200, "/healthz answers meanwhile");
    KVT_OK(s4 < 0.5, "... at its usual speed (%.3f s)", s4);
    free(gw_sql(pg, "ROLLBACK"));
    long st = 0;
    for (int k = 0; k < 50 && st != 404; k++) {
        st = s_get(g.base_url, fresh1, PROBE, NULL);
        if (st != 404)
            kvt_sleep_ms(100);
    }
    KVT_EQ_INT(st, 404, "once the table is free, the key works");
    KVT_EQ_INT(gw_private_stop(&g), 0, "the second gateway stops cleanly");
    PQfinish(pg);
    return kvt_done();
}
