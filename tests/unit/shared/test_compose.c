/*
 * test_compose.c -- the shipped container files stay true to the code
 * (run from the repository root, as tests/run.sh does):
 *
 *   - every KAIVOX_* setting a process reads (a "KAIVOX_..." string in
 *     shared/ or services/) is in docker-compose.yml, set or passed
 *     through, except the few that are not settings of a deployment
 *     (test hooks, the CLI's, the image's own);
 *   - no password has a default: each KAIVOX_<SERVICE>_DB_PASSWORD and
 *     POSTGRES_PASSWORD is required (${VAR:?...}), and so is the admin
 *     token;
 *   - the build context leaves out var/ (a live database, the admin token,
 *     keys), build/, bin/, node_modules/ and .git;
 *   - HAProxy checks every gateway on /readyz and finds them by DNS.
 */
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../lib/kvt.h"

/* Not settings of a deployment, so not in docker-compose.yml. */
static const char *const s_not_passed[] = {
    "KAIVOX_TEST_HOOKS",     /* test hooks: refused outside tests */
    "KAIVOX_TEST_SLOW_OPS",
    "KAIVOX_ADMIN_URL",      /* kaivoxctl's; in a gateway container the default is right */
    "KAIVOX_SQL_DIR",        /* the image's own (docker/Dockerfile sets it) */
    "KAIVOX_CONSOLE_DIR",    /* the image's own (docker/Dockerfile sets it) */
    NULL,
};

static char *s_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

typedef struct {
    char names[256][64];
    int n;
} s_names_t;

static void s_add(s_names_t *set, const char *name)
{
    for (int i = 0; i < set->n; i++)
        if (strcmp(set->names[i], name) == 0)
            return;
    if (set->n < 256)
        snprintf(set->names[set->n++], sizeof set->names[0], "%s", name);
}

/* Every "KAIVOX_[A-Z0-9_]+" string literal of the .c/.h files under dir. */
static void s_scan(const char *dir, s_names_t *set)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    regex_t re;
    regcomp(&re, "\"(KAIVOX_[A-Z0-9_]+)\"", REG_EXTENDED);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            s_scan(path, set);
            continue;
        }
        size_t len = strlen(e->d_name);
        if (len < 3 || (strcmp(e->d_name + len - 2, ".c") != 0 && strcmp(e->d_name + len - 2, ".h") != 0))
            continue;
        char *text = s_read(path);
        for (const char *p = text; p;) {
            regmatch_t m[2];
            if (regexec(&re, p, 2, m, 0) != 0)
                break;
            char name[64];
            int n = (int)(m[1].rm_eo - m[1].rm_so);
            snprintf(name, sizeof name, "%.*s", n < 63 ? n : 63, p + m[1].rm_so);
            s_add(set, name);
            p += m[0].rm_eo;
        }
        free(text);
    }
    regfree(&re);
    closedir(d);
}

static int s_skip(const char *name)
{
    for (int i = 0; s_not_passed[i]; i++)
        if (strcmp(s_not_passed[i], name) == 0)
            return 1;
    return 0;
}

