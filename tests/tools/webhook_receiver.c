/*
 * webhook_receiver.c -- a real HTTP receiver for the webhook end-to-end
 * tests and the delivery benchmark (libmicrohttpd on 127.0.0.1).
 *
 *   webhook_receiver --dir DIR [--port N] [--port-file FILE]
 *                    [--hang-ms MS] [--max-seconds S] [--quiet]
 *
 * The behaviour is chosen per request by the first segment of the URL path,
 * so one receiver serves every scenario of a test (the rest of the path is
 * a free tag that keeps scenarios apart):
 *   /ok/...              200 at once
 *   /fail-then-ok/N/...  500 for the first N requests to this exact path, then 200
 *   /fail/...            500 always
 *   /hang/...            answers 200 only after --hang-ms (default 5000)
 *   /sleep/MS/...        answers 200 only after MS milliseconds (0..600000)
 *   /redirect/...        302 to /ok/redirected
 *   /gone/...            410
 *   /busy/S/...          503 with Retry-After: S
 *   /verify/TAG/...      checks the signatures against the secrets in
 *                        DIR/secrets/TAG (read at each request: line 1 the
 *                        current secret, line 2 the previous one during a
 *                        rotation): X-KaiVox-Signature must be the hex
 *                        HMAC-SHA256 of the body keyed with the current
 *                        secret, and webhook-signature must hold exactly one
 *                        "v1,<base64>" entry per secret of the file, each
 *                        verifying (Standard Webhooks: key = base64-decoded
 *                        secret after whsec_, content = id.timestamp.body,
 *                        timestamp within 5 minutes); 200 when all hold,
 *                        401 otherwise, and X-Receiver-Verify: "ok" or
 *                        "fail: <why>" in the .headers file
 *   anything else        404
 * Every request is written under DIR/<path with '/' as '_'>/ as
 * NNNNNN.body (the exact body bytes) and NNNNNN.headers ("Name: value"
 * lines, plus X-Receiver-Status: the status answered, and
 * X-Receiver-Received-Us: receipt time, epoch microseconds), numbered in
 * order of arrival per path; the .headers file is written last, so its
 * presence means the request is complete.  With --port 0 (the default) the
 * kernel picks the port, which goes to --port-file.  Runs until SIGTERM /
 * SIGINT or --max-seconds (default 600).
 *
 * With KVT_CONTRACT_LOG set (tests/run.sh sets it), every request is also
 * appended to that file (kvt_contract_log), for the contract check of the
 * webhook payloads and headers against docs/openapi.yaml.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../lib/kvt.h"
#include "kv_env.h"

#define S_BODY_MAX (4 * 1024 * 1024)
#define S_PATHS_MAX 4096

static const char *s_dir;
static int s_hang_ms = 5000;
static int s_quiet;
static volatile sig_atomic_t s_stop;

/* Per-path request counters. */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char *path; int count; } s_paths[S_PATHS_MAX];
static int s_npaths;

/* Returns the number of this request to path (1-based). */
static int s_next(const char *path)
{
    int n = 0;
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < s_npaths; i++)
        if (strcmp(s_paths[i].path, path) == 0) {
            n = ++s_paths[i].count;
            break;
        }
    if (n == 0 && s_npaths < S_PATHS_MAX) {
        s_paths[s_npaths].path = strdup(path);
        n = s_paths[s_npaths++].count = 1;
    }
    pthread_mutex_unlock(&s_lock);
    return n;
}

typedef struct {
    char *buf;
    size_t len;
    int too_big;
} s_upload_t;

typedef struct {
    FILE *f;
} s_hdr_ctx_t;

static enum MHD_Result s_write_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    s_hdr_ctx_t *c = cls;
    fprintf(c->f, "%s: %s\n", key, value ? value : "");
    return MHD_YES;
}

/* Adds one header as a [name, value] pair to the array cls. */
static enum MHD_Result s_header_pair(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    json_t *pair = json_array();
    json_array_append_new(pair, json_string(key));
    json_array_append_new(pair, json_string(value ? value : ""));
    json_array_append_new(cls, pair);
    return MHD_YES;
}

static int64_t s_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Writes the request's files.  Body first, headers last (atomically by
 * rename), so a reader that sees the .headers file sees a whole request. */
