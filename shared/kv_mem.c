/*
 * kv_mem.c -- allocation wrappers that never return NULL.
 *
 * On failure they write one JSON log line straight to stderr with write(2)
 * (kv_log itself allocates, so it must not be used here) and abort().
 * Everything else in KaiVox allocates through these, so no caller checks
 * for NULL.
 */
#include "kv_mem.h"
#include "kv_env.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_QUIET_MS  1000       /* no work anywhere in the process for this long */
#define S_CHECK_MS  500        /* the resident size is read at most this often */
#define S_GROWTH_KB 512        /* growth since the last trim that calls for one */

static atomic_int s_dirty;             /* work was done since the last trim */
static _Atomic int64_t s_busy_at;      /* monotonic ms of the last work reported */
static _Atomic int64_t s_check_at;     /* monotonic ms of the last resident-size check */
static atomic_long s_low_kb;           /* lowest resident kB seen since the last trim; 0: none */
static _Atomic size_t s_low_free;      /* lowest free heap bytes seen since the last trim */
static atomic_ulong s_trims;           /* malloc_trim calls made */

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

/* The process's resident size in kB (/proc/self/statm), or -1.  No heap
 * memory, no stdio. */
static long s_resident_kb(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strchr(buf, ' ');            /* "size resident shared ..." in pages */
    if (!p)
        return -1;
    long pages = strtol(p + 1, NULL, 10);
    long page_kb = sysconf(_SC_PAGESIZE) / 1024;
    return pages > 0 && page_kb > 0 ? pages * page_kb : -1;
}

/* Bytes of free chunks in every arena (their pages resident or not). */
static size_t s_free_bytes(void)
{
    return mallinfo2().fordblks;
}

/* Gives every arena's free pages back and starts new baselines. */
static void s_trim(void)
{
    malloc_trim(0);   /* every arena (glibc >= 2.8), free pages inside them too */
    atomic_fetch_add(&s_trims, 1);
    long kb = s_resident_kb();
    atomic_store(&s_low_kb, kb > 0 ? kb : 0);
    atomic_store(&s_low_free, s_free_bytes());
}

void kv_mem_idle(int busy)
{
    int64_t now = kv_mono_ms();
    if (busy) {
        atomic_store(&s_busy_at, now);
        atomic_store(&s_dirty, 1);
        return;
    }
    /* a quiet second after work: whatever the work freed goes back */
    int dirty = 1;
    if (now - atomic_load(&s_busy_at) >= S_QUIET_MS &&
        atomic_compare_exchange_strong(&s_dirty, &dirty, 0)) {
        s_trim();
        return;
    }
    /* otherwise, twice a second (one thread: the CAS), whether work goes on
     * or the memory is that of threads that report none (a deliverer,
     * ZeroMQ's I/O thread): a trim when the resident size grew by
     * S_GROWTH_KB over its low since the last trim (freed pages were used
     * again), or the free heap did (memory freed since, resident: after a
     * trim made while it was still in use, say).  Growth that is live data
     * costs one trim that frees nothing and becomes the new baseline. */
    int64_t at = atomic_load(&s_check_at);
    if (now - at < S_CHECK_MS || !atomic_compare_exchange_strong(&s_check_at, &at, now))
        return;
    long kb = s_resident_kb(), low = atomic_load(&s_low_kb);
    size_t free_b = s_free_bytes(), low_free = atomic_load(&s_low_free);
    if (kb <= 0)
        return;
    if (low == 0) {   /* the first check: baselines only */
        atomic_store(&s_low_kb, kb);
        atomic_store(&s_low_free, free_b);
        return;
    }
    if (kb - low >= S_GROWTH_KB || (free_b > low_free && free_b - low_free >= S_GROWTH_KB * 1024)) {
        s_trim();
        return;
    }
    if (kb < low)
        atomic_store(&s_low_kb, kb);
    if (free_b < low_free)
        atomic_store(&s_low_free, free_b);
}

unsigned long kv_mem_trim_count(void)
{
    return atomic_load(&s_trims);
}
