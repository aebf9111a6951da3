/*
 * kv_outbox.c -- the transactional outbox shared by every event producer.
 *
 * kv_outbox_add() runs inside the handler's transaction: it takes the next
 * gapless sequence number (the outbox_seq row lock serialises producers
 * until COMMIT) and inserts the event.  After COMMIT the handler calls
 * kv_outbox_publish(), the best-effort PUB fast path.  Consumers that
 * missed anything ask the producer's events.since operation, answered by
 * kv_outbox_since_op() straight from the table.  The statements used here
 * come from KV_OUTBOX_STMTS, which producers list in their statement table.
 * Both of those also run the retention step (kv_outbox_prune_step): the
 * producers keep their own outbox short, in batches small enough never to
 * hold anything up (one index range of the primary key, no lock but the
 * deleted rows').
 */
#include "kv_outbox.h"
#include "kv_db.h"
#include "kv_env.h"
#include "kv_idem.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_pub.h"
#include "kv_trace.h"
#include "kv_json.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_OUTBOX_LIMIT_DEFAULT 500
#define KV_OUTBOX_LIMIT_MAX     1000
/* An events.since page stops before its payloads pass this many bytes
 * (always with at least one event), so that it fits a bus body
 * (KV_BODY_MAX) whatever the events hold: the largest event, a call with
 * the longest transcript, fits alone (proto/kv_sizes.h, KV_SZ_EVENTS_PAGE). */
#define KV_OUTBOX_PAGE_BYTES    KV_EVENTS_PAGE_BYTES
/* JSON around one event's payload in the page (keys, seq, ids, dates):
 * more than KV_SZ_EVENT_ENTRY, which kv_sizes.h checks. */
#define KV_OUTBOX_EVENT_ROOM    256

int kv_outbox_add(kv_ctx_t *ctx, const char *req_id, int64_t tenant_id,
                  const char *type, json_t *payload, kv_outbox_event_t *ev)
{
    int rc = -1;
    PGresult *r = NULL;
    memset(ev, 0, sizeof *ev);

    if (!type || strlen(type) >= sizeof ev->hdr.type || !payload) {
        kv_error(req_id, "outbox: bad event (type or payload missing or too long)");
        goto out;
    }
    ev->payload = kv_json_dump(payload, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15), NULL);
    if (!ev->payload) {
        kv_error(req_id, "outbox: payload of %s cannot be encoded", type);
        goto out;
    }

    /* the next sequence number (the outbox_seq row lock, held until the
     * transaction ends) and the row, in one statement */
    char tenant_s[24];
    snprintf(tenant_s, sizeof tenant_s, "%" PRId64, tenant_id);
    /* the request's trace goes with the event (to the webhook deliveries) */
    const kv_trace_t *tr = kv_trace_current();
    if (tr)
        kv_traceparent_format(tr, ev->hdr.traceparent);
    const char *params[4] = { tenant_s, type, ev->payload, tr ? ev->hdr.traceparent : NULL };
    r = kv_db_exec(ctx->db, req_id, "kv_outbox_insert", 4, params);
    if (!r)
        goto out;
    if (PQntuples(r) != 1) {
        kv_error(req_id, "outbox: outbox_seq row missing (migration not applied?)");
        goto out;
    }
    int64_t seq = kv_db_i64(r, 0, 0);

    snprintf(ev->hdr.producer, sizeof ev->hdr.producer, "%s", kv_db_service(ctx->db));
    ev->hdr.seq = seq;
    snprintf(ev->hdr.type, sizeof ev->hdr.type, "%s", type);
    snprintf(ev->hdr.id, sizeof ev->hdr.id, "%s", kv_db_str(r, 0, 1) ? kv_db_str(r, 0, 1) : "");
    ev->hdr.tenant_id = tenant_id;
    snprintf(ev->hdr.created_at, sizeof ev->hdr.created_at, "%s",
             kv_db_str(r, 0, 2) ? kv_db_str(r, 0, 2) : "");
    kv_debug(req_id, "outbox: recorded %s seq %" PRId64 " id %s", type, seq, ev->hdr.id);
    rc = 0;
out:
    PQclear(r);
    if (rc != 0)
        kv_outbox_event_clear(ev);
    return rc;
}

void kv_outbox_publish(kv_ctx_t *ctx, const kv_outbox_event_t *ev)
{
    if (!ctx || !ctx->pub || !ev || !ev->payload)
        return;
    /* a write with an Idempotency-Key: the handler's COMMIT was a
     * savepoint's; kv_idem sends it after the runtime's own commit */
    if (kv_idem_defer_event(ctx->idem, ev))
        return;
    if (kv_pub_send(ctx->pub, &ev->hdr, ev->payload, strlen(ev->payload)) != 0)
        kv_warn(NULL, "outbox: publishing %s seq %" PRId64 " failed; consumers catch up",
                ev->hdr.type, ev->hdr.seq);
    kv_outbox_prune_step(ctx, NULL);
}

/* Retention settings, read once per process. */
static pthread_once_t s_prune_once = PTHREAD_ONCE_INIT;
static int s_retention_days = 30, s_prune_ms = 60000;
static _Atomic int64_t s_prune_next;   /* mono ms: the next step is due */

static void s_prune_settings(void)
{
    s_retention_days = (int)kv_env_int("KAIVOX_RETENTION_DAYS", 30, 1, 3650);
    s_prune_ms = (int)kv_env_int("KAIVOX_RETENTION_PRUNE_S", 60, 1, 86400) * 1000;
}

