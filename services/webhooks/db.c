/*
 * db.c -- every SQL statement of the webhooks service, as one table of
 * named statements prepared on each connection (API workers, intake,
 * deliverer).
 *
 * API objects are built by PostgreSQL itself (json_build_object) so the
 * handlers only parse and pass them on; timestamps are RFC 3339 UTC.  Every
 * statement that touches tenant data filters on tenant_id, except the
 * deliverer's and the intake's, which work across tenants by design and
 * carry the tenant of each row along.
 */
#include "hook.h"

#include "kv_log.h"

#define S_TS(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The endpoint object of the API (never a secret).  The URL is shown
 * without user-info: URLs with a user name or password are refused since
 * version 3, and one stored before shows without it (deliveries still use
 * it).  previous_secret_expires_at is set while a rotated-out secret still
 * signs deliveries. */
#define S_ENDPOINT_JSON \
    "json_build_object('id', id, " \
    "'url', regexp_replace(url, '^([A-Za-z][A-Za-z0-9+.-]*:[/\\\\]*)[^/?#\\\\]*@', '\\1'), " \
    "'events', to_json(events), " \
    "'description', description, 'active', active, " \
    "'disabled_reason', disabled_reason, " \
    "'previous_secret_expires_at', CASE WHEN previous_secret_expires_at > now() THEN " \
    S_TS("previous_secret_expires_at") " END, " \
    "'created_at', " S_TS("created_at") ", 'updated_at', " S_TS("updated_at") ")::text"

/* The delivery object of the API, with its latest HOOK_ATTEMPTS_SHOWN
 * attempts in order and how many it has; d is the delivery, ev its event. */
#define S_STR_(x) #x
#define S_STR(x) S_STR_(x)
#define S_DELIVERY_JSON \
    "json_build_object('id', d.id, 'endpoint_id', d.endpoint_id, " \
    "'event_id', ev.event_id, 'event', ev.type, 'status', d.status, " \
    "'attempts', COALESCE((SELECT json_agg(json_build_object(" \
    "  'attempted_at', to_char(a.attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), " \
    "  'status_code', a.status_code, 'error', a.error, 'duration_ms', a.duration_ms) ORDER BY a.id) " \
    "  FROM (SELECT * FROM attempts a WHERE a.delivery_id = d.id AND a.tenant_id = d.tenant_id " \
    "        ORDER BY a.id DESC LIMIT " S_STR(HOOK_ATTEMPTS_SHOWN) ") a), '[]'::json), " \
    "'attempts_total', (SELECT count(*) FROM attempts a " \
    "  WHERE a.delivery_id = d.id AND a.tenant_id = d.tenant_id), " \
    "'next_attempt_at', CASE WHEN d.status = 'pending' THEN " S_TS("d.next_attempt_at") " END, " \
    "'created_at', " S_TS("d.created_at") ")::text"

