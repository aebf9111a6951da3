/*
 * kv_crypto.c -- SHA-256, HMAC-SHA256 and random bytes (see kv_crypto.h).
 *
 * libsodium needs sodium_init() before its random functions; the hash and
 * MAC functions used here need no initialisation (they pick no CPU-specific
 * implementation), so no call here depends on anyone having called it.
 */
#include "kv_crypto.h"

#include <errno.h>
#include <sodium.h>
#include <sys/random.h>

void kv_sha256(const void *data, size_t n, unsigned char out[KV_SHA256_LEN])
{
    static const unsigned char none;
    crypto_hash_sha256(out, n ? data : &none, n);
}

void kv_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t n,
                    unsigned char out[KV_SHA256_LEN])
{
    static const unsigned char none;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key_len ? key : &none, key_len);
    crypto_auth_hmacsha256_update(&st, n ? msg : &none, n);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

int kv_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}
