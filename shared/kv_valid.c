/*
 * kv_valid.c -- strict parsers of request values, and the field readers of
 * request bodies and query strings (see kv_valid.h).
 *
 * Pure functions: no I/O, no locale.  They accept exactly the documented
 * shapes and nothing "close enough" (no leading spaces, no '+' signs, no
 * exponents, no single-digit months, no ids as strings), because an API
 * that guesses what a client meant cannot later be made strict without
 * breaking someone.  Calendar arithmetic uses the proleptic Gregorian
 * calendar (Howard Hinnant's days_from_civil / civil_from_days).
 *
 * The readers are the only place where a field's rule turns into a
 * message, so each rule has exactly one wording across the services.  The
 * value parsers above them allocate nothing; kv_read_text / kv_query_text
 * hand back a copy (kv_mem: never NULL), and every message goes into the
 * caller's errors object.
 */
#include "kv_valid.h"

#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_api.h"
#include "kv_mem.h"

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
        uint32_t cp;
        size_t len = kv_utf8_seq(p + n, 4, &cp);   /* stops at the NUL */
        if (len == 0 || (cp >= 0x80 && cp <= 0x9F))
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


size_t kv_utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned c = p[0];
    uint32_t v;
    size_t len;
    if (c < 0x80) {
        len = 1;
        v = c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    if (cp)
        *cp = v;
    return len;
}

size_t kv_utf8_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

/* ---- text rules ---------------------------------------------------------- */

const kv_text_rule_t kv_rule_person_name = { 1, KV_PERSON_NAME_MAX, KV_TEXT_LINE,
                                             KV_TEXT_TRIM | KV_TEXT_BLANK_ABSENT };
const kv_text_rule_t kv_rule_notes = { 0, KV_NOTES_MAX, KV_TEXT_MULTILINE,
                                       KV_TEXT_BLANK_ABSENT };
const kv_text_rule_t kv_rule_source = { 1, KV_SOURCE_MAX, KV_TEXT_TOKEN, 0 };

static int s_token_char(unsigned char c, int first)
{
    if (c >= 'a' && c <= 'z')
        return 1;
    return !first && ((c >= '0' && c <= '9') || c == '_');
}

int kv_text_check(const char *s, const kv_text_rule_t *rule)
{
    assert(s && rule);
    size_t chars;
    if (rule->charset == KV_TEXT_TOKEN) {
        for (chars = 0; s[chars]; chars++)
            if (!s_token_char((unsigned char)s[chars], chars == 0))
                return KV_TEXT_ECHARS;
    } else {
        /* kv_valid_text: UTF-8, no NUL, no controls but tab / LF / CR */
        if (!kv_valid_text(s, (size_t)-1))
            return KV_TEXT_ECHARS;
        if (rule->charset == KV_TEXT_LINE && strpbrk(s, "\t\r\n"))
            return KV_TEXT_ECHARS;
        chars = kv_utf8_chars(s);
    }
    if (chars < rule->min)
        return KV_TEXT_ESHORT;
    if (chars > rule->max)
        return KV_TEXT_ELONG;
    return 0;
}

/* ---- field readers ---------------------------------------------------------- */

/* Adds "The <field> <what>" to errors[field]. */
static void s_err(json_t *errors, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_err(json_t *errors, const char *field, const char *fmt, ...)
{
    char what[320], msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "The %s %s", field, what);
    kv_errors_add(errors, field, msg);
}

/* What an absent (v NULL) or null value means under need. */
static int s_missing(const json_t *v, const char *field, kv_need_t need, json_t *errors)
{
    if (need == KV_REQUIRED) {
        s_err(errors, field, "field is required.");
        return KV_FIELD_BAD;
    }
    if (v && need == KV_NOT_NULL) {
        s_err(errors, field, "may not be null.");
        return KV_FIELD_BAD;
    }
    return KV_FIELD_ABSENT;
}

/* body[field], or NULL when body is not an object or has no such key. */
static json_t *s_get(const json_t *obj, const char *field)
{
    return json_is_object(obj) ? json_object_get(obj, field) : NULL;
}

