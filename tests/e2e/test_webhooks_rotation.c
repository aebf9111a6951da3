/*
 * test_webhooks_rotation.c -- POST /api/v1/webhooks/{id}/rotate-secret.
 *
 * The new secret is shown once; for the overlap (24 h by default) every
 * delivery is signed with both secrets the way Standard Webhooks allows
 * (webhook-signature: "v1,<old> v1,<new>"), X-KaiVox-Signature with the
 * new one only.  The receiver tool checks the signatures itself against
 * the secrets this test gives it (/verify/: 200 only when X-KaiVox-Signature
 * is keyed with the current secret and webhook-signature holds exactly one
 * verifying entry per secret), and the test checks them again with its own
 * implementation of the specification, each secret alone, as a receiver
 * that holds only one of them would.  A second rotation within the overlap
 * drops the oldest secret; when the overlap ends (backdated in the
 * database) only the new secret signs.  Rotation is tenant-scoped.
 */
#include "webhooks_e2e.h"

static wh_receiver_t s_rcv;

/* Writes the secrets the receiver expects for tag: current, then the
 * previous one (NULL: none). */
static void s_expect(const char *tag, const char *current, const char *previous)
{
    char dir[400], path[500];
    snprintf(dir, sizeof dir, "%s/secrets", s_rcv.dir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%s", dir, tag);
    FILE *f = fopen(path, "w");
    if (!f) {
        printf("FAIL rotation_setup: cannot write %s\n", path);
        exit(1);
    }
    fprintf(f, "%s\n", current);
    if (previous)
        fprintf(f, "%s\n", previous);
    fclose(f);
}

/* Books one appointment of shop s (event appointment.created). */
static int s_event(const wh_shop_t *s)
{
    static int n;
    return wh_book(s, n++) > 0 ? 0 : -1;
}

/* Request number n of path: the receiver's verdict, the webhook-signature
 * header, and whether each of secrets a / b (NULL: skip) verifies it alone
 * (the test's own Standard Webhooks check) and whether X-KaiVox-Signature
 * is keyed with hex_secret. */
typedef struct {
    char verdict[160], sigs[256];
    int status, std_a, std_b, hex_ok;
} s_seen_t;

static int s_look(const char *path, int n, const char *a, const char *b, const char *hex_secret,
                  s_seen_t *out)
{
    char *body = NULL, *hdrs = NULL, bp[600], id[64], ts[32], hex[80], st[16];
    size_t len;
    memset(out, 0, sizeof *out);
    if (wh_request(&s_rcv, path, n, &body, &len, &hdrs, bp, sizeof bp) != 0)
        return -1;
    wh_hdr(hdrs, "X-Receiver-Verify", out->verdict, sizeof out->verdict);
    wh_hdr(hdrs, "X-Receiver-Status", st, sizeof st);
    out->status = atoi(st);
    wh_hdr(hdrs, "webhook-signature", out->sigs, sizeof out->sigs);
    wh_hdr(hdrs, "webhook-id", id, sizeof id);
    wh_hdr(hdrs, "webhook-timestamp", ts, sizeof ts);
    wh_hdr(hdrs, "X-KaiVox-Signature", hex, sizeof hex);
    out->std_a = a ? wh_std_verify(a, id, ts, out->sigs, body, len) : 0;
    out->std_b = b ? wh_std_verify(b, id, ts, out->sigs, body, len) : 0;
    out->hex_ok = wh_openssl_ok(hex_secret, bp, hex);
    free(body);
    free(hdrs);
    return 0;
}

/* Rotates endpoint id with key; the new secret into secret[80]; the
 * answer's status. */
static long s_rotate(const char *key, long long id, char secret[80], char *expires, size_t size)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/rotate-secret", id);
    kvt_resp_t r = kvt_api(key, "POST", path, NULL);
    long st = r.status;
    const char *s = se_str(&r, "secret");
    snprintf(secret, 80, "%s", s ? s : "");
    const char *e = se_str(&r, "previous_secret_expires_at");
    if (expires)
        snprintf(expires, size, "%s", e ? e : "");
    kvt_resp_free(&r);
    return st;
}

