-- webhooks schema, version 3: secret rotation, a bounded attempt log, and
-- what retention needs.

-- Secret rotation (POST /api/v1/webhooks/{id}/rotate-secret): the secret
-- that was replaced keeps signing deliveries, beside the new one, until
-- previous_secret_expires_at (KAIVOX_WEBHOOK_SECRET_OVERLAP_S after the
-- rotation), so a receiver can switch keys without refusing a delivery.
-- Both columns are set together or not at all.
ALTER TABLE endpoints
    ADD COLUMN previous_secret            text,
    ADD COLUMN previous_secret_expires_at timestamptz,
    ADD CONSTRAINT endpoints_previous_secret_pair
        CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL));

-- An attempt's error text is written by the deliverer only, at most 300
-- characters of printable ASCII (deliver.c, S_ERROR_MAX), so that the
-- largest page of the delivery log has a known bound (README, "Delivery
-- log").  NOT VALID: rows written before this version are not rescanned
-- (their texts came from a 256-byte curl buffer anyway).
ALTER TABLE attempts
    ADD CONSTRAINT attempts_error_short CHECK (char_length(error) <= 300) NOT VALID;

-- Retention (janitor.c): each table's rows older than KAIVOX_RETENTION_DAYS
-- are found through an index on their time, oldest first, and deleted a
-- small batch at a time.  Built here in the migration's transaction (it
-- locks writes to the table while it builds: on a large existing log,
-- create them CONCURRENTLY by hand first, with these names, and this
-- migration's IF NOT EXISTS keeps them).
CREATE INDEX IF NOT EXISTS attempts_attempted ON attempts (attempted_at, id);
COMMENT ON INDEX attempts_attempted IS
    'hook_prune_attempts: attempts older than the retention, oldest first';
CREATE INDEX IF NOT EXISTS deliveries_finished ON deliveries (updated_at, id)
    WHERE status <> 'pending';
COMMENT ON INDEX deliveries_finished IS
    'hook_prune_deliveries: deliveries that finished before the retention, oldest first';
CREATE INDEX IF NOT EXISTS events_received ON events (received_at, id);
COMMENT ON INDEX events_received IS
    'hook_prune_events: events received before the retention, oldest first';
-- hook_endpoint_insert's count (the per-tenant endpoint limit) uses
-- endpoints_tenant.
