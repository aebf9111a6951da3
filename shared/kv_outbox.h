/*
 * kv_outbox.h -- the transactional outbox shared by every event producer.
 *
 * A producer's schema holds (sql/<service>/ migrations, identical shape):
 *   outbox_seq(id int primary key check (id = 1), last bigint not null)
 *   outbox(seq bigint primary key, id uuid unique, tenant_id bigint,
 *          type text, payload jsonb, created_at timestamptz)
 * kv_outbox_add() takes the next sequence number by updating the single
 * outbox_seq row, which holds a row lock until the transaction ends: so
 * numbers are gapless and committed in order, and a consumer that asks for
 * "events after N" can never skip one that commits later.
 *
 * After COMMIT the handler calls kv_outbox_publish() with what add()
 * returned: the PUB fast path.  A consumer that missed it catches up with
 * the events.since operation, which kv_service answers for producers.
 *
 * Retention: events older than KAIVOX_RETENTION_DAYS (30) are deleted by
 * the producer itself, a small batch at a time (kv_outbox_prune_step, run
 * after a publish and on events.since, at most once per
 * KAIVOX_RETENTION_PRUNE_S unless the last batch was full), always the
 * oldest sequences first and never one newer than the window, so what
 * remains is a gapless tail.  A consumer away longer than the window
 * cannot get what was pruned (webhooks' intake notices and moves on).
 */
#ifndef KV_OUTBOX_H
#define KV_OUTBOX_H

#include <jansson.h>

#include "kv_service.h"

/* The statements kv_outbox needs, to be listed in the producer's stmts
 * table (KV_OUTBOX_STMTS expands to the entries, with trailing comma). */
#define KV_OUTBOX_STMTS \
    { "kv_outbox_insert", "WITH s AS (UPDATE outbox_seq SET last = last + 1 WHERE id = 1 RETURNING last) " \
      "INSERT INTO outbox (seq, id, tenant_id, type, payload, created_at, traceparent) " \
      "SELECT last, gen_random_uuid(), $1, $2, $3::jsonb, now(), $4 FROM s " \
      "RETURNING seq, id::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')" }, \
    { "kv_outbox_since", "SELECT seq, id::text, tenant_id, type, payload::text, " \
      "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), traceparent " \
      "FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2" }, \
    { "kv_outbox_prune", "WITH head AS (SELECT seq, created_at FROM outbox ORDER BY seq LIMIT $2), " \
      "young AS (SELECT min(seq) AS seq FROM head " \
      "  WHERE created_at >= now() - make_interval(days => $1::int)), " \
      "gone AS (DELETE FROM outbox o USING head h WHERE o.seq = h.seq " \
      "  AND h.seq < COALESCE((SELECT seq FROM young), 9223372036854775807) RETURNING 1) " \
      "SELECT count(*) FROM gone" },

/* A recorded, not yet published event.  Owned by the caller. */
typedef struct {
    kv_event_hdr_t hdr;
    char *payload;           /* JSON text; free with kv_outbox_event_clear */
} kv_outbox_event_t;

/* Inside an open transaction on ctx->db: records event type for tenant with
 * payload (borrowed).  Fills *ev (caller must kv_outbox_event_clear it).
 * 0 or -1 (the caller then rolls back). */
int kv_outbox_add(kv_ctx_t *ctx, const char *req_id, int64_t tenant_id,
                  const char *type, json_t *payload, kv_outbox_event_t *ev);

/* After COMMIT: publishes ev on the event bus (best effort; loss is healed
 * by catch-up).  During a write with an Idempotency-Key that COMMIT was a
 * savepoint's: a copy of ev is then kept and published after the runtime's
 * commit, or dropped when it rolls back (kv_idem.h). */
void kv_outbox_publish(kv_ctx_t *ctx, const kv_outbox_event_t *ev);

void kv_outbox_event_clear(kv_outbox_event_t *ev);

/* Outside any transaction on ctx->db: when a pruning step is due in this
 * process (KAIVOX_RETENTION_PRUNE_S after the last one, at once after a
 * full batch), deletes the oldest outbox events older than
 * KAIVOX_RETENTION_DAYS, at most KV_OUTBOX_PRUNE_BATCH of them, stopping
 * at the first one inside the window.  Best effort: failures are logged.
 * Called by kv_outbox_publish() and kv_outbox_since_op(). */
#define KV_OUTBOX_PRUNE_BATCH 500
void kv_outbox_prune_step(kv_ctx_t *ctx, const char *req_id);

/* Handler of the system operation events.since: body {"after": N,
 * "limit": M (1..1000, default 500)} -> data: list of
 * {"seq","id","tenant_id","type","created_at","payload"}, and meta
 * {"more": true} when the page stopped before M events to fit a bus frame
 * (the next page starts after its last seq). */
void kv_outbox_since_op(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep);

#endif
