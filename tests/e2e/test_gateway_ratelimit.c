/*
 * test_gateway_ratelimit.c -- the per-key fixed window: X-RateLimit-*
 * headers count down on every authenticated answer, request limit+1 is 429
 * "Too many requests." with Retry-After, other keys are not affected.
 * Sends limit+1 requests (KAIVOX_RATE_LIMIT, 600 by default) over one
 * kept-alive connection, to a route the gateway answers itself (404) so the
 * test measures the gateway and not a service.
 */
#include <time.h>

#include "gw_e2e.h"

int main(void)
{
    int64_t ta, tb;
    char ka[64], kb[64];
    if (kvt_tenant("gw-rl-a", NULL, &ta, ka) != 0 || kvt_tenant("gw-rl-b", NULL, &tb, kb) != 0) {
        KVT_OK(0, "tenants and keys can be created");
        return kvt_done();
    }

    long long limit = -1, remaining = -1, reset = -1, prev_remaining;
    kvt_resp_t r = kvt_api(ka, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "first request is served");
    KVT_OK(gw_hdr_ll(&r, "X-RateLimit-Limit", &limit) == 0 && limit > 0, "X-RateLimit-Limit is present");
    KVT_OK(gw_hdr_ll(&r, "X-RateLimit-Remaining", &remaining) == 0 && remaining == limit - 1,
           "X-RateLimit-Remaining is limit - 1 after the first request");
    long long now = (long long)time(NULL);
    KVT_OK(gw_hdr_ll(&r, "X-RateLimit-Reset", &reset) == 0 && reset > now - 2 && reset <= now + 61,
           "X-RateLimit-Reset is epoch seconds within the next minute");
    kvt_resp_free(&r);
    if (limit <= 0 || limit > 20000) {
        KVT_OK(0, "the limit (%lld) is small enough to exhaust in a test", limit);
        return kvt_done();
    }

    /* Use up the window. */
    int decreasing = 1, served = 1;
    prev_remaining = remaining;
    for (long long i = 1; i < limit; i++) {
        r = kvt_api(ka, "GET", "/api/v1/rate-limit-probe", NULL);
        long long rem = -1;
        if (r.status != 404)
            served = 0;
        if (gw_hdr_ll(&r, "X-RateLimit-Remaining", &rem) != 0 || rem != prev_remaining - 1)
            decreasing = 0;
        prev_remaining = rem;
        kvt_resp_free(&r);
    }
    KVT_OK(served, "all %lld requests within the limit are served", limit);
    KVT_OK(decreasing, "X-RateLimit-Remaining counts down by one per request");
    KVT_EQ_INT(prev_remaining, 0, "X-RateLimit-Remaining is 0 at the limit");

    r = kvt_api(ka, "GET", "/api/v1/services", NULL);
    long long retry = -1, rem = -1, lim = -1;
    KVT_EQ_INT(r.status, 429, "request limit+1 is 429");
    KVT_OK(gw_is_error(&r, "Too many requests."), "429 says Too many requests.");
    KVT_OK(gw_hdr_ll(&r, "Retry-After", &retry) == 0 && retry >= 1 && retry <= 60,
           "429 carries Retry-After in seconds (1..60, got %lld)", retry);
    KVT_OK(gw_hdr_ll(&r, "X-RateLimit-Remaining", &rem) == 0 && rem == 0, "429 carries X-RateLimit-Remaining 0");
    KVT_OK(gw_hdr_ll(&r, "X-RateLimit-Limit", &lim) == 0 && lim == limit, "429 carries X-RateLimit-Limit");
    KVT_OK(gw_has_hdr(&r, "X-RateLimit-Reset"), "429 carries X-RateLimit-Reset");
    KVT_OK(gw_has_hdr(&r, "X-Request-Id"), "429 carries X-Request-Id");
    kvt_resp_free(&r);
    r = kvt_api(ka, "POST", "/api/v1/customers", "{}");
    KVT_EQ_INT(r.status, 429, "the limit applies to every route of the key");
    kvt_resp_free(&r);

    r = kvt_api(kb, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "another tenant's key is not limited by the first");
    KVT_OK(gw_hdr_ll(&r, "X-RateLimit-Remaining", &rem) == 0 && rem == limit - 1,
           "another key has its own count");
    kvt_resp_free(&r);
    return kvt_done();
}
