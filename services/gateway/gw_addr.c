/*
 * gw_addr.c -- client addresses, trusted proxies, X-Forwarded-For (see
 * gw_addr.h).
 */
#include "gw_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_mem.h"

static const unsigned char s_v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int gw_addr_from_sockaddr(const struct sockaddr *sa, gw_addr_t *out)
{
    memset(out, 0, sizeof *out);
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
        memcpy(out->b, s_v4_prefix, 12);
        memcpy(out->b + 12, &a4->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
        memcpy(out->b, &a6->sin6_addr, 16);
        return 0;
    }
    return -1;
}

int gw_addr_parse(const char *s, size_t n, gw_addr_t *out)
{
    char buf[GW_ADDR_STRLEN];
    if (!s || n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    unsigned char v4[4];
    if (inet_pton(AF_INET, buf, v4) == 1) {
        memcpy(out->b, s_v4_prefix, 12);
        memcpy(out->b + 12, v4, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out->b) == 1)
        return 0;
    return -1;
}

int gw_addr_is_v4(const gw_addr_t *a)
{
    return memcmp(a->b, s_v4_prefix, 12) == 0;
}

void gw_addr_format(const gw_addr_t *a, char out[GW_ADDR_STRLEN])
{
    const char *ok = gw_addr_is_v4(a)
        ? inet_ntop(AF_INET, a->b + 12, out, GW_ADDR_STRLEN)
        : inet_ntop(AF_INET6, a->b, out, GW_ADDR_STRLEN);
    if (!ok)
        snprintf(out, GW_ADDR_STRLEN, "?");
}

void gw_addr_client(const gw_addr_t *a, gw_addr_t *out)
{
    *out = *a;
    if (!gw_addr_is_v4(a))
        memset(out->b + 8, 0, 8);
}

uint32_t gw_addr_hash(const gw_addr_t *a)
{
    /* FNV-1a, then a final avalanche (murmur3's fmix32) */
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++) {
        h ^= a->b[i];
        h *= 16777619u;
    }
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

int gw_addr_eq(const gw_addr_t *a, const gw_addr_t *b)
{
    return memcmp(a->b, b->b, 16) == 0;
}

/* ---- networks ------------------------------------------------------------ */

/* Parses "addr" or "addr/len" from s[0..n). */
static int s_cidr_parse(const char *s, size_t n, gw_cidr_t *out)
{
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    if (gw_addr_parse(s, alen, &out->net) != 0)
        return -1;
    int v4 = gw_addr_is_v4(&out->net);
    int max = v4 ? 32 : 128;
    int bits = max;
    if (slash) {
        const char *p = slash + 1, *end = s + n;
        if (p == end || end - p > 3)
            return -1;
        bits = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            bits = bits * 10 + (*p - '0');
        }
        if (bits > max)
            return -1;
    }
    out->bits = v4 ? 96 + bits : bits;
    /* clear the host bits so that matching compares networks */
    for (int i = 0; i < 16; i++) {
        int keep = out->bits - i * 8;
        if (keep <= 0)
            out->net.b[i] = 0;
        else if (keep < 8)
            out->net.b[i] &= (unsigned char)(0xFF << (8 - keep));
    }
    return 0;
}

int gw_cidr_list_parse(const char *text, gw_cidr_t **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!text)
        return 0;
    gw_cidr_t *list = NULL;
    int cnt = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, " ,\t");
        list = kv_realloc(list, (size_t)(cnt + 1) * sizeof *list);
        if (s_cidr_parse(p, len, &list[cnt]) != 0) {
            free(list);
            return -1;
        }
        cnt++;
        p += len;
    }
    *out = list;
    *n = cnt;
    return 0;
}

int gw_cidr_list_match(const gw_cidr_t *list, int n, const gw_addr_t *a)
{
    for (int k = 0; k < n; k++) {
        int bits = list[k].bits, i = 0, match = 1;
        for (; bits >= 8; bits -= 8, i++) {
            if (a->b[i] != list[k].net.b[i]) {
                match = 0;
                break;
            }
        }
        if (match && bits > 0 &&
            (a->b[i] & (unsigned char)(0xFF << (8 - bits))) != list[k].net.b[i])
            match = 0;
        if (match)
            return 1;
    }
    return 0;
}

/* ---- X-Forwarded-For ------------------------------------------------------ */

int gw_xff_client(const char *xff, const gw_cidr_t *trusted, int n, gw_addr_t *out)
{
    if (!xff)
        return -1;
    const char *end = xff + strlen(xff);
    gw_addr_t last;
    for (;;) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        const char *a = start, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        gw_addr_t cur;
        if (gw_addr_parse(a, (size_t)(b - a), &cur) != 0)
            return -1;
        if (!gw_cidr_list_match(trusted, n, &cur)) {
            *out = cur;
            return 0;
        }
        last = cur;
        if (start == xff)   /* the left-most entry; an empty one failed above */
            break;
        end = start - 1;
    }
    *out = last;
    return 0;
}