int kv_read_object(const json_t *body, json_t *errors)
{
    if (json_is_object(body))
        return 0;
    kv_errors_add(errors, "body", "The request body must be a JSON object.");
    return -1;
}

int kv_read_known(const json_t *obj, const char *const *known, json_t *errors)
{
    assert(json_is_object(obj));
    const char *key;
    json_t *v;
    int bad = 0;
    json_object_foreach((json_t *)obj, key, v) {
        if (kv_pick(known, key))
            continue;
        if (bad++ >= KV_UNKNOWN_FIELDS_NAMED)
            continue;
        /* the key names the error, cut on a UTF-8 character boundary
         * (jansson refuses invalid UTF-8 keys) */
        char field[KV_FIELD_NAME_MAX];
        size_t n = strlen(key);
        if (n > sizeof field - 1) {
            n = sizeof field - 1;
            while (n > 0 && ((unsigned char)key[n] & 0xC0) == 0x80)
                n--;
        }
        memcpy(field, key, n);
        field[n] = '\0';
        s_err(errors, field, "field is not allowed.");
    }
    return bad;
}

/* The message of an integer outside [min, max] or not an integer: "must be
 * an integer.", "must be at least min.", "may not be greater than max.".
 * kind: 0 not an integer, -1 below, 1 above. */
static void s_int_err(json_t *errors, const char *field, int kind, int64_t min, int64_t max)
{
    if (kind == 0)
        s_err(errors, field, "must be an integer.");
    else if (kind < 0)
        s_err(errors, field, "must be at least %" PRId64 ".", min);
    else
        s_err(errors, field, "may not be greater than %" PRId64 ".", max);
}

int kv_read_id(const json_t *obj, const char *field, kv_need_t need, int64_t *out,
               json_t *errors)
{
    json_t *v = s_get(obj, field);
    if (!v || json_is_null(v))
        return s_missing(v, field, need, errors);
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        s_err(errors, field, "must be a positive integer.");
        return KV_FIELD_BAD;
    }
    *out = (int64_t)json_integer_value(v);
    return KV_FIELD_OK;
}

int kv_read_int(const json_t *obj, const char *field, kv_need_t need, int64_t min,
                int64_t max, int64_t *out, json_t *errors)
{
    json_t *v = s_get(obj, field);
    if (!v || json_is_null(v))
        return s_missing(v, field, need, errors);
    if (!json_is_integer(v)) {
        s_int_err(errors, field, 0, min, max);
        return KV_FIELD_BAD;
    }
    int64_t x = (int64_t)json_integer_value(v);
    if (x < min || x > max) {
        s_int_err(errors, field, x < min ? -1 : 1, min, max);
        return KV_FIELD_BAD;
    }
    *out = x;
    return KV_FIELD_OK;
}

int kv_read_number(const json_t *obj, const char *field, kv_need_t need, double min,
                   double max, double *out, json_t *errors)
{
    json_t *v = s_get(obj, field);
    if (!v || json_is_null(v))
        return s_missing(v, field, need, errors);
    double x = json_is_number(v) ? json_number_value(v) : 0.0;
    if (!json_is_number(v) || !(x >= min && x <= max)) {
        s_err(errors, field, "must be a number between %g and %g.", min, max);
        return KV_FIELD_BAD;
    }
    *out = x;
    return KV_FIELD_OK;
}

int kv_read_bool(const json_t *obj, const char *field, kv_need_t need, int *out,
                 json_t *errors)
{
    json_t *v = s_get(obj, field);
    if (!v || json_is_null(v))
        return s_missing(v, field, need, errors);
    if (!json_is_boolean(v)) {
        s_err(errors, field, "field must be true or false.");
        return KV_FIELD_BAD;
    }
    *out = json_is_true(v);
    return KV_FIELD_OK;
}

static void s_date_err(json_t *errors, const char *field)
{
    s_err(errors, field, "must be a valid date in the format Y-m-d.");
}

