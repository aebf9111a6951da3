/*
 * fuzz_sign.c -- webhook secrets and signatures (services/webhooks/sign.c)
 * on outside bytes: base64 (hook_b64_decode of any text, as a stored or
 * rotated secret is read back), the Standard Webhooks signature keyed with
 * any secret text, and the hex signature of any body.
 *
 * The input is "secret\xf5msg_id\xf5body" (fuzz_split; missing parts are
 * empty).  Properties: decode(encode(x)) == x for any bytes; a text that
 * decodes has a length that is a multiple of 4 and yields at most 3/4 of
 * it; a signature is "v1," + 44 base64 characters and the header of a
 * rotation lists the previous signature and then the current one, within
 * HOOK_SIG_HEADER_MAX; the hex signature is 64 lowercase hex digits.
 */
#include "fuzz.h"

#include "../../services/webhooks/sign.h"

typedef struct {
    const uint8_t *part[3];
    size_t len[3];
    size_t n;
} s_parts_t;

static void s_part(void *arg, const uint8_t *f, size_t len)
{
    s_parts_t *p = arg;
    if (p->n < 3) {
        p->part[p->n] = f;
        p->len[p->n] = len;
    }
    p->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_parts_t p;
    memset(&p, 0, sizeof p);
    for (int i = 0; i < 3; i++)
        p.part[i] = (const uint8_t *)"";
    fuzz_split(data, size, s_part, &p);
    char *secret = fuzz_str(p.part[0], p.len[0]);
    char *msg_id = fuzz_str(p.part[1], p.len[1]);

    /* base64 both ways */
    size_t elen = 4 * ((size + 2) / 3) + 1;
    char *enc = malloc(elen);
    unsigned char *dec = malloc(size + 3);
    FUZZ_CHECK(enc && dec);
    int e = hook_b64_encode(data, size, enc, elen);
    FUZZ_CHECK(e >= 0 && (size_t)e == elen - 1 && strlen(enc) == (size_t)e);
    int d = hook_b64_decode(enc, dec, size + 3);
    FUZZ_CHECK(size == 0 ? d == -1 : (d == (int)size && memcmp(dec, data, size) == 0));
    FUZZ_CHECK(hook_b64_encode(data, size, enc, elen - 1) == -1);
    free(enc);
    free(dec);

    size_t slen = strlen(secret);
    unsigned char *raw = malloc(slen + 1);
    FUZZ_CHECK(raw != NULL);
    int r = hook_b64_decode(secret, raw, slen + 1);
    if (r >= 0)
        FUZZ_CHECK(slen % 4 == 0 && (size_t)r <= slen / 4 * 3 && (size_t)r + 2 >= slen / 4 * 3);
    free(raw);

    /* signatures */
    char sig[64], hdr[HOOK_SIG_HEADER_MAX], hex[65];
    int s = hook_sign_std(secret, msg_id, (int64_t)size * 1000003, p.part[2], p.len[2],
                          sig, sizeof sig);
    if (s == 0) {
        FUZZ_CHECK(strncmp(sig, "v1,", 3) == 0 && strlen(sig) == 3 + 44);
        FUZZ_CHECK(hook_sign_std_header(secret, secret, msg_id, 1, p.part[2], p.len[2], hdr) == 0);
        FUZZ_CHECK(strlen(hdr) == 2 * 47 + 1 && hdr[47] == ' ' && strncmp(hdr, hdr + 48, 47) == 0);
        FUZZ_CHECK(hook_sign_std_header(secret, "not base64!", msg_id, 1, p.part[2], p.len[2],
                                        hdr) == 0 && strlen(hdr) == 47);
    } else {
        FUZZ_CHECK(hook_sign_std_header(secret, NULL, msg_id, 1, p.part[2], p.len[2], hdr) == -1);
    }
    hook_sign_hex(secret, p.part[2], p.len[2], hex);
    FUZZ_CHECK(strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64);

    free(secret);
    free(msg_id);
    return 0;
}
