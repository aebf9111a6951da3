/*
 * gw_routes.c -- the public route table and the pattern matcher.
 *
 * Adding an endpoint: one line here (and the path in docs/openapi.yaml; the
 * test test_gateway_openapi_routes compares them through `kaivox-gateway
 * --print-routes`).  Order matters only for readability: {id} matches digits
 * only, so literal segments and ids never compete.
 */
#include "gw_routes.h"

#include <stdio.h>
#include <string.h>

#include "kv_proto.h"

#define R(m, p, s, o) { .method = (m), .pattern = (p), .service = (s), .op = (o), .local = 0 }
/* A route the gateway serves itself (gw_console.c), for console sessions only. */
#define L(m, p, l)    { .method = (m), .pattern = (p), .service = NULL, .op = NULL, .local = (l) }

const gw_route_t gw_routes[] = {
    /* scheduling: services */
    R("GET",    "/api/v1/services",                     KV_SVC_SCHEDULING, "services.list"),
    R("GET",    "/api/v1/services/{id}",                KV_SVC_SCHEDULING, "services.get"),
    /* scheduling: staff */
    R("GET",    "/api/v1/staff",                        KV_SVC_SCHEDULING, "staff.list"),
    R("GET",    "/api/v1/staff/{id}",                   KV_SVC_SCHEDULING, "staff.get"),
    /* scheduling: appointments */
    R("GET",    "/api/v1/appointments",                 KV_SVC_SCHEDULING, "appointments.list"),
    R("POST",   "/api/v1/appointments",                 KV_SVC_SCHEDULING, "appointments.create"),
    R("GET",    "/api/v1/appointments/slots",           KV_SVC_SCHEDULING, "appointments.slots"),
    R("GET",    "/api/v1/appointments/{id}",            KV_SVC_SCHEDULING, "appointments.get"),
    R("DELETE", "/api/v1/appointments/{id}",            KV_SVC_SCHEDULING, "appointments.cancel"),
    R("PATCH",  "/api/v1/appointments/{id}/status",     KV_SVC_SCHEDULING, "appointments.set_status"),
    /* crm: customers */
    R("GET",    "/api/v1/customers",                    KV_SVC_CRM, "customers.list"),
    R("POST",   "/api/v1/customers",                    KV_SVC_CRM, "customers.create"),
    R("GET",    "/api/v1/customers/{id}",               KV_SVC_CRM, "customers.get"),
    R("PATCH",  "/api/v1/customers/{id}",               KV_SVC_CRM, "customers.update"),
    /* calls */
    R("GET",    "/api/v1/calls",                        KV_SVC_CALLS, "calls.list"),
    R("POST",   "/api/v1/calls",                        KV_SVC_CALLS, "calls.create"),
    R("GET",    "/api/v1/calls/{id}",                   KV_SVC_CALLS, "calls.get"),
    /* webhooks */
    R("GET",    "/api/v1/webhooks",                     KV_SVC_WEBHOOKS, "webhooks.list"),
    R("POST",   "/api/v1/webhooks",                     KV_SVC_WEBHOOKS, "webhooks.create"),
    R("GET",    "/api/v1/webhooks/{id}",                KV_SVC_WEBHOOKS, "webhooks.get"),
    R("PATCH",  "/api/v1/webhooks/{id}",                KV_SVC_WEBHOOKS, "webhooks.update"),
    R("DELETE", "/api/v1/webhooks/{id}",                KV_SVC_WEBHOOKS, "webhooks.delete"),
    R("GET",    "/api/v1/webhooks/{id}/deliveries",     KV_SVC_WEBHOOKS, "webhooks.deliveries"),
    R("POST",   "/api/v1/webhooks/deliveries/{id}/redeliver", KV_SVC_WEBHOOKS, "webhooks.redeliver"),
    R("POST",   "/api/v1/webhooks/{id}/test",           KV_SVC_WEBHOOKS, "webhooks.test"),
    R("GET",    "/api/v1/webhooks/deliveries",          KV_SVC_WEBHOOKS, "webhooks.log"),
    /* the gateway: API keys, managed from the console (a key gets 403) */
    L("GET",    "/api/v1/api-keys",                     GW_LOCAL_KEYS_LIST),
    L("POST",   "/api/v1/api-keys",                     GW_LOCAL_KEYS_CREATE),
    L("DELETE", "/api/v1/api-keys/{id}",                GW_LOCAL_KEYS_REVOKE),
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
