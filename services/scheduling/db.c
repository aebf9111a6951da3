/*
 * db.c -- every SQL statement of the scheduling service, in one table.
 *
 * kv_db prepares them all by name when a worker connects; handlers run them
 * with $n text parameters only.  Every statement filters on tenant_id ($1).
 * Arrays travel as JSON text ($n::jsonb) or as PostgreSQL array literals
 * built from integers only, never as SQL.  Statements returning a service,
 * staff member or appointment share the column lists below, whose order the
 * SCHED_S_*, SCHED_T_* and SCHED_A_* enums of sched.h mirror.
 */
#include "sched.h"
#include "kv_limits.h"
#include "kv_outbox.h"
#include "kv_sync.h"

/* A numeric macro as a string literal, for LIMITs from kv_limits.h. */
#define SCHED_STR_(x) #x
#define SCHED_STR(x) SCHED_STR_(x)

#define SCHED_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define SCHED_SVC_COLS \
    "id, name, duration_minutes, price_cents, active, " \
    SCHED_TS("created_at") ", " SCHED_TS("updated_at") ", " \
    "buffer_before_minutes, buffer_after_minutes, min_notice_minutes, max_advance_days"

/* Staff s with, as ms, the shortest active service s performs (lowest id
 * among equals; all NULL when none): its duration and booking rules decide
 * the member's next available slot. */
#define SCHED_STAFF_FROM \
    " staff s LEFT JOIN LATERAL (SELECT sv.duration_minutes, sv.buffer_before_minutes, " \
    "   sv.buffer_after_minutes, sv.min_notice_minutes, sv.max_advance_days " \
    "  FROM services sv WHERE sv.tenant_id = s.tenant_id AND sv.active " \
    "    AND (NOT EXISTS (SELECT 1 FROM staff_services x WHERE x.staff_id = s.id) " \
    "         OR EXISTS (SELECT 1 FROM staff_services x " \
    "                     WHERE x.staff_id = s.id AND x.service_id = sv.id)) " \
    "  ORDER BY sv.duration_minutes, sv.id LIMIT 1) ms ON true"

#define SCHED_STAFF_COLS \
    "s.id, s.name, array_to_json(s.specialties)::text, s.active, " \
    SCHED_TS("s.created_at") ", " SCHED_TS("s.updated_at") ", ms.duration_minutes, " \
    "ms.buffer_before_minutes, ms.buffer_after_minutes, ms.min_notice_minutes, " \
    "ms.max_advance_days"

/* Staff member s performs service $n: no staff_services row, or one for it. */
#define SCHED_PERFORMS(n) \
    "(NOT EXISTS (SELECT 1 FROM staff_services x WHERE x.staff_id = s.id) " \
    " OR EXISTS (SELECT 1 FROM staff_services x WHERE x.staff_id = s.id AND x.service_id = " n "))"

#define SCHED_APPT_COLS \
    "a.id, a.customer_id, a.service_id, sv.name, a.staff_id, st.name, " \
    "to_char(a.appointment_date, 'YYYY-MM-DD'), a.start_min, a.end_min, a.duration_minutes, " \
    "a.status, a.notes, a.source, a.price_cents, " \
    SCHED_TS("a.created_at") ", " SCHED_TS("a.updated_at") ", a.call_id, " \
    "a.buffer_before_minutes, a.buffer_after_minutes"

/* The columns of a hold (SCHED_H_* of sched.h). */
#define SCHED_HOLD_COLS \
    "h.id, h.service_id, h.staff_id, to_char(h.appointment_date, 'YYYY-MM-DD'), " \
    "h.start_min, h.end_min, " SCHED_TS("h.expires_at") ", h.call_id, h.duration_minutes, " \
    "h.price_cents, h.buffer_before_minutes, h.buffer_after_minutes, " \
    SCHED_TS("h.call_started_at") ", h.expires_at <= now()"

/* Busy rows of the tenant's staff that count now (an expired hold does
 * not), as minutes from midnight of date $d: lower and upper bound. */
#define SCHED_BUSY_MINUTES(d) \
    "(extract(epoch FROM lower(during) - " d ") / 60)::int, " \
    "(extract(epoch FROM upper(during) - " d ") / 60)::int"
#define SCHED_BUSY_LIVE " (expires_at IS NULL OR expires_at > now())"

#define SCHED_APPT_JOIN \
    " JOIN services sv ON sv.tenant_id = a.tenant_id AND sv.id = a.service_id" \
    " JOIN staff st ON st.tenant_id = a.tenant_id AND st.id = a.staff_id"

