/*
 * kvt.c -- the HTTP half of the kvt test framework (kvt.h): a small client
 * for the end-to-end tests over libcurl's easy interface, answers parsed
 * with jansson, plus the helpers that reach the running stack (admin API,
 * fresh tenants, scripts/stack.sh).
 *
 * Each thread reuses one CURL handle for all its requests, so connections
 * are kept alive between requests as a real client would; a test that wants
 * a fresh connection sends "Connection: close".  The handles live in
 * thread-specific storage and are cleaned up when their thread ends (the
 * main thread's at exit), so the sanitizer build sees no leak.
 *
 * With KVT_CONTRACT_LOG set, kvt_http also appends every answer of the
 * public API to that file (kvt_contract_log), for the contract check of
 * tests/contract/validate.mjs.
 *
 * The assertion half (kvt_check, kvt_done) is in kvt_check.c.
 */
#include "kvt.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kv_env.h"

/* ---- one CURL handle per thread ---------------------------------------- */

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static pthread_key_t s_key;

static void s_handle_free(void *h)
{
    if (h)
        curl_easy_cleanup((CURL *)h);
}

static void s_at_exit(void)
{
    CURL *h = pthread_getspecific(s_key);
    if (h) {
        pthread_setspecific(s_key, NULL);
        curl_easy_cleanup(h);
    }
    curl_global_cleanup();
}

static void s_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&s_key, s_handle_free);
    atexit(s_at_exit);
}

/* The calling thread's handle, created on first use; NULL only when libcurl
 * cannot make one. */
static CURL *s_handle(void)
{
    pthread_once(&s_once, s_init_once);
    CURL *h = pthread_getspecific(s_key);
    if (!h) {
        h = curl_easy_init();
        if (h)
            pthread_setspecific(s_key, h);
    }
    return h;
}

/* ---- growing buffers for the body and the headers ----------------------- */

typedef struct {
    char *data;     /* NUL-terminated, owned */
    size_t len;
    size_t cap;
} s_buf_t;

static void s_buf_add(s_buf_t *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            fprintf(stderr, "kvt: out of memory\n");
            abort();
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static size_t s_on_body(char *p, size_t size, size_t n, void *ud)
{
    s_buf_add(ud, p, size * n);
    return size * n;
}

/* Keeps only the last header block (after a 100 Continue or a redirect,
 * a new status line starts a new block). */
static size_t s_on_header(char *p, size_t size, size_t n, void *ud)
{
    s_buf_t *b = ud;
    if (size * n >= 5 && strncmp(p, "HTTP/", 5) == 0)
        b->len = 0;
    s_buf_add(b, p, size * n);
    return size * n;
}

/* ---- contract recording ------------------------------------------------- */

/* text[0..len) as a JSON string under key of o, or as base64 under
 * "<key>_b64" when it is not UTF-8.  Nothing when text is NULL. */
static void s_set_text(json_t *o, const char *key, const char *text, size_t len)
{
    if (!text)
        return;
    json_t *v = json_stringn(text, len);
    if (v) {
        json_object_set_new(o, key, v);
        return;
    }
    size_t cap = 4 * ((len + 2) / 3) + 1;
    unsigned char *b64 = malloc(cap);
    char name[64];
    if (!b64)
        abort();
    EVP_EncodeBlock(b64, (const unsigned char *)text, (int)len);
    snprintf(name, sizeof name, "%s_b64", key);
    json_object_set_new(o, name, json_string((const char *)b64));
    free(b64);
}

int kvt_contract_log(const char *src, const char *method, const char *target, long status,
                     json_t *headers, const char *body, size_t body_len,
                     const char *request_body, size_t request_body_len)
{
    const char *file = kvt_env("KVT_CONTRACT_LOG", NULL);
    if (!file) {
        json_decref(headers);
        return 0;
    }
    int rc = -1;
    json_t *o = json_object();
    json_object_set_new(o, "src", json_string(src));
    json_object_set_new(o, "test", json_string(program_invocation_short_name));
    json_object_set_new(o, "method", json_string(method));
    s_set_text(o, "target", target, strlen(target));
    json_object_set_new(o, "status", json_integer(status));
    json_object_set_new(o, "headers", headers ? headers : json_array());
    s_set_text(o, "body", body ? body : "", body ? body_len : 0);
    s_set_text(o, "request_body", request_body, request_body_len);
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!line)
        goto out;
    size_t n = strlen(line);
    line[n++] = '\n';          /* json_dumps' NUL becomes the newline */
    /* One write on an O_APPEND descriptor: the kernel places the whole line
     * at the end, so concurrent writers never interleave. */
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, line, n);
        if (w == (ssize_t)n)
            rc = 0;
        close(fd);
    }
