/*
 * sign.h -- webhook secrets and signatures (pure: no I/O, no globals).
 *
 * Two signatures go with every delivery, over the same exact body bytes:
 *   X-KaiVox-Signature: hex HMAC-SHA256(key = the secret string exactly as
 *     shown to the user, "whsec_..." included, message = body): what
 *     `openssl dgst -sha256 -hmac "$SECRET"` computes;
 *   webhook-signature: "v1," + base64 HMAC-SHA256(key = base64-decoded bytes
 *     after "whsec_", message = "<webhook-id>.<webhook-timestamp>.<body>"):
 *     the Standard Webhooks scheme (standardwebhooks.com).
 */
#ifndef HOOK_SIGN_H
#define HOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* Length of a secret string with its NUL: "whsec_" + base64 of 32 bytes. */
#define HOOK_SECRET_BYTES  32
#define HOOK_SECRET_MAX    64

/* Writes a fresh secret "whsec_" + base64(32 random bytes) into out.
 * 0, or -1 when the system's random generator fails. */
int hook_secret_new(char out[HOOK_SECRET_MAX]);

/* Hex HMAC-SHA256 of body[0..len) keyed with the secret string's bytes.
 * out gets 64 lowercase hex digits and a NUL. */
void hook_sign_hex(const char *secret, const void *body, size_t len, char out[65]);

/* The Standard Webhooks signature "v1,<base64>" of msg_id, timestamp and
 * body into out (at least 48 bytes).  The key is the base64 decoding of the
 * secret after its "whsec_" prefix (a secret without the prefix is decoded
 * whole).  0, or -1 when the secret is not valid base64 or out too small. */
int hook_sign_std(const char *secret, const char *msg_id, int64_t timestamp,
                  const void *body, size_t len, char *out, size_t out_size);

/* The webhook-signature header value of a delivery: "v1,<sig>" keyed with
 * secret, or during a rotation's overlap (previous not NULL)
 * "v1,<sig with previous> v1,<sig with secret>" -- the space-separated
 * list of the Standard Webhooks specification, which a receiver accepts
 * when any entry verifies with the key it holds.  out needs
 * HOOK_SIG_HEADER_MAX bytes.  0, or -1 when secret is unusable (a previous
 * secret that is unusable is left out). */
#define HOOK_SIG_HEADER_MAX 112
int hook_sign_std_header(const char *secret, const char *previous, const char *msg_id,
                         int64_t timestamp, const void *body, size_t len,
                         char out[HOOK_SIG_HEADER_MAX]);

/* Standard base64 (with padding).  encode: out_size >= 4*ceil(len/3)+1;
 * returns the length written or -1.  decode: accepts padding, no
 * whitespace; returns the number of bytes or -1 when s is not base64 or out
 * too small. */
int hook_b64_encode(const void *in, size_t len, char *out, size_t out_size);
int hook_b64_decode(const char *s, unsigned char *out, size_t out_size);

#endif
