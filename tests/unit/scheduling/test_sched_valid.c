/*
 * test_sched_valid.c -- unit tests of services/scheduling/sched_valid.c: the
 * appointment create and status bodies (unknown fields, ids as JSON
 * integers, the shared source and notes rules, the tenant's slot grid and
 * its opt-out), the status transition table, the list and slots queries,
 * and the operators' service and staff bodies.  Each check is named after
 * the behaviour it proves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/scheduling/sched_valid.h"

/* A JSON value from text (aborts on a bad test literal). */
static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s (%s)\n", text, e.text);
        abort();
    }
    return v;
}

#define S_VALID "\"customer_id\":1,\"service_id\":2,\"appointment_date\":\"2030-01-07\"," \
                "\"appointment_time\":\"10:15\""

/* Parses a create body (S_VALID plus extra, a JSON fragment starting with
 * a comma, or a whole object when extra starts with '{') on grid step.
 * Returns the rc; the first message under field goes into msg (static). */
static int s_create(const char *extra, int step, const char *field, const char **msg,
                    sched_create_t *out)
{
    static char buf[512];
    char body[2048];
    if (extra && extra[0] == '{')
        snprintf(body, sizeof body, "%s", extra);
    else
        snprintf(body, sizeof body, "{" S_VALID "%s}", extra ? extra : "");
    json_t *b = J(body);
    json_t *errors = json_object();
    int rc = sched_parse_create(b, step, out, errors);
    const char *m = field ? json_string_value(json_array_get(json_object_get(errors, field), 0))
                          : NULL;
    snprintf(buf, sizeof buf, "%s", m ? m : "");
    if (msg)
        *msg = buf;
    json_decref(errors);
    json_decref(b);
    return rc;
}

/* True when the create body is refused with a message under field. */
static int s_refused(const char *extra, const char *field)
{
    sched_create_t c;
    const char *msg;
    int rc = s_create(extra, 15, field, &msg, &c);
    sched_create_cleanup(&c);
    return rc == -1 && msg[0] != '\0';
}

