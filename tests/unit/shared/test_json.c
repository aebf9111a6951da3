/*
 * test_json.c -- unit tests of shared/kv_json.c: kv_json_dump writes the
 * very bytes json_dumps writes (and fails where it fails), for the values
 * the services answer with and for random trees of every kind of value:
 * escapes, multi-byte and invalid UTF-8, NUL inside strings and keys,
 * extreme integers, reals of every magnitude, nesting, empty containers;
 * and the direct writer kv_jw writes what kv_json_dump writes for the
 * equal tree, and refuses what is not one JSON value.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "kv_json.h"

static const size_t s_flags[] = {
    JSON_COMPACT,
    JSON_COMPACT | JSON_REAL_PRECISION(15),
    JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15),
    JSON_COMPACT | JSON_ENCODE_ANY,
    JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER,
    JSON_COMPACT | JSON_REAL_PRECISION(1),
    /* handed to jansson: still the same bytes */
    JSON_COMPACT | JSON_SORT_KEYS,
    JSON_INDENT(2),
    0,
    JSON_COMPACT | JSON_ENSURE_ASCII,
    JSON_COMPACT | JSON_ESCAPE_SLASH,
    JSON_COMPACT | JSON_REAL_PRECISION(25),
};
#define S_NFLAGS (sizeof s_flags / sizeof s_flags[0])

/* 1 when kv_json_dump and json_dumps agree on v under flags f (both NULL,
 * or the same bytes and the length reported right). */
static int s_same(const json_t *v, size_t f, char **why)
{
    size_t len = 99;
    char *mine = kv_json_dump(v, f, &len);
    char *theirs = json_dumps(v, f);
    int ok;
    if (!mine || !theirs)
        ok = !mine && !theirs && len == 0;
    else
        ok = strcmp(mine, theirs) == 0 && len == strlen(mine);
    if (!ok && why && !*why) {
        size_t n = 200 + (mine ? strlen(mine) : 0) + (theirs ? strlen(theirs) : 0);
        *why = malloc(n);
        snprintf(*why, n, "flags %#zx: kv_json_dump %s / json_dumps %s", f, mine ? mine : "NULL",
                 theirs ? theirs : "NULL");
    }
    free(mine);
    free(theirs);
    return ok;
}

static void s_expect_same(json_t *v, const char *name)
{
    char *why = NULL;
    int ok = 1;
    for (size_t i = 0; i < S_NFLAGS; i++)
        ok &= s_same(v, s_flags[i], &why);
    KVT_OK(ok, "%s%s%s", name, why ? ": " : "", why ? why : "");
    free(why);
    json_decref(v);
}

