/*
 * test_sizes.c -- the worst-case bounds of proto/kv_sizes.h against what
 * jansson really writes.
 *
 * For each object of the API this builds, with jansson and the keys its
 * builder uses, the largest legal instance (every text at its limit, of
 * the character that costs most: U+1F600, 4 bytes; '"' where a field is
 * limited in bytes; every id at 19 digits; every enumeration at its
 * longest; reals at their longest), serialises it as the services do
 * (compact, 15 significant digits for reals) and checks that the bound is
 * never smaller than the bytes written, and not far above them (the
 * arithmetic is right, not just generous).  It prints the table of
 * proto/bus.md ("Sizes").  The end-to-end tests (test_worstcase_*) measure
 * the same answers through the real services.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "kv_bus.h"
#include "kv_sizes.h"

#define S_EMOJI "\xF0\x9F\x98\x80"   /* U+1F600: 4 bytes in UTF-8 and in JSON */
#define S_ID    ((json_int_t)9223372036854775807LL)

/* n copies of the UTF-8 text unit.  Caller frees. */
static char *s_rep(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

static json_t *s_text(const char *unit, size_t n)
{
    char *s = s_rep(unit, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* prefix followed by fill up to exactly n bytes. */
static json_t *s_fill(const char *prefix, const char *fill, size_t n)
{
    char *s = s_rep(fill, n - strlen(prefix));
    size_t p = strlen(prefix);
    char *t = malloc(n + 1);
    memcpy(t, prefix, p);
    memcpy(t + p, s, n - p);
    t[n] = '\0';
    json_t *j = json_string(t);
    free(s);
    free(t);
    return j;
}

static json_t *s_email(void)
{
    /* 64-character local part, labels of 63: 254 characters in all */
    char e[255];
    memset(e, 'a', 254);
    e[64] = '@';
    e[128] = '.';
    e[192] = '.';
    e[254] = '\0';
    return json_string(e);
}

/* An object of (key, value) pairs, NULL-ended; the values are stolen. */
static json_t *s_obj(const char *key, ...)
{
    json_t *o = json_object();
    va_list ap;
    va_start(ap, key);
    for (const char *k = key; k; k = va_arg(ap, const char *))
        json_object_set_new(o, k, va_arg(ap, json_t *));
    va_end(ap);
    return o;
}

#define S(x) json_string(x)
#define I(x) json_integer(x)

static size_t s_len(json_t *j, size_t flags)
{
    char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | flags);
    size_t n = t ? strlen(t) : 0;
    free(t);
    return n;
}

/* A list envelope around n copies of item, with the longest page meta. */
static json_t *s_page(json_t *item, int n)
{
    json_t *data = json_array();
    for (int i = 0; i < n; i++)
        json_array_append(data, item);
    json_decref(item);
    return json_pack("{sbsoso}", "success", 1, "data", data, "meta",
                     json_pack("{sisisI}", "page", KV_PAGE_MAX, "per_page", KV_PER_PAGE_MAX,
                               "total", S_ID));
}

static json_t *s_show(json_t *item)
{
    return json_pack("{sbso}", "success", 1, "data", item);
}

/* Checks measured <= bound and measured >= pct% of bound, and prints a
 * line of the table. */
static void s_check(const char *what, size_t measured, size_t bound, int pct)
{
    printf("# %-44s bound %10zu  built %10zu  (%.1f%% of KV_BODY_MAX)\n", what, bound,
           measured, 100.0 * (double)bound / KV_BODY_MAX);
    KVT_OK(measured <= bound, "%s: the bound (%zu) is not below the bytes jansson writes (%zu)",
           what, bound, measured);
    KVT_OK(measured * 100 >= bound * (size_t)pct, "%s: the bound is tight: what is built is "
           "at least %d%% of it (%zu of %zu)", what, pct, measured, bound);
}

static json_t *s_call(void)
{
    return s_obj(
        "id", I(S_ID),
        "external_id", s_text(S_EMOJI, KV_CALL_EXTERNAL_ID_MAX),
        "caller_phone", S("+123456789012345"),
        "caller_name", s_text(S_EMOJI, KV_CALL_CALLER_NAME_MAX),
        "customer_id", I(S_ID),
        "direction", S("outbound"),
        "started_at", S("2026-03-10T14:05:00Z"),
        "ended_at", S("2026-03-11T14:05:00Z"),
        "duration_seconds", I(86400),
        "duration", I(86400),
        "missed", json_false(),
        "outcome", S("transferred"),
        "sentiment", S("negative"),
        "quality_score", I(100),
        "summary", s_text(S_EMOJI, KV_CALL_SUMMARY_MAX),
        "recording_url", s_fill("https://x/", "\"", KV_CALL_URL_MAX),
        "created_at", S("2026-03-11T14:05:00Z"),
        "updated_at", S("2026-03-11T14:05:00Z"), NULL);
}

static json_t *s_transcript(void)
{
    json_t *t = json_array();
    size_t per = KV_CALL_TRANSCRIPT_TEXT_MAX / KV_CALL_TURNS_MAX;
    for (int i = 0; i < KV_CALL_TURNS_MAX; i++)
        json_array_append_new(t, json_pack("{sssosf}", "speaker", "caller",
                                           "text", s_text(S_EMOJI, per),
                                           "offset_seconds", 1.23456789012345e-300));
    return t;
}

static void test_calls(void)
{
    json_t *page = s_page(s_call(), KV_PER_PAGE_MAX);
    s_check("calls.list (100 calls)", s_len(page, JSON_REAL_PRECISION(15)), KV_SZ_CALLS_PAGE, 98);
    json_decref(page);

    json_t *call = s_call();
    json_object_set_new(call, "transcript", s_transcript());
    /* the show adds the appointments booked during the call */
    json_t *shown = json_copy(call);
    json_t *ids = json_array();
    for (int i = 0; i < KV_CALL_APPOINTMENTS_MAX; i++)
        json_array_append_new(ids, I(S_ID));
    json_object_set_new(shown, "appointment_ids", ids);
    json_t *show = s_show(shown);
    size_t n = s_len(show, JSON_REAL_PRECISION(15));
    s_check("calls.get (the longest transcript)", n, KV_SZ_CALLS_SHOW, 95);
    json_decref(show);
    json_t *stats = s_show(s_obj("from_date", S("2026-01-01"), "to_date", S("2026-12-31"),
                                 "calls", I(S_ID), "answered", I(S_ID), "missed", I(S_ID),
                                 "booked", I(S_ID), "conversion_rate", json_real(-1.2345e-300),
                                 "average_duration", json_real(-1.23456789012345e+300), NULL));
    s_check("calls.stats", s_len(stats, JSON_REAL_PRECISION(15)), KV_SZ_CALLS_STATS, 30);
    json_decref(stats);

    /* the event page that carries it alone, and the delivery body
     * (jansson's default 17 digits: the webhook service's serialisation) */
    json_t *ev = json_pack("{sIsssIsssssO}", "seq", S_ID,
                           "id", "0d9b5c1e-1111-2222-3333-444455556666", "tenant_id", S_ID,
                           "type", "call.ended", "created_at", "2026-11-28T10:00:00.000000Z",
                           "payload", call);
    json_t *evpage = json_pack("{sbs[o]s{sb}}", "success", 1, "data", ev, "meta", "more", 0);
    s_check("events.since (one call event alone)", s_len(evpage, JSON_REAL_PRECISION(15)),
            KV_SZ_EVENTS_PAGE, 95);
    json_decref(evpage);
    json_t *body = json_pack("{sssssssO}", "id", "0d9b5c1e-1111-2222-3333-444455556666",
                             "event", "call.ended", "created_at", "2026-11-28T10:00:00.000000Z",
                             "data", call);
    s_check("webhook delivery body of that event (HTTP)", s_len(body, 0), KV_SZ_DELIVERY_BODY, 95);
    json_decref(body);
    json_decref(call);
}

static json_t *s_customer(int full)
{
    json_t *c = s_obj(
        "id", I(S_ID),
        "name", s_text(S_EMOJI, KV_CUSTOMER_NAME_MAX),
        "phone", S("+123456789012345"),
        "email", s_email(),
        "segment", S("inactive"),
        "pipeline_stage", S("qualified"),
        "notes", s_text(S_EMOJI, KV_CUSTOMER_NOTES_MAX),
        "source", S("abcdefghijklmnopqrstuvwxyz012345"),
        "created_at", S("2026-03-11T14:05:00Z"),
        "updated_at", S("2026-03-11T14:05:00Z"), NULL);
    if (full) {
        json_object_set_new(c, "total_appointments", I(S_ID));
        json_object_set_new(c, "total_spent", json_real(1.23456789012345e+16));
        json_object_set_new(c, "last_visit_date", S("2026-03-11"));
    }
    return c;
}

static json_t *s_appt(void)
{
    return s_obj(
        "id", I(S_ID), "customer_id", I(S_ID), "service_id", I(S_ID),
        "service_name", s_text(S_EMOJI, KV_SCHED_SERVICE_NAME_MAX),
        "staff_id", I(S_ID),
        "staff_name", s_text(S_EMOJI, KV_STAFF_NAME_MAX),
        "appointment_date", S("2026-03-11"), "appointment_time", S("23:00"),
        "end_time", S("23:59"),
        "duration", I(1440),
        "status", S("scheduled"),
        "notes", s_text(S_EMOJI, KV_APPT_NOTES_MAX),
        "source", S("abcdefghijklmnopqrstuvwxyz012345"),
        "price", json_real(12345678.91),
        "created_at", S("2026-03-11T14:05:00Z"), "updated_at", S("2026-03-11T14:05:00Z"),
        "call_id", I(S_ID), NULL);
}

static json_t *s_staff(int full)
{
    json_t *sp = json_array();
    for (int i = 0; i < KV_STAFF_SPECIALTIES_MAX; i++)
        json_array_append_new(sp, s_text(S_EMOJI, KV_STAFF_SPECIALTY_MAX));
    json_t *o = json_pack("{sIsoso}", "id", S_ID, "name", s_text(S_EMOJI, KV_STAFF_NAME_MAX),
                          "specialties", sp);
    json_object_set_new(o, "next_available_slot",
                        json_pack("{ssss}", "date", "2026-03-11", "time", "23:45"));
    if (full) {
        static const char *const days[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
        json_t *wh = json_object();
        for (int d = 0; d < 7; d++) {
            json_t *ivs = json_array();
            for (int i = 0; i < KV_STAFF_DAY_INTERVALS; i++)
                json_array_append_new(ivs, json_pack("{ssss}", "start", "10:00", "end", "10:30"));
            json_object_set_new(wh, days[d], ivs);
        }
        json_object_set_new(o, "working_hours", wh);
        json_t *up = json_array();
        for (int i = 0; i < KV_STAFF_UPCOMING_MAX; i++)
            json_array_append_new(up, json_pack("{ssssss}", "date", "2026-03-11", "time", "10:00",
                                                "end_time", "10:30"));
        json_object_set_new(o, "upcoming_appointments", up);
    }
    return o;
}

static void test_others(void)
{
    json_t *j = s_page(s_customer(0), KV_PER_PAGE_MAX);
    s_check("customers.list (100 customers)", s_len(j, JSON_REAL_PRECISION(15)),
            KV_SZ_CUSTOMERS_PAGE, 97);
    json_decref(j);
    j = s_show(s_customer(1));
    s_check("customers.get", s_len(j, JSON_REAL_PRECISION(15)), KV_SZ_CUSTOMERS_SHOW, 90);
    json_decref(j);
    j = s_page(s_appt(), KV_PER_PAGE_MAX);
    s_check("appointments.list (100 appointments)", s_len(j, JSON_REAL_PRECISION(15)),
            KV_SZ_APPTS_PAGE, 97);
    json_decref(j);
    j = s_show(s_obj("id", I(S_ID), "service_id", I(S_ID), "staff_id", I(S_ID),
                     "appointment_date", S("2026-03-11"), "appointment_time", S("23:00"),
                     "end_time", S("23:59"), "expires_at", S("2026-03-11T14:05:00.123456Z"),
                     "call_id", I(S_ID), NULL));
    s_check("holds.create", s_len(j, 0), KV_SZ_ENVELOPE + KV_SZ_HOLD, 30);
    json_decref(j);
    j = s_page(s_obj("id", I(S_ID), "name", s_text(S_EMOJI, KV_SCHED_SERVICE_NAME_MAX),
                     "duration", I(1440), "price", json_real(12345678.91),
                     "buffer_before_minutes", I(KV_SERVICE_BUFFER_MAX),
                     "buffer_after_minutes", I(KV_SERVICE_BUFFER_MAX),
                     "min_notice_minutes", I(KV_SERVICE_NOTICE_MAX),
                     "max_advance_days", I(KV_SERVICE_ADVANCE_MAX), "active", json_false(),
                     "created_at", S("2026-03-11T14:05:00Z"),
                     "updated_at", S("2026-03-11T14:05:00Z"), NULL), KV_PER_PAGE_MAX);
    s_check("services.list (100 services)", s_len(j, JSON_REAL_PRECISION(15)),
            KV_SZ_SERVICES_PAGE, 70);
    json_decref(j);
    j = s_page(s_staff(0), KV_PER_PAGE_MAX);
    s_check("staff.list (100 staff members)", s_len(j, JSON_REAL_PRECISION(15)),
            KV_SZ_STAFF_PAGE, 97);
    json_decref(j);
    j = s_show(s_staff(1));
    s_check("staff.get", s_len(j, JSON_REAL_PRECISION(15)), KV_SZ_STAFF_SHOW, 80);
    json_decref(j);

    /* slots of a day on a 5-minute grid, every one listing 1000 staff */
    json_t *slots = json_array();
    for (int t = 0; t < KV_SZ_SLOT_TIMES; t++) {
        json_t *ids = json_array();
        for (int i = 0; i < 1000; i++)
            json_array_append_new(ids, json_integer(S_ID));
        json_array_append_new(slots, json_pack("{sssssO}", "time", "23:55", "end_time", "23:59",
                                               "staff_ids", ids));
        json_decref(ids);
    }
    j = s_show(slots);
    s_check("appointments.slots (1000 staff members)", s_len(j, 0), KV_SZ_SLOTS(1000), 97);
    json_decref(j);
    printf("# appointments.slots fits up to %d staff members free at every time of a day\n",
           (int)KV_SZ_SLOTS_STAFF_FIT);
    KVT_OK(KV_SZ_SLOTS(KV_SZ_SLOTS_STAFF_FIT) <= KV_BODY_MAX &&
           KV_SZ_SLOTS(KV_SZ_SLOTS_STAFF_FIT + 1) > KV_BODY_MAX,
           "KV_SZ_SLOTS_STAFF_FIT is the most staff the slots of a day can list");

    /* webhooks: 20 endpoints fit any page; a page of 100 is the bound */
    json_t *ev = json_pack("[ssss]", "appointment.created", "appointment.cancelled",
                           "call.ended", "call.missed");
    json_t *ep = s_obj("id", I(S_ID),
                       "url", s_fill("https://x/", "%", KV_WEBHOOK_URL_MAX),
                       "events", ev, "description", s_text(S_EMOJI, KV_WEBHOOK_DESC_MAX),
                       "active", json_false(), "disabled_reason", S("410 Gone"),
                       "previous_secret_expires_at", S("2026-03-11T14:05:00Z"),
                       "created_at", S("2026-03-11T14:05:00Z"),
                       "updated_at", S("2026-03-11T14:05:00Z"),
                       "secret", S("whsec_0123456789012345678901234567890123456789abc="), NULL);
    j = s_page(ep, KV_PER_PAGE_MAX);
    s_check("webhooks.list (100 endpoints)", s_len(j, 0), KV_SZ_ENDPOINTS_PAGE, 90);
    json_decref(j);
    json_t *att = json_array();
    for (int i = 0; i < KV_SZ_HOOK_ATTEMPTS_SHOWN; i++)
        json_array_append_new(att, json_pack("{sssiso si}", "attempted_at",
                                             "2026-03-10T14:00:00.210Z", "status_code", 599,
                                             "error", s_text(S_EMOJI, KV_SZ_HOOK_ERROR_MAX),
                                             "duration_ms", 120000));
    json_t *d = json_pack("{sIsIsssssssosIssss}", "id", S_ID, "endpoint_id", S_ID,
                          "event_id", "0d9b5c1e-1111-2222-3333-444455556666",
                          "event", "appointment.cancelled", "status", "succeeded",
                          "attempts", att, "attempts_total", S_ID,
                          "next_attempt_at", "2026-03-10T14:00:00Z",
                          "created_at", "2026-03-10T14:00:00Z");
    j = s_page(d, KV_PER_PAGE_MAX);
    s_check("webhooks.deliveries (100 deliveries)", s_len(j, 0), KV_SZ_DELIVERIES_PAGE, 95);
    json_decref(j);
}

/* The longest request header, as kv_hdr_encode writes it: every string at
 * its longest of the costliest character its rule allows. */
static void test_header(void)
{
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    h.v = KV_PROTO_VERSION;
    memset(h.id, 'a', 64);
    memset(h.op, 'o', KV_OP_NAME_MAX);
    memset(h.cid, 'c', KV_CID_MAX);
    memset(h.idem_key, '"', KV_IDEM_KEY_MAX);
    memset(h.tenant_tz, 'z', 64);
    h.tenant_id = S_ID;
    h.slot_interval = 1440;
    h.deadline_ms = S_ID;
    char *t = kv_hdr_encode(&h, 0);
    s_check("request header (Idempotency-Key of 255 '\"')", strlen(t), KV_SZ_HEADER, 70);
    KVT_OK(strlen(t) <= KV_HEADER_MAX, "it fits a header frame (%zu of %d bytes)", strlen(t),
           KV_HEADER_MAX);
    kv_hdr_t back;
    KVT_EQ_INT(kv_hdr_decode(t, strlen(t), 0, &back), KV_BUS_OK, "and it is read back");
    KVT_EQ_STR(back.idem_key, h.idem_key, "with its whole Idempotency-Key");
    free(t);
}

static void test_margin(void)
{
    printf("# largest legal answer %zu bytes; KV_BODY_MAX %d (%.2fx)\n", (size_t)KV_SZ_LARGEST,
           KV_BODY_MAX, (double)KV_BODY_MAX / (double)KV_SZ_LARGEST);
    KVT_EQ_INT(KV_SZ_LARGEST, KV_SZ_CALLS_PAGE, "the largest legal answer is a page of calls");
    KVT_OK(KV_SZ_LARGEST * 3 <= (size_t)KV_BODY_MAX * 2,
           "it takes at most 2/3 of a bus body (%zu of %d)", (size_t)KV_SZ_LARGEST, KV_BODY_MAX);
    KVT_OK(KV_SZ_EVENTS_PAGE < (size_t)KV_BODY_MAX,
           "an events.since page fits a bus body (%zu)", (size_t)KV_SZ_EVENTS_PAGE);
}

int main(void)
{
    test_calls();
    test_others();
    test_header();
    test_margin();
    return kvt_done();
}
