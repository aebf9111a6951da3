/*
 * intake.c -- the event intake: every event of the producers stored once,
 * and fanned out into deliveries in the same transaction.
 *
 * Two paths feed it (the zguide's Clone pattern, design point 4): a SUB
 * socket on KAIVOX_EVENTS_OUT_ENDPOINT (the fast path, best effort) and the
 * producers' events.since operation, asked at start-up, whenever a PUB
 * event shows a gap in a producer's sequence, and every catchup_ms anyway.
 * intake_cursors keeps, per producer, the highest sequence up to which
 * every event is stored; each intake transaction locks that row first, so
 * several instances take events in side by side without deadlocks, and
 * events(producer, seq) is unique, so duplicate intake does nothing.
 *
 * Fan-out never stalls the intake: a transaction stores at most
 * S_TXN_EVENTS events, in one statement that also creates their
 * deliveries set-based (hook_events_store), so one transaction writes at
 * most S_TXN_EVENTS x KAIVOX_WEBHOOK_MAX_ENDPOINTS delivery rows, however
 * busy one tenant is, and other tenants' events wait at most that long.
 *
 * Producers prune their outbox after KAIVOX_RETENTION_DAYS (kv_outbox.c).
 * Sequences are gapless and committed in order, so when events.since
 * answers with a first sequence beyond cursor + 1, the events between
 * were pruned before this service took them in (it was away longer than
 * the retention): the cursor moves past them, with a warning, instead of
 * waiting forever for events that no longer exist.
 */
#include "hook.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "kv_client.h"
#include "kv_curve.h"
#include "kv_disc.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_msg.h"
#include "kv_trace.h"

#define S_BATCH     500     /* events.since page, and PUB messages per drain */
#define S_TXN_EVENTS 100    /* events stored (and fanned out) per transaction */
#define S_NPROD     2

static const char *const s_producers[S_NPROD] = { KV_SVC_SCHEDULING, KV_SVC_CALLS };

/* One event ready to store: header fields and the delivery body. */
typedef struct {
    kv_event_hdr_t h;
    char *body;                  /* owned; the exact bytes every delivery sends */
} s_event_t;

typedef struct {
    kv_db_t *db;                 /* this thread's own connection */
    kv_client_t *bus;            /* for events.since */
    void *sub;                   /* SUB socket */
    hook_deliverer_t *wake;      /* borrowed; may be NULL */
    int gap[S_NPROD];            /* 1: catch-up wanted for producer i */
    int64_t retry_at[S_NPROD];   /* mono ms: no catch-up of i before (after
                                    a failed one) */
} s_intake_t;

static int s_prod_index(const char *producer)
{
    for (int i = 0; i < S_NPROD; i++)
        if (strcmp(producer, s_producers[i]) == 0)
            return i;
    return -1;
}

/* Builds the delivery body {"id","event","created_at","data"} of an event
 * from its header and payload (borrowed; NULL or not an object gives
 * "data": null).  Caller owns the result (free()). */
static char *s_body(const kv_event_hdr_t *h, json_t *payload)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(h->id));
    json_object_set_new(o, "event", json_string(h->type));
    json_object_set_new(o, "created_at", json_string(h->created_at));
    json_object_set(o, "data", payload ? payload : json_null());
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        abort();   /* only on out of memory: kv_mem's policy */
    return text;
}

static void s_events_free(s_event_t *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ev[i].body);
}

static int s_cmp_seq(const void *a, const void *b)
{
    int64_t x = ((const s_event_t *)a)->h.seq, y = ((const s_event_t *)b)->h.seq;
    return x < y ? -1 : x > y;
}

/* Stores evs[i..) of one producer (sorted by seq), at most S_TXN_EVENTS of
 * those beyond the cursor, in one transaction.  from_since: evs came from
 * events.since, so a first sequence beyond cursor + 1 means the events
 * between were pruned (see the file header).  Sets *gap when, afterwards,
 * some of them lie beyond the contiguous cursor; *next gets the index of
 * the first event not looked at.  0 or -1 (rolled back; the events will
 * come back through catch-up). */
