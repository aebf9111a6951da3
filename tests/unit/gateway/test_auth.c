/*
 * test_auth.c -- the key cache's contract without a database: a key of the
 * wrong shape is refused (GW_AUTH_INVALID) without any database attempt,
 * while a well-formed key does go to the database (here unreachable, so
 * GW_AUTH_UNAVAILABLE, never a false "valid" or "invalid"), and the caller
 * is never the one that waits for the database: a check answers at once,
 * PENDING when it had to ask, and the answer arrives through the wake-up
 * descriptor.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_auth.h"
#include "../../../services/gateway/gw_keys.h"
#include "kv_env.h"
#include "kv_log.h"

typedef struct {
    int called;
    int rc;
} s_answer_t;

static void s_cb(void *arg, int rc, const gw_principal_t *who)
{
    s_answer_t *a = arg;
    a->called++;
    a->rc = rc;
    (void)who;
}

/* Checks key; when the check is pending, waits (up to 10 s) for its answer
 * the way the event loop does.  *took_ms: how long gw_auth_check itself
 * took. */
static int s_check(gw_auth_t *a, const char *key, int64_t *took_ms)
{
    gw_principal_t p;
    s_answer_t ans = { 0, 0 };
    int64_t t0 = kv_mono_ms();
    int rc = gw_auth_check(a, key, "t", &p, s_cb, &ans);
    if (took_ms)
        *took_ms = kv_mono_ms() - t0;
    if (rc != GW_AUTH_PENDING)
        return rc;
    int64_t until = kv_mono_ms() + 10000;
    while (!ans.called && kv_mono_ms() < until) {
        struct pollfd pf = { gw_auth_wake_fd(a), POLLIN, 0 };
        if (poll(&pf, 1, 100) > 0)
            gw_auth_on_wake(a);
    }
    return ans.called == 1 ? ans.rc : 99;
}

int main(void)
{
    /* Port 1 refuses at once: any database attempt fails fast. */
    setenv("KAIVOX_DATABASE_URL", "postgresql://127.0.0.1:1/kaivox", 1);
    setenv("KAIVOX_LOG_LEVEL", "error", 1);
    kv_log_init("test_auth");
    gw_auth_t *a = gw_auth_new(5000);
    char key[GW_KEY_LEN + 1], bad[64];
    gw_key_generate(key);

    KVT_EQ_INT(s_check(a, "", NULL), GW_AUTH_INVALID, "empty key is invalid without the database");
    KVT_EQ_INT(s_check(a, "kv1_short", NULL), GW_AUTH_INVALID, "short key is invalid without the database");
    snprintf(bad, sizeof bad, "%s", key);
    bad[20] = bad[20] == 'x' ? 'y' : 'x';
    KVT_EQ_INT(s_check(a, bad, NULL), GW_AUTH_INVALID, "checksum mismatch is invalid without the database");
    snprintf(bad, sizeof bad, "%s", key);
    bad[20] = '!';
    KVT_EQ_INT(s_check(a, bad, NULL), GW_AUTH_INVALID, "bad alphabet is invalid without the database");
    KVT_EQ_INT(s_check(a, key, NULL), GW_AUTH_UNAVAILABLE,
               "a well-formed key asks the database (unreachable: unavailable, not invalid)");
    KVT_EQ_INT(s_check(a, key, NULL), GW_AUTH_UNAVAILABLE,
               "an unavailable answer is not cached as invalid");
    KVT_OK(!gw_auth_db_ok(a), "the database is reported unreachable");
    gw_auth_forget(a, "not-a-hash");
    gw_auth_forget(a, NULL);
    gw_auth_destroy(&a);
    KVT_OK(a == NULL, "destroy nulls the pointer");
    gw_auth_destroy(&a);

    /* A database that never answers (a blackhole address: connect waits
     * for its timeout): the check itself still returns at once, and every
     * waiting check is answered when the cache is destroyed. */
    setenv("KAIVOX_DATABASE_URL", "postgresql://192.0.2.1:5432/kaivox", 1);
    a = gw_auth_new(5000);
    gw_principal_t p;
    s_answer_t ans1 = { 0, 0 }, ans2 = { 0, 0 };
    int64_t t0 = kv_mono_ms();
    int rc1 = gw_auth_check(a, key, "b1", &p, s_cb, &ans1);
    int rc2 = gw_auth_check(a, key, "b2", &p, s_cb, &ans2);
    int64_t took = kv_mono_ms() - t0;
    KVT_OK((rc1 == GW_AUTH_PENDING || rc1 == GW_AUTH_UNAVAILABLE) &&
           (rc2 == GW_AUTH_PENDING || rc2 == GW_AUTH_UNAVAILABLE),
           "checks against an unresponsive database do not wait for it");
    KVT_OK(took < 1000, "two checks took %lld ms (the connect timeout is 3 s)", (long long)took);
    gw_auth_destroy(&a);
    KVT_OK((rc1 != GW_AUTH_PENDING || (ans1.called == 1 && ans1.rc == GW_AUTH_UNAVAILABLE)) &&
           (rc2 != GW_AUTH_PENDING || (ans2.called == 1 && ans2.rc == GW_AUTH_UNAVAILABLE)),
           "destroy answers every waiting check exactly once, as unavailable");
    return kvt_done();
}
