-- 002_holds_rules_calls.sql -- booking for voice agents: booking rules per
-- service (buffers, minimum notice, maximum advance), slot holds, the link
-- from an appointment to the call it was booked in, and the one table that
-- makes appointments and holds exclude each other.
--
-- Why a `busy` table.  An exclusion constraint sees the rows of one table
-- only, and a hold must exclude appointments (and other holds) exactly as an
-- appointment excludes another.  Storing holds as appointments with a status
-- of their own would put them in every list, count, customer figure and
-- staff agenda that reads appointments; a second constraint per table cannot
-- see the other table.  So every interval a staff member is taken -- a
-- non-cancelled appointment or a hold -- is one row of `busy` (tenant, staff,
-- the *buffered* interval, and for a hold when it expires), and the
-- constraint busy_no_overlap makes two of them for one staff member
-- impossible, whoever writes them.
--
-- `busy` is kept in step by triggers, not by the service's code: inserting,
-- moving or cancelling an appointment, and inserting or deleting a hold,
-- writes its busy row in the same statement, so no code path (nor a manual
-- INSERT) can leave an appointment without its busy row.  A conflict raises
-- SQLSTATE 23P01 from busy_no_overlap, which the service answers 409.
--
-- Expiry needs no job: an expired hold's row stays until someone needs the
-- interval.  The BEFORE trigger on busy deletes the expired hold rows that
-- overlap the row being written, in the same transaction, so the constraint
-- then sees only live rows; readers (/slots, the staff's next slot) ignore
-- rows whose expires_at has passed.  The hold itself (holds) is kept so that
-- booking with an expired hold can say "expired" (409) rather than "unknown"
-- (422); holds expired for more than a day are purged when new holds are made.
--
-- Buffers are snapshots, like price and duration: an appointment (and a
-- hold) records the buffers of its service when it was made, so editing a
-- service later never moves the busy range of existing bookings.
--
-- appointments_no_double_booking (001) stays: it is implied by
-- busy_no_overlap (a busy range contains its appointment's range) and keeps
-- its meaning and name for whoever reads the schema.
--
-- Every write that touches a staff member's time takes that member's row
-- lock first (staff_lock, from BEFORE triggers), so that two exclusion
-- checks on one member never run at once and cannot deadlock (below).
-- The trigger functions carry the migration's search_path (SET search_path
-- FROM CURRENT): a session with another search_path still keeps busy in
-- step.
--
-- Run by kv_db_migrate in one transaction (no BEGIN/COMMIT here).

-- ---- booking rules of a service ----------------------------------------------

ALTER TABLE services
    ADD COLUMN buffer_before_minutes integer NOT NULL DEFAULT 0
        CHECK (buffer_before_minutes BETWEEN 0 AND 1440),
    ADD COLUMN buffer_after_minutes  integer NOT NULL DEFAULT 0
        CHECK (buffer_after_minutes BETWEEN 0 AND 1440),
    ADD COLUMN min_notice_minutes    integer NOT NULL DEFAULT 0
        CHECK (min_notice_minutes BETWEEN 0 AND 525600),
    ADD COLUMN max_advance_days      integer NOT NULL DEFAULT 365
        CHECK (max_advance_days BETWEEN 0 AND 3650);

-- ---- appointments: buffer snapshots, the call link ------------------------------

-- call_id is the calls service's id (checked over the bus, calls.lookup);
-- call_started_at is that call's started_at, recorded with it so that the
-- calls' statistics can count booked calls of a date range here, in one
-- index range, without shipping call ids across the bus.
ALTER TABLE appointments
    ADD COLUMN buffer_before_minutes integer NOT NULL DEFAULT 0
        CHECK (buffer_before_minutes BETWEEN 0 AND 1440),
    ADD COLUMN buffer_after_minutes  integer NOT NULL DEFAULT 0
        CHECK (buffer_after_minutes BETWEEN 0 AND 1440),
    ADD COLUMN call_id               bigint CHECK (call_id > 0),
    ADD COLUMN call_started_at       timestamptz,
    ADD CONSTRAINT appointments_call_started_with_call
        CHECK ((call_id IS NULL) = (call_started_at IS NULL));

CREATE INDEX appointments_tenant_call_idx
    ON appointments (tenant_id, call_id, id) WHERE call_id IS NOT NULL;
COMMENT ON INDEX appointments_tenant_call_idx IS
    'appt_of_call: the appointments booked during one call (GET /calls/{id} appointment_ids)';
CREATE INDEX appointments_tenant_call_started_idx
    ON appointments (tenant_id, call_started_at) INCLUDE (call_id) WHERE call_id IS NOT NULL;
COMMENT ON INDEX appointments_tenant_call_started_idx IS
    'appt_booked_calls: distinct calls with an appointment among the calls started in a range (GET /calls/stats), index-only';

-- ---- holds ---------------------------------------------------------------------

CREATE TABLE holds (
    id                    bigserial PRIMARY KEY,
    tenant_id             bigint NOT NULL,
    service_id            bigint NOT NULL,
    staff_id              bigint NOT NULL,
    appointment_date      date NOT NULL,
    start_min             integer NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min               integer NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    -- snapshots of the service when the hold was made: the booking takes them
    duration_minutes      integer NOT NULL CHECK (duration_minutes > 0),
    price_cents           bigint NOT NULL CHECK (price_cents >= 0),
    buffer_before_minutes integer NOT NULL CHECK (buffer_before_minutes BETWEEN 0 AND 1440),
    buffer_after_minutes  integer NOT NULL CHECK (buffer_after_minutes BETWEEN 0 AND 1440),
    call_id               bigint CHECK (call_id > 0),
    call_started_at       timestamptz,
    expires_at            timestamptz NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (start_min < end_min),
    CHECK ((call_id IS NULL) = (call_started_at IS NULL)),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id)
);
CREATE INDEX holds_tenant_expires_idx ON holds (tenant_id, expires_at);
COMMENT ON INDEX holds_tenant_expires_idx IS
    'hold_purge: a tenant''s holds expired long ago, deleted when it makes a new one';