static void test_fixed(void)
{
    s_expect_same(json_pack("{s:b,s:{s:[i,f,s,n]},s:o}", "success", 1, "data", "id", 7, 12.5,
                            "x", "meta", json_object()),
                  "an envelope with every kind of value");
    s_expect_same(json_object(), "an empty object is {}");
    s_expect_same(json_array(), "an empty array is []");
    s_expect_same(json_string("top"), "a top-level string only with JSON_ENCODE_ANY");
    s_expect_same(json_integer(LLONG_MIN), "the most negative integer");
    s_expect_same(json_pack("[I,I,I,I]", (json_int_t)LLONG_MAX, (json_int_t)0, (json_int_t)-1,
                            (json_int_t)1000000007),
                  "integers: the largest, zero, negative, big");
    s_expect_same(json_pack("[f,f,f,f,f,f,f,f,f,f,f,f]", 0.0, -0.0, 1.0, 11.5, 0.1, 1e21, 1e-7,
                            -1.2345678901234567e-300, DBL_MAX, DBL_MIN, 5e-324, 123456789012345678.0),
                  "reals: integral, fractions, exponents both ways, the extremes");
    s_expect_same(json_pack("{s:s}", "k\"\\/\b\f\n\r\t\x01\x1f\x7f", "v\"\\/\x02 é 漢 😀"),
                  "escapes in keys and values; '/', DEL and multi-byte UTF-8 as they are");
    json_t *o = json_object();
    json_object_setn_new_nocheck(o, "a\0b", 3, json_stringn("x\0y", 3));
    s_expect_same(o, "NUL inside a key and a value is \\u0000");
    o = json_array();
    json_array_append_new(o, json_stringn_nocheck("\xff", 1));
    s_expect_same(o, "an invalid UTF-8 string fails the dump (NULL), as in jansson");
    o = json_array();
    json_array_append_new(o, json_stringn_nocheck("\xed\xa0\x80", 3));
    json_array_append_new(o, json_stringn_nocheck("\xc0\xaf", 2));
    s_expect_same(o, "a surrogate and an overlong form fail the dump");
    /* jansson ignores a key it cannot write (it leaves a broken text, e.g.
     * {":true}); kv_json_dump refuses it.  Keys come from our code or from
     * parsed (so valid) JSON, never from raw bytes. */
    o = json_object();
    json_object_set_new_nocheck(o, "\xf4\x90\x80\x80", json_true());
    KVT_OK(kv_json_dump(o, JSON_COMPACT, NULL) == NULL,
           "a key that is not UTF-8 fails the dump (where json_dumps writes a broken text)");
    json_decref(o);
    json_t *deep = json_array();
    for (int i = 0; i < 500; i++) {
        json_t *up = json_array();
        json_array_append_new(up, deep);
        deep = up;
    }
    s_expect_same(deep, "500 nested arrays");
    char big[70000];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)(i % 3 ? 'a' + i % 26 : (i % 7 ? '"' : '\n'));
    big[sizeof big - 1] = '\0';
    s_expect_same(json_pack("{s:s}", "long", big), "a 70 kB string with escapes throughout");
}

/* ---- random trees ----------------------------------------------------- */

static uint64_t s_rng = 0x9E3779B97F4A7C15ULL;

static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

/* Bytes from a mix meant to hit every branch of the writer: plain ASCII,
 * the escaped characters, multi-byte sequences, now and then a broken one. */
static size_t s_rand_bytes(char *out, size_t max, int allow_bad)
{
    static const char *const parts[] = {
        "a", "Zz", "hello", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f", "\x7f", "é",
        "漢字", "😀", "\xe2\x80\xa8", "\0",
    };
    static const char *const bad[] = { "\xff", "\xc3", "\xed\xb0\x80", "\xf8\x88\x80\x80\x80" };
    size_t n = 0, k = s_rand() % 12;
    for (size_t i = 0; i < k; i++) {
        const char *p;
        size_t pl;
        if (allow_bad && s_rand() % 50 == 0) {
            p = bad[s_rand() % 4];
            pl = strlen(p);
        } else {
            size_t j = s_rand() % (sizeof parts / sizeof parts[0]);
            p = parts[j];
            pl = p[0] ? strlen(p) : 1;
        }
        if (n + pl > max)
            break;
        memcpy(out + n, p, pl);
        n += pl;
    }
    return n;
}

static double s_rand_real(void)
{
    switch (s_rand() % 6) {
    case 0: return (double)(int64_t)(s_rand() % 2000001) / 100.0 - 10000.0;   /* prices */
    case 1: return (double)(int64_t)s_rand();
    case 2: {
        double d;
        uint64_t bits = s_rand();
        memcpy(&d, &bits, sizeof d);
        return isfinite(d) ? d : 1.5;
    }
    case 3: return ldexp((double)(s_rand() % 1000), (int)(s_rand() % 200) - 100);
    case 4: return (double)(s_rand() % 100);
    default: return 1.0 / (double)(1 + s_rand() % 1000);
    }
}

