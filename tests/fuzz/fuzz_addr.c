/*
 * fuzz_addr.c -- client addresses as the gateway reads them from outside:
 * X-Forwarded-For (gw_xff_client, behind the trusted proxy list) and the
 * KAIVOX_HTTP_TRUSTED_PROXIES list itself (gw_cidr_list_parse).
 *
 * The input is "<proxy list>\n<X-Forwarded-For>" (no newline: the list is
 * the built-in one below and the input is the header).  Properties: a
 * client found behind the proxies is an address that formats and parses
 * back to itself and is not a trusted proxy, unless every entry was (then
 * the left-most entry); a header with an entry that is not an address on
 * the way (an empty one included) leaves the peer address in place; a parsed network list matches each of its own networks'
 * addresses; the per-client form of an address counts an IPv4 address
 * alone and an IPv6 address by its /64.
 */
#include "fuzz.h"

#include "../../services/gateway/gw_addr.h"

static void s_roundtrip(const gw_addr_t *a)
{
    char text[GW_ADDR_STRLEN];
    gw_addr_t back;
    gw_addr_format(a, text);
    FUZZ_CHECK(gw_addr_parse(text, strlen(text), &back) == 0 && gw_addr_eq(a, &back));
    gw_addr_t c;
    gw_addr_client(a, &c);
    FUZZ_CHECK(gw_addr_is_v4(a) == gw_addr_is_v4(&c));
    FUZZ_CHECK(memcmp(a->b, c.b, 8) == 0);
    FUZZ_CHECK(gw_addr_is_v4(a) ? gw_addr_eq(a, &c) : memcmp(c.b + 8, "\0\0\0\0\0\0\0\0", 8) == 0);
    (void)gw_addr_hash(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_str(data, size);
    char *nl = strchr(text, '\n');
    const char *list = "10.0.0.0/8, 192.0.2.7 2001:db8::/32,127.0.0.1";
    const char *xff = text;
    if (nl) {
        *nl = '\0';
        list = text;
        xff = nl + 1;
    }

    gw_cidr_t *nets = NULL;
    int n = 0;
    if (gw_cidr_list_parse(list, &nets, &n) == 0) {
        FUZZ_CHECK(n >= 0 && (n == 0) == (nets == NULL));
        for (int i = 0; i < n; i++) {
            FUZZ_CHECK(nets[i].bits >= 0 && nets[i].bits <= 128);
            FUZZ_CHECK(gw_cidr_list_match(&nets[i], 1, &nets[i].net));
        }
    } else {
        FUZZ_CHECK(nets == NULL && n == 0);
    }

    gw_addr_t peer, out;
    memset(&peer, 0x5a, sizeof peer);
    out = peer;
    if (gw_xff_client(xff, nets, n, &out) == 0) {
        s_roundtrip(&out);
        /* not a trusted proxy, unless every entry of the header was one */
        if (gw_cidr_list_match(nets, n, &out)) {
            const char *a = xff, *comma = strchr(xff, ',');
            const char *b = comma ? comma : xff + strlen(xff);
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            gw_addr_t first;
            FUZZ_CHECK(gw_addr_parse(a, (size_t)(b - a), &first) == 0 && gw_addr_eq(&first, &out));
        }
    } else {
        FUZZ_CHECK(memcmp(&out, &peer, sizeof out) == 0);   /* untouched */
    }
    gw_addr_t one;
    if (gw_addr_parse(xff, strlen(xff), &one) == 0)
        s_roundtrip(&one);
    free(nets);
    free(text);
    return 0;
}
