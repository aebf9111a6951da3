/*
 * kv_mem.c -- allocation wrappers that never return NULL.
 *
 * On failure they write one JSON log line straight to stderr with write(2)
 * (kv_log itself allocates, so it must not be used here) and abort().
 * Everything else in KaiVox allocates through these, so no caller checks
 * for NULL.
 */
#include "kv_mem.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_QUIET_MS 1000        /* no work anywhere in the process for this long */

static atomic_int s_dirty;             /* work was done since the last trim */
static _Atomic int64_t s_busy_at;      /* monotonic ms of the last work reported */

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

void kv_mem_configure(void)
{
    int arenas = 2;
    const char *e = getenv("KAIVOX_MALLOC_ARENAS");
    if (e && *e >= '1' && *e <= '8' && e[1] == '\0')
        arenas = *e - '0';
    mallopt(M_ARENA_MAX, arenas);
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

void kv_mem_idle(int busy)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (busy) {
        atomic_store(&s_busy_at, now);
        atomic_store(&s_dirty, 1);
        return;
    }
    int dirty = 1;
    if (now - atomic_load(&s_busy_at) < S_QUIET_MS ||
        !atomic_compare_exchange_strong(&s_dirty, &dirty, 0))
        return;   /* work went on recently, or nothing to give back, or another thread does it */
    malloc_trim(0);
}
