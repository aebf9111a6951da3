/*
 * fuzz_json.c -- kv_json_dump (shared/kv_json.c), the writer of every
 * answer, bus header and bus body, against jansson's json_dumps.
 *
 * The input is parsed by jansson (any value, NUL allowed in strings); the
 * first byte also picks the real precision and whether a string of raw
 * bytes (possibly not UTF-8) is added to the tree.  Properties: for every
 * flag set kv_json_dump handles itself, it returns exactly json_dumps's
 * bytes and length, or NULL exactly when json_dumps does; what it writes
 * parses back to a value equal to the tree.
 */
#include "fuzz.h"

#include "kv_json.h"

static void s_same(const json_t *v, size_t flags)
{
    size_t len = 12345;
    char *mine = kv_json_dump(v, flags, &len);
    char *theirs = json_dumps(v, flags);
    FUZZ_CHECK((mine == NULL) == (theirs == NULL));
    if (mine) {
        FUZZ_CHECK(strcmp(mine, theirs) == 0);
        FUZZ_CHECK(len == strlen(mine));
        json_t *back = json_loads(mine, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        FUZZ_CHECK(back != NULL);
        if (!(flags & JSON_REAL_PRECISION(31)))   /* 17 digits: reals read back exactly */
            FUZZ_CHECK(json_equal(back, v));
        json_decref(back);
    } else {
        FUZZ_CHECK(len == 0);
    }
    free(mine);
    free(theirs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    json_t *v = json_loadb((const char *)data + 1, size - 1,
                           JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v)
        return 0;
    if ((sel & 1) && json_is_array(v)) {
        /* the raw input as a string value: invalid UTF-8 must fail the dump */
        json_array_append_new(v, json_stringn_nocheck((const char *)data, size > 64 ? 64 : size));
    }
    size_t prec = JSON_REAL_PRECISION((sel >> 1) % 18);
    s_same(v, JSON_COMPACT | JSON_ENCODE_ANY | prec);
    s_same(v, JSON_COMPACT);
    s_same(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    json_decref(v);
    return 0;
}
