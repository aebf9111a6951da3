/*
 * ssrf.h -- the guard that keeps webhook deliveries away from internal
 * networks (server-side request forgery).
 *
 * A URL is accepted at creation only when every address its host resolves
 * to is a public unicast address; at delivery time the deliverer checks the
 * address curl is about to connect to (CURLOPT_OPENSOCKETFUNCTION), so a DNS
 * answer that changed since (rebinding) cannot reach an internal address
 * either.  KAIVOX_WEBHOOK_ALLOW_PRIVATE lifts the guard: "1" for every
 * address (local development), "loopback" for 127.0.0.0/8 and ::1 only (the
 * test stack, whose receiver listens on loopback).
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

/* Pure.  Why sa (AF_INET or AF_INET6) is not a public unicast address:
 * "loopback", "private", "shared", "link-local", "multicast",
 * "unspecified", "reserved", "documentation", "unique-local",
 * "ipv4-mapped", "broadcast"; NULL when it is public.  Any other family
 * gives "unsupported". */
const char *hook_ssrf_class(const struct sockaddr *sa);

/* Pure.  1 when policy lets a delivery connect to sa, else 0. */
int hook_ssrf_allowed(const struct sockaddr *sa, hook_allow_t policy);

/* Checks a webhook URL: absolute http or https URL of at most 2048 bytes
 * with a host; then (resolving the host with getaddrinfo, blocking) every
 * address must be allowed by policy.  0 when acceptable; -1 with a message
 * for the client in err. */
int hook_url_check(const char *url, hook_allow_t policy, char *err, size_t err_size);

#endif
