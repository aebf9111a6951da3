/*
 * sched_valid.c -- the scheduling service's input rules (see sched_valid.h).
 *
 * Built from the shared readers of kv_valid.h: an appointment's source and
 * notes follow exactly the rules of a customer's (kv_rule_source,
 * kv_rule_notes), ids are JSON integers in bodies and digits in query
 * strings, and every message is the shared wording.  What is particular to
 * scheduling lives here: the tenant's slot grid, the status transition
 * table, the staff working-hours shape and the money amount of a service.
 */
#include "sched_valid.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_api.h"
#include "kv_mem.h"
#include "slots.h"

const char *const sched_statuses[] = { "scheduled", "completed", "cancelled", "no_show", NULL };
const char *const sched_weekdays[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static const char *const s_create_fields[] = {
    "customer_id", "service_id", "staff_id", "appointment_date", "appointment_time",
    "notes", "source", "allow_off_grid", "hold_id", "call_id", NULL };
static const char *const s_hold_fields[] = {
    "service_id", "staff_id", "appointment_date", "appointment_time", "ttl_seconds",
    "call_id", NULL };
static const char *const s_patch_fields[] = {
    "appointment_date", "appointment_time", "staff_id", "service_id", "notes",
    "allow_off_grid", NULL };
static const char *const s_status_fields[] = { "status", NULL };
static const char *const s_service_fields[] = {
    "name", "duration", "price", "active", "buffer_before_minutes", "buffer_after_minutes",
    "min_notice_minutes", "max_advance_days", NULL };
static const char *const s_staff_fields[] = { "name", "specialties", "services", "hours",
                                              "active", NULL };

/* Names of operators' records: one line, trimmed, never blank. */
static const kv_text_rule_t s_rule_service_name = { 1, KV_SCHED_SERVICE_NAME_MAX,
                                                    KV_TEXT_LINE, KV_TEXT_TRIM };
static const kv_text_rule_t s_rule_staff_name = { 1, KV_STAFF_NAME_MAX, KV_TEXT_LINE,
                                                  KV_TEXT_TRIM };
static const kv_text_rule_t s_rule_specialty = { 1, KV_STAFF_SPECIALTY_MAX, KV_TEXT_LINE, 0 };

#define S_DURATION_MIN 5
#define S_DURATION_MAX 1440

/* ---- the slot grid -------------------------------------------------------- */

int sched_on_grid(int minutes, int step)
{
    assert(step > 0);
    return minutes % step == 0;
}

void sched_grid_error(json_t *errors, const char *field, int minutes, int step)
{
    assert(step > 0 && minutes >= 0 && minutes < 1440);
    char grid[128], near[32], at[6], lo[6], hi[6];
    size_t len = 0;
    if (60 % step == 0) {
        len += (size_t)snprintf(grid, sizeof grid, "(");
        for (int m = 0; m < 60 && len < sizeof grid; m += step)
            len += (size_t)snprintf(grid + len, sizeof grid - len, "%s:%02d", m ? ", " : "", m);
        if (len < sizeof grid)
            snprintf(grid + len, sizeof grid - len, ")");
    } else {
        snprintf(grid, sizeof grid, "(every %d minutes from 00:00)", step);
    }
    int before = minutes - minutes % step;
    kv_format_time(minutes, at);
    kv_format_time(before, lo);
    if (before + step < 1440) {
        kv_format_time(before + step, hi);
        snprintf(near, sizeof near, "%s or %s", lo, hi);
    } else {
        snprintf(near, sizeof near, "%s", lo);
    }
    char msg[320];
    snprintf(msg, sizeof msg, "The %s must be on the tenant's %d-minute slot grid %s: %s, "
             "not %s.", field, step, grid, near, at);
    kv_errors_add(errors, field, msg);
}

/* ---- appointments ------------------------------------------------------------ */

/* appointment_time of body (need), on the grid of step unless off_grid:
 * KV_FIELD_* as the readers. */
static int s_grid_time(json_t *body, kv_need_t need, int step, int off_grid, int *out,
                       json_t *errors)
{
    int rc = kv_read_time(body, "appointment_time", need, out, errors);
    if (rc == KV_FIELD_OK && !off_grid && !sched_on_grid(*out, step)) {
        sched_grid_error(errors, "appointment_time", *out, step);
        rc = KV_FIELD_BAD;
    }
    return rc;
}

int sched_parse_create(json_t *body, int step, sched_create_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    if (kv_read_object(body, errors) != 0)
        return -1;
    int bad = kv_read_known(body, s_create_fields, errors) != 0;
    int hrc = kv_read_id(body, "hold_id", KV_OPTIONAL, &out->hold_id, errors);
    bad |= hrc < 0;
    /* with a hold the slot is the hold's: naming it again is optional */
    kv_need_t slot = hrc == KV_FIELD_ABSENT ? KV_REQUIRED : KV_OPTIONAL;
    bad |= kv_read_id(body, "customer_id", KV_REQUIRED, &out->customer_id, errors) < 0;
    bad |= kv_read_id(body, "service_id", slot, &out->service_id, errors) < 0;
    bad |= kv_read_id(body, "staff_id", KV_OPTIONAL, &out->staff_id, errors) < 0;
    bad |= kv_read_id(body, "call_id", KV_OPTIONAL, &out->call_id, errors) < 0;
    int drc = kv_read_date(body, "appointment_date", slot, &out->date, errors);
    out->has_date = drc == KV_FIELD_OK;
    bad |= drc < 0;
    bad |= kv_read_bool(body, "allow_off_grid", KV_OPTIONAL, &out->allow_off_grid, errors) < 0;
    int trc = s_grid_time(body, slot, step, out->allow_off_grid, &out->start, errors);
    out->has_time = trc == KV_FIELD_OK;
    bad |= trc < 0;
    bad |= kv_read_text(body, "notes", KV_OPTIONAL, &kv_rule_notes, &out->notes, errors) < 0;
    int src = kv_read_text(body, "source", KV_OPTIONAL, &kv_rule_source, &out->source, errors);
    if (src == KV_FIELD_ABSENT)
        out->source = kv_strdup("api");
    bad |= src < 0;
    return bad ? -1 : 0;
}

void sched_create_cleanup(sched_create_t *c)
{
    free(c->notes);
    free(c->source);
    c->notes = c->source = NULL;
}

int sched_parse_hold(json_t *body, int step, sched_hold_input_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    out->ttl_seconds = KV_HOLD_TTL_DEFAULT;
    if (kv_read_object(body, errors) != 0)
        return -1;
    int bad = kv_read_known(body, s_hold_fields, errors) != 0;
    bad |= kv_read_id(body, "service_id", KV_REQUIRED, &out->service_id, errors) < 0;
    bad |= kv_read_id(body, "staff_id", KV_OPTIONAL, &out->staff_id, errors) < 0;
    bad |= kv_read_id(body, "call_id", KV_OPTIONAL, &out->call_id, errors) < 0;
    bad |= kv_read_date(body, "appointment_date", KV_REQUIRED, &out->date, errors) < 0;
    bad |= s_grid_time(body, KV_REQUIRED, step, 0, &out->start, errors) < 0;
    int64_t ttl;
    int rc = kv_read_int(body, "ttl_seconds", KV_OPTIONAL, KV_HOLD_TTL_MIN, KV_HOLD_TTL_MAX,
                         &ttl, errors);
    if (rc == KV_FIELD_OK)
        out->ttl_seconds = (int)ttl;
    bad |= rc < 0;
    return bad ? -1 : 0;
}

int sched_parse_patch(json_t *body, int step, sched_patch_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    if (kv_read_object(body, errors) != 0)
        return -1;
    int bad = kv_read_known(body, s_patch_fields, errors) != 0;
    int named = 0;
    for (size_t i = 0; i < 5; i++)
        named |= json_object_get(body, s_patch_fields[i]) != NULL;
    if (!named) {
        kv_errors_add(errors, "body", "The request body must contain at least one of "
                      "appointment_date, appointment_time, staff_id, service_id, notes.");
        return -1;
    }
    bad |= kv_read_bool(body, "allow_off_grid", KV_OPTIONAL, &out->allow_off_grid, errors) < 0;
    int rc = kv_read_date(body, "appointment_date", KV_NOT_NULL, &out->date, errors);
    out->has_date = rc == KV_FIELD_OK;
    bad |= rc < 0;
    rc = s_grid_time(body, KV_NOT_NULL, step, out->allow_off_grid, &out->start, errors);
    out->has_time = rc == KV_FIELD_OK;
    bad |= rc < 0;
    bad |= kv_read_id(body, "staff_id", KV_NOT_NULL, &out->staff_id, errors) < 0;
    bad |= kv_read_id(body, "service_id", KV_NOT_NULL, &out->service_id, errors) < 0;
    /* notes: present means "set"; null or "" means "clear" */
    if (json_object_get(body, "notes")) {
        bad |= kv_read_text(body, "notes", KV_OPTIONAL, &kv_rule_notes, &out->notes,
                            errors) < 0;
        out->has_notes = 1;
    }
    return bad ? -1 : 0;
}

void sched_patch_cleanup(sched_patch_t *p)
{
    free(p->notes);
    p->notes = NULL;
}

/* ---- booking rules ------------------------------------------------------------ */

int sched_check_when(const kv_date_t *date, int start, const kv_date_t *today, int now_min,
                     const sched_rules_t *rules, json_t *errors)
{
    assert(date && today && errors && start >= 0 && start < 1440);
    int64_t day = kv_date_to_days(date), t0 = kv_date_to_days(today);
    char msg[200];
    if (day < t0) {
        kv_errors_add(errors, "appointment_date", "The appointment date must be today or a later date.");
        return -1;
    }
    if (day == t0 && start <= now_min) {
        kv_errors_add(errors, "appointment_time", "The appointment time must be in the future.");
        return -1;
    }
    if (!rules)
        return 0;
    if (day - t0 > rules->max_advance) {
        snprintf(msg, sizeof msg, "The appointment date may be at most %d day%s ahead "
                 "(the service's max_advance_days).", rules->max_advance,
                 rules->max_advance == 1 ? "" : "s");
        kv_errors_add(errors, "appointment_date", msg);
        return -1;
    }
    if (start <= sched_slots_cutoff(day, t0, now_min, rules->min_notice)) {
        snprintf(msg, sizeof msg, "The appointment time must be at least %d minute%s from now "
                 "(the service's min_notice_minutes).", rules->min_notice,
                 rules->min_notice == 1 ? "" : "s");
        kv_errors_add(errors, "appointment_time", msg);
        return -1;
    }
    return 0;
}

int sched_slots_cutoff(int64_t day, int64_t today, int now_min, int min_notice)
{
    assert(min_notice >= 0 && now_min >= 0);
    int64_t after = (today - day) * 1440 + now_min + min_notice;
    if (after < 0)
        return -1;
    return after > 1440 ? 1440 : (int)after;
}

int sched_parse_status(json_t *body, const char **status, json_t *errors)
{
    *status = NULL;
    if (kv_read_object(body, errors) != 0)
        return -1;
    int bad = kv_read_known(body, s_status_fields, errors) != 0;
    bad |= kv_read_enum(body, "status", KV_REQUIRED, sched_statuses, status, errors) < 0;
    return bad ? -1 : 0;
}

int sched_transition(const char *from, const char *to, int started, const char **why)
{
    assert(from && to && why);
    *why = NULL;
    if (strcmp(from, to) == 0)
        return SCHED_TR_SAME;
    int done = strcmp(to, "completed") == 0 || strcmp(to, "no_show") == 0;
    if (strcmp(from, "completed") == 0) {
        *why = "A completed appointment is final: its status cannot change.";
    } else if (strcmp(from, "cancelled") == 0) {
        *why = "A cancelled appointment is final: its status cannot change "
               "(book a new appointment instead).";
    } else if (strcmp(from, "no_show") == 0 && strcmp(to, "completed") != 0) {
        *why = "A no_show appointment can only be corrected to completed.";
    } else if (strcmp(from, "scheduled") != 0 && strcmp(from, "no_show") != 0) {
        *why = "The appointment's current status does not allow this change.";
    } else if (done && !started) {
        *why = "An appointment can be set to completed or no_show only once it has started "
               "(its date and time, in the tenant's time zone, are not in the future).";
    } else {
        return SCHED_TR_CHANGE;
    }
    return SCHED_TR_REFUSED;
}

int sched_parse_list(json_t *query, sched_list_query_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    int bad = kv_query_page(query, KV_PER_PAGE_DEFAULT, KV_PER_PAGE_MAX, &out->page,
                            &out->per_page, errors) != 0;
    bad |= kv_query_enum(query, "status", KV_OPTIONAL, sched_statuses, &out->status,
                         errors) < 0;
    kv_date_t d;
    int drc = kv_query_date(query, "date", KV_OPTIONAL, &d, errors);
    if (drc == KV_FIELD_OK)
        kv_format_date(&d, out->date);
    bad |= drc < 0;
    bad |= kv_query_id(query, "staff_id", KV_OPTIONAL, &out->staff_id, errors) < 0;
    return bad ? -1 : 0;
}

int sched_parse_slots(json_t *query, sched_slots_query_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    int bad = kv_query_date(query, "date", KV_REQUIRED, &out->date, errors) < 0;
    bad |= kv_query_id(query, "service_id", KV_REQUIRED, &out->service_id, errors) < 0;
    bad |= kv_query_id(query, "staff_id", KV_OPTIONAL, &out->staff_id, errors) < 0;
    return bad ? -1 : 0;
}

/* ---- operators: services -------------------------------------------------------- */

/* price: "25.50" or 25.5 or 25 (>= 0, at most two decimals). */
static int s_price(json_t *body, kv_need_t need, int64_t *out, json_t *errors)
{
    json_t *v = json_object_get(body, "price");
    if (!v || json_is_null(v)) {
        if (need != KV_REQUIRED)
            return KV_FIELD_ABSENT;
        kv_errors_add(errors, "price", "The price field is required.");
        return KV_FIELD_BAD;
    }
    char buf[64];
    const char *s = NULL;
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        s = buf;
    } else if (json_is_real(v)) {
        /* 15 significant digits: what the client wrote, without the binary
         * noise (25.1 stays "25.1"); three decimals are still refused */
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
        s = buf;
    }
    if (!s || kv_parse_money(s, out) != 0) {
        kv_errors_add(errors, "price",
                      "The price must be an amount of at least 0 with at most two decimals.");
        return KV_FIELD_BAD;
    }
    return KV_FIELD_OK;
}

