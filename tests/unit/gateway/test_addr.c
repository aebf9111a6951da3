/*
 * test_addr.c -- client addresses: IPv4 and IPv6 in one form, an IPv6
 * client counted by its /64, trusted proxy lists, and X-Forwarded-For read
 * from the right so that a client cannot choose whom it is counted as.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_addr.h"

static gw_addr_t A(const char *s)
{
    gw_addr_t a;
    memset(&a, 0, sizeof a);
    if (gw_addr_parse(s, strlen(s), &a) != 0)
        fprintf(stderr, "bad test address %s\n", s);
    return a;
}

static const char *F(const gw_addr_t *a)
{
    static char buf[4][GW_ADDR_STRLEN];
    static int i;
    i = (i + 1) % 4;
    gw_addr_format(a, buf[i]);
    return buf[i];
}

int main(void)
{
    gw_addr_t a, b;
    KVT_OK(gw_addr_parse("192.0.2.7", 9, &a) == 0 && gw_addr_is_v4(&a), "IPv4 parses as IPv4");
    KVT_EQ_STR(F(&a), "192.0.2.7", "IPv4 formats back");
    KVT_OK(gw_addr_parse("2001:db8::1", 11, &b) == 0 && !gw_addr_is_v4(&b), "IPv6 parses as IPv6");
    KVT_EQ_STR(F(&b), "2001:db8::1", "IPv6 formats back");
    KVT_OK(gw_addr_parse("192.0.2.777", 11, &a) == -1, "a bad IPv4 is refused");
    KVT_OK(gw_addr_parse("example.com", 11, &a) == -1, "a host name is refused");
    KVT_OK(gw_addr_parse("", 0, &a) == -1, "empty is refused");
    KVT_OK(gw_addr_parse("1.2.3.4:80", 10, &a) == -1, "an address with a port is refused");

    struct sockaddr_in s4;
    memset(&s4, 0, sizeof s4);
    s4.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.2", &s4.sin_addr);
    KVT_OK(gw_addr_from_sockaddr((struct sockaddr *)&s4, &a) == 0 && strcmp(F(&a), "127.0.0.2") == 0,
           "a sockaddr_in converts");
    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof s6);
    s6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &s6.sin6_addr);
    KVT_OK(gw_addr_from_sockaddr((struct sockaddr *)&s6, &b) == 0 && gw_addr_eq(&b, &(gw_addr_t){0}) == 0,
           "a sockaddr_in6 converts");
    a = A("10.1.2.3");
    KVT_OK(gw_addr_eq(&a, &b), "an IPv4-mapped IPv6 peer is the same client as its IPv4 address");
    struct sockaddr other = { .sa_family = AF_UNIX };
    KVT_OK(gw_addr_from_sockaddr(&other, &a) == -1, "another family is refused");

    /* clients: IPv4 alone, IPv6 by /64 */
    gw_addr_t c1, c2;
    a = A("2001:db8:1:2:aaaa::1");
    b = A("2001:db8:1:2:bbbb::9");
    gw_addr_client(&a, &c1);
    gw_addr_client(&b, &c2);
    KVT_OK(gw_addr_eq(&c1, &c2), "two addresses of one IPv6 /64 are one client");
    KVT_EQ_STR(F(&c1), "2001:db8:1:2::", "the client of an IPv6 address is its /64");
    b = A("2001:db8:1:3::1");
    gw_addr_client(&b, &c2);
    KVT_OK(!gw_addr_eq(&c1, &c2), "another /64 is another client");
    a = A("192.0.2.1");
    b = A("192.0.2.2");
    gw_addr_client(&a, &c1);
    gw_addr_client(&b, &c2);
    KVT_OK(!gw_addr_eq(&c1, &c2) && gw_addr_eq(&c1, &a), "IPv4 addresses are clients on their own");
    KVT_OK(gw_addr_hash(&c1) != gw_addr_hash(&c2), "neighbouring addresses hash apart");

    /* trusted proxy lists */
    gw_cidr_t *l = NULL;
    int n = -1;
    KVT_OK(gw_cidr_list_parse(NULL, &l, &n) == 0 && n == 0 && !l, "no list is an empty list");
    KVT_OK(gw_cidr_list_parse("  ", &l, &n) == 0 && n == 0, "a blank list is empty");
    KVT_OK(gw_cidr_list_parse("10.0.0.0/8, 192.0.2.7 2001:db8::/32,::1", &l, &n) == 0 && n == 4,
           "a list of networks and addresses parses");
    a = A("10.200.3.4");
    KVT_OK(gw_cidr_list_match(l, n, &a), "10.200.3.4 is in 10.0.0.0/8");
    a = A("11.0.0.1");
    KVT_OK(!gw_cidr_list_match(l, n, &a), "11.0.0.1 is not");
    a = A("192.0.2.7");
    b = A("192.0.2.8");
    KVT_OK(gw_cidr_list_match(l, n, &a) && !gw_cidr_list_match(l, n, &b), "a single address matches only itself");
    a = A("2001:db8:ffff::1");
    b = A("2001:db9::1");
    KVT_OK(gw_cidr_list_match(l, n, &a) && !gw_cidr_list_match(l, n, &b), "IPv6 networks match by prefix");
    a = A("::1");
    KVT_OK(gw_cidr_list_match(l, n, &a), "::1 matches itself");
    a = A("0.0.0.1");
    KVT_OK(!gw_cidr_list_match(l, n, &a), "an IPv4 address is not inside ::/n by accident");
    free(l);
    KVT_OK(gw_cidr_list_parse("10.0.0.0/33", &l, &n) == -1 && !l && n == 0, "a /33 IPv4 network is refused");
    KVT_OK(gw_cidr_list_parse("10.0.0.0/", &l, &n) == -1, "an empty prefix length is refused");
    KVT_OK(gw_cidr_list_parse("10.0.0.0/8x", &l, &n) == -1, "a bad prefix length is refused");
    KVT_OK(gw_cidr_list_parse("proxy.local", &l, &n) == -1, "a host name is refused");
    KVT_OK(gw_cidr_list_parse("10.1.2.3/8", &l, &n) == 0 && n == 1, "host bits in a network are ignored");
    a = A("10.9.9.9");
    KVT_OK(gw_cidr_list_match(l, n, &a), "... and the network still matches");
    free(l);
    KVT_OK(gw_cidr_list_parse("0.0.0.0/0", &l, &n) == 0 && n == 1, "0.0.0.0/0 parses");
    a = A("203.0.113.5");
    b = A("2001:db8::5");
    KVT_OK(gw_cidr_list_match(l, n, &a) && !gw_cidr_list_match(l, n, &b),
           "0.0.0.0/0 holds every IPv4 address and no IPv6 one");
    free(l);

    /* X-Forwarded-For: the right-most untrusted entry */
    gw_cidr_list_parse("10.0.0.0/8", &l, &n);
    gw_addr_t out = A("1.1.1.1");
    KVT_OK(gw_xff_client("203.0.113.9", l, n, &out) == 0 && strcmp(F(&out), "203.0.113.9") == 0,
           "one entry is the client");
    KVT_OK(gw_xff_client("6.6.6.6, 203.0.113.9, 10.0.0.2", l, n, &out) == 0 &&
           strcmp(F(&out), "203.0.113.9") == 0,
           "the right-most untrusted entry is the client, a forged left part is ignored");
    KVT_OK(gw_xff_client("10.0.0.3,10.0.0.2", l, n, &out) == 0 && strcmp(F(&out), "10.0.0.3") == 0,
           "when every entry is trusted, the left-most");
    out = A("1.1.1.1");
    KVT_OK(gw_xff_client("203.0.113.9, bogus", l, n, &out) == -1 && strcmp(F(&out), "1.1.1.1") == 0,
           "a malformed entry on the way leaves the peer address");
    KVT_OK(gw_xff_client("", l, n, &out) == -1 && gw_xff_client(NULL, l, n, &out) == -1,
           "an empty or missing header leaves the peer address");
    KVT_OK(gw_xff_client("203.0.113.9,", l, n, &out) == -1, "a trailing comma is malformed");
    /* fuzz_addr found it: an empty left-most entry was skipped, not refused
     * (tests/fuzz/addr/crash-86395e2258239dbc05c0c82304c7ccf5c92f2cd2) */
    out = A("1.1.1.1");
    KVT_OK(gw_xff_client(", 10.0.0.1", l, n, &out) == -1 && strcmp(F(&out), "1.1.1.1") == 0,
           "a leading comma is malformed too, and leaves the peer address");
    KVT_OK(gw_xff_client(",203.0.113.9", l, n, &out) == 0 && strcmp(F(&out), "203.0.113.9") == 0,
           "an untrusted entry is the client before the walk reaches a malformed one");
    KVT_OK(gw_xff_client("10.0.0.1", l, n, &out) == 0 && strcmp(F(&out), "10.0.0.1") == 0,
           "a single trusted entry is the left-most, so the client");
    KVT_OK(gw_xff_client(" 2001:db8::7 ", l, n, &out) == 0 && strcmp(F(&out), "2001:db8::7") == 0,
           "IPv6 entries with spaces around them");
    free(l);
    return kvt_done();
}
