/*
 * kv_crypto.h -- SHA-256, HMAC-SHA256 and random bytes for the hot paths.
 *
 * SHA-256 and HMAC-SHA256 are libsodium's (already loaded by libzmq for
 * CURVE), random bytes the kernel's getrandom(2).  Not OpenSSL's: in
 * OpenSSL 3 the first EVP call (SHA256(), HMAC(), RAND_bytes) initialises
 * the provider machinery and touches 2 MB of libcrypto that then stay
 * resident in every process (measured, docs/architecture.md
 * "Performance"), for a hash of a few dozen bytes.  Nothing here is a
 * primitive of our own: these are thin wrappers with one contract each.
 * OpenSSL's pure helpers (CRYPTO_memcmp, OPENSSL_cleanse, EVP_EncodeBlock)
 * initialise nothing and stay in use where they are.
 */
#ifndef KV_CRYPTO_H
#define KV_CRYPTO_H

#include <stddef.h>

#define KV_SHA256_LEN 32

/* out = SHA-256(data[0..n)).  data may be NULL when n == 0. */
void kv_sha256(const void *data, size_t n, unsigned char out[KV_SHA256_LEN]);

/* out = HMAC-SHA256(key[0..key_len), msg[0..n)), RFC 2104: any key length
 * (a key longer than the block is hashed first). */
void kv_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t n,
                    unsigned char out[KV_SHA256_LEN]);

/* Fills buf[0..n) with bytes from the kernel's CSPRNG (getrandom(2),
 * blocking only until the pool is first initialised at boot; retried on
 * EINTR and short reads).  0, or -1 (buf unspecified) if the kernel
 * refuses. */
int kv_random_bytes(void *buf, size_t n);

#endif
