/*
 * kv_valid.h -- strict parsers of request values, and the field readers
 * every service uses on request bodies and query strings.
 *
 * Two layers, both pure (no I/O):
 *
 *  1. Parsers of one value (kv_parse_i64, kv_parse_date, kv_parse_time,
 *     kv_normalize_phone, ...): 0 when the input is valid (filling the out
 *     parameter), -1 otherwise; none of them allocates.  Unit-tested in
 *     tests/unit/shared/test_valid.c.
 *
 *  2. Field readers (kv_read_* on a JSON body, kv_query_* on the query
 *     object of a bus request): each reads one field, applies one rule and,
 *     when the value breaks it, adds the one message for that rule to
 *     errors[field] (the 422 envelope's shape, kv_errors_add).  The same
 *     rule therefore gives the same message in every service.  Unit-tested
 *     in tests/unit/shared/test_readers.c.
 *
 * Reader conventions:
 *   - Return KV_FIELD_OK (0, *out set), KV_FIELD_ABSENT (1, *out untouched)
 *     or KV_FIELD_BAD (-1, one message added to errors).
 *   - Body values: JSON null counts as absent (KV_OPTIONAL), is refused
 *     (KV_NOT_NULL: "may not be null") or reported as missing
 *     (KV_REQUIRED: "The <field> field is required.").
 *   - Query values are strings exactly as the client sent them.  An empty
 *     value means the parameter is absent (a filter left blank filters
 *     nothing); a value that is not a string cannot come from a query
 *     string and is refused.
 *   - Field names must be short ASCII names chosen by the program; values
 *     are never echoed into messages except the unknown field's own name.
 */
#ifndef KV_VALID_H
#define KV_VALID_H

#include <stdint.h>
#include <stddef.h>
#include <jansson.h>

#include "kv_limits.h"

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

/* Room for a canonical timestamp "YYYY-MM-DDTHH:MM:SS.ffffffZ" and NUL. */
#define KV_RFC3339_LEN 32

/* Parses the strict RFC 3339 form YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|
 * -HH:MM): upper-case T and Z, a real calendar date of year 1900..9999,
 * an offset up to +-23:59; into Unix epoch microseconds (fraction digits
 * past the sixth are dropped).  0, or -1 when s is anything else. */
int kv_parse_rfc3339(const char *s, int64_t *us);
/* Formats us as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC) into buf. */
void kv_format_rfc3339(int64_t us, char buf[KV_RFC3339_LEN]);

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

/* Length (1-4) of the well-formed UTF-8 sequence at p, of which n bytes may
 * be read, with its code point in *cp (cp may be NULL); 0 when it is not
 * one: a stray or overlong lead byte, a missing continuation byte, a
 * surrogate, a code point past U+10FFFF.  p[k] is read only once p[1..k-1]
 * were continuation bytes, so a NUL-terminated string may pass n = 4. */
size_t kv_utf8_seq(const unsigned char *p, size_t n, uint32_t *cp);

/* Number of code points of s (s valid UTF-8; continuation bytes are not
 * counted). */
size_t kv_utf8_chars(const char *s);

/* ---- text rules ------------------------------------------------------- */

/* Which characters a text field may hold.  No rule allows NUL, invalid
 * UTF-8, DEL or the C1 controls (U+0080..U+009F). */
typedef enum {
    KV_TEXT_MULTILINE = 0,   /* any text; tab, LF and CR are the only controls */
    KV_TEXT_LINE,            /* one line: no control character at all */
    KV_TEXT_TOKEN            /* [a-z][a-z0-9_]*: identifiers like "walk_in" */
} kv_charset_t;

/* Flags of a text rule. */
#define KV_TEXT_TRIM         0x1   /* strip ASCII white space at both ends first */
#define KV_TEXT_BLANK_ABSENT 0x2   /* "" (after trimming) counts as absent */

/* The rule of one text field.  Lengths are in characters. */
typedef struct {
    size_t min;              /* 0: "" allowed (unless KV_TEXT_BLANK_ABSENT) */
    size_t max;
    kv_charset_t charset;
    unsigned flags;          /* KV_TEXT_* */
} kv_text_rule_t;

/* The rules several resources share (lengths from kv_limits.h). */
extern const kv_text_rule_t kv_rule_person_name;  /* a customer's, caller's or staff
                                                   * member's name: one line, trimmed,
                                                   * 1..KV_PERSON_NAME_MAX, blank = absent */
extern const kv_text_rule_t kv_rule_notes;        /* customer and appointment notes:
                                                   * multi-line, <= KV_NOTES_MAX, "" = absent */
extern const kv_text_rule_t kv_rule_source;       /* customer and appointment source: a
                                                   * token of 1..KV_SOURCE_MAX */

/* Checks s against rule's charset and length (no trimming: s is taken as
 * is).  Returns 0 when it passes, else a negative KV_TEXT_E* code. */
enum {
    KV_TEXT_ECHARS = -1,     /* a character the charset does not allow */
    KV_TEXT_ESHORT = -2,     /* fewer than rule->min characters */
    KV_TEXT_ELONG = -3       /* more than rule->max characters */
};
int kv_text_check(const char *s, const kv_text_rule_t *rule);

/* ---- field readers (see the conventions at the top) --------------------- */

#define KV_FIELD_OK      0
#define KV_FIELD_ABSENT  1
#define KV_FIELD_BAD    (-1)

/* Whether a body field must be present, and what JSON null means. */
typedef enum {
    KV_OPTIONAL = 0,         /* absent and null: absent */
    KV_REQUIRED,             /* absent and null: "The <f> field is required." */
    KV_NOT_NULL              /* absent: absent; null: "The <f> may not be null." */
} kv_need_t;

