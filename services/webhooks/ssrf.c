/*
 * ssrf.c -- classification of IP addresses and the parsing of webhook
 * URLs.  Pure: the tables below and libcurl's URL parser, no DNS.
 *
 * The tables are IANA's IPv4 and IPv6 Special-Purpose Address Registries
 * (as of 2025: RFC 6890 and its updates, including RFC 8190, 9602, 9637
 * and 9780), plus multicast and, for IPv6, everything outside the global
 * unicast space 2000::/3.  Every entry is refused, including the few the
 * registry marks globally reachable (anycast services such as AS112 or
 * TURN): none of them is a webhook receiver.  A range that embeds an IPv4
 * address (IPv4-mapped, 6to4, Teredo, NAT64) is refused whole: what it
 * embeds could be anything, and a translator may sit in our own network.
 * Each table lists more specific ranges before the ranges that contain
 * them; the first match names the class.  tests/unit/webhooks/test_ssrf.c
 * checks every entry at both of its ends and just outside them.
 */
#include "ssrf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kv_env.h"
#include "kv_log.h"

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

/* One range: network in text, prefix length, class. */
typedef struct { const char *net; int bits; const char *why; } s_range_t;

static const s_range_t s_v4[] = {
    { "0.0.0.0",         32, "unspecified" },    /* RFC 1122 "this host" */
    { "0.0.0.0",          8, "this-network" },   /* RFC 791 */
    { "10.0.0.0",         8, "private" },        /* RFC 1918 */
    { "100.64.0.0",      10, "shared" },         /* RFC 6598 carrier-grade NAT */
    { "127.0.0.0",        8, "loopback" },       /* RFC 1122 */
    { "169.254.0.0",     16, "link-local" },     /* RFC 3927 (cloud metadata) */
    { "172.16.0.0",      12, "private" },        /* RFC 1918 */
    { "192.0.0.0",       24, "ietf-protocol" },  /* RFC 6890: DS-Lite 192.0.0.0/29,
                                                    .8 dummy, .9 PCP anycast, .10 TURN
                                                    anycast, .170/.171 NAT64 discovery */
    { "192.0.2.0",       24, "documentation" },  /* RFC 5737 TEST-NET-1 */
    { "192.31.196.0",    24, "as112" },          /* RFC 7535 */
    { "192.52.193.0",    24, "amt" },            /* RFC 7450 */
    { "192.88.99.0",     24, "6to4-relay" },     /* RFC 7526, deprecated */
    { "192.168.0.0",     16, "private" },        /* RFC 1918 */
    { "192.175.48.0",    24, "as112" },          /* RFC 7534 */
    { "198.18.0.0",      15, "benchmarking" },   /* RFC 2544 */
    { "198.51.100.0",    24, "documentation" },  /* RFC 5737 TEST-NET-2 */
    { "203.0.113.0",     24, "documentation" },  /* RFC 5737 TEST-NET-3 */
    { "224.0.0.0",        4, "multicast" },      /* RFC 5771 */
    { "255.255.255.255", 32, "broadcast" },      /* RFC 8190 limited broadcast */
    { "240.0.0.0",        4, "reserved" },       /* RFC 1112 */
};

