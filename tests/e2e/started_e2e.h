/*
 * started_e2e.h -- appointments that have started, for end-to-end tests.
 *
 * An appointment can be set to completed or no_show only once it has
 * started in the tenant's time zone, and the API books only the future.
 * The tests therefore book in a tenant whose zone is ST_EARLY_TZ (UTC-12)
 * for tomorrow between 00:00 and 01:45 local time (st_tomorrow), and ask
 * the scheduling service over the bus, as the gateway does, with the
 * tenant's zone given as ST_LATE_TZ (UTC+14): that wall clock reads 26
 * hours later, so such an appointment has started whatever the time of
 * day, while through HTTP (the tenant's real zone) it has not.  The
 * service's logic is the real one; only the zone in the request header
 * differs.  Header-only, like the other e2e helpers.
 */
#ifndef STARTED_E2E_H
#define STARTED_E2E_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "gw_e2e.h"
#include "kv_bus.h"
#include "kv_client.h"

#define ST_EARLY_TZ "Etc/GMT+12"   /* UTC-12: the tenant's zone */
#define ST_LATE_TZ  "Etc/GMT-14"   /* UTC+14: 26 hours later on the wall clock */

/* Tomorrow's date in ST_EARLY_TZ as Y-m-d into out[11]. */
static inline void st_tomorrow(char out[11])
{
    time_t t = time(NULL) - 12 * 3600 + 86400;   /* UTC-12, one day on */
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Calls scheduling's appointments.<op> (set_status or cancel) for
 * appointment id of tenant over the bus, with the tenant's time zone given
 * as tz; body is a JSON text or NULL.  Returns the status; *out gets the
 * envelope (caller frees; may be NULL). */
static inline int st_call(int64_t tenant, const char *tz, const char *op, long long id,
                          const char *body, json_t **out)
{
    void *zctx = zmq_ctx_new();
    kv_client_t *c = gw_bus_client_new(zctx, "scheduling");
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = 1;
    kv_bus_new_id(h.id);
    h.tenant_id = tenant;
    snprintf(h.tenant_tz, sizeof h.tenant_tz, "%s", tz);
    h.slot_interval = 15;
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    json_t *params = json_pack("{s:s}", "id", ids);
    json_t *b = body ? json_loads(body, 0, NULL) : NULL;
    json_t *env = NULL;
    int st = kv_client_call(c, &h, "scheduling", op, params, b, 5000, &env);
    json_decref(params);
    json_decref(b);
    if (out)
        *out = env;
    else
        json_decref(env);
    kv_client_destroy(&c);
    zmq_ctx_term(zctx);
    return st;
}

/* Sets appointment id of tenant to status as seen 26 hours later (the
 * appointment has started).  Returns the status of the answer. */
static inline int st_set_status(int64_t tenant, long long id, const char *status)
{
    char body[64];
    snprintf(body, sizeof body, "{\"status\":\"%s\"}", status);
    return st_call(tenant, ST_LATE_TZ, "appointments.set_status", id, body, NULL);
}

#endif