/* One booking rule of a service body: an optional JSON integer 0..max
 * (null refused).  Sets *has and *val when given.  1 when bad, else 0. */
static int s_rule(json_t *body, const char *field, int max, int *has, int *val,
                  json_t *errors)
{
    int64_t v;
    int rc = kv_read_int(body, field, KV_NOT_NULL, 0, max, &v, errors);
    if (rc == KV_FIELD_OK) {
        *has = 1;
        *val = (int)v;
    }
    return rc < 0;
}

int sched_parse_service(json_t *body, int create, sched_service_input_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    out->active = 1;
    if (kv_read_object(body, errors) != 0)
        return -1;
    kv_need_t need = create ? KV_REQUIRED : KV_NOT_NULL;
    int bad = kv_read_known(body, s_service_fields, errors) != 0;
    bad |= kv_read_text(body, "name", need, &s_rule_service_name, &out->name, errors) < 0;
    int64_t d;
    int rc = kv_read_int(body, "duration", need, S_DURATION_MIN, S_DURATION_MAX, &d, errors);
    out->has_duration = rc == KV_FIELD_OK;
    out->duration = (int)(rc == KV_FIELD_OK ? d : 0);
    bad |= rc < 0;
    rc = s_price(body, need, &out->price_cents, errors);
    out->has_price = rc == KV_FIELD_OK;
    bad |= rc < 0;
    rc = kv_read_bool(body, "active", KV_NOT_NULL, &out->active, errors);
    out->has_active = rc == KV_FIELD_OK;
    bad |= rc < 0;
    /* the booking rules: optional integers (defaults: the table's) */
    out->max_advance = KV_SERVICE_ADVANCE_DEFAULT;
    bad |= s_rule(body, "buffer_before_minutes", KV_SERVICE_BUFFER_MAX,
                  &out->has_buffer_before, &out->buffer_before, errors);
    bad |= s_rule(body, "buffer_after_minutes", KV_SERVICE_BUFFER_MAX,
                  &out->has_buffer_after, &out->buffer_after, errors);
    bad |= s_rule(body, "min_notice_minutes", KV_SERVICE_NOTICE_MAX,
                  &out->has_min_notice, &out->min_notice, errors);
    bad |= s_rule(body, "max_advance_days", KV_SERVICE_ADVANCE_MAX,
                  &out->has_max_advance, &out->max_advance, errors);
    return bad ? -1 : 0;
}

