-- 001_init.sql -- the crm schema: customers of every tenant.
--
-- Applied by kaivox-crm at start-up (kv_db_migrate), in one transaction, as
-- role kaivox_crm with search_path "crm, public".  pg_trgm lives in public
-- (scripts/db-bootstrap.sh), hence public.gin_trgm_ops.

CREATE TABLE customers (
    id             bigserial PRIMARY KEY,
    tenant_id      bigint NOT NULL,
    name           text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- normalised by the service: an optional leading '+' and 7..15 digits
    phone          text NOT NULL CHECK (phone ~ '^\+?[0-9]{7,15}$'),
    -- the digits alone, for searches however the client punctuates them
    phone_digits   text GENERATED ALWAYS AS (replace(phone, '+', '')) STORED,
    email          text CHECK (char_length(email) <= 254),
    segment        text NOT NULL DEFAULT 'lead'
                   CHECK (segment IN ('lead', 'active', 'inactive', 'vip')),
    pipeline_stage text NOT NULL DEFAULT 'new'
                   CHECK (pipeline_stage IN ('new', 'contacted', 'qualified', 'proposal',
                                             'won', 'lost')),
    notes          text CHECK (char_length(notes) <= 5000),
    source         text NOT NULL DEFAULT 'api' CHECK (source ~ '^[a-z][a-z0-9_]{0,31}$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_tenant_phone_key UNIQUE (tenant_id, phone)
);

COMMENT ON TABLE customers IS 'Customers of each tenant; phone normalised and unique per tenant.';
COMMENT ON INDEX customers_tenant_phone_key IS
    'Uniqueness of a phone within a tenant (POST /customers 422, customers.find_or_create ON CONFLICT) and customers_by_phone.';

CREATE INDEX customers_tenant_created_idx
    ON customers (tenant_id, created_at DESC, id DESC);
COMMENT ON INDEX customers_tenant_created_idx IS
    'GET /customers without filters: newest first, LIMIT/OFFSET, and its count.';

CREATE INDEX customers_tenant_segment_created_idx
    ON customers (tenant_id, segment, created_at DESC, id DESC);
COMMENT ON INDEX customers_tenant_segment_created_idx IS
    'GET /customers?segment=: newest first within one segment, and its count.';

CREATE INDEX customers_tenant_stage_created_idx
    ON customers (tenant_id, pipeline_stage, created_at DESC, id DESC);
COMMENT ON INDEX customers_tenant_stage_created_idx IS
    'GET /customers?pipeline_stage=: newest first within one stage, and its count.';

CREATE INDEX customers_name_trgm_idx
    ON customers USING gin (lower(name) public.gin_trgm_ops) WITH (fastupdate = off);
COMMENT ON INDEX customers_name_trgm_idx IS
    'GET /customers?search=: substring match on lower(name) (LIKE ''%term%'').';

CREATE INDEX customers_email_trgm_idx
    ON customers USING gin (lower(email) public.gin_trgm_ops) WITH (fastupdate = off);
COMMENT ON INDEX customers_email_trgm_idx IS
    'GET /customers?search=: substring match on lower(email) (LIKE ''%term%'').';

CREATE INDEX customers_phone_digits_trgm_idx
    ON customers USING gin (phone_digits public.gin_trgm_ops) WITH (fastupdate = off);
COMMENT ON INDEX customers_phone_digits_trgm_idx IS
    'GET /customers?search= with a phone-like term: substring match on the digits of the phone.';
