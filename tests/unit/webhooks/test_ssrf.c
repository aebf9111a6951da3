/*
 * test_ssrf.c -- unit tests of services/webhooks/ssrf.c: which addresses a
 * webhook may reach under each policy, and the URL check at creation
 * (IP literals only, so no DNS is needed).  Also the retry-schedule parser
 * of config.c.  Each check is named after the behaviour it proves.
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

static void test_classes(void)
{
    static const struct { const char *addr, *cls; } cases[] = {
        { "127.0.0.1", "loopback" }, { "127.255.1.2", "loopback" },
        { "10.0.0.1", "private" }, { "10.255.255.255", "private" },
        { "172.16.0.1", "private" }, { "172.31.255.254", "private" },
        { "172.15.255.255", "public" }, { "172.32.0.1", "public" },
        { "192.168.1.1", "private" }, { "192.169.0.1", "public" },
        { "100.64.0.1", "shared" }, { "100.127.255.255", "shared" }, { "100.128.0.1", "public" },
        { "169.254.169.254", "link-local" }, { "0.0.0.0", "unspecified" },
        { "224.0.0.1", "multicast" }, { "239.255.255.250", "multicast" },
        { "255.255.255.255", "broadcast" }, { "240.0.0.1", "reserved" },
        { "192.0.2.10", "documentation" }, { "198.18.0.1", "reserved" },
        { "8.8.8.8", "public" }, { "93.184.216.34", "public" },
        { "::1", "loopback" }, { "::", "unspecified" },
        { "::ffff:127.0.0.1", "ipv4-mapped" }, { "::ffff:8.8.8.8", "ipv4-mapped" },
        { "fc00::1", "unique-local" }, { "fd12:3456::1", "unique-local" },
        { "fe80::1", "link-local" }, { "febf::1", "link-local" },
        { "ff02::1", "multicast" }, { "2001:db8::1", "documentation" },
        { "64:ff9b::a00:1", "private" }, { "64:ff9b::808:808", "public" },
        { "2606:4700:4700::1111", "public" }, { "2001:4860:4860::8888", "public" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        KVT_EQ_STR(s_class(cases[i].addr), cases[i].cls, "address %s is classed %s",
                   cases[i].addr, cases[i].cls);
}

static void test_policies(void)
{
    KVT_OK(s_allowed("8.8.8.8", HOOK_ALLOW_PUBLIC), "public address allowed by default");
    KVT_OK(!s_allowed("127.0.0.1", HOOK_ALLOW_PUBLIC), "loopback refused by default");
    KVT_OK(!s_allowed("10.1.2.3", HOOK_ALLOW_PUBLIC), "private refused by default");
    KVT_OK(!s_allowed("::ffff:10.1.2.3", HOOK_ALLOW_PUBLIC), "v4-mapped refused by default");
    KVT_OK(s_allowed("127.0.0.1", HOOK_ALLOW_LOOPBACK), "loopback allowed under loopback policy");
    KVT_OK(s_allowed("::1", HOOK_ALLOW_LOOPBACK), "IPv6 loopback allowed under loopback policy");
    KVT_OK(!s_allowed("192.168.0.1", HOOK_ALLOW_LOOPBACK), "private still refused under loopback policy");
    KVT_OK(!s_allowed("169.254.169.254", HOOK_ALLOW_LOOPBACK),
           "cloud metadata address refused under loopback policy");
    KVT_OK(s_allowed("10.1.2.3", HOOK_ALLOW_ALL), "private allowed when lifted");
    KVT_OK(s_allowed("8.8.8.8", HOOK_ALLOW_ALL), "public allowed when lifted");
}

static void test_urls(void)
{
    char err[200];
    KVT_EQ_INT(hook_url_check("https://8.8.8.8/hook", HOOK_ALLOW_PUBLIC, err, sizeof err), 0,
               "https URL to a public address accepted");
    KVT_EQ_INT(hook_url_check("http://8.8.8.8:8080/x?y=1", HOOK_ALLOW_PUBLIC, err, sizeof err), 0,
               "http URL with port and query accepted");
    KVT_EQ_INT(hook_url_check("http://127.0.0.1:9/hook", HOOK_ALLOW_PUBLIC, err, sizeof err), -1,
               "URL to loopback refused");
    KVT_OK(strstr(err, "loopback") != NULL, "refusal names the address class");
    KVT_EQ_INT(hook_url_check("http://169.254.169.254/latest/meta-data", HOOK_ALLOW_PUBLIC, err,
                              sizeof err), -1, "URL to the cloud metadata address refused");
    KVT_EQ_INT(hook_url_check("http://[::1]/x", HOOK_ALLOW_PUBLIC, err, sizeof err), -1,
               "URL to IPv6 loopback refused");
    KVT_EQ_INT(hook_url_check("http://[fd00::1]/x", HOOK_ALLOW_PUBLIC, err, sizeof err), -1,
               "URL to an IPv6 unique-local address refused");
    KVT_EQ_INT(hook_url_check("http://0x7f000001/x", HOOK_ALLOW_PUBLIC, err, sizeof err), -1,
               "URL with a hex-encoded loopback address refused");
    KVT_EQ_INT(hook_url_check("http://2130706433/x", HOOK_ALLOW_PUBLIC, err, sizeof err), -1,
               "URL with a decimal-encoded loopback address refused");
    KVT_EQ_INT(hook_url_check("http://127.0.0.1:9/hook", HOOK_ALLOW_LOOPBACK, err, sizeof err), 0,
               "URL to loopback accepted under loopback policy");
    KVT_EQ_INT(hook_url_check("ftp://8.8.8.8/x", HOOK_ALLOW_ALL, err, sizeof err), -1,
               "ftp URL refused");
    KVT_EQ_INT(hook_url_check("file:///etc/passwd", HOOK_ALLOW_ALL, err, sizeof err), -1,
               "file URL refused");
    KVT_EQ_INT(hook_url_check("not a url", HOOK_ALLOW_ALL, err, sizeof err), -1,
               "text that is no URL refused");
    KVT_EQ_INT(hook_url_check("http:///nohost", HOOK_ALLOW_ALL, err, sizeof err), -1,
               "URL without a host refused");
    char longurl[2100];
    memset(longurl, 'a', sizeof longurl - 1);
    longurl[sizeof longurl - 1] = '\0';
    memcpy(longurl, "http://8.8.8.8/", 15);
    KVT_EQ_INT(hook_url_check(longurl, HOOK_ALLOW_ALL, err, sizeof err), -1,
               "URL over 2048 characters refused");
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
    test_classes();
    test_policies();
    test_urls();
    test_schedule();
    return kvt_done();
}
