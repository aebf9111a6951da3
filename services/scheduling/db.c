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
    SCHED_TS("created_at") ", " SCHED_TS("updated_at")

/* The shortest active service staff member s performs (NULL when none). */
#define SCHED_MIN_DURATION \
    "(SELECT min(sv.duration_minutes) FROM services sv " \
    "  WHERE sv.tenant_id = s.tenant_id AND sv.active " \
    "    AND (NOT EXISTS (SELECT 1 FROM staff_services x WHERE x.staff_id = s.id) " \
    "         OR EXISTS (SELECT 1 FROM staff_services x " \
    "                     WHERE x.staff_id = s.id AND x.service_id = sv.id)))"

#define SCHED_STAFF_COLS \
    "s.id, s.name, array_to_json(s.specialties)::text, s.active, " \
    SCHED_TS("s.created_at") ", " SCHED_TS("s.updated_at") ", " SCHED_MIN_DURATION

/* Staff member s performs service $n: no staff_services row, or one for it. */
#define SCHED_PERFORMS(n) \
    "(NOT EXISTS (SELECT 1 FROM staff_services x WHERE x.staff_id = s.id) " \
    " OR EXISTS (SELECT 1 FROM staff_services x WHERE x.staff_id = s.id AND x.service_id = " n "))"

#define SCHED_APPT_COLS \
    "a.id, a.customer_id, a.service_id, sv.name, a.staff_id, st.name, " \
    "to_char(a.appointment_date, 'YYYY-MM-DD'), a.start_min, a.end_min, a.duration_minutes, " \
    "a.status, a.notes, a.source, a.price_cents, " \
    SCHED_TS("a.created_at") ", " SCHED_TS("a.updated_at")

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
    { "services_insert",
      "INSERT INTO services (tenant_id, name, duration_minutes, price_cents, active) "
      "VALUES ($1, $2, $3, $4, $5) RETURNING " SCHED_SVC_COLS },
    { "services_update",
      "UPDATE services SET name = coalesce($3, name), "
      "duration_minutes = coalesce($4::int, duration_minutes), "
      "price_cents = coalesce($5::bigint, price_cents), "
      "active = coalesce($6::boolean, active), updated_at = now() "
      "WHERE tenant_id = $1 AND id = $2 RETURNING " SCHED_SVC_COLS },
    /* $2 a JSON array of ids -> how many of them are services of the tenant */
    { "services_count_ids",
      "SELECT count(*) FROM services WHERE tenant_id = $1 AND id IN "
      "(SELECT (jsonb_array_elements_text($2::jsonb))::bigint)" },

    /* ---- staff ---- */
    { "staff_list",
      "SELECT " SCHED_STAFF_COLS " FROM staff s WHERE s.tenant_id = $1 AND s.active "
      "ORDER BY s.id LIMIT $2 OFFSET $3" },
    { "staff_count",
      "SELECT count(*) FROM staff WHERE tenant_id = $1 AND active" },
    { "staff_get",
      "SELECT " SCHED_STAFF_COLS " FROM staff s WHERE s.tenant_id = $1 AND s.id = $2 AND s.active" },
    { "staff_get_any",
      "SELECT " SCHED_STAFF_COLS " FROM staff s WHERE s.tenant_id = $1 AND s.id = $2" },
    /* $2 a bigint[] literal of staff ids */
    { "staff_hours_of",
      "SELECT staff_id, weekday, start_min, end_min FROM staff_hours "
      "WHERE tenant_id = $1 AND staff_id = ANY($2::bigint[]) "
      "ORDER BY staff_id, weekday, start_min" },
    { "staff_services_of",
      "SELECT service_id FROM staff_services WHERE tenant_id = $1 AND staff_id = $2 "
      "ORDER BY service_id" },
    /* booked times of staff $2 (bigint[]) on dates [$3, $3 + $4): day offset */
    { "staff_busy_range",
      "SELECT staff_id, (appointment_date - $3::date), start_min, end_min FROM appointments "
      "WHERE tenant_id = $1 AND staff_id = ANY($2::bigint[]) AND status <> 'cancelled' "
      "  AND appointment_date >= $3::date AND appointment_date < $3::date + $4::int "
      "ORDER BY staff_id, appointment_date, start_min" },
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
    /* booked times on date $2 (of staff $3 when given) */
    { "slots_busy",
      "SELECT staff_id, start_min, end_min FROM appointments "
      "WHERE tenant_id = $1 AND appointment_date = $2::date AND status <> 'cancelled' "
      "  AND ($3::bigint IS NULL OR staff_id = $3::bigint) "
      "ORDER BY staff_id, start_min" },

    /* ---- appointments ---- */
    /* one named staff member $2: exists and active; performs service $3;
     * works all of [$5, $6) on weekday $4 */
    { "appt_staff_check",
      "SELECT s.id, " SCHED_PERFORMS("$3::bigint") ", "
      "EXISTS (SELECT 1 FROM staff_hours h WHERE h.staff_id = s.id AND h.weekday = $4::smallint "
      "        AND h.start_min <= $5::int AND h.end_min >= $6::int) "
      "FROM staff s WHERE s.tenant_id = $1 AND s.id = $2 AND s.active" },
    /* every active staff member who performs service $2 and works all of
     * [$5, $6) on weekday $4 of date $3; the ones without a booking then first */
    { "appt_candidates",
      "SELECT s.id, NOT EXISTS (SELECT 1 FROM appointments a "
      "  WHERE a.tenant_id = s.tenant_id AND a.staff_id = s.id AND a.appointment_date = $3::date "
      "    AND a.status <> 'cancelled' AND a.start_min < $6::int AND a.end_min > $5::int) AS free "
      "FROM staff s WHERE s.tenant_id = $1 AND s.active AND " SCHED_PERFORMS("$2::bigint")
      " AND EXISTS (SELECT 1 FROM staff_hours h WHERE h.staff_id = s.id AND h.weekday = $4::smallint "
      "             AND h.start_min <= $5::int AND h.end_min >= $6::int) "
      "ORDER BY free DESC, s.id" },
    { "appt_insert",
      "WITH a AS (INSERT INTO appointments (tenant_id, customer_id, service_id, staff_id, "
      "  appointment_date, start_min, end_min, notes, source, price_cents, duration_minutes) "
      "  VALUES ($1, $2, $3, $4, $5::date, $6::int, $6::int + $10::int, $7, $8, $9, $10::int) "
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
    { "appt_customer_stats",
      "SELECT count(*) FILTER (WHERE status <> 'cancelled'), "
      "coalesce(sum(price_cents) FILTER (WHERE status = 'completed'), 0), "
      "to_char(max(appointment_date) FILTER (WHERE status = 'completed'), 'YYYY-MM-DD') "
      "FROM appointments WHERE tenant_id = $1 AND customer_id = $2" },

    KV_OUTBOX_STMTS
    { NULL, NULL }
};
