/*
 * fuzz_values.c -- the one-value parsers of kv_valid.h and call_valid.h
 * that every body and query field goes through: kv_normalize_phone (phone
 * normalisation), kv_parse_i64, kv_parse_date, kv_parse_time,
 * kv_parse_money, kv_valid_email, kv_valid_text, kv_text_check,
 * kv_parse_rfc3339.  The whole input is the value.
 *
 * Properties: each parser accepts exactly the documented shape, and what
 * it accepts formats back to the input (dates, times, integers, money)
 * or normalises to a fixed point (phones); the calendar helpers agree
 * with each other (kv_date_to_days / kv_days_to_date / kv_date_weekday)
 * over the whole range they serve.
 */
#include "fuzz.h"

#include <inttypes.h>

#include "kv_valid.h"
#include "../../services/calls/call_valid.h"

static int s_digits_only(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static void s_phone(const char *s)
{
    char out[17];
    memset(out, 0x7f, sizeof out);
    if (kv_normalize_phone(s, out) != 0)
        return;
    size_t n = strlen(out);
    FUZZ_CHECK(n < sizeof out);
    const char *d = out[0] == '+' ? out + 1 : out;
    size_t nd = strlen(d);
    FUZZ_CHECK(nd >= KV_PHONE_DIGITS_MIN && nd <= KV_PHONE_DIGITS_MAX && s_digits_only(d, nd));
    char again[17];
    FUZZ_CHECK(kv_normalize_phone(out, again) == 0 && strcmp(again, out) == 0);
    /* every digit of the input, in order, and nothing else */
    size_t k = 0;
    for (const char *p = s; *p; p++)
        if (*p >= '0' && *p <= '9')
            FUZZ_CHECK(d[k++] == *p);
    FUZZ_CHECK(k == nd);
}

static void s_i64(const char *s)
{
    int64_t v;
    if (kv_parse_i64(s, &v) != 0)
        return;
    char back[32];
    snprintf(back, sizeof back, "%" PRId64, v);
    /* leading zeros and "-0" are accepted: compare the numbers */
    int64_t again;
    FUZZ_CHECK(kv_parse_i64(back, &again) == 0 && again == v);
    const char *p = s[0] == '-' ? s + 1 : s;
    FUZZ_CHECK(strlen(p) >= 1 && s_digits_only(p, strlen(p)));
}

static void s_date(const char *s)
{
    kv_date_t d, e;
    if (kv_parse_date(s, &d) != 0)
        return;
    char back[11];
    kv_format_date(&d, back);
    FUZZ_CHECK(strcmp(back, s) == 0);
    kv_days_to_date(kv_date_to_days(&d), &e);
    FUZZ_CHECK(e.y == d.y && e.m == d.m && e.d == d.d);
    kv_days_to_date(kv_date_to_days(&d) + 1, &e);
    int w = kv_date_weekday(&d), w1 = kv_date_weekday(&e);
    FUZZ_CHECK(w >= 0 && w <= 6 && w1 == (w + 1) % 7);
}

static void s_time(const char *s)
{
    int m;
    if (kv_parse_time(s, &m) != 0)
        return;
    FUZZ_CHECK(m >= 0 && m < 1440);
    char back[6];
    kv_format_time(m, back);
    FUZZ_CHECK(strcmp(back, s) == 0);
}

static void s_money(const char *s)
{
    int64_t c;
    if (kv_parse_money(s, &c) != 0)
        return;
    FUZZ_CHECK(c >= 0 && c <= 100000000000LL);
    /* units, and at most two decimals, equal to the value */
    char back[40];
    snprintf(back, sizeof back, "%" PRId64 ".%02d", c / 100, (int)(c % 100));
    int64_t again;
    FUZZ_CHECK(kv_parse_money(back, &again) == 0 && again == c);
}

static void s_email(const char *s)
{
    if (kv_valid_email(s) != 0)
        return;
    FUZZ_CHECK(strlen(s) <= 254 && strchr(s, '@') && !strchr(strchr(s, '@') + 1, '@'));
    FUZZ_CHECK(kv_valid_text(s, 254) == 1);
    FUZZ_CHECK(strpbrk(s, " \t\r\n\"\\,;<>") == NULL);
}

static void s_text(const char *s, size_t n)
{
    int ok = kv_valid_text(s, (size_t)-1);
    if (strlen(s) != n)
        return;
    for (int cs = KV_TEXT_MULTILINE; cs <= KV_TEXT_TOKEN; cs++) {
        kv_text_rule_t r = { 0, 64, (kv_charset_t)cs, 0 };
        int rc = kv_text_check(s, &r);
        FUZZ_CHECK(rc == 0 || rc == KV_TEXT_ECHARS || rc == KV_TEXT_ESHORT || rc == KV_TEXT_ELONG);
        if (rc == 0)
            FUZZ_CHECK(kv_utf8_chars(s) <= 64 && (cs == KV_TEXT_TOKEN || ok));
        if (cs != KV_TEXT_TOKEN && !ok)
            FUZZ_CHECK(rc == KV_TEXT_ECHARS);
    }
    if (ok)
        FUZZ_CHECK(fuzz_utf8(s));
    /* the byte limit: a text of n bytes fits in n, never in n - 1 */
    if (ok && n > 0)
        FUZZ_CHECK(kv_valid_text(s, n) == 1 && kv_valid_text(s, n - 1) == 0);
}

static void s_ts(const char *s)
{
    int64_t us;
    if (kv_parse_rfc3339(s, &us) != 0)
        return;
    char back[KV_RFC3339_LEN];
    kv_format_rfc3339(us, back);
    int64_t again;
    if (strncmp(back, "1899-", 5) != 0 && strncmp(back, "10000-", 6) != 0)
        FUZZ_CHECK(kv_parse_rfc3339(back, &again) == 0 && again == us);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_str(data, size);
    s_phone(s);
    s_i64(s);
    s_date(s);
    s_time(s);
    s_money(s);
    s_email(s);
    s_text(s, size);
    s_ts(s);
    free(s);
    return 0;
}
