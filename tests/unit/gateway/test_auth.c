/*
 * test_auth.c -- the key cache's contract without a database: a key of the
 * wrong shape, without the keyed checksum, or with the legacy CRC checksum
 * but not in the legacy set is refused (GW_AUTH_INVALID) without any
 * database attempt, while a well-formed key (or a legacy one in the set)
 * does go to the database (here unreachable, so GW_AUTH_UNAVAILABLE, never
 * a false "valid" or "invalid"), and the caller is never the one that
 * waits for the database: a check answers at once, PENDING when it had to
 * ask, the answer arrives through the wake-up descriptor, and a lookup that
 * never comes back is answered 503 by gw_auth_tick after GW_AUTH_WAIT_MS.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_auth.h"
#include "../../../services/gateway/gw_keys.h"
#include "../../../services/gateway/gw_stats.h"
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

static int hole_fd = -1;

/* A listening socket on 127.0.0.1 that never accepts; returns its port. */
static int s_blackhole(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    hole_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (hole_fd < 0 || bind(hole_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(hole_fd, 16) != 0 || getsockname(hole_fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    return ntohs(sa.sin_port);
}

int main(void)
{
    /* Port 1 refuses at once: any database attempt fails fast. */
    setenv("KAIVOX_DATABASE_URL", "postgresql://127.0.0.1:1/kaivox", 1);
    setenv("KAIVOX_LOG_LEVEL", "error", 1);
    kv_log_init("test_auth");
    static const unsigned char secret[GW_KEY_SECRET_LEN] = "test-secret-test-secret-test-sec";
    static const unsigned char other[GW_KEY_SECRET_LEN] = "another-secret-another-secret-an";
    char key[GW_KEY_LEN + 1], bad[64], legacy_in[GW_KEY_LEN + 1], legacy_out[GW_KEY_LEN + 1];
    gw_key_generate(secret, key);
    /* two legacy (CRC) keys; only the first is in the legacy set */
    gw_key_generate(secret, legacy_in);
    gw_key_checksum_crc(legacy_in + 4, legacy_in + 36);
    gw_key_generate(secret, legacy_out);
    gw_key_checksum_crc(legacy_out + 4, legacy_out + 36);
    gw_keyset_t legacy;
    gw_keyset_init(&legacy);
    unsigned char d[32];
    gw_key_digest(legacy_in, d);
    gw_keyset_add(&legacy, d);
    gw_keyset_seal(&legacy);
    gw_auth_t *a = gw_auth_new(5000, secret, &legacy);
    KVT_OK(legacy.n == 0, "gw_auth_new takes the legacy set over");

    KVT_EQ_INT(s_check(a, "", NULL), GW_AUTH_INVALID, "empty key is invalid without the database");
    KVT_EQ_INT(s_check(a, "kv1_short", NULL), GW_AUTH_INVALID, "short key is invalid without the database");
    snprintf(bad, sizeof bad, "%s", key);
    bad[20] = bad[20] == 'x' ? 'y' : 'x';
    KVT_EQ_INT(s_check(a, bad, NULL), GW_AUTH_INVALID, "checksum mismatch is invalid without the database");
    snprintf(bad, sizeof bad, "%s", key);
    bad[20] = '!';
    KVT_EQ_INT(s_check(a, bad, NULL), GW_AUTH_INVALID, "bad alphabet is invalid without the database");
    char foreign[GW_KEY_LEN + 1];
    gw_key_generate(other, foreign);
    KVT_EQ_INT(s_check(a, foreign, NULL), GW_AUTH_INVALID,
               "a key minted without this deployment's secret is invalid without the database");
    KVT_EQ_INT(s_check(a, legacy_out, NULL), GW_AUTH_INVALID,
               "a CRC key outside the legacy set is invalid without the database");
    KVT_EQ_INT(atomic_load(&gw_stats.key_lookups), 0, "none of these cost a database lookup");
    KVT_OK(!gw_auth_known(a, key) && !gw_auth_known(a, "junk"), "nothing is known yet");
    KVT_EQ_INT(s_check(a, legacy_in, NULL), GW_AUTH_UNAVAILABLE,
               "a CRC key of the legacy set asks the database");
    usleep(1100 * 1000);   /* past the fail-fast window of that failure */
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

    /* A database that never answers (a listening socket nobody accepts
     * from: libpq's connection waits for its 3 s timeout): the check itself
     * still returns at once, and every waiting check is answered when the
     * cache is destroyed. */
    int hole = s_blackhole();
    KVT_OK(hole > 0, "a local blackhole listener (port %d)", hole);
    char url[96];
    snprintf(url, sizeof url, "postgresql://127.0.0.1:%d/kaivox", hole);
    setenv("KAIVOX_DATABASE_URL", url, 1);
    a = gw_auth_new(5000, secret, NULL);
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

    /* A lookup that never comes back: after GW_AUTH_WAIT_MS gw_auth_tick
     * answers its waiters 503, and from then on misses fail at once. */
    a = gw_auth_new(5000, secret, NULL);
    usleep(200 * 1000);       /* the lookup thread is now stuck connecting (3 s) */
    s_answer_t ans3 = { 0, 0 };
    char key2[GW_KEY_LEN + 1];
    gw_key_generate(secret, key2);
    int64_t t2 = kv_mono_ms();
    int rc3 = gw_auth_check(a, key2, "w1", &p, s_cb, &ans3);
    KVT_EQ_INT(rc3, GW_AUTH_PENDING, "the check does not wait: pending");
    KVT_OK(kv_mono_ms() - t2 < 500, "... and returns at once");
    int64_t t1 = kv_mono_ms();
    while (rc3 == GW_AUTH_PENDING && !ans3.called && kv_mono_ms() - t1 < 5000) {
        gw_auth_tick(a);
        usleep(50 * 1000);
    }
    int64_t waited = kv_mono_ms() - t1;
    KVT_OK(ans3.called == 1 && ans3.rc == GW_AUTH_UNAVAILABLE,
           "a check whose lookup hangs is answered unavailable by gw_auth_tick");
    KVT_OK(waited >= GW_AUTH_WAIT_MS - 300 && waited <= GW_AUTH_WAIT_MS + 700,
           "... after GW_AUTH_WAIT_MS (%lld ms)", (long long)waited);
    char key3[GW_KEY_LEN + 1];
    gw_key_generate(secret, key3);
    s_answer_t ans4 = { 0, 0 };
    KVT_EQ_INT(gw_auth_check(a, key3, "w2", &p, s_cb, &ans4), GW_AUTH_UNAVAILABLE,
               "while a lookup is overdue, another miss fails at once");
    gw_auth_destroy(&a);
    KVT_EQ_INT(ans3.called, 1, "the timed-out waiter was answered exactly once");
    close(hole_fd);
    return kvt_done();
}
