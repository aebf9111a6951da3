/*
 * fuzz_console.c -- what a browser sends the console besides bodies: the
 * Origin or Referer of a state-changing request (gw_url_origin, then
 * gw_origin_listed against the configured list), the session and CSRF
 * tokens of cookies and X-CSRF-Token (gw_token_shape_ok, gw_str_equal_ct),
 * and the password of a sign-in or user creation (gw_password_problem).
 *
 * The input is two values separated by the byte 0xF5 (fuzz_split): the
 * header value (also the password and the token), and the origin list
 * (also what the token is compared with).
 *
 * Properties: an origin is the lower-cased "http(s)://host[:port]" prefix
 * of the URL, printable ASCII without userinfo, a fixed point of
 * gw_url_origin, written within the buffer it is given whatever its size
 * (an exact-size heap buffer, so ASan sees one byte too many); it is
 * listed in a list that names it, and listed only when the list holds it;
 * a token passes only with exactly 43 base64url characters, and a CSRF
 * token derived from any session token passes; the constant-time
 * comparison agrees with strcmp; a password passes exactly when it is
 * 10..256 characters of UTF-8 without control characters.
 */
#include "fuzz.h"

#include <strings.h>

#include "kv_valid.h"
#include "../../services/gateway/gw_console.h"
#include "../../services/gateway/gw_password.h"

typedef struct {
    char *v[2];
    size_t n;
} s_parts_t;

static void s_take(void *arg, const uint8_t *f, size_t len)
{
    s_parts_t *p = arg;
    if (p->n < 2)
        p->v[p->n] = fuzz_str(f, len);
    p->n++;
}

static int s_b64url(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           c == '-' || c == '_';
}

static void s_origin(const char *url, const char *list)
{
    char out[300];
    if (gw_url_origin(url, out, sizeof out) != 0) {
        /* whatever the room, never a write past it */
        for (size_t size = 1; size <= 24; size++) {
            char *small = malloc(size);
            FUZZ_CHECK(small != NULL);
            (void)gw_url_origin(url, small, size);
            free(small);
        }
        return;
    }
    size_t n = strlen(out);
    FUZZ_CHECK(n < sizeof out);
    FUZZ_CHECK(strncmp(out, "http://", 7) == 0 || strncmp(out, "https://", 8) == 0);
    size_t skip = out[4] == 's' ? 8 : 7;
    FUZZ_CHECK(n > skip && strncasecmp(out, url, n) == 0);
    FUZZ_CHECK(url[n] == '\0' || url[n] == '/' || url[n] == '?' || url[n] == '#');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        FUZZ_CHECK(c > ' ' && c < 0x7f && c != '@' && c != '\\' && !(c >= 'A' && c <= 'Z'));
        FUZZ_CHECK(i < skip || (c != '/' && c != '?' && c != '#'));
    }
    char again[300];
    FUZZ_CHECK(gw_url_origin(out, again, sizeof again) == 0 && strcmp(again, out) == 0);
    /* the exact room it needs, and one byte less */
    char *fit = malloc(n + 1);
    FUZZ_CHECK(fit != NULL);
    FUZZ_CHECK(gw_url_origin(url, fit, n + 1) == 0 && strcmp(fit, out) == 0);
    free(fit);
    char *tight = malloc(n);
    FUZZ_CHECK(tight != NULL);
    FUZZ_CHECK(gw_url_origin(url, tight, n) != 0);
    free(tight);

    /* an origin without separators is listed by a list naming it */
    if (!strpbrk(out, ", ")) {
        char named[700];
        snprintf(named, sizeof named, " https://other.example ,%s/", out);
        FUZZ_CHECK(gw_origin_listed(out, named) == 1);
        FUZZ_CHECK(gw_origin_listed(out, "") == 0);
    }
    /* listed only when the list holds it */
    if (gw_origin_listed(out, list))
        FUZZ_CHECK(strcasestr(list, out) != NULL);
}

static void s_tokens(const char *s, const char *other)
{
    if (gw_token_shape_ok(s)) {
        FUZZ_CHECK(strlen(s) == GW_TOKEN_LEN);
        for (size_t i = 0; i < GW_TOKEN_LEN; i++)
            FUZZ_CHECK(s_b64url(s[i]));
    }
    static const unsigned char secret[32] = { 7, 6, 5, 4, 3, 2, 1 };
    char csrf[GW_TOKEN_LEN + 1];
    gw_csrf_token(secret, sizeof secret, s, csrf);
    FUZZ_CHECK(gw_token_shape_ok(csrf));
    FUZZ_CHECK(gw_str_equal_ct(s, other) == (strcmp(s, other) == 0));
    FUZZ_CHECK(gw_str_equal_ct(s, s));
    char hex[65];
    gw_sha256_hex(s, hex);
    FUZZ_CHECK(strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64);
}

static void s_password(const char *pw)
{
    const char *why = gw_password_problem(pw);
    int ok = 1;
    if (!fuzz_utf8(pw))
        ok = 0;
    else {
        size_t chars = kv_utf8_chars(pw);
        ok = chars >= GW_PW_MIN_CHARS && chars <= GW_PW_MAX_CHARS;
        for (const unsigned char *p = (const unsigned char *)pw; *p && ok; p++)
            if (*p < 0x20 || *p == 0x7f)
                ok = 0;
    }
    /* C1 controls (U+0080..U+009F) are control characters too: accept
       either way only when they are the difference */
    if (ok)
        FUZZ_CHECK(why == NULL || strstr(pw, "\xc2") != NULL);
    else
        FUZZ_CHECK(why != NULL && why[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_parts_t p = { { NULL, NULL }, 0 };
    fuzz_split(data, size, s_take, &p);
    const char *a = p.v[0] ? p.v[0] : "";
    const char *b = p.v[1] ? p.v[1] : "";
    s_origin(a, b);
    s_tokens(a, b);
    s_password(a);
    free(p.v[0]);
    free(p.v[1]);
    return 0;
}
