/*
 * test_mem.c -- unit tests of kv_mem_idle (shared/kv_mem.c): freed heap
 * memory goes back to the kernel after a quiet second following work, and
 * when the resident size grew by a MiB over its low with no work reported
 * at all (memory freed by a thread that reports none, in another arena
 * than the main thread's), and when the free heap grew by a MiB (memory
 * freed after a trim made while it was in use); nothing is trimmed when
 * nothing grew or while work goes on.  The sleeps are lower bounds: a slow machine only makes
 * them longer, which the rules allow.  Each check is named after the
 * behaviour it proves.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/kvt.h"
#include "kv_env.h"
#include "kv_mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define S_ASAN 1      /* ASan's allocator keeps freed memory in quarantine */
#else
#define S_ASAN 0
#endif

enum { S_BLOCK = 4096, S_BLOCKS = 6144, S_KEEP_EVERY = 32 };   /* 24 MiB */

static void *s_kept[S_BLOCKS / S_KEEP_EVERY + 1];

static long s_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Allocates and touches 24 MiB in 4 KiB blocks, then frees all but every
 * 32nd, so the free space lies inside the arena, not at its top. */
static void *s_churn(void *arg)
{
    (void)arg;
    void **all = calloc(S_BLOCKS, sizeof *all);
    if (!all)
        return NULL;
    for (int i = 0; i < S_BLOCKS; i++) {
        all[i] = malloc(S_BLOCK);
        if (all[i])
            memset(all[i], 0x5a, S_BLOCK);
    }
    for (int i = 0; i < S_BLOCKS; i++) {
        if (i % S_KEEP_EVERY == 0)
            s_kept[i / S_KEEP_EVERY] = all[i];
        else
            free(all[i]);
    }
    free(all);
    return NULL;
}

static void *s_held[S_BLOCKS];

/* Allocates and touches 24 MiB in 4 KiB blocks and keeps them. */
static void *s_hold(void *arg)
{
    (void)arg;
    for (int i = 0; i < S_BLOCKS; i++) {
        s_held[i] = malloc(S_BLOCK);
        if (s_held[i])
            memset(s_held[i], 0xa5, S_BLOCK);
    }
    return NULL;
}

/* Frees what s_hold kept but every 32nd block (the free space stays inside
 * the arena). */
static void s_release(void)
{
    for (int i = 0; i < S_BLOCKS; i++) {
        if (i % S_KEEP_EVERY != 0) {
            free(s_held[i]);
            s_held[i] = NULL;
        }
    }
}

int main(void)
{
    kv_mem_configure();
    unsigned long t0 = kv_mem_trim_count();

    /* the first check only takes the baseline */
    kv_mem_idle(0);
    kv_sleep_ms(1100);
    kv_mem_idle(0);
    KVT_EQ_INT(kv_mem_trim_count(), t0, "no work and no growth: no trim");

    pthread_t t;
    long before = s_rss_kb();
    KVT_OK(pthread_create(&t, NULL, s_churn, NULL) == 0 && pthread_join(t, NULL) == 0,
           "a thread allocated and freed 24 MiB");
    long peak = s_rss_kb();
    KVT_OK(peak - before >= 16 * 1024, "the churn left at least 16 MiB resident (%ld kB)",
           peak - before);

    kv_mem_idle(0);    /* may fall inside the same second as the last check */
    kv_sleep_ms(1100);
    kv_mem_idle(0);
    KVT_EQ_INT(kv_mem_trim_count(), t0 + 1,
               "resident size grown by a MiB with no work reported: one trim");
    long after = s_rss_kb();
    if (!S_ASAN)
        KVT_OK(peak - after >= 16 * 1024,
               "the other thread's arena gave its free pages back (%ld kB of %ld)",
               peak - after, peak - before);

    kv_sleep_ms(1100);
    kv_mem_idle(0);
    KVT_EQ_INT(kv_mem_trim_count(), t0 + 1, "after a trim, without new growth: no trim");

    /* grown by memory in use: a trim that frees nothing; then the memory
     * is freed without the resident size growing: the free heap grew */
    KVT_OK(pthread_create(&t, NULL, s_hold, NULL) == 0 && pthread_join(t, NULL) == 0,
           "a thread allocated 24 MiB and keeps it");
    kv_sleep_ms(1100);
    kv_mem_idle(0);
    KVT_EQ_INT(kv_mem_trim_count(), t0 + 2, "grown by memory in use: one trim");
    peak = s_rss_kb();
    s_release();
    kv_sleep_ms(1100);
    kv_mem_idle(0);
    if (!S_ASAN) {   /* ASan's free() keeps the memory: glibc's free heap does not grow */
        KVT_EQ_INT(kv_mem_trim_count(), t0 + 3,
                   "that memory freed later, resident size not grown: one more trim");
        after = s_rss_kb();
        KVT_OK(peak - after >= 16 * 1024, "and its pages went back (%ld kB)", peak - after);
    }

    kv_mem_idle(1);
    int64_t busy_at = kv_mono_ms();
    unsigned long c = kv_mem_trim_count();
    kv_mem_idle(0);
    if (kv_mono_ms() - busy_at < 900)   /* a stall of a second would make it quiet */
        KVT_EQ_INT(kv_mem_trim_count(), c, "right after work: no trim");
    kv_sleep_ms(1100);
    c = kv_mem_trim_count();
    kv_mem_idle(0);
    KVT_EQ_INT(kv_mem_trim_count(), c + 1, "a quiet second after work: one trim");
    kv_mem_idle(0);
    KVT_EQ_INT(kv_mem_trim_count(), c + 1, "once per quiet spell, not at every idle call");

    for (size_t i = 0; i < sizeof s_kept / sizeof *s_kept; i++)
        free(s_kept[i]);
    for (int i = 0; i < S_BLOCKS; i++)
        free(s_held[i]);
    return kvt_done();
}
