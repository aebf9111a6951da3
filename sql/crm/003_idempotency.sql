-- 003_idempotency.sql -- Idempotency-Key: the answers of the crm service's
-- writes that carried a key, kept for retries (shared/kv_idem.c; the same
-- table in every service's schema: each service records the keys of its
-- own writes, in the transaction of the change).
--
-- A row is written by the runtime in the same transaction as the change
-- the request made, so a committed change always has its row and a
-- rolled-back one never does.  The answer is kept byte for byte (body is
-- the exact envelope sent), with its status (2xx or 4xx; 5xx answers are
-- never recorded: nothing was applied).  fingerprint is the SHA-256 (hex)
-- of the operation and the canonical JSON of its params, query and body: a
-- retry must match it, else 422.  Rows older than KAIVOX_IDEMPOTENCY_TTL_S
-- (24 h) are ignored and deleted in small batches (kv_idem_prune).
--
-- The body can hold what the answer held (a customer's phone, a webhook
-- secret): it stays in this service's schema, like the data itself, and
-- for a day at most.

CREATE TABLE idempotency_keys (
    tenant_id   bigint NOT NULL,
    key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    operation   text NOT NULL,
    status      int NOT NULL CHECK (status BETWEEN 200 AND 499),
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, key)
);

COMMENT ON INDEX idempotency_keys_pkey IS
    'kv_idem_get / kv_idem_put: a tenant''s key, looked up before a keyed write runs';

CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
COMMENT ON INDEX idempotency_keys_created_idx IS
    'kv_idem_prune: the oldest expired keys, a batch at a time';
