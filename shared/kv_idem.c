/*
 * kv_idem.c -- Idempotency-Key in the service runtime (see kv_idem.h).
 *
 * Why one outer transaction, and why the runtime's.  "The effect happens
 * once" needs the key's record and the change to commit together: a record
 * written before the change (a reservation) would outlive a change that
 * never committed, one written after it could be lost between the two
 * commits.  Handlers manage their own transactions, and some commit and
 * then publish an event or answer; rather than teach each one about keys,
 * the runtime opens the transaction around the handler and kv_db turns the
 * handler's BEGIN / COMMIT / ROLLBACK into a savepoint of it (kv_db.h).  A
 * handler's statements outside its own transactions (crm's single-statement
 * insert) join the outer transaction too.  What a handler does *outside*
 * the database -- events published after its commit -- is held here until
 * the outer commit; calls to other services are not part of the
 * transaction at all (docs/architecture.md, "Idempotency keys", says why
 * each of them is safe to run again).
 *
 * In-flight requests: pg_try_advisory_xact_lock on a 64-bit hash of
 * (schema, tenant, key).  The lock lives exactly as long as the request's
 * transaction -- released by COMMIT, ROLLBACK, or the backend noticing that
 * a killed worker's connection closed -- so nothing is left to clean up
 * after a crash, and a second request never waits: it answers 409 at once.
 * A request that takes the lock after the first committed sees the record
 * (PostgreSQL releases the locks of a transaction only after its commit is
 * visible).
 */
#include "kv_idem.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_crypto.h"
#include "kv_db.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_json.h"

#define S_PRUNE_BATCH 500

struct kv_idem {
    int open;                    /* between a start that ran the handler and its finish */
    char fp[65];                 /* that request's fingerprint */
    kv_outbox_event_t *held;     /* events the handler published, kept until the commit */
    int nheld, capheld;
};

const kv_stmt_t kv_idem_stmts[] = {
    /* a request with the key still running holds this lock: 409 */
    { "kv_idem_lock",
      "SELECT pg_try_advisory_xact_lock(hashtextextended("
      "'kaivox.idempotency.' || current_schema() || '.' || $1::text || '.' || $2::text, 0))" },
    /* the key's record, unless it expired */
    { "kv_idem_get",
      "SELECT fingerprint, status, body FROM idempotency_keys "
      "WHERE tenant_id = $1 AND key = $2 AND created_at > now() - make_interval(secs => $3::int)" },
    /* the answer, with the change; an expired record of the key is replaced */
    { "kv_idem_put",
      "INSERT INTO idempotency_keys AS k (tenant_id, key, fingerprint, operation, status, body) "
      "VALUES ($1, $2, $3, $4, $5::int, $6) "
      "ON CONFLICT (tenant_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, "
      "operation = excluded.operation, status = excluded.status, body = excluded.body, "
      "created_at = now() WHERE k.created_at <= now() - make_interval(secs => $7::int) "
      "RETURNING 1" },
    /* retention: the oldest expired records, a batch at a time */
    { "kv_idem_prune",
      "WITH old AS (SELECT tenant_id, key FROM idempotency_keys "
      "  WHERE created_at <= now() - make_interval(secs => $1::int) "
      "  ORDER BY created_at LIMIT $2::int), "
      "gone AS (DELETE FROM idempotency_keys k USING old o "
      "  WHERE k.tenant_id = o.tenant_id AND k.key = o.key RETURNING 1) "
      "SELECT count(*) FROM gone" },
    { NULL, NULL }
};

/* ---- settings ------------------------------------------------------------ */

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int s_ttl_s = 86400;      /* KAIVOX_IDEMPOTENCY_TTL_S */
static int s_prune_ms = 60000;   /* KAIVOX_RETENTION_PRUNE_S */
static _Atomic int64_t s_prune_next;

static void s_settings(void)
{
    s_ttl_s = (int)kv_env_int("KAIVOX_IDEMPOTENCY_TTL_S", 86400, 60, 604800);
    s_prune_ms = (int)kv_env_int("KAIVOX_RETENTION_PRUNE_S", 60, 1, 86400) * 1000;
}

/* ---- pure parts ------------------------------------------------------------ */

