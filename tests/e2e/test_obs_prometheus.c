/*
 * test_obs_prometheus.c -- a real Prometheus (Debian's package) scrapes the
 * running test stack: a temporary config under the stack's var dir with
 * the gateway's admin listener and the four services' metrics listeners as
 * targets, a 1 s scrape interval, the shipped alerting rules
 * (deploy/prometheus/kaivox.rules.yml) loaded, its TSDB under var/, its
 * port KVT_PORT_BASE+38.  Once it scraped, a few series are queried
 * through its HTTP API (/api/v1/query): every target up, a request's
 * counter under its route template, the workers per service, the
 * webhooks backlog; and /api/v1/rules shows the rules loaded and healthy.
 */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "obs_e2e.h"

static pid_t s_pid;
static char s_url[64];

static void s_stop(void)
{
    if (s_pid > 0) {
        kill(s_pid, SIGTERM);
        for (int i = 0; i < 100; i++) {
            if (waitpid(s_pid, NULL, WNOHANG) == s_pid) {
                s_pid = 0;
                return;
            }
            kvt_sleep_ms(100);
        }
        kill(s_pid, SIGKILL);
        waitpid(s_pid, NULL, 0);
        s_pid = 0;
    }
}

/* GET <prometheus>/api/v1/query?query=q (q already URL-encoded); the
 * "result" array (caller decrefs), NULL on error. */
static json_t *s_query(const char *q)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/api/v1/query?query=%s", s_url, q);
    kvt_resp_t r = kvt_http("GET", url, NULL, 0, NULL);
    json_t *res = NULL;
    if (r.status == 200 && r.json &&
        strcmp(json_string_value(json_object_get(r.json, "status")) ?: "", "success") == 0)
        res = json_incref(json_object_get(json_object_get(r.json, "data"), "result"));
    kvt_resp_free(&r);
    return res;
}

/* The value of a result element. */
static double s_num(json_t *el)
{
    const char *v = json_string_value(json_array_get(json_object_get(el, "value"), 1));
    return v ? atof(v) : -1;
}

