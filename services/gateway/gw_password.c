/*
 * gw_password.c -- console passwords and tokens (see gw_password.h).
 */
#include "gw_password.h"

#include <string.h>
#include <argon2.h>
#include <openssl/crypto.h>

#include "kv_crypto.h"
#include "kv_valid.h"

static char s_dummy[GW_PW_ENCODED_MAX];

static const char s_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding of 32 bytes into out[44]. */
static void s_b64url32(const unsigned char in[32], char out[GW_TOKEN_LEN + 1])
{
    size_t o = 0;
    for (size_t i = 0; i < 32; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < 32)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < 32)
            v |= in[i + 2];
        out[o++] = s_b64url[(v >> 18) & 63];
        out[o++] = s_b64url[(v >> 12) & 63];
        if (i + 1 < 32)
            out[o++] = s_b64url[(v >> 6) & 63];
        if (i + 2 < 32)
            out[o++] = s_b64url[v & 63];
    }
    out[o] = '\0';
}

const char *gw_password_problem(const char *password)
{
    static const kv_text_rule_t rule = { GW_PW_MIN_CHARS, GW_PW_MAX_CHARS, KV_TEXT_LINE, 0 };
    if (!password)
        return "The password field is required.";
    switch (kv_text_check(password, &rule)) {
    case 0:
        return NULL;
    case KV_TEXT_ESHORT:
        return "The password must be at least 10 characters.";
    case KV_TEXT_ELONG:
        return "The password may not be greater than 256 characters.";
    default:
        return "The password may not contain control characters.";
    }
}

int gw_password_hash(const char *password, char out[GW_PW_ENCODED_MAX])
{
    unsigned char salt[GW_PW_SALT_LEN];
    out[0] = '\0';
    if (kv_random_bytes(salt, sizeof salt) != 0)
        return -1;
    int rc = argon2id_hash_encoded(GW_PW_T_COST, GW_PW_M_COST_KIB, GW_PW_LANES, password,
                                   strlen(password), salt, sizeof salt, GW_PW_TAG_LEN, out,
                                   GW_PW_ENCODED_MAX);
    OPENSSL_cleanse(salt, sizeof salt);
    if (rc != ARGON2_OK) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int gw_password_verify(const char *encoded, const char *password)
{
    if (!password)
        password = "";
    if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0) {
        if (s_dummy[0])
            (void)argon2id_verify(s_dummy, password, strlen(password));
        return 0;
    }
    return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

int gw_password_init(void)
{
    char pw[GW_TOKEN_LEN + 1];
    if (gw_token_new(pw) != 0)
        return -1;
    int rc = gw_password_hash(pw, s_dummy);
    OPENSSL_cleanse(pw, sizeof pw);
    return rc;
}

int gw_token_new(char out[GW_TOKEN_LEN + 1])
{
    unsigned char raw[32];
    if (kv_random_bytes(raw, sizeof raw) != 0) {
        out[0] = '\0';
        return -1;
    }
    s_b64url32(raw, out);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

int gw_token_shape_ok(const char *s)
{
    if (!s || strlen(s) != GW_TOKEN_LEN)
        return 0;
    for (const char *p = s; *p; p++) {
        if (!memchr(s_b64url, *p, sizeof s_b64url - 1))
            return 0;
    }
    return 1;
}

void gw_sha256_hex(const char *s, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[32];
    kv_sha256(s, strlen(s), d);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

void gw_csrf_token(const unsigned char *secret, size_t secret_len, const char *session_token,
                   char out[GW_TOKEN_LEN + 1])
{
    static const char label[] = "kaivox-csrf:";
    unsigned char msg[sizeof label + GW_TOKEN_LEN + 1];
    unsigned char mac[KV_SHA256_LEN];
    size_t n = strlen(session_token);
    if (n > GW_TOKEN_LEN)
        n = GW_TOKEN_LEN;
    memcpy(msg, label, sizeof label - 1);
    memcpy(msg + sizeof label - 1, session_token, n);
    kv_hmac_sha256(secret, secret_len, msg, sizeof label - 1 + n, mac);
    s_b64url32(mac, out);
    OPENSSL_cleanse(msg, sizeof msg);
    OPENSSL_cleanse(mac, sizeof mac);
}

int gw_str_equal_ct(const char *a, const char *b)
{
    size_t n = strlen(a);
    if (n != strlen(b))
        return 0;
    return CRYPTO_memcmp(a, b, n) == 0;
}
