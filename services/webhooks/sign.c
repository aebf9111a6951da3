/*
 * sign.c -- webhook secrets, the hex X-KaiVox-Signature and the Standard
 * Webhooks signature.  Pure functions over OpenSSL's HMAC; the deliverer
 * calls them once per attempt on the stored body bytes, and the unit tests
 * check them against known vectors (tests/unit/webhooks/test_sign.c).
 */
#include "sign.h"
#include "kv_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define S_PREFIX "whsec_"
#define S_PREFIX_LEN 6

int hook_b64_encode(const void *in, size_t len, char *out, size_t out_size)
{
    size_t need = 4 * ((len + 2) / 3) + 1;
    if (out_size < need || len > (size_t)1 << 30)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int hook_b64_decode(const char *s, unsigned char *out, size_t out_size)
{
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0 || n > (size_t)1 << 30)
        return -1;
    size_t pad = 0;
    if (s[n - 1] == '=')
        pad++;
    if (s[n - 2] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return -1;
    }
    size_t raw = n / 4 * 3;
    if (out_size < raw)
        return -1;
    int got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (got < 0)
        return -1;
    return got - (int)pad;   /* EVP_DecodeBlock counts the padding bytes */
}

int hook_secret_new(char out[HOOK_SECRET_MAX])
{
    unsigned char raw[HOOK_SECRET_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    memcpy(out, S_PREFIX, S_PREFIX_LEN);
    if (hook_b64_encode(raw, sizeof raw, out + S_PREFIX_LEN,
                        HOOK_SECRET_MAX - S_PREFIX_LEN) < 0)
        return -1;
    return 0;
}

void hook_sign_hex(const char *secret, const void *body, size_t len, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    static const char hex[] = "0123456789abcdef";

    HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, mac, &mac_len);
    for (unsigned int i = 0; i < mac_len && i < 32; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
}

int hook_sign_std(const char *secret, const char *msg_id, int64_t timestamp,
                  const void *body, size_t len, char *out, size_t out_size)
{
    unsigned char key[256];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char ts[24];
    char *msg = NULL;
    int rc = -1;

    const char *b64 = strncmp(secret, S_PREFIX, S_PREFIX_LEN) == 0
                      ? secret + S_PREFIX_LEN : secret;
    int key_len = hook_b64_decode(b64, key, sizeof key);
    if (key_len <= 0 || out_size < 48)
        goto out;
    int ts_len = snprintf(ts, sizeof ts, "%lld", (long long)timestamp);

    /* The signed content "<id>.<ts>.<body>", assembled once. */
    size_t id_len = strlen(msg_id);
    size_t total = id_len + 1 + (size_t)ts_len + 1 + len;
    msg = kv_malloc(total);
    memcpy(msg, msg_id, id_len);
    msg[id_len] = '.';
    memcpy(msg + id_len + 1, ts, (size_t)ts_len);
    msg[id_len + 1 + ts_len] = '.';
    memcpy(msg + id_len + 2 + ts_len, body, len);
    if (!HMAC(EVP_sha256(), key, key_len, (unsigned char *)msg, total, mac, &mac_len))
        goto out;
    memcpy(out, "v1,", 3);
    if (hook_b64_encode(mac, mac_len, out + 3, out_size - 3) < 0)
        goto out;
    rc = 0;
out:
    free(msg);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int hook_sign_std_header(const char *secret, const char *previous, const char *msg_id,
                         int64_t timestamp, const void *body, size_t len,
                         char out[HOOK_SIG_HEADER_MAX])
{
    char cur[56], old[56];
    if (hook_sign_std(secret, msg_id, timestamp, body, len, cur, sizeof cur) != 0)
        return -1;
    if (previous && hook_sign_std(previous, msg_id, timestamp, body, len, old, sizeof old) == 0)
        snprintf(out, HOOK_SIG_HEADER_MAX, "%s %s", old, cur);
    else
        snprintf(out, HOOK_SIG_HEADER_MAX, "%s", cur);
    return 0;
}