int kv_read_date(const json_t *obj, const char *field, kv_need_t need, kv_date_t *out,
                 json_t *errors)
{
    json_t *v = s_get(obj, field);
    if (!v || json_is_null(v))
        return s_missing(v, field, need, errors);
    if (!json_is_string(v) || kv_parse_date(json_string_value(v), out) != 0) {
        s_date_err(errors, field);
        return KV_FIELD_BAD;
    }
    return KV_FIELD_OK;
}

int kv_read_time(const json_t *obj, const char *field, kv_need_t need, int *out,
                 json_t *errors)
{
    json_t *v = s_get(obj, field);
    if (!v || json_is_null(v))
        return s_missing(v, field, need, errors);
    if (!json_is_string(v) || kv_parse_time(json_string_value(v), out) != 0) {
        s_err(errors, field, "must be a valid time in the format H:i.");
        return KV_FIELD_BAD;
    }
    return KV_FIELD_OK;
}

/* "The selected <field> is invalid: use one of a, b, c." */
static void s_enum_err(json_t *errors, const char *field, const char *const *set)
{
    char list[256];
    size_t len = 0;
    list[0] = '\0';
    for (size_t i = 0; set[i] && len < sizeof list; i++) {
        int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", set[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    char msg[400];
    snprintf(msg, sizeof msg, "The selected %s is invalid: use one of %s.", field, list);
    kv_errors_add(errors, field, msg);
}

/* Picks the string v out of set, or adds the enum message. */
static int s_enum(const json_t *v, const char *field, const char *const *set,
                  const char **out, json_t *errors)
{
    const char *pick = json_is_string(v) ? kv_pick(set, json_string_value(v)) : NULL;
    if (!pick) {
        s_enum_err(errors, field, set);
        return KV_FIELD_BAD;
    }
    *out = pick;
    return KV_FIELD_OK;
}

int kv_read_enum(const json_t *obj, const char *field, kv_need_t need,
                 const char *const *set, const char **out, json_t *errors)
{
    json_t *v = s_get(obj, field);
    if (!v || json_is_null(v))
        return s_missing(v, field, need, errors);
    return s_enum(v, field, set, out, errors);
}

static int s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Applies rule to the value v (present, not null): a blank value under
 * KV_TEXT_BLANK_ABSENT is absent, or missing when need is KV_REQUIRED. */
static int s_text(const json_t *v, const char *field, kv_need_t need,
                  const kv_text_rule_t *rule, char **out, json_t *errors)
{
    if (!json_is_string(v)) {
        s_err(errors, field, "must be a string.");
        return KV_FIELD_BAD;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len) {   /* an embedded NUL (\u0000) */
        s_err(errors, field, "may not contain control characters.");
        return KV_FIELD_BAD;
    }
    if (rule->flags & KV_TEXT_TRIM) {
        while (len > 0 && s_space(*s)) {
            s++;
            len--;
        }
        while (len > 0 && s_space(s[len - 1]))
            len--;
    }
    if (len == 0 && (rule->flags & KV_TEXT_BLANK_ABSENT)) {
        if (need == KV_REQUIRED) {
            s_err(errors, field, "field is required.");
            return KV_FIELD_BAD;
        }
        return KV_FIELD_ABSENT;
    }
    char *t = kv_strndup(s, len);
    int rc = kv_text_check(t, rule);
    if (rc == 0) {
        *out = t;
        return KV_FIELD_OK;
    }
    free(t);
    if (rule->charset == KV_TEXT_TOKEN)
        s_err(errors, field, "must be %zu to %zu characters of a-z, 0-9 and _, starting "
              "with a letter.", rule->min > 0 ? rule->min : 1, rule->max);
    else if (rc == KV_TEXT_ESHORT)
        s_err(errors, field, "must be at least %zu character%s.", rule->min,
              rule->min == 1 ? "" : "s");
    else if (rc == KV_TEXT_ELONG)
        s_err(errors, field, "may not be greater than %zu characters.", rule->max);
    else if (rule->charset == KV_TEXT_LINE)
        s_err(errors, field, "may not contain control characters.");
    else
        s_err(errors, field, "may not contain control characters other than tab and "
              "line breaks.");
    return KV_FIELD_BAD;
}

int kv_read_text(const json_t *obj, const char *field, kv_need_t need,
                 const kv_text_rule_t *rule, char **out, json_t *errors)
{
    json_t *v = s_get(obj, field);
    if (!v || json_is_null(v))
        return s_missing(v, field, need, errors);
    return s_text(v, field, need, rule, out, errors);
}

int kv_read_phone(const json_t *obj, const char *field, kv_need_t need, char out[17],
                  json_t *errors)
{
    json_t *v = s_get(obj, field);
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return s_missing(v, field, need == KV_OPTIONAL ? KV_OPTIONAL : KV_REQUIRED, errors);
    if (!json_is_string(v)) {
        s_err(errors, field, "must be a string.");
        return KV_FIELD_BAD;
    }
    const char *s = json_string_value(v);
    if (strlen(s) > KV_PHONE_INPUT_MAX || kv_normalize_phone(s, out) != 0) {
        s_err(errors, field, "format is invalid: use %d to %d digits, optionally after a "
              "leading + (spaces, dashes, dots and brackets are ignored).",
              KV_PHONE_DIGITS_MIN, KV_PHONE_DIGITS_MAX);
        return KV_FIELD_BAD;
    }
    return KV_FIELD_OK;
}

/* ---- query readers ------------------------------------------------------------- */

json_t *kv_query_value(const json_t *query, const char *key)
{
    json_t *v = s_get(query, key);
    if (!v || (json_is_string(v) && json_string_length(v) == 0))
        return NULL;
    return v;
}

/* The query value of key as a string: KV_FIELD_ABSENT (an error when
 * required) or KV_FIELD_OK with *s set.  A value that is not a string
 * (which no query string can produce) gives *s = "", which every parser
 * refuses with its own message. */
static int s_qstr(const json_t *query, const char *key, kv_need_t need, const char **s,
                  json_t *errors)
{
    json_t *v = kv_query_value(query, key);
    if (!v)
        return s_missing(NULL, key, need == KV_REQUIRED ? KV_REQUIRED : KV_OPTIONAL, errors);
    *s = json_is_string(v) ? json_string_value(v) : "";
    return KV_FIELD_OK;
}

/* Parses s as [-]digits into *x.  0 ok, -1 not an integer, 1 a well-formed
 * integer beyond int64 (its sign in *x: INT64_MIN or INT64_MAX). */
static int s_parse_int(const char *s, int64_t *x)
{
    if (kv_parse_i64(s, x) == 0)
        return 0;
    const char *p = s[0] == '-' ? s + 1 : s;
    if (!s_is_digit(*p))
        return -1;
    for (; *p; p++)
        if (!s_is_digit(*p))
            return -1;
    *x = s[0] == '-' ? INT64_MIN : INT64_MAX;
    return 1;
}

int kv_query_int(const json_t *query, const char *key, kv_need_t need, int64_t min,
                 int64_t max, int64_t *out, json_t *errors)
{
    const char *s;
    int rc = s_qstr(query, key, need, &s, errors);
    if (rc != KV_FIELD_OK)
        return rc;
    int64_t x;
    if (s_parse_int(s, &x) < 0) {
        s_int_err(errors, key, 0, min, max);
        return KV_FIELD_BAD;
    }
    if (x < min || x > max) {
        s_int_err(errors, key, x < min ? -1 : 1, min, max);
        return KV_FIELD_BAD;
    }
    *out = x;
    return KV_FIELD_OK;
}

int kv_query_id(const json_t *query, const char *key, kv_need_t need, int64_t *out,
                json_t *errors)
{
    const char *s;
    int rc = s_qstr(query, key, need, &s, errors);
    if (rc != KV_FIELD_OK)
        return rc;
    int64_t x;
    int prc = s_parse_int(s, &x);
    if (prc < 0 || s[0] == '-' || x < 1) {
        s_err(errors, key, "must be a positive integer.");
        return KV_FIELD_BAD;
    }
    if (prc > 0) {
        s_err(errors, key, "may not be greater than %" PRId64 ".", INT64_MAX);
        return KV_FIELD_BAD;
    }
    *out = x;
    return KV_FIELD_OK;
}

int kv_query_date(const json_t *query, const char *key, kv_need_t need, kv_date_t *out,
                  json_t *errors)
{
    const char *s;
    int rc = s_qstr(query, key, need, &s, errors);
    if (rc != KV_FIELD_OK)
        return rc;
    if (kv_parse_date(s, out) != 0) {
        s_date_err(errors, key);
        return KV_FIELD_BAD;
    }
    return KV_FIELD_OK;
}

int kv_query_bool(const json_t *query, const char *key, kv_need_t need, int *out,
                  json_t *errors)
{
    const char *s;
    int rc = s_qstr(query, key, need, &s, errors);
    if (rc != KV_FIELD_OK)
        return rc;
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
        *out = 1;
    } else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
        *out = 0;
    } else {
        s_err(errors, key, "field must be true, false, 1 or 0.");
        return KV_FIELD_BAD;
    }
    return KV_FIELD_OK;
}

