/*
 * gw_addr.h -- client addresses for the public listener's per-address
 * limits: one 16-byte form for IPv4 and IPv6, the "client" an address
 * counts as, trusted proxy lists and X-Forwarded-For.
 *
 * Every address is held as IPv6 (IPv4 as ::ffff:a.b.c.d).  For limits an
 * IPv4 address counts alone, an IPv6 address by its /64: one subscriber
 * usually holds a whole /64, so counting single IPv6 addresses would give
 * one client 2^64 budgets.
 *
 * Trusted proxies (KAIVOX_HTTP_TRUSTED_PROXIES, off by default) are the load
 * balancers in front of the gateway: for a connection from one of them the
 * client is the right-most address of X-Forwarded-For that is not itself a
 * trusted proxy.  From any other peer X-Forwarded-For is ignored, so a
 * client cannot choose whom it is counted as.  Pure functions.
 */
#ifndef GW_ADDR_H
#define GW_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define GW_ADDR_STRLEN 46    /* INET6_ADDRSTRLEN */

typedef struct {
    unsigned char b[16];     /* IPv6, or IPv4-mapped ::ffff:a.b.c.d */
} gw_addr_t;

/* From a socket address (AF_INET or AF_INET6).  0, or -1 for another
 * family (*out is then all zero). */
int gw_addr_from_sockaddr(const struct sockaddr *sa, gw_addr_t *out);
/* From a numeric address text s[0..n) (IPv4 or IPv6, no brackets, no
 * port).  0 or -1. */
int gw_addr_parse(const char *s, size_t n, gw_addr_t *out);
/* As text ("192.0.2.1", "2001:db8::1") into out[GW_ADDR_STRLEN]. */
void gw_addr_format(const gw_addr_t *a, char out[GW_ADDR_STRLEN]);
/* 1 for an IPv4(-mapped) address. */
int gw_addr_is_v4(const gw_addr_t *a);
/* The address the per-client limits count: a itself for IPv4, its /64
 * (the rest zeroed) for IPv6. */
void gw_addr_client(const gw_addr_t *a, gw_addr_t *out);
/* A well-mixed hash of a. */
uint32_t gw_addr_hash(const gw_addr_t *a);
int gw_addr_eq(const gw_addr_t *a, const gw_addr_t *b);

/* A network: the first `bits` bits of net (0..128, IPv4 networks are
 * stored with 96 + their prefix length). */
typedef struct {
    gw_addr_t net;
    int bits;
} gw_cidr_t;

/* Parses a comma- or space-separated list of addresses and networks
 * ("10.0.0.0/8, 192.0.2.7, 2001:db8::/32") into *out (caller owns, free())
 * and *n.  An empty or NULL text is an empty list.  0, or -1 when an item
 * is not an address or network (*out NULL, *n 0). */
int gw_cidr_list_parse(const char *text, gw_cidr_t **out, int *n);
/* 1 when a is inside one of the n networks of list. */
int gw_cidr_list_match(const gw_cidr_t *list, int n, const gw_addr_t *a);

/* The client behind trusted proxies: walks the comma-separated addresses
 * of the X-Forwarded-For value xff from the right, skipping those in
 * trusted, and sets *out to the first one that is not.  When every entry is
 * trusted, the left-most.  Returns 0, or -1 when xff is NULL, empty or an
 * entry on the way is not an address (then *out is untouched: the caller
 * keeps the peer address). */
int gw_xff_client(const char *xff, const gw_cidr_t *trusted, int n, gw_addr_t *out);

#endif
