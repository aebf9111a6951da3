/*
 * test_valid.c -- unit tests of shared/kv_valid.c: the strict parsers of
 * integers, dates, times, money, phone numbers, e-mail addresses and text.
 * Each check is named after the behaviour it proves.
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "kv_valid.h"

static void test_i64(void)
{
    int64_t v = -1;
    KVT_OK(kv_parse_i64("0", &v) == 0 && v == 0, "i64 accepts 0");
    KVT_OK(kv_parse_i64("42", &v) == 0 && v == 42, "i64 accepts 42");
    KVT_OK(kv_parse_i64("-17", &v) == 0 && v == -17, "i64 accepts a negative number");
    KVT_OK(kv_parse_i64("9223372036854775807", &v) == 0 && v == INT64_MAX, "i64 accepts INT64_MAX");
    KVT_OK(kv_parse_i64("-9223372036854775808", &v) == 0 && v == INT64_MIN, "i64 accepts INT64_MIN");
    const char *bad[] = { "", "-", "+1", " 1", "1 ", "1.5", "1e3", "abc", "12a", "0x10",
                          "9223372036854775808", "-9223372036854775809",
                          "99999999999999999999", "--1", NULL };
    for (int i = 0; bad[i]; i++)
        KVT_OK(kv_parse_i64(bad[i], &v) == -1, "i64 refuses \"%s\"", bad[i]);
    KVT_OK(kv_parse_i64(NULL, &v) == -1, "i64 refuses NULL");
}

static void test_dates(void)
{
    kv_date_t d;
    KVT_OK(kv_parse_date("2026-11-28", &d) == 0 && d.y == 2026 && d.m == 11 && d.d == 28,
           "date parses 2026-11-28 into its fields");
    KVT_OK(kv_parse_date("2024-02-29", &d) == 0, "date accepts 2024-02-29 (leap year)");
    KVT_OK(kv_parse_date("2000-02-29", &d) == 0, "date accepts 2000-02-29 (400-year leap)");
    KVT_OK(kv_parse_date("2026-12-31", &d) == 0, "date accepts 2026-12-31");
    KVT_OK(kv_parse_date("2026-01-31", &d) == 0, "date accepts January 31");
    KVT_OK(kv_parse_date("1900-01-01", &d) == 0, "date accepts the first year 1900");
    KVT_OK(kv_parse_date("9999-12-31", &d) == 0, "date accepts the last year 9999");
    const char *bad[] = {
        "2026-02-30", "2023-02-29", "1900-02-29", "2100-02-29", "2026-13-01", "2026-00-10",
        "2026-01-00", "2026-01-32", "2026-04-31", "2026-06-31", "2026-09-31", "2026-11-31",
        "2026-1-01", "2026-01-1", "26-01-01", "2026/01/01", "2026-01-01x", "2026-01-01 ",
        " 2026-01-01", "2026-01-01T00:00", "", "abcd-ef-gh", "1899-12-31", "+026-01-01",
        "2026-0a-01", "20260101", "2026--1-01", NULL };
    for (int i = 0; bad[i]; i++)
        KVT_OK(kv_parse_date(bad[i], &d) == -1, "date refuses \"%s\"", bad[i]);
    KVT_OK(kv_parse_date(NULL, &d) == -1, "date refuses NULL");

    char buf[11];
    kv_date_t f = { 2026, 3, 7 };
    kv_format_date(&f, buf);
    KVT_EQ_STR(buf, "2026-03-07", "date formats with zero padding");

    kv_date_t epoch = { 1970, 1, 1 };
    KVT_EQ_INT(kv_date_to_days(&epoch), 0, "1970-01-01 is day 0");
    kv_date_t before = { 1969, 12, 31 };
    KVT_EQ_INT(kv_date_to_days(&before), -1, "1969-12-31 is day -1");
    kv_date_t y2k = { 2000, 3, 1 };
    KVT_EQ_INT(kv_date_to_days(&y2k), 11017, "2000-03-01 is day 11017");

    /* round trips over every day from 1900 to 2200 */
    int ok = 1;
    kv_date_t start = { 1900, 1, 1 }, end = { 2200, 12, 31 };
    for (int64_t z = kv_date_to_days(&start); z <= kv_date_to_days(&end); z++) {
        kv_date_t x;
        kv_days_to_date(z, &x);
        char s[11];
        kv_format_date(&x, s);
        kv_date_t y;
        if (kv_parse_date(s, &y) != 0 || kv_date_to_days(&y) != z) {
            ok = 0;
            printf("# round trip broke at day %lld (%s)\n", (long long)z, s);
            break;
        }
    }
    KVT_OK(ok, "days <-> date round trip for every day 1900..2200");

    /* consecutive days are consecutive dates */
    kv_date_t a, b;
    kv_date_t feb28 = { 2024, 2, 28 };
    kv_days_to_date(kv_date_to_days(&feb28) + 1, &a);
    KVT_OK(a.y == 2024 && a.m == 2 && a.d == 29, "the day after 2024-02-28 is 2024-02-29");
    kv_date_t feb28b = { 2026, 2, 28 };
    kv_days_to_date(kv_date_to_days(&feb28b) + 1, &b);
    KVT_OK(b.y == 2026 && b.m == 3 && b.d == 1, "the day after 2026-02-28 is 2026-03-01");
    kv_date_t dec31 = { 2026, 12, 31 };
    kv_days_to_date(kv_date_to_days(&dec31) + 1, &b);
    KVT_OK(b.y == 2027 && b.m == 1 && b.d == 1, "the day after 2026-12-31 is 2027-01-01");

    struct { kv_date_t d; int wd; const char *name; } wds[] = {
        { { 1970, 1, 1 }, 3, "1970-01-01 is a Thursday" },
        { { 2026, 11, 28 }, 5, "2026-11-28 is a Saturday" },
        { { 2026, 11, 30 }, 0, "2026-11-30 is a Monday" },
        { { 2024, 2, 29 }, 3, "2024-02-29 is a Thursday" },
        { { 2000, 1, 1 }, 5, "2000-01-01 is a Saturday" },
        { { 1900, 1, 1 }, 0, "1900-01-01 is a Monday" },
        { { 2026, 3, 1 }, 6, "2026-03-01 is a Sunday" },
    };
    for (size_t i = 0; i < sizeof wds / sizeof wds[0]; i++)
        KVT_EQ_INT(kv_date_weekday(&wds[i].d), wds[i].wd, "%s", wds[i].name);
}