int main(void)
{
    char *compose = s_read("docker-compose.yml");
    KVT_OK(compose != NULL, "docker-compose.yml is readable (run from the repository root)");
    if (!compose)
        return kvt_done();

    s_names_t set = { .n = 0 };
    s_scan("shared", &set);
    s_scan("services", &set);
    KVT_OK(set.n > 20, "the settings the processes read are found (%d)", set.n);
    for (int i = 0; i < set.n; i++) {
        if (s_skip(set.names[i]))
            continue;
        char key[80];
        snprintf(key, sizeof key, "%s:", set.names[i]);
        KVT_OK(strstr(compose, key) != NULL, "docker-compose.yml sets or passes %s", set.names[i]);
    }

    static const char *const secrets[] = {
        "POSTGRES_PASSWORD", "KAIVOX_ADMIN_TOKEN", "KAIVOX_GATEWAY_DB_PASSWORD",
        "KAIVOX_SCHEDULING_DB_PASSWORD", "KAIVOX_CRM_DB_PASSWORD", "KAIVOX_CALLS_DB_PASSWORD",
        "KAIVOX_WEBHOOKS_DB_PASSWORD", NULL,
    };
    for (int i = 0; secrets[i]; i++) {
        char required[96], with_default[96];
        snprintf(required, sizeof required, "${%s:?", secrets[i]);
        snprintf(with_default, sizeof with_default, "${%s:-", secrets[i]);
        KVT_OK(strstr(compose, required) && !strstr(compose, with_default),
               "%s is required, with no default", secrets[i]);
    }
    KVT_OK(strstr(compose, "\n    build:") &&
           strstr(strstr(compose, "\n    build:") + 10, "\n    build:") == NULL,
           "one service builds the image (built once)");
    KVT_OK(strstr(compose, "KAIVOX_HTTP_PUBLISH:-8080") && strstr(compose, "KAIVOX_ADMIN_PUBLISH:-127.0.0.1:8081"),
           "the published ports are KAIVOX_HTTP_PUBLISH (8080) and KAIVOX_ADMIN_PUBLISH (127.0.0.1:8081)");
    KVT_OK(strstr(compose, "stop_grace_period"), "containers get longer than the drain to stop");

    /* one poller per host: every gateway container mounts one volume and
     * keeps KAIVOX_GATEWAY_POLL_LOCK on it, the image owning its mount point */
    const char *gw = strstr(compose, "\n  gateway:\n");
    const char *gw_end = gw ? strstr(gw + 1, "\n  scheduling:\n") : NULL;
    char *gw_block = NULL;
    if (gw && gw_end) {
        gw_block = strndup(gw, (size_t)(gw_end - gw));
    }
    KVT_OK(gw_block && strstr(gw_block, "- gateway-poll:/opt/kaivox/poll\n") &&
           strstr(gw_block, "KAIVOX_GATEWAY_POLL_LOCK: ${KAIVOX_GATEWAY_POLL_LOCK:-/opt/kaivox/poll/"),
           "every gateway keeps its poll lock on the volume gateway-poll");
    const char *vols = strstr(compose, "\nvolumes:\n");
    KVT_OK(vols && strstr(vols, "\n  gateway-poll:"), "the volume gateway-poll is declared");
    char *dockerfile = s_read("docker/Dockerfile");
    KVT_OK(dockerfile && strstr(dockerfile, "install -d -o kaivox -g kaivox -m 0755 /opt/kaivox/poll"),
           "the image makes /opt/kaivox/poll, owned by its user (a new volume copies that)");
    free(dockerfile);
    free(gw_block);

    char *ignore = s_read(".dockerignore");
    static const char *const out[] = { "var", "build", "bin", "node_modules", ".git", NULL };
    for (int i = 0; out[i]; i++) {
        char line[64];
        snprintf(line, sizeof line, "\n%s\n", out[i]);
        char *padded = NULL;
        if (ignore) {
            padded = malloc(strlen(ignore) + 3);
            sprintf(padded, "\n%s\n", ignore);
        }
        KVT_OK(padded && strstr(padded, line), ".dockerignore leaves out %s", out[i]);
        free(padded);
    }

    char *lb = s_read("deploy/haproxy/haproxy.cfg");
    KVT_OK(lb && strstr(lb, "option httpchk GET /readyz"), "HAProxy checks the gateways on /readyz");
    KVT_OK(lb && strstr(lb, "server-template") && strstr(lb, "gateway:8080") && strstr(lb, "resolvers"),
           "and finds every gateway by DNS");
    /* HAProxy's own answers are the API's envelope: every errorfile it
     * names is mounted (tests/shell/test_haproxy.sh runs it for real) */
    static const int lb_codes[] = { 502, 503, 504 };
    for (size_t i = 0; i < sizeof lb_codes / sizeof lb_codes[0]; i++) {
        char want[96];
        snprintf(want, sizeof want, "errorfile %d /usr/local/etc/haproxy/errors/%d.http", lb_codes[i],
                 lb_codes[i]);
        KVT_OK(lb && strstr(lb, want), "HAProxy answers %d with its JSON error file", lb_codes[i]);
    }
    KVT_OK(compose && strstr(compose, "./deploy/haproxy/errors:/usr/local/etc/haproxy/errors:ro"),
           "the compose file mounts deploy/haproxy/errors where HAProxy reads them");
    free(lb);
    free(ignore);
    free(compose);
    return kvt_done();
}
