/*
 * kv_env.h -- settings from KAIVOX_* environment variables.
 *
 * Every setting of every process is an environment variable with a default;
 * README.md lists them.  These helpers are the only place that reads them.
 */
#ifndef KV_ENV_H
#define KV_ENV_H

#include <stdint.h>

/* The variable's value, or def when unset or empty.  The result points into
 * the environment or at def: do not free it. */
const char *kv_env_str(const char *name, const char *def);

/* The variable as an integer, or def when unset or empty.  A value that is
 * not a whole number within [min, max] logs an error and exits(2): a typo
 * in configuration must not start a half-working process. */
int64_t kv_env_int(const char *name, int64_t def, int64_t min, int64_t max);

/* Milliseconds since the Unix epoch, and from a monotonic clock. */
int64_t kv_now_ms(void);
int64_t kv_mono_ms(void);
/* Microseconds and nanoseconds from the same monotonic clock. */
int64_t kv_mono_us(void);
int64_t kv_mono_ns(void);

/* Sleeps ms milliseconds (nothing when ms <= 0), all of them: a signal
 * handled meanwhile does not cut the sleep short. */
void kv_sleep_ms(int64_t ms);

#endif