void kv_idem_fingerprint(const char *op, const json_t *bus, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    char *canon = json_dumps(bus, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                  JSON_REAL_PRECISION(17));
    if (!canon)
        abort();    /* only on out of memory */
    char *text = kv_asprintf("%s\n%s", op, canon);
    unsigned char md[KV_SHA256_LEN];
    kv_sha256(text, strlen(text), md);
    free(text);
    free(canon);
    for (int i = 0; i < KV_SHA256_LEN; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

int kv_idem_storable(int status)
{
    return (status >= 200 && status <= 299) || (status >= 400 && status <= 499 && status != 429);
}

/* ---- the thread's state ----------------------------------------------------- */

void kv_idem_configure(void)
{
    pthread_once(&s_once, s_settings);
}

kv_idem_t *kv_idem_new(void)
{
    kv_idem_configure();
    return kv_calloc(1, sizeof(kv_idem_t));
}

/* Drops the events held back. */
static void s_drop_held(kv_idem_t *ix)
{
    for (int i = 0; i < ix->nheld; i++)
        kv_outbox_event_clear(&ix->held[i]);
    ix->nheld = 0;
}

void kv_idem_destroy(kv_idem_t **pix)
{
    if (!pix || !*pix)
        return;
    s_drop_held(*pix);
    free((*pix)->held);
    free(*pix);
    *pix = NULL;
}

int kv_idem_defer_event(kv_idem_t *ix, const kv_outbox_event_t *ev)
{
    if (!ix || !ix->open || !ev || !ev->payload)
        return 0;
    if (ix->nheld == ix->capheld) {
        ix->capheld = ix->capheld ? 2 * ix->capheld : 4;
        ix->held = kv_realloc(ix->held, (size_t)ix->capheld * sizeof *ix->held);
    }
    kv_outbox_event_t *copy = &ix->held[ix->nheld++];
    copy->hdr = ev->hdr;
    copy->payload = kv_strdup(ev->payload);
    return 1;
}

/* ---- answers ------------------------------------------------------------------ */

/* *out = status with the envelope {"success":false,"message":msg} and, when
 * field is given, errors {field: [msg]} ("The given data was invalid." is
 * then the message). */
static void s_error(kv_answer_t *out, int status, const char *field, const char *msg)
{
    kv_rep_t rep = { KV_ST_INTERNAL, NULL, NULL, 0 };
    if (field) {
        json_t *errors = json_object();
        kv_errors_add(errors, field, msg);
        kv_reply_invalid(&rep, errors);
    } else {
        kv_reply_error(&rep, status, msg, NULL);
    }
    out->status = rep.status;
    out->body = json_dumps(rep.body, JSON_COMPACT);
    if (!out->body)
        abort();
    out->len = strlen(out->body);
    out->replayed = 0;
    json_decref(rep.body);
}

/* *out = the database failure of db: 503 when the connection was the
 * trouble, 500 otherwise. */
static void s_db_error(kv_answer_t *out, const kv_db_t *db)
{
    if (kv_db_conn_error(db))
        s_error(out, KV_ST_UNAVAILABLE, NULL, "Service temporarily unavailable.");
    else
        s_error(out, KV_ST_INTERNAL, NULL, "Internal server error.");
}

/* ---- start ---------------------------------------------------------------------- */

int kv_idem_start(kv_idem_t *ix, kv_ctx_t *ctx, const kv_hdr_t *h, const json_t *bus,
                  kv_answer_t *out)
{
    assert(ix && !ix->open && h->idem_key[0] && h->tenant_id > 0);
    kv_db_t *db = ctx->db;
    PGresult *r = NULL;
    char tenant[KV_DB_I64_LEN], ttl[16];
    kv_db_i64_param(tenant, h->tenant_id);
    snprintf(ttl, sizeof ttl, "%d", s_ttl_s);
    memset(out, 0, sizeof *out);
    kv_idem_fingerprint(h->op, bus, ix->fp);

    if (kv_db_outer_begin(db, h->id) != 0) {
        s_db_error(out, db);
        return KV_IDEM_ANSWERED;
    }
    const char *pl[2] = { tenant, h->idem_key };
    r = kv_db_exec(db, h->id, "kv_idem_lock", 2, pl);
    if (!r || PQntuples(r) != 1) {
        s_db_error(out, db);
        goto answered;
    }
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        kv_info(h->id, "op %s: idempotency key in use by a request still running: 409", h->op);
        s_error(out, KV_ST_CONFLICT, NULL,
                "A request with this Idempotency-Key is still being processed; "
                "retry once it has finished.");
        goto answered;
    }
    PQclear(r);
    const char *pg[3] = { tenant, h->idem_key, ttl };
    r = kv_db_exec(db, h->id, "kv_idem_get", 3, pg);
    if (!r) {
        s_db_error(out, db);
        goto answered;
    }
    if (PQntuples(r) == 1) {
        if (strcmp(PQgetvalue(r, 0, 0), ix->fp) != 0) {
            kv_info(h->id, "op %s: idempotency key reused for another request: 422", h->op);
            s_error(out, KV_ST_UNPROCESSABLE, "idempotency_key",
                    "This Idempotency-Key was already used for another request (another "
                    "method, path, query or body); use a new key for a new request.");
            goto answered;
        }
        out->status = (int)kv_db_i64(r, 0, 1);
        out->len = (size_t)PQgetlength(r, 0, 2);
        out->body = kv_strndup(PQgetvalue(r, 0, 2), out->len);
        out->replayed = 1;
        kv_info(h->id, "op %s: answer %d recorded for its idempotency key sent again", h->op,
                out->status);
        goto answered;
    }
    PQclear(r);
    ix->open = 1;
    return KV_IDEM_RUN;
answered:
    PQclear(r);
    kv_db_outer_rollback(db, h->id);
    return KV_IDEM_ANSWERED;
}

/* ---- finish ---------------------------------------------------------------------- */

/* Deletes a batch of expired records when a step is due in this process
 * (one worker takes it; the others go on).  Outside any transaction; best
 * effort. */
static void s_prune_step(kv_ctx_t *ctx, const char *req_id)
{
    int64_t now = kv_mono_ms(), due = atomic_load(&s_prune_next);
    if (now < due || !atomic_compare_exchange_strong(&s_prune_next, &due, now + s_prune_ms))
        return;
    char ttl[16], batch[16];
    snprintf(ttl, sizeof ttl, "%d", s_ttl_s);
    snprintf(batch, sizeof batch, "%d", S_PRUNE_BATCH);
    const char *p[2] = { ttl, batch };
    PGresult *r = kv_db_exec(ctx->db, req_id, "kv_idem_prune", 2, p);
    long long n = r && PQntuples(r) == 1 ? kv_db_i64(r, 0, 0) : -1;
    PQclear(r);
    if (n < 0) {
        kv_warn(req_id, "idempotency: pruning failed (tried again later)");
        return;
    }
    if (n > 0)
        kv_info(req_id, "idempotency: pruned %lld expired keys", n);
    if (n == S_PRUNE_BATCH)
        atomic_store(&s_prune_next, now);   /* more to go: at the next commit */
}

void kv_answer_of(kv_rep_t *rep, kv_answer_t *ans)
{
    memset(ans, 0, sizeof *ans);
    if (rep->text) {             /* written directly (kv_reply_ok_end) */
        ans->body = rep->text;
        ans->len = rep->text_len;
        rep->text = NULL;
    } else {
        if (!rep->body)
            kv_reply_internal(rep);
        ans->body = kv_json_dump(rep->body, JSON_COMPACT | JSON_REAL_PRECISION(15), &ans->len);
        if (!ans->body)
            abort();    /* only on out of memory */
        json_decref(rep->body);
        rep->body = NULL;
    }
    ans->status = rep->status;
}

void kv_idem_finish(kv_idem_t *ix, kv_ctx_t *ctx, const kv_hdr_t *h, kv_rep_t *rep,
                    kv_answer_t *out)
{
    assert(ix && ix->open);
    kv_db_t *db = ctx->db;
    kv_answer_of(rep, out);

    kv_db_rollback(db, h->id);   /* a savepoint the handler left open: undone */
    int store = kv_idem_storable(out->status);
    if (store && out->len > KV_BODY_MAX) {
        /* it could never be sent: nothing is applied, the answer is the
         * one kv_bus_reply gives for it */
        kv_error(h->id, "op %s: the response is %zu bytes, more than a bus frame carries: "
                 "rolled back", h->op, out->len);
        store = 0;
    }
    if (store && !kv_db_outer_ok(db)) {
        /* a statement failed outside the handler's transactions and the
         * handler went on: nothing can commit */
        kv_error(h->id, "op %s: answered %d in a failed transaction: rolled back", h->op,
                 out->status);
        if (out->status < 300) {
            free(out->body);
            s_error(out, KV_ST_INTERNAL, NULL, "Internal server error.");
        }
        store = 0;
    }
    if (!store) {
        kv_db_outer_rollback(db, h->id);
        ix->open = 0;
        s_drop_held(ix);
        return;
    }

    char tenant[KV_DB_I64_LEN], status[8], ttl[16];
    kv_db_i64_param(tenant, h->tenant_id);
    snprintf(status, sizeof status, "%d", out->status);
    snprintf(ttl, sizeof ttl, "%d", s_ttl_s);
    const char *p[7] = { tenant, h->idem_key, ix->fp, h->op, status, out->body, ttl };
    PGresult *r = kv_db_exec(db, h->id, "kv_idem_put", 7, p);
    int ok = r && PQntuples(r) == 1;
    if (r && !ok)    /* a live record appeared: impossible while we hold the lock */
        kv_error(h->id, "op %s: the idempotency key was recorded meanwhile", h->op);
    PQclear(r);
    if (!ok) {
        kv_db_outer_rollback(db, h->id);
    } else if (kv_db_outer_commit(db, h->id) != 0) {
        ok = 0;
    }
    ix->open = 0;
    if (!ok) {
        /* not applied, or (a commit whose answer was lost) applied and
         * recorded: either way a retry with the key gets the truth */
        s_drop_held(ix);
        free(out->body);
        s_db_error(out, db);
        return;
    }
    for (int i = 0; i < ix->nheld; i++)
        kv_outbox_publish(ctx, &ix->held[i]);
    s_drop_held(ix);
    s_prune_step(ctx, h->id);
}
