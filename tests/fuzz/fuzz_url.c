/*
 * fuzz_url.c -- webhook URLs as a client gives them (POST / PATCH
 * /api/v1/webhooks) and as the deliverer reads them back, and the SSRF
 * classes of the addresses they name: hook_url_parse, hook_url_target,
 * hook_ssrf_class, hook_ssrf_allowed, hook_url_refused_literal; and the
 * recording_url check of the call log (calls_valid_url), which sees the
 * same kind of input.
 *
 * Properties: a URL the API accepts is one the deliverer can connect to,
 * the same way (hook_url_target gives the same host, port, scheme and
 * address); the host is lowercase ASCII of at most 253 bytes without a
 * trailing dot, an IP address exactly when literal, and the port 1..65535;
 * the error message repeats nothing of the URL; the policies are
 * ordered (what the public policy allows, loopback and all allow too) and
 * a literal the public policy allows has no special-purpose class.
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "../../services/calls/call_valid.h"
#include "../../services/webhooks/ssrf.h"

static void s_policies(const struct sockaddr *sa)
{
    const char *why = hook_ssrf_class(sa);
    int pub = hook_ssrf_allowed(sa, HOOK_ALLOW_PUBLIC);
    int lo = hook_ssrf_allowed(sa, HOOK_ALLOW_LOOPBACK);
    int all = hook_ssrf_allowed(sa, HOOK_ALLOW_ALL);
    FUZZ_CHECK(pub == (why == NULL));
    FUZZ_CHECK(!pub || lo);
    FUZZ_CHECK(!lo || all);
    FUZZ_CHECK(lo == (pub || strcmp(why, "loopback") == 0));
    char err[200];
    hook_url_refused_literal(sa, err, sizeof err);
    FUZZ_CHECK(strlen(err) > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fuzz_str(data, size);
    hook_url_t u, t;
    char err[200];
    memset(err, 0, sizeof err);
    int rc = hook_url_parse(url, &u, err, sizeof err);
    if (rc == 0) {
        size_t hl = strlen(u.host);
        FUZZ_CHECK(hl >= 1 && hl <= HOOK_HOST_MAX && u.host[hl - 1] != '.');
        for (size_t i = 0; i < hl; i++)
            FUZZ_CHECK(!(u.host[i] >= 'A' && u.host[i] <= 'Z') &&
                       (unsigned char)u.host[i] > 0x20 && (unsigned char)u.host[i] < 0x7f);
        FUZZ_CHECK(u.port >= 1 && u.port <= 65535 && (u.https == 0 || u.https == 1));
        unsigned char a[16];
        int v4 = inet_pton(AF_INET, u.host, a) == 1, v6 = inet_pton(AF_INET6, u.host, a) == 1;
        FUZZ_CHECK(u.literal == (v4 || v6));
        if (u.literal) {
            FUZZ_CHECK(u.addr.ss_family == (v4 ? AF_INET : AF_INET6));
            s_policies((const struct sockaddr *)&u.addr);
        }
        FUZZ_CHECK(hook_url_target(url, &t) == 0);
        FUZZ_CHECK(strcmp(t.host, u.host) == 0 && t.port == u.port && t.https == u.https &&
                   t.literal == u.literal &&
                   memcmp(&t.addr, &u.addr, sizeof t.addr) == 0);
    } else {
        FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof err);
        FUZZ_CHECK(u.host[0] == '\0' && u.literal == 0);
        /* the message repeats nothing of the URL (its user-info least of
         * all): fixed words and numbers only */
        FUZZ_CHECK(strchr(err, '@') == NULL && strstr(err, "://") == NULL &&
                   strncmp(err, "The url ", 8) == 0);
        (void)hook_url_target(url, &t);
    }
    (void)calls_valid_url(url);

    /* the raw bytes as an address, IPv4 or IPv6 */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (size >= 16) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        memcpy(&in6->sin6_addr, data, 16);
        s_policies((const struct sockaddr *)&ss);
    }
    if (size >= 4) {
        memset(&ss, 0, sizeof ss);
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, data, 4);
        s_policies((const struct sockaddr *)&ss);
    }
    free(url);
    return 0;
}
