/*
 * kv_trace.c -- W3C Trace Context level 1 (see kv_trace.h).
 *
 * The parser follows the level-1 grammar to the letter and refuses
 * anything else: the gateway then starts a new trace instead of carrying a
 * malformed one further.  Span and trace ids come from a per-thread
 * xoshiro256** generator seeded from getrandom(2) when the thread first
 * needs one: ids must be unique and unpredictable enough to never collide,
 * not secret, and OpenSSL's RAND_bytes costs microseconds a call (measured
 * 2.7 us per span here), too much for every request.  The current
 * trace is thread-local: set by whoever starts serving a request on the
 * thread, read by kv_log (its trace_id) and by kv_client (the traceparent
 * of the calls the request makes).
 */
#include "kv_trace.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "kv_log.h"

static _Thread_local kv_trace_t s_current;
static _Thread_local int s_has_current;

/* 1 when s[0..n) is lowercase hex. */
static int s_lhex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

/* 1 when s[0..n) is all '0'. */
static int s_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return 0;
    return 1;
}

static unsigned s_hexval(char c)
{
    return (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
}

int kv_traceparent_parse(const char *s, size_t len, kv_trace_t *t)
{
    if (!s || len < KV_TRACEPARENT_LEN)
        return -1;
    /* version: 2 lowercase hex, not ff; 00 is exactly 55 characters, a
     * later version may append "-..." fields we do not read */
    if (!s_lhex(s, 2) || (s[0] == 'f' && s[1] == 'f'))
        return -1;
    int v00 = s[0] == '0' && s[1] == '0';
    if (v00 && len != KV_TRACEPARENT_LEN)
        return -1;
    if (!v00 && len > KV_TRACEPARENT_LEN && s[KV_TRACEPARENT_LEN] != '-')
        return -1;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-')
        return -1;
    const char *tid = s + 3, *pid = s + 36, *fl = s + 53;
    if (!s_lhex(tid, KV_TRACE_ID_LEN) || s_zero(tid, KV_TRACE_ID_LEN) ||
        !s_lhex(pid, KV_SPAN_ID_LEN) || s_zero(pid, KV_SPAN_ID_LEN) || !s_lhex(fl, 2))
        return -1;
    memcpy(t->trace_id, tid, KV_TRACE_ID_LEN);
    t->trace_id[KV_TRACE_ID_LEN] = '\0';
    memcpy(t->parent_id, pid, KV_SPAN_ID_LEN);
    t->parent_id[KV_SPAN_ID_LEN] = '\0';
    t->flags = s_hexval(fl[0]) * 16 + s_hexval(fl[1]);
    return 0;
}

static int s_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
static int s_digit(char c) { return c >= '0' && c <= '9'; }
static int s_keychar(char c)
{
    return s_lcalpha(c) || s_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

/* 1 when k[0..n) is a tracestate key: simple-key or tenant@system. */
static int s_key_ok(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    if (!at) {
        if (n < 1 || n > 256 || !s_lcalpha(k[0]))
            return 0;
        for (size_t i = 1; i < n; i++)
            if (!s_keychar(k[i]))
                return 0;
        return 1;
    }
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    if (tn < 1 || tn > 241 || sn < 1 || sn > 14)
        return 0;
    if (!(s_lcalpha(k[0]) || s_digit(k[0])) || !s_lcalpha(at[1]))
        return 0;
    for (size_t i = 1; i < tn; i++)
        if (!s_keychar(k[i]))
            return 0;
    for (size_t i = 2; i <= sn; i++)
        if (!s_keychar(at[i]))
            return 0;
    return 1;
}

/* 1 when v[0..n) is a tracestate value: 1..256 printable characters but
 * ',' and '=', the last one not a space. */
static int s_value_ok(const char *v, size_t n)
{
    if (n < 1 || n > 256 || v[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return 0;
    }
    return 1;
}

int kv_tracestate_valid(const char *s, size_t len)
{
    if (!s || len > KV_TRACESTATE_MAX)
        return 0;
    int members = 0;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && s[j] != ',')
            j++;
        /* the member s[i..j) without its optional whitespace */
        size_t a = i, b = j;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (b > a) {
            const char *eq = memchr(s + a, '=', b - a);
            if (!eq || !s_key_ok(s + a, (size_t)(eq - (s + a))) ||
                !s_value_ok(eq + 1, (size_t)(s + b - eq - 1)))
                return 0;
            if (++members > 32)
                return 0;
        }
        i = j + 1;
    }
    return 1;
}

static _Thread_local uint64_t s_rng[4];
static _Thread_local int s_rng_seeded;

static uint64_t s_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* splitmix64: spreads a weak seed over the generator's state. */
static uint64_t s_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The thread's next 64 random bits (xoshiro256**). */
static uint64_t s_next(void)
{
    if (!s_rng_seeded) {
        if (getrandom(s_rng, sizeof s_rng, 0) != (ssize_t)sizeof s_rng) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                         ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)&s_rng;
            for (int i = 0; i < 4; i++)
                s_rng[i] = s_splitmix(&x);
        }
        if (!(s_rng[0] | s_rng[1] | s_rng[2] | s_rng[3]))
            s_rng[0] = 1;
        s_rng_seeded = 1;
    }
    uint64_t r = s_rotl(s_rng[1] * 5, 7) * 9;
    uint64_t t = s_rng[1] << 17;
    s_rng[2] ^= s_rng[0];
    s_rng[3] ^= s_rng[1];
    s_rng[1] ^= s_rng[2];
    s_rng[0] ^= s_rng[3];
    s_rng[2] ^= t;
    s_rng[3] = s_rotl(s_rng[3], 45);
    return r;
}