static void test_create(void)
{
    sched_create_t c;
    const char *msg;
    KVT_EQ_INT(s_create(NULL, 15, NULL, NULL, &c), 0, "create: a minimal body is valid");
    KVT_OK(c.customer_id == 1 && c.service_id == 2 && c.staff_id == 0 && c.start == 615 &&
           c.date.y == 2030 && c.date.d == 7, "create: the fields are read");
    KVT_EQ_STR(c.source, "api", "create: source defaults to api");
    KVT_OK(c.notes == NULL && !c.allow_off_grid, "create: notes absent, on the grid");
    sched_create_cleanup(&c);

    KVT_EQ_INT(s_create(",\"staff_id\":3,\"notes\":\"Line 1\\nLine 2\",\"source\":\"walk_in\"", 15,
                        NULL, NULL, &c), 0, "create: every optional field");
    KVT_OK(c.staff_id == 3 && strcmp(c.notes, "Line 1\nLine 2") == 0 &&
           strcmp(c.source, "walk_in") == 0, "create: optional fields are read");
    sched_create_cleanup(&c);

    /* issue 9: unknown fields */
    KVT_EQ_INT(s_create(",\"price\":0", 15, "price", &msg, &c), -1, "create: price is refused");
    KVT_EQ_STR(msg, "The price field is not allowed.", "create: unknown fields, the shared message");
    sched_create_cleanup(&c);
    KVT_OK(s_refused(",\"status\":\"completed\"", "status"), "create: status is refused");

    /* issue 9: ids are JSON integers */
    int rc = s_create("{\"customer_id\":\"1\",\"service_id\":2,\"appointment_date\":\"2030-01-07\","
                      "\"appointment_time\":\"10:15\"}", 15, "customer_id", &msg, &c);
    KVT_EQ_INT(rc, -1, "create: customer_id \"1\" (a string) is refused");
    KVT_EQ_STR(msg, "The customer_id must be a positive integer.", "create: the id message");
    sched_create_cleanup(&c);
    KVT_OK(s_refused("{\"customer_id\":1.0,\"service_id\":2,\"appointment_date\":\"2030-01-07\","
                     "\"appointment_time\":\"10:15\"}", "customer_id"), "create: customer_id 1.0 is refused");
    KVT_OK(s_refused(",\"staff_id\":\"3\"", "staff_id"), "create: staff_id \"3\" is refused");

    /* issue 9: source follows the customer's rule */
    KVT_EQ_INT(s_create(",\"source\":\"Web Form!!\"", 15, "source", &msg, &c), -1,
               "create: source \"Web Form!!\" is refused");
    KVT_EQ_STR(msg, "The source must be 1 to 32 characters of a-z, 0-9 and _, starting with a letter.",
               "create: the source message is the customer's");
    sched_create_cleanup(&c);
    KVT_OK(s_refused(",\"source\":\"\"", "source"), "create: an empty source is refused");
    KVT_OK(s_refused(",\"notes\":\"\\u0007\"", "notes"), "create: notes with a control character");
    KVT_OK(s_refused(",\"notes\":5", "notes"), "create: notes that are not a string");

    /* issue 9: the slot grid */
    rc = s_create("{\"customer_id\":1,\"service_id\":2,\"appointment_date\":\"2030-01-07\","
                  "\"appointment_time\":\"10:07\"}", 15, "appointment_time", &msg, &c);
    KVT_EQ_INT(rc, -1, "grid: 10:07 is refused on a 15-minute grid");
    KVT_EQ_STR(msg, "The appointment_time must be on the tenant's 15-minute slot grid "
               "(:00, :15, :30, :45): 10:00 or 10:15, not 10:07.", "grid: the message names the grid");
    sched_create_cleanup(&c);
    rc = s_create("{\"customer_id\":1,\"service_id\":2,\"appointment_date\":\"2030-01-07\","
                  "\"appointment_time\":\"10:07\",\"allow_off_grid\":true}", 15, NULL, NULL, &c);
    KVT_EQ_INT(rc, 0, "grid: allow_off_grid true accepts 10:07");
    KVT_OK(c.allow_off_grid && c.start == 607, "grid: the off-grid time is kept");
    sched_create_cleanup(&c);
    KVT_OK(s_refused("{\"customer_id\":1,\"service_id\":2,\"appointment_date\":\"2030-01-07\","
                     "\"appointment_time\":\"10:07\",\"allow_off_grid\":false}", "appointment_time"),
           "grid: allow_off_grid false keeps the rule");
    KVT_OK(s_refused(",\"allow_off_grid\":\"yes\"", "allow_off_grid"),
           "grid: allow_off_grid must be a boolean");
    KVT_EQ_INT(s_create(NULL, 5, NULL, NULL, &c), 0, "grid: 10:15 is on a 5-minute grid");
    sched_create_cleanup(&c);
    KVT_EQ_INT(s_create(NULL, 30, "appointment_time", &msg, &c), -1, "grid: 10:15 is off a 30-minute grid");
    KVT_EQ_STR(msg, "The appointment_time must be on the tenant's 30-minute slot grid (:00, :30): "
               "10:00 or 10:30, not 10:15.", "grid: a 30-minute grid names :00 and :30");
    sched_create_cleanup(&c);

    KVT_EQ_INT(s_create("{}", 15, NULL, NULL, &c), -1, "create: {} is refused");
    sched_create_cleanup(&c);
    json_t *errors = json_object();
    KVT_EQ_INT(sched_parse_create(NULL, 15, &c, errors), -1, "create: no body is refused");
    KVT_OK(json_object_get(errors, "body") != NULL, "create: no body is reported under body");
    sched_create_cleanup(&c);
    json_decref(errors);
}

