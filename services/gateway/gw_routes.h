/*
 * gw_routes.h -- the gateway's route tables: METHOD + path pattern ->
 * operation (of the registry in proto/kv_ops.h, which names its service).
 *
 * Patterns are literal segments and {name} segments; a {name} segment
 * matches 1..18 ASCII digits only (ids are positive bigints), anything else
 * makes the pattern not match, so "/appointments/slots" can never be taken
 * for an id and "/services/abc" is 404.  Lookup tells "no such path" (404)
 * from "path exists, method does not" (405, with the Allow list).
 */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include <stddef.h>

#include "kv_ops.h"

typedef struct {
    const char *method;      /* "GET", "POST", "PATCH", "PUT", "DELETE" */
    const char *pattern;     /* "/api/v1/services/{id}" */
    const kv_op_def_t *op;   /* the bus operation, KV_OP(SERVICES_GET) (its name and
                                service: proto/kv_ops.h), or NULL for a route the
                                gateway serves itself */
    int local;               /* for op == NULL: which local handler */
} gw_route_t;

/* Public routes the gateway serves itself (gw_route_t.local, service NULL):
 * the API key routes of the console (gw_console.c). */
enum { GW_LOCAL_KEYS_LIST = 1, GW_LOCAL_KEYS_CREATE, GW_LOCAL_KEYS_REVOKE };

/* The public API, ends with an all-zero entry. */
extern const gw_route_t gw_routes[];

#define GW_PARAMS_MAX      4
#define GW_PARAM_NAME_MAX  24
#define GW_PARAM_VALUE_MAX 18

/* Path parameters captured by a match, in pattern order. */
typedef struct {
    int n;
    struct {
        char name[GW_PARAM_NAME_MAX + 1];
        char value[GW_PARAM_VALUE_MAX + 1];
    } p[GW_PARAMS_MAX];
} gw_params_t;

/* 1 when path matches pattern (filling *params when not NULL), else 0. */
int gw_pattern_match(const char *pattern, const char *path, gw_params_t *params);

enum { GW_ROUTE_FOUND = 0, GW_ROUTE_NOT_FOUND = -1, GW_ROUTE_BAD_METHOD = -2 };

/* Looks method + path up in table (ends with a NULL method).  Returns
 * GW_ROUTE_FOUND (sets *out and *params), GW_ROUTE_NOT_FOUND, or
 * GW_ROUTE_BAD_METHOD (allow gets "GET, POST", comma separated, when not
 * NULL).  The first matching entry in table order wins. */
int gw_route_find(const gw_route_t *table, const char *method, const char *path,
                  const gw_route_t **out, gw_params_t *params,
                  char *allow, size_t allow_size);

/* The value of params' parameter name, or NULL. */
const char *gw_param(const gw_params_t *params, const char *name);

#endif
