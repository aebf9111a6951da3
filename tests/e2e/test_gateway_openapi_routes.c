/*
 * test_gateway_openapi_routes.c -- docs/openapi.yaml stays true: every
 * route of the gateway's real table (`kaivox-gateway --print-routes`) is
 * documented as a path with that method, and every /api/v1 operation the
 * document lists is routed.  The YAML is read with the two indentation
 * levels OpenAPI uses ("  /path:" then "    method:"), no YAML library.
 */
#include <ctype.h>

#include "gw_e2e.h"

#define MAX_OPS 256

typedef struct {
    char method[8];
    char path[160];
} op_t;

static int s_has(const op_t *ops, int n, const char *method, const char *path)
{
    for (int i = 0; i < n; i++)
        if (strcmp(ops[i].method, method) == 0 && strcmp(ops[i].path, path) == 0)
            return 1;
    return 0;
}

int main(void)
{
    static op_t routes[MAX_OPS], docs[MAX_OPS];
    int nr = 0, nd = 0;
    char cmd[1024], line[1024], file[1024];

    const char *dir = kvt_env("KAIVOX_BIN_DIR", NULL);
    if (dir)
        snprintf(cmd, sizeof cmd, "'%s/kaivox-gateway' --print-routes", dir);
    else
        snprintf(cmd, sizeof cmd, "'%s/bin/kaivox-gateway' --print-routes", kvt_env("KVT_ROOT", "."));
    FILE *p = popen(cmd, "r");
    while (p && nr < MAX_OPS && fgets(line, sizeof line, p)) {
        if (sscanf(line, "%7s %159s", routes[nr].method, routes[nr].path) == 2)
            nr++;
    }
    int st = p ? pclose(p) : -1;
    KVT_OK(st == 0 && nr >= 24, "kaivox-gateway --print-routes lists the route table (%d routes)", nr);

    snprintf(file, sizeof file, "%s/docs/openapi.yaml", kvt_env("KVT_ROOT", "."));
    FILE *f = fopen(file, "r");
    KVT_OK(f != NULL, "docs/openapi.yaml exists");
    if (!f)
        return kvt_done();
    int in_paths = 0, version_ok = 0;
    char cur[160] = "";
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "openapi: 3.1", 12) == 0)
            version_ok = 1;
        if (line[0] && !isspace((unsigned char)line[0]) && line[0] != '#') {
            in_paths = strncmp(line, "paths:", 6) == 0;
            continue;
        }
        if (!in_paths)
            continue;
        if (strncmp(line, "  /", 3) == 0) {
            char *colon = strrchr(line, ':');
            if (colon) {
                *colon = '\0';
                snprintf(cur, sizeof cur, "%.159s", line + 2);
                /* tolerate quoted keys */
                if (cur[0] == '"' || cur[0] == '\'') {
                    memmove(cur, cur + 1, strlen(cur));
                    cur[strlen(cur) - 1] = '\0';
                }
            }
            continue;
        }
        static const char *const methods[] = { "get", "post", "put", "patch", "delete", NULL };
        for (int m = 0; methods[m]; m++) {
            size_t ml = strlen(methods[m]);
            if (strncmp(line, "    ", 4) == 0 && !isspace((unsigned char)line[4]) &&
                strncmp(line + 4, methods[m], ml) == 0 && line[4 + ml] == ':' && nd < MAX_OPS && cur[0]) {
                for (size_t k = 0; k < ml; k++)
                    docs[nd].method[k] = (char)toupper((unsigned char)methods[m][k]);
                docs[nd].method[ml] = '\0';
                snprintf(docs[nd].path, sizeof docs[nd].path, "%s", cur);
                nd++;
            }
        }
    }
    fclose(f);
    KVT_OK(version_ok, "docs/openapi.yaml is OpenAPI 3.1");

    for (int i = 0; i < nr; i++)
        KVT_OK(s_has(docs, nd, routes[i].method, routes[i].path),
               "route %s %s is documented in docs/openapi.yaml", routes[i].method, routes[i].path);
    for (int i = 0; i < nd; i++) {
        if (strncmp(docs[i].path, "/api/v1/", 8) != 0)
            continue;
        KVT_OK(s_has(routes, nr, docs[i].method, docs[i].path),
               "documented %s %s is in the gateway's route table", docs[i].method, docs[i].path);
    }
    return kvt_done();
}