static void test_grid(void)
{
    KVT_OK(sched_on_grid(0, 15) && sched_on_grid(600, 15) && !sched_on_grid(607, 15),
           "grid: multiples of the step from 00:00");
    KVT_OK(sched_on_grid(540, 45) && !sched_on_grid(600, 45) && sched_on_grid(630, 45),
           "grid: a 45-minute grid counts from midnight (09:00, 10:30 on it, 10:00 off it)");
    json_t *e = json_object();
    sched_grid_error(e, "t", 1439, 15);
    KVT_EQ_STR(json_string_value(json_array_get(json_object_get(e, "t"), 0)),
               "The t must be on the tenant's 15-minute slot grid (:00, :15, :30, :45): 23:45, not 23:59.",
               "grid: at the end of the day only the earlier grid time is offered");
    json_object_clear(e);
    sched_grid_error(e, "t", 610, 25);
    KVT_EQ_STR(json_string_value(json_array_get(json_object_get(e, "t"), 0)),
               "The t must be on the tenant's 25-minute slot grid (every 25 minutes from 00:00): "
               "10:00 or 10:25, not 10:10.", "grid: a step that does not divide the hour");
    json_decref(e);
}

static void test_status(void)
{
    const char *st;
    json_t *errors = json_object();
    json_t *b = J("{\"status\":\"completed\"}");
    KVT_OK(sched_parse_status(b, &st, errors) == 0 && strcmp(st, "completed") == 0,
           "status: completed is read");
    json_decref(b);
    b = J("{\"status\":\"completed\",\"price\":0}");
    KVT_EQ_INT(sched_parse_status(b, &st, errors), -1, "status: an unknown field is refused");
    KVT_EQ_STR(json_string_value(json_array_get(json_object_get(errors, "price"), 0)),
               "The price field is not allowed.", "status: unknown field message");
    json_decref(b);
    json_object_clear(errors);
    b = J("{\"status\":\"done\"}");
    KVT_EQ_INT(sched_parse_status(b, &st, errors), -1, "status: an unknown status is refused");
    KVT_EQ_STR(json_string_value(json_array_get(json_object_get(errors, "status"), 0)),
               "The selected status is invalid: use one of scheduled, completed, cancelled, no_show.",
               "status: the enum message lists the four");
    json_decref(b);
    json_object_clear(errors);
    b = J("{}");
    KVT_EQ_INT(sched_parse_status(b, &st, errors), -1, "status: missing");
    KVT_EQ_STR(json_string_value(json_array_get(json_object_get(errors, "status"), 0)),
               "The status field is required.", "status: the required message");
    json_decref(b);
    json_decref(errors);
}

static void test_transitions(void)
{
    int fit = 1;
    for (int i = 0; sched_statuses[i]; i++)
        fit &= strlen(sched_statuses[i]) <= KV_ENUM_VALUE_MAX;
    KVT_OK(fit, "every status fits KV_ENUM_VALUE_MAX (kv_limits.h)");

    /* the whole table, both sides of "started" */
    static const char *const S[] = { "scheduled", "completed", "cancelled", "no_show" };
    /* want[from][to][started]: 0 change, 1 same, -1 refused */
    static const int want[4][4][2] = {
        /* scheduled -> */ { { 1, 1 }, { -1, 0 }, { 0, 0 }, { -1, 0 } },
        /* completed -> */ { { -1, -1 }, { 1, 1 }, { -1, -1 }, { -1, -1 } },
        /* cancelled -> */ { { -1, -1 }, { -1, -1 }, { 1, 1 }, { -1, -1 } },
        /* no_show   -> */ { { -1, -1 }, { -1, 0 }, { -1, -1 }, { 1, 1 } },
    };
    for (int f = 0; f < 4; f++)
        for (int t = 0; t < 4; t++)
            for (int started = 0; started <= 1; started++) {
                const char *why;
                int tr = sched_transition(S[f], S[t], started, &why);
                KVT_OK(tr == want[f][t][started] && (tr != SCHED_TR_REFUSED || (why && why[0])),
                       "transition %s -> %s (%s): %s", S[f], S[t], started ? "started" : "future",
                       want[f][t][started] == 0 ? "changes"
                       : want[f][t][started] == 1 ? "same, nothing changes" : "refused with a reason");
            }
    const char *why;
    sched_transition("scheduled", "completed", 0, &why);
    KVT_EQ_STR(why, "An appointment can be set to completed or no_show only once it has started "
               "(its date and time, in the tenant's time zone, are not in the future).",
               "transition: a future completion says why");
    sched_transition("completed", "cancelled", 1, &why);
    KVT_EQ_STR(why, "A completed appointment is final: its status cannot change.",
               "transition: cancelling a completed appointment says why");
}

