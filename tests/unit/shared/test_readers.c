/*
 * test_readers.c -- unit tests of the field readers of shared/kv_valid.c:
 * the one set of body and query readers every service uses (ids, integers,
 * numbers, booleans, dates, times, enumerations, text with limits and a
 * charset, phones, unknown fields), each rule with its one message.  Each
 * check is named after the behaviour it proves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "kv_limits.h"
#include "kv_valid.h"

static json_t *s_errors;

/* A JSON object from text (aborts on a bad test literal). */
static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s (%s)\n", text, e.text);
        abort();
    }
    return v;
}

/* The first message under field in s_errors, or NULL. */
static const char *s_msg(const char *field)
{
    return json_string_value(json_array_get(json_object_get(s_errors, field), 0));
}

/* Clears s_errors for the next check. */
static void s_reset(void)
{
    json_object_clear(s_errors);
}

static void test_object_and_known(void)
{
    json_t *b = J("{\"a\":1,\"price\":0,\"status\":\"completed\"}");
    static const char *const known[] = { "a", NULL };
    KVT_EQ_INT(kv_read_known(b, known, s_errors), 2, "known: counts the unknown keys");
    KVT_EQ_STR(s_msg("price"), "The price field is not allowed.", "known: names each unknown key");
    KVT_EQ_STR(s_msg("status"), "The status field is not allowed.", "known: every one of them");
    KVT_OK(!json_object_get(s_errors, "a"), "known: a known key is not reported");
    json_decref(b);
    s_reset();

    /* at most KV_UNKNOWN_FIELDS_NAMED are named */
    b = json_object();
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        json_object_set_new(b, k, json_true());
    }
    KVT_EQ_INT(kv_read_known(b, known, s_errors), 50, "known: counts all 50 unknown keys");
    KVT_EQ_INT(json_object_size(s_errors), KV_UNKNOWN_FIELDS_NAMED,
               "known: names at most KV_UNKNOWN_FIELDS_NAMED of them");
    json_decref(b);
    s_reset();

    /* a long key is cut on a character boundary */
    char key[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(key, "\xc3\xa9");   /* 80 bytes */
    b = json_object();
    json_object_set_new(b, key, json_true());
    kv_read_known(b, known, s_errors);
    const char *ek = NULL;
    json_t *ev;
    json_object_foreach(s_errors, ek, ev) break;
    KVT_OK(ek && strlen(ek) == 62, "known: a long multibyte key is cut to whole characters");
    json_decref(b);
    s_reset();

    KVT_EQ_INT(kv_read_object(NULL, s_errors), -1, "object: no body is refused");
    KVT_EQ_STR(s_msg("body"), "The request body must be a JSON object.", "object: the body message");
    s_reset();
    b = J("[1]");
    KVT_EQ_INT(kv_read_object(b, s_errors), -1, "object: a list is refused");
    json_decref(b);
    s_reset();
    b = J("{}");
    KVT_EQ_INT(kv_read_object(b, s_errors), 0, "object: an object is accepted");
    KVT_EQ_INT(json_object_size(s_errors), 0, "object: no error for an object");
    json_decref(b);
}

