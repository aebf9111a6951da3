/*
 * test_calls_log.c -- logging a call (POST /api/v1/calls, the extension the
 * voice agent calls when a call ends) and reading it back
 * (GET /api/v1/calls/{id}): the stored fields and transcript, the
 * 15-second missed boundary, idempotent external_id, linking the caller to
 * a crm customer (existing, and new as a lead), strict validation that
 * records nothing, and tenant isolation.
 */
#include "calls_e2e.h"

static char key[64], other_key[64];

static void test_full_call_round_trip(void)
{
    kvt_resp_t r = calls_post(key,
        "{\"caller_phone\":\"+1 (555) 010-7001\",\"caller_name\":\"Ana Full\","
        "\"started_at\":\"2026-03-10T14:05:00+01:00\",\"ended_at\":\"2026-03-10T14:07:05+01:00\","
        "\"duration_seconds\":125,\"outcome\":\"booked\",\"sentiment\":\"positive\","
        "\"quality_score\":87,\"summary\":\"Booked a haircut for Friday.\","
        "\"recording_url\":\"https://rec.example.com/c/1.mp3\",\"external_id\":\"full-1\","
        "\"transcript\":[{\"speaker\":\"agent\",\"text\":\"KaiVox salon, hello!\",\"offset_seconds\":0},"
        "{\"speaker\":\"caller\",\"text\":\"I'd like a haircut.\",\"offset_seconds\":2.5},"
        "{\"speaker\":\"agent\",\"text\":\"Friday at 10?\",\"offset_seconds\":7}]}");
    KVT_EQ_INT(r.status, 201, "logging a valid call answers 201");
    long long id = calls_int(&r, "id");
    KVT_OK(id > 0, "the new call has an id");
    KVT_EQ_STR(calls_str(&r, "caller_phone"), "+15550107001", "caller_phone is stored normalised");
    KVT_EQ_STR(calls_str(&r, "started_at"), "2026-03-10T13:05:00Z",
               "started_at is answered in UTC (RFC 3339) whatever offset it came with");
    KVT_EQ_STR(calls_str(&r, "ended_at"), "2026-03-10T13:07:05Z", "ended_at is answered in UTC");
    KVT_EQ_INT(calls_int(&r, "duration_seconds"), 125, "duration_seconds is stored");
    KVT_EQ_INT(calls_int(&r, "duration"), 125, "duration mirrors duration_seconds");
    KVT_OK(json_is_false(json_object_get(calls_data(&r), "missed")), "a 125 s call is not missed");
    KVT_EQ_STR(calls_str(&r, "direction"), "inbound", "direction defaults to inbound");
    KVT_EQ_STR(calls_str(&r, "outcome"), "booked", "outcome is stored");
    KVT_EQ_STR(calls_str(&r, "sentiment"), "positive", "sentiment is stored");
    KVT_EQ_INT(calls_int(&r, "quality_score"), 87, "quality_score is stored");
    KVT_EQ_STR(calls_str(&r, "summary"), "Booked a haircut for Friday.", "the AI summary is stored");
    KVT_EQ_STR(calls_str(&r, "recording_url"), "https://rec.example.com/c/1.mp3", "recording_url is stored");
    KVT_EQ_STR(calls_str(&r, "external_id"), "full-1", "external_id is stored");
    KVT_EQ_STR(calls_str(&r, "caller_name"), "Ana Full", "caller_name is stored");
    KVT_OK(calls_int(&r, "customer_id") > 0, "the caller is linked to a crm customer");
    KVT_OK(calls_str(&r, "created_at") != NULL, "created_at is present");
    KVT_EQ_INT(json_array_size(json_object_get(calls_data(&r), "transcript")), 3,
               "the create answer carries the transcript");
    kvt_resp_free(&r);

    char path[64];
    snprintf(path, sizeof path, "/api/v1/calls/%lld", id);
    r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "GET /calls/{id} answers 200");
    KVT_EQ_INT(calls_int(&r, "id"), id, "show answers the same call");
    json_t *t = json_object_get(calls_data(&r), "transcript");
    KVT_EQ_INT(json_array_size(t), 3, "show carries the whole transcript");
    KVT_EQ_STR(json_string_value(json_object_get(json_array_get(t, 0), "speaker")), "agent",
               "transcript turn 0 is the agent's");
    KVT_EQ_STR(json_string_value(json_object_get(json_array_get(t, 1), "text")),
               "I'd like a haircut.", "transcript turns keep their order and text");
    KVT_OK(json_number_value(json_object_get(json_array_get(t, 1), "offset_seconds")) == 2.5,
           "a fractional offset_seconds survives");
    KVT_EQ_INT(json_integer_value(json_object_get(json_array_get(t, 2), "offset_seconds")), 7,
               "an integral offset_seconds comes back as an integer");
    KVT_EQ_STR(calls_str(&r, "sentiment"), "positive", "show carries the sentiment");
    KVT_EQ_INT(calls_int(&r, "quality_score"), 87, "show carries the quality score");
    KVT_EQ_STR(calls_str(&r, "outcome"), "booked", "show carries the outcome");
    kvt_resp_free(&r);

    r = kvt_api(key, "GET", "/api/v1/calls", NULL);
    json_t *item = json_array_get(calls_data(&r), 0);
    KVT_OK(item && !json_object_get(item, "transcript"), "list items do not carry the transcript");
    KVT_OK(item && json_object_get(item, "summary") && json_object_get(item, "missed"),
           "list items carry the summary fields");
    kvt_resp_free(&r);
}