static void test_queries(void)
{
    sched_list_query_t l;
    json_t *errors = json_object();
    json_t *q = J("{\"status\":\"scheduled\",\"date\":\"2030-01-07\",\"staff_id\":\"4\",\"page\":\"2\"}");
    KVT_OK(sched_parse_list(q, &l, errors) == 0 && strcmp(l.status, "scheduled") == 0 &&
           strcmp(l.date, "2030-01-07") == 0 && l.staff_id == 4 && l.page == 2 && l.per_page == 20,
           "list: every filter is read");
    json_decref(q);
    q = J("{\"status\":\"\",\"date\":\"\",\"staff_id\":\"\"}");
    KVT_OK(sched_parse_list(q, &l, errors) == 0 && !l.status && !l.date[0] && !l.staff_id,
           "list: empty filters mean no filter");
    json_decref(q);
    q = J("{\"page\":\"999999999999999999999\",\"staff_id\":\"99999999999999999999\",\"status\":\"done\","
          "\"date\":\"2030-02-30\"}");
    KVT_EQ_INT(sched_parse_list(q, &l, errors), -1, "list: every bad parameter is refused");
    KVT_EQ_STR(json_string_value(json_array_get(json_object_get(errors, "page"), 0)),
               "The page may not be greater than 10000000.", "list: a huge page has its true message");
    KVT_EQ_STR(json_string_value(json_array_get(json_object_get(errors, "staff_id"), 0)),
               "The staff_id may not be greater than 9223372036854775807.",
               "list: a staff_id above bigint has its true message");
    KVT_EQ_INT(json_object_size(errors), 4, "list: all four reported at once");
    json_decref(q);
    json_object_clear(errors);

    sched_slots_query_t s;
    q = J("{\"date\":\"2030-01-07\",\"service_id\":\"2\"}");
    KVT_OK(sched_parse_slots(q, &s, errors) == 0 && s.service_id == 2 && s.staff_id == 0,
           "slots: date and service_id");
    json_decref(q);
    q = J("{\"staff_id\":\"x\"}");
    KVT_EQ_INT(sched_parse_slots(q, &s, errors), -1, "slots: missing and bad parameters");
    KVT_EQ_STR(json_string_value(json_array_get(json_object_get(errors, "date"), 0)),
               "The date field is required.", "slots: date is required");
    KVT_OK(json_object_get(errors, "service_id") && json_object_get(errors, "staff_id"),
           "slots: service_id required and staff_id refused");
    json_decref(q);
    json_decref(errors);
}