static const s_range_t s_v6[] = {
    { "::",               128, "unspecified" },     /* RFC 4291 */
    { "::1",              128, "loopback" },        /* RFC 4291 */
    { "::ffff:0:0",        96, "ipv4-mapped" },     /* RFC 4291 */
    { "::",                96, "ipv4-compatible" }, /* RFC 4291, deprecated */
    { "64:ff9b::",         96, "nat64" },           /* RFC 6052 */
    { "64:ff9b:1::",       48, "nat64" },           /* RFC 8215 local-use */
    { "100::",             64, "discard" },         /* RFC 6666 */
    { "100:0:0:1::",       64, "dummy" },           /* RFC 9780 */
    { "2001::",            32, "teredo" },          /* RFC 4380 */
    { "2001:2::",          48, "benchmarking" },    /* RFC 5180 */
    { "2001:3::",          32, "amt" },             /* RFC 7450 */
    { "2001:4:112::",      48, "as112" },           /* RFC 7535 */
    { "2001:10::",         28, "orchid" },          /* RFC 4843, deprecated */
    { "2001:20::",         28, "orchid" },          /* RFC 7343 ORCHIDv2 */
    { "2001:30::",         28, "drone-remote-id" }, /* RFC 9374 */
    { "2001::",            23, "ietf-protocol" },   /* RFC 2928: the rest, anycast
                                                       2001:1::1..3 included */
    { "2001:db8::",        32, "documentation" },   /* RFC 3849 */
    { "2002::",            16, "6to4" },            /* RFC 3056 */
    { "2620:4f:8000::",    48, "as112" },           /* RFC 7534 */
    { "3fff::",            20, "documentation" },   /* RFC 9637 */
    { "5f00::",            16, "srv6" },            /* RFC 9602 segment routing */
    { "fc00::",             7, "unique-local" },    /* RFC 4193 */
    { "fe80::",            10, "link-local" },      /* RFC 4291 */
    { "fec0::",            10, "site-local" },      /* RFC 3879, deprecated */
    { "ff00::",             8, "multicast" },       /* RFC 4291 */
    { "2000::",             3, NULL },              /* global unicast: public */
    { "::",                 0, "reserved" },        /* everything else (RFC 4291) */
};

/* 1 when the first bits bits of a and b (len bytes each) are equal. */
static int s_prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xFF << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

/* The first range of table (n entries, family af, addresses of len bytes)
 * that holds addr: its class (NULL: public).  *matched says whether any
 * range held it. */
static const char *s_lookup(const s_range_t *table, size_t n, int af, const unsigned char *addr,
                            int *matched)
{
    unsigned char net[16];
    for (size_t i = 0; i < n; i++) {
        if (inet_pton(af, table[i].net, net) != 1)
            abort();   /* a typo in the table above: a programmer error */
        if (s_prefix_eq(addr, net, table[i].bits)) {
            *matched = 1;
            return table[i].why;
        }
    }
    *matched = 0;
    return NULL;
}

const char *hook_ssrf_class(const struct sockaddr *sa)
{
    int matched;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return s_lookup(s_v4, sizeof s_v4 / sizeof s_v4[0], AF_INET,
                        (const unsigned char *)&in->sin_addr, &matched);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        const char *why = s_lookup(s_v6, sizeof s_v6 / sizeof s_v6[0], AF_INET6,
                                   in6->sin6_addr.s6_addr, &matched);
        return matched ? why : "reserved";   /* the last entry matches all */
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

void hook_url_refused_literal(const struct sockaddr *sa, char *err, size_t err_size)
{
    const char *why = hook_ssrf_class(sa);
    snprintf(err, err_size, "The url points to a %s address, which webhooks may not reach.",
             why ? why : "forbidden");
}

/* 1 when the authority of url (between "scheme://" and the first '/',
 * '?', '#' or '\') holds an '@': user-info, whatever curl makes of it. */
static int s_has_userinfo(const char *url)
{
    const char *p = strchr(url, ':');
    if (!p)
        return 0;
    p++;
    while (*p == '/' || *p == '\\')
        p++;
    for (; *p && !strchr("/?#\\", *p); p++)
        if (*p == '@')
            return 1;
    return 0;
}

/* 1 when name is a host name we resolve: 1..HOOK_HOST_MAX bytes of ASCII
 * letters, digits, '-', '_' and '.', labels of 1..63 bytes, and a last
 * label that is not all digits (that would be a malformed IPv4 address). */
static int s_valid_name(const char *name)
{
    size_t n = strlen(name), label = 0;
    int digits_only = 1;
    if (n == 0 || n > HOOK_HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
            digits_only = 1;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
        if (!(c >= '0' && c <= '9'))
            digits_only = 0;
        if (++label > 63)
            return 0;
    }
    return label > 0 && !digits_only;
}

/* 1 when every byte of url is one RFC 3986 allows in a URI (unreserved,
 * reserved, or '%' followed by two hex digits): what the API shows back as
 * a "uri" is one.  Spaces, quotes, '<', '>', '\\', '^', '`', '{', '|', '}',
 * control characters and non-ASCII bytes must be percent-encoded. */
static int s_uri_chars(const char *url)
{
    static const char ok[] = "-._~:/?#[]@!$&'()*+,;=";
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            (*p != '\0' && strchr(ok, *p)))
            continue;
        if (*p == '%' && isxdigit(p[1]) && isxdigit(p[2])) {
            p += 2;
            continue;
        }
        return 0;
    }
    return 1;
}

