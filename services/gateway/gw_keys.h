/*
 * gw_keys.h -- the shape of KaiVox API keys: generation, checksums, hashing,
 * and the set of legacy keys.
 *
 * A key is "kv1_" + 32 random base62 characters + 6 base62 characters of
 * checksum, 42 characters in all, like GitHub's tokens.  The checksum of a
 * key made by this version is *keyed*: HMAC-SHA256 of the random part under
 * the deployment's key secret (32 random bytes every gateway reads from the
 * database at start-up, see gw_db_key_secret), truncated to 64 bits and
 * written in base62 (mod 62^6).  Only the server can compute it, so a key a
 * client made up fails the check in microseconds, without any lookup or
 * cache entry: minting keys that "look right" is no longer possible.
 *
 * Keys made before the keyed checksum carry CRC-32 of the random part
 * instead (public, so anyone can compute it).  Such a key is looked up only
 * when its SHA-256 is in the legacy set: the hashes of the rows the
 * migration marked `legacy` (sql/gateway/002_keyed_checksum.sql).  No new
 * legacy key can be made by this version, so the set never grows.
 *
 * At rest only the SHA-256 of the whole key (hex) and its first 12
 * characters (the "prefix", for people to recognise it) are stored.  Pure
 * functions, no I/O except the random source.
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
#define GW_KEY_SECRET_LEN   32

/* What a presented key is (gw_key_classify). */
enum {
    GW_KEY_BAD = 0,          /* wrong shape, or no checksum matches */
    GW_KEY_KEYED = 1,        /* the keyed checksum matches */
    GW_KEY_CRC = 2,          /* only the legacy CRC-32 checksum matches */
};

/* CRC-32 (IEEE 802.3, the zlib one) of data[0..len). */
uint32_t gw_crc32(const void *data, size_t len);

/* Writes v in base62 (0-9A-Za-z), left padded with '0' to exactly width
 * characters, into out[width + 1].  Returns 0, or -1 when v does not fit. */
int gw_base62(uint64_t v, int width, char *out);

/* The keyed checksum of the random part rnd[0..GW_KEY_RANDOM_LEN) under
 * secret into out[7]. */
void gw_key_checksum(const unsigned char secret[GW_KEY_SECRET_LEN], const char *rnd,
                     char out[GW_KEY_CHECK_LEN + 1]);
/* The legacy (CRC-32) checksum of rnd into out[7]. */
void gw_key_checksum_crc(const char *rnd, char out[GW_KEY_CHECK_LEN + 1]);

/* Makes a new key with the keyed checksum into out[GW_KEY_LEN + 1], every
 * random character uniformly distributed (kv_random_bytes: getrandom(2),
 * rejection sampling).  0, or -1 when the random source fails. */
int gw_key_generate(const unsigned char secret[GW_KEY_SECRET_LEN], char out[GW_KEY_LEN + 1]);

/* GW_KEY_KEYED, GW_KEY_CRC or GW_KEY_BAD for key (NUL-terminated, may be
 * NULL): prefix, length, alphabet, then the checksums, compared in
 * constant time.  Never touches a database. */
int gw_key_classify(const char *key, const unsigned char secret[GW_KEY_SECRET_LEN]);

/* SHA-256 of the key: raw 32 bytes, and as 64 lowercase hex characters. */
void gw_key_digest(const char *key, unsigned char out[32]);
void gw_key_hash_hex(const char *key, char out[65]);
/* 64 hex characters (either case) into 32 bytes.  0, or -1 when hex is not
 * exactly that. */
int gw_key_unhex(const char *hex, unsigned char out[32]);

/* The displayable prefix (first GW_KEY_PREFIX_LEN characters) into out[13]. */
void gw_key_prefix(const char *key, char out[GW_KEY_PREFIX_LEN + 1]);

/* A key's scopes, NULL-terminated, the default first: "full" (every route)
 * and "read" (GET and HEAD only; 403 on writes), the values of
 * api_keys.scope (sql/gateway/003_key_scope.sql).  Fixed when the key is
 * made (kaivoxctl/admin and the console alike), never changed. */
extern const char *const gw_key_scopes[];

/* ---- the legacy set ----------------------------------------------------- */

/* A set of SHA-256 digests, sorted once filled.  Stack struct:
 * gw_keyset_init / gw_keyset_cleanup. */
typedef struct {
    unsigned char (*d)[32];  /* owned; n used of cap */
    size_t n, cap;
    int sorted;              /* gw_keyset_seal ran since the last add */
} gw_keyset_t;

void gw_keyset_init(gw_keyset_t *s);
void gw_keyset_cleanup(gw_keyset_t *s);
/* Adds a digest (duplicates are harmless). */
void gw_keyset_add(gw_keyset_t *s, const unsigned char d[32]);
/* Sorts the set; call after the last add, before gw_keyset_has. */
void gw_keyset_seal(gw_keyset_t *s);
/* 1 when d is in the (sealed) set. */
int gw_keyset_has(const gw_keyset_t *s, const unsigned char d[32]);

#endif
