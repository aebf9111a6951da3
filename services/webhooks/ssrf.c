/*
 * ssrf.c -- classification of IP addresses and the webhook URL check.
 *
 * hook_ssrf_class() is a pure table of the special-purpose ranges of
 * RFC 6890 and friends that a webhook must never reach; the URL check
 * parses with libcurl's own URL parser (so we judge the host curl will
 * use), then resolves it.  The delivery-time check lives in deliver.c and
 * calls hook_ssrf_allowed() on the address curl is about to connect to.
 */
#include "ssrf.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kv_env.h"
#include "kv_log.h"

#define S_URL_MAX 2048

hook_allow_t hook_allow_from_env(void)
{
    const char *v = kv_env_str("KAIVOX_WEBHOOK_ALLOW_PRIVATE", "0");
    if (strcmp(v, "0") == 0)
        return HOOK_ALLOW_PUBLIC;
    if (strcmp(v, "1") == 0)
        return HOOK_ALLOW_ALL;
    if (strcmp(v, "loopback") == 0)
        return HOOK_ALLOW_LOOPBACK;
    kv_error(NULL, "KAIVOX_WEBHOOK_ALLOW_PRIVATE must be 0, 1 or loopback");
    exit(2);
}

/* One IPv4 range: network (host order) and prefix length. */
typedef struct { uint32_t net; int bits; const char *why; } s_v4_range_t;

static const s_v4_range_t s_v4[] = {
    { 0x00000000u,  8, "unspecified" },   /* 0.0.0.0/8 "this network" */
    { 0x0A000000u,  8, "private" },       /* 10.0.0.0/8 */
    { 0x64400000u, 10, "shared" },        /* 100.64.0.0/10 carrier-grade NAT */
    { 0x7F000000u,  8, "loopback" },      /* 127.0.0.0/8 */
    { 0xA9FE0000u, 16, "link-local" },    /* 169.254.0.0/16 (cloud metadata) */
    { 0xAC100000u, 12, "private" },       /* 172.16.0.0/12 */
    { 0xC0000000u, 24, "reserved" },      /* 192.0.0.0/24 IETF assignments */
    { 0xC0000200u, 24, "documentation" }, /* 192.0.2.0/24 */
    { 0xC0A80000u, 16, "private" },       /* 192.168.0.0/16 */
    { 0xC6120000u, 15, "reserved" },      /* 198.18.0.0/15 benchmarking */
    { 0xC6336400u, 24, "documentation" }, /* 198.51.100.0/24 */
    { 0xCB007100u, 24, "documentation" }, /* 203.0.113.0/24 */
    { 0xFFFFFFFFu, 32, "broadcast" },     /* before 240/4, more specific */
    { 0xE0000000u,  4, "multicast" },     /* 224.0.0.0/4 */
    { 0xF0000000u,  4, "reserved" },      /* 240.0.0.0/4 */
};

static const char *s_class_v4(uint32_t a)
{
    for (size_t i = 0; i < sizeof s_v4 / sizeof s_v4[0]; i++) {
        uint32_t mask = s_v4[i].bits == 0 ? 0 : 0xFFFFFFFFu << (32 - s_v4[i].bits);
        if ((a & mask) == s_v4[i].net)
            return s_v4[i].why;
    }
    return NULL;
}

static const char *s_class_v6(const unsigned char b[16])
{
    static const unsigned char zero[16] = { 0 };
    static const unsigned char mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
    if (memcmp(b, zero, 15) == 0 && b[15] == 1)
        return "loopback";
    if (memcmp(b, zero, 16) == 0)
        return "unspecified";
    if (memcmp(b, mapped, 12) == 0)
        return "ipv4-mapped";
    if (memcmp(b, zero, 12) == 0)
        return "reserved";                 /* ::/96 IPv4-compatible, deprecated */
    if (b[0] == 0xff)
        return "multicast";                /* ff00::/8 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return "link-local";               /* fe80::/10 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return "private";                  /* fec0::/10 site-local, deprecated */
    if ((b[0] & 0xfe) == 0xfc)
        return "unique-local";             /* fc00::/7 */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return "documentation";            /* 2001:db8::/32 */
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) {
        /* 64:ff9b::/96 NAT64: judge the IPv4 address it embeds */
        uint32_t a = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                     (uint32_t)b[14] << 8 | b[15];
        return s_class_v4(a);
    }
    return NULL;
}

const char *hook_ssrf_class(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return s_class_v4(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return s_class_v6(in6->sin6_addr.s6_addr);
    }
    return "unsupported";
}

int hook_ssrf_allowed(const struct sockaddr *sa, hook_allow_t policy)
{
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
        return 0;
    if (policy == HOOK_ALLOW_ALL)
        return 1;
    const char *why = hook_ssrf_class(sa);
    if (!why)
        return 1;
    return policy == HOOK_ALLOW_LOOPBACK && strcmp(why, "loopback") == 0;
}

int hook_url_check(const char *url, hook_allow_t policy, char *err, size_t err_size)
{
    int rc = -1;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    struct addrinfo hints, *res = NULL;

    if (strlen(url) > S_URL_MAX) {
        snprintf(err, err_size, "The url may not be greater than %d characters.", S_URL_MAX);
        goto out;
    }
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
        snprintf(err, err_size, "The url must be a valid URL.");
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(err, err_size, "The url must use http or https.");
        goto out;
    }
    /* curl gives an IPv6 literal with its brackets: strip them. */
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
        snprintf(err, err_size, "The url host could not be resolved.");
        goto out;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (!hook_ssrf_allowed(ai->ai_addr, policy)) {
            const char *why = hook_ssrf_class(ai->ai_addr);
            snprintf(err, err_size,
                     "The url host resolves to a %s address, which webhooks may not reach.",
                     why ? why : "forbidden");
            goto out;
        }
    }
    rc = 0;
out:
    if (res)
        freeaddrinfo(res);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}
