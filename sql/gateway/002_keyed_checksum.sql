-- 002_keyed_checksum.sql -- API keys get a checksum only the server can
-- compute (HMAC-SHA256 under the deployment's key secret); keys made before
-- keep their CRC-32 checksum and are marked legacy.
--
-- key_secret holds the one secret every gateway instance shares without
-- configuration: the first gateway that starts after this migration fills
-- it with 32 bytes from OpenSSL's RAND_bytes (INSERT ... ON CONFLICT DO
-- NOTHING, so instances starting together agree), every gateway reads it at
-- start-up.  It never leaves the gateway's schema.
--
-- legacy: every row that exists now gets true; the column's default stays
-- true so that a key made by a gateway of the previous version during a
-- rolling upgrade is legacy too (its checksum is CRC).  This version
-- inserts false explicitly.  A legacy key is looked up only when its hash is
-- in the gateway's legacy set (non-revoked legacy rows, reloaded every
-- minute); revoking them (kaivoxctl key list shows "legacy": true) retires
-- the CRC path for good.

CREATE TABLE key_secret (
    id         int PRIMARY KEY CHECK (id = 1),
    secret     bytea NOT NULL CHECK (length(secret) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE api_keys ADD COLUMN legacy boolean NOT NULL DEFAULT true;

CREATE INDEX api_keys_legacy_idx ON api_keys (key_hash) WHERE legacy AND revoked_at IS NULL;
COMMENT ON INDEX api_keys_legacy_idx IS
    'gw_key_legacy: the legacy set each gateway loads at start-up and every minute';