static json_t *s_rand_value(int depth, int allow_bad)
{
    char buf[64];
    int pick = (int)(s_rand() % (depth > 4 ? 7 : 9));
    switch (pick) {
    case 0: return json_null();
    case 1: return json_boolean(s_rand() & 1);
    case 2: return json_integer((json_int_t)(s_rand() % 3 ? s_rand() % 100000 : s_rand()));
    case 3: return json_real(s_rand_real());
    case 4:
    case 5:
    case 6: {
        size_t n = s_rand_bytes(buf, sizeof buf, allow_bad);
        return json_stringn_nocheck(buf, n);
    }
    case 7: {
        json_t *a = json_array();
        size_t n = s_rand() % 6;
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, s_rand_value(depth + 1, allow_bad));
        return a;
    }
    default: {
        json_t *o = json_object();
        size_t n = s_rand() % 6;
        for (size_t i = 0; i < n; i++) {
            size_t kl = s_rand_bytes(buf, sizeof buf, 0);   /* keys: see test_fixed */
            json_object_setn_new_nocheck(o, buf, kl, s_rand_value(depth + 1, allow_bad));
        }
        return o;
    }
    }
}

static void test_random(void)
{
    int good = 1, bad = 1, nulls = 0;
    char *why_good = NULL, *why_bad = NULL;
    for (int i = 0; i < 20000; i++) {
        json_t *v = s_rand_value(0, 0);
        for (size_t f = 0; f < S_NFLAGS; f++)
            good &= s_same(v, s_flags[f], &why_good);
        json_decref(v);
        v = s_rand_value(0, 1);
        for (size_t f = 0; f < S_NFLAGS; f++)
            bad &= s_same(v, s_flags[f], &why_bad);
        char *t = kv_json_dump(v, JSON_COMPACT | JSON_ENCODE_ANY, NULL);
        nulls += !t;
        free(t);
        json_decref(v);
    }
    KVT_OK(good, "20,000 random valid trees: the same bytes as json_dumps under every flag set%s%s",
           why_good ? ": " : "", why_good ? why_good : "");
    KVT_OK(bad, "20,000 random trees with broken UTF-8 in values here and there: the same bytes, or NULL "
           "where json_dumps gives NULL%s%s", why_bad ? ": " : "", why_bad ? why_bad : "");
    KVT_OK(nulls > 100, "the broken trees did exercise the failure path (%d failed dumps)", nulls);
    free(why_good);
    free(why_bad);
}

/* ---- kv_jw ---------------------------------------------------------------- */

/* Writes v through kv_jw's calls (never kv_jw_json), as a handler would. */
static void s_write(kv_jw_t *w, const json_t *v, int prec)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        kv_jw_obj(w);
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            const char *k = json_object_iter_key(it);
            if (strlen(k) != json_object_iter_key_len(it))
                continue;        /* kv_jw_key takes C strings: such trees are skipped */
            kv_jw_key(w, k);
            s_write(w, json_object_iter_value(it), prec);
        }
        kv_jw_end(w);
        break;
    case JSON_ARRAY:
        kv_jw_arr(w);
        for (size_t i = 0; i < json_array_size(v); i++)
            s_write(w, json_array_get(v, i), prec);
        kv_jw_end(w);
        break;
    case JSON_STRING:  kv_jw_str(w, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: kv_jw_int(w, json_integer_value(v)); break;
    case JSON_REAL:    kv_jw_real(w, json_real_value(v), prec); break;
    case JSON_TRUE:    kv_jw_bool(w, 1); break;
    case JSON_FALSE:   kv_jw_bool(w, 0); break;
    default:           kv_jw_null(w); break;
    }
}

/* 1 when v has an object key with a NUL inside (s_write cannot write it). */
static int s_nul_key(const json_t *v)
{
    if (json_is_object(v)) {
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it))
            if (strlen(json_object_iter_key(it)) != json_object_iter_key_len(it) ||
                s_nul_key(json_object_iter_value(it)))
                return 1;
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (s_nul_key(json_array_get(v, i)))
                return 1;
    }
    return 0;
}

