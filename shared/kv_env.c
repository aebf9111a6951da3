/*
 * kv_env.c -- settings from KAIVOX_* environment variables.
 *
 * The only place that reads the environment.  A malformed integer setting
 * stops the process at start-up (exit 2) rather than running half-configured.
 */
#include "kv_env.h"
#include "kv_log.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

const char *kv_env_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

int64_t kv_env_int(const char *name, int64_t def, int64_t min, int64_t max)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < min || x > max) {
        kv_error(NULL, "setting %s must be a whole number between %lld and %lld",
                 name, (long long)min, (long long)max);
        exit(2);
    }
    return (int64_t)x;
}

int64_t kv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kv_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t kv_mono_us(void)
{
    return kv_mono_ns() / 1000;
}

int64_t kv_mono_ms(void)
{
    return kv_mono_ns() / 1000000;
}

void kv_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
