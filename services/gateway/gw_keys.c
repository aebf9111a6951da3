/*
 * gw_keys.c -- generation and shape checks of API keys (see gw_keys.h).
 *
 * The checksum is CRC-32 of the 32 random characters, written in base62 on
 * 6 characters (62^6 > 2^32, so every value fits).  It protects against
 * typos, not against forgery: the key's secrecy comes from the 32 random
 * base62 characters (~190 bits), and authenticity from the database.
 */
#include "gw_keys.h"

#include <string.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

static const char s_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

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

void gw_key_checksum(const char *rnd, char out[GW_KEY_CHECK_LEN + 1])
{
    (void)gw_base62(gw_crc32(rnd, GW_KEY_RANDOM_LEN), GW_KEY_CHECK_LEN, out);
}

int gw_key_generate(char out[GW_KEY_LEN + 1])
{
    unsigned char buf[64];
    int n = 0;
    memcpy(out, GW_KEY_TAG, GW_KEY_TAG_LEN);
    while (n < GW_KEY_RANDOM_LEN) {
        if (RAND_bytes(buf, (int)sizeof buf) != 1)
            return -1;
        for (size_t i = 0; i < sizeof buf && n < GW_KEY_RANDOM_LEN; i++) {
            /* 248 = 4 * 62: bytes at or above it would favour the first
             * characters of the alphabet, so they are thrown away. */
            if (buf[i] < 248)
                out[GW_KEY_TAG_LEN + n++] = s_alphabet[buf[i] % 62];
        }
    }
    gw_key_checksum(out + GW_KEY_TAG_LEN, out + GW_KEY_TAG_LEN + GW_KEY_RANDOM_LEN);
    out[GW_KEY_LEN] = '\0';
    return 0;
}

static int s_is_base62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int gw_key_shape_ok(const char *key)
{
    char sum[GW_KEY_CHECK_LEN + 1];
    if (!key || strncmp(key, GW_KEY_TAG, GW_KEY_TAG_LEN) != 0)
        return 0;
    /* strnlen: never read past what a key can be. */
    if (strnlen(key, GW_KEY_LEN + 1) != GW_KEY_LEN)
        return 0;
    for (int i = GW_KEY_TAG_LEN; i < GW_KEY_LEN; i++) {
        if (!s_is_base62(key[i]))
            return 0;
    }
    gw_key_checksum(key + GW_KEY_TAG_LEN, sum);
    return memcmp(sum, key + GW_KEY_TAG_LEN + GW_KEY_RANDOM_LEN, GW_KEY_CHECK_LEN) == 0;
}

void gw_key_digest(const char *key, unsigned char out[32])
{
    SHA256((const unsigned char *)key, strlen(key), out);
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

void gw_key_prefix(const char *key, char out[GW_KEY_PREFIX_LEN + 1])
{
    size_t n = strnlen(key, GW_KEY_PREFIX_LEN);
    memcpy(out, key, n);
    out[n] = '\0';
}