static void test_writer(void)
{
    int same = 1, tried = 0;
    char *why = NULL;
    for (int i = 0; i < 20000; i++) {
        json_t *v = s_rand_value(0, i % 4 == 0);
        if (s_nul_key(v)) {
            json_decref(v);
            continue;
        }
        int prec = i % 3 == 0 ? 15 : i % 3 == 1 ? 0 : 17;
        kv_jw_t w;
        kv_jw_init(&w);
        s_write(&w, v, prec);
        size_t len = 7;
        char *mine = kv_jw_take(&w, &len);
        char *want = kv_json_dump(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(prec), NULL);
        int ok = (!mine && !want && len == 0) ||
                 (mine && want && strcmp(mine, want) == 0 && len == strlen(want));
        if (!ok && !why) {
            why = malloc(200 + (mine ? strlen(mine) : 0) + (want ? strlen(want) : 0));
            sprintf(why, "writer %s / dump %s", mine ? mine : "NULL", want ? want : "NULL");
        }
        same &= ok;
        tried++;
        free(mine);
        free(want);
        json_decref(v);
    }
    KVT_OK(same && tried > 15000, "the writer writes what kv_json_dump writes for the same "
           "tree (%d random trees, some with broken UTF-8: both fail)%s%s", tried,
           why ? ": " : "", why ? why : "");
    free(why);

    kv_jw_t w;
    size_t len;
    kv_jw_init(&w);
    kv_jw_obj(&w);
    kv_jw_key(&w, "a");
    json_t *arr = json_pack("[i,s]", 1, "x");
    kv_jw_json(&w, arr, 0);
    json_decref(arr);
    kv_jw_key(&w, "b");
    kv_jw_raw(&w, "{\"c\":null}", 10);
    kv_jw_key(&w, "d");
    kv_jw_cstr(&w, NULL);
    kv_jw_end(&w);
    char *t = kv_jw_take(&w, &len);
    KVT_EQ_STR(t ? t : "NULL", "{\"a\":[1,\"x\"],\"b\":{\"c\":null},\"d\":null}",
               "a jansson value, raw text and a NULL string take their places with commas");
    free(t);

    kv_jw_init(&w);
    kv_jw_end(&w);
    KVT_OK(kv_jw_take(&w, &len) == NULL && len == 0, "closing what was never opened fails");
    kv_jw_init(&w);
    kv_jw_arr(&w);
    kv_jw_key(&w, "k");
    kv_jw_int(&w, 1);
    kv_jw_end(&w);
    KVT_OK(kv_jw_take(&w, NULL) == NULL, "a key inside an array fails");
    kv_jw_init(&w);
    kv_jw_obj(&w);
    kv_jw_key(&w, "k");
    kv_jw_end(&w);
    KVT_OK(kv_jw_take(&w, NULL) == NULL, "a key without its value fails");
    kv_jw_init(&w);
    kv_jw_obj(&w);
    KVT_OK(kv_jw_take(&w, NULL) == NULL, "an object left open fails");
    kv_jw_init(&w);
    for (int i = 0; i < KV_JW_DEPTH + 1; i++)
        kv_jw_arr(&w);
    for (int i = 0; i < KV_JW_DEPTH + 1; i++)
        kv_jw_end(&w);
    KVT_OK(kv_jw_take(&w, NULL) == NULL, "nesting deeper than KV_JW_DEPTH (%d) fails", KV_JW_DEPTH);
    kv_jw_init(&w);
    kv_jw_arr(&w);
    kv_jw_real(&w, INFINITY, 15);
    kv_jw_end(&w);
    KVT_OK(kv_jw_take(&w, NULL) == NULL, "an infinite real fails (JSON has none)");
    kv_jw_init(&w);
    kv_jw_int(&w, 1);
    kv_jw_int(&w, 2);
    KVT_OK(kv_jw_take(&w, NULL) == NULL, "two values at the top level fail (not one JSON text)");
}

int main(void)
{
    test_fixed();
    test_random();
    test_writer();
    return kvt_done();
}