void sched_service_input_cleanup(sched_service_input_t *s)
{
    free(s->name);
    s->name = NULL;
}

/* ---- operators: staff ------------------------------------------------------------- */

/* specialties: a list of at most KV_STAFF_SPECIALTIES_MAX strings of one
 * line, 1..KV_STAFF_SPECIALTY_MAX characters.  *out a new reference. */
static int s_specialties(json_t *body, json_t **out, json_t *errors)
{
    json_t *v = json_object_get(body, "specialties");
    if (!v || json_is_null(v))
        return KV_FIELD_ABSENT;
    int ok = json_is_array(v) && json_array_size(v) <= KV_STAFF_SPECIALTIES_MAX;
    size_t i;
    json_t *e;
    json_array_foreach(ok ? v : NULL, i, e) {
        if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e) ||
            kv_text_check(json_string_value(e), &s_rule_specialty) != 0)
            ok = 0;
    }
    if (!ok) {
        char msg[160];
        snprintf(msg, sizeof msg, "The specialties must be a list of at most %d strings of "
                 "1 to %d characters.", KV_STAFF_SPECIALTIES_MAX, KV_STAFF_SPECIALTY_MAX);
        kv_errors_add(errors, "specialties", msg);
        return KV_FIELD_BAD;
    }
    *out = json_incref(v);
    return KV_FIELD_OK;
}