int kv_query_enum(const json_t *query, const char *key, kv_need_t need,
                  const char *const *set, const char **out, json_t *errors)
{
    json_t *v = kv_query_value(query, key);
    if (!v)
        return s_missing(NULL, key, need == KV_REQUIRED ? KV_REQUIRED : KV_OPTIONAL, errors);
    return s_enum(v, key, set, out, errors);
}

int kv_query_text(const json_t *query, const char *key, kv_need_t need,
                  const kv_text_rule_t *rule, char **out, json_t *errors)
{
    json_t *v = kv_query_value(query, key);
    if (!v)
        return s_missing(NULL, key, need == KV_REQUIRED ? KV_REQUIRED : KV_OPTIONAL, errors);
    kv_text_rule_t r = *rule;
    r.flags |= KV_TEXT_BLANK_ABSENT;   /* a blank search filters nothing */
    return s_text(v, key, need == KV_REQUIRED ? KV_REQUIRED : KV_OPTIONAL, &r, out, errors);
}

/* ---- RFC 3339 timestamps ------------------------------------------------ */

#define S_US_PER_SEC_RFC 1000000LL

static int s_rfc_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly n digits at s into *out; 0 or -1. */
static int s_rfc_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!s_rfc_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int kv_parse_rfc3339(const char *s, int64_t *us)
{
    int h, mi, sec;
    char day[11];
    kv_date_t d;
    if (!s || strlen(s) < 20)
        return -1;
    memcpy(day, s, 10);
    day[10] = '\0';
    if (kv_parse_date(day, &d) != 0 || s[10] != 'T' || s_rfc_digits(s + 11, 2, &h) ||
        s[13] != ':' || s_rfc_digits(s + 14, 2, &mi) || s[16] != ':' || s_rfc_digits(s + 17, 2, &sec))
        return -1;
    if (h > 23 || mi > 59 || sec > 59)
        return -1;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (s_rfc_digit(*p)) {
            if (n < 6)
                frac = frac * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n < 1 || n > 9)
            return -1;
        for (int i = n; i < 6; i++)
            frac *= 10;
    }
    int off = 0;   /* seconds east of UTC */
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (s_rfc_digits(p + 1, 2, &oh) || p[3] != ':' || s_rfc_digits(p + 4, 2, &om) ||
            oh > 23 || om > 59)
            return -1;
        off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    int64_t secs = kv_date_to_days(&d) * 86400 + h * 3600 + mi * 60 + sec - off;
    *us = secs * S_US_PER_SEC_RFC + frac;
    return 0;
}

void kv_format_rfc3339(int64_t us, char buf[KV_RFC3339_LEN])
{
    int64_t secs = us / S_US_PER_SEC_RFC, frac = us % S_US_PER_SEC_RFC;
    if (frac < 0) {
        frac += S_US_PER_SEC_RFC;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    kv_date_t d;
    kv_days_to_date(days, &d);
    snprintf(buf, KV_RFC3339_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", d.y, d.m, d.d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (long long)frac);
}
