-- 001_init.sql -- the scheduling schema: services, staff, working hours,
-- who performs what, appointments, and the event outbox.
--
-- Every table carries tenant_id; child rows reference their parents with
-- (tenant_id, id) so that a row can never point at another tenant's parent.
-- Appointments store the tenant-local date and minutes of the day, plus the
-- same span as a tsrange (no time zone: all times are tenant-local) on which
-- an exclusion constraint makes double booking impossible.
-- Run by kv_db_migrate in one transaction (no BEGIN/COMMIT here).

CREATE TABLE services (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL,
    name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 1440),
    price_cents      bigint NOT NULL CHECK (price_cents >= 0),
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
CREATE INDEX services_tenant_active_idx ON services (tenant_id, id) WHERE active;
COMMENT ON INDEX services_tenant_active_idx IS
    'services_list / services_count / services_get: active services of a tenant by id';

CREATE TABLE staff (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    specialties text[] NOT NULL DEFAULT '{}',
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
CREATE INDEX staff_tenant_active_idx ON staff (tenant_id, id) WHERE active;
COMMENT ON INDEX staff_tenant_active_idx IS
    'staff_list / staff_count / staff_get: active staff of a tenant by id';

-- Working hours: several intervals a day allowed (a lunch break), never
-- overlapping within one staff member's day.  weekday 0 = Monday .. 6 = Sunday;
-- minutes since local midnight, end exclusive (1440 = midnight).
CREATE TABLE staff_hours (
    staff_id   bigint NOT NULL,
    tenant_id  bigint NOT NULL,
    weekday    smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_min  integer NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min    integer NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    CHECK (start_min < end_min),
    PRIMARY KEY (staff_id, weekday, start_min),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id) ON DELETE CASCADE,
    EXCLUDE USING gist (staff_id WITH =, weekday WITH =,
                        int4range(start_min, end_min) WITH &&)
);
CREATE INDEX staff_hours_tenant_weekday_idx ON staff_hours (tenant_id, weekday, staff_id);
COMMENT ON INDEX staff_hours_tenant_weekday_idx IS
    'slots_hours: working intervals of every staff member of a tenant on one weekday';

-- Which services a staff member performs; no row at all means "all of them".
CREATE TABLE staff_services (
    staff_id   bigint NOT NULL,
    service_id bigint NOT NULL,
    tenant_id  bigint NOT NULL,
    PRIMARY KEY (staff_id, service_id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX staff_services_service_idx ON staff_services (tenant_id, service_id);
COMMENT ON INDEX staff_services_service_idx IS
    'FK checks on services, and "who performs service X" lookups';

CREATE TABLE appointments (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL,
    customer_id      bigint NOT NULL CHECK (customer_id > 0),  -- crm's id, asked over the bus
    service_id       bigint NOT NULL,
    staff_id         bigint NOT NULL,
    appointment_date date NOT NULL,
    start_min        integer NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min          integer NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    during           tsrange GENERATED ALWAYS AS (
                         tsrange(appointment_date + start_min * interval '1 minute',
                                 appointment_date + end_min * interval '1 minute', '[)')) STORED,
    status           text NOT NULL DEFAULT 'scheduled'
                         CHECK (status IN ('scheduled', 'completed', 'cancelled', 'no_show')),
    notes            text,
    source           text NOT NULL DEFAULT 'api',
    price_cents      bigint NOT NULL CHECK (price_cents >= 0),     -- snapshot at booking
    duration_minutes integer NOT NULL CHECK (duration_minutes > 0), -- snapshot at booking
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (start_min < end_min),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id),
    CONSTRAINT appointments_no_double_booking
        EXCLUDE USING gist (tenant_id WITH =, staff_id WITH =, during WITH &&)
        WHERE (status <> 'cancelled')
);
CREATE INDEX appointments_tenant_when_idx
    ON appointments (tenant_id, appointment_date, start_min, id);
COMMENT ON INDEX appointments_tenant_when_idx IS
    'appointments_list / appointments_count: a tenant''s appointments in time order, optionally of one date';
CREATE INDEX appointments_tenant_status_idx
    ON appointments (tenant_id, status, appointment_date, start_min);
COMMENT ON INDEX appointments_tenant_status_idx IS
    'appointments_list / appointments_count with the status filter';
CREATE INDEX appointments_tenant_staff_idx
    ON appointments (tenant_id, staff_id, appointment_date, start_min)
    WHERE status <> 'cancelled';
COMMENT ON INDEX appointments_tenant_staff_idx IS
    'slots_busy / staff_busy_range / staff_upcoming / appointments_free_staff: booked times of staff over dates';
CREATE INDEX appointments_tenant_staff_all_idx
    ON appointments (tenant_id, staff_id, appointment_date, start_min);
COMMENT ON INDEX appointments_tenant_staff_all_idx IS
    'appointments_list / appointments_count with the staff_id filter (every status)';
CREATE INDEX appointments_tenant_customer_idx
    ON appointments (tenant_id, customer_id);
COMMENT ON INDEX appointments_tenant_customer_idx IS
    'appointments_customer_stats: one customer''s appointments';

-- The transactional outbox (shape fixed by shared/kv_outbox.h).
CREATE TABLE outbox_seq (
    id   integer PRIMARY KEY CHECK (id = 1),
    last bigint NOT NULL
);
INSERT INTO outbox_seq (id, last) VALUES (1, 0);

CREATE TABLE outbox (
    seq        bigint PRIMARY KEY,
    id         uuid NOT NULL UNIQUE,
    tenant_id  bigint NOT NULL,
    type       text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
