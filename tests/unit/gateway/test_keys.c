/*
 * test_keys.c -- API key shape: generation, checksum, and every way a key
 * can be malformed (prefix, length, alphabet, checksum).
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_keys.h"

int main(void)
{
    char key[GW_KEY_LEN + 1], other[GW_KEY_LEN + 1];

    KVT_OK(gw_crc32("123456789", 9) == 0xCBF43926u, "crc32 matches the standard check value");
    char b[8];
    KVT_OK(gw_base62(0, 6, b) == 0 && strcmp(b, "000000") == 0, "base62 of zero is zero padded");
    KVT_OK(gw_base62(61, 2, b) == 0 && strcmp(b, "0z") == 0, "base62 uses 0-9A-Za-z");
    KVT_OK(gw_base62(0xFFFFFFFFu, 6, b) == 0, "every crc32 fits in six base62 characters");
    KVT_OK(gw_base62(62, 1, b) == -1, "base62 reports a value that does not fit");

    KVT_OK(gw_key_generate(key) == 0, "key generation succeeds");
    KVT_OK(strlen(key) == GW_KEY_LEN && GW_KEY_LEN == 42, "generated key is 42 characters");
    KVT_OK(strncmp(key, "kv1_", 4) == 0, "generated key starts with kv1_");
    KVT_OK(gw_key_shape_ok(key), "generated key passes the shape check");
    KVT_OK(gw_key_generate(other) == 0 && strcmp(key, other) != 0, "two generated keys differ");

    /* Every character of the alphabet shows up over many keys (no bias
     * so gross that a character is never drawn). */
    int seen[128] = { 0 }, all = 1;
    for (int i = 0; i < 400; i++) {
        gw_key_generate(other);
        for (int j = 4; j < 36; j++)
            seen[(unsigned char)other[j]] = 1;
    }
    for (const char *c = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"; *c; c++)
        all &= seen[(unsigned char)*c];
    KVT_OK(all, "random part draws from the whole base62 alphabet");

    char bad[64];
    memcpy(bad, key, sizeof key);
    bad[0] = 'K';
    KVT_OK(!gw_key_shape_ok(bad), "wrong prefix is refused");
    memcpy(bad, "kv2_", 4);
    KVT_OK(!gw_key_shape_ok(bad), "other version tag is refused");

    memcpy(bad, key, sizeof key);
    bad[41] = '\0';
    KVT_OK(!gw_key_shape_ok(bad), "key one character short is refused");
    memcpy(bad, key, sizeof key);
    bad[42] = 'A';
    bad[43] = '\0';
    KVT_OK(!gw_key_shape_ok(bad), "key one character long is refused");
    KVT_OK(!gw_key_shape_ok(""), "empty key is refused");
    KVT_OK(!gw_key_shape_ok(NULL), "NULL key is refused");
    KVT_OK(!gw_key_shape_ok("kv1_"), "bare prefix is refused");

    memcpy(bad, key, sizeof key);
    bad[10] = '-';
    KVT_OK(!gw_key_shape_ok(bad), "character outside base62 is refused");
    memcpy(bad, key, sizeof key);
    bad[10] = (char)0xC3;
    KVT_OK(!gw_key_shape_ok(bad), "non-ASCII byte is refused");

    memcpy(bad, key, sizeof key);
    bad[10] = bad[10] == 'a' ? 'b' : 'a';
    KVT_OK(!gw_key_shape_ok(bad), "typo in the random part fails the checksum");
    memcpy(bad, key, sizeof key);
    bad[41] = bad[41] == '0' ? '1' : '0';
    KVT_OK(!gw_key_shape_ok(bad), "typo in the checksum fails the checksum");
    memcpy(bad, key, sizeof key);
    char t = bad[5];
    bad[5] = bad[6];
    bad[6] = t;
    KVT_OK(bad[5] == bad[6] || !gw_key_shape_ok(bad), "swapped characters fail the checksum");

    char sum[7];
    gw_key_checksum(key + 4, sum);
    KVT_OK(memcmp(sum, key + 36, 6) == 0, "checksum is the last six characters");

    char hex[65], hex2[65];
    gw_key_hash_hex(key, hex);
    gw_key_hash_hex(key, hex2);
    KVT_OK(strlen(hex) == 64 && strcmp(hex, hex2) == 0, "hash is 64 hex characters and stable");
    gw_key_hash_hex("abc", hex);
    KVT_OK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
          "hash is SHA-256");

    char prefix[13];
    gw_key_prefix(key, prefix);
    KVT_OK(strlen(prefix) == 12 && strncmp(prefix, key, 12) == 0, "prefix is the first 12 characters");
    return kvt_done();
}
