/*
 * gw_keys.h -- the shape of KaiVox API keys: generation, checksum, hashing.
 *
 * A key is "kv1_" + 32 random base62 characters + 6 base62 characters of
 * checksum (CRC-32 of the random part, base62, zero padded), 42 characters
 * in all, like GitHub's tokens: a typo or a truncated copy is refused
 * without a database round trip.  At rest only the SHA-256 of the whole key
 * (hex) and its first 12 characters (the "prefix", for people to recognise
 * it) are stored.  Pure functions, no I/O except the random source.
 */
#ifndef GW_KEYS_H
#define GW_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define GW_KEY_TAG          "kv1_"
#define GW_KEY_TAG_LEN      4
#define GW_KEY_RANDOM_LEN   32
#define GW_KEY_CHECK_LEN    6
#define GW_KEY_LEN          (GW_KEY_TAG_LEN + GW_KEY_RANDOM_LEN + GW_KEY_CHECK_LEN)  /* 42 */
#define GW_KEY_PREFIX_LEN   12

/* CRC-32 (IEEE 802.3, the zlib one) of data[0..len). */
uint32_t gw_crc32(const void *data, size_t len);

/* Writes v in base62 (0-9A-Za-z), left padded with '0' to exactly width
 * characters, into out[width + 1].  Returns 0, or -1 when v does not fit. */
int gw_base62(uint64_t v, int width, char *out);

/* The checksum of the random part rnd[0..GW_KEY_RANDOM_LEN) into out[7]. */
void gw_key_checksum(const char *rnd, char out[GW_KEY_CHECK_LEN + 1]);

/* Makes a new key into out[GW_KEY_LEN + 1] from OpenSSL's RAND_bytes,
 * every character uniformly distributed (rejection sampling).  0, or -1
 * when the random source fails. */
int gw_key_generate(char out[GW_KEY_LEN + 1]);

/* True (1) when key (NUL-terminated, may be NULL) has the right prefix,
 * length, alphabet and checksum; 0 otherwise.  Never touches a database. */
int gw_key_shape_ok(const char *key);

/* SHA-256 of the key: raw 32 bytes, and as 64 lowercase hex characters. */
void gw_key_digest(const char *key, unsigned char out[32]);
void gw_key_hash_hex(const char *key, char out[65]);

/* The displayable prefix (first GW_KEY_PREFIX_LEN characters) into out[13]. */
void gw_key_prefix(const char *key, char out[GW_KEY_PREFIX_LEN + 1]);

#endif