static void s_record(struct MHD_Connection *conn, const char *method, const char *url,
                     const s_upload_t *up, int n, int status, int64_t received_us,
                     const char *verify)
{
    char dir[1024], path[1200], tmp[1200];
    size_t dl = (size_t)snprintf(dir, sizeof dir, "%s/", s_dir);
    for (const char *p = url + 1; *p && dl + 1 < sizeof dir; p++)
        dir[dl++] = (*p == '/' || *p == '.') ? '_' : *p;
    dir[dl] = '\0';
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%06d.body", dir, n);
    FILE *f = fopen(path, "wb");
    if (f) {
        if (up->len)
            fwrite(up->buf, 1, up->len, f);
        fclose(f);
    }
    snprintf(tmp, sizeof tmp, "%s/.%06d.headers.tmp", dir, n);
    snprintf(path, sizeof path, "%s/%06d.headers", dir, n);
    f = fopen(tmp, "w");
    if (f) {
        s_hdr_ctx_t c = { f };
        fprintf(f, "X-Receiver-Method: %s\n", method);
        fprintf(f, "X-Receiver-Status: %d\n", status);
        fprintf(f, "X-Receiver-Received-Us: %lld\n", (long long)received_us);
        if (verify)
            fprintf(f, "X-Receiver-Verify: %s\n", verify);
        MHD_get_connection_values(conn, MHD_HEADER_KIND, s_write_header, &c);
        fclose(f);
        rename(tmp, path);
    }
}

/* ---- /verify/: signature checks, written from the specifications ------ */

/* Value of request header name, or "". */
static const char *s_req_header(struct MHD_Connection *conn, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    return v ? v : "";
}

/* Reads DIR/secrets/TAG (TAG: the path segment after /verify/) into
 * secrets[0..2]; returns how many (0 when missing). */
static int s_secrets(const char *url, char secrets[2][128])
{
    char tag[64], path[1200];
    const char *p = url + 8;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= sizeof tag)
        return 0;
    memcpy(tag, p, n);
    tag[n] = '\0';
    snprintf(path, sizeof path, "%s/secrets/%s", s_dir, tag);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int count = 0;
    while (count < 2 && fgets(secrets[count], 128, f)) {
        secrets[count][strcspn(secrets[count], "\r\n")] = '\0';
        if (secrets[count][0])
            count++;
    }
    fclose(f);
    return count;
}

/* Standard Webhooks: "v1,<base64 HMAC-SHA256(key, id.ts.body)>" into out;
 * key = base64-decoded secret after whsec_.  0 or -1. */
static int s_std_sig(const char *secret, const char *id, const char *ts, const s_upload_t *up,
                     char out[128])
{
    const char *b64 = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
    unsigned char key[128], mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    size_t bl = strlen(b64);
    if (bl == 0 || bl % 4 || bl / 4 * 3 > sizeof key)
        return -1;
    int kl = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)bl);
    if (kl < 0)
        return -1;
    kl -= (b64[bl - 1] == '=') + (b64[bl - 2] == '=');
    size_t ml = strlen(id) + strlen(ts) + 2 + up->len;
    char *msg = malloc(ml + 1);
    if (!msg)
        return -1;
    int off = snprintf(msg, ml + 1, "%s.%s.", id, ts);
    if (up->len)
        memcpy(msg + off, up->buf, up->len);
    HMAC(EVP_sha256(), key, kl, (unsigned char *)msg, ml, mac, &mac_len);
    free(msg);
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mac_len);
    return 0;
}

