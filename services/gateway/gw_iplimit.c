/*
 * gw_iplimit.c -- per-client connection counts and failed-authentication
 * windows (see gw_iplimit.h).
 *
 * gw_ipcount_t is a chained hash table over a fixed pool of nodes: buckets
 * (a power of two, at least twice the capacity) hold the index of their
 * first node, a free list holds the unused ones.  No allocation after
 * gw_ipcount_new.
 */
#include "gw_iplimit.h"

#include <stdlib.h>
#include <string.h>

#include "kv_mem.h"

/* ---- connections per address --------------------------------------------- */

typedef struct {
    gw_addr_t addr;
    int count;
    int next;                /* next node in the bucket or the free list; -1 ends */
} ipc_node_t;

struct gw_ipcount {
    int *buckets;            /* nbuckets heads, -1 empty */
    unsigned nbuckets;       /* power of two */
    ipc_node_t *nodes;       /* capacity of them */
    int capacity;
    int free_head;           /* first unused node, -1 none */
    int size;                /* addresses in the table */
};

gw_ipcount_t *gw_ipcount_new(int capacity)
{
    gw_ipcount_t *t = kv_calloc(1, sizeof *t);
    t->capacity = capacity < 1 ? 1 : capacity;
    t->nbuckets = 16;
    while (t->nbuckets < 2u * (unsigned)t->capacity)
        t->nbuckets *= 2;
    t->buckets = kv_calloc(t->nbuckets, sizeof *t->buckets);
    for (unsigned i = 0; i < t->nbuckets; i++)
        t->buckets[i] = -1;
    t->nodes = kv_calloc((size_t)t->capacity, sizeof *t->nodes);
    for (int i = 0; i < t->capacity; i++)
        t->nodes[i].next = i + 1 < t->capacity ? i + 1 : -1;
    t->free_head = 0;
    return t;
}

void gw_ipcount_destroy(gw_ipcount_t **pt)
{
    if (!pt || !*pt)
        return;
    free((*pt)->buckets);
    free((*pt)->nodes);
    free(*pt);
    *pt = NULL;
}

static int *s_slot(const gw_ipcount_t *t, const gw_addr_t *a)
{
    return &t->buckets[gw_addr_hash(a) & (t->nbuckets - 1)];
}

int gw_ipcount_get(const gw_ipcount_t *t, const gw_addr_t *a)
{
    for (int i = *s_slot(t, a); i >= 0; i = t->nodes[i].next)
        if (gw_addr_eq(&t->nodes[i].addr, a))
            return t->nodes[i].count;
    return 0;
}

int gw_ipcount_add(gw_ipcount_t *t, const gw_addr_t *a)
{
    int *head = s_slot(t, a);
    for (int i = *head; i >= 0; i = t->nodes[i].next) {
        if (gw_addr_eq(&t->nodes[i].addr, a)) {
            t->nodes[i].count++;
            return 0;
        }
    }
    if (t->free_head < 0)
        return -1;
    int i = t->free_head;
    t->free_head = t->nodes[i].next;
    t->nodes[i].addr = *a;
    t->nodes[i].count = 1;
    t->nodes[i].next = *head;
    *head = i;
    t->size++;
    return 0;
}

void gw_ipcount_sub(gw_ipcount_t *t, const gw_addr_t *a)
{
    int *pp = s_slot(t, a);
    while (*pp >= 0) {
        ipc_node_t *nd = &t->nodes[*pp];
        if (gw_addr_eq(&nd->addr, a)) {
            if (--nd->count <= 0) {
                int i = *pp;
                *pp = nd->next;
                nd->next = t->free_head;
                t->free_head = i;
                t->size--;
            }
            return;
        }
        pp = &nd->next;
    }
}

int gw_ipcount_size(const gw_ipcount_t *t)
{
    return t->size;
}

/* ---- failed authentications per address ------------------------------------ */

#define AF_SETS 1024
#define AF_WAYS 4

typedef struct {
    gw_addr_t addr;
    int64_t start;           /* epoch seconds the window began; 0: empty */
    int count;               /* failures in the window */
} af_slot_t;

struct gw_authfail {
    int limit;
    int window_s;
    af_slot_t (*sets)[AF_WAYS];
};

gw_authfail_t *gw_authfail_new(int limit, int window_s)
{
    gw_authfail_t *t = kv_calloc(1, sizeof *t);
    t->limit = limit < 0 ? 0 : limit;
    t->window_s = window_s < 1 ? 1 : window_s;
    t->sets = kv_calloc(AF_SETS, sizeof *t->sets);
    return t;
}

void gw_authfail_destroy(gw_authfail_t **pt)
{
    if (!pt || !*pt)
        return;
    free((*pt)->sets);
    free(*pt);
    *pt = NULL;
}

/* The live slot of a, or NULL. */
static af_slot_t *s_af_find(gw_authfail_t *t, const gw_addr_t *a, int64_t now_s)
{
    af_slot_t *set = t->sets[gw_addr_hash(a) % AF_SETS];
    for (int i = 0; i < AF_WAYS; i++) {
        af_slot_t *s = &set[i];
        if (s->start && gw_addr_eq(&s->addr, a)) {
            if (now_s >= s->start + t->window_s || now_s < s->start) {
                s->start = 0;          /* window over: forget it */
                return NULL;
            }
            return s;
        }
    }
    return NULL;
}

int gw_authfail_blocked(gw_authfail_t *t, const gw_addr_t *a, int64_t now_s)
{
    if (t->limit <= 0)
        return 0;
    af_slot_t *s = s_af_find(t, a, now_s);
    if (!s || s->count < t->limit)
        return 0;
    int64_t wait = s->start + t->window_s - now_s;
    return wait < 1 ? 1 : (int)wait;
}

void gw_authfail_record(gw_authfail_t *t, const gw_addr_t *a, int64_t now_s)
{
    if (t->limit <= 0)
        return;
    af_slot_t *s = s_af_find(t, a, now_s);
    if (!s) {
        af_slot_t *set = t->sets[gw_addr_hash(a) % AF_SETS];
        s = &set[0];
        for (int i = 0; i < AF_WAYS; i++) {
            af_slot_t *c = &set[i];
            if (c->start == 0 || now_s >= c->start + t->window_s) {
                s = c;                 /* empty or expired */
                break;
            }
            if (c->start < s->start)
                s = c;                 /* else the window that began first */
        }
        s->addr = *a;
        s->start = now_s > 0 ? now_s : 1;
        s->count = 0;
    }
    if (s->count < t->limit)
        s->count++;
}