static void test_admin(void)
{
    sched_service_input_t sv;
    json_t *errors = json_object();
    json_t *b = J("{\"name\":\" Cut \",\"duration\":30,\"price\":\"25.50\"}");
    KVT_OK(sched_parse_service(b, 1, &sv, errors) == 0 && strcmp(sv.name, "Cut") == 0 &&
           sv.duration == 30 && sv.price_cents == 2550 && sv.active == 1, "service: create body");
    sched_service_input_cleanup(&sv);
    json_decref(b);
    b = J("{\"name\":\"Cut\",\"duration\":\"30\",\"price\":1,\"colour\":\"red\"}");
    KVT_EQ_INT(sched_parse_service(b, 1, &sv, errors), -1, "service: a string duration and an unknown field");
    KVT_OK(json_object_get(errors, "duration") && json_object_get(errors, "colour"),
           "service: both reported");
    sched_service_input_cleanup(&sv);
    json_decref(b);
    json_object_clear(errors);
    b = J("{\"price\":25.555}");
    KVT_EQ_INT(sched_parse_service(b, 0, &sv, errors), -1, "service: three decimals are refused");
    sched_service_input_cleanup(&sv);
    json_decref(b);
    json_object_clear(errors);

    sched_staff_input_t st;
    b = J("{\"name\":\"Ann\",\"specialties\":[\"cuts\"],\"services\":[1,2,1],"
          "\"hours\":{\"mon\":[[\"09:00\",\"12:00\"],{\"start\":\"13:00\",\"end\":\"24:00\"}]}}");
    KVT_OK(sched_parse_staff(b, 1, &st, errors) == 0 && json_array_size(st.services) == 2 &&
           json_array_size(st.hours) == 2, "staff: a full body (duplicate service ids dropped)");
    sched_staff_input_cleanup(&st);
    json_decref(b);
    b = J("{\"name\":\"Ann\",\"services\":[\"1\"]}");
    KVT_EQ_INT(sched_parse_staff(b, 1, &st, errors), -1, "staff: service ids as strings are refused");
    sched_staff_input_cleanup(&st);
    json_decref(b);
    json_object_clear(errors);
    b = J("{\"hours\":{\"mon\":[[\"09:00\",\"12:00\"],[\"11:00\",\"13:00\"]]}}");
    KVT_EQ_INT(sched_parse_staff(b, 0, &st, errors), -1, "staff: overlapping intervals are refused");
    KVT_OK(json_object_get(errors, "hours.mon") != NULL, "staff: reported under hours.mon");
    sched_staff_input_cleanup(&st);
    json_decref(b);
    json_object_clear(errors);
    b = J("{\"name\":\"Ann\\nBell\"}");
    KVT_EQ_INT(sched_parse_staff(b, 0, &st, errors), -1, "staff: a name with a line break is refused");
    sched_staff_input_cleanup(&st);
    json_decref(b);
    json_decref(errors);
}

/* Holds, create with a hold, reschedule bodies, the clock and the rules,
 * and the operators' service rules. */
