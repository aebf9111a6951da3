/*
 * test_obs_metrics.c -- every process serves GET /metrics in the
 * Prometheus text format: the gateway on its admin listener (no token),
 * each service on KAIVOX_METRICS_ADDR.  Checks that the required series
 * exist, that they move (a request increments its route-template/status
 * counter and its histogram, a bus request its operation/outcome counter,
 * a failing webhook delivery its outcome and the retrying backlog), that
 * labels carry templates and never the ids of a path, and that `promtool
 * check metrics` accepts every process's output.
 */
#include "obs_e2e.h"

static double s_val(const char *text, const char *series)
{
    double v = obs_value(text, series);
    return v < 0 ? 0 : v;
}

int main(void)
{
    int64_t tenant;
    char key[64];
    if (kvt_tenant("obs-metrics", NULL, &tenant, key) != 0) {
        printf("FAIL setup: tenant\n");
        return kvt_done();
    }

    /* ---- the gateway ---- */
    char url[256];
    snprintf(url, sizeof url, "%s/metrics", kvt_env("KVT_ADMIN_URL", ""));
    kvt_resp_t m = kvt_http("GET", url, NULL, 0, NULL);
    char ct[128] = "";
    kvt_header(&m, "Content-Type", ct, sizeof ct);
    KVT_EQ_INT(m.status, 200, "gateway: GET /metrics on the admin listener answers 200 without the admin token");
    KVT_OK(strncmp(ct, "text/plain; version=0.0.4", 25) == 0, "gateway: Content-Type is the text format 0.0.4 (%s)", ct);
    kvt_resp_free(&m);
    m = kvt_http("POST", url, "", 0, NULL);
    KVT_EQ_INT(m.status, 405, "gateway: POST /metrics is 405");
    kvt_resp_free(&m);

    const char *s404 = "kaivox_http_requests_total{listener=\"http\",route=\"/api/v1/services/{id}\","
                       "method=\"GET\",status=\"404\"}";
    const char *s200 = "kaivox_http_requests_total{listener=\"http\",route=\"/api/v1/services\","
                       "method=\"GET\",status=\"200\"}";
    const char *hcount = "kaivox_http_request_duration_seconds_count{listener=\"http\","
                         "route=\"/api/v1/services/{id}\",method=\"GET\"}";
    const char *bus = "kaivox_gateway_bus_requests_total{service=\"scheduling\",op=\"services.get\","
                      "outcome=\"client_error\"}";
    char *before = obs_scrape_gateway();
    KVT_OK(before != NULL, "gateway: scraped");
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/services/987654321", NULL);
    KVT_EQ_INT(r.status, 404, "a service that does not exist is 404");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "the service list is 200");
    kvt_resp_free(&r);
    r = kvt_api(key, "GET", "/api/v1/no/such/987654322", NULL);
    kvt_resp_free(&r);
    char *after = obs_scrape_gateway();
    KVT_OK(after != NULL, "gateway: scraped again");
    if (!before || !after)
        return kvt_done();

    KVT_EQ_INT((long long)(s_val(after, s404) - s_val(before, s404)), 1,
               "a 404 on /api/v1/services/{id} adds 1 to its route-template/method/status counter");
    KVT_OK(s_val(after, s200) - s_val(before, s200) >= 1, "a 200 on /api/v1/services counts under its template");
    KVT_EQ_INT((long long)(s_val(after, hcount) - s_val(before, hcount)), 1,
               "the latency histogram of the route counts the request");
    KVT_OK(obs_value(after, "kaivox_http_request_duration_seconds_bucket{listener=\"http\","
                     "route=\"/api/v1/services/{id}\",method=\"GET\",le=\"+Inf\"}") >= 1,
           "the histogram has a +Inf bucket");
    KVT_EQ_INT((long long)(s_val(after, bus) - s_val(before, bus)), 1,
               "the bus request counts under service, operation and outcome");
    KVT_OK(strstr(after, "route=\"unmatched\"") != NULL, "an unknown path counts as route=\"unmatched\"");
    KVT_OK(strstr(after, "987654321") == NULL && strstr(after, "987654322") == NULL,
           "no id of a requested path appears in any label");
    KVT_OK(strstr(after, "tenant=") == NULL && strstr(after, "tenant_id=") == NULL, "no tenant label");
    KVT_OK(strstr(after, key) == NULL && strstr(after, "kv1_") == NULL, "no API key appears");
    KVT_OK(obs_value(after, "kaivox_bus_workers{service=\"scheduling\",state=\"live\"}") >= 1,
           "live workers of scheduling are reported");
    KVT_OK(obs_value(after, "kaivox_bus_workers{service=\"crm\",state=\"busy\"}") >= 0,
           "busy workers of crm are reported");
    KVT_OK(obs_value(after, "kaivox_bus_queue_depth{service=\"calls\"}") >= 0, "the queue depth of calls is reported");
    KVT_OK(obs_value(after, "kaivox_gateway_bus_request_duration_seconds_count{service=\"webhooks\"}") >= 0,
           "the bus latency histogram of every service exists from the start");
    KVT_OK(obs_value(after, "kaivox_http_connections") >= 0 &&
           obs_value(after, "kaivox_http_connections_refused_total{reason=\"max_per_ip\"}") >= 0 &&
           obs_value(after, "kaivox_api_key_lookups_total{result=\"database\"}") >= 1,
           "the edge's connections, refusals and key lookups are exported");
    KVT_OK(obs_value(after, "kaivox_process_start_time_seconds") > 1.7e9, "the process start time is there");
    KVT_OK(obs_value(after, "kaivox_db_reconnects_total") >= 0, "the gateway's database reconnects are counted");
    KVT_OK(obs_promtool_ok(after, "gateway"), "promtool check metrics accepts the gateway's /metrics");
    free(before);
    free(after);

    /* ---- each service ---- */
    char *sb = obs_scrape_service(0);
    r = kvt_api(key, "GET", "/api/v1/services/987654323", NULL);
    kvt_resp_free(&r);
    char *sa = obs_scrape_service(0);
    const char *op404 = "kaivox_bus_requests_total{op=\"services.get\",status=\"404\"}";
    if (sb && sa)
        KVT_EQ_INT((long long)(s_val(sa, op404) - s_val(sb, op404)), 1,
                   "scheduling: the request counts under its operation and status");
    else
        KVT_OK(0, "scheduling: scraped twice");
    free(sb);
    free(sa);

    /* one request each, so that every service ran statements */
    static const char *const lists[] = { "/api/v1/customers", "/api/v1/calls", "/api/v1/webhooks", NULL };
    for (int i = 0; lists[i]; i++) {
        r = kvt_api(key, "GET", lists[i], NULL);
        KVT_EQ_INT(r.status, 200, "GET %s", lists[i]);
        kvt_resp_free(&r);
    }
    for (int i = 0; obs_services[i]; i++) {
        char *t = obs_scrape_service(i);
        KVT_OK(t != NULL, "%s: GET /metrics answers 200 on its KAIVOX_METRICS_ADDR", obs_services[i]);
        if (!t)
            continue;
        KVT_OK(obs_value(t, "kaivox_workers{state=\"live\"}") >= 1, "%s: live workers", obs_services[i]);
        KVT_OK(obs_value(t, "kaivox_workers{state=\"busy\"}") >= 0, "%s: busy workers", obs_services[i]);
        KVT_OK(obs_value(t, "kaivox_db_reconnects_total") >= 0 &&
               obs_value(t, "kaivox_db_errors_total{class=\"08\"}") >= 0,
               "%s: database reconnects and errors", obs_services[i]);
        KVT_OK(strstr(t, "kaivox_db_query_duration_seconds_bucket{statement=") != NULL,
               "%s: the query latency histogram", obs_services[i]);
        KVT_OK(obs_value(t, "kaivox_bus_deadline_missed_total{op=\"sys.ping\"}") >= 0,
               "%s: deadline misses per operation", obs_services[i]);
        KVT_OK(strstr(t, "kaivox_bus_request_duration_seconds_bucket{op=") != NULL,
               "%s: the bus latency histogram", obs_services[i]);
        KVT_OK(obs_promtool_ok(t, obs_services[i]), "%s: promtool check metrics accepts its /metrics",
               obs_services[i]);
        free(t);
    }
    char surl[256], other[300];
    obs_service_url(1, surl, sizeof surl);
    snprintf(other, sizeof other, "%.*s/other", (int)(strlen(surl) - strlen("/metrics")), surl);
    m = kvt_http("GET", other, NULL, 0, NULL);
    KVT_EQ_INT(m.status, 404, "a service's metrics listener answers 404 off /metrics");
    kvt_resp_free(&m);
    m = kvt_http("DELETE", surl, NULL, 0, NULL);
    KVT_EQ_INT(m.status, 405, "and 405 to another method than GET/HEAD");
    kvt_resp_free(&m);

    /* ---- a failing webhook delivery shows up ---- */
    wh_receiver_t rcv = { 0 };
    wh_receiver_start(&rcv, 1000);
    char hook[300];
    wh_url(&rcv, "/fail/obs", hook, sizeof hook);
    long long ep = wh_endpoint(key, hook, WH_ALL_EVENTS, NULL);
    KVT_OK(ep > 0, "an endpoint on a receiver that answers 500");
    char *wb = obs_scrape_service(3);
    const char *retrying = "kaivox_webhook_deliveries_total{outcome=\"retrying\"}";
    const char *failed = "kaivox_webhook_deliveries_total{outcome=\"failed\"}";
    char path[96];
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld/test", ep);
    r = kvt_api(key, "POST", path, NULL);
    KVT_EQ_INT(r.status, 202, "a test event is queued");
    kvt_resp_free(&r);
    int saw_retrying = 0, saw_backlog = 0, saw_failed = 0;
    for (int i = 0; i < 100 && wb && !(saw_retrying && saw_failed); i++) {
        kvt_sleep_ms(200);
        char *wa = obs_scrape_service(3);
        if (!wa)
            continue;
        saw_retrying |= s_val(wa, retrying) > s_val(wb, retrying);
        saw_backlog |= obs_value(wa, "kaivox_webhook_deliveries_backlog{state=\"retrying\"}") >= 1;
        saw_failed |= s_val(wa, failed) > s_val(wb, failed);
        free(wa);
    }
    KVT_OK(saw_retrying, "a failed attempt with retries left counts as outcome=\"retrying\"");
    KVT_OK(saw_backlog, "while it waits for its retry, the backlog shows it as retrying");
    KVT_OK(saw_failed, "the last failed attempt counts as outcome=\"failed\"");
    char *wa = obs_scrape_service(3);
    if (wa) {
        KVT_OK(obs_value(wa, "kaivox_webhook_delivery_duration_seconds_count") >= 4,
               "the delivery latency histogram counts the attempts");
        KVT_OK(obs_value(wa, "kaivox_webhook_endpoints{state=\"disabled\"}") >= 0 &&
               obs_value(wa, "kaivox_webhook_endpoints{state=\"active\"}") >= 1,
               "endpoints by state (disabled ones included) are counted at scrape time");
        KVT_OK(obs_value(wa, "kaivox_outbox_lag_events{producer=\"scheduling\"}") >= 0 &&
               obs_value(wa, "kaivox_intake_cursor_seq{producer=\"calls\"}") >= 0,
               "the intake's outbox lag and cursor per producer");
        KVT_OK(strstr(wa, hook) == NULL && strstr(wa, "/fail/obs") == NULL,
               "no endpoint URL appears in the webhooks metrics");
        KVT_OK(obs_promtool_ok(wa, "webhooks after deliveries"), "promtool still accepts it");
        free(wa);
    }
    free(wb);
    wh_receiver_stop(&rcv);
    return kvt_done();
}
