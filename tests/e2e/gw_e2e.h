/*
 * gw_e2e.h -- small helpers shared by the gateway's end-to-end tests
 * (tests/e2e/test_gateway_*.c).  Header-only (static functions) so each
 * test stays one self-contained binary.
 */
#ifndef GW_E2E_H
#define GW_E2E_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/kvt.h"
#include "kv_bus.h"
#include "kv_client.h"
#include "kv_proto.h"

/* The envelope's message (borrowed), "" when absent. */
static inline const char *gw_msg(const kvt_resp_t *r)
{
    const char *m = json_string_value(json_object_get(r->json, "message"));
    return m ? m : "";
}

/* True when the body is the error envelope {"success":false,"message":msg}. */
static inline int gw_is_error(const kvt_resp_t *r, const char *msg)
{
    return json_is_false(json_object_get(r->json, "success")) && strcmp(gw_msg(r), msg) == 0;
}

/* Response header name as an integer into *v; 0 found, -1 not. */
static inline int gw_hdr_ll(const kvt_resp_t *r, const char *name, long long *v)
{
    char buf[128];
    if (kvt_header(r, name, buf, sizeof buf) != 0)
        return -1;
    char *end;
    *v = strtoll(buf, &end, 10);
    return end != buf ? 0 : -1;
}

/* True when the response carries header name. */
static inline int gw_has_hdr(const kvt_resp_t *r, const char *name)
{
    char buf[256];
    return kvt_header(r, name, buf, sizeof buf) == 0;
}

/* GET base+path with one extra header line (may be NULL), no key. */
static inline kvt_resp_t gw_get_with(const char *path, const char *header)
{
    char url[1024];
    const char *h[2] = { header, NULL };
    snprintf(url, sizeof url, "%s%s", kvt_env("KVT_BASE_URL", "http://127.0.0.1:18080"), path);
    return kvt_http("GET", url, NULL, 0, header ? h : NULL);
}

/* Creates a service for tenant through the admin API; returns its id or -1. */
static inline long long gw_make_service(long long tenant, const char *name, int duration,
                                        const char *price)
{
    char path[128], body[512];
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/services", tenant);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"duration\":%d,\"price\":\"%s\",\"active\":true}",
             name, duration, price);
    kvt_resp_t r = kvt_admin("POST", path, body);
    json_t *id = json_object_get(json_object_get(r.json, "data"), "id");
    long long v = json_is_integer(id) ? json_integer_value(id) : -1;
    if (v < 0)
        fprintf(stderr, "gw_make_service: %ld %s\n", r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return v;
}

/* A bus client (on zmq) whose connection to the broker is up: a fresh
 * DEALER refuses to send until it is connected (ZMQ_IMMEDIATE), so ping
 * service until it answers (bounded: about 5 s).  Also for the service
 * tests that talk to the bus directly.  Caller owns the result. */
static inline kv_client_t *gw_bus_client_new(void *zmq, const char *service)
{
    kv_client_t *c = kv_client_new(zmq);
    for (int i = 0; c && i < 100; i++) {
        json_t *o = NULL;
        char rid[33];
        kv_bus_new_id(rid);
        int st = kv_client_call_tenant(c, rid, 0, service, KV_OP_PING, NULL, NULL, 1000, &o);
        json_decref(o);
        if (st != KV_ST_UNAVAILABLE)
            break;
        kvt_sleep_ms(50);
    }
    return c;
}

#endif
