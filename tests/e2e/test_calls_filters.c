/*
 * test_calls_filters.c -- GET /api/v1/calls: every filter alone and
 * combined, newest-first order, pagination, and from_date / to_date as
 * inclusive dates in the TENANT's time zone, at the midnight edges
 * (America/New_York, where local midnight is 04:00 UTC in March after the
 * DST change).  Timestamps are sent in UTC on purpose: a filter on UTC dates
 * would put the 23:59:59-local call on the wrong day.
 */
#include "calls_e2e.h"

static char key[64], other_key[64];

/* The calls of the tenant, oldest first:
 *   d  2026-03-09 23:59:59 local (03:59:59Z on the 10th)  positive  60 s
 *   c  2026-03-10 00:00:00 local (04:00:00Z)              negative  14 s (missed)
 *   a  2026-03-10 23:59:59 local (03:59:59Z on the 11th)  negative  15 s
 *   b  2026-03-11 00:00:00 local (04:00:00Z on the 11th)  neutral    5 s (missed)
 *   e  2026-03-20 12:00:00 local                          (none)   100 s */
static long long d, c, a, b, e;

/* Lists with query and checks both the ids (in order) and the total. */
static void s_expect(const char *query, const char *want_ids, long long want_total,
                     const char *name)
{
    char ids[1024];
    long long total = -1;
    long st = calls_list_ids(key, query, ids, sizeof ids, &total);
    KVT_EQ_INT(st, 200, "%s: 200", name);
    KVT_EQ_STR(ids, want_ids, "%s: the right calls, newest first", name);
    KVT_EQ_INT(total, want_total, "%s: meta.total", name);
}

static void s_expect_422(const char *query, const char *field, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/calls?%s", query);
    kvt_resp_t r = kvt_api(key, "GET", path, NULL);
    KVT_EQ_INT(r.status, 422, "%s: 422", name);
    KVT_OK(calls_has_err(&r, field), "%s: reported under errors.%s", name, field);
    kvt_resp_free(&r);
}

static int s_seed(void)
{
    d = calls_log(key, "{\"caller_phone\":\"+15550108001\",\"started_at\":\"2026-03-10T03:59:59Z\",\"duration_seconds\":60,\"sentiment\":\"positive\"}");
    c = calls_log(key, "{\"caller_phone\":\"+15550108002\",\"started_at\":\"2026-03-10T04:00:00Z\",\"duration_seconds\":14,\"sentiment\":\"negative\"}");
    a = calls_log(key, "{\"caller_phone\":\"+15550108003\",\"started_at\":\"2026-03-11T03:59:59Z\",\"duration_seconds\":15,\"sentiment\":\"negative\"}");
    b = calls_log(key, "{\"caller_phone\":\"+15550108004\",\"started_at\":\"2026-03-11T00:00:00-04:00\",\"duration_seconds\":5,\"sentiment\":\"neutral\"}");
    e = calls_log(key, "{\"caller_phone\":\"+15550108005\",\"started_at\":\"2026-03-20T12:00:00-04:00\",\"duration_seconds\":100}");
    /* Noise in another tenant that no filter of this tenant may show. */
    calls_log(other_key, "{\"caller_phone\":\"+15550108006\",\"started_at\":\"2026-03-10T12:00:00Z\",\"duration_seconds\":5,\"sentiment\":\"negative\"}");
    return d > 0 && c > 0 && a > 0 && b > 0 && e > 0 ? 0 : -1;
}

