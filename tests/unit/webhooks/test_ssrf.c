/*
 * test_ssrf.c -- unit tests of services/webhooks/ssrf.c: every range of the
 * IANA special-purpose registries at both ends and just outside, which
 * addresses a webhook may reach under each policy, and the URL parser
 * (user-info, hosts, ports; no DNS).  Also the retry-schedule parser of
 * config.c.  Each check is named after the behaviour it proves.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/webhooks/hook.h"

/* Fills ss from a textual address (v4 or v6).  0, or -1 when text is
 * neither (ss then stays zeroed: family 0). */
static int s_addr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1)
        in->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1)
        in6->sin6_family = AF_INET6;
    else
        return -1;
    return 0;
}

/* The class of a textual address (v4 or v6), "public" for NULL. */
static const char *s_class(const char *text)
{
    struct sockaddr_storage ss;
    if (s_addr(text, &ss) != 0)
        return "bad test address";
    const char *c = hook_ssrf_class((struct sockaddr *)&ss);
    return c ? c : "public";
}

static int s_allowed(const char *text, hook_allow_t policy)
{
    struct sockaddr_storage ss;
    (void)s_addr(text, &ss);
    return hook_ssrf_allowed((struct sockaddr *)&ss, policy);
}

/* The IANA special-purpose registries, entry by entry: the first and the
 * last address of each range get its class, and the addresses just
 * outside get their neighbour's (most often: public). */