static int s_store_chunk(s_intake_t *in, const char *producer, const s_event_t *evs, size_t n,
                         size_t i, int from_since, int *gap, size_t *next)
{
    PGresult *r = NULL;
    json_t *batch = json_array();
    char *text = NULL;
    long long deliveries = 0, stored = 0;
    char last_s[24];
    int rc = -1;

    *next = n;
    if (kv_db_begin(in->db, NULL) != 0)
        goto out;
    const char *lp[1] = { producer };
    r = kv_db_exec(in->db, NULL, "hook_cursor_lock", 1, lp);
    if (!r || PQntuples(r) != 1)
        goto out;
    int64_t last = kv_db_i64(r, 0, 0), start = last;
    PQclear(r);
    r = NULL;
    for (; i < n && json_array_size(batch) < S_TXN_EVENTS; i++) {
        const kv_event_hdr_t *h = &evs[i].h;
        if (h->seq <= last)
            continue;                        /* stored already */
        if (from_since && last == start && json_array_size(batch) == 0 && h->seq > last + 1) {
            kv_warn(NULL, "intake: %s events %" PRId64 "..%" PRId64 " were pruned by the "
                    "producer before they were taken in: skipped", producer, last + 1,
                    h->seq - 1);
            last = h->seq - 1;
        }
        json_t *row = json_pack("{sIsIssssssssss*}",
            "tenant_id", (json_int_t)h->tenant_id, "seq", (json_int_t)h->seq,
            "event_id", h->id, "type", h->type, "created_at", h->created_at,
            "body", evs[i].body, "traceparent", h->traceparent[0] ? h->traceparent : NULL);
        if (row)
            json_array_append_new(batch, row);
        else                                 /* not UTF-8: it could never be stored */
            kv_error(NULL, "intake: %s event %" PRId64 " has fields that are not UTF-8: "
                     "dropped", producer, h->seq);
        if (h->seq == last + 1)
            last = h->seq;
        else
            *gap = 1;
    }
    *next = i;
    if (json_array_size(batch) > 0) {
        text = json_dumps(batch, JSON_COMPACT);
        if (!text)
            abort();   /* only on out of memory: kv_mem's policy */
        const char *p[2] = { producer, text };
        r = kv_db_exec(in->db, NULL, "hook_events_store", 2, p);
        if (!r || PQntuples(r) != 1)
            goto out;
        stored = kv_db_i64(r, 0, 0);
        deliveries = kv_db_i64(r, 0, 1);
    }
    if (last != start) {
        snprintf(last_s, sizeof last_s, "%" PRId64, last);
        const char *sp[2] = { producer, last_s };
        if (kv_db_run(in->db, NULL, "hook_cursor_set", 2, sp) != 0)
            goto out;
    }
    if (kv_db_commit(in->db, NULL) != 0)
        goto out;
    rc = 0;
    hook_metrics_intake(producer, n > 0 ? evs[n - 1].h.seq : 0, last);
    if (stored > 0)
        kv_debug(NULL, "intake: %s: %lld events stored, %lld deliveries, cursor %" PRId64,
                 producer, stored, deliveries, last);
    if (deliveries > 0 && in->wake)
        hook_deliverer_wake(in->wake);
out:
    PQclear(r);
    free(text);
    json_decref(batch);
    if (rc != 0)
        kv_db_rollback(in->db, NULL);
    return rc;
}

/* Stores evs[0..n) of one producer (any order), S_TXN_EVENTS new ones per
 * transaction.  Sets *gap when, afterwards, some of them lie beyond the
 * contiguous cursor.  0 or -1 (what was not committed comes back through
 * catch-up). */
static int s_store(s_intake_t *in, const char *producer, s_event_t *evs, size_t n,
                   int from_since, int *gap)
{
    *gap = 0;
    qsort(evs, n, sizeof *evs, s_cmp_seq);
    for (size_t i = 0; i < n;) {
        size_t next;
        if (s_store_chunk(in, producer, evs, n, i, from_since, gap, &next) != 0)
            return -1;
        i = next;
    }
    return 0;
}

