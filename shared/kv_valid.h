/*
 * kv_valid.h -- strict parsers and validators for request fields.
 *
 * Pure functions, no I/O, unit-tested in tests/unit/test_valid.c.  Each
 * returns 0 when the input is valid (filling the out parameter) and -1
 * otherwise; none of them allocates.
 */
#ifndef KV_VALID_H
#define KV_VALID_H

#include <stdint.h>
#include <stddef.h>

/* Decimal integer, optional leading '-', no spaces, no '+', fits int64. */
int kv_parse_i64(const char *s, int64_t *out);

/* "YYYY-MM-DD", a real calendar date (2026-02-30 is refused), year 1900..9999. */
typedef struct { int y, m, d; } kv_date_t;
int kv_parse_date(const char *s, kv_date_t *out);
/* Formats as "YYYY-MM-DD" into buf[11]. */
void kv_format_date(const kv_date_t *d, char buf[11]);
/* Days since 1970-01-01 (may be negative), and back. */
int64_t kv_date_to_days(const kv_date_t *d);
void kv_days_to_date(int64_t days, kv_date_t *out);
/* 0 = Monday ... 6 = Sunday. */
int kv_date_weekday(const kv_date_t *d);

/* "HH:MM", 00:00..23:59, exactly two digits each.  *minutes = h*60+m. */
int kv_parse_time(const char *s, int *minutes);
/* Formats minutes (0..1440) as "HH:MM" into buf[6]; 1440 gives "24:00". */
void kv_format_time(int minutes, char buf[6]);

/* A practical e-mail check: one '@', non-empty local part of allowed
 * characters, a domain of dot-separated labels with at least one dot,
 * total length <= 254.  Returns 0 when valid, -1 otherwise (like the
 * parsers; note kv_valid_text below is the one boolean exception). */
int kv_valid_email(const char *s);

/* Normalises a phone number: drops spaces, '-', '.', '(' and ')'; keeps one
 * leading '+'; the rest must be 7..15 digits.  out has room for 17 bytes. */
int kv_normalize_phone(const char *s, char out[17]);

/* A money amount: digits with at most two decimals, >= 0, <= 1e9.
 * *cents gets the value in cents. */
int kv_parse_money(const char *s, int64_t *cents);

/* True when s is valid UTF-8 of at most max_bytes bytes and holds no NUL or
 * control characters other than \n, \r and \t: returns 1 (true) when
 * valid, 0 otherwise -- NOT the 0/-1 convention of the parsers. */
int kv_valid_text(const char *s, size_t max_bytes);

/* The entry of the NULL-terminated set equal to s (case-sensitive), or
 * NULL when there is none or s is NULL.  The result is the set's own
 * (static) string, not s. */
const char *kv_pick(const char *const *set, const char *s);

#endif