static void test_registry_v4(void)
{
    static const struct { const char *addr, *cls; } cases[] = {
        { "0.0.0.0", "unspecified" },
        { "0.0.0.1", "this-network" }, { "0.255.255.255", "this-network" },
        { "1.0.0.0", "public" },
        { "9.255.255.255", "public" },
        { "10.0.0.0", "private" }, { "10.255.255.255", "private" }, { "11.0.0.0", "public" },
        { "100.63.255.255", "public" },
        { "100.64.0.0", "shared" }, { "100.127.255.255", "shared" }, { "100.128.0.0", "public" },
        { "126.255.255.255", "public" },
        { "127.0.0.0", "loopback" }, { "127.255.255.255", "loopback" }, { "128.0.0.0", "public" },
        { "169.253.255.255", "public" },
        { "169.254.0.0", "link-local" }, { "169.254.169.254", "link-local" },
        { "169.254.255.255", "link-local" }, { "169.255.0.0", "public" },
        { "172.15.255.255", "public" },
        { "172.16.0.0", "private" }, { "172.31.255.255", "private" }, { "172.32.0.0", "public" },
        { "191.255.255.255", "public" },
        { "192.0.0.0", "ietf-protocol" }, { "192.0.0.9", "ietf-protocol" },
        { "192.0.0.170", "ietf-protocol" }, { "192.0.0.255", "ietf-protocol" },
        { "192.0.1.0", "public" },
        { "192.0.1.255", "public" },
        { "192.0.2.0", "documentation" }, { "192.0.2.255", "documentation" },
        { "192.0.3.0", "public" },
        { "192.31.195.255", "public" },
        { "192.31.196.0", "as112" }, { "192.31.196.255", "as112" }, { "192.31.197.0", "public" },
        { "192.52.192.255", "public" },
        { "192.52.193.0", "amt" }, { "192.52.193.255", "amt" }, { "192.52.194.0", "public" },
        { "192.88.98.255", "public" },
        { "192.88.99.0", "6to4-relay" }, { "192.88.99.255", "6to4-relay" },
        { "192.88.100.0", "public" },
        { "192.167.255.255", "public" },
        { "192.168.0.0", "private" }, { "192.168.255.255", "private" }, { "192.169.0.0", "public" },
        { "192.175.47.255", "public" },
        { "192.175.48.0", "as112" }, { "192.175.48.255", "as112" }, { "192.175.49.0", "public" },
        { "198.17.255.255", "public" },
        { "198.18.0.0", "benchmarking" }, { "198.19.255.255", "benchmarking" },
        { "198.20.0.0", "public" },
        { "198.51.99.255", "public" },
        { "198.51.100.0", "documentation" }, { "198.51.100.255", "documentation" },
        { "198.51.101.0", "public" },
        { "203.0.112.255", "public" },
        { "203.0.113.0", "documentation" }, { "203.0.113.255", "documentation" },
        { "203.0.114.0", "public" },
        { "223.255.255.255", "public" },
        { "224.0.0.0", "multicast" }, { "239.255.255.255", "multicast" },
        { "240.0.0.0", "reserved" }, { "255.255.255.254", "reserved" },
        { "255.255.255.255", "broadcast" },
        { "8.8.8.8", "public" }, { "93.184.216.34", "public" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        KVT_EQ_STR(s_class(cases[i].addr), cases[i].cls, "IPv4 %s is classed %s",
                   cases[i].addr, cases[i].cls);
}

static void test_registry_v6(void)
{
    static const struct { const char *addr, *cls; } cases[] = {
        { "::", "unspecified" }, { "::1", "loopback" },
        { "::2", "ipv4-compatible" }, { "::ffff:ffff", "ipv4-compatible" },
        { "::1:0:0", "reserved" },
        { "::fffe:ffff:ffff", "reserved" },
        { "::ffff:0.0.0.0", "ipv4-mapped" }, { "::ffff:127.0.0.1", "ipv4-mapped" },
        { "::ffff:8.8.8.8", "ipv4-mapped" }, { "::ffff:255.255.255.255", "ipv4-mapped" },
        { "::1:0:0:0", "reserved" },
        { "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "reserved" },
        { "64:ff9b::", "nat64" }, { "64:ff9b::808:808", "nat64" },
        { "64:ff9b::ffff:ffff", "nat64" }, { "64:ff9b::1:0:0", "reserved" },
        { "64:ff9b:0:ffff:ffff:ffff:ffff:ffff", "reserved" },
        { "64:ff9b:1::", "nat64" }, { "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "nat64" },
        { "64:ff9b:2::", "reserved" },
        { "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved" },
        { "100::", "discard" }, { "100::ffff:ffff:ffff:ffff", "discard" },
        { "100:0:0:1::", "dummy" }, { "100:0:0:1:ffff:ffff:ffff:ffff", "dummy" },
        { "100:0:0:2::", "reserved" },
        { "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved" },
        { "2000::", "public" },
        { "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public" },
        { "2001::", "teredo" }, { "2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo" },
        { "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "teredo" },
        { "2001:1::", "ietf-protocol" }, { "2001:1::1", "ietf-protocol" },
        { "2001:1::2", "ietf-protocol" }, { "2001:1::3", "ietf-protocol" },
        { "2001:1:ffff:ffff:ffff:ffff:ffff:ffff", "ietf-protocol" },
        { "2001:2::", "benchmarking" }, { "2001:2:0:ffff:ffff:ffff:ffff:ffff", "benchmarking" },
        { "2001:2:1::", "ietf-protocol" },
        { "2001:3::", "amt" }, { "2001:3:ffff:ffff:ffff:ffff:ffff:ffff", "amt" },
        { "2001:4::", "ietf-protocol" },
        { "2001:4:111:ffff:ffff:ffff:ffff:ffff", "ietf-protocol" },
        { "2001:4:112::", "as112" }, { "2001:4:112:ffff:ffff:ffff:ffff:ffff", "as112" },
        { "2001:4:113::", "ietf-protocol" },
        { "2001:f:ffff:ffff:ffff:ffff:ffff:ffff", "ietf-protocol" },
        { "2001:10::", "orchid" }, { "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", "orchid" },
        { "2001:20::", "orchid" }, { "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", "orchid" },
        { "2001:30::", "drone-remote-id" },
        { "2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", "drone-remote-id" },
        { "2001:40::", "ietf-protocol" },
        { "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "ietf-protocol" },
        { "2001:200::", "public" },
        { "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "public" },
        { "2001:db8::", "documentation" }, { "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation" },
        { "2001:db9::", "public" },
        { "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public" },
        { "2002::", "6to4" }, { "2002:7f00:1::", "6to4" },
        { "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "6to4" },
        { "2003::", "public" },
        { "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", "public" },
        { "2620:4f:8000::", "as112" }, { "2620:4f:8000:ffff:ffff:ffff:ffff:ffff", "as112" },
        { "2620:4f:8001::", "public" },
        { "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public" },
        { "3fff::", "documentation" }, { "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "documentation" },
        { "3fff:1000::", "public" },
        { "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public" },
        { "4000::", "reserved" },
        { "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved" },
        { "5f00::", "srv6" }, { "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "srv6" },
        { "5f01::", "reserved" },
        { "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved" },
        { "fc00::", "unique-local" }, { "fd12:3456::1", "unique-local" },
        { "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local" },
        { "fe00::", "reserved" },
        { "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved" },
        { "fe80::", "link-local" }, { "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local" },
        { "fec0::", "site-local" }, { "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local" },
        { "ff00::", "multicast" }, { "ff02::1", "multicast" },
        { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast" },
        { "2606:4700:4700::1111", "public" }, { "2001:4860:4860::8888", "public" },
        { "2a00:1450:4001:82b::200e", "public" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        KVT_EQ_STR(s_class(cases[i].addr), cases[i].cls, "IPv6 %s is classed %s",
                   cases[i].addr, cases[i].cls);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    KVT_EQ_STR(hook_ssrf_class((struct sockaddr *)&ss), "unsupported",
               "an address family other than IPv4/IPv6 is unsupported");
    KVT_OK(!hook_ssrf_allowed((struct sockaddr *)&ss, HOOK_ALLOW_ALL),
           "an address family other than IPv4/IPv6 is never allowed");
}

static void test_policies(void)
{
    KVT_OK(s_allowed("8.8.8.8", HOOK_ALLOW_PUBLIC), "public address allowed by default");
    KVT_OK(s_allowed("2606:4700:4700::1111", HOOK_ALLOW_PUBLIC), "public IPv6 allowed by default");
    KVT_OK(!s_allowed("127.0.0.1", HOOK_ALLOW_PUBLIC), "loopback refused by default");
    KVT_OK(!s_allowed("10.1.2.3", HOOK_ALLOW_PUBLIC), "private refused by default");
    KVT_OK(!s_allowed("::ffff:10.1.2.3", HOOK_ALLOW_PUBLIC), "v4-mapped refused by default");
    KVT_OK(!s_allowed("::ffff:8.8.8.8", HOOK_ALLOW_PUBLIC),
           "v4-mapped refused even when it embeds a public address");
    KVT_OK(!s_allowed("2002:808:808::1", HOOK_ALLOW_PUBLIC), "6to4 refused by default");
    KVT_OK(!s_allowed("2002:a00:1::1", HOOK_ALLOW_PUBLIC), "6to4 of a private address refused");
    KVT_OK(!s_allowed("2001:0:4136:e378:8000:63bf:3fff:fdd2", HOOK_ALLOW_PUBLIC),
           "Teredo refused by default");
    KVT_OK(!s_allowed("64:ff9b::808:808", HOOK_ALLOW_PUBLIC),
           "NAT64 refused even when it embeds a public address");
    KVT_OK(!s_allowed("64:ff9b::a00:1", HOOK_ALLOW_PUBLIC), "NAT64 of a private address refused");
    KVT_OK(!s_allowed("5f00::1", HOOK_ALLOW_PUBLIC), "an SRv6 SID refused by default");
    KVT_OK(!s_allowed("4000::1", HOOK_ALLOW_PUBLIC), "IPv6 outside 2000::/3 refused by default");
    KVT_OK(s_allowed("127.0.0.1", HOOK_ALLOW_LOOPBACK), "loopback allowed under loopback policy");
    KVT_OK(s_allowed("::1", HOOK_ALLOW_LOOPBACK), "IPv6 loopback allowed under loopback policy");
    KVT_OK(!s_allowed("::ffff:127.0.0.1", HOOK_ALLOW_LOOPBACK),
           "v4-mapped loopback refused under loopback policy");
    KVT_OK(!s_allowed("192.168.0.1", HOOK_ALLOW_LOOPBACK), "private still refused under loopback policy");
    KVT_OK(!s_allowed("169.254.169.254", HOOK_ALLOW_LOOPBACK),
           "cloud metadata address refused under loopback policy");
    KVT_OK(s_allowed("10.1.2.3", HOOK_ALLOW_ALL), "private allowed when lifted");
    KVT_OK(s_allowed("8.8.8.8", HOOK_ALLOW_ALL), "public allowed when lifted");
}

/* hook_url_parse of url: 0 or -1; err filled. */
static int s_parse(const char *url, hook_url_t *u, char *err, size_t size)
{
    err[0] = '\0';
    return hook_url_parse(url, u, err, size);
}

static void test_urls(void)
{
    char err[200];
    hook_url_t u;
    KVT_EQ_INT(s_parse("https://8.8.8.8/a\"b", &u, err, sizeof err), -1,
               "a raw quote in the path is refused (not a URI)");
    KVT_OK(strstr(err, "percent-encode") != NULL, "and the message says to percent-encode");
    KVT_EQ_INT(s_parse("https://8.8.8.8/a b", &u, err, sizeof err), -1, "a raw space is refused");
    KVT_EQ_INT(s_parse("https://8.8.8.8/caf\xc3\xa9", &u, err, sizeof err), -1,
               "a raw non-ASCII byte is refused");
    KVT_EQ_INT(s_parse("https://8.8.8.8/a%2", &u, err, sizeof err), -1, "a broken escape is refused");
    KVT_EQ_INT(s_parse("https://8.8.8.8/a%22b?q=%7Bx%7D&r=(1)!*~", &u, err, sizeof err), 0,
               "percent-escapes and reserved characters are accepted");
    KVT_EQ_INT(s_parse("https://8.8.8.8/hook", &u, err, sizeof err), 0,
               "https URL to an IP address parses");
    KVT_OK(u.literal && u.https && u.port == 443 && strcmp(u.host, "8.8.8.8") == 0,
           "its host is a literal, port 443 by default");
    KVT_EQ_INT(s_parse("http://8.8.8.8:8080/x?y=1", &u, err, sizeof err), 0,
               "http URL with port and query parses");
    KVT_OK(u.port == 8080 && !u.https, "explicit port kept");
    KVT_EQ_INT(s_parse("http://Hooks.Example.COM./in", &u, err, sizeof err), 0,
               "URL with a host name parses");
    KVT_OK(!u.literal && strcmp(u.host, "hooks.example.com") == 0,
           "host name lowercased, trailing dot dropped (what curl resolves)");
    KVT_EQ_INT(s_parse("http://0x7f000001/x", &u, err, sizeof err), 0,
               "hex-encoded IPv4 parses");
    KVT_OK(u.literal && strcmp(u.host, "127.0.0.1") == 0 &&
           !hook_ssrf_allowed((struct sockaddr *)&u.addr, HOOK_ALLOW_PUBLIC),
           "hex-encoded loopback is read as 127.0.0.1 and refused");
    KVT_EQ_INT(s_parse("http://2130706433/x", &u, err, sizeof err), 0,
               "decimal-encoded IPv4 parses");
    KVT_OK(u.literal && strcmp(u.host, "127.0.0.1") == 0, "decimal-encoded loopback is 127.0.0.1");
    KVT_EQ_INT(s_parse("http://[::1]:9/x", &u, err, sizeof err), 0, "IPv6 literal parses");
    KVT_OK(u.literal && strcmp(u.host, "::1") == 0 && u.addr.ss_family == AF_INET6,
           "IPv6 literal without brackets");
    /* fuzz_url found it: an IPv6 literal kept the case it was written in
     * (tests/fuzz/url/crash-15ce192b02be8518767afd5a62b845fac0f7f9b2) */
    KVT_EQ_INT(s_parse("https:/[Fe24::]//", &u, err, sizeof err), 0, "an upper-case IPv6 literal parses");
    KVT_EQ_STR(u.host, "fe24::", "and its host is lowercase, as every host of a parsed URL");
    KVT_EQ_INT(s_parse("https://[2001:DB8:0:0::0:1]:8443/x", &u, err, sizeof err), 0,
               "an IPv6 literal with zeros written out parses");
    KVT_EQ_STR(u.host, "2001:db8::1", "and its host is the address's one canonical text");
    KVT_OK(hook_url_target("https://[2001:DB8::1]/", &u) == 0 && strcmp(u.host, "2001:db8::1") == 0,
           "the deliverer reads the same host from a stored URL");
    KVT_EQ_INT(s_parse("http://[fe80::1%25eth0]/x", &u, err, sizeof err), -1,
               "IPv6 zone refused");

    KVT_EQ_INT(s_parse("http://user:s3cr3t@8.8.8.8/hook", &u, err, sizeof err), -1,
               "URL with user name and password refused");
    KVT_OK(strstr(err, "user name or password") && !strstr(err, "s3cr3t") && !strstr(err, "user:"),
           "the refusal names the rule and never repeats the password");
    KVT_EQ_INT(s_parse("http://:s3cr3t@8.8.8.8/", &u, err, sizeof err), -1,
               "URL with a password and no user refused");
    KVT_EQ_INT(s_parse("http://user@8.8.8.8/", &u, err, sizeof err), -1,
               "URL with a user name only refused");
    KVT_EQ_INT(s_parse("http://@8.8.8.8/", &u, err, sizeof err), -1,
               "URL with an empty user-info refused");
    KVT_EQ_INT(s_parse("http://u;opt@8.8.8.8/", &u, err, sizeof err), -1,
               "URL with login options refused");
    KVT_EQ_INT(s_parse("http://8.8.8.8/a@b", &u, err, sizeof err), 0,
               "an @ in the path is not user-info");
    KVT_EQ_INT(s_parse("http://8.8.8.8/?q=a@b#c@d", &u, err, sizeof err), 0,
               "an @ in query or fragment is not user-info");
    KVT_EQ_INT(hook_url_target("http://user:pw@8.8.8.8:81/x", &u), 0,
               "the deliverer still reads a stored URL with user-info");
    KVT_OK(u.port == 81 && strcmp(u.host, "8.8.8.8") == 0, "and finds where it connects");

    KVT_EQ_INT(s_parse("http://bücher.example/x", &u, err, sizeof err), -1,
               "a non-ASCII host name refused (xn-- form wanted)");
    KVT_EQ_INT(s_parse("http://xn--bcher-kva.example/x", &u, err, sizeof err), 0,
               "an international name in its xn-- form parses");
    KVT_EQ_INT(s_parse("http://1.2.3.4.5/x", &u, err, sizeof err), -1,
               "a malformed IPv4 address (all-numeric last label) refused");
    KVT_EQ_INT(s_parse("http://a..b/x", &u, err, sizeof err), -1, "an empty label refused");
    char host[300], url[400];
    memset(host, 'a', 64);
    snprintf(host + 64, sizeof host - 64, ".example");
    snprintf(url, sizeof url, "http://%s/", host);
    KVT_EQ_INT(s_parse(url, &u, err, sizeof err), -1, "a 64-character label refused");
    memset(host, 'a', sizeof host);
    for (int i = 63; i < 260; i += 64)
        host[i] = '.';
    host[260] = '\0';
    snprintf(url, sizeof url, "http://%s.io/", host);
    KVT_EQ_INT(s_parse(url, &u, err, sizeof err), -1, "a host name over 253 characters refused");
    KVT_EQ_INT(s_parse("http://8.8.8.8:0/", &u, err, sizeof err), -1, "port 0 refused");
    KVT_EQ_INT(s_parse("ftp://8.8.8.8/x", &u, err, sizeof err), -1, "ftp URL refused");
    KVT_EQ_INT(s_parse("file:///etc/passwd", &u, err, sizeof err), -1, "file URL refused");
    KVT_EQ_INT(s_parse("not a url", &u, err, sizeof err), -1, "text that is no URL refused");
    KVT_EQ_INT(s_parse("http://:8080/x", &u, err, sizeof err), -1, "URL without a host refused");
    KVT_EQ_INT(s_parse("http://", &u, err, sizeof err), -1, "URL that is only a scheme refused");
    KVT_EQ_INT(s_parse("http:///nohost", &u, err, sizeof err), 0,
               "extra slashes are read the way curl reads them");
    KVT_EQ_STR(u.host, "nohost", "so the host judged is the one curl would connect to");
    char longurl[2100];
    memset(longurl, 'a', sizeof longurl - 1);
    longurl[sizeof longurl - 1] = '\0';
    memcpy(longurl, "http://8.8.8.8/", 15);
    KVT_EQ_INT(s_parse(longurl, &u, err, sizeof err), -1, "URL over 2048 characters refused");
    longurl[HOOK_URL_MAX] = '\0';
    KVT_EQ_INT(s_parse(longurl, &u, err, sizeof err), 0, "URL of exactly 2048 characters parses");

    struct sockaddr_storage ss;
    s_addr("10.0.0.7", &ss);
    hook_url_refused_literal((struct sockaddr *)&ss, err, sizeof err);
    KVT_OK(strstr(err, "private") != NULL, "refusing a typed address names its class");
    KVT_OK(strstr(HOOK_URL_NAME_REFUSED, "private") == NULL &&
           strstr(HOOK_URL_NAME_REFUSED, "loopback") == NULL,
           "the refusal of a host name names no address class");
}

static void test_schedule(void)
{
    int s[HOOK_RETRY_MAX];
    KVT_EQ_INT(hook_parse_schedule("60,300,1800", s), 3, "default schedule has 3 retries");
    KVT_OK(s[0] == 60 && s[1] == 300 && s[2] == 1800, "schedule values parsed in order");
    KVT_EQ_INT(hook_parse_schedule("1,1,1", s), 3, "test schedule parses");
    KVT_EQ_INT(hook_parse_schedule("", s), 0, "empty schedule means no retries");
    KVT_EQ_INT(hook_parse_schedule("1,,2", s), -1, "empty element refused");
    KVT_EQ_INT(hook_parse_schedule("1,-2", s), -1, "negative wait refused");
    KVT_EQ_INT(hook_parse_schedule("1,x", s), -1, "non-number refused");
    KVT_EQ_INT(hook_parse_schedule("999999999", s), -1, "wait over a week refused");
    KVT_EQ_INT(hook_parse_schedule("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", s), -1,
               "more than 16 retries refused");
    KVT_EQ_INT(hook_event_index("call.missed"), 3, "call.missed is a known event");
    KVT_EQ_INT(hook_event_index("call.started"), -1, "call.started is not a known event");
}

int main(void)
{
    test_registry_v4();
    test_registry_v6();
    test_policies();
    test_urls();
    test_schedule();
    return kvt_done();
}
