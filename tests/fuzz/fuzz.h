/*
 * fuzz.h -- what the libFuzzer harnesses of tests/fuzz/ share: a check
 * that aborts (so a broken property is a crash libFuzzer keeps), copies of
 * the input as exactly-sized C strings (so ASan sees a read one byte past
 * the end), a cursor over the input for harnesses that need numbers, and
 * the way a request body travels from the gateway to a service.
 *
 * Each harness is one file, fuzz_<name>.c, with LLVMFuzzerTestOneInput; its
 * seed corpus is tests/fuzz/<name>/ and its dictionary tests/fuzz/<name>.dict.
 * Harnesses are built by clang only (`make fuzz`, build/fuzz/), with ASan,
 * UBSan and libFuzzer; they link the pure objects they exercise and never
 * open a socket or a database connection.  README.md ("Fuzzing") says how
 * to run them.
 */
#ifndef KV_FUZZ_H
#define KV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code under test: when it does not hold, print where
 * and abort, which libFuzzer reports as a crash and keeps the input. */
#define FUZZ_CHECK(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "fuzz property broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
        abort(); \
    } } while (0)

/* data[0..size) as a NUL-terminated string in a heap block of exactly
 * size + 1 bytes (embedded NULs stay: C functions see a prefix).  Caller
 * owns the result (free()). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* A cursor over the input: numbers are taken from the front, the rest is
 * left as bytes. */
typedef struct {
    const uint8_t *p;
    size_t n;
} fuzz_in_t;

/* The next byte, 0 once the input is used up. */
static inline unsigned fuzz_u8(fuzz_in_t *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

/* The next two bytes, little-endian. */
static inline unsigned fuzz_u16(fuzz_in_t *in)
{
    unsigned lo = fuzz_u8(in);
    return lo | fuzz_u8(in) << 8;
}

/* A number in [lo, hi] (lo <= hi, hi - lo < 65536) from two bytes. */
static inline int fuzz_range(fuzz_in_t *in, int lo, int hi)
{
    return lo + (int)(fuzz_u16(in) % (unsigned)(hi - lo + 1));
}

/* Splits the input at the separator byte FUZZ_SEP: frame k is the bytes
 * between the k-th and (k+1)-th separator.  0xF5 never occurs in UTF-8, so
 * JSON and text frames are never cut; only binary frames cannot hold it.
 * Calls fn(arg, frame, len) for each and returns the number of frames
 * (at least 1: an empty input is one empty frame). */
#define FUZZ_SEP 0xF5
static inline size_t fuzz_split(const uint8_t *data, size_t size,
                                void (*fn)(void *arg, const uint8_t *f, size_t len), void *arg)
{
    size_t count = 0, start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == FUZZ_SEP) {
            fn(arg, data + start, i - start);
            count++;
            start = i + 1;
        }
    }
    return count;
}

/* The way a JSON request body reaches a service handler, step by step as
 * in production: the gateway parses the bytes once (gw_req_body_json:
 * JSON_DECODE_ANY; malformed is 400 and ends here), wraps the value into
 * the bus body {"params":{},"query":{},"body":...} and encodes it
 * (gw_forward: JSON_COMPACT); the service decodes that (kv_service: flags
 * 0) and hands handlers "body", with JSON null as NULL.  Each step the
 * gateway took must succeed at the service too.  Returns the bus body (the
 * caller owns it, json_decref) with *body borrowed from it, or NULL when
 * the gateway would have answered 400. */
static inline json_t *fuzz_body(const uint8_t *data, size_t size, json_t **body)
{
    *body = NULL;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!v)
        return NULL;
    json_t *wrap = json_object();
    json_object_set_new(wrap, "params", json_object());
    json_object_set_new(wrap, "query", json_object());
    json_object_set_new(wrap, "body", v);
    char *text = json_dumps(wrap, JSON_COMPACT);
    json_decref(wrap);
    FUZZ_CHECK(text != NULL);   /* the gateway answers 500 otherwise */
    json_t *bus = json_loads(text, 0, NULL);
    free(text);
    FUZZ_CHECK(json_is_object(bus));   /* else the service says "Malformed bus request" */
    json_t *b = json_object_get(bus, "body");
    FUZZ_CHECK(b != NULL);
    *body = json_is_null(b) ? NULL : b;
    return bus;
}

/* 1 when s is valid UTF-8 without NUL (what every string jansson holds
 * is, and what every message of an errors object must be). */
static inline int fuzz_utf8(const char *s)
{
    json_t *j = json_string(s);
    if (!j)
        return 0;
    json_decref(j);
    return 1;
}

/* The 422 envelope's "errors": an object whose every value is a non-empty
 * list of non-empty messages.  ok says whether the validator returned
 * success, which it may do only with no error at all (beyond n0 entries
 * the caller had already). */
static inline void fuzz_check_errors(const json_t *errors, int ok, size_t n0)
{
    FUZZ_CHECK(json_is_object(errors));
    FUZZ_CHECK(ok ? json_object_size(errors) == n0 : json_object_size(errors) > n0);
    const char *k;
    json_t *list;
    json_object_foreach((json_t *)errors, k, list) {
        FUZZ_CHECK(json_is_array(list) && json_array_size(list) > 0);
        size_t i;
        json_t *m;
        json_array_foreach(list, i, m)
            FUZZ_CHECK(json_is_string(m) && json_string_length(m) > 0);
    }
}

#endif
