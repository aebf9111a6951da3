/*
 * test_keys.c -- API key shape: generation, the keyed checksum (only the
 * holder of the secret makes keys that pass), the legacy CRC checksum, every
 * way a key can be malformed (prefix, length, alphabet, checksum), and the
 * legacy set.
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_keys.h"

static const unsigned char S1[GW_KEY_SECRET_LEN] = "0123456789abcdef0123456789abcdef";
static const unsigned char S2[GW_KEY_SECRET_LEN] = "0123456789abcdef0123456789abcdeX";

#define gw_key_shape_ok(k) (gw_key_classify((k), S1) == GW_KEY_KEYED)

int main(void)
{
    char key[GW_KEY_LEN + 1], other[GW_KEY_LEN + 1];

    KVT_OK(gw_crc32("123456789", 9) == 0xCBF43926u, "crc32 matches the standard check value");
    char b[8];
    KVT_OK(gw_base62(0, 6, b) == 0 && strcmp(b, "000000") == 0, "base62 of zero is zero padded");
    KVT_OK(gw_base62(61, 2, b) == 0 && strcmp(b, "0z") == 0, "base62 uses 0-9A-Za-z");
    KVT_OK(gw_base62(0xFFFFFFFFu, 6, b) == 0, "every crc32 fits in six base62 characters");
    KVT_OK(gw_base62(62, 1, b) == -1, "base62 reports a value that does not fit");

    KVT_OK(gw_key_generate(S1, key) == 0, "key generation succeeds");
    KVT_OK(strlen(key) == GW_KEY_LEN && GW_KEY_LEN == 42, "generated key is 42 characters");
    KVT_OK(strncmp(key, "kv1_", 4) == 0, "generated key starts with kv1_");
    KVT_OK(gw_key_shape_ok(key), "generated key passes the shape check");
    KVT_OK(gw_key_generate(S1, other) == 0 && strcmp(key, other) != 0, "two generated keys differ");

    /* Every character of the alphabet shows up over many keys (no bias
     * so gross that a character is never drawn). */
    int seen[128] = { 0 }, all = 1;
    for (int i = 0; i < 400; i++) {
        gw_key_generate(S1, other);
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
    gw_key_checksum(S1, key + 4, sum);
    KVT_OK(memcmp(sum, key + 36, 6) == 0, "checksum is the last six characters");

    /* --- keyed: another secret's keys do not pass, and vice versa --- */
    KVT_EQ_INT(gw_key_classify(key, S1), GW_KEY_KEYED, "a key of this secret is KEYED");
    KVT_EQ_INT(gw_key_classify(key, S2), GW_KEY_BAD, "the same key under another secret is BAD");
    gw_key_generate(S2, other);
    KVT_EQ_INT(gw_key_classify(other, S1), GW_KEY_BAD, "a key minted with another secret is BAD");
    int forged_pass = 0;
    for (int i = 0; i < 2000; i++) {
        gw_key_generate(S2, other);
        forged_pass += gw_key_classify(other, S1) != GW_KEY_BAD;
    }
    KVT_EQ_INT(forged_pass, 0, "none of 2000 keys minted without the secret passes");
    char s1[7], s2[7];
    gw_key_checksum(S1, key + 4, s1);
    gw_key_checksum(S2, key + 4, s2);
    KVT_OK(strcmp(s1, s2) != 0, "the checksum depends on the secret");
    gw_key_checksum(S1, key + 4, s2);
    KVT_OK(strcmp(s1, s2) == 0, "the checksum is deterministic");
    KVT_OK(strspn(s1, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == 6,
           "the keyed checksum is six base62 characters");

    /* --- legacy: the CRC checksum anyone can compute --- */
    char legacy[GW_KEY_LEN + 1];
    memcpy(legacy, key, sizeof legacy);
    gw_key_checksum_crc(legacy + 4, legacy + 36);
    KVT_EQ_INT(gw_key_classify(legacy, S1), GW_KEY_CRC, "a key with the CRC checksum is CRC (legacy)");
    KVT_EQ_INT(gw_key_classify(legacy, S2), GW_KEY_CRC, "the CRC checksum does not depend on the secret");
    legacy[10] = legacy[10] == 'a' ? 'b' : 'a';
    KVT_EQ_INT(gw_key_classify(legacy, S1), GW_KEY_BAD, "a typo in a legacy key is BAD");
    KVT_EQ_INT(gw_key_classify(NULL, S1), GW_KEY_BAD, "NULL is BAD");

    /* --- the legacy set --- */
    gw_keyset_t set;
    gw_keyset_init(&set);
    unsigned char d[32], d2[32];
    gw_key_digest(key, d);
    KVT_OK(!gw_keyset_has(&set, d), "an empty set has nothing");
    for (int i = 0; i < 300; i++) {
        char k[GW_KEY_LEN + 1];
        gw_key_generate(S1, k);
        gw_key_digest(k, d2);
        gw_keyset_add(&set, d2);
    }
    gw_keyset_add(&set, d);
    gw_keyset_add(&set, d);
    gw_keyset_seal(&set);
    KVT_OK(gw_keyset_has(&set, d), "an added digest is found among 300 others");
    gw_key_digest(other, d2);
    KVT_OK(!gw_keyset_has(&set, d2), "a digest never added is not found");
    KVT_EQ_INT((long long)set.n, 302, "the set holds what was added");
    gw_keyset_cleanup(&set);
    KVT_OK(set.n == 0 && set.d == NULL, "cleanup empties the set");
    char hx[65];
    unsigned char back[32];
    gw_key_hash_hex(key, hx);
    KVT_OK(gw_key_unhex(hx, back) == 0 && memcmp(back, d, 32) == 0, "unhex reverses the hex hash");
    KVT_OK(gw_key_unhex("abc", back) == -1 && gw_key_unhex(NULL, back) == -1,
           "unhex refuses short or missing text");
    hx[5] = 'g';
    KVT_OK(gw_key_unhex(hx, back) == -1, "unhex refuses a non-hex character");

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
