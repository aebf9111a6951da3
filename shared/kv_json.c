/*
 * kv_json.c -- compact JSON text of a jansson value, byte for byte what
 * json_dumps writes for the same flags (kv_json.h), in one buffer.
 */
#include "kv_json.h"
#include "kv_valid.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The flags written here; anything else goes to json_dumps. */
#define S_HANDLED      (JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(31))
#define S_PRECISION(f) ((int)(((f) >> 11) & 0x1F))
#define S_REAL_MAX     25        /* jansson refuses a real whose text needs more */
#define S_FIRST_CAP    512       /* a bus header fits; below glibc's large bins
                                    (1 KiB), whose every malloc consolidates */

/* b->failed: out of memory, a value jansson refuses, nesting too deep */
typedef kv_jw_t s_buf_t;

/* Makes room for more bytes (and a NUL) in b: the slow path of s_room. */
static int s_grow(s_buf_t *b, size_t more)
{
    if (b->failed)
        return -1;
    size_t cap = b->cap ? b->cap : S_FIRST_CAP;
    while (b->len + more >= cap) {
        if (cap > SIZE_MAX / 4) {
            b->failed = 1;
            return -1;
        }
        cap *= 4;                /* few copies on the way to a big answer */
    }
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

static inline int s_room(s_buf_t *b, size_t more)
{
    return b->len + more < b->cap ? 0 : s_grow(b, more);
}

static inline void s_put(s_buf_t *b, const char *s, size_t n)
{
    if (s_room(b, n) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static inline void s_putc(s_buf_t *b, char c)
{
    if (s_room(b, 1) != 0)
        return;
    b->data[b->len++] = c;
}

/* A JSON string of the n bytes at s: '"' and '\\' and the control
 * characters escaped (the short forms where JSON has one), everything else
 * as it is; invalid UTF-8 fails the dump. */
static void s_string(s_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    s_putc(b, '"');
    size_t i = 0;
    while (i < n && !b->failed) {
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            s_put(b, s + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t l = kv_utf8_seq(p + i, n - i, NULL);
            if (l == 0) {
                b->failed = 1;
                return;
            }
            s_put(b, s + i, l);
            i += l;
            continue;
        }
        char esc[6] = { '\\', 0, 0, 0, 0, 0 };
        size_t el = 2;
        switch (c) {
        case '"':  esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
        }
        s_put(b, esc, el);
        i++;
    }
    s_putc(b, '"');
}

static void s_integer(s_buf_t *b, json_int_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    /* in unsigned arithmetic, so that the most negative value has a magnitude */
    unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--i] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    if (v < 0)
        tmp[--i] = '-';
    s_put(b, tmp + i, sizeof tmp - i);
}

/* "%.*g", then what jansson makes of it: a '.' or an 'e' always (so that
 * the value reads back as a real), no '+' and no leading zeros in the
 * exponent. */
static void s_real(s_buf_t *b, double v, int precision)
{
    char tmp[S_REAL_MAX];
    int n = snprintf(tmp, sizeof tmp, "%.*g", precision ? precision : 17, v);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->failed = 1;
        return;
    }
    size_t len = (size_t)n;
    if (!memchr(tmp, '.', len) && !memchr(tmp, 'e', len)) {
        if (len + 3 >= sizeof tmp) {
            b->failed = 1;
            return;
        }
        tmp[len++] = '.';
        tmp[len++] = '0';
    }
    char *e = memchr(tmp, 'e', len);
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (end < tmp + len && *end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)(tmp + len - end));
            len -= (size_t)(end - start);
        }
    }
    s_put(b, tmp, len);
}

static void s_value(s_buf_t *b, const json_t *v, int precision)
{
    if (b->failed)
        return;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        s_putc(b, '{');
        int first = 1;
        for (void *it = json_object_iter((json_t *)v); it && !b->failed;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                s_putc(b, ',');
            first = 0;
            s_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
            s_putc(b, ':');
            s_value(b, json_object_iter_value(it), precision);
        }
        s_putc(b, '}');
        break;
    }
    case JSON_ARRAY: {
        s_putc(b, '[');
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n && !b->failed; i++) {
            if (i)
                s_putc(b, ',');
            s_value(b, json_array_get(v, i), precision);
        }
        s_putc(b, ']');
        break;
    }
    case JSON_STRING:
        s_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        s_integer(b, json_integer_value(v));
        break;
    case JSON_REAL:
        s_real(b, json_real_value(v), precision);
        break;
    case JSON_TRUE:
        s_put(b, "true", 4);
        break;
    case JSON_FALSE:
        s_put(b, "false", 5);
        break;
    case JSON_NULL:
        s_put(b, "null", 4);
        break;
    default:
        b->failed = 1;
    }
}

