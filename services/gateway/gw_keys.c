/*
 * gw_keys.c -- generation and checks of API keys (see gw_keys.h).
 *
 * Keyed checksum: the first 8 bytes of HMAC-SHA256(secret, random part) as
 * a big-endian integer, mod 62^6, in base62 on 6 characters.  A guess is
 * right with probability 1/62^6 (about 1 in 5.7e10).  The legacy checksum
 * is CRC-32 of the random part (62^6 > 2^32, so every value fits).  The
 * key's secrecy comes from its 32 random base62 characters (~190 bits) and
 * its authenticity from the database; the checksums only decide whether a
 * key is worth a lookup.
 */
#include "gw_keys.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "kv_crypto.h"
#include "kv_mem.h"

static const char s_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* 62^6 */
#define S_CHECK_SPACE 56800235584ull

uint32_t gw_crc32(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

int gw_base62(uint64_t v, int width, char *out)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = s_alphabet[v % 62];
        v /= 62;
    }
    out[width] = '\0';
    return v == 0 ? 0 : -1;
}

void gw_key_checksum(const unsigned char secret[GW_KEY_SECRET_LEN], const char *rnd,
                     char out[GW_KEY_CHECK_LEN + 1])
{
    unsigned char mac[KV_SHA256_LEN];
    uint64_t v = 0;
    kv_hmac_sha256(secret, GW_KEY_SECRET_LEN, rnd, GW_KEY_RANDOM_LEN, mac);
    for (int i = 0; i < 8; i++)
        v = v << 8 | mac[i];
    (void)gw_base62(v % S_CHECK_SPACE, GW_KEY_CHECK_LEN, out);
    OPENSSL_cleanse(mac, sizeof mac);
}

void gw_key_checksum_crc(const char *rnd, char out[GW_KEY_CHECK_LEN + 1])
{
    (void)gw_base62(gw_crc32(rnd, GW_KEY_RANDOM_LEN), GW_KEY_CHECK_LEN, out);
}

int gw_key_generate(const unsigned char secret[GW_KEY_SECRET_LEN], char out[GW_KEY_LEN + 1])
{
    unsigned char buf[64];
    int n = 0;
    memcpy(out, GW_KEY_TAG, GW_KEY_TAG_LEN);
    while (n < GW_KEY_RANDOM_LEN) {
        if (kv_random_bytes(buf, sizeof buf) != 0)
            return -1;
        for (size_t i = 0; i < sizeof buf && n < GW_KEY_RANDOM_LEN; i++) {
            /* 248 = 4 * 62: bytes at or above it would favour the first
             * characters of the alphabet, so they are thrown away. */
            if (buf[i] < 248)
                out[GW_KEY_TAG_LEN + n++] = s_alphabet[buf[i] % 62];
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
    gw_key_checksum(secret, out + GW_KEY_TAG_LEN, out + GW_KEY_TAG_LEN + GW_KEY_RANDOM_LEN);
    out[GW_KEY_LEN] = '\0';
    return 0;
}

static int s_is_base62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int gw_key_classify(const char *key, const unsigned char secret[GW_KEY_SECRET_LEN])
{
    char sum[GW_KEY_CHECK_LEN + 1];
    if (!key || strncmp(key, GW_KEY_TAG, GW_KEY_TAG_LEN) != 0)
        return GW_KEY_BAD;
    /* strnlen: never read past what a key can be. */
    if (strnlen(key, GW_KEY_LEN + 1) != GW_KEY_LEN)
        return GW_KEY_BAD;
    for (int i = GW_KEY_TAG_LEN; i < GW_KEY_LEN; i++) {
        if (!s_is_base62(key[i]))
            return GW_KEY_BAD;
    }
    const char *rnd = key + GW_KEY_TAG_LEN, *given = rnd + GW_KEY_RANDOM_LEN;
    gw_key_checksum(secret, rnd, sum);
    if (CRYPTO_memcmp(sum, given, GW_KEY_CHECK_LEN) == 0)
        return GW_KEY_KEYED;
    gw_key_checksum_crc(rnd, sum);
    if (CRYPTO_memcmp(sum, given, GW_KEY_CHECK_LEN) == 0)
        return GW_KEY_CRC;
    return GW_KEY_BAD;
}

void gw_key_digest(const char *key, unsigned char out[32])
{
    kv_sha256(key, strlen(key), out);
}

void gw_key_hash_hex(const char *key, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[32];
    gw_key_digest(key, d);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

static int s_unhex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int gw_key_unhex(const char *hex, unsigned char out[32])
{
    if (!hex || strnlen(hex, 65) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        int hi = s_unhex(hex[2 * i]), lo = s_unhex(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

void gw_key_prefix(const char *key, char out[GW_KEY_PREFIX_LEN + 1])
{
    size_t n = strnlen(key, GW_KEY_PREFIX_LEN);
    memcpy(out, key, n);
    out[n] = '\0';
}

const char *const gw_key_scopes[] = { "full", "read", NULL };

/* ---- the legacy set ----------------------------------------------------- */

void gw_keyset_init(gw_keyset_t *s)
{
    memset(s, 0, sizeof *s);
    s->sorted = 1;
}

void gw_keyset_cleanup(gw_keyset_t *s)
{
    free(s->d);
    gw_keyset_init(s);
}

void gw_keyset_add(gw_keyset_t *s, const unsigned char d[32])
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->d = kv_realloc(s->d, s->cap * sizeof *s->d);
    }
    memcpy(s->d[s->n++], d, 32);
    s->sorted = 0;
}

static int s_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

void gw_keyset_seal(gw_keyset_t *s)
{
    if (s->n > 1)
        qsort(s->d, s->n, sizeof *s->d, s_cmp);
    s->sorted = 1;
}

int gw_keyset_has(const gw_keyset_t *s, const unsigned char d[32])
{
    assert(s->sorted);
    return s->n > 0 && bsearch(d, s->d, s->n, sizeof *s->d, s_cmp) != NULL;
}
