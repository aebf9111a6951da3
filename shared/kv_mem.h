/*
 * kv_mem.h -- allocation wrappers that never return NULL.
 *
 * Like Redis' zmalloc: running out of memory is not an error a request
 * handler can do anything useful about, so the wrappers log one line and
 * abort.  Callers never check for NULL.
 */
#ifndef KV_MEM_H
#define KV_MEM_H

#include <stddef.h>

void *kv_malloc(size_t n);
void *kv_calloc(size_t count, size_t n);
void *kv_realloc(void *p, size_t n);
char *kv_strdup(const char *s);
char *kv_strndup(const char *s, size_t n);
/* printf into a fresh buffer.  Caller owns the result (free()). */
char *kv_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The allocator's settings of a long-running process; call at the start
 * of main, before any thread exists.  At most 2 malloc arenas (glibc
 * otherwise makes one per thread that allocates, up to 8 per core, each
 * keeping its own freed memory), and fixed mmap / trim thresholds of
 * 128 KiB (glibc otherwise raises both after the first large block is
 * freed, after which freed memory below 32 MiB is never returned): a large
 * block (a PostgreSQL result of thousands of rows, a big body) is mapped
 * and unmapped on its own, and free space at the top of a heap is given
 * back.  KAIVOX_MALLOC_ARENAS (1..8, default 2) overrides the arena count.
 * No-op under AddressSanitizer, which has its own allocator. */
void kv_mem_configure(void);

/* busy != 0: the caller did work (cheap: a clock read and two atomic
 * stores).  busy == 0: the caller is idle, and may give freed heap memory
 * back to the kernel (malloc_trim(0): every arena, free pages inside them
 * too), in whichever idle thread comes first:
 *  - once, when no thread reported work for a second and some was
 *    reported since the last trim;
 *  - when the resident size (/proc/self/statm) or the free heap
 *    (mallinfo2) grew by 512 KiB or more over its lowest since the last
 *    trim, looked at twice a second, work or not: memory freed by threads
 *    that report no work (a deliverer, ZeroMQ's I/O thread) or during a
 *    long burst goes back too.
 * Thread-safe.  A trim costs about 1 ms per 10 MB of free heap. */
void kv_mem_idle(int busy);

/* How many trims kv_mem_idle made (tests, diagnostics). */
unsigned long kv_mem_trim_count(void);

#endif
