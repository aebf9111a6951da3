/*
 * test_webhooks_retention.c -- KAIVOX_RETENTION_DAYS (30): what is older
 * goes, what is newer stays, and the delivery log says how far back it
 * goes.
 *
 * Rows are backdated 40 days in the database (as the owning service's
 * role), then the service is restarted with KAIVOX_RETENTION_PRUNE_S=1 so
 * the test need not wait a minute for the next pass:
 *  - webhooks: finished deliveries that finished 40 days ago go with their
 *    attempts and their events; an old delivery that is still pending
 *    stays (its old attempts go, its event stays); an old attempt of a
 *    recent delivery goes, its recent attempt stays; recent ones stay.
 *  - the scheduling outbox: old events go, oldest first, but never past the
 *    first one inside the window, so the remaining tail has no gap; the
 *    webhook intake, asked to catch up from before what was pruned, skips
 *    the pruned sequences instead of waiting for them for ever.
 */
#include "webhooks_e2e.h"

#define CALLS 5

/* Logs one answered call; 0 or -1. */
static int s_call(const char *key, int i)
{
    kvt_resp_t r = kvt_apif(key, "POST", "/api/v1/calls",
                            "{\"caller_phone\":\"+1555060%04d\",\"started_at\":"
                            "\"2026-03-10T14:00:00Z\",\"duration_seconds\":60}", i);
    int ok = r.status == 201;
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

/* Runs a statement of the webhook schema with one id parameter; rows
 * affected or the first cell, -1 on error. */
static long long s_wh(const char *sql, long long id)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", id);
    const char *p[1] = { ids };
    return wh_sql_int("webhooks", sql, 1, p);
}

/* The same with two id parameters. */
static long long s_wh2(const char *sql, long long a, long long b)
{
    char as[24], bs[24];
    snprintf(as, sizeof as, "%lld", a);
    snprintf(bs, sizeof bs, "%lld", b);
    const char *p[2] = { as, bs };
    return wh_sql_int("webhooks", sql, 2, p);
}

/* The delivery with id in page r, or NULL. */
static json_t *s_find(const kvt_resp_t *r, long long id)
{
    size_t i;
    json_t *d;
    json_array_foreach(se_data(r), i, d)
        if (json_integer_value(json_object_get(d, "id")) == id)
            return d;
    return NULL;
}

