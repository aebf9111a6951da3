/*
 * gw_ratelimit.c -- fixed-window rate limiting (see gw_ratelimit.h).
 *
 * 1024 sets of 4 slots; a set is chosen by a hash of the key id and has its
 * own mutex, so the HTTP threads rarely contend.  Memory is fixed at start.
 */
#include "gw_ratelimit.h"

#include <pthread.h>
#include <stdlib.h>

#include "kv_mem.h"

#define RL_SETS 1024
#define RL_WAYS 4

typedef struct {
    int64_t key_id;          /* 0: empty */
    int64_t start;           /* epoch seconds the window began */
    int count;               /* requests counted in the window (<= limit) */
} rl_slot_t;

typedef struct {
    pthread_mutex_t mu;      /* guards slots */
    rl_slot_t slots[RL_WAYS];
} rl_set_t;

struct gw_ratelimit {
    int limit;               /* requests per window */
    int window_s;            /* window length */
    rl_set_t *sets;          /* RL_SETS of them */
};

gw_ratelimit_t *gw_ratelimit_new(int limit, int window_s)
{
    gw_ratelimit_t *rl = kv_calloc(1, sizeof *rl);
    rl->limit = limit < 1 ? 1 : limit;
    rl->window_s = window_s < 1 ? 1 : window_s;
    rl->sets = kv_calloc(RL_SETS, sizeof *rl->sets);
    for (int i = 0; i < RL_SETS; i++)
        pthread_mutex_init(&rl->sets[i].mu, NULL);
    return rl;
}

void gw_ratelimit_destroy(gw_ratelimit_t **prl)
{
    if (!prl || !*prl)
        return;
    gw_ratelimit_t *rl = *prl;
    for (int i = 0; i < RL_SETS; i++)
        pthread_mutex_destroy(&rl->sets[i].mu);
    free(rl->sets);
    free(rl);
    *prl = NULL;
}

void gw_rl_step(int64_t *start, int *count, int64_t now_s, int window_s, int limit,
                gw_rl_result_t *out)
{
    if (*count == 0 || now_s >= *start + window_s || now_s < *start) {
        *start = now_s;
        *count = 0;
    }
    out->limit = limit;
    out->reset = *start + window_s;
    if (*count < limit) {
        (*count)++;
        out->allowed = 1;
    } else {
        out->allowed = 0;
    }
    out->remaining = limit - *count;
    int64_t wait = out->reset - now_s;
    out->retry_after = wait < 1 ? 1 : (int)wait;
}

void gw_ratelimit_hit(gw_ratelimit_t *rl, int64_t key_id, int64_t now_s, gw_rl_result_t *out)
{
    uint64_t h = (uint64_t)key_id * 0x9E3779B97F4A7C15ull;
    rl_set_t *set = &rl->sets[(h >> 32) % RL_SETS];
    pthread_mutex_lock(&set->mu);
    rl_slot_t *slot = NULL, *victim = &set->slots[0];
    for (int i = 0; i < RL_WAYS; i++) {
        rl_slot_t *s = &set->slots[i];
        if (s->key_id == key_id) {
            slot = s;
            break;
        }
        /* Replace an empty slot, else the window that began first (an
         * expired window always began before a live one). */
        if (victim->key_id != 0 && (s->key_id == 0 || s->start < victim->start))
            victim = s;
    }
    if (!slot) {
        slot = victim;
        slot->key_id = key_id;
        slot->start = now_s;
        slot->count = 0;
    }
    gw_rl_step(&slot->start, &slot->count, now_s, rl->window_s, rl->limit, out);
    pthread_mutex_unlock(&set->mu);
}
