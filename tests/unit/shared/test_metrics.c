/*
 * test_metrics.c -- unit tests of shared/kv_metrics.c: the Prometheus text
 * exposition of counters, gauges and histograms (HELP/TYPE lines, label
 * escaping, cumulative buckets, _sum in seconds, _count = +Inf bucket),
 * the histogram's bucket arithmetic at and around its bounds, invalid
 * names and labels refused, the series limit, exact counts under
 * concurrent updates from several threads, and `promtool check metrics`
 * accepting the output.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/kvt.h"
#include "kv_log.h"
#include "kv_metrics.h"

static kv_metric_t *s_hits;

static void *s_worker(void *arg)
{
    const char *route = arg;
    kv_series_t *cached = kv_metric_series(s_hits, KV_LABELS(route, "200"));
    for (int i = 0; i < 50000; i++) {
        if (i % 2)
            kv_metric_inc(s_hits, KV_LABELS(route, "200"));
        else
            kv_series_add(cached, 1);
    }
    return NULL;
}

static int s_refreshed;
static void s_on_scrape(void *arg)
{
    kv_metric_set(arg, NULL, 42);
    s_refreshed++;
}

int main(void)
{
    setenv("KAIVOX_LOG_LEVEL", "error", 1);
    kv_log_init("test");

    kv_metric_t *req = kv_counter_new("kaivox_t_requests_total", "Requests by route.\nSecond line \\ here.",
                                      "route,method,status");
    KVT_OK(req != NULL, "a counter with three labels registers");
    KVT_OK(kv_counter_new("kaivox_t_requests_total", "again", "route,method,status") == req,
           "registering the same name again returns the same family");
    KVT_OK(kv_gauge_new("kaivox_t_requests_total", "x", NULL) == NULL,
           "the same name with another kind is refused");
    KVT_OK(kv_counter_new("9bad", "x", NULL) == NULL, "a name starting with a digit is refused");
    KVT_OK(kv_counter_new("kaivox_t_bad_labels", "x", "a,,b") == NULL, "an empty label name is refused");
    KVT_OK(kv_counter_new("kaivox_t_bad_labels2", "x", "__x") == NULL, "a reserved label name is refused");
    KVT_OK(kv_counter_new("kaivox_t_bad_labels3", "x", "a,b,c,d,e") == NULL, "five labels are too many");
    double bad[] = { 0.5, 0.1 };
    KVT_OK(kv_histogram_new("kaivox_t_bad_hist", "x", NULL, bad, 2) == NULL,
           "histogram bounds that do not increase are refused");
    KVT_OK(kv_histogram_new("kaivox_t_bad_hist2", "x", "le", kv_metric_latency_buckets,
                            kv_metric_latency_nbuckets) == NULL, "a histogram label named le is refused");

    kv_metric_inc(req, KV_LABELS("/api/v1/x/{id}", "GET", "200"));
    kv_metric_inc(req, KV_LABELS("/api/v1/x/{id}", "GET", "200"));
    kv_metric_inc(req, KV_LABELS("a\"b\\c\nd", "POST", "500"));
    kv_series_t *s = kv_metric_series(req, KV_LABELS("/api/v1/x/{id}", "GET", "200"));
    KVT_EQ_INT(kv_series_value(s), 2, "two increments of one series count 2");
    KVT_OK(kv_metric_series(req, KV_LABELS("/api/v1/x/{id}", "GET", "200")) == s,
           "the same label values find the same series");

    kv_metric_t *g = kv_gauge_new("kaivox_t_depth", "Queue depth.", "service");
    kv_metric_set(g, KV_LABELS("crm"), 7);
    kv_metric_set(g, KV_LABELS("crm"), 3);
    kv_series_add(kv_metric_series(g, KV_LABELS("calls")), -2);
    KVT_EQ_INT(kv_series_value(kv_metric_series(g, KV_LABELS("crm"))), 3, "a gauge keeps the last set");

    KVT_OK(kv_counter_new("kaivox_t_nolabels_total", "No labels.", NULL) != NULL, "a family without labels registers");
    kv_metric_t *empty = kv_counter_new("kaivox_t_unused_total", "Never used.", "x");
    (void)empty;

    double bounds[] = { 0.001, 0.01, 0.1 };
    kv_metric_t *h = kv_histogram_new("kaivox_t_latency_seconds", "Latency.", "op", bounds, 3);
    KVT_OK(h != NULL, "a histogram registers");
    kv_metric_observe_us(h, KV_LABELS("a"), 1000);      /* == 1 ms: first bucket (le is inclusive) */
    kv_metric_observe_us(h, KV_LABELS("a"), 1001);      /* just above: second */
    kv_metric_observe_us(h, KV_LABELS("a"), 0);         /* first */
    kv_metric_observe_us(h, KV_LABELS("a"), -5);        /* negative counts as 0: first */
    kv_metric_observe_us(h, KV_LABELS("a"), 100000);    /* == 100 ms: third */
    kv_metric_observe_us(h, KV_LABELS("a"), 2500000);   /* 2.5 s: +Inf only */

    kv_metric_t *fresh = kv_gauge_new("kaivox_t_fresh", "Refreshed at scrape time.", NULL);
    kv_metrics_on_scrape(s_on_scrape, fresh);

    size_t len = 0;
    char *text = kv_metrics_render(&len);
    KVT_OK(text && strlen(text) == len, "render returns the text and its length");
    KVT_OK(s_refreshed == 1, "the scrape callback ran once per render");
    KVT_OK(strstr(text, "# HELP kaivox_t_requests_total Requests by route.\\nSecond line \\\\ here.\n") != NULL,
           "HELP escapes newline and backslash");
    KVT_OK(strstr(text, "# TYPE kaivox_t_requests_total counter\n") != NULL, "TYPE counter");
    KVT_OK(strstr(text, "kaivox_t_requests_total{route=\"/api/v1/x/{id}\",method=\"GET\",status=\"200\"} 2\n") != NULL,
           "a counter sample with its labels in order");
    KVT_OK(strstr(text, "route=\"a\\\"b\\\\c\\nd\"") != NULL, "label values escape quote, backslash, newline");
    KVT_OK(strstr(text, "kaivox_t_depth{service=\"crm\"} 3\n") != NULL &&
           strstr(text, "kaivox_t_depth{service=\"calls\"} -2\n") != NULL, "gauges, negative included");
    KVT_OK(strstr(text, "kaivox_t_nolabels_total 0\n") != NULL, "a family without labels shows 0 from the start");
    KVT_OK(strstr(text, "kaivox_t_unused_total") == NULL, "a labelled family without series is left out");
    KVT_OK(strstr(text, "kaivox_t_fresh 42\n") != NULL, "the scrape callback's value is in this scrape");
    KVT_OK(strstr(text, "# TYPE kaivox_t_latency_seconds histogram\n") != NULL, "TYPE histogram");
    KVT_OK(strstr(text, "kaivox_t_latency_seconds_bucket{op=\"a\",le=\"0.001\"} 3\n") != NULL,
           "le=0.001 counts 0, -5 and exactly 1000 us (bounds are inclusive)");
    KVT_OK(strstr(text, "kaivox_t_latency_seconds_bucket{op=\"a\",le=\"0.01\"} 4\n") != NULL,
           "le=0.01 is cumulative (1001 us added)");
    KVT_OK(strstr(text, "kaivox_t_latency_seconds_bucket{op=\"a\",le=\"0.1\"} 5\n") != NULL,
           "le=0.1 counts exactly 100 ms");
    KVT_OK(strstr(text, "kaivox_t_latency_seconds_bucket{op=\"a\",le=\"+Inf\"} 6\n") != NULL,
           "+Inf counts everything");
    KVT_OK(strstr(text, "kaivox_t_latency_seconds_count{op=\"a\"} 6\n") != NULL, "_count equals the +Inf bucket");
    KVT_OK(strstr(text, "kaivox_t_latency_seconds_sum{op=\"a\"} 2.602001\n") != NULL,
           "_sum is the total in seconds (0+0+1000+1001+100000+2500000 us)");
    KVT_OK(len > 0 && text[len - 1] == '\n', "the exposition ends with a newline");

    /* promtool, the reference checker */
    char path[] = "/tmp/kvt-metrics-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        ssize_t w = write(fd, text, len);
        (void)w;
        close(fd);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s > /dev/null 2>&1", path);
    int rc = system(cmd);
    KVT_OK(rc == 0, "promtool check metrics accepts the exposition (Debian's prometheus package)");
    unlink(path);
    free(text);

    /* the series limit */
    kv_metric_t *wide = kv_counter_new("kaivox_t_wide_total", "Many series.", "k");
    char v[16];
    int made = 0;
    for (int i = 0; i < KV_METRIC_SERIES_MAX + 10; i++) {
        snprintf(v, sizeof v, "%d", i);
        made += kv_metric_series(wide, KV_LABELS(v)) != NULL;
    }
    KVT_EQ_INT(made, KV_METRIC_SERIES_MAX, "a family takes at most KV_METRIC_SERIES_MAX series");
    snprintf(v, sizeof v, "%d", 5);
    KVT_OK(kv_metric_series(wide, KV_LABELS(v)) != NULL, "existing series are still found when full");

    /* concurrent updates: exact */
    s_hits = kv_counter_new("kaivox_t_hits_total", "Hits.", "route,status");
    pthread_t th[4];
    const char *routes[4] = { "r1", "r2", "r1", "r2" };
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, s_worker, (void *)routes[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    KVT_EQ_INT(kv_series_value(kv_metric_series(s_hits, KV_LABELS("r1", "200"))), 100000,
               "4 threads x 50000 increments over 2 series: each exactly 100000");
    KVT_EQ_INT(kv_series_value(kv_metric_series(s_hits, KV_LABELS("r2", "200"))), 100000,
               "(the other series)");

    char esc[8];
    KVT_EQ_INT((long long)kv_metrics_escape_value("\"\"\"\"\"", esc, sizeof esc), 6,
               "escaping truncates to the buffer, never in the middle of an escape");

    char host[64];
    int port = 0;
    KVT_OK(kv_metrics_parse_addr("127.0.0.1:9464", host, sizeof host, &port) == 0 &&
           strcmp(host, "127.0.0.1") == 0 && port == 9464, "host:port parses");
    KVT_OK(kv_metrics_parse_addr("[::1]:9464", host, sizeof host, &port) == 0 &&
           strcmp(host, "::1") == 0, "[v6]:port parses");
    KVT_OK(kv_metrics_parse_addr("127.0.0.1", host, sizeof host, &port) != 0 &&
           kv_metrics_parse_addr("127.0.0.1:0", host, sizeof host, &port) != 0 &&
           kv_metrics_parse_addr("127.0.0.1:99999", host, sizeof host, &port) != 0 &&
           kv_metrics_parse_addr("::1:80", host, sizeof host, &port) != 0 &&
           kv_metrics_parse_addr(":80", host, sizeof host, &port) != 0,
           "no port, port 0, too large, unbracketed v6, no host: refused");

    kv_metrics_reset();
    text = kv_metrics_render(&len);
    KVT_EQ_INT((long long)len, 0, "after reset nothing is exposed");
    free(text);
    return kvt_done();
}
