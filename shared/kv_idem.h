/*
 * kv_idem.h -- Idempotency-Key in the service runtime: a write that carries
 * a key (the request header's "idempotency_key", proto/bus.md) takes effect
 * at most once per tenant and key, and its answer is kept to be sent again
 * to every retry for KAIVOX_IDEMPOTENCY_TTL_S (24 h).
 *
 * The key is recorded by the service that owns the change, in its own
 * schema (<service>.idempotency_keys, sql/<service>/NNN_idempotency.sql),
 * in the same transaction as the change: the runtime (kv_service.c) opens
 * an outer transaction (kv_db_outer_begin) before the handler runs, so the
 * handler's own transactions become savepoints of it, and commits the
 * change and the key's record together.  Whatever happens between the
 * commit and the client -- a 504 at the gateway, a gateway that dies --
 * the retry finds the record and gets the same answer; whatever happens
 * before it, nothing was recorded and the retry runs the write again.
 *
 *   start (before the handler)     the outer transaction, then
 *     pg_try_advisory_xact_lock(hash(service, tenant, key)): taken by a
 *       request still running -> 409 at once;
 *     the key's record (younger than the TTL): same fingerprint -> its
 *       status and body again (replayed); another fingerprint -> 422
 *       errors.idempotency_key;
 *     none -> the handler runs inside the transaction.
 *   finish (after the handler)     a 2xx or 4xx answer (but 429, "try
 *     again later") is recorded and committed with the change; anything
 *     else (5xx: nothing happened) is rolled back, so a retry runs again.
 *
 * The fingerprint is SHA-256 of the operation and the canonical JSON of
 * the bus body (params, query, body; keys sorted, no whitespace): the same
 * method, path, query and body give the same one however the JSON was
 * spaced or ordered.  Events the handler publishes after its commit
 * (kv_outbox_publish) are held back until the outer commit, and dropped
 * when it rolls back.  Records older than the TTL are invisible, and
 * pruned after commits in small batches (KAIVOX_RETENTION_PRUNE_S).
 */
#ifndef KV_IDEM_H
#define KV_IDEM_H

#include <stddef.h>
#include <jansson.h>

#include "kv_outbox.h"
#include "kv_service.h"

/* What a worker sends back: status and body text (owned: free()), and
 * whether it is a recorded answer sent again. */
typedef struct {
    int status;
    char *body;
    size_t len;
    int replayed;
} kv_answer_t;

/* *ans = rep's envelope as text, not replayed: rep->text taken as it is
 * (kv_reply_ok_end), or rep->body dumped (reals with 15 digits) and
 * released; a rep holding neither is a 500.  Aborts only when out of
 * memory. */
void kv_answer_of(kv_rep_t *rep, kv_answer_t *ans);

/* The statements kv_idem runs, prepared on every service connection
 * (kv_db_add_stmts); {NULL, NULL} terminated. */
extern const kv_stmt_t kv_idem_stmts[];

/* Reads KAIVOX_IDEMPOTENCY_TTL_S (60..604800, default 86400) and
 * KAIVOX_RETENTION_PRUNE_S once; a malformed value ends the process
 * (kv_env_int).  kv_service_run calls it at start-up. */
void kv_idem_configure(void);

/* Per worker thread.  Caller owns the result. */
kv_idem_t *kv_idem_new(void);
/* Frees *pix (events still held are dropped) and sets it to NULL; safe on
 * NULL. */
void kv_idem_destroy(kv_idem_t **pix);

/* SHA-256 of op "\n" and the canonical JSON of bus, in lowercase hex, into
 * hex[65].  Pure: the same request gives the same fingerprint. */
void kv_idem_fingerprint(const char *op, const json_t *bus, char hex[65]);

/* 1 when an answer of status is recorded with its key: 2xx and 4xx but
 * 429 (a "try again later" that says nothing about the request). */
int kv_idem_storable(int status);

enum { KV_IDEM_RUN = 0, KV_IDEM_ANSWERED = 1 };

/* Before the handler of a write whose header h carries an idempotency key
 * (h->idem_key set, a tenant), with its bus body bus (params and query
 * present).  Returns KV_IDEM_RUN: the outer transaction is open on
 * ctx->db, run the handler, then kv_idem_finish.  Or KV_IDEM_ANSWERED:
 * *out is the answer (the recorded one, replayed; 409, the key is in use;
 * 422, the key was used for another request; 503/500, the database) and
 * nothing is open.  *out's body is owned by the caller. */
int kv_idem_start(kv_idem_t *ix, kv_ctx_t *ctx, const kv_hdr_t *h, const json_t *bus,
                  kv_answer_t *out);

/* After the handler that kv_idem_start let run, with its answer rep
 * (rep->body taken; NULL is a 500).  Records a storable answer and commits,
 * then publishes the events held back; else rolls everything back and
 * drops them.  *out is what to send: the handler's answer, or a 500/503 when
 * it could not be recorded (nothing was then applied: the transaction is
 * rolled back, or its commit failed).  *out's body is owned by the caller. */
void kv_idem_finish(kv_idem_t *ix, kv_ctx_t *ctx, const kv_hdr_t *h, kv_rep_t *rep,
                    kv_answer_t *out);

/* For kv_outbox_publish: while a keyed write runs (between start and
 * finish), keeps a copy of ev to be published after the outer commit and
 * returns 1; otherwise returns 0 (publish now).  ix may be NULL. */
int kv_idem_defer_event(kv_idem_t *ix, const kv_outbox_event_t *ev);

#endif