int main(void)
{
    const char *root = kvt_env("KVT_ROOT", ".");
    const char *var = kvt_env("KAIVOX_VAR_DIR", "var");
    int base = atoi(kvt_env("KVT_PORT_BASE", "18000"));
    int mbase = atoi(kvt_env("KAIVOX_METRICS_BASE_PORT", "0"));
    if (mbase <= 0)
        mbase = base + 40;
    int admin = atoi(kvt_env("KAIVOX_ADMIN_PORT", "0"));
    if (admin <= 0)
        admin = base + 81;
    snprintf(s_url, sizeof s_url, "http://127.0.0.1:%d", base + 38);

    char dir[600], conf[700], data[700], logf[700], cmd[2400];
    snprintf(dir, sizeof dir, "%s/prometheus", var);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/data'", dir, dir);
    if (system(cmd) != 0) {
        printf("FAIL setup: %s\n", dir);
        return kvt_done();
    }
    snprintf(conf, sizeof conf, "%s/prometheus.yml", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(logf, sizeof logf, "%s/prometheus.log", dir);
    FILE *f = fopen(conf, "w");
    if (!f) {
        printf("FAIL setup: cannot write %s\n", conf);
        return kvt_done();
    }
    fprintf(f,
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "rule_files:\n  - %s/deploy/prometheus/kaivox.rules.yml\n"
            "scrape_configs:\n  - job_name: kaivox\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n        labels: {service: gateway}\n",
            root, admin);
    for (int i = 0; obs_services[i]; i++)
        fprintf(f, "      - targets: ['127.0.0.1:%d']\n        labels: {service: %s}\n", mbase + i,
                obs_services[i]);
    fclose(f);

    s_pid = fork();
    if (s_pid == 0) {
        FILE *lf = freopen(logf, "w", stderr);
        (void)lf;
        dup2(STDERR_FILENO, STDOUT_FILENO);
        char cfg_arg[800], data_arg[800], listen_arg[80];
        snprintf(cfg_arg, sizeof cfg_arg, "--config.file=%s", conf);
        snprintf(data_arg, sizeof data_arg, "--storage.tsdb.path=%s", data);
        snprintf(listen_arg, sizeof listen_arg, "--web.listen-address=127.0.0.1:%d", base + 38);
        execlp("prometheus", "prometheus", cfg_arg, data_arg, listen_arg,
               "--storage.tsdb.retention.time=1h", "--log.level=warn", (char *)NULL);
        _exit(127);
    }
    atexit(s_stop);
    KVT_OK(s_pid > 0, "prometheus started (pid %d)", (int)s_pid);

    int ready = 0;
    char rurl[128];
    snprintf(rurl, sizeof rurl, "%s/-/ready", s_url);
    for (int i = 0; i < 600 && !ready; i++) {     /* 60 s: a loaded machine */
        kvt_resp_t r = kvt_http("GET", rurl, NULL, 0, NULL);
        ready = r.status == 200;
        kvt_resp_free(&r);
        if (!ready) {
            if (waitpid(s_pid, NULL, WNOHANG) == s_pid) {
                s_pid = 0;
                break;
            }
            kvt_sleep_ms(100);
        }
    }
    KVT_OK(ready, "prometheus is ready (its log: %s)", logf);
    if (!ready)
        return kvt_done();

    /* traffic to see */
    int64_t tenant;
    char key[64];
    KVT_OK(kvt_tenant("obs-prom", NULL, &tenant, key) == 0, "a tenant");
    for (int i = 0; i < 3; i++) {
        kvt_resp_t r = kvt_api(key, "GET", "/api/v1/services", NULL);
        kvt_resp_free(&r);
    }

    /* every target up, after at least one scrape of each */
    int up = 0;
    json_t *res = NULL;
    for (int i = 0; i < 60 && up < 5; i++) {
        json_decref(res);
        res = s_query("up%7Bjob%3D%22kaivox%22%7D%20%3D%3D%201");
        up = res ? (int)json_array_size(res) : 0;
        if (up < 5)
            kvt_sleep_ms(1000);
    }
    KVT_EQ_INT(up, 5, "all five targets (gateway and four services) are up");
    json_decref(res);

    /* a request counter under its route template, as Prometheus stored it */
    double n = -1;
    for (int i = 0; i < 30 && n < 3; i++) {
        res = s_query("sum(kaivox_http_requests_total%7Broute%3D%22%2Fapi%2Fv1%2Fservices%22%2C"
                      "status%3D%22200%22%7D)");
        n = res && json_array_size(res) == 1 ? s_num(json_array_get(res, 0)) : -1;
        json_decref(res);
        if (n < 3)
            kvt_sleep_ms(1000);
    }
    KVT_OK(n >= 3, "the requests counter of /api/v1/services (200) is queryable (%g)", n);

    res = s_query("kaivox_bus_workers%7Bstate%3D%22live%22%7D");
    KVT_EQ_INT(res ? (long long)json_array_size(res) : -1, 4,
               "live workers are stored for each of the four services");
    int positive = 0;
    for (size_t i = 0; res && i < json_array_size(res); i++)
        positive += s_num(json_array_get(res, i)) >= 1;
    KVT_EQ_INT(positive, 4, "each has at least one live worker");
    json_decref(res);

    res = s_query("kaivox_webhook_deliveries_backlog");
    KVT_EQ_INT(res ? (long long)json_array_size(res) : -1, 2,
               "the webhooks backlog (pending, retrying) is stored");
    json_decref(res);

    /* a rate needs two scrapes of a series inside its window */
    size_t rated = 0;
    for (int i = 0; i < 30 && rated == 0; i++) {
        res = s_query("sum%20by%20(service)%20(rate(kaivox_db_query_duration_seconds_count%5B1m%5D))");
        rated = res ? json_array_size(res) : 0;
        json_decref(res);
        if (rated == 0)
            kvt_sleep_ms(1000);
    }
    KVT_OK(rated >= 1, "a rate over the query latency histogram evaluates");

    /* the shipped rules, loaded and evaluated without error */
    char url[256];
    snprintf(url, sizeof url, "%s/api/v1/rules", s_url);
    int rules = 0, healthy = 0;
    for (int t = 0; t < 10 && (rules == 0 || healthy < rules); t++) {
        kvt_resp_t r = kvt_http("GET", url, NULL, 0, NULL);
        json_t *groups = json_object_get(json_object_get(r.json, "data"), "groups");
        rules = healthy = 0;
        for (size_t g = 0; g < json_array_size(groups); g++) {
            json_t *rl = json_object_get(json_array_get(groups, g), "rules");
            for (size_t k = 0; k < json_array_size(rl); k++) {
                rules++;
                const char *h = json_string_value(json_object_get(json_array_get(rl, k), "health"));
                healthy += h && strcmp(h, "ok") == 0;
            }
        }
        kvt_resp_free(&r);
        if (rules == 0 || healthy < rules)
            kvt_sleep_ms(1000);
    }
    KVT_OK(rules >= 9, "the shipped alerting rules are loaded (%d)", rules);
    KVT_EQ_INT(healthy, rules, "and every rule evaluates with health ok");

    res = s_query("ALERTS%7Balertname%3D%22KaivoxProcessDown%22%7D");
    KVT_EQ_INT(res ? (long long)json_array_size(res) : -1, 0, "no process-down alert while all run");
    json_decref(res);
    s_stop();
    return kvt_done();
}