void kv_trace_random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t nd = n > 64 ? 64 : n & ~(size_t)1;
    do {
        uint64_t bits = 0;
        for (size_t i = 0; i < nd; i++) {
            if (i % 16 == 0)
                bits = s_next();
            out[i] = hex[bits & 15];
            bits >>= 4;
        }
        out[nd] = '\0';
    } while (s_zero(out, nd));
}

void kv_trace_begin(kv_trace_t *t, const char *tp, const char *ts)
{
    memset(t, 0, sizeof *t);
    if (tp && kv_traceparent_parse(tp, strlen(tp), t) == 0) {
        if (ts && *ts && kv_tracestate_valid(ts, strlen(ts)))
            snprintf(t->state, sizeof t->state, "%s", ts);
    } else {
        memset(t, 0, sizeof *t);
        kv_trace_random_hex(t->trace_id, KV_TRACE_ID_LEN);
        t->flags = 0x01;
    }
    kv_trace_random_hex(t->span_id, KV_SPAN_ID_LEN);
}

void kv_traceparent_format(const kv_trace_t *t, char out[KV_TRACEPARENT_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "00-", 3);
    memcpy(out + 3, t->trace_id, KV_TRACE_ID_LEN);
    out[35] = '-';
    memcpy(out + 36, t->span_id, KV_SPAN_ID_LEN);
    out[52] = '-';
    out[53] = hex[(t->flags >> 4) & 15];
    out[54] = hex[t->flags & 15];
    out[55] = '\0';
}

void kv_trace_set_current(const kv_trace_t *t)
{
    if (!t || !t->trace_id[0]) {
        kv_trace_clear_current();
        return;
    }
    if (t != &s_current)
        s_current = *t;
    s_has_current = 1;
    kv_log_set_trace(s_current.trace_id);
}

void kv_trace_clear_current(void)
{
    s_has_current = 0;
    s_current.trace_id[0] = '\0';
    kv_log_set_trace(NULL);
}

const kv_trace_t *kv_trace_current(void)
{
    return s_has_current ? &s_current : NULL;
}
