-- 002_sync.sql -- incremental sync of appointments: GET /api/v1/appointments
-- with updated_since or cursor (appt_sync_first / appt_sync_next in
-- services/scheduling/db.c).
--
-- Every appointment carries sync_xid, the id of the transaction that last
-- changed it (pg_current_xact_id(): 64 bits, never wraps).  A sync page
-- returns rows in (sync_xid, id) order and only those whose sync_xid is
-- below the xmin of the statement's snapshot -- every transaction below it
-- has finished -- so no change can later appear behind a position already
-- handed out.  docs/architecture.md ("Incremental sync") has the argument.
--
-- The stamp is a trigger, not a duty of each statement, so every write
-- path -- today's and any added later -- moves sync_xid and updated_at
-- together: an INSERT takes the inserting transaction's id; an UPDATE that
-- changes a column takes the updating one's and updated_at = now(); an
-- UPDATE that changes nothing keeps both (a no-op is not a change).  A
-- statement that changes what the row shows without changing one of its
-- columns marks it by setting sync_xid to NULL: renaming a service or a
-- staff member does that to their appointments, whose service_name /
-- staff_name change.
--
-- Rows that exist when this runs get this migration's transaction id: to a
-- sync walk they all changed now, in id order.

ALTER TABLE appointments ADD COLUMN sync_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
COMMENT ON COLUMN appointments.sync_xid IS
    'Transaction that last changed the row (sync_stamp); the sync order is (sync_xid, id).';

-- sync_stamp(excluded...): BEFORE INSERT OR UPDATE, FOR EACH ROW.  The
-- trigger's arguments name the columns left out of the "did anything
-- change" comparison besides updated_at and sync_xid: the generated ones,
-- which a BEFORE trigger sees as NULL.
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

CREATE TRIGGER appointments_sync_stamp BEFORE INSERT OR UPDATE ON appointments
    FOR EACH ROW EXECUTE FUNCTION sync_stamp('during');

-- A renamed service or staff member changes service_name / staff_name of
-- each of their appointments: mark them changed.
CREATE FUNCTION sync_touch_appointments() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_TABLE_NAME = 'services' THEN
        UPDATE appointments SET sync_xid = NULL
         WHERE tenant_id = NEW.tenant_id AND service_id = NEW.id;
    ELSE
        UPDATE appointments SET sync_xid = NULL
         WHERE tenant_id = NEW.tenant_id AND staff_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER services_name_sync AFTER UPDATE OF name ON services
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION sync_touch_appointments();
CREATE TRIGGER staff_name_sync AFTER UPDATE OF name ON staff
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION sync_touch_appointments();

CREATE INDEX appointments_tenant_sync_idx ON appointments (tenant_id, sync_xid, id);
COMMENT ON INDEX appointments_tenant_sync_idx IS
    'appt_sync_first / appt_sync_next: a tenant''s appointments in change order from a position';
CREATE INDEX appointments_tenant_updated_idx ON appointments (tenant_id, updated_at)
    INCLUDE (sync_xid);
COMMENT ON INDEX appointments_tenant_updated_idx IS
    'appt_sync_first: the oldest change at or after updated_since (an index-only scan)';
CREATE INDEX appointments_tenant_service_idx ON appointments (tenant_id, service_id);
COMMENT ON INDEX appointments_tenant_service_idx IS
    'sync_touch_appointments: the appointments of a renamed service';
