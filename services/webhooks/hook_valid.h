/*
 * hook_valid.h -- the webhook endpoint resource's input rules, as pure
 * functions: the bodies of POST /api/v1/webhooks and PATCH
 * /api/v1/webhooks/{id}.
 *
 * Everything that can be judged without the network is judged here: the
 * fields, the URL's shape (hook_url_parse) and, for an IP address, the
 * SSRF guard under the given policy.  A host name is resolved and its
 * addresses checked by the handlers (endpoints.c), after every cheaper
 * check has passed.  No I/O: the fuzz harness tests/fuzz/fuzz_body_hooks.c
 * drives these directly.  Each problem is added to errors (the 422
 * envelope's shape, kv_errors_add).
 */
#ifndef HOOK_VALID_H
#define HOOK_VALID_H

#include <jansson.h>

#include "ssrf.h"

/* Room for the PostgreSQL array literal of every event type. */
#define HOOK_EVENTS_LITERAL_MAX 160

/* A validated create or update body.  The strings are borrowed from the
 * body and live as long as it does; NULL means not given. */
typedef struct {
    const char *url;             /* the URL as given */
    hook_url_t target;           /* when url: where it connects */
    const char *events;          /* "{appointment.created,...}" in canonical
                                    order, duplicates dropped; points into
                                    events_buf */
    char events_buf[HOOK_EVENTS_LITERAL_MAX];
    int desc_set;                /* description given (NULL desc: clear it) */
    const char *desc;
    const char *active;          /* "true" or "false" (update only) */
} hook_endpoint_input_t;

/* Validates body (any JSON value, NULL when absent) as a create request:
 * url and events required, description optional, nothing else.  policy
 * judges a URL whose host is an IP address.  Returns 0 and fills *out
 * when valid, else -1 with errors added. */
int hook_parse_create(json_t *body, hook_allow_t policy, hook_endpoint_input_t *out,
                      json_t *errors);

/* Validates body as an update: a non-empty object of url, events,
 * description, active.  Same contract as hook_parse_create. */
int hook_parse_update(json_t *body, hook_allow_t policy, hook_endpoint_input_t *out,
                      json_t *errors);

#endif
