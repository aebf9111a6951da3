/*
 * kv_ops.c -- the operation registry of proto/kv_ops.h as a table.
 *
 * The table is built from the KV_OPS X-macro, so a name exists in one place
 * only.  Lookups by name are a linear scan: they happen when a service
 * starts (checking its table) and when a peer announces its operations,
 * never per request.
 */
#include <string.h>

#include "kv_ops.h"

const kv_op_def_t kv_op_defs[KV_OPID_COUNT] = {
#define KV_OP_X_DEF(sym, nm, svc, fl) [KV_OPID_##sym] = { .name = (nm), .service = (svc), .flags = (fl) },
    KV_OPS(KV_OP_X_DEF)
#undef KV_OP_X_DEF
};

const kv_op_def_t *kv_op_find(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < KV_OPID_COUNT; i++)
        if (strcmp(kv_op_defs[i].name, name) == 0)
            return &kv_op_defs[i];
    return NULL;
}
