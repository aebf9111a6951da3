/*
 * test_routes.c -- the route table: literal and {id} segments, digits only,
 * 404 versus 405 with the Allow list, and every public route reachable.
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/gateway/gw_routes.h"

static const char *s_op(const char *method, const char *path)
{
    const gw_route_t *r = NULL;
    gw_params_t p;
    if (gw_route_find(gw_routes, method, path, &r, &p, NULL, 0) != GW_ROUTE_FOUND)
        return "";
    return r->op->name;
}

int main(void)
{
    gw_params_t p;
    const gw_route_t *r = NULL;
    char allow[64];

    KVT_OK(gw_pattern_match("/a/{id}", "/a/12", &p) && p.n == 1 &&
          strcmp(p.p[0].name, "id") == 0 && strcmp(p.p[0].value, "12") == 0,
          "id segment captures its digits");
    KVT_OK(!gw_pattern_match("/a/{id}", "/a/abc", &p), "id segment refuses letters");
    KVT_OK(!gw_pattern_match("/a/{id}", "/a/-1", &p), "id segment refuses a sign");
    KVT_OK(!gw_pattern_match("/a/{id}", "/a/1.5", &p), "id segment refuses a decimal");
    KVT_OK(!gw_pattern_match("/a/{id}", "/a/", &p), "id segment refuses empty");
    KVT_OK(gw_pattern_match("/a/{id}", "/a/123456789012345678", &p), "id segment takes 18 digits");
    KVT_OK(!gw_pattern_match("/a/{id}", "/a/1234567890123456789", &p), "id segment refuses 19 digits");
    KVT_OK(!gw_pattern_match("/a/{id}", "/a/1/", &p), "trailing slash does not match");
    KVT_OK(!gw_pattern_match("/a/{id}", "/a//1", &p), "double slash does not match");
    KVT_OK(!gw_pattern_match("/a", "/ab", &p), "literal segment must match whole");
    KVT_OK(!gw_pattern_match("/ab", "/a", &p), "literal segment must match whole, shorter path");
    KVT_OK(gw_pattern_match("/a/{x}/b/{y}", "/a/1/b/22", &p) && p.n == 2 &&
          strcmp(gw_param(&p, "y"), "22") == 0, "two parameters are captured in order");

    KVT_OK(strcmp(s_op("GET", "/api/v1/services"), "services.list") == 0, "GET services lists");
    KVT_OK(strcmp(s_op("GET", "/api/v1/services/7"), "services.get") == 0, "GET services/{id} shows");
    KVT_OK(strcmp(s_op("GET", "/api/v1/appointments/slots"), "appointments.slots") == 0,
          "appointments/slots is not taken for an id");
    KVT_OK(strcmp(s_op("GET", "/api/v1/appointments/5"), "appointments.get") == 0, "appointment by id");
    KVT_OK(strcmp(s_op("DELETE", "/api/v1/appointments/5"), "appointments.cancel") == 0,
          "DELETE appointment cancels");
    KVT_OK(strcmp(s_op("PATCH", "/api/v1/appointments/5/status"), "appointments.set_status") == 0,
          "PATCH appointment status");
    KVT_OK(strcmp(s_op("PATCH", "/api/v1/appointments/5"), "appointments.update") == 0,
          "PATCH appointment reschedules");
    KVT_OK(strcmp(s_op("POST", "/api/v1/appointments/holds"), "appointments.hold_create") == 0,
          "POST appointments/holds holds a slot (not taken for an id)");
    KVT_OK(strcmp(s_op("DELETE", "/api/v1/appointments/holds/8"), "appointments.hold_release") == 0,
          "DELETE appointments/holds/{id} releases");
    KVT_OK(strcmp(s_op("GET", "/api/v1/calls/stats"), "calls.stats") == 0,
          "calls/stats is not taken for an id");
    KVT_OK(strcmp(s_op("GET", "/api/v1/calls/8"), "calls.get") == 0, "call by id");
    int rc0 = gw_route_find(gw_routes, "GET", "/api/v1/appointments/holds", &r, &p, allow, sizeof allow);
    KVT_OK(rc0 == GW_ROUTE_BAD_METHOD && strcmp(allow, "POST") == 0,
          "GET appointments/holds is 405 with Allow POST");
    KVT_OK(strcmp(s_op("POST", "/api/v1/webhooks/deliveries/9/redeliver"), "webhooks.redeliver") == 0,
          "redeliver route is not taken for a webhook id");
    KVT_OK(strcmp(s_op("POST", "/api/v1/webhooks/9/rotate-secret"), "webhooks.rotate_secret") == 0,
           "rotate-secret routes to webhooks.rotate_secret");
    KVT_OK(strcmp(s_op("GET", "/api/v1/webhooks/9/deliveries"), "webhooks.deliveries") == 0,
          "deliveries of a webhook");

    int rc = gw_route_find(gw_routes, "GET", "/api/v1/services/abc", &r, &p, allow, sizeof allow);
    KVT_OK(rc == GW_ROUTE_NOT_FOUND, "non-digit id is 404");
    rc = gw_route_find(gw_routes, "GET", "/api/v1/nothing", &r, &p, allow, sizeof allow);
    KVT_OK(rc == GW_ROUTE_NOT_FOUND, "unknown path is 404");
    rc = gw_route_find(gw_routes, "DELETE", "/api/v1/services", &r, &p, allow, sizeof allow);
    KVT_OK(rc == GW_ROUTE_BAD_METHOD && strcmp(allow, "GET") == 0, "wrong method is 405 with Allow GET");
    rc = gw_route_find(gw_routes, "PUT", "/api/v1/appointments/3", &r, &p, allow, sizeof allow);
    KVT_OK(rc == GW_ROUTE_BAD_METHOD && strcmp(allow, "GET, DELETE, PATCH") == 0,
          "Allow lists every method of the path");
    rc = gw_route_find(gw_routes, "PATCH", "/api/v1/customers/3", &r, &p, allow, sizeof allow);
    KVT_OK(rc == GW_ROUTE_FOUND && strcmp(gw_param(&p, "id"), "3") == 0, "path id goes into params");

    int n = 0, ok = 1;
    for (const gw_route_t *x = gw_routes; x->method; x++) {
        n++;
        /* an operation of a service, or a route the gateway serves itself */
        ok &= ((x->op != NULL && x->op->service != NULL) || (x->op == NULL && x->local > 0)) &&
              strncmp(x->pattern, "/api/v1/", 8) == 0;
        /* each route reachable with a concrete path */
        char path[128];
        size_t o = 0;
        for (const char *c = x->pattern; *c && o < sizeof path - 4;) {
            if (*c == '{') {
                path[o++] = '4';
                path[o++] = '2';
                c = strchr(c, '}') + 1;
            } else {
                path[o++] = *c++;
            }
        }
        path[o] = '\0';
        const gw_route_t *got = NULL;
        ok &= gw_route_find(gw_routes, x->method, path, &got, &p, NULL, 0) == GW_ROUTE_FOUND && got == x;
    }
    KVT_OK(ok && n == 34, "all 34 public routes are complete and reachable (got %d)", n);
    return kvt_done();
}