static void test_ids_and_ints(void)
{
    int64_t v = -7;
    struct { const char *json; int rc; int64_t want; const char *name; } ids[] = {
        { "{\"id\":1}", KV_FIELD_OK, 1, "id: 1 is accepted" },
        { "{\"id\":9223372036854775807}", KV_FIELD_OK, INT64_MAX, "id: the largest bigint" },
        { "{\"id\":\"1\"}", KV_FIELD_BAD, 0, "id: a string \"1\" is refused (ids are JSON integers)" },
        { "{\"id\":1.0}", KV_FIELD_BAD, 0, "id: 1.0 is refused" },
        { "{\"id\":0}", KV_FIELD_BAD, 0, "id: 0 is refused" },
        { "{\"id\":-3}", KV_FIELD_BAD, 0, "id: a negative id is refused" },
        { "{\"id\":true}", KV_FIELD_BAD, 0, "id: true is refused" },
        { "{\"id\":[1]}", KV_FIELD_BAD, 0, "id: a list is refused" },
        { "{}", KV_FIELD_ABSENT, 0, "id: absent is absent" },
        { "{\"id\":null}", KV_FIELD_ABSENT, 0, "id: null is absent when optional" },
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        json_t *b = J(ids[i].json);
        v = -7;
        int rc = kv_read_id(b, "id", KV_OPTIONAL, &v, s_errors);
        KVT_OK(rc == ids[i].rc && (rc != KV_FIELD_OK || v == ids[i].want) &&
               (rc != KV_FIELD_BAD ||
                (s_msg("id") && strcmp(s_msg("id"), "The id must be a positive integer.") == 0)) &&
               (rc == KV_FIELD_BAD || json_object_size(s_errors) == 0), "%s", ids[i].name);
        json_decref(b);
        s_reset();
    }
    json_t *b = J("{}");
    KVT_EQ_INT(kv_read_id(b, "customer_id", KV_REQUIRED, &v, s_errors), KV_FIELD_BAD,
               "id: absent and required is refused");
    KVT_EQ_STR(s_msg("customer_id"), "The customer_id field is required.", "id: the required message");
    json_decref(b);
    s_reset();
    b = J("{\"staff_id\":null}");
    KVT_EQ_INT(kv_read_id(b, "staff_id", KV_NOT_NULL, &v, s_errors), KV_FIELD_BAD,
               "not null: null is refused");
    KVT_EQ_STR(s_msg("staff_id"), "The staff_id may not be null.", "not null: the message");
    json_decref(b);
    s_reset();

    b = J("{\"n\":5,\"lo\":-1,\"hi\":101,\"s\":\"5\",\"r\":5.5}");
    int64_t x;
    KVT_EQ_INT(kv_read_int(b, "n", KV_OPTIONAL, 0, 100, &x, s_errors), KV_FIELD_OK, "int: 5 in 0..100");
    KVT_EQ_INT(x, 5, "int: value read");
    kv_read_int(b, "lo", KV_OPTIONAL, 0, 100, &x, s_errors);
    KVT_EQ_STR(s_msg("lo"), "The lo must be at least 0.", "int: below min has the at-least message");
    kv_read_int(b, "hi", KV_OPTIONAL, 0, 100, &x, s_errors);
    KVT_EQ_STR(s_msg("hi"), "The hi may not be greater than 100.", "int: above max has the at-most message");
    kv_read_int(b, "s", KV_OPTIONAL, 0, 100, &x, s_errors);
    KVT_EQ_STR(s_msg("s"), "The s must be an integer.", "int: a string is not an integer");
    kv_read_int(b, "r", KV_OPTIONAL, 0, 100, &x, s_errors);
    KVT_EQ_STR(s_msg("r"), "The r must be an integer.", "int: a fraction is not an integer");
    json_decref(b);
    s_reset();

    b = J("{\"a\":1.5,\"b\":2,\"c\":-0.5,\"d\":\"1\"}");
    double d;
    KVT_OK(kv_read_number(b, "a", KV_OPTIONAL, 0, 10, &d, s_errors) == KV_FIELD_OK && d == 1.5,
           "number: a real is read");
    KVT_OK(kv_read_number(b, "b", KV_OPTIONAL, 0, 10, &d, s_errors) == KV_FIELD_OK && d == 2,
           "number: an integer is a number");
    KVT_EQ_INT(kv_read_number(b, "c", KV_OPTIONAL, 0, 10, &d, s_errors), KV_FIELD_BAD,
               "number: below min is refused");
    KVT_EQ_INT(kv_read_number(b, "d", KV_OPTIONAL, 0, 10, &d, s_errors), KV_FIELD_BAD,
               "number: a string is refused");
    KVT_EQ_STR(s_msg("c"), "The c must be a number between 0 and 10.", "number: the message");
    json_decref(b);
    s_reset();
}

