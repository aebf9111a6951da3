-- webhooks schema, version 1: endpoints, the events taken in from the
-- producers, one delivery per (event, endpoint) and the log of attempts.
-- Applied by kaivox-webhooks itself at start-up (kv_db_migrate), in one
-- transaction.

-- A tenant's webhook endpoint.  secret is the whsec_... string shown once at
-- creation; it is needed in clear to sign deliveries (it is a shared key,
-- not a password).  disabled_reason is set when the service turned the
-- endpoint off itself (a 410 Gone answer).
CREATE TABLE endpoints (
    id              bigserial PRIMARY KEY,
    tenant_id       bigint NOT NULL,
    url             text NOT NULL CHECK (length(url) <= 2048),
    secret          text NOT NULL,
    events          text[] NOT NULL CHECK (cardinality(events) > 0),
    description     text CHECK (length(description) <= 1000),
    active          boolean NOT NULL DEFAULT true,
    disabled_reason text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_tenant ON endpoints (tenant_id, id);
COMMENT ON INDEX endpoints_tenant IS
    'hook_endpoints_list / _count (tenant, id order) and the fan-out of hook_event_store (endpoints of a tenant)';

-- Every event taken in, once: unique by producer and sequence, whatever the
-- path (PUB/SUB or events.since) and however many instances saw it.  body is
-- the exact delivery body, serialized once at intake: every attempt of every
-- delivery of the event sends (and signs) these bytes.
CREATE TABLE events (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL,
    producer    text NOT NULL,
    seq         bigint NOT NULL,
    event_id    text NOT NULL,
    type        text NOT NULL,
    created_at  timestamptz NOT NULL,
    body        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (producer, seq)
);

-- How far each producer's sequence has been taken in without a gap.  Not
-- tenant data (one row per producer service), hence no tenant_id: the one
-- table of the schema without it.  The row lock serializes intake
-- transactions of one producer across instances.
CREATE TABLE intake_cursors (
    producer  text PRIMARY KEY,
    last_seq  bigint NOT NULL DEFAULT 0
);

-- One delivery of one event to one endpoint.  status pending until it
-- succeeded or failed for good.  attempt_count counts the attempts of the
-- current series (a redelivery starts a new series).  next_attempt_at is
-- when it is due; claiming a delivery pushes it to the end of the claim's
-- lease, so a claim of a crashed instance simply expires.  claim_no changes
-- at every claim and redelivery: a result is only applied when it still
-- matches.
CREATE TABLE deliveries (
    id              bigserial PRIMARY KEY,
    tenant_id       bigint NOT NULL,
    endpoint_id     bigint NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    event_ref       bigint NOT NULL REFERENCES events (id),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempt_count   int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claim_no        bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_ref)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
COMMENT ON INDEX deliveries_due IS
    'hook_claim: pending deliveries in due order (FOR UPDATE SKIP LOCKED)';
CREATE INDEX deliveries_endpoint ON deliveries (tenant_id, endpoint_id, id DESC);
COMMENT ON INDEX deliveries_endpoint IS
    'hook_deliveries_list / _count: an endpoint''s delivery log, newest first';
CREATE INDEX deliveries_event ON deliveries (event_ref);
COMMENT ON INDEX deliveries_event IS 'the events foreign key (event lookups by delivery join)';

-- The log: one row per attempt, whatever its outcome.
CREATE TABLE attempts (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL,
    delivery_id   bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL,
    status_code   int,
    error         text,
    duration_ms   int NOT NULL
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);
COMMENT ON INDEX attempts_delivery IS
    'hook_attempts_for: the attempts of a page of deliveries, in order';
