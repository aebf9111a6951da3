/*
 * kv_pub.h -- the producer side of the event bus: a PUB socket connected to
 * every gateway's XSUB endpoint (KAIVOX_EVENTS_IN_ENDPOINT, default
 * tcp://127.0.0.1:7701; a list, or a name standing for every gateway:
 * kv_disc.h).  One per thread.  Sending is best effort: the outbox and the
 * events.since catch-up make a lost message harmless.
 */
#ifndef KV_PUB_H
#define KV_PUB_H

#include "kv_bus.h"

typedef struct kv_pub kv_pub_t;

/* NULL when the setting is malformed or the bus keys are not loaded
 * (logged).  Caller owns the result. */
kv_pub_t *kv_pub_new(void *zmq_ctx);
void kv_pub_destroy(kv_pub_t **pp);
/* Publishes [producer][hdr][payload]; 0 or -1. */
int kv_pub_send(kv_pub_t *p, const kv_event_hdr_t *h, const char *payload, size_t len);

#endif