static void test_missed_boundary(void)
{
    kvt_resp_t r = calls_post(key, "{\"caller_phone\":\"+15550107002\",\"started_at\":\"2026-03-11T09:00:00Z\",\"duration_seconds\":14}");
    KVT_EQ_INT(r.status, 201, "a 14 s call is logged");
    KVT_OK(json_is_true(json_object_get(calls_data(&r), "missed")), "a 14 s call is missed");
    KVT_EQ_STR(calls_str(&r, "ended_at"), "2026-03-11T09:00:14Z", "ended_at is derived from duration_seconds");
    kvt_resp_free(&r);

    r = calls_post(key, "{\"caller_phone\":\"+15550107002\",\"started_at\":\"2026-03-11T09:10:00Z\",\"duration_seconds\":15}");
    KVT_EQ_INT(r.status, 201, "a 15 s call is logged");
    KVT_OK(json_is_false(json_object_get(calls_data(&r), "missed")), "a 15 s call is not missed");
    kvt_resp_free(&r);

    r = calls_post(key, "{\"caller_phone\":\"+15550107002\",\"started_at\":\"2026-03-11T09:20:00Z\",\"ended_at\":\"2026-03-11T09:20:14.900Z\"}");
    KVT_EQ_INT(r.status, 201, "a call with only ended_at is logged");
    KVT_EQ_INT(calls_int(&r, "duration_seconds"), 14, "a 14.9 s call lasts 14 whole seconds");
    KVT_OK(json_is_true(json_object_get(calls_data(&r), "missed")), "a 14.9 s call is missed");
    kvt_resp_free(&r);

    r = calls_post(key, "{\"caller_phone\":\"+15550107002\",\"started_at\":\"2026-03-11T09:30:00Z\",\"duration_seconds\":0}");
    KVT_OK(r.status == 201 && json_is_true(json_object_get(calls_data(&r), "missed")),
           "a 0 s call is logged as missed");
    kvt_resp_free(&r);
}

static void test_idempotent_external_id(void)
{
    const char *body = "{\"caller_phone\":\"+15550107003\",\"started_at\":\"2026-03-12T10:00:00Z\","
                       "\"duration_seconds\":30,\"external_id\":\"CA-idem-1\"}";
    long long total0, total1, total2;
    char ids[256];
    calls_list_ids(key, "", ids, sizeof ids, &total0);

    kvt_resp_t r = calls_post(key, body);
    KVT_EQ_INT(r.status, 201, "the first POST with an external_id creates the call");
    long long id = calls_int(&r, "id");
    kvt_resp_free(&r);
    calls_list_ids(key, "", ids, sizeof ids, &total1);
    KVT_EQ_INT(total1, total0 + 1, "the first POST adds one call");

    r = calls_post(key, body);
    KVT_EQ_INT(r.status, 200, "a repeated POST with the same external_id answers 200");
    KVT_EQ_INT(calls_int(&r, "id"), id, "the repeat answers the stored call");
    kvt_resp_free(&r);

    r = calls_post(key, "{\"caller_phone\":\"+15550107099\",\"started_at\":\"2026-03-12T11:00:00Z\","
                        "\"duration_seconds\":5,\"external_id\":\"CA-idem-1\"}");
    KVT_EQ_INT(r.status, 200, "a repeat with a different body still answers 200");
    KVT_EQ_INT(calls_int(&r, "id"), id, "a repeat with a different body answers the stored call");
    KVT_EQ_INT(calls_int(&r, "duration_seconds"), 30, "a repeat changes nothing in the stored call");
    kvt_resp_free(&r);

    calls_list_ids(key, "", ids, sizeof ids, &total2);
    KVT_EQ_INT(total2, total1, "repeats record no new call");

    r = calls_post(other_key, body);
    KVT_EQ_INT(r.status, 201, "the same external_id in another tenant is a new call");
    KVT_OK(calls_int(&r, "id") != id, "another tenant's call with that external_id has its own id");
    kvt_resp_free(&r);
}