/* 0 when body is a JSON object; otherwise adds errors["body"] "The request
 * body must be a JSON object." and returns -1 (body NULL = no body). */
int kv_read_object(const json_t *body, json_t *errors);

/* Adds errors[key] "The <key> field is not allowed." for each key of obj
 * that is not in the NULL-terminated list known (at most
 * KV_UNKNOWN_FIELDS_NAMED are named; a key longer than KV_FIELD_NAME_MAX - 1
 * bytes is cut on a character boundary).  Returns the number of unknown
 * keys (0: none).  obj must be an object. */
int kv_read_known(const json_t *obj, const char *const *known, json_t *errors);

/* An id: a JSON integer >= 1 (a JSON integer is always within PostgreSQL's
 * bigint; "1", 1.0 and true are refused).
 * Message: "The <f> must be a positive integer." */
int kv_read_id(const json_t *obj, const char *field, kv_need_t need, int64_t *out,
               json_t *errors);

/* A JSON integer in [min, max] ("42" and 42.0 are refused).
 * Message: "The <f> must be an integer between <min> and <max>." */
int kv_read_int(const json_t *obj, const char *field, kv_need_t need, int64_t min,
                int64_t max, int64_t *out, json_t *errors);

/* A JSON number (integer or real) in [min, max].
 * Message: "The <f> must be a number between <min> and <max>." */
int kv_read_number(const json_t *obj, const char *field, kv_need_t need, double min,
                   double max, double *out, json_t *errors);

/* true or false (not 1, not "true").  *out 1 or 0.
 * Message: "The <f> field must be true or false." */
int kv_read_bool(const json_t *obj, const char *field, kv_need_t need, int *out,
                 json_t *errors);

/* A string "Y-m-d" naming a real calendar date (kv_parse_date).
 * Message: "The <f> must be a valid date in the format Y-m-d." */
int kv_read_date(const json_t *obj, const char *field, kv_need_t need, kv_date_t *out,
                 json_t *errors);

/* A string "H:i", 00:00..23:59 (kv_parse_time); *out in minutes.
 * Message: "The <f> must be a valid time in the format H:i." */
int kv_read_time(const json_t *obj, const char *field, kv_need_t need, int *out,
                 json_t *errors);

/* A string equal to one entry of the NULL-terminated set (case-sensitive);
 * *out is the set's own static string.
 * Message: "The selected <f> is invalid: use one of <a>, <b>, <c>." */
int kv_read_enum(const json_t *obj, const char *field, kv_need_t need,
                 const char *const *set, const char **out, json_t *errors);

/* A string following rule.  On KV_FIELD_OK *out is a new string (trimmed
 * when the rule says so) that the caller owns (free()).
 * Messages: "The <f> must be a string.", "The <f> field is required.",
 * "The <f> must be at least <min> characters.", "The <f> may not be
 * greater than <max> characters.", and per charset "The <f> may not
 * contain control characters." (LINE), "The <f> may not contain control
 * characters other than tab and line breaks." (MULTILINE), "The <f> must
 * be 1 to <max> characters of a-z, 0-9 and _, starting with a letter."
 * (TOKEN). */
int kv_read_text(const json_t *obj, const char *field, kv_need_t need,
                 const kv_text_rule_t *rule, char **out, json_t *errors);

/* A phone number (kv_normalize_phone) of at most KV_PHONE_INPUT_MAX
 * characters as written; out gets the normalised form.
 * Messages: "The <f> must be a string.", "The <f> field is required." (also
 * for ""), "The <f> format is invalid: use 7 to 15 digits, optionally after a
 * leading + (spaces, dashes, dots and brackets are ignored)." */
int kv_read_phone(const json_t *obj, const char *field, kv_need_t need, char out[17],
                  json_t *errors);

/* ---- query readers ----------------------------------------------------- */

/* The query value of key: absent (NULL) for a missing key or an empty
 * string, else the JSON value (borrowed).  query may be NULL. */
json_t *kv_query_value(const json_t *query, const char *key);

/* An integer in [min, max] written in decimal digits (optional '-').
 * Messages, each true for its case: "The <k> must be an integer.", "The <k>
 * must be at least <min>.", "The <k> may not be greater than <max>." (also
 * for numbers too large for 64 bits). */
int kv_query_int(const json_t *query, const char *key, kv_need_t need, int64_t min,
                 int64_t max, int64_t *out, json_t *errors);

/* An id: decimal digits, >= 1, at most INT64_MAX.  Messages: "The <k> must
 * be a positive integer.", "The <k> may not be greater than
 * 9223372036854775807." */
int kv_query_id(const json_t *query, const char *key, kv_need_t need, int64_t *out,
                json_t *errors);

/* A date "Y-m-d" (same message as kv_read_date). */
int kv_query_date(const json_t *query, const char *key, kv_need_t need, kv_date_t *out,
                  json_t *errors);

/* true | false | 1 | 0 (case-sensitive).  Message: "The <k> field must be
 * true, false, 1 or 0." */
int kv_query_bool(const json_t *query, const char *key, kv_need_t need, int *out,
                  json_t *errors);

/* One entry of set (same message as kv_read_enum). */
int kv_query_enum(const json_t *query, const char *key, kv_need_t need,
                  const char *const *set, const char **out, json_t *errors);

/* A text following rule (same contract and messages as kv_read_text; "" is
 * absent whatever the rule). */
int kv_query_text(const json_t *query, const char *key, kv_need_t need,
                  const kv_text_rule_t *rule, char **out, json_t *errors);

#endif
