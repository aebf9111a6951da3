/*
 * gw_input.c -- checks of the request-target, query text and Content-Type
 * (see gw_input.h).
 */
#include "gw_input.h"
#include "kv_valid.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static int s_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int gw_uri_check(const char *uri, size_t max)
{
    if (strnlen(uri, max + 1) > max)
        return GW_INPUT_TOO_LONG;
    const char *q = strchr(uri, '?');
    for (const char *p = q; p && *p; p++) {
        if (*p == '%' && !(s_hex(p[1]) && s_hex(p[2])))
            return GW_INPUT_BAD_ESCAPE;
    }
    return GW_INPUT_OK;
}

int gw_text_check(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
                return GW_INPUT_CONTROL;
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = kv_utf8_seq(p + i, n - i, &cp);
        if (len == 0)
            return GW_INPUT_BAD_UTF8;
        if (cp >= 0x80 && cp <= 0x9F)
            return GW_INPUT_CONTROL;
        i += len;
    }
    return GW_INPUT_OK;
}

const char *gw_input_message(int code)
{
    switch (code) {
    case GW_INPUT_TOO_LONG:   return "Request URI too long.";
    case GW_INPUT_BAD_ESCAPE: return "Malformed query string: bad percent-encoding.";
    case GW_INPUT_BAD_UTF8:   return "Malformed query string: invalid UTF-8.";
    case GW_INPUT_CONTROL:    return "Malformed query string: control characters are not allowed.";
    default:                  return NULL;
    }
}

int gw_content_type_is_json(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    /* application/<subtype>+json */
    if (n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
        strncasecmp(ct + n - 5, "+json", 5) == 0 && memchr(ct + 12, '/', n - 12) == NULL)
        return 1;
    return 0;
}