/* Checks a /verify/ request; "ok" or why it fails into why. */
static int s_verify(struct MHD_Connection *conn, const char *url, const s_upload_t *up,
                    char *why, size_t size)
{
    char secrets[2][128], hex[65], expect[128];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    int n = s_secrets(url, secrets);
    if (n == 0) {
        snprintf(why, size, "fail: no secrets file for this tag");
        return -1;
    }
    HMAC(EVP_sha256(), secrets[0], (int)strlen(secrets[0]), (const unsigned char *)up->buf,
         up->len, mac, &mac_len);
    for (unsigned int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    if (strcmp(hex, s_req_header(conn, "X-KaiVox-Signature")) != 0) {
        snprintf(why, size, "fail: X-KaiVox-Signature is not keyed with the current secret");
        return -1;
    }
    const char *id = s_req_header(conn, "webhook-id"), *ts = s_req_header(conn, "webhook-timestamp");
    long long t = atoll(ts), now = (long long)time(NULL);
    if (!id[0] || t < now - 300 || t > now + 300) {
        snprintf(why, size, "fail: webhook-id or webhook-timestamp missing or stale");
        return -1;
    }
    char sigs[512];
    snprintf(sigs, sizeof sigs, "%s", s_req_header(conn, "webhook-signature"));
    int entries = 0, matched[2] = { 0, 0 };
    for (char *save = NULL, *tok = strtok_r(sigs, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        entries++;
        for (int k = 0; k < n; k++)
            if (s_std_sig(secrets[k], id, ts, up, expect) == 0 && strlen(tok) == strlen(expect) &&
                CRYPTO_memcmp(tok, expect, strlen(tok)) == 0)
                matched[k] = 1;
    }
    for (int k = 0; k < n; k++)
        if (!matched[k]) {
            snprintf(why, size, "fail: no webhook-signature entry verifies with secret %d", k + 1);
            return -1;
        }
    if (entries != n) {
        snprintf(why, size, "fail: webhook-signature has %d entries for %d secrets", entries, n);
        return -1;
    }
    snprintf(why, size, "ok");
    return 0;
}

static enum MHD_Result s_reply(struct MHD_Connection *conn, int status, const char *location,
                               const char *retry_after)
{
    static const char body[] = "{\"ok\":true}";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
                                                             MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (location)
        MHD_add_response_header(r, "Location", location);
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    (void)cls;
    (void)version;
    s_upload_t *up = *con_cls;
    if (!up) {
        up = calloc(1, sizeof *up);
        if (!up)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (up->len + *upload_data_size > S_BODY_MAX) {
            up->too_big = 1;
        } else {
            char *nb = realloc(up->buf, up->len + *upload_data_size);
            if (!nb)
                return MHD_NO;
            up->buf = nb;
            memcpy(up->buf + up->len, upload_data, *upload_data_size);
            up->len += *upload_data_size;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    int64_t received = s_now_us();
    int n = s_next(url);
    int status = 404;
    const char *location = NULL;
    char retry_after[32] = "", verify[160] = "";
    int hang_ms = 0, verified = 0;
    if (strncmp(url, "/ok/", 4) == 0 || strcmp(url, "/ok") == 0) {
        status = 200;
    } else if (strncmp(url, "/fail-then-ok/", 14) == 0) {
        int fails = atoi(url + 14);
        status = n <= fails ? 500 : 200;
    } else if (strncmp(url, "/fail/", 6) == 0) {
        status = 500;
    } else if (strncmp(url, "/hang/", 6) == 0) {
        status = 200;
        hang_ms = s_hang_ms;
    } else if (strncmp(url, "/sleep/", 7) == 0) {
        status = 200;
        hang_ms = atoi(url + 7);
        if (hang_ms < 0 || hang_ms > 600000)
            hang_ms = 0;
    } else if (strncmp(url, "/redirect/", 10) == 0) {
        status = 302;
        location = "/ok/redirected";
    } else if (strncmp(url, "/gone/", 6) == 0) {
        status = 410;
    } else if (strncmp(url, "/busy/", 6) == 0) {
        status = 503;
        snprintf(retry_after, sizeof retry_after, "%d", atoi(url + 6));
    } else if (strncmp(url, "/verify/", 8) == 0) {
        verified = 1;
        status = s_verify(conn, url, up, verify, sizeof verify) == 0 ? 200 : 401;
    }
    if (up->too_big)
        status = 413;
    s_record(conn, method, url, up, n, status, received, verified ? verify : NULL);
    if (getenv("KVT_CONTRACT_LOG")) {
        json_t *hdrs = json_array();
        MHD_get_connection_values(conn, MHD_HEADER_KIND, s_header_pair, hdrs);
        kvt_contract_log("webhook", method, url, status, hdrs, up->buf, up->len, NULL, 0);
    }
    if (!s_quiet)
        fprintf(stderr, "webhook_receiver: %s %s #%d -> %d\n", method, url, n, status);
    kv_sleep_ms(hang_ms);
    return s_reply(conn, status, location, retry_after[0] ? retry_after : NULL);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_upload_t *up = *con_cls;
    if (up) {
        free(up->buf);
        free(up);
        *con_cls = NULL;
    }
}

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

int main(int argc, char **argv)
{
    int port = 0, max_seconds = 600;
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) {
            s_quiet = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "webhook_receiver: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--dir") == 0)
            s_dir = v;
        else if (strcmp(a, "--port") == 0)
            port = atoi(v);
        else if (strcmp(a, "--port-file") == 0)
            port_file = v;
        else if (strcmp(a, "--hang-ms") == 0)
            s_hang_ms = atoi(v);
        else if (strcmp(a, "--max-seconds") == 0)
            max_seconds = atoi(v);
        else {
            fprintf(stderr, "webhook_receiver: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (!s_dir) {
        fprintf(stderr, "usage: webhook_receiver --dir DIR [--port N] [--port-file FILE] "
                "[--hang-ms MS] [--max-seconds S] [--quiet]\n");
        return 2;
    }
    mkdir(s_dir, 0755);
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(0x7f000001);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
        0, NULL, NULL, s_handler, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "webhook_receiver: cannot listen on 127.0.0.1:%d: %s\n", port,
                strerror(errno));
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int bound = info ? info->port : port;
    if (port_file) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f, "%d\n", bound);
            fclose(f);
            rename(tmp, port_file);
        }
    }
    if (!s_quiet)
        fprintf(stderr, "webhook_receiver: listening on 127.0.0.1:%d, writing to %s\n",
                bound, s_dir);
    time_t until = time(NULL) + max_seconds;
    while (!s_stop && time(NULL) < until) {
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(d);
    return 0;
}
