-- 001_init.sql -- the gateway's tables: tenants and their API keys.
-- Keys are stored only as the SHA-256 (hex) of the whole key plus the first
-- 12 characters for people to recognise them; the key itself is shown once.

CREATE TABLE tenants (
    id                    bigserial PRIMARY KEY,
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone              text NOT NULL DEFAULT 'UTC',
    slot_interval_minutes int  NOT NULL DEFAULT 15
                          CHECK (slot_interval_minutes BETWEEN 5 AND 120),
    created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    key_hash     text NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);

COMMENT ON INDEX api_keys_key_hash_key IS
    'gw_key_lookup: authentication of every request (cache miss) by key hash';

CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, id);
COMMENT ON INDEX api_keys_tenant_idx IS
    'gw_key_list / gw_key_revoke: a tenant''s keys in id order';