static void test_delivery_log(const char *key)
{
    wh_receiver_t rcv = { 0 };
    wh_receiver_start(&rcv, 4000);
    char url[256];
    wh_url(&rcv, "/ok/retention", url, sizeof url);
    long long ep = wh_endpoint(key, url, "[\"call.ended\"]", NULL);
    int logged = 0;
    for (int i = 0; i < CALLS; i++)
        logged += s_call(key, i) == 0;
    KVT_EQ_INT(logged, CALLS, "5 calls logged");
    KVT_EQ_INT(wh_wait_count(&rcv, "/ok/retention", CALLS, 15000), CALLS, "5 deliveries made");
    kvt_resp_t r = {0};
    for (int waited = 0; waited < 10000; waited += 200) {   /* all recorded */
        kvt_resp_free(&r);
        r = wh_deliveries(key, ep, 10);
        int done = 0;
        size_t i;
        json_t *d;
        json_array_foreach(se_data(&r), i, d)
            done += json_array_size(json_object_get(d, "attempts")) == 1;
        if (done == CALLS)
            break;
        kvt_sleep_ms(200);
    }
    long long d[CALLS];          /* oldest first */
    for (int i = 0; i < CALLS; i++)
        d[i] = json_integer_value(json_object_get(json_array_get(se_data(&r), CALLS - 1 - i), "id"));
    kvt_resp_free(&r);
    KVT_OK(d[0] > 0 && d[CALLS - 1] > d[0], "the deliveries are known");

    /* d0, d1: finished 40 days ago.  d2: old but pending (not due for a
     * day).  d3: recent, with one more attempt 40 days old.  d4: recent. */
    static const char *const age_delivery =
        "UPDATE webhooks.deliveries SET created_at = now() - interval '40 days', "
        "updated_at = now() - interval '40 days' WHERE id = $1";
    static const char *const age_attempts =
        "UPDATE webhooks.attempts SET attempted_at = now() - interval '40 days' "
        "WHERE delivery_id = $1";
    static const char *const age_event =
        "UPDATE webhooks.events SET received_at = now() - interval '40 days' "
        "WHERE id = (SELECT event_ref FROM webhooks.deliveries WHERE id = $1)";
    int ok = 1;
    for (int i = 0; i < 3; i++)
        ok &= s_wh(age_delivery, d[i]) == 1 && s_wh(age_attempts, d[i]) == 1 &&
              s_wh(age_event, d[i]) == 1;
    ok &= s_wh("UPDATE webhooks.deliveries SET status = 'pending', "
               "next_attempt_at = now() + interval '1 day' WHERE id = $1", d[2]) == 1;
    ok &= s_wh("INSERT INTO webhooks.attempts (tenant_id, delivery_id, attempted_at, status_code, "
               "duration_ms) SELECT tenant_id, id, now() - interval '40 days', 500, 3 "
               "FROM webhooks.deliveries WHERE id = $1", d[3]) == 1;
    KVT_OK(ok, "rows backdated 40 days");
    long long ev0 = s_wh("SELECT event_ref FROM webhooks.deliveries WHERE id = $1", d[0]);
    long long ev2 = s_wh("SELECT event_ref FROM webhooks.deliveries WHERE id = $1", d[2]);

    const char *env[] = { "KAIVOX_RETENTION_PRUNE_S=1", NULL };
    KVT_EQ_INT(wh_restart("webhooks", env, key), 0, "webhooks restarted pruning every second");
    long long left = -1;
    for (int waited = 0; waited < 20000; waited += 250) {
        left = s_wh2("SELECT count(*) FROM webhooks.deliveries WHERE id IN ($1, $2)", d[0], d[1]);
        if (left == 0)
            break;
        kvt_sleep_ms(250);
    }
    KVT_EQ_INT(left, 0, "deliveries that finished 40 days ago are pruned");
    long long att = s_wh2("SELECT count(*) FROM webhooks.attempts WHERE delivery_id IN ($1, $2)",
                          d[0], d[1]);
    KVT_EQ_INT(att, 0, "with their attempts");
    KVT_EQ_INT(s_wh("SELECT count(*) FROM webhooks.events WHERE id = $1", ev0), 0,
               "and their events, which nothing refers to any more");
    KVT_EQ_INT(s_wh("SELECT count(*) FROM webhooks.events WHERE id = $1", ev2), 1,
               "the event of an old pending delivery stays");

    r = wh_deliveries(key, ep, 10);
    KVT_EQ_INT(se_meta(&r, "total"), 3, "the log keeps the 3 others");
    json_t *x = s_find(&r, d[2]);
    KVT_OK(x && strcmp(json_string_value(json_object_get(x, "status")), "pending") == 0,
           "an old delivery that is still pending is never pruned");
    KVT_EQ_INT(json_integer_value(json_object_get(x, "attempts_total")), 0,
               "its 40-day-old attempt is pruned");
    x = s_find(&r, d[3]);
    KVT_EQ_INT(json_integer_value(json_object_get(x, "attempts_total")), 1,
               "a recent delivery loses its old attempt and keeps its recent one");
    x = s_find(&r, d[4]);
    KVT_OK(x && json_array_size(json_object_get(x, "attempts")) == 1,
           "a recent delivery is untouched");
    KVT_EQ_INT(se_meta(&r, "retention_days"), 30, "meta.retention_days says 30");
    const char *oldest = json_string_value(json_object_get(json_object_get(r.json, "meta"),
                                                           "oldest_available"));
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    long long off = oldest && strptime(oldest, "%Y-%m-%dT%H:%M:%SZ", &tm)
                    ? (long long)(time(NULL) - timegm(&tm)) : -1;
    KVT_OK(off > 30 * 86400 - 3600 && off < 30 * 86400 + 3600,
           "meta.oldest_available is 30 days ago (%s)", oldest ? oldest : "null");
    kvt_resp_free(&r);

    KVT_EQ_INT(wh_restart("webhooks", NULL, key), 0, "webhooks back to its usual settings");
    wh_receiver_stop(&rcv);
}

