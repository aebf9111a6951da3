/*
 * kvt.h -- the tiny test framework of KaiVox: assertions that count, and an
 * HTTP client (libcurl + jansson) for the end-to-end tests.
 *
 * Every check prints one line "PASS <name>" or "FAIL <name>: <why>" on
 * stdout; tests/run.sh adds them all up into the final
 * "N passed, N failed" line.  A test binary exits 0 when nothing failed.
 *
 * End-to-end tests find the running stack through the environment that
 * tests/run.sh sets: KVT_BASE_URL (gateway, e.g. http://127.0.0.1:18080),
 * KVT_ADMIN_URL, KVT_ADMIN_TOKEN, KVT_ROOT (repository root), KVT_STACK
 * (path of scripts/stack.sh, for stopping/starting a service in a test).
 *
 * Contract recording: when KVT_CONTRACT_LOG names a file, every answer of
 * the public API (an URL under KVT_BASE_URL; the admin listener is left
 * out) is appended to it as one JSON line, and so is every webhook request
 * tests/tools/webhook_receiver gets.  tests/contract/validate.mjs checks
 * them all against docs/openapi.yaml after the tests ran.
 */
#ifndef KVT_H
#define KVT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* ---- assertions ------------------------------------------------------ */

extern int kvt_passed, kvt_failed;

/* Records one check.  name is a printf format. */
void kvt_check(int ok, const char *why, const char *name, ...)
    __attribute__((format(printf, 3, 4)));

#define KVT_OK(cond, ...) kvt_check(!!(cond), #cond, __VA_ARGS__)
#define KVT_EQ_INT(a, b, ...) do { long long _a = (a), _b = (b); \
    char _w[128]; snprintf(_w, sizeof _w, "%s == %lld, expected %lld", #a, _a, _b); \
    kvt_check(_a == _b, _w, __VA_ARGS__); } while (0)
#define KVT_EQ_STR(a, b, ...) do { const char *_a = (a), *_b = (b); \
    char _w[512]; snprintf(_w, sizeof _w, "%s == \"%.200s\", expected \"%.200s\"", #a, \
        _a ? _a : "(null)", _b ? _b : "(null)"); \
    kvt_check(_a && _b && strcmp(_a, _b) == 0, _w, __VA_ARGS__); } while (0)

/* Prints the summary of this binary and returns its exit code. */
int kvt_done(void);

/* ---- HTTP ------------------------------------------------------------ */

typedef struct {
    long status;             /* 0 when the request could not be made */
    json_t *json;            /* parsed body, NULL when not JSON */
    char *body;              /* raw body, NUL-terminated */
    size_t body_len;
    char *headers;           /* raw response headers, NUL-terminated */
    double seconds;          /* total time */
} kvt_resp_t;

void kvt_resp_free(kvt_resp_t *r);

/* Value of response header name (case-insensitive) into buf; 0 found, -1 not. */
int kvt_header(const kvt_resp_t *r, const char *name, char *buf, size_t size);

/* Sends method to base+path with optional body (NULL: none) and extra
 * headers (NULL-terminated list of "Name: value", may be NULL).  Returns
 * the response; never NULL fields except json/body as documented. */
kvt_resp_t kvt_http(const char *method, const char *url, const char *body,
                    size_t body_len, const char *const *headers);

/* The public API with a key in the Authorization: Bearer header (key NULL:
 * no key).  path starts with "/api/v1/...".  body may be NULL. */
kvt_resp_t kvt_api(const char *key, const char *method, const char *path,
                   const char *body);
/* Same with a JSON body built by printf format. */
kvt_resp_t kvt_apif(const char *key, const char *method, const char *path,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The admin API with the admin token. */
kvt_resp_t kvt_admin(const char *method, const char *path, const char *body);

/* Convenience: a fresh tenant (unique name from prefix) in tz (NULL: UTC);
 * sets *tenant_id and writes its new API key into key[64].  0 or -1. */
int kvt_tenant(const char *prefix, const char *tz, int64_t *tenant_id, char key[64]);

/* ---- contract recording ---------------------------------------------- */

/* Appends one record to the file named by KVT_CONTRACT_LOG (nothing when it
 * is unset): {"src","test","method","target","status","headers":[[name,
 * value],...],"body","request_body"} as one JSON line, written with a
 * single append so that concurrent writers (threads, processes) never
 * interleave.  src is "api" (a response the tests received) or "webhook"
 * (a delivery a test receiver got); status is the response status (for a
 * webhook request, the one the receiver answered); headers is stolen (an array of [name, value] pairs, may
 * be NULL); body and request_body may be NULL.  Bytes that are not UTF-8
 * are recorded as "<field>_b64" instead.  Returns 0, or -1 when the file
 * could not be written (also reported on stderr). */
int kvt_contract_log(const char *src, const char *method, const char *target, long status,
                     json_t *headers, const char *body, size_t body_len,
                     const char *request_body, size_t request_body_len);

/* getenv with a default. */
const char *kvt_env(const char *name, const char *def);

/* Runs "$KVT_STACK <args>" (e.g. "stop scheduling"); returns its exit code. */
int kvt_stack(const char *args);

/* Sleeps ms milliseconds. */
void kvt_sleep_ms(int ms);

#endif
