/*
 * fuzz_body_calls.c -- the body of POST /api/v1/calls (the call log):
 * any bytes through the gateway's JSON parse and the bus (fuzz_body), then
 * calls_validate, with a fixed "now" (2026-06-01T12:00:00Z) so that the
 * clock rules are exercised the same way every run.
 *
 * Properties: success exactly when no error was added; a valid call has a
 * normalised phone, started <= ended <= now + 5 min, a duration of
 * 0..86400 s that agrees with them within a second, timestamps formatted
 * in UTC that parse back to the same instant, values of the documented
 * sets and ranges, a recording_url that calls_valid_url accepts, and a
 * transcript that is a list of at most 5000 turns.
 */
#include "fuzz.h"

#include "kv_valid.h"
#include "../../services/calls/call_valid.h"

#define S_NOW_US 1780315200000000LL   /* 2026-06-01T12:00:00Z */

static void s_ts(const char *text, int64_t us)
{
    int64_t back;
    if (strncmp(text, "1899-", 5) == 0)   /* 1900-01-01 with an offset east of UTC */
        return;
    FUZZ_CHECK(kv_parse_rfc3339(text, &back) == 0 && back == us);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body;
    json_t *bus = fuzz_body(data, size, &body);
    if (!bus)
        return 0;
    json_t *errors = json_object();
    calls_input_t in;
    int rc = calls_validate(body, S_NOW_US, &in, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        char again[17];
        FUZZ_CHECK(kv_normalize_phone(in.caller_phone, again) == 0 &&
                   strcmp(again, in.caller_phone) == 0);
        FUZZ_CHECK(in.started_us <= in.ended_us);
        FUZZ_CHECK(in.ended_us <= S_NOW_US + KV_CALL_CLOCK_SKEW_S * 1000000LL);
        FUZZ_CHECK(in.duration_seconds >= 0 && in.duration_seconds <= CALLS_MAX_DURATION);
        int64_t span = in.ended_us - in.started_us;
        FUZZ_CHECK(span - in.duration_seconds * 1000000LL <= 1000000LL &&
                   in.duration_seconds * 1000000LL - span <= 1000000LL);
        s_ts(in.started_at, in.started_us);
        s_ts(in.ended_at, in.ended_us);
        FUZZ_CHECK(in.direction && (strcmp(in.direction, "inbound") == 0 ||
                                    strcmp(in.direction, "outbound") == 0));
        FUZZ_CHECK(!in.has_quality || (in.quality_score >= 0 && in.quality_score <= 100));
        FUZZ_CHECK(!in.recording_url || calls_valid_url(in.recording_url) == 0);
        FUZZ_CHECK(!in.caller_name || kv_text_check(in.caller_name, &kv_rule_person_name) == 0);
        FUZZ_CHECK(!in.summary || kv_utf8_chars(in.summary) <= KV_CALL_SUMMARY_MAX);
        FUZZ_CHECK(!in.external_id || kv_utf8_chars(in.external_id) <= KV_CALL_EXTERNAL_ID_MAX);
        FUZZ_CHECK(!in.transcript || (json_is_array(in.transcript) &&
                                      json_array_size(in.transcript) <= KV_CALL_TURNS_MAX));
    }
    calls_input_cleanup(&in);
    json_decref(errors);
    json_decref(bus);
    return 0;
}