/* services: a list of at most KV_STAFF_SERVICES_MAX ids (JSON integers
 * >= 1), duplicates dropped.  *out a new array. */
static int s_service_ids(json_t *body, json_t **out, json_t *errors)
{
    json_t *v = json_object_get(body, "services");
    if (!v || json_is_null(v))
        return KV_FIELD_ABSENT;
    int ok = json_is_array(v) && json_array_size(v) <= KV_STAFF_SERVICES_MAX;
    json_t *ids = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(ok ? v : NULL, i, e) {
        if (!json_is_integer(e) || json_integer_value(e) < 1) {
            ok = 0;
            break;
        }
        int dup = 0;
        size_t k;
        json_t *x;
        json_array_foreach(ids, k, x)
            if (json_integer_value(x) == json_integer_value(e))
                dup = 1;
        if (!dup)
            json_array_append_new(ids, json_integer(json_integer_value(e)));
    }
    if (!ok) {
        json_decref(ids);
        char msg[128];
        snprintf(msg, sizeof msg, "The services must be a list of at most %d service ids "
                 "(positive integers).", KV_STAFF_SERVICES_MAX);
        kv_errors_add(errors, "services", msg);
        return KV_FIELD_BAD;
    }
    *out = ids;
    return KV_FIELD_OK;
}