static void test_outbox(void)
{
    wh_shop_t s;
    wh_shop(&s, "wh-retention-outbox");
    int booked = 0;
    for (int i = 0; i < 6; i++)
        booked += wh_book(&s, i) > 0;
    KVT_EQ_INT(booked, 6, "6 appointments booked: 6 outbox events");
    long long m = wh_sql_int("scheduling", "SELECT max(seq) FROM scheduling.outbox", 0, NULL);
    long long young = m - 3;      /* stays young, with old ones after it */
    char ms[24], ys[24];
    snprintf(ms, sizeof ms, "%lld", m);
    snprintf(ys, sizeof ys, "%lld", young);
    const char *p[2] = { ms, ys };
    long long aged = wh_sql_int("scheduling",
        "UPDATE scheduling.outbox SET created_at = now() - interval '40 days' "
        "WHERE seq < $1::bigint - 1 AND seq <> $2::bigint", 2, p);
    KVT_OK(aged >= 3, "outbox events backdated 40 days but one in the middle (%lld)", aged);

    const char *env[] = { "KAIVOX_RETENTION_PRUNE_S=1", NULL };
    KVT_EQ_INT(wh_restart("scheduling", env, NULL), 0, "scheduling restarted pruning every second");
    long long first = -1;
    for (int waited = 0, i = 6; waited < 40000; waited += 300, i++) {
        first = wh_sql_int("scheduling", "SELECT min(seq) FROM scheduling.outbox", 0, NULL);
        if (first >= young)
            break;
        wh_book(&s, i);           /* each publish may take a pruning step */
        kvt_sleep_ms(300);
    }
    KVT_EQ_INT(first, young, "old outbox events are pruned, up to the first young one");
    const char *q[1] = { ys };
    long long tail = wh_sql_int("scheduling", "SELECT count(*) FROM scheduling.outbox "
                                "WHERE seq BETWEEN $1::bigint AND $1::bigint + 3", 1, q);
    KVT_EQ_INT(tail, 4, "the tail stays whole: the young one, the old one after it, the newest");
    long long holes = wh_sql_int("scheduling", "SELECT count(*) - (max(seq) - min(seq) + 1) "
                                 "FROM scheduling.outbox", 0, NULL);
    KVT_EQ_INT(holes, 0, "what remains has no gap");

    /* The webhook intake asked to catch up from before the pruned ones. */
    char back[24];
    snprintf(back, sizeof back, "%lld", young - 10 > 0 ? young - 10 : 0);
    const char *bp[1] = { back };
    long long set = wh_sql_int("webhooks", "UPDATE webhooks.intake_cursors SET last_seq = $1 "
                               "WHERE producer = 'scheduling'", 1, bp);
    KVT_EQ_INT(set, 1, "the intake's cursor is set back before the pruned events");
    long long cursor = -1;
    for (int waited = 0; waited < 20000; waited += 250) {
        cursor = wh_sql_int("webhooks", "SELECT last_seq FROM webhooks.intake_cursors "
                            "WHERE producer = 'scheduling'", 0, NULL);
        if (cursor >= m)
            break;
        kvt_sleep_ms(250);
    }
    KVT_OK(cursor >= m, "the intake skips what was pruned and catches up (cursor %lld)", cursor);

    KVT_EQ_INT(wh_restart("scheduling", NULL, NULL), 0, "scheduling back to its usual settings");
}

int main(void)
{
    char key[64];
    se_tenant("wh-retention", "UTC", 0, key);
    test_delivery_log(key);
    test_outbox();
    return kvt_done();
}
