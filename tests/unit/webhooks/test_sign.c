/*
 * test_sign.c -- unit tests of services/webhooks/sign.c: the hex
 * X-KaiVox-Signature (RFC 4231 HMAC-SHA256 vectors), the Standard Webhooks
 * signature (the specification's published test vector), base64 and
 * secret generation.  Each check is named after the behaviour it proves.
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/webhooks/sign.h"

static void test_hex(void)
{
    char hex[65];
    /* RFC 4231 test case 2. */
    hook_sign_hex("Jefe", "what do ya want for nothing?", 28, hex);
    KVT_EQ_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
               "hex signature matches the RFC 4231 HMAC-SHA256 vector");
    /* The key is the secret string as shown, prefix included. */
    char a[65], b[65];
    hook_sign_hex("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "{}", 2, a);
    hook_sign_hex("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "{}", 2, b);
    KVT_OK(strcmp(a, b) != 0, "hex signature is keyed with the whole secret string, whsec_ included");
    KVT_EQ_INT(strlen(a), 64, "hex signature is 64 hex digits");
    /* Exact bytes: one changed byte changes the signature. */
    hook_sign_hex("k", "{\"a\":1}", 7, a);
    hook_sign_hex("k", "{\"a\":2}", 7, b);
    KVT_OK(strcmp(a, b) != 0, "hex signature covers every body byte");
    /* Embedded NUL bytes are signed too (length, not strlen). */
    hook_sign_hex("k", "a\0b", 3, a);
    hook_sign_hex("k", "a\0c", 3, b);
    KVT_OK(strcmp(a, b) != 0, "hex signature signs the given length, not up to a NUL");
}

static void test_std(void)
{
    char sig[128];
    const char *body = "{\"test\": 2432232314}";
    int rc = hook_sign_std("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                           1614265330, body, strlen(body), sig, sizeof sig);
    KVT_EQ_INT(rc, 0, "standard signature of the spec vector succeeds");
    KVT_EQ_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
               "standard signature reproduces the Standard Webhooks published vector");
    rc = hook_sign_std("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                       1614265330, body, strlen(body), sig, sizeof sig);
    KVT_EQ_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
               "standard signature accepts a secret without the whsec_ prefix");
    rc = hook_sign_std("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                       1614265331, body, strlen(body), sig, sizeof sig);
    KVT_OK(rc == 0 && strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") != 0,
           "standard signature covers the timestamp");
    rc = hook_sign_std("whsec_not*base64!", "m", 1, "{}", 2, sig, sizeof sig);
    KVT_EQ_INT(rc, -1, "standard signature refuses a secret that is not base64");
    rc = hook_sign_std("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "{}", 2, sig, 20);
    KVT_EQ_INT(rc, -1, "standard signature refuses a too small output buffer");
}

/* During a rotation's overlap webhook-signature carries one entry per
 * secret, the old one first, each verifiable alone. */
static void test_std_header(void)
{
    const char *body = "{\"test\": 2432232314}";
    const char *cur = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const char *old = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    char hdr[HOOK_SIG_HEADER_MAX], one[64];
    KVT_EQ_INT(hook_sign_std_header(cur, NULL, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                    strlen(body), hdr), 0, "signature header without rotation");
    KVT_EQ_STR(hdr, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
               "without rotation: one entry, the published vector");
    KVT_EQ_INT(hook_sign_std_header(cur, old, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                    strlen(body), hdr), 0, "signature header during a rotation");
    hook_sign_std(old, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body), one,
                  sizeof one);
    char expect[HOOK_SIG_HEADER_MAX];
    snprintf(expect, sizeof expect, "%s v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", one);
    KVT_EQ_STR(hdr, expect, "during a rotation: 'v1,<old> v1,<new>', space-separated");
    KVT_OK(strcmp(one, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") != 0,
           "the two entries differ");
    KVT_EQ_INT(hook_sign_std_header(cur, "whsec_not*base64!", "m", 1, "{}", 2, hdr), 0,
               "an unusable previous secret is left out");
    KVT_OK(strchr(hdr, ' ') == NULL, "leaving one entry");
    KVT_EQ_INT(hook_sign_std_header("whsec_not*base64!", old, "m", 1, "{}", 2, hdr), -1,
               "an unusable current secret is an error");
}

static void test_b64(void)
{
    unsigned char raw[64];
    char enc[64];
    KVT_EQ_INT(hook_b64_decode("Zm9vYg==", raw, sizeof raw), 4, "base64 decode counts padding out");
    KVT_OK(memcmp(raw, "foob", 4) == 0, "base64 decode gives the bytes");
    KVT_EQ_INT(hook_b64_decode("Zm9vYmE=", raw, sizeof raw), 5, "base64 decode with one pad");
    KVT_EQ_INT(hook_b64_decode("Zm9vYmFy", raw, sizeof raw), 6, "base64 decode without pad");
    KVT_EQ_INT(hook_b64_decode("Zm9vY", raw, sizeof raw), -1, "base64 decode refuses a bad length");
    KVT_EQ_INT(hook_b64_decode("Zm9v YmFy", raw, sizeof raw), -1, "base64 decode refuses spaces");
    KVT_EQ_INT(hook_b64_decode("", raw, sizeof raw), -1, "base64 decode refuses empty input");
    KVT_EQ_INT(hook_b64_encode("foob", 4, enc, sizeof enc), 8, "base64 encode length");
    KVT_EQ_STR(enc, "Zm9vYg==", "base64 encode pads");
    KVT_EQ_INT(hook_b64_encode("foob", 4, enc, 8), -1, "base64 encode refuses a small buffer");
}

static void test_secret(void)
{
    char a[HOOK_SECRET_MAX], b[HOOK_SECRET_MAX];
    unsigned char raw[64];
    KVT_EQ_INT(hook_secret_new(a), 0, "secret generation succeeds");
    hook_secret_new(b);
    KVT_OK(strncmp(a, "whsec_", 6) == 0, "secret has the whsec_ prefix");
    KVT_EQ_INT(hook_b64_decode(a + 6, raw, sizeof raw), 32, "secret carries 32 random bytes in base64");
    KVT_OK(strcmp(a, b) != 0, "two secrets differ");
    char sig[128];
    KVT_EQ_INT(hook_sign_std(a, "1", 1, "{}", 2, sig, sizeof sig), 0,
               "a generated secret is usable for the standard signature");
}

int main(void)
{
    test_hex();
    test_std();
    test_std_header();
    test_b64();
    test_secret();
    return kvt_done();
}
