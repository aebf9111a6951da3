/*
 * test_bus_upgrade.c -- one real upgrade of a service with a database
 * migration, under a steady load, with not one failed request; versions N
 * and N+1 run side by side on one schema (expand/contract,
 * docs/upgrades.md).
 *
 * "Version N+1" of crm is the same binary with a SQL directory that has
 * one more migration: an expand step (a nullable column and an index,
 * which version N never reads).  Under the load:
 *   1. N+1 starts beside N, applies its migration at start-up, registers;
 *   2. N is stopped (SIGTERM, drained); N+1 alone serves;
 *   3. N is started again on the migrated schema -- it meets a migration
 *      it does not know, which must not stop it (an older instance
 *      restarting during an upgrade) -- and N+1 is stopped, so the stack
 *      ends as it began (plus the column).
 */
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include "bus_e2e.h"

/* Copies every file of dir src into dir dst; returns the highest NNN of
 * their NNN_name.sql names, or -1. */
static int s_copy_sql(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    if (!d)
        return -1;
    int max = 0;
    struct dirent *e;
    char from[1400], to[1400];
    static char buf[65536];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
        FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
        size_t got;
        while (in && out && (got = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, got, out);
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        int nnn = atoi(e->d_name);
        if (nnn > max)
            max = nnn;
    }
    closedir(d);
    return max;
}

/* True when crm.customers has the column name (asked as the superuser). */
static int s_has_column(const char *name)
{
    char url[512];
    snprintf(url, sizeof url, "postgresql://postgres@127.0.0.1:%s/kaivox",
             kvt_env("KAIVOX_PG_PORT", "18032"));
    PGconn *c = PQconnectdb(url);
    int has = 0;
    if (PQstatus(c) == CONNECTION_OK) {
        const char *p[1] = { name };
        PGresult *r = PQexecParams(c, "SELECT 1 FROM information_schema.columns WHERE "
                                      "table_schema = 'crm' AND table_name = 'customers' AND "
                                      "column_name = $1", 1, NULL, p, NULL, NULL, 0);
        has = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        PQclear(r);
    } else {
        fprintf(stderr, "cannot connect to %s: %s", url, PQerrorMessage(c));
    }
    PQfinish(c);
    return has;
}

int main(void)
{
    (void)bus_stack("stop", "crm", 2);
    long long n = bus_per_instance(KV_SVC_CRM);
    KVT_OK(n > 0, "crm has %lld workers per instance", n);

    /* version N+1's SQL directory: N's migrations and one more */
    char dir[400], crm_dir[420], src[400], mig[520], env[440];
    snprintf(dir, sizeof dir, "%s/upgrade-sql", kvt_env("KAIVOX_VAR_DIR", "var"));
    snprintf(crm_dir, sizeof crm_dir, "%s/crm", dir);
    mkdir(dir, 0755);
    mkdir(crm_dir, 0755);
    snprintf(src, sizeof src, "%s/sql/crm", kvt_env("KVT_ROOT", "."));
    int last = s_copy_sql(src, crm_dir);
    KVT_OK(last >= 1, "version N's migrations are copied (the last is %03d)", last);
    char name[64];
    snprintf(name, sizeof name, "%03d_kvt_upgrade_demo.sql", last + 1);
    snprintf(mig, sizeof mig, "%s/%s", crm_dir, name);
    FILE *f = fopen(mig, "w");
    if (f) {
        fputs("-- An expand step (docs/upgrades.md): only adds; version N never reads it.\n"
              "ALTER TABLE customers ADD COLUMN kvt_preferred_language text;\n"
              "CREATE INDEX customers_kvt_language_idx ON customers (tenant_id, kvt_preferred_language)\n"
              "    WHERE kvt_preferred_language IS NOT NULL;\n", f);
        fclose(f);
    }
    KVT_OK(f != NULL, "version N+1 has one more migration (%s)", name);

    bus_load_t *load = calloc(1, sizeof *load);
    KVT_EQ_INT(bus_load_init(load, "bus-upgrade", 50, NULL), 0, "the load's tenants are made");
    bus_load_start(load);
    kvt_sleep_ms(1000);

    snprintf(env, sizeof env, "KAIVOX_SQL_DIR=%s", dir);
    KVT_EQ_INT(bus_start("crm", 2, env), 0, "version N+1 of crm starts beside version N");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CRM, 2 * n, 20000), 2 * n,
               "it migrated and registered: N and N+1 serve side by side");
    char applied[128];
    snprintf(applied, sizeof applied, "migration crm/%s applied", name);
    KVT_OK(bus_log_has("crm-2", applied), "N+1 applied its migration at start-up");
    KVT_OK(s_has_column("kvt_preferred_language"), "the schema has the new column");
    kvt_sleep_ms(1500);

    KVT_EQ_INT(bus_stack("stop", "crm", 1), 0, "version N is stopped (drained)");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CRM, n, 5000), n, "version N+1 alone serves");
    kvt_sleep_ms(1500);

    /* an instance of version N starting on the migrated schema */
    KVT_EQ_INT(bus_stack("start", "crm", 1), 0, "version N starts again on the expanded schema");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CRM, 2 * n, 20000), 2 * n,
               "it tolerates the migration it does not know and registers");
    KVT_OK(bus_log_has("crm", "migration(s) this build does not know"),
           "it logs that the schema is newer than it");
    KVT_EQ_INT(bus_stack("stop", "crm", 2), 0, "version N+1 is stopped");
    KVT_EQ_INT(bus_wait_workers(KV_SVC_CRM, n, 5000), n, "the stack is back to one crm instance");
    kvt_sleep_ms(1000);

    long sent = 0;
    char first[256];
    long failed = bus_load_stop(load, &sent, first, sizeof first);
    KVT_OK(sent > 200, "the load ran (%ld requests)", sent);
    KVT_EQ_INT(failed, 0, "not one request failed during the upgrade%s%s", failed ? ": " : "", first);
    free(load);
    return kvt_done();
}