/* One "HH:MM" bound; "24:00" only as an end. */
static int s_bound(const json_t *v, int is_end, int *out)
{
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    if (is_end && strcmp(s, "24:00") == 0) {
        *out = 1440;
        return 0;
    }
    return kv_parse_time(s, out);
}

/* The intervals of one weekday (day, a list) into ivs; errors under
 * field.  Returns the count, or -1. */
static int s_day(json_t *day, const char *field, sched_iv_t ivs[KV_STAFF_DAY_INTERVALS],
                 json_t *errors)
{
    if (!json_is_array(day) || json_array_size(day) > KV_STAFF_DAY_INTERVALS) {
        char msg[128];
        snprintf(msg, sizeof msg, "The working hours of a day must be a list of at most %d "
                 "intervals.", KV_STAFF_DAY_INTERVALS);
        kv_errors_add(errors, field, msg);
        return -1;
    }
    size_t n = 0, i;
    json_t *iv;
    json_array_foreach(day, i, iv) {
        json_t *a = NULL, *b = NULL;
        if (json_is_array(iv) && json_array_size(iv) == 2) {
            a = json_array_get(iv, 0);
            b = json_array_get(iv, 1);
        } else if (json_is_object(iv) && json_object_size(iv) == 2) {
            a = json_object_get(iv, "start");
            b = json_object_get(iv, "end");
        }
        int s, e;
        if (!a || !b || s_bound(a, 0, &s) != 0 || s_bound(b, 1, &e) != 0) {
            kv_errors_add(errors, field, "Each interval must be [\"HH:MM\", \"HH:MM\"].");
            return -1;
        }
        if (s >= e) {
            kv_errors_add(errors, field, "Each interval must start before it ends.");
            return -1;
        }
        ivs[n].start = s;
        ivs[n].end = e;
        n++;
    }
    if (sched_iv_overlapping(ivs, n)) {
        kv_errors_add(errors, field, "The intervals of a day must not overlap.");
        return -1;
    }
    return (int)n;
}

