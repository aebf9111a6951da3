/*
 * test_console.c -- the console's pure parts and its workers, without a
 * database: the password rule; Argon2id hashes that verify, carry their
 * parameters, are salted, and reject a wrong password or a malformed
 * encoding (and a missing hash still costs a verification); tokens and
 * their shape; the CSRF token (deterministic, tied to the session and the
 * secret); the origin parser and list; and the console workers: a job runs
 * off the calling thread and is answered through the wake-up descriptor,
 * heavy jobs leave a worker free for light ones, a job that waits too long
 * is answered 503 by gw_work_tick and its late outcome dropped, a full
 * queue refuses at once, and a pool stopped with jobs in it answers them.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_console.h"
#include "../../../services/gateway/gw_password.h"
#include "../../../services/gateway/gw_work.h"
#include "kv_env.h"
#include "kv_log.h"

/* This thread's CPU time in microseconds: the work a verification does,
 * whatever else the machine is busy with (wall time is not a test). */
static int64_t s_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void t_password(void)
{
    KVT_OK(gw_password_problem("correct horse") == NULL, "rule: 13 characters pass");
    KVT_OK(gw_password_problem("short") != NULL, "rule: under 10 characters fail");
    KVT_OK(gw_password_problem("ten chars!") == NULL, "rule: exactly 10 pass");
    KVT_OK(gw_password_problem("éééééééééé") == NULL, "rule: counted in characters, not bytes");
    KVT_OK(gw_password_problem("line one\nline two") != NULL, "rule: no control characters");
    char long_pw[300];
    memset(long_pw, 'a', 257);
    long_pw[257] = '\0';
    KVT_OK(gw_password_problem(long_pw) != NULL, "rule: over 256 characters fail");
    KVT_OK(gw_password_problem(NULL) != NULL, "rule: NULL is required");

    char h1[GW_PW_ENCODED_MAX], h2[GW_PW_ENCODED_MAX];
    KVT_EQ_INT(gw_password_hash("correct horse battery", h1), 0, "argon2: hash");
    KVT_OK(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0, "argon2: Argon2id with its parameters in the encoding (%.40s)", h1);
    KVT_EQ_INT(gw_password_hash("correct horse battery", h2), 0, "argon2: hash again");
    KVT_OK(strcmp(h1, h2) != 0, "argon2: salted (two hashes of one password differ)");
    KVT_OK(gw_password_verify(h1, "correct horse battery"), "argon2: the password verifies");
    KVT_OK(!gw_password_verify(h1, "correct horse batterY"), "argon2: another does not");
    KVT_OK(!gw_password_verify("$argon2id$v=19$garbage", "x"), "argon2: a malformed encoding does not");
    KVT_OK(!gw_password_verify("plain text", "plain text"), "argon2: a non-Argon2id string never verifies");
    KVT_EQ_INT(gw_password_init(), 0, "argon2: the dummy hash");
    int64_t t0 = s_cpu_us();
    (void)gw_password_verify(h1, "wrong password");
    int64_t real = s_cpu_us() - t0;
    t0 = s_cpu_us();
    KVT_OK(!gw_password_verify(NULL, "anything"), "argon2: no hash never verifies");
    int64_t dummy = s_cpu_us() - t0;
    /* generous: the dummy verification is real work, within a factor of the real one */
    KVT_OK(dummy * 4 >= real, "argon2: ... but costs a verification all the same "
           "(%lld us vs %lld us of CPU)", (long long)dummy, (long long)real);
}

