/*
 * gw_stats.c -- the gateway's counters (see gw_stats.h).
 */
#include "gw_stats.h"

gw_stats_t gw_stats;

json_t *gw_stats_json(void)
{
    return json_pack(
        "{s:{s:I, s:I, s:I, s:I, s:i}, s:{s:i, s:i, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I}}",
        "keys",
        "lookups", (json_int_t)atomic_load(&gw_stats.key_lookups),
        "refused_without_lookup", (json_int_t)atomic_load(&gw_stats.key_refused),
        "negative_cache_hits", (json_int_t)atomic_load(&gw_stats.key_negative_hits),
        "lookup_wait_timeouts", (json_int_t)atomic_load(&gw_stats.key_wait_timeouts),
        "legacy_keys", atomic_load(&gw_stats.legacy_keys),
        "http",
        "connections", atomic_load(&gw_stats.connections),
        "client_addresses", atomic_load(&gw_stats.client_addresses),
        "refused_per_ip", (json_int_t)atomic_load(&gw_stats.refused_per_ip),
        "refused_total", (json_int_t)atomic_load(&gw_stats.refused_total),
        "cut_headers", (json_int_t)atomic_load(&gw_stats.cut_headers),
        "cut_body", (json_int_t)atomic_load(&gw_stats.cut_body),
        "auth_fail_limited", (json_int_t)atomic_load(&gw_stats.auth_fail_limited),
        "loop",
        "polls_caught", (json_int_t)atomic_load(&gw_stats.poll_caught),
        "polls_slept", (json_int_t)atomic_load(&gw_stats.poll_slept),
        "polls_deferred", (json_int_t)atomic_load(&gw_stats.poll_deferred));
}