int main(void)
{
    if (kvt_tenant("calls-filters", "America/New_York", NULL, key) != 0 ||
        kvt_tenant("calls-filters-other", "UTC", NULL, other_key) != 0) {
        KVT_OK(0, "test tenants can be created");
        return kvt_done();
    }
    KVT_OK(s_seed() == 0, "the five calls of the scenario are logged");

    char all[128], w[128];
    snprintf(all, sizeof all, "%lld,%lld,%lld,%lld,%lld", e, b, a, c, d);
    s_expect("", all, 5, "no filter lists every call of the tenant");
    s_expect("missed=&sentiment=&from_date=&to_date=", all, 5,
             "empty filter values mean no filter (as on every list)");

    /* sentiment */
    snprintf(w, sizeof w, "%lld,%lld", a, c);
    s_expect("sentiment=negative", w, 2, "sentiment=negative");
    snprintf(w, sizeof w, "%lld", d);
    s_expect("sentiment=positive", w, 1, "sentiment=positive");
    snprintf(w, sizeof w, "%lld", b);
    s_expect("sentiment=neutral", w, 1, "sentiment=neutral");

    /* missed */
    snprintf(w, sizeof w, "%lld,%lld", b, c);
    s_expect("missed=true", w, 2, "missed=true lists only calls under 15 s");
    snprintf(w, sizeof w, "%lld,%lld,%lld", e, a, d);
    s_expect("missed=false", w, 3, "missed=false lists only answered calls (15 s and more)");

    /* dates in the tenant's zone, midnight edges */
    snprintf(w, sizeof w, "%lld,%lld", a, c);
    s_expect("from_date=2026-03-10&to_date=2026-03-10", w, 2,
             "one local day holds its 00:00:00 and 23:59:59 calls and nothing else");
    snprintf(w, sizeof w, "%lld", b);
    s_expect("from_date=2026-03-11&to_date=2026-03-11", w, 1,
             "the next local day starts exactly at local midnight");
    snprintf(w, sizeof w, "%lld", d);
    s_expect("from_date=2026-03-09&to_date=2026-03-09", w, 1,
             "the previous local day ends at 23:59:59 local");
    snprintf(w, sizeof w, "%lld,%lld", e, b);
    s_expect("from_date=2026-03-11", w, 2, "from_date alone is an open-ended lower bound");
    snprintf(w, sizeof w, "%lld,%lld,%lld", a, c, d);
    s_expect("to_date=2026-03-10", w, 3, "to_date alone includes the whole last day");
    s_expect("from_date=2026-03-12&to_date=2026-03-19", "", 0, "a range without calls is empty");

    /* combinations */
    snprintf(w, sizeof w, "%lld", a);
    s_expect("sentiment=negative&missed=false", w, 1, "sentiment and missed combine");
    snprintf(w, sizeof w, "%lld", c);
    s_expect("missed=true&from_date=2026-03-10&to_date=2026-03-10", w, 1,
             "missed and a date range combine");
    snprintf(w, sizeof w, "%lld", b);
    s_expect("sentiment=neutral&missed=true&from_date=2026-03-11&to_date=2026-03-11", w, 1,
             "all filters combine");
    s_expect("sentiment=positive&missed=true", "", 0, "a combination nothing matches is empty");

    /* pagination */
    snprintf(w, sizeof w, "%lld,%lld", a, c);
    s_expect("per_page=2&page=2", w, 5, "page 2 of 2 per page continues newest first");
    snprintf(w, sizeof w, "%lld", d);
    s_expect("per_page=2&page=3", w, 5, "the last page holds the rest");
    s_expect("per_page=2&page=4", "", 5, "a page past the end is empty with the right total");
    {
        kvt_resp_t r = kvt_api(key, "GET", "/api/v1/calls?per_page=2&page=2", NULL);
        KVT_EQ_INT(calls_meta(&r, "page"), 2, "meta.page echoes the page");
        KVT_EQ_INT(calls_meta(&r, "per_page"), 2, "meta.per_page echoes per_page");
        kvt_resp_free(&r);
    }

    /* refused filters */
    s_expect_422("missed=yes", "missed", "missed=yes");
    s_expect_422("sentiment=happy", "sentiment", "an unknown sentiment filter");
    s_expect_422("from_date=2026-02-30", "from_date", "an impossible from_date");
    s_expect_422("to_date=03/10/2026", "to_date", "a to_date not in Y-m-d");
    s_expect_422("from_date=2026-03-11&to_date=2026-03-10", "to_date", "to_date before from_date");
    s_expect_422("per_page=101", "per_page", "per_page above 100");
    s_expect_422("page=0", "page", "page 0");
    s_expect_422("page=abc", "page", "a page that is not a number");

    return kvt_done();
}