static void t_tokens(void)
{
    char a[GW_TOKEN_LEN + 1], b[GW_TOKEN_LEN + 1];
    KVT_EQ_INT(gw_token_new(a), 0, "token: made");
    KVT_EQ_INT(gw_token_new(b), 0, "token: made again");
    KVT_EQ_INT(strlen(a), 43, "token: 43 characters (32 bytes, base64url)");
    KVT_OK(strcmp(a, b) != 0, "token: random");
    KVT_OK(gw_token_shape_ok(a), "token: its shape passes");
    KVT_OK(!gw_token_shape_ok("short"), "token: a short one fails");
    char bad[44];
    memcpy(bad, a, 44);
    bad[5] = '+';
    KVT_OK(!gw_token_shape_ok(bad), "token: + is not base64url");
    KVT_OK(!gw_token_shape_ok(NULL), "token: NULL fails");
    char hex[65];
    gw_sha256_hex("abc", hex);
    KVT_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256: the known digest of abc");

    unsigned char s1[32], s2[32];
    memset(s1, 1, sizeof s1);
    memset(s2, 2, sizeof s2);
    char c1[44], c2[44], c3[44], c4[44];
    gw_csrf_token(s1, 32, a, c1);
    gw_csrf_token(s1, 32, a, c2);
    gw_csrf_token(s1, 32, b, c3);
    gw_csrf_token(s2, 32, a, c4);
    KVT_OK(strcmp(c1, c2) == 0 && gw_token_shape_ok(c1), "csrf: the same session and secret give the same token (any instance)");
    KVT_OK(strcmp(c1, c3) != 0, "csrf: another session, another token");
    KVT_OK(strcmp(c1, c4) != 0, "csrf: another secret, another token");
    KVT_OK(strcmp(c1, a) != 0, "csrf: not the session token itself");
    KVT_OK(gw_str_equal_ct(c1, c2) && !gw_str_equal_ct(c1, c3) && !gw_str_equal_ct("ab", "abc"),
           "compare: constant-time equality");
}

static void t_origins(void)
{
    char o[128];
    KVT_OK(gw_url_origin("https://Console.Example.com/settings?x=1", o, sizeof o) == 0 &&
           strcmp(o, "https://console.example.com") == 0, "origin: of a URL, lower-cased, without path");
    KVT_OK(gw_url_origin("http://127.0.0.1:8080", o, sizeof o) == 0 && strcmp(o, "http://127.0.0.1:8080") == 0,
           "origin: an Origin header as is");
    KVT_OK(gw_url_origin("ftp://x.example/", o, sizeof o) != 0, "origin: only http and https");
    KVT_OK(gw_url_origin("https://user@evil.example/", o, sizeof o) != 0, "origin: userinfo refused");
    KVT_OK(gw_url_origin("https:///path", o, sizeof o) != 0, "origin: no host refused");
    KVT_OK(gw_url_origin("null", o, sizeof o) != 0, "origin: null refused");
    KVT_OK(gw_url_origin(NULL, o, sizeof o) != 0, "origin: NULL refused");
    KVT_OK(gw_origin_listed("https://a.example", "https://b.example, https://A.example/"), "origins: listed (case, trailing slash)");
    KVT_OK(!gw_origin_listed("https://a.example", "https://a.example.evil"), "origins: no prefix matches");
    KVT_OK(!gw_origin_listed("https://a.example:444", "https://a.example"), "origins: the port counts");
    KVT_OK(!gw_origin_listed("http://a.example", "https://a.example"), "origins: the scheme counts");
    KVT_OK(gw_method_unsafe("POST") && gw_method_unsafe("DELETE") && gw_method_unsafe("PATCH") &&
           !gw_method_unsafe("GET") && !gw_method_unsafe("HEAD"), "methods: which ones change state");
}

/* ---- the workers --------------------------------------------------------- */

typedef struct {
    gw_job_t job;
    int sleep_ms;
    pthread_t ran_on;
    int ran;
    int done_rc;
    int done_calls;
    atomic_int *released;
    atomic_int *running_heavy;
    atomic_int *max_heavy;
} s_job_t;

static void s_run(gw_job_t *j, kv_db_t *db)
{
    s_job_t *x = (s_job_t *)j;
    (void)db;
    x->ran_on = pthread_self();
    if (x->job.heavy) {
        int n = atomic_fetch_add(x->running_heavy, 1) + 1;
        int m = atomic_load(x->max_heavy);
        while (n > m && !atomic_compare_exchange_weak(x->max_heavy, &m, n))
            ;
    }
    usleep((useconds_t)x->sleep_ms * 1000);
    if (x->job.heavy)
        atomic_fetch_sub(x->running_heavy, 1);
    x->ran = 1;
}

static void s_done(gw_job_t *j, int rc)
{
    s_job_t *x = (s_job_t *)j;
    x->done_rc = rc;
    x->done_calls++;
}

static void s_release(gw_job_t *j)
{
    s_job_t *x = (s_job_t *)j;
    atomic_fetch_add(x->released, 1);   /* the test owns the memory */
}

static atomic_int s_released, s_running_heavy, s_max_heavy;

static void s_init(s_job_t *x, int heavy, int sleep_ms, int wait_ms)
{
    memset(x, 0, sizeof *x);
    x->job.run = s_run;
    x->job.done = s_done;
    x->job.release = s_release;
    x->job.heavy = heavy;
    x->job.wait_ms = wait_ms;
    x->sleep_ms = sleep_ms;
    x->released = &s_released;
    x->running_heavy = &s_running_heavy;
    x->max_heavy = &s_max_heavy;
}

