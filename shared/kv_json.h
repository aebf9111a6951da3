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

#endif
