-- 002_sync.sql -- incremental sync of customers: GET /api/v1/customers with
-- updated_since or cursor (crm_sync_first / crm_sync_next in
-- services/crm/db.c).
--
-- Every customer carries sync_xid, the id of the transaction that last
-- changed it (pg_current_xact_id(): 64 bits, never wraps).  A sync page
-- returns rows in (sync_xid, id) order and only those whose sync_xid is
-- below the xmin of the statement's snapshot -- every transaction below it
-- has finished -- so no change can later appear behind a position already
-- handed out.  docs/architecture.md ("Incremental sync") has the argument.
--
-- The stamp is a trigger, so every write path moves sync_xid and
-- updated_at together: an INSERT takes the inserting transaction's id; an
-- UPDATE that changes a column takes the updating one's and updated_at =
-- now(); an UPDATE that changes nothing (a PATCH repeating the current
-- values) keeps both.  total_appointments / total_spent / last_visit_date
-- are asked of scheduling at read time and are not columns: they never
-- move updated_at.
--
-- Rows that exist when this runs get this migration's transaction id: to a
-- sync walk they all changed now, in id order.

ALTER TABLE customers ADD COLUMN sync_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
COMMENT ON COLUMN customers.sync_xid IS
    'Transaction that last changed the row (sync_stamp); the sync order is (sync_xid, id).';

-- sync_stamp(excluded...): BEFORE INSERT OR UPDATE, FOR EACH ROW.  The
-- arguments name the columns left out of the "did anything change"
-- comparison besides updated_at and sync_xid: the generated ones, which a
-- BEFORE trigger sees as NULL.  A statement may set sync_xid to NULL to
-- mark a row changed without changing a column.
CREATE FUNCTION sync_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.sync_xid IS NOT NULL
       AND to_jsonb(NEW) - TG_ARGV - '{updated_at,sync_xid}'::text[]
           = to_jsonb(OLD) - TG_ARGV - '{updated_at,sync_xid}'::text[] THEN
        NEW.updated_at := OLD.updated_at;
        NEW.sync_xid := OLD.sync_xid;
        RETURN NEW;
    END IF;
    NEW.sync_xid := pg_current_xact_id();
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sync_stamp() IS
    'Stamps a changed row with its transaction id and, on UPDATE, updated_at = now(); keeps both on a no-op UPDATE.';

CREATE TRIGGER customers_sync_stamp BEFORE INSERT OR UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION sync_stamp('phone_digits');

CREATE INDEX customers_tenant_sync_idx ON customers (tenant_id, sync_xid, id);
COMMENT ON INDEX customers_tenant_sync_idx IS
    'crm_sync_first / crm_sync_next: a tenant''s customers in change order from a position';
CREATE INDEX customers_tenant_updated_idx ON customers (tenant_id, updated_at)
    INCLUDE (sync_xid);
COMMENT ON INDEX customers_tenant_updated_idx IS
    'crm_sync_first: the oldest change at or after updated_since (an index-only scan)';
