/*
 * test_env.c -- unit tests of shared/kv_env.c: settings with their
 * defaults and bounds (a bad value exits 2, checked in a child), the
 * monotonic clock's units, and kv_sleep_ms sleeping its whole time even
 * when a signal is handled meanwhile.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/kvt.h"
#include "kv_env.h"

/* The status a child exits with after kv_env_int reads name=value. */
static int s_exit_status(const char *name, const char *value)
{
    pid_t pid = fork();
    if (pid == 0) {
        setenv(name, value, 1);
        if (!freopen("/dev/null", "w", stderr))   /* kv_error's line */
            _exit(3);
        kv_env_int(name, 5, 1, 10);
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static volatile sig_atomic_t s_alarms;

static void s_on_alarm(int sig)
{
    (void)sig;
    s_alarms++;
}

int main(void)
{
    /* ---- settings ---- */
    unsetenv("KVT_ENV_X");
    KVT_EQ_STR(kv_env_str("KVT_ENV_X", "def"), "def", "env_str: unset is the default");
    setenv("KVT_ENV_X", "", 1);
    KVT_EQ_STR(kv_env_str("KVT_ENV_X", "def"), "def", "env_str: empty is the default");
    setenv("KVT_ENV_X", "value", 1);
    KVT_EQ_STR(kv_env_str("KVT_ENV_X", "def"), "value", "env_str: a value is read");

    unsetenv("KVT_ENV_N");
    KVT_EQ_INT(kv_env_int("KVT_ENV_N", 5, 1, 10), 5, "env_int: unset is the default");
    setenv("KVT_ENV_N", "10", 1);
    KVT_EQ_INT(kv_env_int("KVT_ENV_N", 5, 1, 10), 10, "env_int: the upper bound is allowed");
    setenv("KVT_ENV_N", "1", 1);
    KVT_EQ_INT(kv_env_int("KVT_ENV_N", 5, 1, 10), 1, "env_int: the lower bound is allowed");
    KVT_EQ_INT(s_exit_status("KVT_ENV_N", "11"), 2, "env_int: above the bound exits 2");
    KVT_EQ_INT(s_exit_status("KVT_ENV_N", "0"), 2, "env_int: below the bound exits 2");
    KVT_EQ_INT(s_exit_status("KVT_ENV_N", "5ms"), 2, "env_int: trailing text exits 2");
    KVT_EQ_INT(s_exit_status("KVT_ENV_N", "99999999999999999999"), 2, "env_int: overflow exits 2");
    KVT_EQ_INT(s_exit_status("KVT_ENV_N", "7"), 0, "env_int: a good value does not exit");

    /* ---- clocks ---- */
    int64_t ns = kv_mono_ns(), us = kv_mono_us(), ms = kv_mono_ms();
    KVT_OK(us >= ns / 1000 && ms >= ns / 1000000 && ms >= us / 1000,
           "mono: one clock in ns, us and ms, read in that order");
    KVT_OK(kv_now_ms() > 1600000000000LL, "now_ms: milliseconds since the epoch");

    /* ---- kv_sleep_ms ---- */
    int64_t t0 = kv_mono_ms();
    kv_sleep_ms(0);
    kv_sleep_ms(-5);
    kv_sleep_ms(30);
    KVT_OK(kv_mono_ms() - t0 >= 30, "sleep_ms: sleeps at least its time (0 and negative: none)");

    /* a handler without SA_RESTART: nanosleep returns EINTR at every alarm */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, 10000 }, { 0, 10000 } };   /* every 10 ms */
    setitimer(ITIMER_REAL, &it, NULL);
    t0 = kv_mono_ms();
    kv_sleep_ms(120);
    int64_t slept = kv_mono_ms() - t0;
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    KVT_OK(s_alarms > 0, "sleep_ms: signals were handled during the sleep (%d)", (int)s_alarms);
    KVT_OK(slept >= 120, "sleep_ms: ... and it still slept its whole time (%lld ms)", (long long)slept);

    return kvt_done();
}