-- ---- busy: every interval a staff member is taken ----------------------------------

-- The buffered interval of a booking on date d from minute s to minute e with
-- buffers bb before and ba after (minutes may leave the day: a buffer before
-- 00:15 reaches into the previous day).
CREATE FUNCTION busy_range(d date, s integer, e integer, bb integer, ba integer)
RETURNS tsrange LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT tsrange(d + (s - bb) * interval '1 minute', d + (e + ba) * interval '1 minute', '[)')
$$;

CREATE TABLE busy (
    id             bigserial PRIMARY KEY,
    tenant_id      bigint NOT NULL,
    staff_id       bigint NOT NULL,
    during         tsrange NOT NULL CHECK (NOT isempty(during)),
    appointment_id bigint UNIQUE REFERENCES appointments (id) ON DELETE CASCADE,
    hold_id        bigint UNIQUE REFERENCES holds (id) ON DELETE CASCADE,
    expires_at     timestamptz,        -- holds only: from then on the row no longer counts
    CHECK ((appointment_id IS NULL) <> (hold_id IS NULL)),
    CHECK ((hold_id IS NULL) = (expires_at IS NULL)),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id),
    CONSTRAINT busy_no_overlap
        EXCLUDE USING gist (tenant_id WITH =, staff_id WITH =, during WITH &&)
);
COMMENT ON INDEX busy_no_overlap IS
    'no two live bookings or holds of one staff member overlap (buffers included); also serves slots_busy, staff_busy_range, the purge of expired holds and appt_candidates';

-- One writer per staff member at a time.  An exclusion constraint inserts
-- its index entry first and checks afterwards, waiting for any conflicting
-- transaction still in progress; two transactions that each wrote a
-- conflicting row (a booking whose constraint check waits on a hold's
-- deletion, while the hold's booking waits on that booking) would wait for
-- each other until the deadlock detector killed one, a second later, with
-- a 500.  So every write that can touch a staff member's booked time takes
-- that staff member's row lock first (FOR NO KEY UPDATE: it does not block
-- the foreign-key checks, which take KEY SHARE), from a BEFORE trigger, so
-- no statement can forget it; with two members (a move to another one)
-- both, in id order.  Writes for one member then run one after the other,
-- each seeing the last one's committed rows: a conflict is a clean 23P01.
CREATE FUNCTION staff_lock(t bigint, a bigint, b bigint) RETURNS void LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM 1 FROM staff WHERE tenant_id = t AND id IN (a, b) ORDER BY id FOR NO KEY UPDATE;
END
$$;

