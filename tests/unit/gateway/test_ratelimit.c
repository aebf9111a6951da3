/*
 * test_ratelimit.c -- fixed-window counting: the limit, the headers'
 * values, the window reset, and keys counted apart.
 */
#include <stdio.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_ratelimit.h"

int main(void)
{
    gw_rl_result_t r;
    int64_t start = 0;
    int count = 0;

    gw_rl_step(&start, &count, 1000, 60, 3, &r);
    KVT_OK(r.allowed && r.limit == 3 && r.remaining == 2 && r.reset == 1060,
          "first request opens a window");
    gw_rl_step(&start, &count, 1010, 60, 3, &r);
    gw_rl_step(&start, &count, 1020, 60, 3, &r);
    KVT_OK(r.allowed && r.remaining == 0, "the limit-th request is allowed with 0 remaining");
    gw_rl_step(&start, &count, 1030, 60, 3, &r);
    KVT_OK(!r.allowed && r.remaining == 0 && r.retry_after == 30 && r.reset == 1060,
          "one over the limit is refused with Retry-After until the window ends");
    gw_rl_step(&start, &count, 1059, 60, 3, &r);
    KVT_OK(!r.allowed && r.retry_after == 1, "Retry-After is at least one second");
    gw_rl_step(&start, &count, 1060, 60, 3, &r);
    KVT_OK(r.allowed && r.remaining == 2 && r.reset == 1120, "a new window starts after 60 s");

    gw_ratelimit_t *rl = gw_ratelimit_new(2, 60);
    gw_ratelimit_hit(rl, 1, 500, &r);
    gw_ratelimit_hit(rl, 1, 500, &r);
    gw_ratelimit_hit(rl, 1, 500, &r);
    KVT_OK(!r.allowed, "key 1 is limited after 2");
    gw_ratelimit_hit(rl, 2, 500, &r);
    KVT_OK(r.allowed && r.remaining == 1, "key 2 is counted apart from key 1");
    for (int64_t k = 100; k < 20100; k++)
        gw_ratelimit_hit(rl, k, 501, &r);
    KVT_OK(r.allowed, "many keys fit in the bounded table");
    gw_ratelimit_destroy(&rl);
    KVT_OK(rl == NULL, "destroy nulls the pointer");
    gw_ratelimit_destroy(&rl);
    return kvt_done();
}