out:
    if (rc != 0)
        fprintf(stderr, "kvt: cannot append to KVT_CONTRACT_LOG %s: %s\n", file, strerror(errno));
    free(line);
    return rc;
}

/* The response's header lines (after the status line) as [name, value]
 * pairs, in order, duplicates kept.  Caller owns the result. */
static json_t *s_header_pairs(const char *raw)
{
    json_t *a = json_array();
    const char *p = raw;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t llen = eol ? (size_t)(eol - p) : strlen(p);
        const char *colon = memchr(p, ':', llen);
        if (colon && strncmp(p, "HTTP/", 5) != 0) {
            const char *v = colon + 1, *end = p + llen;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            json_t *pair = json_array();
            json_array_append_new(pair, json_stringn(p, (size_t)(colon - p)));
            json_array_append_new(pair, json_stringn(v, (size_t)(end - v)));
            /* A name or value that is not UTF-8 is left out, so the pair
             * is short: the contract check refuses it. */
            json_array_append_new(a, pair);
        }
        p = eol ? eol + 1 : NULL;
    }
    return a;
}

/* Records r when url is on the public listener (KVT_BASE_URL), not the
 * admin one. */
static void s_record_public(const char *method, const char *url, long status,
                            const char *headers, const char *rbody, size_t rbody_len,
                            const char *body, size_t body_len)
{
    const char *base = kvt_env("KVT_BASE_URL", NULL);
    if (!base || !getenv("KVT_CONTRACT_LOG"))
        return;
    size_t n = strlen(base);
    if (strncmp(url, base, n) != 0 || (url[n] != '/' && url[n] != '?' && url[n] != '\0'))
        return;
    kvt_contract_log("api", method, url[n] ? url + n : "/", status, s_header_pairs(headers),
                     rbody, rbody_len, body, body_len);
}

/* ---- requests ------------------------------------------------------------ */

void kvt_resp_free(kvt_resp_t *r)
{
    if (!r)
        return;
    json_decref(r->json);
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

int kvt_header(const kvt_resp_t *r, const char *name, char *buf, size_t size)
{
    size_t nlen = strlen(name);
    const char *p = r ? r->headers : NULL;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t llen = eol ? (size_t)(eol - p) : strlen(p);
        if (llen > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            const char *end = p + llen;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            if (buf && size > 0) {
                size_t vlen = (size_t)(end - v);
                if (vlen >= size)
                    vlen = size - 1;
                memcpy(buf, v, vlen);
                buf[vlen] = '\0';
            }
            return 0;
        }
        p = eol ? eol + 1 : NULL;
    }
    if (buf && size > 0)
        buf[0] = '\0';
    return -1;
}

static int s_has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (; headers && *headers; headers++)
        if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':')
            return 1;
    return 0;
}

kvt_resp_t kvt_http(const char *method, const char *url, const char *body,
                    size_t body_len, const char *const *headers)
{
    kvt_resp_t r;
    memset(&r, 0, sizeof r);
    s_buf_t b = {0}, h = {0};
    s_buf_add(&b, "", 0);
    s_buf_add(&h, "", 0);
    struct curl_slist *hl = NULL;
    CURL *c = s_handle();
    if (!c) {
        fprintf(stderr, "kvt: curl_easy_init failed\n");
        goto out;
    }
    /* Reset keeps the connection cache: keep-alive across requests. */
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     (long)atol(kvt_env("KVT_HTTP_TIMEOUT_MS", "30000")));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);

    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0 || body)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
               strcmp(method, "PATCH") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }

    for (const char *const *p = headers; p && *p; p++)
        hl = curl_slist_append(hl, *p);
    if (body && !s_has_header(headers, "Content-Type"))
        hl = curl_slist_append(hl, "Content-Type: application/json");
    /* No body (or an empty one): no Content-Type unless asked for. */
    if (!body && !s_has_header(headers, "Content-Type"))
        hl = curl_slist_append(hl, "Content-Type:");
    if (hl)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);

    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "kvt: %s %s: %s\n", method, url, curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    }
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r.seconds);
    if (b.len > 0)
        r.json = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
    if (r.status > 0)
        s_record_public(method, url, r.status, h.data, b.data, b.len, body, body_len);

