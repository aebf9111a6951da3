/*
 * obs_e2e.h -- helpers of the observability end-to-end tests
 * (tests/e2e/test_obs_*.c): scraping /metrics of the gateway (admin
 * listener) and of each service (KAIVOX_METRICS_ADDR as scripts/stack.sh
 * assigns it: KAIVOX_METRICS_BASE_PORT + service index), reading one
 * sample's value out of an exposition, running `promtool check metrics`,
 * and reading the services' log lines.  Header-only, like the others.
 */
#ifndef OBS_E2E_H
#define OBS_E2E_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "webhooks_e2e.h"
#include "kv_trace.h"

static const char *const obs_services[] = { "scheduling", "crm", "calls", "webhooks", NULL };

/* The metrics URL of service index i (0 scheduling .. 3 webhooks). */
static inline void obs_service_url(int i, char *buf, size_t size)
{
    int base = atoi(kvt_env("KAIVOX_METRICS_BASE_PORT", "0"));
    if (base <= 0)
        base = atoi(kvt_env("KVT_PORT_BASE", "18000")) + 40;
    snprintf(buf, size, "http://127.0.0.1:%d/metrics", base + i);
}

/* GET url; the body (caller frees), NULL unless 200. */
static inline char *obs_scrape_url(const char *url)
{
    kvt_resp_t r = kvt_http("GET", url, NULL, 0, NULL);
    char *body = NULL;
    if (r.status == 200 && r.body)
        body = strdup(r.body);
    else
        fprintf(stderr, "scrape %s: %ld\n", url, r.status);
    kvt_resp_free(&r);
    return body;
}

static inline char *obs_scrape_gateway(void)
{
    char url[256];
    snprintf(url, sizeof url, "%s/metrics", kvt_env("KVT_ADMIN_URL", "http://127.0.0.1:18081"));
    return obs_scrape_url(url);
}

static inline char *obs_scrape_service(int i)
{
    char url[256];
    obs_service_url(i, url, sizeof url);
    return obs_scrape_url(url);
}

/* The value of the sample whose name-and-labels text is exactly series
 * (e.g. "kaivox_x_total{a=\"b\"}"), or -1 when the exposition has none. */
static inline double obs_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; ) {
        const char *eol = strchr(p, '\n');
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return atof(p + n + 1);
        p = eol ? eol + 1 : NULL;
    }
    return -1;
}

/* 1 when `promtool check metrics` accepts text. */
static inline int obs_promtool_ok(const char *text, const char *what)
{
    char path[] = "/tmp/kvt-obs-metrics-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len;
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s > %s.out 2>&1", path, path);
    int rc = ok ? system(cmd) : -1;
    if (rc != 0) {
        char out[600];
        snprintf(out, sizeof out, "%s.out", path);
        size_t l = 0;
        char *msg = wh_read(out, &l);
        fprintf(stderr, "promtool check metrics (%s): %.2000s\n", what, msg ? msg : "");
        free(msg);
    }
    char out[600];
    snprintf(out, sizeof out, "%s.out", path);
    unlink(out);
    unlink(path);
    return rc == 0;
}

/* The log file of process stem ("gateway", "webhooks", ...) of the test
 * stack: its whole text (caller frees), NULL when missing. */
static inline char *obs_log(const char *stem)
{
    char path[600];
    snprintf(path, sizeof path, "%s/log/%s.log", kvt_env("KAIVOX_VAR_DIR", "var"), stem);
    size_t len = 0;
    return wh_read(path, &len);
}

/* Number of lines of text that contain both a and b (b may be NULL). */
static inline int obs_lines_with(const char *text, const char *a, const char *b)
{
    int n = 0;
    for (const char *p = text; p && *p; ) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = strndup(p, len);
        if (strstr(line, a) && (!b || strstr(line, b)))
            n++;
        free(line);
        p = eol ? eol + 1 : NULL;
    }
    return n;
}

#endif
