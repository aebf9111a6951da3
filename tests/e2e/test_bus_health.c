/*
 * test_bus_health.c -- a service's container healthcheck
 * (`kaivox-<service> --healthcheck`, docker-compose.yml): the running
 * process writes KAIVOX_HEALTH_FILE every second, "ok N/M" while its
 * workers are registered with a gateway that answers; --healthcheck exits
 * 0 on a fresh "ok", 1 when the file says otherwise or is stale (the
 * process is gone), 2 without a file to read.
 */
#include "bus_e2e.h"

#include <sys/wait.h>

/* Runs kaivox-crm --healthcheck reading file (NULL: no KAIVOX_HEALTH_FILE);
 * returns its exit status, its output in out. */
static int s_check(const char *file, char *out, size_t size)
{
    char cmd[2048];
    if (file)
        snprintf(cmd, sizeof cmd, "env KAIVOX_HEALTH_FILE='%s' %s/kaivox-crm --healthcheck 2>&1",
                 file, kvt_env("KAIVOX_BIN_DIR", "bin"));
    else
        snprintf(cmd, sizeof cmd, "env -u KAIVOX_HEALTH_FILE %s/kaivox-crm --healthcheck 2>&1",
                 kvt_env("KAIVOX_BIN_DIR", "bin"));
    FILE *p = popen(cmd, "r");
    out[0] = '\0';
    if (!p)
        return -1;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Polls --healthcheck (<= ms) until it exits want. */
static int s_wait(const char *file, int want, int ms, char *out, size_t size)
{
    int rc = -1;
    for (double until = bus_now() + ms / 1000.0; bus_now() < until; kvt_sleep_ms(250))
        if ((rc = s_check(file, out, size)) == want)
            break;
    return rc;
}

int main(void)
{
    char file[1024], env[1200], out[512];
    snprintf(file, sizeof file, "%s/run/crm-3.health", kvt_env("KAIVOX_VAR_DIR", "var"));
    unlink(file);

    KVT_EQ_INT(s_check(NULL, out, sizeof out), 2, "--healthcheck without KAIVOX_HEALTH_FILE is a usage error");

    snprintf(env, sizeof env, "KAIVOX_HEALTH_FILE=%s", file);
    int rc = bus_start(KV_SVC_CRM, 3, env);
    KVT_EQ_INT(rc, 0, "a crm instance with a health file starts");
    rc = s_wait(file, 0, 15000, out, sizeof out);
    KVT_EQ_INT(rc, 0, "its healthcheck passes once its workers are registered");
    KVT_OK(strncmp(out, "ok ", 3) == 0 && strstr(out, "workers registered"), "and says so: %.80s", out);
    rc = bus_stack("stop", KV_SVC_CRM, 3);
    KVT_EQ_INT(rc, 0, "the instance stops");
    rc = s_wait(file, 1, 10000, out, sizeof out);
    KVT_EQ_INT(rc, 1, "then the healthcheck fails: the file is stale (%.80s)", out);

    /* an instance that finds no gateway is not healthy */
    int base = atoi(kvt_env("KVT_PORT_BASE", "18000"));
    unlink(file);
    snprintf(env, sizeof env, "KAIVOX_HEALTH_FILE=%s KAIVOX_BUS_ENDPOINT=tcp://127.0.0.1:%d", file,
             base + 79);
    rc = bus_start(KV_SVC_CRM, 3, env);
    KVT_EQ_INT(rc, 0, "a crm instance pointed at no gateway starts");
    kvt_sleep_ms(3000);
    rc = s_check(file, out, sizeof out);
    KVT_EQ_INT(rc, 1, "its healthcheck fails (%.80s)", out);
    KVT_OK(strstr(out, "no worker registered") != NULL, "saying no worker is registered");
    rc = bus_stack("stop", KV_SVC_CRM, 3);
    KVT_EQ_INT(rc, 0, "it stops");
    unlink(file);
    return kvt_done();
}
