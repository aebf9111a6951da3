/*
 * gw_stats.h -- the gateway's counters, for operators (GET /admin/v1/stats)
 * and for the tests that prove what an attack does not cost (e.g. "300
 * forged keys, zero key lookups").  Process-wide, lock-free: any thread
 * adds, the admin thread reads.
 */
#ifndef GW_STATS_H
#define GW_STATS_H

#include <stdatomic.h>
#include <jansson.h>

typedef struct {
    /* API keys */
    atomic_llong key_lookups;        /* database lookups of a key (cache misses) */
    atomic_llong key_refused;        /* keys refused without a lookup: bad shape,
                                        no valid checksum, CRC key not legacy */
    atomic_llong key_negative_hits;  /* unknown/revoked keys answered from the negative cache */
    atomic_llong key_wait_timeouts;  /* checks answered 503 after waiting too long for a lookup */
    atomic_int legacy_keys;          /* keys in the legacy set */
    /* the public listener */
    atomic_int connections;          /* open now */
    atomic_int client_addresses;     /* distinct client addresses holding connections now */
    atomic_llong refused_per_ip;     /* refused at accept: KAIVOX_HTTP_MAX_CONNECTIONS_PER_IP */
    atomic_llong refused_total;      /* refused at accept: KAIVOX_HTTP_MAX_CONNECTIONS */
    atomic_llong cut_headers;        /* closed: headers not complete within their deadline */
    atomic_llong cut_body;           /* closed: body not complete within its deadline */
    atomic_llong auth_fail_limited;  /* 429: too many failed authentications from an address */
    /* the event loop's poll before sleeping (gw_poll.h) */
    atomic_llong poll_caught;        /* waits that an event ended within the poll */
    atomic_llong poll_slept;         /* waits that polled, then slept */
    atomic_llong poll_deferred;      /* waits that slept at once: another gateway
                                        of the host was polling */
} gw_stats_t;

extern gw_stats_t gw_stats;

/* The counters as a JSON object.  Caller owns the result. */
json_t *gw_stats_json(void);

#endif