static void test_booking(void)
{
    json_t *errors = json_object();
    sched_create_t c;
    /* create with a hold: the slot fields become optional */
    json_t *b = J("{\"customer_id\":1,\"hold_id\":9}");
    KVT_EQ_INT(sched_parse_create(b, 15, &c, errors), 0, "create: customer_id and hold_id suffice");
    KVT_OK(c.hold_id == 9 && !c.has_date && !c.has_time && c.service_id == 0,
           "create: with a hold the slot is not required");
    sched_create_cleanup(&c);
    json_decref(b);
    b = J("{\"customer_id\":1}");
    KVT_EQ_INT(sched_parse_create(b, 15, &c, errors), -1, "create: without a hold the slot is required");
    KVT_OK(json_object_get(errors, "service_id") && json_object_get(errors, "appointment_date") &&
           json_object_get(errors, "appointment_time"), "create: each missing slot field is named");
    sched_create_cleanup(&c);
    json_decref(b);
    json_object_clear(errors);
    b = J("{\"customer_id\":1,\"hold_id\":\"9\",\"call_id\":0}");
    KVT_EQ_INT(sched_parse_create(b, 15, &c, errors), -1, "create: hold_id and call_id are ids");
    KVT_OK(json_object_get(errors, "hold_id") && json_object_get(errors, "call_id"),
           "create: both are reported");
    sched_create_cleanup(&c);
    json_decref(b);
    json_object_clear(errors);

    /* hold bodies */
    sched_hold_input_t h;
    b = J("{\"service_id\":2,\"appointment_date\":\"2030-01-07\",\"appointment_time\":\"10:15\"}");
    KVT_EQ_INT(sched_parse_hold(b, 15, &h, errors), 0, "hold: the three required fields suffice");
    KVT_OK(h.ttl_seconds == 300 && h.staff_id == 0 && h.call_id == 0 && h.start == 615,
           "hold: ttl defaults to 300, no staff, no call");
    json_decref(b);
    const struct { const char *body, *field, *name; } bad[] = {
        { "{\"service_id\":2,\"appointment_date\":\"2030-01-07\",\"appointment_time\":\"10:15\",\"ttl_seconds\":29}", "ttl_seconds", "hold: ttl 29 is refused" },
        { "{\"service_id\":2,\"appointment_date\":\"2030-01-07\",\"appointment_time\":\"10:15\",\"ttl_seconds\":901}", "ttl_seconds", "hold: ttl 901 is refused" },
        { "{\"service_id\":2,\"appointment_date\":\"2030-01-07\",\"appointment_time\":\"10:10\"}", "appointment_time", "hold: off the grid is refused" },
        { "{\"service_id\":2,\"appointment_date\":\"2030-01-07\",\"appointment_time\":\"10:15\",\"allow_off_grid\":true}", "allow_off_grid", "hold: allow_off_grid is not a hold field" },
        { "{\"appointment_date\":\"2030-01-07\",\"appointment_time\":\"10:15\"}", "service_id", "hold: service_id is required" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object_clear(errors);
        b = J(bad[i].body);
        KVT_OK(sched_parse_hold(b, 15, &h, errors) == -1 && json_object_get(errors, bad[i].field),
               "%s", bad[i].name);
        json_decref(b);
    }
    json_object_clear(errors);
    b = J("{\"service_id\":2,\"appointment_date\":\"2030-01-07\",\"appointment_time\":\"10:15\",\"ttl_seconds\":900,\"staff_id\":3,\"call_id\":4}");
    KVT_OK(sched_parse_hold(b, 15, &h, errors) == 0 && h.ttl_seconds == 900 && h.staff_id == 3 &&
           h.call_id == 4, "hold: ttl 900, staff and call are read");
    json_decref(b);

    /* reschedule bodies */
    sched_patch_t p;
    b = J("{}");
    KVT_OK(sched_parse_patch(b, 15, &p, errors) == -1 && json_object_get(errors, "body"),
           "patch: an empty body is refused under body");
    sched_patch_cleanup(&p);
    json_decref(b);
    json_object_clear(errors);
    b = J("{\"notes\":null}");
    KVT_OK(sched_parse_patch(b, 15, &p, errors) == 0 && p.has_notes && !p.notes && !p.has_date,
           "patch: notes null means clear them");
    sched_patch_cleanup(&p);
    json_decref(b);
    b = J("{\"appointment_time\":\"10:07\",\"allow_off_grid\":true,\"staff_id\":5}");
    KVT_OK(sched_parse_patch(b, 15, &p, errors) == 0 && p.has_time && p.start == 607 &&
           p.staff_id == 5, "patch: allow_off_grid lets an off-grid time through");
    sched_patch_cleanup(&p);
    json_decref(b);
    b = J("{\"appointment_time\":\"10:07\"}");
    KVT_OK(sched_parse_patch(b, 15, &p, errors) == -1 && json_object_get(errors, "appointment_time"),
           "patch: an off-grid time is refused");
    sched_patch_cleanup(&p);
    json_decref(b);
    json_object_clear(errors);
    b = J("{\"appointment_date\":null,\"customer_id\":1}");
    KVT_OK(sched_parse_patch(b, 15, &p, errors) == -1 && json_object_get(errors, "appointment_date") &&
           json_object_get(errors, "customer_id"), "patch: null date and unknown keys are refused");
    sched_patch_cleanup(&p);
    json_decref(b);
    json_object_clear(errors);

    /* the clock and the rules */
    kv_date_t today = { 2030, 1, 7 }, d;
    sched_rules_t r = { 0, 0, 120, 10 };
    d = today;
    KVT_EQ_INT(sched_check_when(&d, 600, &today, 540, &r, errors), -1,
               "when: 60 minutes ahead with a 120-minute notice is refused");
    KVT_OK(json_object_get(errors, "appointment_time") != NULL, "when: under appointment_time");
    json_object_clear(errors);
    KVT_EQ_INT(sched_check_when(&d, 661, &today, 540, &r, errors), 0,
               "when: 121 minutes ahead is allowed");
    KVT_EQ_INT(sched_check_when(&d, 660, &today, 540, &r, errors), -1,
               "when: exactly now + notice is refused (the current minute has begun)");
    json_object_clear(errors);
    d = (kv_date_t){ 2030, 1, 8 };
    KVT_EQ_INT(sched_check_when(&d, 30, &today, 1400, &r, errors), -1,
               "when: the notice reaches across midnight");
    json_object_clear(errors);
    d = (kv_date_t){ 2030, 1, 18 };
    KVT_EQ_INT(sched_check_when(&d, 600, &today, 540, &r, errors), -1,
               "when: 11 days ahead with max_advance 10 is refused");
    KVT_OK(json_object_get(errors, "appointment_date") != NULL, "when: under appointment_date");
    json_object_clear(errors);
    d = (kv_date_t){ 2030, 1, 17 };
    KVT_EQ_INT(sched_check_when(&d, 600, &today, 540, &r, errors), 0, "when: 10 days ahead is allowed");
    d = (kv_date_t){ 2030, 1, 6 };
    KVT_EQ_INT(sched_check_when(&d, 600, &today, 540, NULL, errors), -1, "when: yesterday is refused");
    json_object_clear(errors);
    d = today;
    KVT_EQ_INT(sched_check_when(&d, 540, &today, 540, NULL, errors), -1,
               "when: the current minute is refused without rules");
    json_object_clear(errors);
    KVT_EQ_INT(sched_slots_cutoff(kv_date_to_days(&today) + 1, kv_date_to_days(&today), 1400, 120), 80,
               "cutoff: tomorrow's is what the notice reaches past midnight");
    KVT_EQ_INT(sched_slots_cutoff(kv_date_to_days(&today) + 2, kv_date_to_days(&today), 1400, 120), -1,
               "cutoff: none the day after");
    KVT_EQ_INT(sched_slots_cutoff(kv_date_to_days(&today), kv_date_to_days(&today), 1400, 120), 1440,
               "cutoff: nothing left today");

    /* the operators' service rules */
    sched_service_input_t sv;
    b = J("{\"name\":\"Cut\",\"duration\":30,\"price\":\"20\"}");
    KVT_OK(sched_parse_service(b, 1, &sv, errors) == 0 && !sv.has_buffer_before &&
           sv.buffer_before == 0 && sv.max_advance == 365,
           "service: the rules default to 0, 0, 0, 365");
    sched_service_input_cleanup(&sv);
    json_decref(b);
    b = J("{\"buffer_before_minutes\":1440,\"buffer_after_minutes\":0,\"min_notice_minutes\":525600,\"max_advance_days\":3650}");
    KVT_OK(sched_parse_service(b, 0, &sv, errors) == 0 && sv.has_buffer_before &&
           sv.buffer_before == 1440 && sv.has_max_advance && sv.max_advance == 3650 &&
           sv.min_notice == 525600, "service: the largest rules are accepted");
    sched_service_input_cleanup(&sv);
    json_decref(b);
    b = J("{\"buffer_before_minutes\":1441,\"buffer_after_minutes\":-1,\"min_notice_minutes\":\"5\",\"max_advance_days\":null}");
    KVT_OK(sched_parse_service(b, 0, &sv, errors) == -1 && json_object_size(errors) == 4,
           "service: out of range, strings and null are refused, each under its field");
    sched_service_input_cleanup(&sv);
    json_decref(b);
    json_decref(errors);
}

int main(void)
{
    test_booking();
    test_create();
    test_grid();
    test_status();
    test_transitions();
    test_queries();
    test_admin();
    return kvt_done();
}
