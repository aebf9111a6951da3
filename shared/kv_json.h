/*
 * kv_json.h -- compact JSON text of a jansson value, fast.
 *
 * Every answer of every service is a jansson tree dumped once on the
 * request path (and every bus header and request body once more), so the
 * dump is on the critical path of every request.  jansson's json_dumps
 * goes through a callback per escaped run and a printf per number; this
 * writer appends into one growing buffer, copies runs of plain bytes at
 * once and formats integers itself.
 *
 * Contract: for the flags it supports, kv_json_dump returns exactly the
 * bytes json_dumps returns for the same value and flags, and NULL exactly
 * when json_dumps does (a string value that is not valid UTF-8, a
 * top-level value other than an object or array without JSON_ENCODE_ANY),
 * and also for an object key that is not valid UTF-8, where json_dumps
 * ignores its own failure and returns a broken text.
 * tests/unit/shared/test_json.c and the fuzz harness tests/fuzz/fuzz_json.c
 * compare the two byte for byte.  Supported: JSON_COMPACT,
 * JSON_REAL_PRECISION(n), JSON_ENCODE_ANY, JSON_PRESERVE_ORDER (jansson
 * keeps insertion order anyway).  Any other flag (indentation, sorted keys,
 * ASCII-only, escaped slashes, JSON_EMBED) is handed to json_dumps.
 */
#ifndef KV_JSON_H
#define KV_JSON_H

#include <stddef.h>
#include <jansson.h>

/* The JSON text of v (NUL-terminated, free() it) and its length in *len
 * (len may be NULL); NULL as json_dumps would, or when out of memory. */
char *kv_json_dump(const json_t *v, size_t flags, size_t *len);

/* ---- kv_jw: compact JSON written directly, no tree ----------------------
 *
 * For the answers that are long lists of rows (a page of services,
 * customers, ...): building a jansson tree of a 20-row page, dumping and
 * freeing it cost 25-37 us; writing the same text directly, 3.  The text
 * is the one kv_json_dump writes for the equal tree (JSON_COMPACT |
 * JSON_REAL_PRECISION(15) for reals written with precision 15): commas
 * and the ':' after a key are placed by the writer.  A string that is not
 * valid UTF-8, nesting deeper than KV_JW_DEPTH or an out-of-memory fails
 * the writer; kv_jw_take then returns NULL.
 *
 *     kv_jw_t w;
 *     kv_jw_init(&w);
 *     kv_jw_obj(&w);
 *     kv_jw_key(&w, "id");  kv_jw_int(&w, 7);
 *     kv_jw_key(&w, "tags"); kv_jw_arr(&w); kv_jw_str(&w, "a", 1); kv_jw_end(&w);
 *     kv_jw_end(&w);
 *     char *text = kv_jw_take(&w, &len);      {"id":7,"tags":["a"]}
 */
#define KV_JW_DEPTH 32

typedef struct {
    char *data;
    size_t len, cap;
    int failed;
    int depth;                       /* open objects and arrays */
    int after_key;                   /* a key was written: its value comes next */
    unsigned char empty[KV_JW_DEPTH + 1];   /* nothing written yet at that depth */
    char close[KV_JW_DEPTH + 1];            /* '}' or ']': what ends that depth */
} kv_jw_t;

void kv_jw_init(kv_jw_t *w);
/* The text (NUL-terminated; caller frees) and its length; NULL when the
 * writer failed.  w is empty afterwards either way. */
char *kv_jw_take(kv_jw_t *w, size_t *len);
/* What w wrote, read back into a tree (new reference; NULL when the writer
 * failed): the one definition of an object written for a list also gives
 * the tree every other answer needs.  w is empty afterwards. */
json_t *kv_jw_tree(kv_jw_t *w);
/* Forgets what w holds. */
void kv_jw_reset(kv_jw_t *w);
void kv_jw_obj(kv_jw_t *w);          /* { */
void kv_jw_arr(kv_jw_t *w);          /* [ */
void kv_jw_end(kv_jw_t *w);          /* } or ], whichever is open */
void kv_jw_key(kv_jw_t *w, const char *key);
void kv_jw_str(kv_jw_t *w, const char *s, size_t n);
void kv_jw_cstr(kv_jw_t *w, const char *s);   /* NULL: null */
void kv_jw_int(kv_jw_t *w, long long v);
void kv_jw_real(kv_jw_t *w, double v, int precision);   /* 0: 17 digits */
void kv_jw_bool(kv_jw_t *w, int v);
void kv_jw_null(kv_jw_t *w);
/* A jansson value, written as kv_json_dump writes it (precision of reals
 * as in kv_jw_real). */
void kv_jw_json(kv_jw_t *w, const json_t *v, int precision);
/* Text that is already one JSON value (trusted: written by this writer). */
void kv_jw_raw(kv_jw_t *w, const char *text, size_t n);

#endif