static void test_times(void)
{
    int m = -1;
    KVT_OK(kv_parse_time("00:00", &m) == 0 && m == 0, "time accepts 00:00 as minute 0");
    KVT_OK(kv_parse_time("23:59", &m) == 0 && m == 1439, "time accepts 23:59 as minute 1439");
    KVT_OK(kv_parse_time("09:30", &m) == 0 && m == 570, "time accepts 09:30 as minute 570");
    const char *bad[] = { "25:00", "24:00", "9:00", "09:0", "09:60", "0900", "09-00", "09:00:00",
                          "09:00 ", " 09:00", "", "ab:cd", "-1:00", "09:5a", "９:00", NULL };
    for (int i = 0; bad[i]; i++)
        KVT_OK(kv_parse_time(bad[i], &m) == -1, "time refuses \"%s\"", bad[i]);
    KVT_OK(kv_parse_time(NULL, &m) == -1, "time refuses NULL");

    char buf[6];
    kv_format_time(0, buf);
    KVT_EQ_STR(buf, "00:00", "time formats minute 0 as 00:00");
    kv_format_time(570, buf);
    KVT_EQ_STR(buf, "09:30", "time formats minute 570 as 09:30");
    kv_format_time(1439, buf);
    KVT_EQ_STR(buf, "23:59", "time formats minute 1439 as 23:59");
    kv_format_time(1440, buf);
    KVT_EQ_STR(buf, "24:00", "time formats minute 1440 as 24:00");
}

