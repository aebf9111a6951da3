/*
 * gw_admin.h -- the operator API on its own listener (KAIVOX_ADMIN_ADDR,
 * KAIVOX_ADMIN_PORT, default 127.0.0.1:8081), behind a bearer token.
 *
 * Tenants and API keys live in the gateway's own schema and are served
 * here directly; services and staff belong to scheduling and are forwarded
 * to its admin.* operations with the tenant's context.  kaivoxctl is the
 * client.  docs/openapi.yaml does not list these routes (they are not
 * public); README.md and `kaivoxctl --help` do.
 */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include "gw_http.h"

#define GW_ADMIN_TOKEN_MIN 16

/* Remembers the admin token (its SHA-256).  Returns 0, or -1 when token
 * is NULL or shorter than GW_ADMIN_TOKEN_MIN: then the listener must not
 * start. */
int gw_admin_configure(const char *token);

/* The admin listener's dispatch function (gw_dispatch_fn). */
int gw_admin_dispatch(gw_req_t *r);

#endif
