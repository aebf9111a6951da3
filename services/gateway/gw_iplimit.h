/*
 * gw_iplimit.h -- the public listener's per-client tables: open
 * connections per client address, and failed authentications per client
 * address.
 *
 * Both are keyed by gw_addr_client() (an IPv4 address, an IPv6 /64), both
 * have a fixed size chosen at start, and neither is thread-safe: the event
 * loop thread owns them.
 *
 * Connections (gw_ipcount_t): how many connections each address holds, so
 * that accept can refuse the one over KAIVOX_HTTP_MAX_CONNECTIONS_PER_IP at
 * once.  An address is in the table only while it holds a connection, so
 * the table never needs more entries than the listener has connections.
 *
 * Failed authentications (gw_authfail_t): a fixed window per address,
 * started by its first failure; `limit` failures within `window_s` seconds
 * block the address until the window ends (429 with Retry-After).  The table
 * is set-associative (1024 sets of 4); with more failing addresses than
 * that, the address whose window began earliest in a set is forgotten,
 * which can only make the limit more lenient, never block someone wrongly.
 */
#ifndef GW_IPLIMIT_H
#define GW_IPLIMIT_H

#include <stdint.h>

#include "gw_addr.h"

/* ---- connections per address --------------------------------------------- */

typedef struct gw_ipcount gw_ipcount_t;

/* A table for up to capacity (>= 1) addresses at once.  Caller owns it. */
gw_ipcount_t *gw_ipcount_new(int capacity);
void gw_ipcount_destroy(gw_ipcount_t **pt);
/* Connections a holds now (0 when absent). */
int gw_ipcount_get(const gw_ipcount_t *t, const gw_addr_t *a);
/* One more connection of a.  0, or -1 when the table is full (the
 * connection is then not counted: the caller must not gw_ipcount_sub it). */
int gw_ipcount_add(gw_ipcount_t *t, const gw_addr_t *a);
/* One connection of a fewer; the entry goes when it reaches 0. */
void gw_ipcount_sub(gw_ipcount_t *t, const gw_addr_t *a);
/* Addresses in the table. */
int gw_ipcount_size(const gw_ipcount_t *t);

/* ---- failed authentications per address ------------------------------------ */

typedef struct gw_authfail gw_authfail_t;

/* limit failures (0: never block) per window_s (>= 1) seconds.  Caller
 * owns the result. */
gw_authfail_t *gw_authfail_new(int limit, int window_s);
void gw_authfail_destroy(gw_authfail_t **pt);
/* 0 when a may try to authenticate at now_s (epoch seconds); else the
 * seconds until its window ends (>= 1), for Retry-After. */
int gw_authfail_blocked(gw_authfail_t *t, const gw_addr_t *a, int64_t now_s);
/* Records one failed authentication of a at now_s. */
void gw_authfail_record(gw_authfail_t *t, const gw_addr_t *a, int64_t now_s);

#endif
