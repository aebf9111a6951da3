/*
 * gw_ratelimit.h -- fixed-window request counting per API key.
 *
 * Each key gets `limit` requests per window of `window_s` seconds; the
 * window starts with the key's first request after the previous one ended.
 * The table is bounded (set-associative, a mutex per set): with more active
 * keys than slots the key whose window started earliest in a set is
 * forgotten, which can only make the limit more lenient, never wrong for a
 * client.  Thread-safe.
 */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <stdint.h>

typedef struct gw_ratelimit gw_ratelimit_t;

typedef struct {
    int allowed;             /* 1: serve the request; 0: answer 429 */
    int limit;               /* X-RateLimit-Limit */
    int remaining;           /* X-RateLimit-Remaining (>= 0) */
    int64_t reset;           /* X-RateLimit-Reset: epoch seconds the window ends */
    int retry_after;         /* Retry-After seconds (>= 1), meaningful when !allowed */
} gw_rl_result_t;

/* limit >= 1, window_s >= 1.  Caller owns the result. */
gw_ratelimit_t *gw_ratelimit_new(int limit, int window_s);
void gw_ratelimit_destroy(gw_ratelimit_t **prl);

/* Counts one request of key_id (> 0) at now_s (epoch seconds). */
void gw_ratelimit_hit(gw_ratelimit_t *rl, int64_t key_id, int64_t now_s, gw_rl_result_t *out);

/* The pure window step behind gw_ratelimit_hit, for unit tests: updates the
 * window state (*start, *count) for one request at now_s. */
void gw_rl_step(int64_t *start, int *count, int64_t now_s, int window_s, int limit,
                gw_rl_result_t *out);

#endif
