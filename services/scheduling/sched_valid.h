/*
 * sched_valid.h -- the scheduling service's input rules, as pure functions.
 *
 * Everything an appointments, slots, services or staff request may carry
 * is checked here before any SQL runs: the create and status bodies, the
 * list and slots queries, the operators' service and staff bodies, the
 * tenant's slot grid and the appointment status transition table.  No I/O:
 * what needs the database or the tenant's clock (does the service exist,
 * is the date past, has the appointment started) is asked by the handlers,
 * which hand the answer in (sched_transition's `started`).  Every field goes
 * through the shared readers of kv_valid.h, so the messages are the ones
 * crm and calls give.  tests/unit/scheduling/test_sched_valid.c drives
 * these directly.
 */
#ifndef SCHED_VALID_H
#define SCHED_VALID_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "kv_valid.h"

/* The appointment statuses, NULL-terminated, in documentation order. */
extern const char *const sched_statuses[];   /* scheduled, completed, cancelled, no_show */

/* Weekday keys "mon".."sun", index 0 = Monday. */
extern const char *const sched_weekdays[7];

/* ---- the slot grid ---------------------------------------------------- */

/* 1 when minutes (since local midnight) lies on the grid of step minutes
 * counted from 00:00, else 0.  step > 0. */
int sched_on_grid(int minutes, int step);

/* Adds to errors[field] the message of an off-grid time, naming the grid
 * and the nearest times on it, e.g. "The appointment_time must be on the
 * tenant's 15-minute slot grid (:00, :15, :30, :45): 10:00 or 10:15, not
 * 10:07." */
void sched_grid_error(json_t *errors, const char *field, int minutes, int step);

/* ---- appointments ----------------------------------------------------- */

/* A validated POST /appointments body.  Strings are owned by the struct
 * (sched_create_cleanup frees them). */
typedef struct {
    int64_t customer_id;
    int64_t service_id;      /* 0: not given (only allowed with hold_id) */
    int64_t staff_id;        /* 0: any eligible staff member */
    int has_date;            /* appointment_date given (always, without hold_id) */
    kv_date_t date;
    int has_time;            /* appointment_time given (always, without hold_id) */
    int start;               /* minutes since local midnight, on the grid unless
                              * allow_off_grid */
    char *notes;             /* kv_rule_notes; NULL: none */
    char *source;            /* kv_rule_source; default "api" */
    int allow_off_grid;      /* extension: the client asked for an off-grid time */
    int64_t hold_id;         /* extension: book this hold's slot; 0: none */
    int64_t call_id;         /* extension: the call it is booked in; 0: none */
} sched_create_t;

/* Validates body (any JSON value, NULL when absent) as a create request on
 * the grid of step minutes (the tenant's slot interval).  Unknown fields
 * are refused.  Without hold_id, service_id, appointment_date and
 * appointment_time are required; with it they are optional (when given, the
 * handler checks they name the held slot).  Returns 0 and fills *out when
 * valid; otherwise -1, with one key per bad field added to errors.  *out
 * must be cleaned up either way.  The tenant's clock (past dates) and the
 * references (customer, service, staff, hold, call) are the handler's to
 * check. */
int sched_parse_create(json_t *body, int step, sched_create_t *out, json_t *errors);
void sched_create_cleanup(sched_create_t *c);

/* A validated POST /appointments/holds body (extension). */
typedef struct {
    int64_t service_id;
    int64_t staff_id;        /* 0: any eligible staff member */
    kv_date_t date;
    int start;               /* minutes since local midnight, on the grid */
    int ttl_seconds;         /* KV_HOLD_TTL_MIN..KV_HOLD_TTL_MAX */
    int64_t call_id;         /* 0: none */
} sched_hold_input_t;

/* Validates a hold body: service_id, appointment_date, appointment_time
 * (on the grid of step minutes) required; staff_id, ttl_seconds (default
 * KV_HOLD_TTL_DEFAULT) and call_id optional; nothing else.  0 or -1 with
 * errors. */
int sched_parse_hold(json_t *body, int step, sched_hold_input_t *out, json_t *errors);

/* A validated PATCH /appointments/{id} body (extension: rescheduling).
 * Owns notes (sched_patch_cleanup). */
typedef struct {
    int has_date;
    kv_date_t date;
    int has_time;
    int start;               /* on the grid unless allow_off_grid */
    int64_t staff_id;        /* 0: not given (the current staff member stays) */
    int64_t service_id;      /* 0: not given (the current service stays) */
    int has_notes;           /* notes given: set them (NULL clears) */
    char *notes;
    int allow_off_grid;
} sched_patch_t;

/* Validates a reschedule body: any of appointment_date, appointment_time,
 * staff_id, service_id, notes (null or "" clears), and allow_off_grid; at
 * least one of the first five.  0 or -1 with errors; *out cleaned up with
 * sched_patch_cleanup either way. */
int sched_parse_patch(json_t *body, int step, sched_patch_t *out, json_t *errors);
void sched_patch_cleanup(sched_patch_t *p);

/* ---- booking rules ------------------------------------------------------ */

/* The booking rules of a service (README, "Booking rules"). */
typedef struct {
    int buffer_before;       /* minutes the staff member stays free before */
    int buffer_after;        /* ... and after an appointment */
    int min_notice;          /* minutes between now and the start, at least */
    int max_advance;         /* days between the tenant's today and the date, at most */
} sched_rules_t;

