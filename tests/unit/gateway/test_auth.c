/*
 * test_auth.c -- the key cache's contract without a database: a key of the
 * wrong shape is refused (GW_AUTH_INVALID) without any database attempt,
 * while a well-formed key does go to the database (here unreachable, so
 * GW_AUTH_UNAVAILABLE, never a false "valid" or "invalid").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_auth.h"
#include "../../../services/gateway/gw_keys.h"
#include "kv_log.h"

int main(void)
{
    /* Port 1 refuses at once: any database attempt fails fast. */
    setenv("KAIVOX_DATABASE_URL", "postgresql://127.0.0.1:1/kaivox", 1);
    setenv("KAIVOX_LOG_LEVEL", "error", 1);
    kv_log_init("test_auth");
    gw_auth_t *a = gw_auth_new(5000);
    gw_principal_t p;
    char key[GW_KEY_LEN + 1], bad[64];
    gw_key_generate(key);

    KVT_EQ_INT(gw_auth_check(a, "", "t1", &p), GW_AUTH_INVALID, "empty key is invalid without the database");
    KVT_EQ_INT(gw_auth_check(a, "kv1_short", "t2", &p), GW_AUTH_INVALID, "short key is invalid without the database");
    snprintf(bad, sizeof bad, "%s", key);
    bad[20] = bad[20] == 'x' ? 'y' : 'x';
    KVT_EQ_INT(gw_auth_check(a, bad, "t3", &p), GW_AUTH_INVALID, "checksum mismatch is invalid without the database");
    snprintf(bad, sizeof bad, "%s", key);
    bad[20] = '!';
    KVT_EQ_INT(gw_auth_check(a, bad, "t4", &p), GW_AUTH_INVALID, "bad alphabet is invalid without the database");
    KVT_EQ_INT(gw_auth_check(a, key, "t5", &p), GW_AUTH_UNAVAILABLE,
               "a well-formed key asks the database (unreachable: unavailable, not invalid)");
    KVT_EQ_INT(gw_auth_check(a, key, "t6", &p), GW_AUTH_UNAVAILABLE,
               "an unavailable answer is not cached as invalid");
    gw_auth_forget(a, "not-a-hash");
    gw_auth_forget(a, NULL);
    gw_auth_destroy(&a);
    KVT_OK(a == NULL, "destroy nulls the pointer");
    gw_auth_destroy(&a);
    return kvt_done();
}