/* Optional list filters: $2 status, $3 date, $4 staff id (NULL: any). */
#define SCHED_APPT_FILTER \
    " WHERE a.tenant_id = $1" \
    "   AND ($2::text IS NULL OR a.status = $2::text)" \
    "   AND ($3::date IS NULL OR a.appointment_date = $3::date)" \
    "   AND ($4::bigint IS NULL OR a.staff_id = $4::bigint)"

const kv_stmt_t sched_stmts[] = {
    /* $1 IANA zone -> the tenant's local date and minute of the day */
    { "sched_now",
      "SELECT to_char(now() AT TIME ZONE $1, 'YYYY-MM-DD'), "
      "(extract(hour FROM now() AT TIME ZONE $1) * 60 "
      " + extract(minute FROM now() AT TIME ZONE $1))::int" },

    /* ---- services ---- */
    /* the page and, in its last column, the total: one round trip */
    { "services_list",
      "SELECT " SCHED_SVC_COLS ", count(*) OVER () FROM services WHERE tenant_id = $1 AND active "
      "ORDER BY id LIMIT $2 OFFSET $3" },
    { "services_count",
      "SELECT count(*) FROM services WHERE tenant_id = $1 AND active" },
    { "services_get",
      "SELECT " SCHED_SVC_COLS " FROM services WHERE tenant_id = $1 AND id = $2 AND active" },
    /* any service of the tenant, active or not (the rules of a booked one) */
    { "services_get_any",
      "SELECT " SCHED_SVC_COLS " FROM services WHERE tenant_id = $1 AND id = $2" },
    { "services_insert",
      "INSERT INTO services (tenant_id, name, duration_minutes, price_cents, active, "
      "  buffer_before_minutes, buffer_after_minutes, min_notice_minutes, max_advance_days) "
      "VALUES ($1, $2, $3, $4, $5, $6::int, $7::int, $8::int, $9::int) RETURNING " SCHED_SVC_COLS },
    { "services_update",
      "UPDATE services SET name = coalesce($3, name), "
      "duration_minutes = coalesce($4::int, duration_minutes), "
      "price_cents = coalesce($5::bigint, price_cents), "
      "active = coalesce($6::boolean, active), "
      "buffer_before_minutes = coalesce($7::int, buffer_before_minutes), "
      "buffer_after_minutes = coalesce($8::int, buffer_after_minutes), "
      "min_notice_minutes = coalesce($9::int, min_notice_minutes), "
      "max_advance_days = coalesce($10::int, max_advance_days), updated_at = now() "
      "WHERE tenant_id = $1 AND id = $2 RETURNING " SCHED_SVC_COLS },
    /* $2 a JSON array of ids -> how many of them are services of the tenant */
    { "services_count_ids",
      "SELECT count(*) FROM services WHERE tenant_id = $1 AND id IN "
      "(SELECT (jsonb_array_elements_text($2::jsonb))::bigint)" },

    /* ---- staff ---- */
    { "staff_list",
      "SELECT " SCHED_STAFF_COLS " FROM" SCHED_STAFF_FROM " WHERE s.tenant_id = $1 AND s.active "
      "ORDER BY s.id LIMIT $2 OFFSET $3" },
    { "staff_count",
      "SELECT count(*) FROM staff WHERE tenant_id = $1 AND active" },
    { "staff_get",
      "SELECT " SCHED_STAFF_COLS " FROM" SCHED_STAFF_FROM
      " WHERE s.tenant_id = $1 AND s.id = $2 AND s.active" },
    { "staff_get_any",
      "SELECT " SCHED_STAFF_COLS " FROM" SCHED_STAFF_FROM " WHERE s.tenant_id = $1 AND s.id = $2" },
    /* $2 a bigint[] literal of staff ids */
    { "staff_hours_of",
      "SELECT staff_id, weekday, start_min, end_min FROM staff_hours "
      "WHERE tenant_id = $1 AND staff_id = ANY($2::bigint[]) "
      "ORDER BY staff_id, weekday, start_min" },
    { "staff_services_of",
      "SELECT service_id FROM staff_services WHERE tenant_id = $1 AND staff_id = $2 "
      "ORDER BY service_id" },
    /* the busy intervals (bookings and live holds, buffers included) of staff
     * $2 (bigint[]) that reach into the dates [$3 - 1, $3 + $4 + 2), in
     * minutes from midnight of $3 */
    { "staff_busy_range",
      "SELECT staff_id, " SCHED_BUSY_MINUTES("$3::date") " FROM busy "
      "WHERE tenant_id = $1 AND staff_id = ANY($2::bigint[]) AND" SCHED_BUSY_LIVE
      "  AND during && tsrange(($3::date - 1)::timestamp, ($3::date + $4::int + 2)::timestamp) "
      "ORDER BY staff_id, lower(during)" },
    /* scheduled appointments of staff $2 from date $3 minute $4 on */
    { "staff_upcoming",
      "SELECT to_char(appointment_date, 'YYYY-MM-DD'), start_min, end_min FROM appointments "
      "WHERE tenant_id = $1 AND staff_id = $2 AND status = 'scheduled' "
      "  AND (appointment_date > $3::date OR (appointment_date = $3::date AND start_min >= $4::int)) "
      "ORDER BY appointment_date, start_min LIMIT " SCHED_STR(KV_STAFF_UPCOMING_MAX) },
    /* $3 a JSON array of strings */
    { "staff_insert",
      "INSERT INTO staff (tenant_id, name, specialties, active) "
      "VALUES ($1, $2, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), $4) RETURNING id" },
    { "staff_update",
      "UPDATE staff SET name = coalesce($3, name), "
      "specialties = CASE WHEN $4::jsonb IS NULL THEN specialties "
      "              ELSE ARRAY(SELECT jsonb_array_elements_text($4::jsonb)) END, "
      "active = coalesce($5::boolean, active), updated_at = now() "
      "WHERE tenant_id = $1 AND id = $2 RETURNING id" },
    { "staff_hours_delete",
      "DELETE FROM staff_hours WHERE tenant_id = $1 AND staff_id = $2" },
    /* $3 a JSON array of [weekday, start_min, end_min] */
    { "staff_hours_insert",
      "INSERT INTO staff_hours (staff_id, tenant_id, weekday, start_min, end_min) "
      "SELECT $2, $1, (e->>0)::smallint, (e->>1)::int, (e->>2)::int "
      "FROM jsonb_array_elements($3::jsonb) AS e" },
    { "staff_services_delete",
      "DELETE FROM staff_services WHERE tenant_id = $1 AND staff_id = $2" },
    /* $3 a JSON array of service ids */
    { "staff_services_insert",
      "INSERT INTO staff_services (staff_id, service_id, tenant_id) "
      "SELECT DISTINCT $2::bigint, (jsonb_array_elements_text($3::jsonb))::bigint, $1::bigint" },

    /* ---- slots ---- */
    /* working intervals on weekday $2 of active staff who perform service $4
     * (and are staff $3 when given) */
    { "slots_hours",
      "SELECT s.id, h.start_min, h.end_min FROM staff s "
      "JOIN staff_hours h ON h.tenant_id = s.tenant_id AND h.staff_id = s.id "
      "WHERE s.tenant_id = $1 AND s.active AND h.weekday = $2::smallint "
      "  AND ($3::bigint IS NULL OR s.id = $3::bigint) AND " SCHED_PERFORMS("$4::bigint")
      " ORDER BY s.id, h.start_min" },
    /* the busy intervals (bookings and live holds, buffers included) that
     * reach into [$2 - 1 day, $2 + 2 days) -- all a candidate of date $2 and
     * its buffers can touch -- of staff $3 when given, leaving out
     * appointment $4's own when given (it is being moved), in minutes from
     * midnight of $2 */
    { "slots_busy",
      "SELECT staff_id, " SCHED_BUSY_MINUTES("$2::date") " FROM busy "
      "WHERE tenant_id = $1 AND" SCHED_BUSY_LIVE
      "  AND during && tsrange(($2::date - 1)::timestamp, ($2::date + 2)::timestamp) "
      "  AND ($3::bigint IS NULL OR staff_id = $3::bigint) "
      "  AND ($4::bigint IS NULL OR appointment_id IS DISTINCT FROM $4::bigint) "
      "ORDER BY staff_id, lower(during)" },

    /* ---- appointments ---- */
    /* one named staff member $2: exists and active; performs service $3;
     * works all of [$5, $6) on weekday $4 */
    { "appt_staff_check",
      "SELECT s.id, " SCHED_PERFORMS("$3::bigint") ", "
      "EXISTS (SELECT 1 FROM staff_hours h WHERE h.staff_id = s.id AND h.weekday = $4::smallint "
      "        AND h.start_min <= $5::int AND h.end_min >= $6::int) "
      "FROM staff s WHERE s.tenant_id = $1 AND s.id = $2 AND s.active" },
    /* every active staff member who performs service $2 and works all of
     * [$5, $6) on weekday $4 of date $3; the ones free then (buffers $7
     * before and $8 after included) first */
    { "appt_candidates",
      "SELECT s.id, NOT EXISTS (SELECT 1 FROM busy b "
      "  WHERE b.tenant_id = s.tenant_id AND b.staff_id = s.id "
      "    AND (b.expires_at IS NULL OR b.expires_at > now()) "
      "    AND b.during && busy_range($3::date, $5::int, $6::int, $7::int, $8::int)) AS free "
      "FROM staff s WHERE s.tenant_id = $1 AND s.active AND " SCHED_PERFORMS("$2::bigint")
      " AND EXISTS (SELECT 1 FROM staff_hours h WHERE h.staff_id = s.id AND h.weekday = $4::smallint "
      "             AND h.start_min <= $5::int AND h.end_min >= $6::int) "
      "ORDER BY free DESC, s.id" },
    /* $11, $12 buffers; $13 call id and $14 its started_at (NULL: none) */
    { "appt_insert",
      "WITH a AS (INSERT INTO appointments (tenant_id, customer_id, service_id, staff_id, "
      "  appointment_date, start_min, end_min, notes, source, price_cents, duration_minutes, "
      "  buffer_before_minutes, buffer_after_minutes, call_id, call_started_at) "
      "  VALUES ($1, $2, $3, $4, $5::date, $6::int, $6::int + $10::int, $7, $8, $9, $10::int, "
      "          $11::int, $12::int, $13::bigint, $14::timestamptz) "
      "  RETURNING *) "
      "SELECT " SCHED_APPT_COLS " FROM a" SCHED_APPT_JOIN },
    { "appt_get",
      "SELECT " SCHED_APPT_COLS " FROM appointments a" SCHED_APPT_JOIN
      " WHERE a.tenant_id = $1 AND a.id = $2" },
    { "appt_list",
      "SELECT " SCHED_APPT_COLS " FROM appointments a" SCHED_APPT_JOIN SCHED_APPT_FILTER
      " ORDER BY a.appointment_date, a.start_min, a.id LIMIT $5 OFFSET $6" },
    { "appt_count",
      "SELECT count(*) FROM appointments a" SCHED_APPT_FILTER },
    /* sync pages (GET /appointments?updated_since= | ?cursor=): change
     * order, rows of finished transactions only (kv_sync.h,
     * sql/scheduling/002_sync.sql); $1 tenant, then first: $2 updated_since,
     * $3 limit; next: $2 sync_xid, $3 id, $4 updated_since or NULL, $5 limit */
    { "appt_sync_first",
      "SELECT " SCHED_APPT_COLS KV_SYNC_SQL_COLS("a.") " FROM appointments a" SCHED_APPT_JOIN
      " WHERE a.tenant_id = $1" KV_SYNC_SQL_FIRST_WHERE("appointments", "a.")
      KV_SYNC_SQL_ORDER("a.") " LIMIT $3" },
    { "appt_sync_next",
      "SELECT " SCHED_APPT_COLS KV_SYNC_SQL_COLS("a.") " FROM appointments a" SCHED_APPT_JOIN
      " WHERE a.tenant_id = $1" KV_SYNC_SQL_NEXT_WHERE("a.")
      KV_SYNC_SQL_ORDER("a.") " LIMIT $5" },
    /* locks appointment $2 for a status change: its status, and whether it
     * has started by now in time zone $3 */
    { "appt_lock",
      "SELECT status, (appointment_date + start_min * interval '1 minute') "
      "  <= (now() AT TIME ZONE $3) "
      "FROM appointments WHERE tenant_id = $1 AND id = $2 FOR UPDATE" },
    /* sets status $3 (the caller checked the transition under appt_lock) */
    { "appt_set_status",
      "WITH a AS (UPDATE appointments SET status = $3, updated_at = now() "
      "  WHERE tenant_id = $1 AND id = $2 RETURNING *) "
      "SELECT " SCHED_APPT_COLS " FROM a" SCHED_APPT_JOIN },
    /* locks appointment $2 for a reschedule: the slot it has now */
    { "appt_lock_move",
      "SELECT status, service_id, staff_id, to_char(appointment_date, 'YYYY-MM-DD'), "
      "start_min, end_min, duration_minutes, price_cents, buffer_before_minutes, "
      "buffer_after_minutes "
      "FROM appointments WHERE tenant_id = $1 AND id = $2 FOR UPDATE" },
    /* moves appointment $2 (checked under appt_lock_move): service $3,
     * staff $4, date $5, start $6, duration $7, price $8, buffers $9 and
     * $10; notes $12 when $11 */
    { "appt_move",
      "WITH a AS (UPDATE appointments SET service_id = $3::bigint, staff_id = $4::bigint, "
      "  appointment_date = $5::date, start_min = $6::int, end_min = $6::int + $7::int, "
      "  duration_minutes = $7::int, price_cents = $8::bigint, "
      "  buffer_before_minutes = $9::int, buffer_after_minutes = $10::int, "
      "  notes = CASE WHEN $11::boolean THEN $12::text ELSE notes END, updated_at = now() "
      "  WHERE tenant_id = $1 AND id = $2 RETURNING *) "
      "SELECT " SCHED_APPT_COLS " FROM a" SCHED_APPT_JOIN },
    { "appt_set_notes",
      "WITH a AS (UPDATE appointments SET notes = $3, updated_at = now() "
      "  WHERE tenant_id = $1 AND id = $2 RETURNING *) "
      "SELECT " SCHED_APPT_COLS " FROM a" SCHED_APPT_JOIN },
    /* ids of the appointments booked during call $2, oldest first */
    { "appt_of_call",
      "SELECT id FROM appointments WHERE tenant_id = $1 AND call_id = $2::bigint "
      "ORDER BY id LIMIT " SCHED_STR(KV_CALL_APPOINTMENTS_MAX) },
    /* how many distinct calls that started in the tenant-local dates
     * [$3, $4] (zone $2) have at least one appointment, whatever its status */
    { "appt_booked_calls",
      "SELECT count(DISTINCT call_id) FROM appointments "
      "WHERE tenant_id = $1 AND call_id IS NOT NULL "
      "  AND call_started_at >= ($3::date)::timestamp AT TIME ZONE $2::text "
      "  AND call_started_at < (($4::date) + 1)::timestamp AT TIME ZONE $2::text" },

    /* ---- holds ---- */
    /* $2 service, $3 staff, $4 date, $5 start, $6 duration, $7 price, $8 and
     * $9 buffers, $10 call id and $11 its started_at (NULL: none), $12 ttl
     * in seconds (expires_at in whole seconds, what the answer shows) */
    { "hold_insert",
      "WITH h AS (INSERT INTO holds (tenant_id, service_id, staff_id, appointment_date, "
      "  start_min, end_min, duration_minutes, price_cents, buffer_before_minutes, "
      "  buffer_after_minutes, call_id, call_started_at, expires_at) "
      "  VALUES ($1, $2, $3, $4::date, $5::int, $5::int + $6::int, $6::int, $7::bigint, "
      "          $8::int, $9::int, $10::bigint, $11::timestamptz, "
      "          date_trunc('second', now()) + $12::int * interval '1 second') "
      "  RETURNING *) "
      "SELECT " SCHED_HOLD_COLS " FROM h" },
    /* locks hold $2 for a booking: the hold, and whether it has expired */
    { "hold_lock",
      "SELECT " SCHED_HOLD_COLS " FROM holds h WHERE h.tenant_id = $1 AND h.id = $2 FOR UPDATE" },
    { "hold_delete",
      "DELETE FROM holds WHERE tenant_id = $1 AND id = $2 RETURNING id" },
    /* forgets (at most 100 of) the tenant's holds expired for over a day,
     * of one staff member at a time (the one of the oldest): deleting a
     * hold deletes its busy row, which takes that member's lock, and one
     * lock per statement can never be taken in two orders.  Rows another
     * transaction holds are left for the next time. */
    { "hold_purge",
      "DELETE FROM holds WHERE id IN (SELECT id FROM holds WHERE tenant_id = $1 "
      "  AND expires_at < now() - interval '1 day' "
      "  AND staff_id = (SELECT staff_id FROM holds WHERE tenant_id = $1 "
      "                   AND expires_at < now() - interval '1 day' ORDER BY expires_at LIMIT 1) "
      "  LIMIT 100 FOR UPDATE SKIP LOCKED)" },

    { "appt_customer_stats",
      "SELECT count(*) FILTER (WHERE status <> 'cancelled'), "
      "coalesce(sum(price_cents) FILTER (WHERE status = 'completed'), 0), "
      "to_char(max(appointment_date) FILTER (WHERE status = 'completed'), 'YYYY-MM-DD') "
      "FROM appointments WHERE tenant_id = $1 AND customer_id = $2" },

    KV_OUTBOX_STMTS
    { NULL, NULL }
};