/* Checks a start at minute `start` of date against the tenant's clock
 * (today, now_min: the current local date and minute) and, when rules is
 * not NULL, the service's minimum notice and maximum advance.  Adds the
 * first rule broken to errors (appointment_date: past date, too far ahead;
 * appointment_time: past time, too short notice) and returns -1; 0 when
 * every rule holds.  A start "at least min_notice minutes from now" is one
 * later than now_min + min_notice (the current minute counts as begun). */
int sched_check_when(const kv_date_t *date, int start, const kv_date_t *today, int now_min,
                     const sched_rules_t *rules, json_t *errors);

/* The cut-off of bookable starts on day (days since the epoch) for a
 * service with min_notice, given the tenant's today and now_min: starts
 * <= the result are not bookable (-1: none is cut; >= 1440: none is left).
 * The `after` argument of sched_slots_staff. */
int sched_slots_cutoff(int64_t day, int64_t today, int now_min, int min_notice);

/* Validates a PATCH /appointments/{id}/status body {"status": one of
 * sched_statuses} (nothing else).  *status gets the table's static string.
 * 0 or -1 with errors. */
int sched_parse_status(json_t *body, const char **status, json_t *errors);

/* What a status change does (sched_transition). */
enum {
    SCHED_TR_REFUSED = -1,   /* not allowed: 422 errors.status, nothing changes */
    SCHED_TR_CHANGE = 0,     /* allowed: the row changes (cancelled fires an event) */
    SCHED_TR_SAME = 1        /* already in that status: 200, nothing changes */
};

/* The transition table of an appointment's status (README.md, "Status
 * changes"): from -> to, given whether the appointment has started (its
 * date and time are not after now, in the tenant's time zone).
 *
 *   from \ to   scheduled  completed   cancelled  no_show
 *   scheduled   same       if started  yes        if started
 *   completed   -          same        -          -
 *   cancelled   -          -           same       -
 *   no_show     -          if started  -          same
 *
 * (no_show -> completed corrects a customer wrongly marked absent.)
 * Returns SCHED_TR_*; on SCHED_TR_REFUSED *why is a static message for
 * errors.status. */
int sched_transition(const char *from, const char *to, int started, const char **why);

/* GET /appointments: status, date, staff_id (empty: no filter), page and
 * per_page. */
typedef struct {
    const char *status;      /* static; NULL: any */
    char date[11];           /* "Y-m-d", "" any */
    int64_t staff_id;        /* 0: any */
    int page, per_page;
} sched_list_query_t;

/* 0 or -1 with errors (every bad parameter reported). */
int sched_parse_list(json_t *query, sched_list_query_t *out, json_t *errors);

/* GET /appointments/slots: date and service_id required, staff_id
 * optional. */
typedef struct {
    kv_date_t date;
    int64_t service_id;
    int64_t staff_id;        /* 0: every eligible staff member */
} sched_slots_query_t;

int sched_parse_slots(json_t *query, sched_slots_query_t *out, json_t *errors);

/* ---- operators: services and staff (admin API) -------------------------- */

/* A validated admin service body; has_x says whether x was given. */
typedef struct {
    char *name;              /* owned; NULL: not given */
    int has_duration, duration;      /* minutes, 5..1440 */
    int has_price;
    int64_t price_cents;
    int has_active, active;
    int has_buffer_before, buffer_before;   /* 0..KV_SERVICE_BUFFER_MAX */
    int has_buffer_after, buffer_after;     /* 0..KV_SERVICE_BUFFER_MAX */
    int has_min_notice, min_notice;         /* 0..KV_SERVICE_NOTICE_MAX minutes */
    int has_max_advance, max_advance;       /* 0..KV_SERVICE_ADVANCE_MAX days */
} sched_service_input_t;

/* Validates an admin.services.create (create != 0: name, duration and price
 * required) or .update body; the booking rules buffer_before_minutes,
 * buffer_after_minutes, min_notice_minutes and max_advance_days are
 * optional JSON integers (defaults 0, 0, 0, 365 on create).  0 or -1 with errors; *out cleaned up with
 * sched_service_input_cleanup either way. */
int sched_parse_service(json_t *body, int create, sched_service_input_t *out,
                        json_t *errors);
void sched_service_input_cleanup(sched_service_input_t *s);

/* A validated admin staff body.  The JSON values are owned by the struct. */
typedef struct {
    char *name;              /* owned; NULL: not given */
    int has_active, active;
    json_t *specialties;     /* array of strings; NULL: not given */
    json_t *services;        /* array of distinct service ids; NULL: not given */
    json_t *hours;           /* array of [weekday, start_min, end_min]; NULL: not given */
} sched_staff_input_t;

/* Validates an admin.staff.create (create != 0: name required) or .update
 * body: name, specialties (<= 50 strings of 1..100 characters), services
 * (<= 500 ids), hours ({"mon": [["09:00","12:00"], ...], ...}: HH:MM,
 * "24:00" as an end, start < end, no overlap within a day, <= 24 intervals
 * a day; an interval may also be {"start","end"}), active.  0 or -1 with
 * errors; *out cleaned up with sched_staff_input_cleanup either way. */
int sched_parse_staff(json_t *body, int create, sched_staff_input_t *out, json_t *errors);
void sched_staff_input_cleanup(sched_staff_input_t *s);

#endif