CREATE FUNCTION appointments_lock_staff() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM staff_lock(NEW.tenant_id, NEW.staff_id, NEW.staff_id);
    ELSE
        PERFORM staff_lock(NEW.tenant_id, OLD.staff_id, NEW.staff_id);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER appointments_lock_staff
    BEFORE INSERT OR UPDATE OF status, staff_id, appointment_date, start_min, end_min,
                               buffer_before_minutes, buffer_after_minutes
    ON appointments FOR EACH ROW EXECUTE FUNCTION appointments_lock_staff();

CREATE FUNCTION busy_lock_staff() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM staff_lock(OLD.tenant_id, OLD.staff_id, OLD.staff_id);
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM staff_lock(NEW.tenant_id, NEW.staff_id, NEW.staff_id);
    ELSE
        PERFORM staff_lock(NEW.tenant_id, OLD.staff_id, NEW.staff_id);
    END IF;
    RETURN NEW;
END
$$;
-- (named to fire before busy_purge_expired: triggers fire in name order)
CREATE TRIGGER busy_a_lock_staff BEFORE INSERT OR UPDATE OR DELETE ON busy
    FOR EACH ROW EXECUTE FUNCTION busy_lock_staff();

-- Before a busy row is written: the expired holds overlapping it are
-- deleted (with their holds row kept), so an expired hold never blocks.
CREATE FUNCTION busy_purge_expired() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM busy b
     WHERE b.tenant_id = NEW.tenant_id AND b.staff_id = NEW.staff_id
       AND b.during && NEW.during AND b.expires_at <= now() AND b.id <> NEW.id;
    RETURN NEW;
END
$$;
CREATE TRIGGER busy_purge_expired BEFORE INSERT OR UPDATE OF staff_id, during ON busy
    FOR EACH ROW EXECUTE FUNCTION busy_purge_expired();

-- An appointment's busy row follows it: written when it is booked (or, were
-- it ever allowed, un-cancelled), moved when it is rescheduled, deleted when
-- it is cancelled.  completed and no_show keep it (the time was taken).
CREATE FUNCTION appointments_busy_sync() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    r tsrange := busy_range(NEW.appointment_date, NEW.start_min, NEW.end_min,
                            NEW.buffer_before_minutes, NEW.buffer_after_minutes);
BEGIN
    IF NEW.status = 'cancelled' THEN
        DELETE FROM busy WHERE appointment_id = NEW.id;
    ELSIF TG_OP = 'INSERT' OR OLD.status = 'cancelled' THEN
        INSERT INTO busy (tenant_id, staff_id, during, appointment_id)
        VALUES (NEW.tenant_id, NEW.staff_id, r, NEW.id);
    ELSE
        UPDATE busy SET staff_id = NEW.staff_id, during = r
         WHERE appointment_id = NEW.id
           AND (staff_id <> NEW.staff_id OR during <> r);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER appointments_busy
    AFTER INSERT OR UPDATE OF status, staff_id, appointment_date, start_min, end_min,
                              buffer_before_minutes, buffer_after_minutes
    ON appointments FOR EACH ROW EXECUTE FUNCTION appointments_busy_sync();

-- A hold's busy row is written with it (deleting the hold deletes the row).
CREATE FUNCTION holds_busy_insert() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO busy (tenant_id, staff_id, during, hold_id, expires_at)
    VALUES (NEW.tenant_id, NEW.staff_id,
            busy_range(NEW.appointment_date, NEW.start_min, NEW.end_min,
                       NEW.buffer_before_minutes, NEW.buffer_after_minutes),
            NEW.id, NEW.expires_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER holds_busy AFTER INSERT ON holds
    FOR EACH ROW EXECUTE FUNCTION holds_busy_insert();

-- The appointments booked before this migration: their busy rows (no buffers;
-- they cannot overlap, appointments_no_double_booking saw to it).
INSERT INTO busy (tenant_id, staff_id, during, appointment_id)
SELECT tenant_id, staff_id, during, id FROM appointments WHERE status <> 'cancelled';
