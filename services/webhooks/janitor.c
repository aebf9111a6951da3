/*
 * janitor.c -- retention: the delivery log does not grow for ever.
 *
 * Every KAIVOX_RETENTION_PRUNE_S (60 s) the janitor thread makes one pass
 * over the webhook schema and deletes what is older than
 * KAIVOX_RETENTION_DAYS (30): attempts made before then, deliveries that
 * finished (succeeded or failed for good) before then, and stored events
 * received before then that no delivery refers to any more.  Pending
 * deliveries are never pruned, nor the events they send.
 *
 * Nothing is blocked for long: a pass walks each table's old rows through
 * an index on their time (attempts_attempted, deliveries_finished,
 * events_received), oldest first, in batches of S_BATCH rows -- one short
 * statement each, deleting only rows that qualify, so row locks are few
 * and brief -- and pauses S_PAUSE_MS between batches.  Each batch starts
 * after the key where the last one ended, so rows that stay (an old event
 * a pending delivery still needs) are read once per pass, not once per
 * batch.  It runs on its own thread and database connection, so neither
 * the API nor the deliverer waits for it; several instances may prune
 * side by side (a row deleted by one is skipped by the other).  The delivery log tells clients how far back it goes
 * (deliveries.c: meta.retention_days, meta.oldest_available).
 */
#include "hook.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "kv_env.h"
#include "kv_log.h"

#define S_BATCH    500
#define S_PAUSE_MS 20

/* Prunes with stmt in batches until the table's old rows are behind;
 * returns the rows deleted, or -1 when the database failed. */
static long long s_prune(kv_db_t *db, const char *stmt)
{
    char after_t[64] = "-infinity", after_id[KV_DB_I64_LEN] = "0";
    char limit[KV_DB_I64_LEN], days[KV_DB_I64_LEN];
    long long deleted = 0;
    kv_db_i64_param(limit, S_BATCH);
    kv_db_i64_param(days, hook_config.retention_days);
    while (!kv_service_stopping()) {
        const char *p[4] = { after_t, after_id, limit, days };
        PGresult *r = kv_db_exec(db, NULL, stmt, 4, p);
        if (!r || PQntuples(r) != 1) {
            PQclear(r);
            return -1;
        }
        const char *t = kv_db_str(r, 0, 0), *id = kv_db_str(r, 0, 1);
        deleted += kv_db_i64(r, 0, 2);
        int done = kv_db_i64(r, 0, 3) < S_BATCH || !t || !id;
        if (!done) {
            snprintf(after_t, sizeof after_t, "%s", t);
            snprintf(after_id, sizeof after_id, "%s", id);
        }
        PQclear(r);
        if (done)
            break;
        kv_sleep_ms(S_PAUSE_MS);
    }
    return deleted;
}

/* One pass: attempts first (so deliveries go with few left), then
 * deliveries, then the events nobody refers to. */
static void s_pass(kv_db_t *db)
{
    if (kv_db_ensure(db) != 0)
        return;
    int64_t t0 = kv_mono_ms();
    long long a = s_prune(db, "hook_prune_attempts");
    long long d = a < 0 ? -1 : s_prune(db, "hook_prune_deliveries");
    long long e = d < 0 ? -1 : s_prune(db, "hook_prune_events");
    if (a < 0 || d < 0 || e < 0)
        kv_warn(NULL, "janitor: pruning stopped by a database error (tried again later)");
    else if (a + d + e > 0)
        kv_info(NULL, "janitor: pruned %lld attempts, %lld deliveries, %lld events older "
                "than %d days in %lld ms", a, d, e, hook_config.retention_days,
                (long long)(kv_mono_ms() - t0));
}

void hook_janitor_run(void)
{
    kv_db_t *db = kv_db_new(KV_SVC_WEBHOOKS, hook_stmts);
    int64_t next = kv_mono_ms() + (int64_t)hook_config.prune_s * 1000;
    while (!kv_service_stopping()) {
        if (kv_mono_ms() >= next) {
            s_pass(db);
            next = kv_mono_ms() + (int64_t)hook_config.prune_s * 1000;
        }
        kv_sleep_ms(200);
    }
    kv_db_destroy(&db);
}
