/*
 * test_calls_events.c -- the events of the calls service, read back from
 * its outbox with the system operation events.since over the bus, as the
 * webhooks service does when it catches up (this test is a bus client
 * itself, kv_client on KAIVOX_BUS_ENDPOINT, like tests/tools/kvbus): one
 * call.ended per logged call, one extra call.missed per missed call, none
 * for a repeated external_id or a refused call; payloads are the call object
 * with its transcript; sequence numbers are gapless and increasing.
 */
#include <zmq.h>

#include "calls_e2e.h"
#include "gw_e2e.h"
#include "kv_client.h"

static void *s_zmq;
static kv_client_t *s_client;

/* A bus client whose connection to the broker is up (gw_e2e.h).  Caller
 * owns the result. */
static kv_client_t *s_client_new(void)
{
    return gw_bus_client_new(s_zmq, KV_SVC_CALLS);
}

/* calls events.since with body (a JSON text): the reply envelope, or NULL
 * when the call failed.  Caller owns the result. */
static json_t *s_since(const char *body)
{
    json_t *b = json_loads(body, 0, NULL);
    json_t *out = NULL;
    char rid[33];
    kv_bus_new_id(rid);
    int st = kv_client_call_tenant(s_client, rid, 0, KV_SVC_CALLS, KV_OP_EVENTS_SINCE, NULL, b,
                                   5000, &out);
    json_decref(b);
    if (st != KV_ST_OK) {
        fprintf(stderr, "events.since -> %d\n", st);
        json_decref(out);
        return NULL;
    }
    return out;
}

static char key[64];
static int64_t tenant;

typedef struct {
    long long ended, missed;          /* events of our tenant, by type */
    long long last_seq;               /* highest seq seen (any tenant) */
    int gapless;                      /* every seq was the previous + 1 */
    long long missed_call_id;         /* payload.id of the last call.missed */
    long long ended_call_id;          /* payload.id of the last call.ended */
    int payload_has_transcript;       /* the last call.ended payload had one */
} s_tally_t;

/* Reads every event of the calls outbox (pages of 1000) into *t.
 * 0, or -1 when the bus tool gave no usable answer. */
static int s_tally(s_tally_t *t)
{
    memset(t, 0, sizeof *t);
    t->gapless = 1;
    long long after = 0;
    for (int pages = 0; pages < 1000; pages++) {
        char body[96];
        snprintf(body, sizeof body, "{\"after\":%lld,\"limit\":1000}", after);
        json_t *rep = s_since(body);
        json_t *list = json_object_get(rep, "data");
        if (!json_is_array(list)) {
            json_decref(rep);
            return -1;
        }
        size_t n = json_array_size(list), i;
        json_t *ev;
        json_array_foreach(list, i, ev) {
            long long seq = json_integer_value(json_object_get(ev, "seq"));
            if (seq != after + 1)
                t->gapless = 0;
            after = seq;
            if (json_integer_value(json_object_get(ev, "tenant_id")) != tenant)
                continue;
            const char *type = json_string_value(json_object_get(ev, "type"));
            json_t *payload = json_object_get(ev, "payload");
            long long pid = json_integer_value(json_object_get(payload, "id"));
            if (type && strcmp(type, "call.ended") == 0) {
                t->ended++;
                t->ended_call_id = pid;
                t->payload_has_transcript = json_is_array(json_object_get(payload, "transcript"));
            } else if (type && strcmp(type, "call.missed") == 0) {
                t->missed++;
                t->missed_call_id = pid;
            }
        }
        int more = json_is_true(json_object_get(json_object_get(rep, "meta"), "more"));
        json_decref(rep);
        if (n < 1000 && !more)   /* a page cut to fit a bus frame says so */
            break;
    }
    t->last_seq = after;
    return 0;
}

int main(void)
{
    if (kvt_tenant("calls-events", "UTC", &tenant, key) != 0) {
        KVT_OK(0, "a test tenant can be created");
        return kvt_done();
    }
    s_zmq = zmq_ctx_new();
    s_client = s_client_new();
    s_tally_t t0, t1, t2, t3, t4;
    if (!s_client || s_tally(&t0) != 0) {
        KVT_OK(0, "events.since of calls answers over the bus");
        kv_client_destroy(&s_client);
        zmq_ctx_term(s_zmq);
        return kvt_done();
    }
    KVT_EQ_INT(t0.ended + t0.missed, 0, "a fresh tenant has no call events");

    long long answered = calls_log(key,
        "{\"caller_phone\":\"+15550109001\",\"started_at\":\"2026-04-01T10:00:00Z\",\"duration_seconds\":60,"
        "\"transcript\":[{\"speaker\":\"agent\",\"text\":\"Hello\",\"offset_seconds\":0}]}");
    KVT_OK(answered > 0, "an answered call is logged");
    KVT_OK(s_tally(&t1) == 0, "events can be read after an answered call");
    KVT_EQ_INT(t1.ended, 1, "an answered call records one call.ended");
    KVT_EQ_INT(t1.missed, 0, "an answered call records no call.missed");
    KVT_EQ_INT(t1.ended_call_id, answered, "the call.ended payload is the logged call");
    KVT_OK(t1.payload_has_transcript, "the call.ended payload carries the transcript");

    const char *missed_body = "{\"caller_phone\":\"+15550109002\",\"started_at\":\"2026-04-01T11:00:00Z\","
                              "\"duration_seconds\":9,\"external_id\":\"ev-missed-1\"}";
    long long missed = calls_log(key, missed_body);
    KVT_OK(missed > 0, "a missed call is logged");
    KVT_OK(s_tally(&t2) == 0, "events can be read after a missed call");
    KVT_EQ_INT(t2.ended, 2, "a missed call records a call.ended too");
    KVT_EQ_INT(t2.missed, 1, "a missed call records one call.missed");
    KVT_EQ_INT(t2.missed_call_id, missed, "the call.missed payload is the missed call");

    kvt_resp_t r = calls_post(key, missed_body);
    KVT_EQ_INT(r.status, 200, "repeating the missed call's external_id answers 200");
    kvt_resp_free(&r);
    r = calls_post(key, "{\"caller_phone\":\"+15550109003\",\"started_at\":\"2026-04-01T12:00:00Z\","
                        "\"duration_seconds\":5,\"sentiment\":\"furious\"}");
    KVT_EQ_INT(r.status, 422, "an invalid call is refused");
    kvt_resp_free(&r);
    KVT_OK(s_tally(&t3) == 0, "events can be read after a repeat and a refusal");
    KVT_EQ_INT(t3.ended, 2, "a repeated external_id and a refused call record no call.ended");
    KVT_EQ_INT(t3.missed, 1, "a repeated external_id records no call.missed");

    long long boundary = calls_log(key, "{\"caller_phone\":\"+15550109004\",\"started_at\":\"2026-04-01T13:00:00Z\",\"duration_seconds\":15}");
    KVT_OK(boundary > 0, "a 15 s call is logged");
    KVT_OK(s_tally(&t4) == 0, "events can be read after a 15 s call");
    KVT_EQ_INT(t4.ended, 3, "a 15 s call records call.ended");
    KVT_EQ_INT(t4.missed, 1, "a 15 s call records no call.missed");
    KVT_OK(t4.gapless, "outbox sequence numbers are gapless from 1");
    KVT_OK(t4.last_seq >= t0.last_seq + 4, "our four events took four sequence numbers");

    kv_client_destroy(&s_client);
    zmq_ctx_term(s_zmq);
    return kvt_done();
}
