-- 003_console.sql -- the console's users, their set-password links, their
-- sessions, and the sign-in throttle (services/gateway/gw_users.c,
-- gw_session.c, gw_console.c; docs/architecture.md, "The console").
--
-- Nothing secret is stored in clear: a password as its Argon2id encoding
-- (salt and parameters inside), a set-password token and a session token as
-- the SHA-256 (hex) of the token.  E-mail addresses are unique across the
-- deployment (a sign-in names no tenant) and stored lower-cased.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants (id),
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email = lower(email)),
    name          text CHECK (name IS NULL OR length(name) BETWEEN 1 AND 200),
    password_hash text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    password_set_at timestamptz,
    disabled_at   timestamptz,
    CONSTRAINT users_email_key UNIQUE (email)
);
COMMENT ON INDEX users_email_key IS 'gw_signin_user: the account a sign-in names';

CREATE INDEX users_tenant_idx ON users (tenant_id, id);
COMMENT ON INDEX users_tenant_idx IS 'gw_user_list / gw_user_disable: a tenant''s users in id order';

-- One-time set-password links (kaivoxctl user create / user password-link):
-- valid until expires_at (24 h), once.
CREATE TABLE password_tokens (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CONSTRAINT password_tokens_hash_key UNIQUE (token_hash)
);
COMMENT ON INDEX password_tokens_hash_key IS 'gw_pwtoken_use: the link a set-password request carries';
CREATE INDEX password_tokens_user_idx ON password_tokens (user_id) WHERE used_at IS NULL;
COMMENT ON INDEX password_tokens_user_idx IS 'gw_pwtoken_void: a user''s unused links, voided by a newer one';

-- Console sessions.  A session lives until expires_at (absolute, 7 days
-- from sign-in) and while it is used at least every idle period (12 h;
-- last_seen_at moves at most once a minute); revoked_at ends it at once.
-- tenant_id is the user's, copied so the lookup needs no second join.
CREATE TABLE sessions (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id     bigint NOT NULL REFERENCES tenants (id),
    token_hash    text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
COMMENT ON INDEX sessions_token_hash_key IS 'gw_session_lookup: every console request';
CREATE INDEX sessions_user_idx ON sessions (user_id);
COMMENT ON INDEX sessions_user_idx IS 'gw_session_revoke_user / gw_session_prune: a user''s live sessions';

-- Failed sign-ins per account (SHA-256 of the lower-cased e-mail, known or
-- not) and per client address, in fixed windows; shared by every gateway
-- instance.  Rows of windows that are over are deleted as new failures come.
CREATE TABLE signin_throttle (
    scope        text NOT NULL CHECK (scope IN ('account', 'address')),
    subject      text NOT NULL CHECK (length(subject) <= 128),
    window_start timestamptz NOT NULL,
    failures     int NOT NULL,
    PRIMARY KEY (scope, subject)
);
CREATE INDEX signin_throttle_window_idx ON signin_throttle (window_start);
COMMENT ON INDEX signin_throttle_window_idx IS 'gw_throttle_prune: windows that are over';
