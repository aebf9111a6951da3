-- 003_key_scope.sql -- read-only API keys.
--
-- scope 'full' (every existing key, and the default) may call every route;
-- 'read' may call every GET (and HEAD) and gets 403 on every write
-- (gw_public.c).  The scope is chosen when the key is made
-- (kaivoxctl key create --scope read|full) and never changes, so a cached
-- key can never carry a stale scope.  The default keeps a gateway of the
-- previous version working during a rolling upgrade: the keys it makes are
-- full keys, as they always were.

ALTER TABLE api_keys ADD COLUMN scope text NOT NULL DEFAULT 'full'
    CONSTRAINT api_keys_scope_check CHECK (scope IN ('full', 'read'));
COMMENT ON COLUMN api_keys.scope IS
    'full: every route; read: GET and HEAD only (403 on writes).  Fixed at creation.';