const kv_stmt_t hook_stmts[] = {
    /* ---- endpoints (endpoints.c) ---- */
    /* Taken first in the create transaction: one create per tenant at a
     * time, so the count in hook_endpoint_insert (its own statement, its
     * own snapshot, after the lock) cannot be passed by a concurrent one.
     * The two-key form keeps clear of kv_db's migration lock. */
    { "hook_endpoint_lock_tenant",
      "SELECT pg_advisory_xact_lock(hashtext('kaivox.webhooks.endpoints'), "
      "  ($1::bigint % 2147483647)::int)" },
    /* Inserts unless the tenant has $6 endpoints already (no row then). */
    { "hook_endpoint_insert",
      "INSERT INTO endpoints (tenant_id, url, secret, events, description) "
      "SELECT $1, $2, $3, $4::text[], $5 "
      "WHERE (SELECT count(*) FROM endpoints WHERE tenant_id = $1) < $6::int "
      "RETURNING " S_ENDPOINT_JSON },
    { "hook_endpoints_list",
      "SELECT " S_ENDPOINT_JSON " FROM endpoints WHERE tenant_id = $1 "
      "ORDER BY id LIMIT $2 OFFSET $3" },
    { "hook_endpoints_count",
      "SELECT count(*) FROM endpoints WHERE tenant_id = $1" },
    { "hook_endpoint_get",
      "SELECT " S_ENDPOINT_JSON " FROM endpoints WHERE id = $1 AND tenant_id = $2" },
    /* $3 url, $4 events, $5 "1" to set description to $6, $7 active; NULL
     * leaves a field as it is.  Reactivating clears disabled_reason. */
    { "hook_endpoint_update",
      "UPDATE endpoints SET url = COALESCE($3, url), "
      "events = COALESCE($4::text[], events), "
      "description = CASE WHEN $5::boolean THEN $6 ELSE description END, "
      "active = COALESCE($7::boolean, active), "
      "disabled_reason = CASE WHEN $7::boolean THEN NULL ELSE disabled_reason END, "
      "updated_at = now() WHERE id = $1 AND tenant_id = $2 RETURNING " S_ENDPOINT_JSON },
    /* New secret $3; the old one keeps signing for $4 seconds (none when
     * $4 is 0).  A second rotation within the overlap drops the oldest. */
    { "hook_endpoint_rotate",
      "UPDATE endpoints SET "
      "previous_secret = CASE WHEN $4::int > 0 THEN secret END, "
      "previous_secret_expires_at = CASE WHEN $4::int > 0 "
      "  THEN now() + make_interval(secs => $4::int) END, "
      "secret = $3, updated_at = now() "
      "WHERE id = $1 AND tenant_id = $2 RETURNING " S_ENDPOINT_JSON },
    { "hook_endpoint_delete",
      "DELETE FROM endpoints WHERE id = $1 AND tenant_id = $2 RETURNING id" },

    /* ---- delivery log (deliveries.c) ---- */
    { "hook_endpoint_exists",
      "SELECT 1 FROM endpoints WHERE id = $1 AND tenant_id = $2" },
    { "hook_deliveries_list",
      "SELECT " S_DELIVERY_JSON " FROM deliveries d JOIN events ev ON ev.id = d.event_ref "
      "WHERE d.tenant_id = $1 AND d.endpoint_id = $2 ORDER BY d.id DESC LIMIT $3 OFFSET $4" },
    { "hook_deliveries_count",
      "SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND endpoint_id = $2" },
    /* A fresh attempt series, due now; claim_no + 1 voids the result of an
     * attempt still in flight. */
    { "hook_delivery_redeliver",
      "UPDATE deliveries SET status = 'pending', attempt_count = 0, "
      "next_attempt_at = now(), claim_no = claim_no + 1, updated_at = now() "
      "WHERE id = $1 AND tenant_id = $2 RETURNING id" },
    { "hook_delivery_get",
      "SELECT " S_DELIVERY_JSON " FROM deliveries d JOIN events ev ON ev.id = d.event_ref "
      "WHERE d.id = $1 AND d.tenant_id = $2" },

    /* ---- test events and the tenant's delivery log (console_ops.c) ---- */
    { "hook_endpoint_active",
      "SELECT active FROM endpoints WHERE id = $1 AND tenant_id = $2" },
    /* A "ping" event of producer "test" (sequence = its own id: unique,
     * and never asked of a producer) and its one delivery, due now. */
    { "hook_test_event",
      "WITH n AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id, "
      "  gen_random_uuid()::text AS uuid, now() AS at), "
      "ev AS (INSERT INTO events (id, tenant_id, producer, seq, event_id, type, created_at, body) "
      "  SELECT n.id, $2, 'test', n.id, n.uuid, 'ping', n.at, "
      "  json_build_object('id', n.uuid, 'event', 'ping', 'created_at', "
      "    to_char(n.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
      "    'data', json_build_object('endpoint_id', $1::bigint, 'message', "
      "    'A test event sent from the KaiVox console.'))::text FROM n RETURNING id) "
      "INSERT INTO deliveries (tenant_id, endpoint_id, event_ref) "
      "SELECT $2, $1, ev.id FROM ev RETURNING id" },
    /* $1 tenant, $2 endpoint, $3 event, $4 status (NULL: any), $5/$6 page */
    { "hook_log_count",
      "SELECT count(*) FROM deliveries d JOIN events ev ON ev.id = d.event_ref "
      "WHERE d.tenant_id = $1 AND ($2::bigint IS NULL OR d.endpoint_id = $2) "
      "AND ($3::text IS NULL OR ev.type = $3) AND ($4::text IS NULL OR d.status = $4)" },
    { "hook_log_list",
      "SELECT " S_DELIVERY_JSON " FROM deliveries d JOIN events ev ON ev.id = d.event_ref "
      "WHERE d.tenant_id = $1 AND ($2::bigint IS NULL OR d.endpoint_id = $2) "
      "AND ($3::text IS NULL OR ev.type = $3) AND ($4::text IS NULL OR d.status = $4) "
      "ORDER BY d.id DESC LIMIT $5 OFFSET $6" },

    /* ---- intake (intake.c) ---- */
    { "hook_cursor_ensure",
      "INSERT INTO intake_cursors (producer) VALUES ($1) ON CONFLICT DO NOTHING" },
    { "hook_cursor_get",
      "SELECT last_seq FROM intake_cursors WHERE producer = $1" },
    /* Taken first in every intake transaction: one producer's intake is
     * serialized across instances, so two of them never deadlock on the
     * events' unique index. */
    { "hook_cursor_lock",
      "SELECT last_seq FROM intake_cursors WHERE producer = $1 FOR UPDATE" },
    { "hook_cursor_set",
      "UPDATE intake_cursors SET last_seq = $2 WHERE producer = $1" },
    /* Stores a batch of one producer's events ($2: a JSON list of
     * {tenant_id, seq, event_id, type, created_at, body}) once each, and
     * fans each new one out -- in the same statement, set-based -- to every
     * active endpoint of its tenant subscribed to its type that existed
     * when it happened, in event order.  Returns (events inserted,
     * deliveries created). */
    { "hook_events_store",
      "WITH input AS ("
      "  SELECT * FROM json_to_recordset($2::json) AS x (tenant_id bigint, seq bigint, "
      "    event_id text, type text, created_at timestamptz, body text)), "
      "ev AS ("
      "  INSERT INTO events (tenant_id, producer, seq, event_id, type, created_at, body) "
      "  SELECT tenant_id, $1, seq, event_id, type, created_at, body FROM input ORDER BY seq "
      "  ON CONFLICT (producer, seq) DO NOTHING "
      "  RETURNING id, tenant_id, type, created_at), "
      "dl AS ("
      "  INSERT INTO deliveries (tenant_id, endpoint_id, event_ref) "
      "  SELECT ev.tenant_id, e.id, ev.id FROM ev JOIN endpoints e "
      "    ON e.tenant_id = ev.tenant_id AND e.active AND ev.type = ANY (e.events) "
      "   AND e.created_at <= ev.created_at "
      "  ORDER BY ev.id, e.id "
      "  RETURNING 1) "
      "SELECT (SELECT count(*) FROM ev), (SELECT count(*) FROM dl)" },

    /* ---- deliverer (deliver.c) ---- */
    /* The deliverer's session commits without waiting for the WAL flush:
     * losing the last outcomes in a database crash only means those
     * deliveries come due again (same delivery id): at least once. */
    { "hook_session_async",
      "SELECT set_config('synchronous_commit', 'off', false)" },
    /* Claims up to $1 due deliveries of active endpoints for a lease of $2
     * seconds (their next_attempt_at moves to the lease's end, so the claim
     * of an instance that dies expires by itself), fairly per endpoint and
     * per tenant: at most $5 of one endpoint counting the $4[i] this
     * instance already holds of endpoint $3[i], and at most $8 of one
     * tenant counting the $7[i] it holds of tenant $6[i] (a slow receiver's
     * backlog, or a tenant's many slow receivers, take only their own
     * share); when $1 is short, every tenant's oldest before any tenant's
     * next, and within a tenant every endpoint's oldest before the next.
     * eps walks the endpoints with pending deliveries (a skip scan of
     * deliveries_pending_endpoint: one probe per endpoint, however long its
     * backlog); each one's due deliveries are read oldest first, only as
     * many as fit both shares.  The ranking takes no locks; the outer
     * SELECT locks the picked rows SKIP LOCKED and re-checks them, so a row
     * another instance claimed meanwhile (due no more) is dropped.  One
     * statement: the row locks last only while it runs, never during HTTP.
     * The previous secret comes along while its overlap lasts. */
    { "hook_claim",
      "WITH RECURSIVE eps (endpoint_id) AS ("
      "  (SELECT endpoint_id FROM deliveries WHERE status = 'pending' "
      "   ORDER BY endpoint_id LIMIT 1) "
      "  UNION ALL "
      "  SELECT (SELECT d.endpoint_id FROM deliveries d "
      "          WHERE d.status = 'pending' AND d.endpoint_id > eps.endpoint_id "
      "          ORDER BY d.endpoint_id LIMIT 1) "
      "  FROM eps WHERE eps.endpoint_id IS NOT NULL), "
      "held AS ("
      "  SELECT h.endpoint_id, h.n FROM unnest($3::bigint[], $4::int[]) AS h (endpoint_id, n)), "
      "theld AS ("
      "  SELECT t.tenant_id, t.n FROM unnest($6::bigint[], $7::int[]) AS t (tenant_id, n)), "
      "cand AS ("
      "  SELECT c.id, e.tenant_id, c.slot, c.next_attempt_at, COALESCE(th.n, 0) AS tn FROM eps "
      "  JOIN endpoints e ON e.id = eps.endpoint_id AND e.active "
      "  LEFT JOIN held h ON h.endpoint_id = eps.endpoint_id "
      "  LEFT JOIN theld th ON th.tenant_id = e.tenant_id "
      "  CROSS JOIN LATERAL ("
      "    SELECT d.id, d.next_attempt_at, "
      "      COALESCE(h.n, 0) + row_number() OVER (ORDER BY d.next_attempt_at, d.id) AS slot "
      "    FROM deliveries d "
      "    WHERE d.endpoint_id = eps.endpoint_id AND d.status = 'pending' "
      "      AND d.next_attempt_at <= now() "
      "    ORDER BY d.next_attempt_at, d.id "
      "    LIMIT LEAST(GREATEST($5::int - COALESCE(h.n, 0), 0), "
      "                GREATEST($8::int - COALESCE(th.n, 0), 0), $1::int)) c), "
      "ranked AS ("
      "  SELECT id, slot, next_attempt_at, "
      "    tn + row_number() OVER (PARTITION BY tenant_id ORDER BY slot, next_attempt_at, id) "
      "      AS tslot "
      "  FROM cand), "
      "picked AS ("
      "  SELECT id FROM ranked WHERE tslot <= $8::int "
      "  ORDER BY tslot, slot, next_attempt_at, id LIMIT $1), "
      "due AS ("
      "  SELECT d.id FROM deliveries d "
      "  WHERE d.id IN (SELECT id FROM picked) "
      "    AND d.status = 'pending' AND d.next_attempt_at <= now() "
      "  FOR UPDATE OF d SKIP LOCKED) "
      "UPDATE deliveries d SET next_attempt_at = now() + make_interval(secs => $2::double precision), "
      "  claim_no = d.claim_no + 1 "
      "FROM due, endpoints e, events ev "
      "WHERE d.id = due.id AND e.id = d.endpoint_id AND ev.id = d.event_ref "
      "RETURNING d.id, d.tenant_id, d.claim_no, d.attempt_count, e.id, e.url, e.secret, "
      "  ev.type, ev.body, "
      "  CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END" },
    /* The attempt's log row, unless the delivery is gone (its endpoint was
     * deleted while the attempt ran), so that the other outcomes recorded
     * in the same transaction are kept.  Run after hook_delivery_result,
     * whose row lock (when the claim still holds) keeps a concurrent delete
     * out until commit; the foreign key can then only fail for an attempt
     * both voided by a redelivery and deleted at that very moment, and
     * that only delays the batch's outcomes to their lease's end. */
    { "hook_attempt_insert",
      "INSERT INTO attempts (tenant_id, delivery_id, attempted_at, status_code, error, duration_ms) "
      "SELECT $1::bigint, $2::bigint, to_timestamp($3::double precision / 1000), $4::int, "
      "  $5::text, $6::int "
      "WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = $2::bigint)" },
    /* The outcome of the attempt made under claim $2: new status, and for a
     * retry the delay in seconds before the next one. */
    { "hook_delivery_result",
      "UPDATE deliveries SET status = $3, attempt_count = attempt_count + 1, "
      "next_attempt_at = now() + make_interval(secs => $4::double precision), "
      "updated_at = now() WHERE id = $1 AND claim_no = $2" },
    /* A 410 Gone: the endpoint is switched off by the service. */
    { "hook_endpoint_disable",
      "UPDATE endpoints SET active = false, disabled_reason = $2, updated_at = now() "
      "WHERE id = $1" },
    /* Shutdown: hands back a claim that was never attempted. */
    { "hook_claim_release",
      "UPDATE deliveries SET next_attempt_at = now() WHERE id = $1 AND claim_no = $2 "
      "AND status = 'pending'" },

    /* ---- retention (janitor.c) ---- */
    /* Each deletes the next batch of at most $3 rows older than $4 days
     * that retention lets go, found through the table's time index after
     * the key ($1 time as text, $2 id) where the previous batch ended, so
     * a pass reads every old row once, whatever stays; one short
     * statement, row locks only on what it deletes.  Returns (the last
     * key of the batch: time as text and id, rows deleted, rows in the
     * batch: fewer than $3 ends the pass). */
#define S_PRUNE_TAIL \
    "gone_last AS (SELECT t, id FROM batch ORDER BY t DESC, id DESC LIMIT 1) " \
    "SELECT (SELECT t::text FROM gone_last), (SELECT id FROM gone_last), " \
    "  (SELECT count(*) FROM gone), (SELECT count(*) FROM batch)"
    { "hook_prune_attempts",
      "WITH batch AS (SELECT id, attempted_at AS t FROM attempts "
      "  WHERE attempted_at < now() - make_interval(days => $4::int) "
      "    AND (attempted_at, id) > ($1::timestamptz, $2::bigint) "
      "  ORDER BY attempted_at, id LIMIT $3), "
      "gone AS (DELETE FROM attempts a USING batch b WHERE a.id = b.id RETURNING 1), "
      S_PRUNE_TAIL },
    /* Only finished deliveries (succeeded, failed), by when they finished
     * (a redelivery meanwhile makes one pending again: re-checked); their
     * remaining attempts go with them (ON DELETE CASCADE). */
    { "hook_prune_deliveries",
      "WITH batch AS (SELECT id, updated_at AS t FROM deliveries "
      "  WHERE status <> 'pending' AND updated_at < now() - make_interval(days => $4::int) "
      "    AND (updated_at, id) > ($1::timestamptz, $2::bigint) "
      "  ORDER BY updated_at, id LIMIT $3), "
      "gone AS (DELETE FROM deliveries d USING batch b WHERE d.id = b.id "
      "  AND d.status <> 'pending' AND d.updated_at < now() - make_interval(days => $4::int) "
      "  RETURNING 1), "
      S_PRUNE_TAIL },
    /* Events no delivery refers to any more. */
    { "hook_prune_events",
      "WITH batch AS (SELECT id, received_at AS t FROM events "
      "  WHERE received_at < now() - make_interval(days => $4::int) "
      "    AND (received_at, id) > ($1::timestamptz, $2::bigint) "
      "  ORDER BY received_at, id LIMIT $3), "
      "gone AS (DELETE FROM events e USING batch b WHERE e.id = b.id "
      "  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_ref = e.id) RETURNING 1), "
      S_PRUNE_TAIL },
    { NULL, NULL },
};

json_t *hook_row_json(const char *rid, const char *text)
{
    json_error_t jerr;
    json_t *o = text ? json_loads(text, 0, &jerr) : NULL;
    if (!o)
        kv_error(rid, "webhooks: row is not JSON: %s", text ? jerr.text : "NULL");
    return o;
}

void hook_reply_page(kv_rep_t *rep, const char *rid, const PGresult *rows,
                     int page, int per_page, long long total)
{
    json_t *list = json_array();
    int n = rows ? PQntuples(rows) : 0;
    for (int i = 0; i < n; i++) {
        json_t *o = hook_row_json(rid, kv_db_str(rows, i, 0));
        if (o)
            json_array_append_new(list, o);
    }
    kv_reply_ok(rep, KV_ST_OK, list, kv_meta_page(page, per_page, total));
}