/* Serves w's wake-ups and ticks like the loop, until every job of js has
 * its done() or timeout_ms passed. */
static void s_serve(gw_work_t *w, s_job_t *js, int n, int timeout_ms)
{
    int64_t until = kv_mono_ms() + timeout_ms;
    for (;;) {
        int all = 1;
        for (int i = 0; i < n; i++)
            all &= js[i].done_calls > 0;
        if (all || kv_mono_ms() > until)
            return;
        struct pollfd p = { gw_work_wake_fd(w), POLLIN, 0 };
        if (poll(&p, 1, 50) > 0)
            gw_work_on_wake(w);
        gw_work_tick(w);
    }
}

static void t_workers(void)
{
    gw_work_t *w = gw_work_new(3, 4);
    KVT_OK(w != NULL, "workers: started");
    if (!w)
        return;
    static s_job_t a;
    s_init(&a, 0, 0, 2000);
    KVT_EQ_INT(gw_work_submit(w, &a.job), 0, "workers: a job is queued");
    s_serve(w, &a, 1, 5000);
    KVT_OK(a.ran && a.done_calls == 1 && a.done_rc == GW_WORK_OK, "workers: it ran, and done() came once with OK");
    KVT_OK(!pthread_equal(a.ran_on, pthread_self()), "workers: ... on a worker, not the calling (loop) thread");

    /* three heavy jobs and a light one: at most 2 heavy at once, the light one not held up */
    static s_job_t hj[4];
    atomic_store(&s_max_heavy, 0);
    for (int i = 0; i < 3; i++)
        s_init(&hj[i], 1, 400, 10000);
    s_init(&hj[3], 0, 0, 10000);
    for (int i = 0; i < 4; i++)
        gw_work_submit(w, &hj[i].job);
    int64_t t0 = kv_mono_ms();
    s_serve(w, &hj[3], 1, 5000);
    int64_t light = kv_mono_ms() - t0;
    s_serve(w, hj, 4, 10000);
    KVT_OK(hj[3].done_calls == 1 && light < 350, "workers: a light job is not held up by heavy ones (%lld ms)", (long long)light);
    KVT_EQ_INT(atomic_load(&s_max_heavy), 2, "workers: at most threads - 1 heavy jobs at once");

    /* a job that waits too long: 503, and its late outcome is dropped */
    static s_job_t slow;
    s_init(&slow, 0, 800, 200);
    int rel0 = atomic_load(&s_released);
    gw_work_submit(w, &slow.job);
    s_serve(w, &slow, 1, 5000);
    KVT_OK(slow.done_calls == 1 && slow.done_rc == GW_WORK_UNAVAILABLE, "workers: past its wait, done() says unavailable");
    int64_t until = kv_mono_ms() + 3000;
    while (atomic_load(&s_released) == rel0 && kv_mono_ms() < until) {
        struct pollfd p = { gw_work_wake_fd(w), POLLIN, 0 };
        if (poll(&p, 1, 50) > 0)
            gw_work_on_wake(w);
    }
    KVT_OK(slow.ran && slow.done_calls == 1 && atomic_load(&s_released) == rel0 + 1,
           "workers: ... the late outcome is dropped (no second done()) and the job released");

    /* a full queue refuses at once: 2 heavy run, the other 4 wait (the bound) */
    static s_job_t many[8];
    int refused = 0;
    for (int i = 0; i < 8; i++) {
        s_init(&many[i], 1, 300, 10000);
        if (gw_work_submit(w, &many[i].job) != 0) {
            refused++;
            many[i].done_calls = 1;          /* never queued: nothing to wait for */
        }
        usleep(20000);
    }
    KVT_OK(refused >= 1 && refused <= 2, "workers: a full queue refuses (%d of 8 refused)", refused);
    /* stop with jobs still in it: every one is answered */
    gw_work_destroy(&w);
    int answered = 1;
    for (int i = 0; i < 8; i++)
        answered &= many[i].done_calls == 1;
    KVT_OK(answered && w == NULL, "workers: stopping answers every job still there");
}

int main(void)
{
    setenv("KAIVOX_DATABASE_URL", "postgresql://127.0.0.1:1/none?connect_timeout=1", 1);
    kv_log_init("test");
    t_password();
    t_tokens();
    t_origins();
    t_workers();
    return kvt_done();
}