out:
    /* The handle must not keep pointers into this call's locals. */
    if (c) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, NULL);
    }
    curl_slist_free_all(hl);
    r.body = b.data;
    r.body_len = b.len;
    r.headers = h.data;
    return r;
}

/* Base URL + path into a new string.  Caller owns the result. */
static char *s_url(const char *base, const char *path)
{
    size_t n = strlen(base) + strlen(path) + 1;
    char *u = malloc(n);
    if (!u)
        abort();
    snprintf(u, n, "%s%s", base, path);
    return u;
}

kvt_resp_t kvt_api(const char *key, const char *method, const char *path,
                   const char *body)
{
    char auth[256];
    const char *hdrs[2] = {NULL, NULL};
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        hdrs[0] = auth;
    }
    char *url = s_url(kvt_env("KVT_BASE_URL", "http://127.0.0.1:18080"), path);
    kvt_resp_t r = kvt_http(method, url, body, body ? strlen(body) : 0, hdrs);
    free(url);
    return r;
}

kvt_resp_t kvt_apif(const char *key, const char *method, const char *path,
                    const char *fmt, ...)
{
    char *body = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&body, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    kvt_resp_t r = kvt_api(key, method, path, body);
    free(body);
    return r;
}

kvt_resp_t kvt_admin(const char *method, const char *path, const char *body)
{
    char auth[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", kvt_env("KVT_ADMIN_TOKEN", ""));
    const char *hdrs[2] = {auth, NULL};
    char *url = s_url(kvt_env("KVT_ADMIN_URL", "http://127.0.0.1:18081"), path);
    kvt_resp_t r = kvt_http(method, url, body, body ? strlen(body) : 0, hdrs);
    free(url);
    return r;
}

/* data.<field> of an enveloped answer as an integer (a JSON integer or a
 * string of digits); 0 when absent. */
static long long s_data_int(const json_t *j, const char *field)
{
    const json_t *v = json_object_get(json_object_get(j, "data"), field);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return atoll(json_string_value(v));
    return 0;
}

int kvt_tenant(const char *prefix, const char *tz, int64_t *tenant_id, char key[64])
{
    static int counter;
    int rc = -1;
    char name[160], path[128];
    char *body = NULL;
    kvt_resp_t t = {0}, k = {0};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, sizeof name, "%s-%ld-%d-%lld%03ld", prefix ? prefix : "kvt", (long)getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST), (long long)ts.tv_sec,
             ts.tv_nsec / 1000000);

    json_t *req = json_pack("{s:s, s:s}", "name", name, "timezone", tz ? tz : "UTC");
    body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    t = kvt_admin("POST", "/admin/v1/tenants", body);
    long long id = s_data_int(t.json, "id");
    if ((t.status != 200 && t.status != 201) || id <= 0) {
        fprintf(stderr, "kvt_tenant: POST /admin/v1/tenants -> %ld %.300s\n", t.status,
                t.body ? t.body : "");
        goto out;
    }
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/keys", id);
    k = kvt_admin("POST", path, "{\"name\":\"test\"}");
    const char *kv = json_string_value(json_object_get(json_object_get(k.json, "data"), "key"));
    if ((k.status != 200 && k.status != 201) || !kv || strlen(kv) >= 64) {
        fprintf(stderr, "kvt_tenant: POST %s -> %ld\n", path, k.status);
        goto out;
    }
    if (tenant_id)
        *tenant_id = id;
    snprintf(key, 64, "%s", kv);
    rc = 0;
out:
    free(body);
    kvt_resp_free(&t);
    kvt_resp_free(&k);
    return rc;
}

/* ---- environment, stack, time ----------------------------------------------- */

const char *kvt_env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

int kvt_stack(const char *args)
{
    char cmd[1024];
    const char *stack = kvt_env("KVT_STACK", NULL);
    char def[512];
    if (!stack) {
        snprintf(def, sizeof def, "%s/scripts/stack.sh", kvt_env("KVT_ROOT", "."));
        stack = def;
    }
    /* The stack's chatter goes to stderr: stdout carries only PASS/FAIL lines. */
    snprintf(cmd, sizeof cmd, "'%s' %s 1>&2", stack, args);
    fflush(stdout);
    int st = system(cmd);
    if (st == -1)
        return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

void kvt_sleep_ms(int ms)
{
    kv_sleep_ms(ms);
}
