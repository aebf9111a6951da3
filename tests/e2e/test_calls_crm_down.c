/*
 * test_calls_crm_down.c -- logging a call needs crm (the caller is linked
 * to a customer): while crm is down POST /api/v1/calls answers 503 and
 * records nothing, reading calls keeps working, and once crm is back the
 * same call logs normally.  Stops and restarts the crm service of the test
 * stack (scripts/stack.sh), so it restores crm before it ends.
 */
#include "calls_e2e.h"

static const char *const BODY =
    "{\"caller_phone\":\"+15550110001\",\"started_at\":\"2026-05-01T10:00:00Z\","
    "\"duration_seconds\":30,\"external_id\":\"crm-down-1\"}";

int main(void)
{
    char key[64];
    if (kvt_tenant("calls-crm-down", "UTC", NULL, key) != 0) {
        KVT_OK(0, "a test tenant can be created");
        return kvt_done();
    }
    long long before = calls_log(key, "{\"caller_phone\":\"+15550110002\",\"started_at\":\"2026-05-01T09:00:00Z\",\"duration_seconds\":30}");
    KVT_OK(before > 0, "a call is logged while crm is up");

    KVT_EQ_INT(kvt_stack("stop crm"), 0, "crm can be stopped");
    kvt_resp_t r = calls_post(key, BODY);
    KVT_EQ_INT(r.status, 503, "logging a call while crm is down answers 503");
    KVT_OK(json_is_false(json_object_get(r.json, "success")), "the 503 is an error envelope");
    kvt_resp_free(&r);

    char ids[256];
    long long total = -1;
    long st = calls_list_ids(key, "", ids, sizeof ids, &total);
    KVT_EQ_INT(st, 200, "listing calls works while crm is down");
    KVT_EQ_INT(total, 1, "the refused call was not recorded");

    KVT_EQ_INT(kvt_stack("start crm"), 0, "crm can be started again");
    /* crm's workers announce themselves within a moment: poll, bounded. */
    long status = 0;
    for (int i = 0; i < 100 && status != 201; i++) {
        r = calls_post(key, BODY);
        status = r.status;
        kvt_resp_free(&r);
        if (status != 201)
            kvt_sleep_ms(100);
    }
    KVT_EQ_INT(status, 201, "once crm is back the same call is logged (201, not a replay)");
    calls_list_ids(key, "", ids, sizeof ids, &total);
    KVT_EQ_INT(total, 2, "exactly one more call is recorded");
    return kvt_done();
}