static void test_money(void)
{
    int64_t c = -1;
    KVT_OK(kv_parse_money("25", &c) == 0 && c == 2500, "money 25 is 2500 cents");
    KVT_OK(kv_parse_money("25.5", &c) == 0 && c == 2550, "money 25.5 is 2550 cents");
    KVT_OK(kv_parse_money("25.50", &c) == 0 && c == 2550, "money 25.50 is 2550 cents");
    KVT_OK(kv_parse_money("25.05", &c) == 0 && c == 2505, "money 25.05 is 2505 cents");
    KVT_OK(kv_parse_money("0", &c) == 0 && c == 0, "money 0 is accepted");
    KVT_OK(kv_parse_money("0.01", &c) == 0 && c == 1, "money 0.01 is one cent");
    KVT_OK(kv_parse_money("1000000000", &c) == 0 && c == 100000000000LL,
           "money accepts the maximum 1e9");
    const char *bad[] = { "25.555", "-1", "1e3", "", "25.", ".5", "+5", " 5", "5 ", "abc",
                          "1,50", "1000000000.01", "1000000001", "99999999999999999999999",
                          "25..5", "0x10", "NaN", "inf", NULL };
    for (int i = 0; bad[i]; i++)
        KVT_OK(kv_parse_money(bad[i], &c) == -1, "money refuses \"%s\"", bad[i]);
    KVT_OK(kv_parse_money(NULL, &c) == -1, "money refuses NULL");
}

static void test_phone(void)
{
    char out[17];
    const char *same[] = { "+1 555 123 4567", "+1-555-123-4567", "+1 (555) 123.4567",
                           "+1.555.123.4567", "+1(555)1234567", "+15551234567", NULL };
    for (int i = 0; same[i]; i++) {
        memset(out, 'x', sizeof out);
        int rc = kv_normalize_phone(same[i], out);
        KVT_OK(rc == 0 && strcmp(out, "+15551234567") == 0,
               "phone \"%s\" normalises to +15551234567", same[i]);
    }
    KVT_OK(kv_normalize_phone("555 1234", out) == 0 && strcmp(out, "5551234") == 0,
           "phone without + keeps no + (7 digits is the minimum)");
    KVT_OK(kv_normalize_phone("+123456789012345", out) == 0 &&
           strcmp(out, "+123456789012345") == 0, "phone of 15 digits with + fits out[17]");
    const char *bad[] = { "123456", "+123456", "1234567890123456", "+1234567890123456",
                          "555-CALL-NOW", "+1 555 123 456a", "1+5551234567", "++15551234567",
                          "+1 555 +123 4567", "", "+", "   ", "555_123_4567", "555/1234567",
                          "+1\t5551234567", NULL };
    for (int i = 0; bad[i]; i++)
        KVT_OK(kv_normalize_phone(bad[i], out) == -1, "phone refuses \"%s\"", bad[i]);
    KVT_OK(kv_normalize_phone(NULL, out) == -1, "phone refuses NULL");
}

