/*
 * ssrf.h -- the guard that keeps webhook deliveries away from internal
 * networks (server-side request forgery).  Pure: no I/O, no globals.
 *
 * An address is allowed only when it is public unicast: none of the
 * special-purpose ranges of IANA's IPv4 and IPv6 Special-Purpose Address
 * Registries (RFC 6890 and its updates), no multicast, and for IPv6 only
 * the global unicast space 2000::/3.  Addresses that embed an IPv4 address
 * (IPv4-mapped, 6to4, Teredo, NAT64) are refused whole, whatever they
 * embed.  A URL is parsed by libcurl's own URL parser (so we judge the host
 * curl will connect to); a host name is then resolved by resolve.c and
 * every address it gives must be allowed, and the deliverer connects only
 * to addresses judged here (deliver.c).
 *
 * KAIVOX_WEBHOOK_ALLOW_PRIVATE lifts the guard: "1" for every address
 * (local development), "loopback" for 127.0.0.0/8 and ::1 only (the test
 * stack, whose receivers listen on loopback).
 */
#ifndef HOOK_SSRF_H
#define HOOK_SSRF_H

#include <stddef.h>
#include <sys/socket.h>

typedef enum {
    HOOK_ALLOW_PUBLIC = 0,    /* default: public unicast only */
    HOOK_ALLOW_LOOPBACK = 1,  /* public + loopback */
    HOOK_ALLOW_ALL = 2        /* no restriction */
} hook_allow_t;

/* Reads KAIVOX_WEBHOOK_ALLOW_PRIVATE: unset/""/"0" public, "loopback",
 * "1" all; anything else logs and exits(2) like every bad setting. */
hook_allow_t hook_allow_from_env(void);

/* Pure.  Why sa (AF_INET or AF_INET6) is not a public unicast address --
 * the name of its special-purpose range, e.g. "loopback", "private",
 * "shared", "link-local", "multicast", "unspecified", "this-network",
 * "documentation", "benchmarking", "unique-local", "ipv4-mapped", "6to4",
 * "teredo", "nat64", "reserved" -- or NULL when it is public.  Any other
 * family gives "unsupported". */
const char *hook_ssrf_class(const struct sockaddr *sa);

/* Pure.  1 when policy lets a delivery connect to sa, else 0. */
int hook_ssrf_allowed(const struct sockaddr *sa, hook_allow_t policy);

/* Longest URL accepted, and longest host name. */
#define HOOK_URL_MAX  2048
#define HOOK_HOST_MAX 253

/* A webhook URL taken apart. */
typedef struct {
    char host[HOOK_HOST_MAX + 1];   /* ASCII, lowercase, no brackets, no
                                       trailing dot: the name curl resolves
                                       (an IPv6 address in its canonical
                                       inet_ntop text) */
    int https;                      /* 1: https, 0: http */
    int port;                       /* explicit or the scheme's default */
    int literal;                    /* 1: host is an IP address, in addr */
    struct sockaddr_storage addr;   /* when literal (port 0) */
} hook_url_t;

/* Pure.  Parses url as a webhook URL: an absolute http or https URL of at
 * most HOOK_URL_MAX bytes, without user name or password, whose host is an
 * IP address or an ASCII host name (letters, digits, '-', '_', '.'; an
 * international name in its xn-- form), with no IPv6 zone.  Fills *out.
 * 0, or -1 with a message for the client in err (which never repeats the
 * URL's user-info). */
int hook_url_parse(const char *url, hook_url_t *out, char *err, size_t err_size);

/* Pure.  Like hook_url_parse, for the deliverer: where a stored URL
 * connects to.  Also takes a URL with user-info (endpoints created before
 * user-info was refused keep working).  0 or -1. */
int hook_url_target(const char *url, hook_url_t *out);

/* Pure.  The message for a URL whose literal address sa policy refuses
 * (it names the address's class: the client typed the address). */
void hook_url_refused_literal(const struct sockaddr *sa, char *err, size_t err_size);

/* The one message for a host name that did not resolve, did not resolve in
 * time, or resolved to any address policy refuses: the client cannot tell
 * these apart, so the API reveals nothing of what an internal name
 * resolves to. */
#define HOOK_URL_NAME_REFUSED "The url host could not be resolved to a public address."

#endif