/* Fills ev from one element of an events.since answer.  0 or -1. */
static int s_from_since(const char *producer, json_t *o, s_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    json_t *seq = json_object_get(o, "seq"), *tid = json_object_get(o, "tenant_id");
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *type = json_string_value(json_object_get(o, "type"));
    const char *created = json_string_value(json_object_get(o, "created_at"));
    if (!json_is_integer(seq) || json_integer_value(seq) <= 0 || !json_is_integer(tid) ||
        !id || !type || !created || strlen(id) >= sizeof ev->h.id ||
        strlen(type) >= sizeof ev->h.type || strlen(created) >= sizeof ev->h.created_at)
        return -1;
    snprintf(ev->h.producer, sizeof ev->h.producer, "%s", producer);
    ev->h.seq = json_integer_value(seq);
    ev->h.tenant_id = json_integer_value(tid);
    strcpy(ev->h.id, id);
    strcpy(ev->h.type, type);
    strcpy(ev->h.created_at, created);
    json_t *tp = json_object_get(o, "traceparent");
    kv_trace_t tr;
    if (json_is_string(tp) && json_string_length(tp) == KV_TRACEPARENT_LEN &&
        kv_traceparent_parse(json_string_value(tp), KV_TRACEPARENT_LEN, &tr) == 0)
        memcpy(ev->h.traceparent, json_string_value(tp), KV_TRACEPARENT_LEN + 1);
    ev->body = s_body(&ev->h, json_object_get(o, "payload"));
    return 0;
}

/* Asks producer i for every event after its cursor, page by page, and
 * stores them.  Clears the gap mark on success.  0 or -1 (producer or
 * database unavailable: tried again later). */
static int s_catch_up(s_intake_t *in, int i)
{
    const char *producer = s_producers[i];
    s_event_t *evs = kv_calloc(S_BATCH, sizeof *evs);
    int rc = -1;

    for (int round = 0; round < 1000 && !kv_service_stopping(); round++) {
        const char *p[1] = { producer };
        PGresult *r = kv_db_exec(in->db, NULL, "hook_cursor_get", 1, p);
        if (!r || PQntuples(r) != 1) {
            PQclear(r);
            goto out;
        }
        int64_t after = kv_db_i64(r, 0, 0);
        PQclear(r);

        json_t *body = json_pack("{sIsi}", "after", (json_int_t)after, "limit", S_BATCH);
        json_t *rep = NULL;
        int st = kv_client_call_tenant(in->bus, NULL, 0, producer, KV_OP_EVENTS_SINCE,
                                       NULL, body, 3000, &rep);
        json_decref(body);
        json_t *data = json_object_get(rep, "data");
        if (st != KV_ST_OK || !json_is_array(data)) {
            kv_debug(NULL, "intake: %s events.since answered %d", producer, st);
            json_decref(rep);
            goto out;
        }
        size_t n = 0, k;
        json_t *o;
        json_array_foreach(data, k, o) {
            if (n < S_BATCH && s_from_since(producer, o, &evs[n]) == 0)
                n++;
            else
                kv_warn(NULL, "intake: %s sent a malformed event, skipped", producer);
        }
        size_t got = json_array_size(data);
        /* a page cut short to fit a bus frame says so: more follow */
        int more = json_is_true(json_object_get(json_object_get(rep, "meta"), "more"));
        json_decref(rep);
        int gap = 0;
        int src = n ? s_store(in, producer, evs, n, 1, &gap) : 0;
        s_events_free(evs, n);
        if (src != 0)
            goto out;
        if (n > 0)
            kv_info(NULL, "intake: caught up %zu %s events after %" PRId64, n, producer, after);
        if (got < S_BATCH && !more)
            break;
    }
    in->gap[i] = 0;
    rc = 0;
out:
    free(evs);
    return rc;
}

/* Takes in every PUB message waiting (first one already received), at most
 * S_BATCH, storing them per producer in one transaction each. */