static void test_email(void)
{
    const char *good[] = { "a@b.co", "john.doe@example.com", "x+tag@mail.example.org",
                           "o'brien@example.ie", "user_1@sub-domain.example.com",
                           "UPPER@EXAMPLE.COM", "a@xn--p1ai.xn--p1ai", NULL };
    for (int i = 0; good[i]; i++)
        KVT_OK(kv_valid_email(good[i]) == 0, "email accepts \"%s\"", good[i]);
    const char *bad[] = { "", "plain", "@example.com", "a@", "a@b", "a@@b.com", "a@b@c.com",
                          "a b@c.com", "a@b .com", ".a@b.com", "a.@b.com", "a..b@c.com",
                          "a@-b.com", "a@b-.com", "a@b..com", "a@.b.com", "a@b.com.",
                          "a@1.2.3.4", "a\"b@c.com", "a@b_c.com", "a(b)@c.com", NULL };
    for (int i = 0; bad[i]; i++)
        KVT_OK(kv_valid_email(bad[i]) == -1, "email refuses \"%s\"", bad[i]);
    KVT_OK(kv_valid_email(NULL) == -1, "email refuses NULL");

    char longlocal[80];
    memset(longlocal, 'a', 65);
    strcpy(longlocal + 65, "@b.com");
    KVT_OK(kv_valid_email(longlocal) == -1, "email refuses a local part of 65 characters");
    /* "a@" + labels of 49 'b' + ".com": 254 characters, then one more */
    char longmail[300];
    size_t n = 0;
    longmail[n++] = 'a';
    longmail[n++] = '@';
    while (n < 250) {
        longmail[n] = ((n - 1) % 50 == 0) ? '.' : 'b';
        n++;
    }
    strcpy(longmail + n, ".com");
    KVT_EQ_INT((long long)strlen(longmail), 254, "email test address is 254 long");
    KVT_OK(kv_valid_email(longmail) == 0, "email accepts exactly 254 characters");
    memmove(longmail + 3, longmail + 2, strlen(longmail + 2) + 1);
    longmail[2] = 'c';
    KVT_OK(kv_valid_email(longmail) == -1, "email refuses 255 characters");
}

static void test_text(void)
{
    KVT_OK(kv_valid_text("hello", 5) == 1, "text accepts ASCII exactly at the limit");
    KVT_OK(kv_valid_text("hello", 4) == 0, "text refuses one byte over the limit");
    KVT_OK(kv_valid_text("", 10) == 1, "text accepts the empty string");
    KVT_OK(kv_valid_text("line1\nline2\r\n\tx", 100) == 1, "text accepts newline, CR and tab");
    KVT_OK(kv_valid_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 100) == 1,
           "text accepts 2-, 3- and 4-byte UTF-8");
    KVT_OK(kv_valid_text("caf\xc3\xa9", 4) == 0, "text counts bytes, not characters");
    KVT_OK(kv_valid_text("bell\x07", 100) == 0, "text refuses a control character");
    KVT_OK(kv_valid_text("del\x7f", 100) == 0, "text refuses DEL");
    KVT_OK(kv_valid_text("esc\x1b[0m", 100) == 0, "text refuses ESC");
    KVT_OK(kv_valid_text("\xc2\x85", 100) == 0, "text refuses a C1 control (U+0085)");
    KVT_OK(kv_valid_text("bad\xff", 100) == 0, "text refuses the byte 0xFF");
    KVT_OK(kv_valid_text("\xc3", 100) == 0, "text refuses a truncated sequence");
    KVT_OK(kv_valid_text("\xc0\xaf", 100) == 0, "text refuses an overlong encoding");
    KVT_OK(kv_valid_text("\xe0\x80\xaf", 100) == 0, "text refuses an overlong 3-byte encoding");
    KVT_OK(kv_valid_text("\xed\xa0\x80", 100) == 0, "text refuses a UTF-16 surrogate");
    KVT_OK(kv_valid_text("\xf4\x90\x80\x80", 100) == 0, "text refuses code points above U+10FFFF");
    KVT_OK(kv_valid_text("\x80", 100) == 0, "text refuses a lone continuation byte");
    KVT_OK(kv_valid_text(NULL, 100) == 0, "text refuses NULL");
}

static void test_pick(void)
{
    static const char *const set[] = { "inbound", "outbound", NULL };
    const char *in = "outbound";
    KVT_OK(kv_pick(set, in) == set[1], "pick answers the set's own string");
    KVT_OK(kv_pick(set, "Inbound") == NULL, "pick is case-sensitive");
    KVT_OK(kv_pick(set, "") == NULL, "pick refuses the empty string");
    KVT_OK(kv_pick(set, NULL) == NULL, "pick refuses NULL");
}

int main(void)
{
    test_i64();
    test_dates();
    test_times();
    test_money();
    test_phone();
    test_email();
    test_text();
    test_pick();
    return kvt_done();
}