static void test_bool_date_time_enum(void)
{
    json_t *b = J("{\"t\":true,\"f\":false,\"one\":1,\"s\":\"true\"}");
    int x = -1;
    KVT_OK(kv_read_bool(b, "t", KV_OPTIONAL, &x, s_errors) == KV_FIELD_OK && x == 1, "bool: true");
    KVT_OK(kv_read_bool(b, "f", KV_OPTIONAL, &x, s_errors) == KV_FIELD_OK && x == 0, "bool: false");
    KVT_EQ_INT(kv_read_bool(b, "one", KV_OPTIONAL, &x, s_errors), KV_FIELD_BAD, "bool: 1 is refused");
    KVT_EQ_INT(kv_read_bool(b, "s", KV_OPTIONAL, &x, s_errors), KV_FIELD_BAD, "bool: \"true\" is refused");
    KVT_EQ_STR(s_msg("one"), "The one field must be true or false.", "bool: the message");
    json_decref(b);
    s_reset();

    b = J("{\"d\":\"2024-02-29\",\"bad\":\"2026-02-30\",\"n\":20260101}");
    kv_date_t date;
    KVT_OK(kv_read_date(b, "d", KV_REQUIRED, &date, s_errors) == KV_FIELD_OK && date.d == 29,
           "date: a leap day is read");
    KVT_EQ_INT(kv_read_date(b, "bad", KV_REQUIRED, &date, s_errors), KV_FIELD_BAD,
               "date: 30 February is refused");
    KVT_EQ_STR(s_msg("bad"), "The bad must be a valid date in the format Y-m-d.", "date: the message");
    KVT_EQ_INT(kv_read_date(b, "n", KV_REQUIRED, &date, s_errors), KV_FIELD_BAD,
               "date: a number is refused");
    json_decref(b);
    s_reset();

    b = J("{\"t\":\"10:07\",\"bad\":\"24:00\",\"short\":\"9:00\"}");
    int m;
    KVT_OK(kv_read_time(b, "t", KV_REQUIRED, &m, s_errors) == KV_FIELD_OK && m == 607,
           "time: 10:07 is 607 minutes");
    KVT_EQ_INT(kv_read_time(b, "bad", KV_REQUIRED, &m, s_errors), KV_FIELD_BAD, "time: 24:00 is refused");
    KVT_EQ_INT(kv_read_time(b, "short", KV_REQUIRED, &m, s_errors), KV_FIELD_BAD,
               "time: a one-digit hour is refused");
    KVT_EQ_STR(s_msg("bad"), "The bad must be a valid time in the format H:i.", "time: the message");
    json_decref(b);
    s_reset();

    static const char *const set[] = { "lead", "active", "vip", NULL };
    b = J("{\"a\":\"vip\",\"b\":\"VIP\",\"c\":3}");
    const char *pick = NULL;
    KVT_OK(kv_read_enum(b, "a", KV_OPTIONAL, set, &pick, s_errors) == KV_FIELD_OK && pick == set[2],
           "enum: gives the set's own string");
    KVT_EQ_INT(kv_read_enum(b, "b", KV_OPTIONAL, set, &pick, s_errors), KV_FIELD_BAD,
               "enum: case-sensitive");
    KVT_EQ_STR(s_msg("b"), "The selected b is invalid: use one of lead, active, vip.",
               "enum: the message lists the values");
    KVT_EQ_INT(kv_read_enum(b, "c", KV_OPTIONAL, set, &pick, s_errors), KV_FIELD_BAD,
               "enum: a number is refused");
    json_decref(b);
    s_reset();
}

/* kv_read_text of value (a JSON text) under rule: the rc, *out in out (a
 * static copy) and the message in msg (static). */
static int s_text(const char *value, const kv_text_rule_t *rule, kv_need_t need,
                  const char **out, const char **msg)
{
    static char obuf[1024], mbuf[512];
    char body[2048];
    snprintf(body, sizeof body, "{\"f\":%s}", value);
    json_t *b = J(body);
    char *o = NULL;
    int rc = kv_read_text(b, "f", need, rule, &o, s_errors);
    snprintf(obuf, sizeof obuf, "%s", o ? o : "(null)");
    snprintf(mbuf, sizeof mbuf, "%s", s_msg("f") ? s_msg("f") : "");
    *out = obuf;
    *msg = mbuf;
    free(o);
    json_decref(b);
    s_reset();
    return rc;
}

