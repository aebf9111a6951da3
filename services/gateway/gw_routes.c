/*
 * gw_routes.c -- the public route table and the pattern matcher.
 *
 * Adding an endpoint: one line here naming its operation's symbol in the
 * registry (proto/kv_ops.h), and the path in docs/openapi.yaml (the test
 * test_gateway_openapi_routes compares them through `kaivox-gateway
 * --print-routes`; test_bus_ops checks that the operation's service serves
 * it).  Order matters only for readability: {id} matches digits only, so
 * literal segments and ids never compete.
 */
#include "gw_routes.h"

#include <stdio.h>
#include <string.h>

#include "kv_ops.h"

/* A route to operation sym of the registry (proto/kv_ops.h), which says
 * which service serves it: the name is never typed here. */
#define R(m, p, sym) { .method = (m), .pattern = (p), .op = KV_OP(sym), .local = 0 }
/* A route the gateway serves itself (gw_console.c), for console sessions only. */
#define L(m, p, l) { .method = (m), .pattern = (p), .op = NULL, .local = (l) }

const gw_route_t gw_routes[] = {
    /* scheduling: services */
    R("GET",   "/api/v1/services",                             SERVICES_LIST),
    R("GET",   "/api/v1/services/{id}",                        SERVICES_GET),
    /* scheduling: staff */
    R("GET",   "/api/v1/staff",                                STAFF_LIST),
    R("GET",   "/api/v1/staff/{id}",                           STAFF_GET),
    /* scheduling: appointments */
    R("GET",   "/api/v1/appointments",                         APPOINTMENTS_LIST),
    R("POST",  "/api/v1/appointments",                         APPOINTMENTS_CREATE),
    R("GET",   "/api/v1/appointments/slots",                   APPOINTMENTS_SLOTS),
    R("GET",   "/api/v1/appointments/{id}",                    APPOINTMENTS_GET),
    R("DELETE", "/api/v1/appointments/{id}",                   APPOINTMENTS_CANCEL),
    R("PATCH", "/api/v1/appointments/{id}",                    APPOINTMENTS_UPDATE),
    R("PATCH", "/api/v1/appointments/{id}/status",             APPOINTMENTS_SET_STATUS),
    R("POST",  "/api/v1/appointments/holds",                   APPOINTMENTS_HOLD_CREATE),
    R("DELETE", "/api/v1/appointments/holds/{id}",             APPOINTMENTS_HOLD_RELEASE),
    /* crm: customers */
    R("GET",   "/api/v1/customers",                            CUSTOMERS_LIST),
    R("POST",  "/api/v1/customers",                            CUSTOMERS_CREATE),
    R("GET",   "/api/v1/customers/{id}",                       CUSTOMERS_GET),
    R("PATCH", "/api/v1/customers/{id}",                       CUSTOMERS_UPDATE),
    /* calls */
    R("GET",   "/api/v1/calls",                                CALLS_LIST),
    R("POST",  "/api/v1/calls",                                CALLS_CREATE),
    R("GET",   "/api/v1/calls/stats",                          CALLS_STATS),
    R("GET",   "/api/v1/calls/{id}",                           CALLS_GET),
    /* webhooks */
    R("GET",   "/api/v1/webhooks",                             WEBHOOKS_LIST),
    R("POST",  "/api/v1/webhooks",                             WEBHOOKS_CREATE),
    R("GET",   "/api/v1/webhooks/{id}",                        WEBHOOKS_GET),
    R("PATCH", "/api/v1/webhooks/{id}",                        WEBHOOKS_UPDATE),
    R("DELETE", "/api/v1/webhooks/{id}",                       WEBHOOKS_DELETE),
    R("GET",   "/api/v1/webhooks/{id}/deliveries",             WEBHOOKS_DELIVERIES),
    R("POST",  "/api/v1/webhooks/deliveries/{id}/redeliver",   WEBHOOKS_REDELIVER),
    R("POST",  "/api/v1/webhooks/{id}/rotate-secret",         WEBHOOKS_ROTATE_SECRET),
    R("POST",  "/api/v1/webhooks/{id}/test",                  WEBHOOKS_TEST),
    R("GET",   "/api/v1/webhooks/deliveries",                  WEBHOOKS_LOG),
    /* the gateway: API keys, managed from the console (a key gets 403) */
    L("GET",    "/api/v1/api-keys",                            GW_LOCAL_KEYS_LIST),
    L("POST",   "/api/v1/api-keys",                            GW_LOCAL_KEYS_CREATE),
    L("DELETE", "/api/v1/api-keys/{id}",                       GW_LOCAL_KEYS_REVOKE),
    { 0 }
};

int gw_pattern_match(const char *pattern, const char *path, gw_params_t *params)
{
    const char *p = pattern, *s = path;
    if (params)
        params->n = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        size_t plen = strcspn(p, "/");
        size_t slen = strcspn(s, "/");
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen < 1 || slen > GW_PARAM_VALUE_MAX)
                return 0;
            for (size_t i = 0; i < slen; i++) {
                if (s[i] < '0' || s[i] > '9')
                    return 0;
            }
            if (params) {
                size_t nlen = plen - 2;
                if (params->n >= GW_PARAMS_MAX || nlen > GW_PARAM_NAME_MAX)
                    return 0;
                memcpy(params->p[params->n].name, p + 1, nlen);
                params->p[params->n].name[nlen] = '\0';
                memcpy(params->p[params->n].value, s, slen);
                params->p[params->n].value[slen] = '\0';
                params->n++;
            }
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
    return *p == '\0' && *s == '\0';
}

int gw_route_find(const gw_route_t *table, const char *method, const char *path,
                  const gw_route_t **out, gw_params_t *params,
                  char *allow, size_t allow_size)
{
    int path_known = 0;
    size_t used = 0;
    if (allow && allow_size)
        allow[0] = '\0';
    for (const gw_route_t *r = table; r->method; r++) {
        if (!gw_pattern_match(r->pattern, path, NULL))
            continue;
        if (strcmp(r->method, method) == 0) {
            if (out)
                *out = r;
            if (params)
                gw_pattern_match(r->pattern, path, params);
            return GW_ROUTE_FOUND;
        }
        path_known = 1;
        if (allow && allow_size) {
            int w = snprintf(allow + used, allow_size - used, "%s%s",
                             used ? ", " : "", r->method);
            if (w > 0 && (size_t)w < allow_size - used)
                used += (size_t)w;
        }
    }
    return path_known ? GW_ROUTE_BAD_METHOD : GW_ROUTE_NOT_FOUND;
}

const char *gw_param(const gw_params_t *params, const char *name)
{
    for (int i = 0; i < params->n; i++) {
        if (strcmp(params->p[i].name, name) == 0)
            return params->p[i].value;
    }
    return NULL;
}
