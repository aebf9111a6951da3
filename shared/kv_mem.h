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

#endif