static void s_drain(s_intake_t *in, kv_msg_t *first)
{
    s_event_t *evs[S_NPROD];
    size_t n[S_NPROD] = { 0 };
    for (int i = 0; i < S_NPROD; i++)
        evs[i] = kv_calloc(S_BATCH, sizeof(s_event_t));

    kv_msg_t *m = first;
    for (int count = 0; m && count < S_BATCH; count++) {
        kv_event_hdr_t h;
        const char *payload;
        size_t plen;
        int pi;
        if (kv_event_parse(m, &h, &payload, &plen) != KV_BUS_OK ||
            (pi = s_prod_index(h.producer)) < 0) {
            kv_warn(NULL, "intake: malformed event message dropped");
        } else {
            json_t *pj = json_loadb(payload, plen, 0, NULL);
            if (!pj)
                kv_warn(NULL, "intake: %s event %" PRId64 " has a payload that is not JSON",
                        h.producer, h.seq);
            s_event_t *ev = &evs[pi][n[pi]++];
            ev->h = h;
            ev->body = s_body(&h, pj);
            json_decref(pj);
        }
        kv_msg_destroy(&m);
        if (count + 1 < S_BATCH)
            m = kv_msg_recv(in->sub, 0);
    }
    kv_msg_destroy(&m);
    for (int i = 0; i < S_NPROD; i++) {
        int gap = 0;
        if (n[i] > 0 && s_store(in, s_producers[i], evs[i], n[i], 0, &gap) != 0)
            gap = 1;
        if (gap)
            in->gap[i] = 1;
        s_events_free(evs[i], n[i]);
        free(evs[i]);
    }
}

void hook_intake_run(hook_deliverer_t *d)
{
    s_intake_t in = { .wake = d };
    in.db = kv_db_new(KV_SVC_WEBHOOKS, hook_stmts);
    in.bus = kv_client_new(kv_service_zmq());
    /* The SUB is a CURVE client of every gateway's XPUB (each event then
     * arrives once per gateway: duplicates are skipped by sequence) with
     * the bus sockets' frame limit (kv_msg_socket). */
    kv_disc_t *out_disc = kv_disc_get("KAIVOX_EVENTS_OUT_ENDPOINT", KV_EVENTS_OUT_ENDPOINT_DEFAULT);
    kv_eps_t *subscribed = kv_calloc(1, sizeof *subscribed);
    unsigned sub_gen = 0;
    in.sub = kv_msg_socket(kv_service_zmq(), ZMQ_SUB);
    if (!in.sub || !out_disc || kv_curve_client(in.sub) != 0) {
        kv_error(NULL, "intake: cannot make the SUB socket");
        goto out;
    }
    for (int i = 0; i < S_NPROD; i++)
        zmq_setsockopt(in.sub, ZMQ_SUBSCRIBE, s_producers[i], strlen(s_producers[i]));
    kv_disc_follow(out_disc, in.sub, subscribed, &sub_gen);
    kv_info(NULL, "intake: subscribed to %s", kv_env_str("KAIVOX_EVENTS_OUT_ENDPOINT",
                                                          KV_EVENTS_OUT_ENDPOINT_DEFAULT));

    /* Catch up once the database is reachable; the SUB socket is already
     * connected, so nothing published from now on slips between the two. */
    int ready = 0;
    for (int i = 0; i < S_NPROD; i++)
        in.gap[i] = 1;
    int64_t next_catchup = 0;
    while (!kv_service_stopping()) {
        kv_disc_follow(out_disc, in.sub, subscribed, &sub_gen);
        if (!ready) {
            ready = kv_db_ensure(in.db) == 0;
            for (int i = 0; ready && i < S_NPROD; i++) {
                const char *p[1] = { s_producers[i] };
                if (kv_db_run(in.db, NULL, "hook_cursor_ensure", 1, p) != 0)
                    ready = 0;
            }
            if (!ready) {
                kv_msg_t *skip = kv_msg_recv(in.sub, 500);   /* heals by catch-up */
                kv_msg_destroy(&skip);
                continue;
            }
        }
        int64_t now = kv_mono_ms();
        if (now >= next_catchup) {
            for (int i = 0; i < S_NPROD; i++)
                in.gap[i] = 1;
            next_catchup = now + hook_config.catchup_ms;
        }
        for (int i = 0; i < S_NPROD; i++)
            if (in.gap[i] && now >= in.retry_at[i] && s_catch_up(&in, i) != 0)
                in.retry_at[i] = now + 1000;
        kv_msg_t *m = kv_msg_recv(in.sub, 200);
        if (m)
            s_drain(&in, m);
    }
out:
    free(subscribed);
    if (in.sub)
        zmq_close(in.sub);
    kv_client_destroy(&in.bus);
    kv_db_destroy(&in.db);
}
