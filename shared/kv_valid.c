/*
 * kv_valid.c -- strict parsers and validators for request fields.
 *
 * Pure functions: no I/O, no allocation, no locale.  They accept exactly
 * the documented shapes and nothing "close enough" (no leading spaces, no
 * '+' signs, no exponents, no single-digit months), because an API that
 * guesses what a client meant cannot later be made strict without breaking
 * someone.  Calendar arithmetic uses the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil / civil_from_days).
 */
#include "kv_valid.h"

#include <stdint.h>
#include <string.h>

static int s_is_digit(char c) { return c >= '0' && c <= '9'; }
static int s_is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int kv_parse_i64(const char *s, int64_t *out)
{
    if (!s)
        return -1;
    int neg = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    if (!s_is_digit(*s))
        return -1;
    /* accumulate as a negative number so INT64_MIN fits */
    int64_t v = 0;
    for (; *s; s++) {
        if (!s_is_digit(*s))
            return -1;
        int d = *s - '0';
        if (v < (INT64_MIN + d) / 10)
            return -1;
        v = v * 10 - d;
    }
    if (!neg) {
        if (v == INT64_MIN)
            return -1;
        v = -v;
    }
    *out = v;
    return 0;
}

static int s_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int s_days_in_month(int y, int m)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return (m == 2 && s_leap(y)) ? 29 : dim[m - 1];
}

/* Reads exactly n digits from s. */
static int s_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!s_is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int kv_parse_date(const char *s, kv_date_t *out)
{
    int y, m, d;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    if (s_digits(s, 4, &y) || s_digits(s + 5, 2, &m) || s_digits(s + 8, 2, &d))
        return -1;
    if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 || d > s_days_in_month(y, m))
        return -1;
    out->y = y;
    out->m = m;
    out->d = d;
    return 0;
}

/* Writes v as exactly n zero-padded digits (v clamped to 0..10^n-1). */
static void s_put_digits(char *p, int n, int v)
{
    if (v < 0)
        v = 0;
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void kv_format_date(const kv_date_t *d, char buf[11])
{
    s_put_digits(buf, 4, d->y);
    buf[4] = '-';
    s_put_digits(buf + 5, 2, d->m);
    buf[7] = '-';
    s_put_digits(buf + 8, 2, d->d);
    buf[10] = '\0';
}

int64_t kv_date_to_days(const kv_date_t *d)
{
    int64_t y = d->y;
    int64_t m = d->m;
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d->d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void kv_days_to_date(int64_t z, kv_date_t *out)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                  /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                /* [0, 11] */
    int64_t d = doy - (153 * mp + 2) / 5 + 1;                        /* [1, 31] */
    int64_t m = mp < 10 ? mp + 3 : mp - 9;                           /* [1, 12] */
    out->y = (int)(y + (m <= 2));
    out->m = (int)m;
    out->d = (int)d;
}

int kv_date_weekday(const kv_date_t *d)
{
    int64_t days = kv_date_to_days(d);
    /* 1970-01-01 was a Thursday (3 with Monday = 0) */
    int64_t w = (days % 7 + 7 + 3) % 7;
    return (int)w;
}

int kv_parse_time(const char *s, int *minutes)
{
    int h, m;
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    if (s_digits(s, 2, &h) || s_digits(s + 3, 2, &m))
        return -1;
    if (h > 23 || m > 59)
        return -1;
    *minutes = h * 60 + m;
    return 0;
}

void kv_format_time(int minutes, char buf[6])
{
    if (minutes < 0)
        minutes = 0;
    if (minutes > 1440)
        minutes = 1440;
    s_put_digits(buf, 2, minutes / 60);
    buf[2] = ':';
    s_put_digits(buf + 3, 2, minutes % 60);
    buf[5] = '\0';
}

/* Characters allowed in the local part (RFC 5322 atext) besides '.'. */
static int s_email_local_char(char c)
{
    return s_is_alpha(c) || s_is_digit(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

int kv_valid_email(const char *s)
{
    if (!s)
        return -1;
    size_t len = strlen(s);
    if (len == 0 || len > 254)
        return -1;
    const char *at = strchr(s, '@');
    if (!at || strchr(at + 1, '@'))
        return -1;
    /* local part: 1..64 atext characters, dots only between them */
    size_t llen = (size_t)(at - s);
    if (llen == 0 || llen > 64 || s[0] == '.' || at[-1] == '.')
        return -1;
    for (const char *p = s; p < at; p++) {
        if (*p == '.') {
            if (p[1] == '.')
                return -1;
        } else if (!s_email_local_char(*p)) {
            return -1;
        }
    }
    /* domain: labels of [A-Za-z0-9-], 1..63 long, no '-' at either end,
     * at least two labels, the last one not all digits */
    const char *d = at + 1;
    int labels = 0;
    int last_all_digits = 1;
    while (1) {
        const char *start = d;
        int all_digits = 1;
        while (*d && *d != '.') {
            if (!(s_is_alpha(*d) || s_is_digit(*d) || *d == '-'))
                return -1;
            if (!s_is_digit(*d))
                all_digits = 0;
            d++;
        }
        size_t lab = (size_t)(d - start);
        if (lab == 0 || lab > 63 || start[0] == '-' || d[-1] == '-')
            return -1;
        labels++;
        last_all_digits = all_digits;
        if (*d == '\0')
            break;
        d++;   /* skip '.'; an empty label after it fails above */
    }
    if (labels < 2 || last_all_digits)
        return -1;
    return 0;
}

int kv_normalize_phone(const char *s, char out[17])
{
    if (!s)
        return -1;
    char buf[17];
    size_t o = 0;
    int digits = 0;
    int plus = 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')
            continue;
        if (c == '+') {
            if (plus || digits > 0)
                return -1;   /* a second '+', or one after digits */
            plus = 1;
            buf[o++] = '+';
            continue;
        }
        if (!s_is_digit(c))
            return -1;
        if (digits >= 15)
            return -1;
        digits++;
        buf[o++] = c;
    }
    if (digits < 7)
        return -1;
    buf[o] = '\0';
    memcpy(out, buf, o + 1);
    return 0;
}

int kv_parse_money(const char *s, int64_t *cents)
{
    if (!s || !s_is_digit(*s))
        return -1;
    int64_t units = 0;
    const char *p = s;
    for (; s_is_digit(*p); p++) {
        units = units * 10 + (*p - '0');
        if (units > 1000000000)
            return -1;
    }
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        if (!s_is_digit(p[0]))
            return -1;
        frac = (p[0] - '0') * 10;
        p++;
        if (s_is_digit(p[0])) {
            frac += p[0] - '0';
            p++;
        }
    }
    if (*p != '\0')
        return -1;
    int64_t v = units * 100 + frac;
    if (v > (int64_t)1000000000 * 100)
        return -1;
    *cents = v;
    return 0;
}

int kv_valid_text(const char *s, size_t max_bytes)
{
    if (!s)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (p[n]) {
        if (n >= max_bytes)
            return 0;
        unsigned char c = p[n];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7F)
                return 0;
            n++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
        else return 0;
        for (size_t i = 1; i < len; i++) {
            if ((p[n + i] & 0xC0) != 0x80)   /* also stops at the NUL */
                return 0;
            cp = (cp << 6) | (p[n + i] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp <= 0x9F))
            return 0;
        n += len;
        if (n > max_bytes)
            return 0;
    }
    return 1;
}

const char *kv_pick(const char *const *set, const char *s)
{
    if (!s)
        return NULL;
    for (size_t i = 0; set[i]; i++)
        if (strcmp(set[i], s) == 0)
            return set[i];
    return NULL;
}
