/*
 * kv_log.c -- structured logging: one JSON object per line on stderr.
 *
 *   {"ts":"2026-11-28T21:00:00.123Z","level":"info","service":"crm",
 *    "request_id":"...","trace_id":"...","msg":"..."}
 *
 * request_id is there when the caller names one; trace_id when the thread
 * serves a traced request (kv_log_set_trace, thread-local).
 *
 * The message is formatted and escaped into a stack buffer (heap through
 * kv_mem only for unusually long messages), and the whole line goes out
 * with a single write(2), so lines of concurrent threads never interleave.
 * Invalid UTF-8 in a message becomes U+FFFD so every line stays valid JSON.
 * The service name and level are set once by kv_log_init() before threads
 * start and only read afterwards.
 */
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_valid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define KV_LOG_MSG_MAX  16384     /* longer messages are cut */
#define KV_LOG_STACK    4096

static char s_service[64] = "kaivox";
static kv_log_level_t s_min_level = KV_LOG_INFO;

static _Thread_local char s_trace[33];   /* "" when the thread serves no trace */

static const char *const s_level_names[] = { "debug", "info", "warn", "error" };

void kv_log_init(const char *service)
{
    if (service) {
        snprintf(s_service, sizeof s_service, "%s", service);
    }
    const char *lv = getenv("KAIVOX_LOG_LEVEL");
    s_min_level = KV_LOG_INFO;
    if (lv && *lv) {
        int found = 0;
        for (int i = 0; i < 4; i++) {
            if (strcasecmp(lv, s_level_names[i]) == 0) {
                s_min_level = (kv_log_level_t)i;
                found = 1;
            }
        }
        if (!found && strcasecmp(lv, "warning") == 0) {
            s_min_level = KV_LOG_WARN;
            found = 1;
        }
        if (!found)
            kv_log(KV_LOG_WARN, NULL, "unknown KAIVOX_LOG_LEVEL, using info");
    }
}

void kv_log_set_trace(const char *trace_id)
{
    if (!trace_id) {
        s_trace[0] = '\0';
        return;
    }
    size_t n = strnlen(trace_id, sizeof s_trace - 1);
    memcpy(s_trace, trace_id, n);
    s_trace[n] = '\0';
}

/* Length of the valid UTF-8 sequence starting at p (n bytes left), or 0
 * when the bytes there are not valid UTF-8. */
static void s_escape(char *out, size_t *pos, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t o = *pos;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\'; out[o++] = (char)c; i++;
        } else if (c == '\n') {
            out[o++] = '\\'; out[o++] = 'n'; i++;
        } else if (c == '\r') {
            out[o++] = '\\'; out[o++] = 'r'; i++;
        } else if (c == '\t') {
            out[o++] = '\\'; out[o++] = 't'; i++;
        } else if (c < 0x20 || c == 0x7F) {
            out[o++] = '\\'; out[o++] = 'u'; out[o++] = '0'; out[o++] = '0';
            out[o++] = hex[c >> 4]; out[o++] = hex[c & 15]; i++;
        } else if (c < 0x80) {
            out[o++] = (char)c; i++;
        } else {
            size_t l = kv_utf8_seq(p + i, n - i, NULL);
            if (l == 0) {
                memcpy(out + o, "\\ufffd", 6); o += 6; i++;
            } else {
                memcpy(out + o, p + i, l); o += l; i += l;
            }
        }
    }
    *pos = o;
}

/* Appends a literal. */
static void s_put(char *out, size_t *pos, const char *lit)
{
    size_t n = strlen(lit);
    memcpy(out + *pos, lit, n);
    *pos += n;
}

void kv_log(kv_log_level_t level, const char *req_id, const char *fmt, ...)
{
    if ((int)level < (int)s_min_level)
        return;
    if ((int)level < 0 || (int)level > KV_LOG_ERROR)
        level = KV_LOG_ERROR;
    int saved_errno = errno;

    /* 1. the message */
    char mstack[KV_LOG_STACK];
    char *msg = mstack;
    va_list ap;
    va_start(ap, fmt);
    int mlen = vsnprintf(mstack, sizeof mstack, fmt, ap);
    va_end(ap);
    if (mlen < 0) {
        mstack[0] = '\0';
        mlen = 0;
    } else if ((size_t)mlen >= sizeof mstack) {
        size_t want = (size_t)mlen < KV_LOG_MSG_MAX ? (size_t)mlen : KV_LOG_MSG_MAX;
        msg = kv_malloc(want + 1);
        va_start(ap, fmt);
        vsnprintf(msg, want + 1, fmt, ap);
        va_end(ap);
        mlen = (int)want;
    }

    /* 2. the timestamp */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char tbuf[96];
    snprintf(tbuf, sizeof tbuf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
             tm.tm_sec, (long)((ts.tv_nsec / 1000000) % 1000));

    /* 3. the line */
    size_t rid_len = req_id ? strnlen(req_id, 128) : 0;
    size_t svc_len = strlen(s_service);
    size_t trace_len = strlen(s_trace);
    size_t need = 160 + strlen(tbuf) + trace_len + 6 * (svc_len + rid_len + (size_t)mlen);
    char lstack[KV_LOG_STACK * 2];
    char *line = need <= sizeof lstack ? lstack : kv_malloc(need);
    size_t pos = 0;
    s_put(line, &pos, "{\"ts\":\"");
    s_put(line, &pos, tbuf);
    s_put(line, &pos, "\",\"level\":\"");
    s_put(line, &pos, s_level_names[level]);
    s_put(line, &pos, "\",\"service\":\"");
    s_escape(line, &pos, s_service, svc_len);
    if (rid_len) {
        s_put(line, &pos, "\",\"request_id\":\"");
        s_escape(line, &pos, req_id, rid_len);
    }
    if (trace_len) {
        s_put(line, &pos, "\",\"trace_id\":\"");
        s_escape(line, &pos, s_trace, trace_len);
    }
    s_put(line, &pos, "\",\"msg\":\"");
    s_escape(line, &pos, msg, (size_t)mlen);
    s_put(line, &pos, "\"}\n");

    ssize_t w = write(STDERR_FILENO, line, pos);
    (void)w;

    if (line != lstack)
        free(line);
    if (msg != mstack)
        free(msg);
    errno = saved_errno;
}
