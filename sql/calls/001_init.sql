-- 001_init.sql -- the calls schema: call logs, their transcripts, and the
-- transactional outbox of call events (call.ended, call.missed).
--
-- Run by kaivox-calls itself at start-up (kv_db_migrate), in one transaction,
-- as role kaivox_calls with search_path "calls, public".  No cross-schema
-- references: customer_id is crm's id, kept without a foreign key.

CREATE TABLE calls (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint      NOT NULL,
    -- the telephony provider's call id; makes POST /calls idempotent
    external_id      text        CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 128),
    -- normalised with kv_normalize_phone: optional '+', 7..15 digits
    caller_phone     text        NOT NULL CHECK (caller_phone ~ '^\+?[0-9]{7,15}$'),
    caller_name      text,
    -- crm's customers.id of the caller (found or created over the bus)
    customer_id      bigint,
    direction        text        NOT NULL DEFAULT 'inbound'
                                 CHECK (direction IN ('inbound', 'outbound')),
    started_at       timestamptz NOT NULL,
    ended_at         timestamptz NOT NULL,
    duration_seconds integer     NOT NULL CHECK (duration_seconds BETWEEN 0 AND 86400),
    -- a call is missed when it lasted under 15 seconds
    missed           boolean     GENERATED ALWAYS AS (duration_seconds < 15) STORED,
    outcome          text        CHECK (outcome IN ('booked', 'answered', 'voicemail',
                                                    'transferred', 'missed', 'abandoned')),
    sentiment        text        CHECK (sentiment IN ('positive', 'neutral', 'negative')),
    quality_score    smallint    CHECK (quality_score BETWEEN 0 AND 100),
    summary          text,
    recording_url    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT calls_ended_after_started CHECK (ended_at >= started_at)
);

CREATE UNIQUE INDEX calls_tenant_external_uq ON calls (tenant_id, external_id)
    WHERE external_id IS NOT NULL;
COMMENT ON INDEX calls_tenant_external_uq IS
    'POST /calls idempotency: one call per provider call id in a tenant (INSERT ... ON CONFLICT, calls_by_external)';

CREATE INDEX calls_tenant_started_idx ON calls (tenant_id, started_at DESC, id DESC);
COMMENT ON INDEX calls_tenant_started_idx IS
    'GET /calls without sentiment/missed filters, with or without from_date/to_date (calls_list_0, calls_count_0)';

CREATE INDEX calls_tenant_missed_started_idx ON calls (tenant_id, missed, started_at DESC, id DESC);
COMMENT ON INDEX calls_tenant_missed_started_idx IS
    'GET /calls?missed=..., with or without dates (calls_list_2, calls_count_2)';

CREATE INDEX calls_tenant_sentiment_started_idx ON calls (tenant_id, sentiment, started_at DESC, id DESC);
COMMENT ON INDEX calls_tenant_sentiment_started_idx IS
    'GET /calls?sentiment=..., with or without dates (calls_list_1, calls_count_1)';

CREATE INDEX calls_tenant_sentiment_missed_started_idx
    ON calls (tenant_id, sentiment, missed, started_at DESC, id DESC);
COMMENT ON INDEX calls_tenant_sentiment_missed_started_idx IS
    'GET /calls?sentiment=...&missed=..., with or without dates (calls_list_3, calls_count_3)';

-- The transcript, one row per turn, kept apart so that the list never
-- reads it.
CREATE TABLE call_turns (
    call_id        bigint  NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    tenant_id      bigint  NOT NULL,
    position       integer NOT NULL CHECK (position >= 0),
    speaker        text    NOT NULL CHECK (speaker IN ('agent', 'caller')),
    text           text    NOT NULL,
    offset_seconds numeric NOT NULL CHECK (offset_seconds >= 0),
    PRIMARY KEY (call_id, position)
);
COMMENT ON INDEX call_turns_pkey IS
    'GET /calls/{id} transcript in order (calls_turns); one turn per position';

-- The transactional outbox (shape of shared/kv_outbox.h).
CREATE TABLE outbox_seq (
    id   integer PRIMARY KEY CHECK (id = 1),
    last bigint  NOT NULL
);
INSERT INTO outbox_seq (id, last) VALUES (1, 0);

CREATE TABLE outbox (
    seq        bigint      PRIMARY KEY,
    id         uuid        NOT NULL UNIQUE,
    tenant_id  bigint      NOT NULL,
    type       text        NOT NULL,
    payload    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON INDEX outbox_pkey IS
    'events.since catch-up: events after a sequence number, in order (kv_outbox_since)';
COMMENT ON INDEX outbox_id_key IS
    'event ids are globally unique: consumers deduplicate on them';