static void test_caller_linking(void)
{
    kvt_resp_t c = kvt_api(key, "POST", "/api/v1/customers",
                           "{\"name\":\"Maria Existing\",\"phone\":\"+1 555 010 7004\"}");
    KVT_EQ_INT(c.status, 201, "an existing customer is created through the API");
    long long cust = calls_int(&c, "id");
    kvt_resp_free(&c);

    kvt_resp_t r = calls_post(key, "{\"caller_phone\":\"+1-555-010-7004\",\"started_at\":\"2026-03-13T10:00:00Z\",\"duration_seconds\":60}");
    KVT_EQ_INT(r.status, 201, "a call from a known number is logged");
    KVT_EQ_INT(calls_int(&r, "customer_id"), cust,
               "a call from a known number (written differently) links the existing customer");
    kvt_resp_free(&r);

    kvt_resp_t before = kvt_api(key, "GET", "/api/v1/customers?search=5550107005", NULL);
    KVT_EQ_INT(calls_meta(&before, "total"), 0, "the unknown caller is not a customer yet");
    kvt_resp_free(&before);

    r = calls_post(key, "{\"caller_phone\":\"+15550107005\",\"caller_name\":\"Nina Newcaller\","
                        "\"started_at\":\"2026-03-13T11:00:00Z\",\"duration_seconds\":60}");
    KVT_EQ_INT(r.status, 201, "a call from an unknown number is logged");
    long long lead = calls_int(&r, "customer_id");
    KVT_OK(lead > 0 && lead != cust, "an unknown caller is linked to a new customer");
    kvt_resp_free(&r);

    kvt_resp_t s = kvt_api(key, "GET", "/api/v1/customers?search=5550107005", NULL);
    KVT_EQ_INT(calls_meta(&s, "total"), 1, "the unknown caller is now found by phone search");
    json_t *found = json_array_get(calls_data(&s), 0);
    KVT_EQ_INT(json_integer_value(json_object_get(found, "id")), lead,
               "the customer found by phone is the one the call links");
    KVT_EQ_STR(json_string_value(json_object_get(found, "segment")), "lead",
               "an unknown caller becomes a lead");
    KVT_EQ_STR(json_string_value(json_object_get(found, "name")), "Nina Newcaller",
               "the new lead carries the caller's name");
    kvt_resp_free(&s);

    r = calls_post(key, "{\"caller_phone\":\"+15550107005\",\"started_at\":\"2026-03-13T12:00:00Z\",\"duration_seconds\":60}");
    KVT_EQ_INT(calls_int(&r, "customer_id"), lead, "a second call from the new lead links the same customer");
    kvt_resp_free(&r);
    s = kvt_api(key, "GET", "/api/v1/customers?search=5550107005", NULL);
    KVT_EQ_INT(calls_meta(&s, "total"), 1, "a second call creates no second customer");
    kvt_resp_free(&s);
}

/* Posts body and checks 422 with errors.<field>. */
static void s_refused(const char *body, const char *field, const char *name)
{
    kvt_resp_t r = calls_post(key, body);
    KVT_EQ_INT(r.status, 422, "%s: 422", name);
    KVT_OK(calls_has_err(&r, field), "%s: reported under errors.%s", name, field);
    KVT_OK(json_is_false(json_object_get(r.json, "success")), "%s: success is false", name);
    kvt_resp_free(&r);
}

