/*
 * gw_password.h -- console passwords and tokens: Argon2id hashing, the
 * password rule, random tokens and their digests, the CSRF token of a
 * session.  Pure functions (no I/O but the random source); the hashing ones
 * take tens of milliseconds and must run on a console worker (gw_work.h),
 * never on the event loop.
 *
 * Argon2id (RFC 9106) from Debian's libargon2, with the parameters OWASP's
 * Password Storage Cheat Sheet gives for it: m = 19 MiB (19456 KiB), t = 2
 * passes, p = 1 lane, a 16-byte random salt, a 32-byte tag.  The stored
 * text is the standard encoding ($argon2id$v=19$m=19456,t=2,p=1$salt$tag),
 * which carries its own parameters, so raising them later leaves existing
 * hashes verifiable.  A sign-in for an e-mail address that has no password
 * still runs one verification (against a hash of a random password made at
 * start-up), so its timing does not tell which addresses exist.
 */
#ifndef GW_PASSWORD_H
#define GW_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#define GW_PW_T_COST     2
#define GW_PW_M_COST_KIB 19456
#define GW_PW_LANES      1
#define GW_PW_SALT_LEN   16
#define GW_PW_TAG_LEN    32
#define GW_PW_ENCODED_MAX 128    /* the encoding is ~97 characters */

#define GW_PW_MIN_CHARS  10      /* the password rule, in characters */
#define GW_PW_MAX_CHARS  256

/* Random tokens: 32 random bytes in base64url without padding. */
#define GW_TOKEN_LEN     43

/* The message saying what is wrong with password (NULL when it passes the
 * rule: GW_PW_MIN_CHARS..GW_PW_MAX_CHARS characters of valid UTF-8, no
 * control characters).  Static string. */
const char *gw_password_problem(const char *password);

/* Hashes password into out (NUL-terminated).  0, or -1 when the random
 * source or libargon2 fails (out is then ""). */
int gw_password_hash(const char *password, char out[GW_PW_ENCODED_MAX]);

/* 1 when password matches encoded (an Argon2id encoding; the comparison is
 * constant-time), 0 otherwise (also for a malformed encoding).  encoded
 * NULL: verifies against a dummy hash and returns 0, taking as long as a
 * real verification. */
int gw_password_verify(const char *encoded, const char *password);

/* Makes the dummy hash of gw_password_verify(NULL, ...).  Call once at
 * start-up, before any worker runs.  0 or -1. */
int gw_password_init(void);

/* A new random token into out[GW_TOKEN_LEN + 1].  0, or -1 when the random
 * source fails. */
int gw_token_new(char out[GW_TOKEN_LEN + 1]);

/* 1 when s is exactly GW_TOKEN_LEN characters of the base64url alphabet. */
int gw_token_shape_ok(const char *s);

/* SHA-256 of s, as 64 lowercase hex characters (what the database keeps of
 * a token; also the account key of the sign-in throttle). */
void gw_sha256_hex(const char *s, char out[65]);

/* The CSRF token of a session: base64url(HMAC-SHA256(secret, "kaivox-csrf:"
 * || session token)), GW_TOKEN_LEN characters.  Every gateway instance
 * derives the same one from the shared key secret, and it changes with the
 * session; nothing is stored. */
void gw_csrf_token(const unsigned char *secret, size_t secret_len, const char *session_token,
                   char out[GW_TOKEN_LEN + 1]);

/* Constant-time equality of two NUL-terminated strings (lengths may leak). */
int gw_str_equal_ct(const char *a, const char *b);

#endif