int main(void)
{
    wh_receiver_start(&s_rcv, 4000);
    wh_shop_t s;
    wh_shop(&s, "wh-rotate");
    char other[64];
    se_tenant("wh-rotate-other", "UTC", 0, other);
    const char *path = "/verify/rot/x";
    char url[256], s1[80], s2[80], s3[80], expires[64];
    wh_url(&s_rcv, path, url, sizeof url);
    long long id = wh_endpoint(s.key, url, "[\"appointment.created\"]", s1);
    KVT_OK(id > 0 && strncmp(s1, "whsec_", 6) == 0, "an endpoint with its first secret");
    s_expect("rot", s1, NULL);

    /* 1. Before any rotation: one signature. */
    s_seen_t v;
    KVT_OK(s_event(&s) == 0, "an event before rotating");
    KVT_EQ_INT(wh_wait_count(&s_rcv, path, 1, 10000), 1, "delivered");
    s_look(path, 1, s1, NULL, s1, &v);
    KVT_EQ_STR(v.verdict, "ok", "the receiver verified it with the only secret");
    KVT_OK(v.std_a && v.hex_ok && !strchr(v.sigs, ' '),
           "one webhook-signature entry, X-KaiVox-Signature keyed with it");

    /* 2. Rotate: both sign during the overlap. */
    long st = s_rotate(s.key, id, s2, expires, sizeof expires);
    KVT_EQ_INT(st, 200, "rotate-secret answers 200");
    KVT_OK(strncmp(s2, "whsec_", 6) == 0 && strcmp(s2, s1) != 0, "with a new secret, shown once");
    KVT_OK(expires[0] != '\0', "and when the previous secret stops signing (%s)", expires);
    time_t now = time(NULL);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    long long hours = -1;
    if (strptime(expires, "%Y-%m-%dT%H:%M:%SZ", &tm))
        hours = (long long)(timegm(&tm) - now) / 3600;
    KVT_OK(hours >= 23 && hours <= 24, "24 h from now by default (%lld h)", hours);
    char show[96];
    snprintf(show, sizeof show, "/api/v1/webhooks/%lld", id);
    kvt_resp_t r = kvt_api(s.key, "GET", show, NULL);
    KVT_OK(r.status == 200 && r.body && !strstr(r.body, "whsec_"),
           "show never carries either secret");
    KVT_EQ_STR(se_str(&r, "previous_secret_expires_at"), expires,
               "show tells when the previous secret stops");
    kvt_resp_free(&r);
    s_expect("rot", s2, s1);
    KVT_OK(s_event(&s) == 0, "an event during the overlap");
    KVT_EQ_INT(wh_wait_count(&s_rcv, path, 2, 10000), 2, "delivered");
    s_look(path, 2, s1, s2, s2, &v);
    KVT_EQ_STR(v.verdict, "ok", "the receiver verified both signatures");
    KVT_EQ_INT(v.status, 200, "and accepted the delivery");
    KVT_OK(v.std_a, "a receiver holding only the old secret accepts it");
    KVT_OK(v.std_b, "a receiver holding only the new secret accepts it");
    KVT_OK(v.hex_ok, "X-KaiVox-Signature is keyed with the new secret");
    KVT_OK(strncmp(v.sigs, "v1,", 3) == 0 && strstr(v.sigs, " v1,") != NULL,
           "webhook-signature is 'v1,<old> v1,<new>' (%s)", v.sigs);

    /* 3. A second rotation within the overlap drops the oldest secret. */
    KVT_EQ_INT(s_rotate(s.key, id, s3, NULL, 0), 200, "a second rotation");
    s_expect("rot", s3, s2);
    KVT_OK(s_event(&s) == 0, "an event after the second rotation");
    KVT_EQ_INT(wh_wait_count(&s_rcv, path, 3, 10000), 3, "delivered");
    s_look(path, 3, s2, s1, s3, &v);
    KVT_EQ_STR(v.verdict, "ok", "the receiver verified the second and third secrets");
    KVT_OK(v.std_a && !v.std_b, "the second secret still verifies, the first no longer does");
    KVT_OK(v.hex_ok, "X-KaiVox-Signature is keyed with the third secret");

    /* 4. The overlap ends: only the newest signs. */
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", id);
    const char *p[1] = { ids };
    long long ended = wh_sql_int("webhooks", "UPDATE webhooks.endpoints SET "
                                 "previous_secret_expires_at = now() - interval '1 second' "
                                 "WHERE id = $1", 1, p);
    KVT_EQ_INT(ended, 1, "the overlap is made to end now");
    r = kvt_api(s.key, "GET", show, NULL);
    KVT_OK(json_is_null(json_object_get(se_data(&r), "previous_secret_expires_at")),
           "show: no previous secret any more");
    kvt_resp_free(&r);
    s_expect("rot", s3, NULL);
    KVT_OK(s_event(&s) == 0, "an event after the overlap");
    KVT_EQ_INT(wh_wait_count(&s_rcv, path, 4, 10000), 4, "delivered");
    s_look(path, 4, s3, s2, s3, &v);
    KVT_EQ_STR(v.verdict, "ok", "the receiver verified the one signature");
    KVT_OK(v.std_a && !v.std_b && !strchr(v.sigs, ' '),
           "one entry, with the newest secret only");

    /* 5. Scope and input. */
    snprintf(show, sizeof show, "/api/v1/webhooks/%lld/rotate-secret", id);
    r = kvt_api(other, "POST", show, NULL);
    KVT_EQ_INT(r.status, 404, "another tenant cannot rotate the secret");
    KVT_OK(r.body && !strstr(r.body, "whsec_"), "and sees no secret");
    kvt_resp_free(&r);
    r = kvt_api(s.key, "POST", "/api/v1/webhooks/999999999/rotate-secret", NULL);
    KVT_EQ_INT(r.status, 404, "an unknown endpoint is 404");
    kvt_resp_free(&r);
    r = kvt_api(s.key, "POST", show, "{\"secret\":\"whsec_mine\"}");
    KVT_EQ_INT(r.status, 422, "a client-chosen secret is refused");
    kvt_resp_free(&r);
    r = kvt_api(s.key, "POST", show, "{}");
    KVT_EQ_INT(r.status, 200, "an empty object is accepted");
    kvt_resp_free(&r);
    r = kvt_api(s.key, "GET", show, NULL);
    KVT_EQ_INT(r.status, 405, "rotate-secret is POST only");
    kvt_resp_free(&r);

    wh_receiver_stop(&s_rcv);
    return kvt_done();
}