static void test_validation(void)
{
    long long total0, total1;
    char ids[256];
    calls_list_ids(key, "", ids, sizeof ids, &total0);

#define OKB "\"caller_phone\":\"+15550107006\""
    s_refused("{\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10}", "caller_phone",
              "a call without caller_phone");
    s_refused("{\"caller_phone\":\"call me\",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10}",
              "caller_phone", "a caller_phone that is not a number");
    s_refused("{" OKB ",\"duration_seconds\":10}", "started_at", "a call without started_at");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14 10:00:00\",\"duration_seconds\":10}", "started_at",
              "a started_at that is not ISO 8601");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00\",\"duration_seconds\":10}", "started_at",
              "a started_at without a UTC offset");
    s_refused("{" OKB ",\"started_at\":\"2026-02-30T10:00:00Z\",\"duration_seconds\":10}", "started_at",
              "a started_at on 30 February");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"ended_at\":\"tomorrow\"}", "ended_at",
              "an ended_at that is not a timestamp");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"ended_at\":\"2026-03-14T09:59:59Z\"}",
              "ended_at", "a call that ended before it started");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\"}", "duration_seconds",
              "a call with neither ended_at nor duration_seconds");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"ended_at\":\"2026-03-14T10:01:00Z\","
              "\"duration_seconds\":30}", "duration_seconds", "ended_at and duration_seconds that disagree");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":-5}",
              "duration_seconds", "a negative duration");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10,\"sentiment\":\"ecstatic\"}",
              "sentiment", "an unknown sentiment");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10,\"outcome\":\"great\"}",
              "outcome", "an unknown outcome");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10,\"direction\":\"up\"}",
              "direction", "an unknown direction");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10,\"quality_score\":101}",
              "quality_score", "a quality_score above 100");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10,\"transcript\":\"hello\"}",
              "transcript", "a transcript that is not a list");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10,"
              "\"transcript\":[{\"speaker\":\"robot\",\"text\":\"hi\",\"offset_seconds\":0}]}",
              "transcript", "a transcript turn with an unknown speaker");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10,"
              "\"transcript\":[{\"speaker\":\"agent\",\"text\":\"hi\",\"offset_seconds\":-1}]}",
              "transcript", "a transcript turn with a negative offset");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10,"
              "\"recording_url\":\"javascript:alert(1)\"}", "recording_url", "a recording_url that is not http(s)");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10,\"missed\":true}",
              "missed", "a client-supplied missed flag (it is derived)");
    s_refused("{" OKB ",\"started_at\":\"2026-03-14T10:00:00Z\",\"duration_seconds\":10,\"colour\":\"red\"}",
              "colour", "an unknown field");
    s_refused("[1,2,3]", "body", "a body that is not an object");
#undef OKB

    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/calls", "{\"caller_phone\":");
    KVT_EQ_INT(r.status, 400, "malformed JSON answers 400");
    kvt_resp_free(&r);

    calls_list_ids(key, "", ids, sizeof ids, &total1);
    KVT_EQ_INT(total1, total0, "refused calls record nothing");
}

static void test_not_found_and_isolation(void)
{
    long long id = calls_log(key, "{\"caller_phone\":\"+15550107007\",\"started_at\":\"2026-03-15T10:00:00Z\",\"duration_seconds\":40}");
    KVT_OK(id > 0, "a call to isolate is logged");
    char path[64];
    snprintf(path, sizeof path, "/api/v1/calls/%lld", id);

    kvt_resp_t r = kvt_api(other_key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "another tenant's call answers 404");
    KVT_OK(json_is_false(json_object_get(r.json, "success")), "the 404 is an error envelope");
    kvt_resp_free(&r);

    r = kvt_api(key, "GET", "/api/v1/calls/999999999", NULL);
    KVT_EQ_INT(r.status, 404, "a call id that does not exist answers 404");
    kvt_resp_free(&r);

    long long total;
    char ids[4096];
    calls_list_ids(other_key, "", ids, sizeof ids, &total);
    char idstr[32];
    snprintf(idstr, sizeof idstr, "%lld", id);
    KVT_OK(total == 1 && strcmp(ids, idstr) != 0,
           "another tenant's list shows only its own call (from the external_id test)");

    r = kvt_api(NULL, "GET", path, NULL);
    KVT_EQ_INT(r.status, 401, "calls need an API key");
    kvt_resp_free(&r);
}

int main(void)
{
    if (kvt_tenant("calls-log", "Europe/Madrid", NULL, key) != 0 ||
        kvt_tenant("calls-log-other", NULL, NULL, other_key) != 0) {
        KVT_OK(0, "test tenants can be created");
        return kvt_done();
    }
    test_full_call_round_trip();
    test_missed_boundary();
    test_idempotent_external_id();
    test_caller_linking();
    test_validation();
    test_not_found_and_isolation();
    return kvt_done();
}
