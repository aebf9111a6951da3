/*
 * test_crypto.c -- unit tests of shared/kv_crypto.c: SHA-256 and
 * HMAC-SHA256 give the published test vectors (FIPS 180-2, RFC 4231) and
 * the same bytes as OpenSSL for every message and key length around the
 * block boundaries (the keys hashed before this change must still match);
 * random bytes fill the whole buffer, differ call to call, and cover every
 * byte value.  Each check is named after the behaviour it proves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "../../lib/kvt.h"
#include "kv_crypto.h"

static void s_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void test_sha256_vectors(void)
{
    unsigned char d[KV_SHA256_LEN];
    char hex[2 * KV_SHA256_LEN + 1];
    kv_sha256(NULL, 0, d);
    s_hex(d, sizeof d, hex);
    KVT_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "SHA-256 of the empty message (FIPS 180-2)");
    kv_sha256("abc", 3, d);
    s_hex(d, sizeof d, hex);
    KVT_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
               "SHA-256 of \"abc\" (FIPS 180-2)");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    kv_sha256(two, strlen(two), d);
    s_hex(d, sizeof d, hex);
    KVT_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
               "SHA-256 of the two-block message (FIPS 180-2)");
}

static void test_hmac_vectors(void)
{
    unsigned char mac[KV_SHA256_LEN], key[131];
    char hex[2 * KV_SHA256_LEN + 1];

    memset(key, 0x0b, 20);
    kv_hmac_sha256(key, 20, "Hi There", 8, mac);
    s_hex(mac, sizeof mac, hex);
    KVT_EQ_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
               "HMAC-SHA256, RFC 4231 test case 1 (20-byte key)");

    kv_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    s_hex(mac, sizeof mac, hex);
    KVT_EQ_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
               "HMAC-SHA256, RFC 4231 test case 2 (key shorter than the output)");

    memset(key, 0xaa, sizeof key);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    kv_hmac_sha256(key, 131, m6, strlen(m6), mac);
    s_hex(mac, sizeof mac, hex);
    KVT_EQ_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
               "HMAC-SHA256, RFC 4231 test case 6 (131-byte key: hashed first)");
}

/* Every message length 0..300 and key length 0..200 (steps over the
 * 64-byte block and its padding boundary) against OpenSSL's one-shot
 * functions, which produced every digest stored before this module. */
static void test_same_as_openssl(void)
{
    unsigned char msg[301], key[201];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 7 + 3);
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)(i * 13 + 5);
    int sha_bad = 0, mac_bad = 0;
    for (size_t n = 0; n < sizeof msg; n++) {
        unsigned char a[KV_SHA256_LEN], b[SHA256_DIGEST_LENGTH];
        kv_sha256(msg, n, a);
        SHA256(msg, n, b);
        sha_bad += memcmp(a, b, sizeof a) != 0;
    }
    for (size_t k = 0; k < sizeof key; k += 3) {
        for (size_t n = 0; n < sizeof msg; n += 17) {
            unsigned char a[KV_SHA256_LEN], b[EVP_MAX_MD_SIZE];
            unsigned int blen = 0;
            kv_hmac_sha256(key, k, msg, n, a);
            HMAC(EVP_sha256(), key, (int)k, msg, n, b, &blen);
            mac_bad += blen != KV_SHA256_LEN || memcmp(a, b, sizeof a) != 0;
        }
    }
    KVT_EQ_INT(sha_bad, 0, "SHA-256 equals OpenSSL's for every length 0..300");
    KVT_EQ_INT(mac_bad, 0, "HMAC-SHA256 equals OpenSSL's for keys 0..200 and messages 0..300 bytes");
}

static void test_random(void)
{
    enum { N = 1 << 20 };
    unsigned char *a = calloc(N, 1), *b = calloc(N, 1);
    size_t seen[256] = { 0 };
    KVT_OK(a && b, "buffers for the random test");
    if (!a || !b)
        goto out;
    KVT_OK(kv_random_bytes(a, N) == 0 && kv_random_bytes(b, N) == 0,
           "1 MiB of random bytes twice (more than one getrandom call may return)");
    for (size_t i = 0; i < N; i++)
        seen[a[i]]++;
    int missing = 0, tail_zero = 1;
    for (int v = 0; v < 256; v++)
        missing += seen[v] == 0;
    for (size_t i = N - 64; i < N; i++)
        tail_zero &= a[i] == 0;
    KVT_EQ_INT(missing, 0, "every byte value appears in 1 MiB of random bytes");
    KVT_OK(!tail_zero, "the buffer is filled to its last byte");
    KVT_OK(memcmp(a, b, N) != 0, "two draws differ");
    KVT_OK(kv_random_bytes(a, 0) == 0, "zero bytes is a successful no-op");
out:
    free(a);
    free(b);
}

int main(void)
{
    test_sha256_vectors();
    test_hmac_vectors();
    test_same_as_openssl();
    test_random();
    return kvt_done();
}