/* hook_url_parse, and with userinfo set, hook_url_target. */
static int s_parse(const char *url, hook_url_t *out, char *err, size_t err_size, int userinfo)
{
    int rc = -1;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *part = NULL;

    memset(out, 0, sizeof *out);
    if (strlen(url) > HOOK_URL_MAX) {
        snprintf(err, err_size, "The url may not be greater than %d characters.", HOOK_URL_MAX);
        goto out;
    }
    if (!s_uri_chars(url)) {
        snprintf(err, err_size, "The url must be a valid URL: percent-encode spaces, quotes "
                 "and other characters a URL may not hold.");
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
    out->https = strcmp(scheme, "https") == 0;
    if (!userinfo && (s_has_userinfo(url) ||
        curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_OPTIONS, &part, 0) == CURLUE_OK)) {
        snprintf(err, err_size, "The url may not contain a user name or password.");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_ZONEID, &part, 0) == CURLUE_OK) {
        snprintf(err, err_size, "The url may not name an IPv6 zone.");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        (out->port = atoi(port)) < 1 || out->port > 65535) {
        snprintf(err, err_size, "The url port must be between 1 and 65535.");
        goto out;
    }

    /* The host as curl will look it up: brackets off an IPv6 literal,
     * lowercase, without the trailing dot of a fully qualified name. */
    size_t hl = strlen(host);
    if (host[0] == '[') {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->addr;
        if (hl < 3 || host[hl - 1] != ']' || hl - 2 > HOOK_HOST_MAX) {
            snprintf(err, err_size, "The url must be a valid URL.");
            goto out;
        }
        memcpy(out->host, host + 1, hl - 2);
        out->host[hl - 2] = '\0';
        if (inet_pton(AF_INET6, out->host, &in6->sin6_addr) != 1) {
            snprintf(err, err_size, "The url must be a valid URL.");
            goto out;
        }
        /* one text per address, lowercase like a name ([FE80::1] and
         * [fe80:0::1] are one host to the deliverer's per-host slots) */
        if (!inet_ntop(AF_INET6, &in6->sin6_addr, out->host, sizeof out->host)) {
            snprintf(err, err_size, "The url must be a valid URL.");
            goto out;
        }
        in6->sin6_family = AF_INET6;
        out->literal = 1;
        rc = 0;
        goto out;
    }
    if (hl > 1 && host[hl - 1] == '.')
        host[--hl] = '\0';
    if (hl > HOOK_HOST_MAX) {
        snprintf(err, err_size, "The url host may not be longer than %d characters.",
                 HOOK_HOST_MAX);
        goto out;
    }
    for (size_t i = 0; i <= hl; i++)
        out->host[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] - 'A' + 'a') : host[i];
    struct sockaddr_in *in = (struct sockaddr_in *)&out->addr;
    if (inet_pton(AF_INET, out->host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;   /* curl writes every IPv4 form as a dotted quad */
        out->literal = 1;
        rc = 0;
        goto out;
    }
    if (!s_valid_name(out->host)) {
        snprintf(err, err_size, "The url host must be an IP address or an ASCII host name "
                 "(an international name in its xn-- form).");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        memset(out, 0, sizeof *out);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(part);
    curl_url_cleanup(u);
    return rc;
}

int hook_url_parse(const char *url, hook_url_t *out, char *err, size_t err_size)
{
    return s_parse(url, out, err, err_size, 0);
}

int hook_url_target(const char *url, hook_url_t *out)
{
    char err[160];
    return s_parse(url, out, err, sizeof err, 1);
}
