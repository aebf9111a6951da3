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

-- Retention (janitor.c) walks deliveries, attempts and events by primary
-- key in batches, so it needs no index of its own; hook_endpoint_count
-- (the per-tenant endpoint limit) uses endpoints_tenant.
