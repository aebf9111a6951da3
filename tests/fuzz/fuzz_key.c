/*
 * fuzz_key.c -- the API key as a client presents it (Authorization: Bearer,
 * X-API-Key, ?api_key=): gw_key_classify on any bytes, under a fixed key
 * secret, and the helpers that see stored or presented keys
 * (gw_key_unhex, gw_key_prefix, gw_key_hash_hex).
 *
 * Properties: a key classifies KEYED or CRC only when it has the exact
 * shape (kv1_ + 38 base62 characters) and the matching checksum; any
 * 32 base62 characters completed with the keyed checksum classify KEYED
 * and with the CRC checksum CRC (unless both checksums coincide); a
 * changed checksum character never classifies KEYED.
 */
#include "fuzz.h"

#include "../../services/gateway/gw_keys.h"

static const unsigned char s_secret[GW_KEY_SECRET_LEN] = {
    0x6b, 0x61, 0x69, 0x76, 0x6f, 0x78, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6b, 0x65, 0x79,
    0x2d, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x2d, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36,
    0x37, 0x38 };

static int s_b62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *key = fuzz_str(data, size);

    /* as presented */
    int kind = gw_key_classify(key, s_secret);
    FUZZ_CHECK(kind == GW_KEY_BAD || kind == GW_KEY_KEYED || kind == GW_KEY_CRC);
    if (kind != GW_KEY_BAD) {
        FUZZ_CHECK(strlen(key) == GW_KEY_LEN && memcmp(key, GW_KEY_TAG, GW_KEY_TAG_LEN) == 0);
        for (int i = GW_KEY_TAG_LEN; i < GW_KEY_LEN; i++)
            FUZZ_CHECK(s_b62(key[i]));
    }
    char prefix[GW_KEY_PREFIX_LEN + 1], hex[65];
    gw_key_prefix(key, prefix);
    FUZZ_CHECK(strlen(prefix) <= GW_KEY_PREFIX_LEN && strncmp(prefix, key, strlen(prefix)) == 0);
    gw_key_hash_hex(key, hex);
    unsigned char d1[32], d2[32];
    FUZZ_CHECK(gw_key_unhex(hex, d1) == 0);
    gw_key_digest(key, d2);
    FUZZ_CHECK(memcmp(d1, d2, 32) == 0);
    (void)gw_key_unhex(key, d1);

    /* the random part completed with each checksum */
    if (size >= GW_KEY_RANDOM_LEN) {
        char rnd[GW_KEY_RANDOM_LEN + 1], made[GW_KEY_LEN + 1];
        for (int i = 0; i < GW_KEY_RANDOM_LEN; i++) {
            static const char a[] =
                "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
            rnd[i] = a[data[i] % 62];
        }
        rnd[GW_KEY_RANDOM_LEN] = '\0';
        char keyed[GW_KEY_CHECK_LEN + 1], crc[GW_KEY_CHECK_LEN + 1];
        gw_key_checksum(s_secret, rnd, keyed);
        gw_key_checksum_crc(rnd, crc);
        snprintf(made, sizeof made, "%s%s%s", GW_KEY_TAG, rnd, keyed);
        FUZZ_CHECK(gw_key_classify(made, s_secret) == GW_KEY_KEYED);
        snprintf(made, sizeof made, "%s%s%s", GW_KEY_TAG, rnd, crc);
        FUZZ_CHECK(gw_key_classify(made, s_secret) ==
                   (strcmp(keyed, crc) == 0 ? GW_KEY_KEYED : GW_KEY_CRC));
        /* one checksum character changed: never keyed */
        size_t pos = size > GW_KEY_RANDOM_LEN ? data[GW_KEY_RANDOM_LEN] % GW_KEY_CHECK_LEN : 0;
        snprintf(made, sizeof made, "%s%s%s", GW_KEY_TAG, rnd, keyed);
        char *c = &made[GW_KEY_TAG_LEN + GW_KEY_RANDOM_LEN + pos];
        *c = *c == 'z' ? '0' : (char)(*c == '9' ? 'A' : *c == 'Z' ? 'a' : *c + 1);
        FUZZ_CHECK(gw_key_classify(made, s_secret) != GW_KEY_KEYED);
    }
    free(key);
    return 0;
}
