/*
 * kvbus.c -- call one bus operation and print the reply envelope: a
 * debugging and testing aid that speaks to services the way services speak
 * to each other (kv_client over KAIVOX_BUS_ENDPOINT).
 *
 *   kvbus SERVICE OP [JSON-BODY] [--params JSON] [--tenant ID] [--timeout MS]
 *         [--as ROLE]
 *
 * e.g.  kvbus scheduling events.since '{"after":0,"limit":10}'
 *       kvbus scheduling appointments.customer_stats --params '{"customer_id":"7"}' --tenant 3
 * Prints the reply envelope as one JSON line on stdout (the status on
 * stderr) and exits 0 when the status is 2xx, 1 otherwise, 2 on usage errors.
 * It presents the bus key of ROLE (default webhooks) from KAIVOX_BUS_KEYS,
 * as any service calling another does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "kv_client.h"
#include "kv_curve.h"
#include "kv_log.h"

static int s_usage(void)
{
    fprintf(stderr, "usage: kvbus SERVICE OP [JSON-BODY] [--params JSON] [--tenant ID] "
                    "[--timeout MS] [--as ROLE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *service = NULL, *op = NULL, *body_txt = NULL, *params_txt = NULL;
    long long tenant = 0;
    int timeout = 5000;
    const char *role = "webhooks";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--as") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
            tenant = atoll(argv[++i]);
        else if (strcmp(argv[i], "--params") == 0 && i + 1 < argc)
            params_txt = argv[++i];
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            timeout = atoi(argv[++i]);
        else if (!service)
            service = argv[i];
        else if (!op)
            op = argv[i];
        else if (!body_txt)
            body_txt = argv[i];
        else
            return s_usage();
    }
    if (!service || !op || timeout <= 0)
        return s_usage();
    kv_log_init("kvbus");
    json_error_t jerr;
    json_t *body = body_txt ? json_loads(body_txt, JSON_DECODE_ANY, &jerr) : NULL;
    json_t *params = params_txt ? json_loads(params_txt, 0, &jerr) : NULL;
    if ((body_txt && !body) || (params_txt && !json_is_object(params))) {
        fprintf(stderr, "kvbus: invalid JSON: %s\n", jerr.text);
        return 2;
    }
    if (kv_curve_init(role) != 0)
        return 1;
    void *zctx = zmq_ctx_new();
    kv_client_t *c = kv_client_new(zctx);
    if (!c) {
        fprintf(stderr, "kvbus: cannot connect to the bus\n");
        return 1;
    }
    json_t *out = NULL;
    int st = 503;
    /* a fresh client answers 503 until its connection is up: retry briefly */
    for (int tries = 0; tries < 30 && st == 503; tries++) {
        if (tries)
            usleep(100 * 1000);
        if (out) {
            json_decref(out);
            out = NULL;
        }
        st = kv_client_call_tenant(c, "kvbus", (int64_t)tenant, service, op, params, body,
                                   timeout, &out);
    }
    char *txt = out ? json_dumps(out, JSON_COMPACT) : NULL;
    printf("%s\n", txt ? txt : "null");
    fprintf(stderr, "status %d\n", st);
    free(txt);
    if (out)
        json_decref(out);
    if (body)
        json_decref(body);
    if (params)
        json_decref(params);
    kv_client_destroy(&c);
    zmq_ctx_term(zctx);
    return st >= 200 && st < 300 ? 0 : 1;
}