static void test_text(void)
{
    const char *out, *msg;
    const kv_text_rule_t line = { 1, 5, KV_TEXT_LINE, KV_TEXT_TRIM | KV_TEXT_BLANK_ABSENT };
    KVT_OK(s_text("\"  Ann \"", &line, KV_REQUIRED, &out, &msg) == KV_FIELD_OK &&
           strcmp(out, "Ann") == 0, "text: trimmed when the rule says so");
    KVT_OK(s_text("\"   \"", &line, KV_REQUIRED, &out, &msg) == KV_FIELD_BAD &&
           strcmp(msg, "The f field is required.") == 0, "text: blank and required is missing");
    KVT_EQ_INT(s_text("\"   \"", &line, KV_OPTIONAL, &out, &msg), KV_FIELD_ABSENT,
               "text: blank and optional is absent");
    KVT_OK(s_text("\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"", &line, KV_REQUIRED, &out, &msg) ==
           KV_FIELD_OK, "text: the limit counts characters (5 two-byte characters fit in 5)");
    KVT_OK(s_text("\"abcdef\"", &line, KV_REQUIRED, &out, &msg) == KV_FIELD_BAD &&
           strcmp(msg, "The f may not be greater than 5 characters.") == 0,
           "text: over the limit has the at-most message");
    KVT_OK(s_text("\"a\\tb\"", &line, KV_REQUIRED, &out, &msg) == KV_FIELD_BAD &&
           strcmp(msg, "The f may not contain control characters.") == 0,
           "text: one line refuses a tab");
    KVT_OK(s_text("\"a\\u0000b\"", &line, KV_REQUIRED, &out, &msg) == KV_FIELD_BAD,
           "text: an embedded NUL is refused");
    KVT_OK(s_text("5", &line, KV_REQUIRED, &out, &msg) == KV_FIELD_BAD &&
           strcmp(msg, "The f must be a string.") == 0, "text: a number is not a string");
    KVT_EQ_INT(s_text("null", &line, KV_OPTIONAL, &out, &msg), KV_FIELD_ABSENT,
               "text: null is absent");

    const kv_text_rule_t multi = { 0, 100, KV_TEXT_MULTILINE, 0 };
    KVT_OK(s_text("\"a\\nb\\r\\n\\tc\"", &multi, KV_OPTIONAL, &out, &msg) == KV_FIELD_OK &&
           strcmp(out, "a\nb\r\n\tc") == 0, "text: multi-line keeps line breaks and tabs as sent");
    KVT_OK(s_text("\"bell\\u0007\"", &multi, KV_OPTIONAL, &out, &msg) == KV_FIELD_BAD &&
           strcmp(msg, "The f may not contain control characters other than tab and line breaks.") == 0,
           "text: multi-line refuses other control characters");
    KVT_OK(s_text("\"esc\\u001b[0m\"", &multi, KV_OPTIONAL, &out, &msg) == KV_FIELD_BAD,
           "text: an escape character is refused");
    KVT_OK(s_text("\"c1\\u0085\"", &multi, KV_OPTIONAL, &out, &msg) == KV_FIELD_BAD,
           "text: a C1 control (U+0085) is refused");
    KVT_OK(s_text("\"del\\u007f\"", &multi, KV_OPTIONAL, &out, &msg) == KV_FIELD_BAD,
           "text: DEL is refused");
    KVT_OK(s_text("\"\"", &multi, KV_OPTIONAL, &out, &msg) == KV_FIELD_OK && out[0] == '\0',
           "text: \"\" is a value when the rule allows 0 characters");

    const kv_text_rule_t min3 = { 3, 10, KV_TEXT_LINE, 0 };
    KVT_OK(s_text("\"ab\"", &min3, KV_OPTIONAL, &out, &msg) == KV_FIELD_BAD &&
           strcmp(msg, "The f must be at least 3 characters.") == 0, "text: under min has the at-least message");

    KVT_OK(s_text("\"walk_in\"", &kv_rule_source, KV_OPTIONAL, &out, &msg) == KV_FIELD_OK,
           "token: walk_in");
    const char *bad_tokens[] = { "\"Web Form!!\"", "\"\"", "\" api\"", "\"9a\"", "\"a-b\"",
                                 "\"abcdefghijklmnopqrstuvwxyz0123456\"", NULL };
    for (int i = 0; bad_tokens[i]; i++)
        KVT_OK(s_text(bad_tokens[i], &kv_rule_source, KV_OPTIONAL, &out, &msg) == KV_FIELD_BAD &&
               strcmp(msg, "The f must be 1 to 32 characters of a-z, 0-9 and _, starting with a "
                      "letter.") == 0, "token: %s is refused with the token message", bad_tokens[i]);

    /* the shared rules have the documented limits */
    KVT_OK(kv_rule_person_name.max == 200 && kv_rule_person_name.charset == KV_TEXT_LINE,
           "rule: a person's name is one line of at most 200 characters");
    KVT_OK(kv_rule_notes.max == 5000 && kv_rule_notes.charset == KV_TEXT_MULTILINE,
           "rule: notes are multi-line text of at most 5000 characters");
    KVT_OK(kv_rule_source.max == 32 && kv_rule_source.charset == KV_TEXT_TOKEN,
           "rule: a source is a token of at most 32 characters");
    KVT_EQ_INT(kv_utf8_chars("Zo\xc3\xab \xc3\x98rsted"), 10, "utf8_chars counts code points");
    KVT_EQ_INT(kv_utf8_chars(""), 0, "utf8_chars of \"\" is 0");
}

static void test_phone(void)
{
    char p[17];
    json_t *b = J("{\"a\":\"(555) 123-4567\",\"b\":\"12ab\",\"c\":5551234,\"d\":\"\"}");
    KVT_OK(kv_read_phone(b, "a", KV_REQUIRED, p, s_errors) == KV_FIELD_OK && strcmp(p, "5551234567") == 0,
           "phone: normalised");
    KVT_EQ_INT(kv_read_phone(b, "b", KV_REQUIRED, p, s_errors), KV_FIELD_BAD, "phone: letters are refused");
    KVT_EQ_STR(s_msg("b"), "The b format is invalid: use 7 to 15 digits, optionally after a leading + "
               "(spaces, dashes, dots and brackets are ignored).", "phone: the message");
    KVT_EQ_INT(kv_read_phone(b, "c", KV_REQUIRED, p, s_errors), KV_FIELD_BAD, "phone: a number is refused");
    KVT_EQ_STR(s_msg("c"), "The c must be a string.", "phone: not a string");
    KVT_EQ_INT(kv_read_phone(b, "d", KV_REQUIRED, p, s_errors), KV_FIELD_BAD, "phone: \"\" is missing");
    KVT_EQ_STR(s_msg("d"), "The d field is required.", "phone: \"\" has the required message");
    json_decref(b);
    s_reset();
    char longp[128];
    memset(longp, ' ', 80);
    strcpy(longp + 80, "5551234567");
    b = json_pack("{s:s}", "p", longp);
    KVT_EQ_INT(kv_read_phone(b, "p", KV_REQUIRED, p, s_errors), KV_FIELD_BAD,
               "phone: more than 64 characters as written is refused");
    json_decref(b);
    s_reset();
}

static void test_query(void)
{
    json_t *q = J("{\"id\":\"12\",\"zero\":\"0\",\"neg\":\"-1\",\"txt\":\"abc\",\"huge\":\"99999999999999999999\","
                  "\"empty\":\"\",\"num\":12,\"d\":\"2026-03-10\",\"bd\":\"2026-13-01\","
                  "\"t\":\"true\",\"one\":\"1\",\"f\":\"false\",\"zero2\":\"0\",\"yes\":\"yes\","
                  "\"s\":\"  lee  \",\"st\":\"completed\",\"bs\":\"done\"}");
    int64_t v;
    KVT_OK(kv_query_id(q, "id", KV_OPTIONAL, &v, s_errors) == KV_FIELD_OK && v == 12, "query id: 12");
    KVT_EQ_INT(kv_query_id(q, "zero", KV_OPTIONAL, &v, s_errors), KV_FIELD_BAD, "query id: 0 is refused");
    KVT_EQ_STR(s_msg("zero"), "The zero must be a positive integer.", "query id: the message");
    KVT_EQ_INT(kv_query_id(q, "neg", KV_OPTIONAL, &v, s_errors), KV_FIELD_BAD, "query id: -1 is refused");
    KVT_EQ_INT(kv_query_id(q, "txt", KV_OPTIONAL, &v, s_errors), KV_FIELD_BAD, "query id: text is refused");
    KVT_EQ_INT(kv_query_id(q, "huge", KV_OPTIONAL, &v, s_errors), KV_FIELD_BAD,
               "query id: above bigint is refused");
    KVT_EQ_STR(s_msg("huge"), "The huge may not be greater than 9223372036854775807.",
               "query id: above bigint has its true message");
    KVT_EQ_INT(kv_query_id(q, "empty", KV_OPTIONAL, &v, s_errors), KV_FIELD_ABSENT,
               "query: an empty value is absent");
    KVT_EQ_INT(kv_query_id(q, "empty", KV_REQUIRED, &v, s_errors), KV_FIELD_BAD,
               "query: an empty required value is missing");
    KVT_EQ_STR(s_msg("empty"), "The empty field is required.", "query: the required message");
    KVT_EQ_INT(kv_query_id(q, "num", KV_OPTIONAL, &v, s_errors), KV_FIELD_BAD,
               "query: a value that is not a string is refused");
    KVT_EQ_INT(kv_query_id(NULL, "id", KV_OPTIONAL, &v, s_errors), KV_FIELD_ABSENT,
               "query: a NULL query has nothing");
    s_reset();

    KVT_OK(kv_query_int(q, "id", KV_OPTIONAL, 1, 100, &v, s_errors) == KV_FIELD_OK && v == 12,
           "query int: 12 in 1..100");
    kv_query_int(q, "huge", KV_OPTIONAL, 1, 100, &v, s_errors);
    KVT_EQ_STR(s_msg("huge"), "The huge may not be greater than 100.",
               "query int: a number too large for 64 bits is 'not greater than max'");
    kv_query_int(q, "neg", KV_OPTIONAL, 1, 100, &v, s_errors);
    KVT_EQ_STR(s_msg("neg"), "The neg must be at least 1.", "query int: below min");
    kv_query_int(q, "txt", KV_OPTIONAL, 1, 100, &v, s_errors);
    KVT_EQ_STR(s_msg("txt"), "The txt must be an integer.", "query int: not a number");
    s_reset();

    kv_date_t d;
    KVT_OK(kv_query_date(q, "d", KV_OPTIONAL, &d, s_errors) == KV_FIELD_OK && d.m == 3, "query date");
    KVT_EQ_INT(kv_query_date(q, "bd", KV_OPTIONAL, &d, s_errors), KV_FIELD_BAD, "query date: month 13");
    KVT_EQ_STR(s_msg("bd"), "The bd must be a valid date in the format Y-m-d.",
               "query date: the same message as a body date");
    s_reset();

    int b = -1;
    KVT_OK(kv_query_bool(q, "t", KV_OPTIONAL, &b, s_errors) == KV_FIELD_OK && b == 1, "query bool: true");
    KVT_OK(kv_query_bool(q, "one", KV_OPTIONAL, &b, s_errors) == KV_FIELD_OK && b == 1, "query bool: 1");
    KVT_OK(kv_query_bool(q, "f", KV_OPTIONAL, &b, s_errors) == KV_FIELD_OK && b == 0, "query bool: false");
    KVT_OK(kv_query_bool(q, "zero2", KV_OPTIONAL, &b, s_errors) == KV_FIELD_OK && b == 0, "query bool: 0");
    KVT_EQ_INT(kv_query_bool(q, "yes", KV_OPTIONAL, &b, s_errors), KV_FIELD_BAD, "query bool: yes");
    KVT_EQ_STR(s_msg("yes"), "The yes field must be true, false, 1 or 0.", "query bool: the message");
    s_reset();

    static const char *const statuses[] = { "scheduled", "completed", NULL };
    const char *pick;
    KVT_OK(kv_query_enum(q, "st", KV_OPTIONAL, statuses, &pick, s_errors) == KV_FIELD_OK &&
           pick == statuses[1], "query enum");
    KVT_EQ_INT(kv_query_enum(q, "bs", KV_OPTIONAL, statuses, &pick, s_errors), KV_FIELD_BAD,
               "query enum: unknown value");
    KVT_EQ_STR(s_msg("bs"), "The selected bs is invalid: use one of scheduled, completed.",
               "query enum: the same message as a body enum");
    KVT_EQ_INT(kv_query_enum(q, "empty", KV_OPTIONAL, statuses, &pick, s_errors), KV_FIELD_ABSENT,
               "query enum: empty is no filter");
    s_reset();

    const kv_text_rule_t search = { 0, 4, KV_TEXT_LINE, KV_TEXT_TRIM };
    char *t = NULL;
    KVT_OK(kv_query_text(q, "s", KV_OPTIONAL, &search, &t, s_errors) == KV_FIELD_OK &&
           strcmp(t, "lee") == 0, "query text: trimmed");
    free(t);
    t = NULL;
    KVT_EQ_INT(kv_query_text(q, "txt", KV_OPTIONAL, &search, &t, s_errors), KV_FIELD_OK,
               "query text: within the limit");
    free(t);
    t = NULL;
    json_t *q2 = J("{\"s\":\"abcde\",\"b\":\"   \"}");
    KVT_EQ_INT(kv_query_text(q2, "s", KV_OPTIONAL, &search, &t, s_errors), KV_FIELD_BAD,
               "query text: over the limit");
    KVT_EQ_INT(kv_query_text(q2, "b", KV_OPTIONAL, &search, &t, s_errors), KV_FIELD_ABSENT,
               "query text: blank is no filter");
    json_decref(q2);
    json_decref(q);
    s_reset();
}

int main(void)
{
    s_errors = json_object();
    test_object_and_known();
    test_ids_and_ints();
    test_bool_date_time_enum();
    test_text();
    test_phone();
    test_query();
    json_decref(s_errors);
    return kvt_done();
}