char *kv_json_dump(const json_t *v, size_t flags, size_t *len)
{
    if (len)
        *len = 0;
    if (!v)
        return NULL;
    if (!(flags & JSON_COMPACT) || (flags & ~(size_t)S_HANDLED) || S_PRECISION(flags) > 17) {
        char *s = json_dumps(v, flags);
        if (s && len)
            *len = strlen(s);
        return s;
    }
    if (!(flags & JSON_ENCODE_ANY) && !json_is_object(v) && !json_is_array(v))
        return NULL;
    kv_jw_t w;
    kv_jw_init(&w);
    kv_jw_json(&w, v, S_PRECISION(flags));
    return kv_jw_take(&w, len);
}

/* ---- kv_jw ---------------------------------------------------------------- */

void kv_jw_init(kv_jw_t *w)
{
    memset(w, 0, sizeof *w);
    w->empty[0] = 1;
}

json_t *kv_jw_tree(kv_jw_t *w)
{
    size_t len;
    char *text = kv_jw_take(w, &len);
    json_t *v = text ? json_loadb(text, len, JSON_DECODE_ANY, NULL) : NULL;
    free(text);
    return v;
}

void kv_jw_reset(kv_jw_t *w)
{
    free(w->data);
    kv_jw_init(w);
}

char *kv_jw_take(kv_jw_t *w, size_t *len)
{
    char *out = NULL;
    if (len)
        *len = 0;
    if (!w->failed && w->depth == 0 && !w->after_key && s_room(w, 1) == 0) {
        w->data[w->len] = '\0';
        out = w->data;
        if (len)
            *len = w->len;
        w->data = NULL;
    }
    kv_jw_reset(w);
    return out;
}

/* Before a value or a key: the comma that separates it from the previous
 * one at this depth (none right after a key). */
static void s_sep(kv_jw_t *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (!w->empty[w->depth]) {
        if (w->depth == 0) {     /* a second value: not one JSON text */
            w->failed = 1;
            return;
        }
        s_putc(w, ',');
    }
    w->empty[w->depth] = 0;
}

static void s_open(kv_jw_t *w, char c, char close)
{
    s_sep(w);
    if (w->depth == KV_JW_DEPTH) {
        w->failed = 1;
        return;
    }
    s_putc(w, c);
    w->depth++;
    w->empty[w->depth] = 1;
    w->close[w->depth] = close;
}

void kv_jw_obj(kv_jw_t *w)
{
    s_open(w, '{', '}');
}

void kv_jw_arr(kv_jw_t *w)
{
    s_open(w, '[', ']');
}

void kv_jw_end(kv_jw_t *w)
{
    if (w->depth == 0 || w->after_key) {
        w->failed = 1;
        return;
    }
    s_putc(w, w->close[w->depth]);
    w->depth--;
}

void kv_jw_key(kv_jw_t *w, const char *key)
{
    if (w->depth == 0 || w->close[w->depth] != '}' || w->after_key) {
        w->failed = 1;
        return;
    }
    s_sep(w);
    s_string(w, key, strlen(key));
    s_putc(w, ':');
    w->after_key = 1;
}

void kv_jw_str(kv_jw_t *w, const char *s, size_t n)
{
    s_sep(w);
    s_string(w, s, n);
}

void kv_jw_cstr(kv_jw_t *w, const char *s)
{
    if (s)
        kv_jw_str(w, s, strlen(s));
    else
        kv_jw_null(w);
}

void kv_jw_int(kv_jw_t *w, long long v)
{
    s_sep(w);
    s_integer(w, (json_int_t)v);
}

void kv_jw_real(kv_jw_t *w, double v, int precision)
{
    s_sep(w);
    if (!isfinite(v)) {          /* jansson cannot hold one either */
        w->failed = 1;
        return;
    }
    s_real(w, v, precision);
}

void kv_jw_bool(kv_jw_t *w, int v)
{
    s_sep(w);
    if (v)
        s_put(w, "true", 4);
    else
        s_put(w, "false", 5);
}

void kv_jw_null(kv_jw_t *w)
{
    s_sep(w);
    s_put(w, "null", 4);
}

void kv_jw_json(kv_jw_t *w, const json_t *v, int precision)
{
    s_sep(w);
    if (!v) {
        w->failed = 1;
        return;
    }
    s_value(w, v, precision);
}

void kv_jw_raw(kv_jw_t *w, const char *text, size_t n)
{
    s_sep(w);
    s_put(w, text, n);
}
