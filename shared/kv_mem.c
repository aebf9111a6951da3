/*
 * kv_mem.c -- allocation wrappers that never return NULL.
 *
 * On failure they write one JSON log line straight to stderr with write(2)
 * (kv_log itself allocates, so it must not be used here) and abort().
 * Everything else in KaiVox allocates through these, so no caller checks
 * for NULL.
 */
#include "kv_mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Logs the out-of-memory condition with one write(2) and aborts.  Uses no
 * heap memory. */
static void s_oom(size_t n)
{
    char line[160];
    int len = snprintf(line, sizeof line,
                       "{\"level\":\"error\",\"msg\":\"out of memory allocating %zu bytes, aborting\"}\n",
                       n);
    if (len > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
        (void)w;
    }
    abort();
}

void *kv_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        s_oom(n);
    return p;
}

void *kv_calloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (!p)
        s_oom(count * n);
    return p;
}

void *kv_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        s_oom(n);
    return q;
}

char *kv_strdup(const char *s)
{
    size_t n = strlen(s);
    char *p = kv_malloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

char *kv_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = kv_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *kv_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0)
        s_oom(0);   /* only on an encoding error: treat as fatal too */
    char *p = kv_malloc((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return p;
}
