/*
 * gw_input.h -- pure checks of what a client sends before the body: the
 * request-target (length, percent-escapes of the query), query argument
 * text, and the body's Content-Type.  Each failure has its own code so
 * that the answer can say exactly what is wrong.
 */
#ifndef GW_INPUT_H
#define GW_INPUT_H

#include <stddef.h>

/* The longest request-target (path and query as sent) the public API
 * accepts; longer is 414.  8 KiB, like most servers' request-line limit. */
#define GW_URI_MAX 8192

enum {
    GW_INPUT_OK = 0,
    GW_INPUT_TOO_LONG,       /* request-target over the limit: 414 */
    GW_INPUT_BAD_ESCAPE,     /* '%' not followed by two hex digits: 400 */
    GW_INPUT_BAD_UTF8,       /* decoded text is not UTF-8: 400 */
    GW_INPUT_CONTROL,        /* decoded text holds NUL or a control character: 400 */
};

/* Checks the raw request-target uri (NUL-terminated, as received): its
 * length against max, and every '%' of its query part (after the first
 * '?') for two hex digits.  Returns GW_INPUT_OK, GW_INPUT_TOO_LONG or
 * GW_INPUT_BAD_ESCAPE. */
int gw_uri_check(const char *uri, size_t max);

/* Checks decoded query text s[0..n) (n may count NUL bytes the decoding
 * produced): GW_INPUT_OK, GW_INPUT_BAD_UTF8 or GW_INPUT_CONTROL (any C0
 * control but tab, CR and LF, DEL, C1 controls, and NUL: the same
 * text the services accept). */
int gw_text_check(const char *s, size_t n);

/* The error message of a GW_INPUT_* code (static string), NULL for OK. */
const char *gw_input_message(int code);

/* 1 when the Content-Type value ct names JSON: application/json or any
 * application/<x>+json, case-insensitive, parameters (charset=...) allowed;
 * 0 otherwise (NULL included). */
int gw_content_type_is_json(const char *ct);

#endif
