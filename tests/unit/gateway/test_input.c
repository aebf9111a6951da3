/*
 * test_input.c -- the checks before the body: request-target length and
 * query percent-escapes, query text (UTF-8, control characters), the
 * message of each, and which Content-Types are JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_input.h"

int main(void)
{
    KVT_EQ_INT(gw_uri_check("/api/v1/customers?search=lee&page=2", GW_URI_MAX), GW_INPUT_OK,
               "a plain query is fine");
    KVT_EQ_INT(gw_uri_check("/api/v1/customers?search=%41%c3%a9", GW_URI_MAX), GW_INPUT_OK,
               "valid escapes, either case, are fine");
    KVT_EQ_INT(gw_uri_check("/api/v1/customers?search=%zz", GW_URI_MAX), GW_INPUT_BAD_ESCAPE,
               "%%zz is a bad escape");
    KVT_EQ_INT(gw_uri_check("/api/v1/customers?search=100%", GW_URI_MAX), GW_INPUT_BAD_ESCAPE,
               "a trailing %% is a bad escape");
    KVT_EQ_INT(gw_uri_check("/api/v1/customers?search=%4", GW_URI_MAX), GW_INPUT_BAD_ESCAPE,
               "a %% with one hex digit is a bad escape");
    KVT_EQ_INT(gw_uri_check("/api/v1/%zz/x", GW_URI_MAX), GW_INPUT_OK,
               "the path is not the query (an unknown path is a 404, not a 400)");
    KVT_EQ_INT(gw_uri_check("/a?b=%2", 3), GW_INPUT_TOO_LONG, "length is checked first");
    size_t n = GW_URI_MAX + 1;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    big[0] = '/';
    big[n] = '\0';
    KVT_EQ_INT(gw_uri_check(big, GW_URI_MAX), GW_INPUT_TOO_LONG, "GW_URI_MAX + 1 bytes is too long");
    big[n - 1] = '\0';
    KVT_EQ_INT(gw_uri_check(big, GW_URI_MAX), GW_INPUT_OK, "GW_URI_MAX bytes is fine");
    free(big);

    KVT_EQ_INT(gw_text_check("caf\xc3\xa9 \t", 7), GW_INPUT_OK, "UTF-8 text with a tab is fine");
    KVT_EQ_INT(gw_text_check("a\nb", 3), GW_INPUT_OK, "a newline is allowed, as the services allow it");
    KVT_EQ_INT(gw_text_check("\xff\xfe", 2), GW_INPUT_BAD_UTF8, "0xff 0xfe is not UTF-8");
    KVT_EQ_INT(gw_text_check("\xc3", 1), GW_INPUT_BAD_UTF8, "a truncated sequence is not UTF-8");
    KVT_EQ_INT(gw_text_check("\xed\xa0\x80", 3), GW_INPUT_BAD_UTF8, "a surrogate is not UTF-8");
    KVT_EQ_INT(gw_text_check("\xc0\xaf", 2), GW_INPUT_BAD_UTF8, "an overlong form is not UTF-8");
    KVT_EQ_INT(gw_text_check("a\0b", 3), GW_INPUT_CONTROL, "a NUL byte is a control character");
    KVT_EQ_INT(gw_text_check("a\x1b", 2), GW_INPUT_CONTROL, "ESC is a control character");
    KVT_EQ_INT(gw_text_check("a\x7f", 2), GW_INPUT_CONTROL, "DEL is a control character");
    KVT_EQ_INT(gw_text_check("\xc2\x85", 2), GW_INPUT_CONTROL, "a C1 control is a control character");
    KVT_EQ_INT(gw_text_check("", 0), GW_INPUT_OK, "empty text is fine");

    KVT_EQ_STR(gw_input_message(GW_INPUT_BAD_ESCAPE), "Malformed query string: bad percent-encoding.",
               "the bad-escape message");
    KVT_EQ_STR(gw_input_message(GW_INPUT_BAD_UTF8), "Malformed query string: invalid UTF-8.",
               "the UTF-8 message");
    KVT_EQ_STR(gw_input_message(GW_INPUT_CONTROL),
               "Malformed query string: control characters are not allowed.", "the control message");
    KVT_EQ_STR(gw_input_message(GW_INPUT_TOO_LONG), "Request URI too long.", "the 414 message");
    KVT_OK(gw_input_message(GW_INPUT_OK) == NULL, "no message for OK");

    KVT_OK(gw_content_type_is_json("application/json"), "application/json is JSON");
    KVT_OK(gw_content_type_is_json("Application/JSON; charset=utf-8"), "case and parameters do not matter");
    KVT_OK(gw_content_type_is_json(" application/json;charset=UTF-8"), "leading space, no space before ;");
    KVT_OK(gw_content_type_is_json("application/merge-patch+json"), "application/<x>+json is JSON");
    KVT_OK(!gw_content_type_is_json("application/x-www-form-urlencoded"), "a form is not JSON (curl -d's default)");
    KVT_OK(!gw_content_type_is_json("text/plain"), "text/plain is not JSON");
    KVT_OK(!gw_content_type_is_json("text/json"), "text/json is not JSON");
    KVT_OK(!gw_content_type_is_json("application/jsonx"), "application/jsonx is not JSON");
    KVT_OK(!gw_content_type_is_json("application/+json"), "an empty subtype before +json is not JSON");
    KVT_OK(!gw_content_type_is_json("multipart/form-data; boundary=x"), "multipart is not JSON");
    KVT_OK(!gw_content_type_is_json(""), "empty is not JSON");
    KVT_OK(!gw_content_type_is_json(NULL), "NULL is not JSON");
    return kvt_done();
}
