/*
 * call_json.c -- the public call object, built from a row of CALLS_COLS,
 * and the transcript list, built from calls_turns rows.
 *
 * One builder for every place a call leaves the service (list items, show,
 * create, event payloads) keeps them identical.  The object carries
 * duration_seconds and, as a short alias, duration, and both created_at
 * and updated_at (RFC 3339 UTC, whole seconds).
 */
#include "calls.h"

#include <stdlib.h>
#include <string.h>

#include "kv_db.h"

json_t *calls_call_json(const PGresult *r, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(kv_db_i64(r, row, CALLS_COL_ID)));
    json_object_set_new(o, "external_id", kv_json_cell_str(r, row, CALLS_COL_EXTERNAL_ID));
    json_object_set_new(o, "caller_phone", kv_json_cell_str(r, row, CALLS_COL_PHONE));
    json_object_set_new(o, "caller_name", kv_json_cell_str(r, row, CALLS_COL_NAME));
    json_object_set_new(o, "customer_id", kv_json_cell_int(r, row, CALLS_COL_CUSTOMER_ID));
    json_object_set_new(o, "direction", kv_json_cell_str(r, row, CALLS_COL_DIRECTION));
    json_object_set_new(o, "started_at", kv_json_cell_str(r, row, CALLS_COL_STARTED));
    json_object_set_new(o, "ended_at", kv_json_cell_str(r, row, CALLS_COL_ENDED));
    long long dur = kv_db_i64(r, row, CALLS_COL_DURATION);
    json_object_set_new(o, "duration_seconds", json_integer(dur));
    json_object_set_new(o, "duration", json_integer(dur));
    const char *m = kv_db_str(r, row, CALLS_COL_MISSED);
    json_object_set_new(o, "missed", json_boolean(m && m[0] == 't'));
    json_object_set_new(o, "outcome", kv_json_cell_str(r, row, CALLS_COL_OUTCOME));
    json_object_set_new(o, "sentiment", kv_json_cell_str(r, row, CALLS_COL_SENTIMENT));
    json_object_set_new(o, "quality_score", kv_json_cell_int(r, row, CALLS_COL_QUALITY));
    json_object_set_new(o, "summary", kv_json_cell_str(r, row, CALLS_COL_SUMMARY));
    json_object_set_new(o, "recording_url", kv_json_cell_str(r, row, CALLS_COL_RECORDING));
    json_object_set_new(o, "created_at", kv_json_cell_str(r, row, CALLS_COL_CREATED));
    json_object_set_new(o, "updated_at", kv_json_cell_str(r, row, CALLS_COL_UPDATED));
    return o;
}

/* numeric text ("12", "12.5") as a JSON integer when it has no fraction,
 * else a real. */
static json_t *s_number(const char *v)
{
    if (!v)
        return json_null();
    if (!strpbrk(v, ".eE"))
        return json_integer(strtoll(v, NULL, 10));
    return json_real(strtod(v, NULL));
}

json_t *calls_transcript_json(const PGresult *turns)
{
    json_t *list = json_array();
    int n = turns ? PQntuples(turns) : 0;
    for (int i = 0; i < n; i++) {
        json_t *t = json_object();
        json_object_set_new(t, "speaker", kv_json_cell_str(turns, i, CALLS_TURN_SPEAKER));
        json_object_set_new(t, "text", kv_json_cell_str(turns, i, CALLS_TURN_TEXT));
        json_object_set_new(t, "offset_seconds",
                            s_number(kv_db_str(turns, i, CALLS_TURN_OFFSET)));
        json_array_append_new(list, t);
    }
    return list;
}
