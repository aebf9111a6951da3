/*
 * test_bus_ops.c -- the operation registry (proto/kv_ops.h) holds: every
 * public route's operation is served by the service the route sends it to
 * (`kaivox-gateway --print-routes` against `kaivox-<service> --print-ops`),
 * and every service serves exactly the registry's operations of its own,
 * with the registry's read/write flag.  Runs the binaries only; needs no
 * stack.
 */
#include "gw_e2e.h"
#include "kv_ops.h"

#define MAX_LINES 256

typedef struct {
    char a[64], b[160], c[64], d[64];
} s_line_t;

/* Runs "<bin dir>/kaivox-<name> <flag>" and reads up to 4 words a line
 * into lines; returns the number of lines, -1 when it failed. */
static int s_run(const char *name, const char *flag, s_line_t *lines)
{
    char cmd[1024], line[512];
    const char *dir = kvt_env("KAIVOX_BIN_DIR", NULL);
    if (dir)
        snprintf(cmd, sizeof cmd, "'%s/kaivox-%s' %s", dir, name, flag);
    else
        snprintf(cmd, sizeof cmd, "'%s/bin/kaivox-%s' %s", kvt_env("KVT_ROOT", "."), name, flag);
    FILE *p = popen(cmd, "r");
    int n = 0;
    while (p && n < MAX_LINES && fgets(line, sizeof line, p)) {
        memset(&lines[n], 0, sizeof lines[n]);
        if (sscanf(line, "%63s %159s %63s %63s", lines[n].a, lines[n].b, lines[n].c, lines[n].d) >= 3)
            n++;
    }
    int st = p ? pclose(p) : -1;
    return st == 0 ? n : -1;
}

int main(void)
{
    static s_line_t routes[MAX_LINES], ops[4][MAX_LINES];
    static const char *const svcs[] = { KV_SVC_SCHEDULING, KV_SVC_CRM, KV_SVC_CALLS, KV_SVC_WEBHOOKS };
    int nops[4];
    int nr = s_run("gateway", "--print-routes", routes);
    KVT_OK(nr >= 24, "kaivox-gateway --print-routes lists the routes with their operations (%d)", nr);
    for (int s = 0; s < 4; s++) {
        nops[s] = s_run(svcs[s], "--print-ops", ops[s]);
        KVT_OK(nops[s] > 0, "kaivox-%s --print-ops lists its operations (%d)", svcs[s], nops[s]);
    }

    /* every public route: METHOD PATTERN SERVICE OP, OP served by SERVICE
     * (routes the gateway serves itself say "gateway local") */
    int served = 0;
    for (int i = 0; i < nr; i++) {
        int found = strcmp(routes[i].c, "gateway") == 0 && strcmp(routes[i].d, "local") == 0;
        for (int s = 0; s < 4; s++) {
            if (strcmp(routes[i].c, svcs[s]) != 0)
                continue;
            for (int k = 0; k < nops[s]; k++)
                found |= strcmp(ops[s][k].b, routes[i].d) == 0;
        }
        KVT_OK(found, "%s %s: %s serves %s", routes[i].a, routes[i].b, routes[i].c, routes[i].d);
        served += found;
    }
    KVT_EQ_INT(served, nr, "every public route's operation is served by its service");

    /* every service: SERVICE OP read|write, as the registry says */
    for (int s = 0; s < 4; s++) {
        int mine = 0, right = 1;
        char why[256] = "";
        for (int k = 0; k < nops[s]; k++) {
            const kv_op_def_t *d = kv_op_find(ops[s][k].b);
            const char *rw = d && (d->flags & KV_OPF_READ) ? "read" : "write";
            if (!d || strcmp(ops[s][k].a, svcs[s]) != 0 || strcmp(ops[s][k].c, rw) != 0 ||
                (d->service && strcmp(d->service, svcs[s]) != 0)) {
                right = 0;
                snprintf(why, sizeof why, ": %.60s %.64s %.10s", ops[s][k].a, ops[s][k].b, ops[s][k].c);
            }
            mine += d && d->service && strcmp(d->service, svcs[s]) == 0;
        }
        KVT_OK(right, "%s serves only registry operations of its own, flags as registered%s",
               svcs[s], why);
        int registered = 0;
        for (int i = 0; i < KV_OPID_COUNT; i++)
            registered += kv_op_defs[i].service && strcmp(kv_op_defs[i].service, svcs[s]) == 0;
        KVT_EQ_INT(mine, registered, "%s serves every operation the registry gives it", svcs[s]);
        int ping = 0;
        for (int k = 0; k < nops[s]; k++)
            ping |= strcmp(ops[s][k].b, KV_OP_PING) == 0;
        KVT_OK(ping, "%s answers %s", svcs[s], KV_OP_PING);
    }
    return kvt_done();
}