void kv_outbox_prune_step(kv_ctx_t *ctx, const char *req_id)
{
    pthread_once(&s_prune_once, s_prune_settings);
    int64_t now = kv_mono_ms(), due = atomic_load(&s_prune_next);
    /* One worker of the process takes the step; the others go on. */
    if (!ctx || !ctx->db || now < due ||
        !atomic_compare_exchange_strong(&s_prune_next, &due, now + s_prune_ms))
        return;
    char days[24], batch[24];
    snprintf(days, sizeof days, "%d", s_retention_days);
    snprintf(batch, sizeof batch, "%d", KV_OUTBOX_PRUNE_BATCH);
    const char *p[2] = { days, batch };
    PGresult *r = kv_db_exec(ctx->db, req_id, "kv_outbox_prune", 2, p);
    long long n = r && PQntuples(r) == 1 ? kv_db_i64(r, 0, 0) : -1;
    PQclear(r);
    if (n < 0) {
        kv_warn(req_id, "outbox: pruning failed (tried again later)");
        return;
    }
    if (n > 0)
        kv_info(req_id, "outbox: pruned %lld events older than %d days", n, s_retention_days);
    if (n == KV_OUTBOX_PRUNE_BATCH)
        atomic_store(&s_prune_next, now);   /* more to go: at the next call */
}

void kv_outbox_event_clear(kv_outbox_event_t *ev)
{
    if (!ev)
        return;
    free(ev->payload);   /* from kv_json_dump (malloc) */
    memset(ev, 0, sizeof *ev);
}

/* Reads body[key] as an integer in [min, max] (def when absent or null).
 * 0 ok, -1 invalid. */
static int s_body_int(json_t *body, const char *key, int64_t def, int64_t min, int64_t max,
                      int64_t *out)
{
    json_t *v = json_is_object(body) ? json_object_get(body, key) : NULL;
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return -1;
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return -1;
    *out = (int64_t)x;
    return 0;
}

void kv_outbox_since_op(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL;
    json_t *errors = json_object();
    json_t *list = NULL;
    int64_t after = 0, limit = KV_OUTBOX_LIMIT_DEFAULT;

    if (req->body && !json_is_object(req->body) && !json_is_null(req->body)) {
        kv_errors_add(errors, "body", "The body must be a JSON object.");
    } else {
        if (s_body_int(req->body, "after", 0, 0, INT64_MAX, &after) != 0)
            kv_errors_add(errors, "after", "The after must be an integer of at least 0.");
        if (s_body_int(req->body, "limit", KV_OUTBOX_LIMIT_DEFAULT, 1, KV_OUTBOX_LIMIT_MAX,
                       &limit) != 0)
            kv_errors_add(errors, "limit", "The limit must be an integer between 1 and 1000.");
    }
    if (json_object_size(errors) > 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }

    char after_s[24], limit_s[24];
    snprintf(after_s, sizeof after_s, "%" PRId64, after);
    snprintf(limit_s, sizeof limit_s, "%" PRId64, limit);
    const char *params[2] = { after_s, limit_s };
    r = kv_db_exec(ctx->db, KV_RID(req), "kv_outbox_since", 2, params);
    if (!r) {
        if (kv_db_conn_error(ctx->db))
            kv_reply_unavailable(rep);
        else
            kv_reply_internal(rep);
        goto out;
    }

    list = json_array();
    int n = PQntuples(r), more = 0;
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        size_t cost = (kv_db_str(r, i, 4) ? strlen(kv_db_str(r, i, 4)) : 4) + KV_OUTBOX_EVENT_ROOM;
        if (i > 0 && bytes + cost > KV_OUTBOX_PAGE_BYTES) {
            more = 1;            /* the rest in the next page */
            break;
        }
        bytes += cost;
        json_t *o = json_object();
        json_object_set_new(o, "seq", json_integer(kv_db_i64(r, i, 0)));
        json_object_set_new(o, "id", json_string(kv_db_str(r, i, 1) ? kv_db_str(r, i, 1) : ""));
        json_object_set_new(o, "tenant_id", json_integer(kv_db_i64(r, i, 2)));
        json_object_set_new(o, "type", json_string(kv_db_str(r, i, 3) ? kv_db_str(r, i, 3) : ""));
        json_object_set_new(o, "created_at",
                            json_string(kv_db_str(r, i, 5) ? kv_db_str(r, i, 5) : ""));
        if (kv_db_str(r, i, 6))
            json_object_set_new(o, "traceparent", json_string(kv_db_str(r, i, 6)));
        json_error_t jerr;
        const char *ptext = kv_db_str(r, i, 4);
        json_t *payload = ptext ? json_loads(ptext, JSON_DECODE_ANY, &jerr) : NULL;
        if (!payload) {
            kv_error(KV_RID(req), "outbox: event seq %lld has an unreadable payload",
                     kv_db_i64(r, i, 0));
            payload = json_null();
        }
        json_object_set_new(o, "payload", payload);
        json_array_append_new(list, o);
    }
    kv_reply_ok(rep, KV_ST_OK, list, json_pack("{s:b}", "more", more));
    list = NULL;
    PQclear(r);
    r = NULL;
    kv_outbox_prune_step(ctx, KV_RID(req));
out:
    PQclear(r);
    json_decref(list);
    json_decref(errors);
}