/* hours: {"mon": [[start, end], ...], ...}.  *out a new array of
 * [weekday, start_min, end_min] rows. */
static int s_hours(json_t *body, json_t **out, json_t *errors)
{
    json_t *v = json_object_get(body, "hours");
    if (!v || json_is_null(v))
        return KV_FIELD_ABSENT;
    if (!json_is_object(v)) {
        kv_errors_add(errors, "hours", "The hours must be an object of weekdays (mon..sun).");
        return KV_FIELD_BAD;
    }
    int bad = 0;
    json_t *rows = json_array();
    const char *key;
    json_t *day;
    json_object_foreach(v, key, day) {
        int wd = -1;
        for (int d = 0; d < 7; d++)
            if (strcmp(key, sched_weekdays[d]) == 0)
                wd = d;
        if (wd < 0) {
            kv_errors_add(errors, "hours", "The hours may only have the keys mon, tue, wed, "
                          "thu, fri, sat and sun.");
            bad = 1;
            continue;
        }
        if (json_is_null(day))
            continue;
        char field[32];
        snprintf(field, sizeof field, "hours.%s", sched_weekdays[wd]);
        sched_iv_t ivs[KV_STAFF_DAY_INTERVALS];
        int n = s_day(day, field, ivs, errors);
        if (n < 0) {
            bad = 1;
            continue;
        }
        for (int k = 0; k < n; k++)
            json_array_append_new(rows, json_pack("[iii]", wd, ivs[k].start, ivs[k].end));
    }
    if (bad) {
        json_decref(rows);
        return KV_FIELD_BAD;
    }
    *out = rows;
    return KV_FIELD_OK;
}

int sched_parse_staff(json_t *body, int create, sched_staff_input_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    out->active = 1;
    if (kv_read_object(body, errors) != 0)
        return -1;
    int bad = kv_read_known(body, s_staff_fields, errors) != 0;
    bad |= kv_read_text(body, "name", create ? KV_REQUIRED : KV_NOT_NULL, &s_rule_staff_name,
                        &out->name, errors) < 0;
    int rc = kv_read_bool(body, "active", KV_NOT_NULL, &out->active, errors);
    out->has_active = rc == KV_FIELD_OK;
    bad |= rc < 0;
    bad |= s_specialties(body, &out->specialties, errors) < 0;
    bad |= s_service_ids(body, &out->services, errors) < 0;
    bad |= s_hours(body, &out->hours, errors) < 0;
    return bad ? -1 : 0;
}

void sched_staff_input_cleanup(sched_staff_input_t *s)
{
    free(s->name);
    json_decref(s->specialties);
    json_decref(s->services);
    json_decref(s->hours);
    s->name = NULL;
    s->specialties = s->services = s->hours = NULL;
}
