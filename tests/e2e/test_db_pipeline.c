/*
 * test_db_pipeline.c -- kv_db_pipeline (shared/kv_db.c) against the test
 * stack's real PostgreSQL: several prepared statements in one round trip.
 *
 * Proves what the handlers rely on: the results come back in order, one
 * per statement; outside a transaction the statements are one implicit
 * transaction (set_config(..., true) of one is seen by the next, one
 * transaction id, a failure undoes the others and leaves the connection
 * usable); inside kv_db_begin they join that transaction; a connection
 * lost outside a transaction is reopened and the pipeline sent again.
 * Connects as the crm role (kv_db's own way) with statements of its own,
 * and as the superuser to end its backend.
 */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "kv_db.h"
#include "../lib/kvt.h"

static const kv_stmt_t s_stmts[] = {
    { "t_two", "SELECT 2" },
    { "t_echo", "SELECT $1::text" },
    { "t_set_local", "SELECT set_config('kaivox.pipeline_test', $1, true)" },
    { "t_set_session", "SELECT set_config('kaivox.pipeline_session', $1, false)" },
    { "t_get", "SELECT coalesce(current_setting('kaivox.pipeline_test', true), '')" },
    { "t_get_session", "SELECT coalesce(current_setting('kaivox.pipeline_session', true), '')" },
    { "t_xid", "SELECT pg_current_xact_id()::text" },
    { "t_div", "SELECT 1 / $1::int" },
    { "t_pid", "SELECT pg_backend_pid()" },
    { NULL, NULL }
};

/* The single text value of statement stmt run alone; "" on failure. */
static void s_value(kv_db_t *db, const char *stmt, char *out, size_t size)
{
    PGresult *r = kv_db_exec(db, "test", stmt, 0, NULL);
    snprintf(out, size, "%s", r && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
}

static void test_order_and_one_transaction(kv_db_t *db)
{
    const char *on[1] = { "on" }, *hello[1] = { "hello" };
    kv_db_call_t c[6] = {
        { "t_two", 0, NULL, NULL },
        { "t_echo", 1, hello, NULL },
        { "t_set_local", 1, on, NULL },
        { "t_get", 0, NULL, NULL },
        { "t_xid", 0, NULL, NULL },
        { "t_xid", 0, NULL, NULL },
    };
    int rc = kv_db_pipeline(db, "test", c, 6);
    KVT_EQ_INT(rc, 0, "pipeline: six statements succeed");
    if (rc != 0)
        return;
    KVT_EQ_STR(PQgetvalue(c[0].res, 0, 0), "2", "pipeline: first result is the first statement's");
    KVT_EQ_STR(PQgetvalue(c[1].res, 0, 0), "hello", "pipeline: parameters reach their statement");
    KVT_EQ_STR(PQgetvalue(c[3].res, 0, 0), "on",
               "pipeline: a transaction-local setting holds for the next statement");
    KVT_EQ_STR(PQgetvalue(c[4].res, 0, 0), PQgetvalue(c[5].res, 0, 0),
               "pipeline: every statement runs in one transaction");
    for (int i = 0; i < 6; i++)
        PQclear(c[i].res);
    char v[64];
    s_value(db, "t_get", v, sizeof v);
    KVT_EQ_STR(v, "", "pipeline: its implicit transaction ended with it");
}

static void test_failure(kv_db_t *db)
{
    const char *x[1] = { "x" }, *zero[1] = { "0" };
    kv_db_call_t c[3] = {
        { "t_set_session", 1, x, NULL },
        { "t_div", 1, zero, NULL },
        { "t_two", 0, NULL, NULL },
    };
    int rc = kv_db_pipeline(db, "test", c, 3);
    KVT_EQ_INT(rc, -1, "pipeline failure: -1");
    KVT_EQ_STR(kv_db_sqlstate(db), "22012", "pipeline failure: the failing statement's SQLSTATE");
    KVT_OK(!c[0].res && !c[1].res && !c[2].res, "pipeline failure: no result is handed out");
    char v[64];
    s_value(db, "t_get_session", v, sizeof v);
    KVT_EQ_STR(v, "", "pipeline failure: the statements before it are undone");
    s_value(db, "t_two", v, sizeof v);
    KVT_EQ_STR(v, "2", "pipeline failure: the connection serves the next statement");
}

static void test_inside_transaction(kv_db_t *db)
{
    const char *on[1] = { "inside" };
    KVT_EQ_INT(kv_db_begin(db, "test"), 0, "pipeline in a transaction: BEGIN");
    kv_db_call_t c[2] = { { "t_set_local", 1, on, NULL }, { "t_two", 0, NULL, NULL } };
    KVT_EQ_INT(kv_db_pipeline(db, "test", c, 2), 0, "pipeline in a transaction: succeeds");
    PQclear(c[0].res);
    PQclear(c[1].res);
    char v[64];
    s_value(db, "t_get", v, sizeof v);
    KVT_EQ_STR(v, "inside", "pipeline in a transaction: it joined the open transaction");
    KVT_EQ_INT(kv_db_commit(db, "test"), 0, "pipeline in a transaction: COMMIT");
    s_value(db, "t_get", v, sizeof v);
    KVT_EQ_STR(v, "", "pipeline in a transaction: the setting ended with the COMMIT");
}

static void test_lost_connection(kv_db_t *db)
{
    char pid[32], url[512];
    s_value(db, "t_pid", pid, sizeof pid);
    snprintf(url, sizeof url, "postgresql://postgres@127.0.0.1:%s/kaivox",
             kvt_env("KAIVOX_PG_PORT", "18032"));
    PGconn *su = PQconnectdb(url);
    const char *p[1] = { pid };
    PGresult *r = PQexecParams(su, "SELECT pg_terminate_backend($1::int)", 1, NULL, p, NULL,
                               NULL, 0);
    KVT_OK(PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "t") == 0,
           "lost connection: the backend was ended");
    PQclear(r);
    PQfinish(su);
    kvt_sleep_ms(100);
    kv_db_call_t c[2] = { { "t_pid", 0, NULL, NULL }, { "t_two", 0, NULL, NULL } };
    int rc = kv_db_pipeline(db, "test", c, 2);
    KVT_EQ_INT(rc, 0, "lost connection: the pipeline is sent again on a new connection");
    if (rc == 0) {
        KVT_OK(strcmp(PQgetvalue(c[0].res, 0, 0), pid) != 0,
               "lost connection: it ran on another backend");
        KVT_EQ_STR(PQgetvalue(c[1].res, 0, 0), "2", "lost connection: results as usual");
        PQclear(c[0].res);
        PQclear(c[1].res);
    }
}

int main(void)
{
    kv_db_t *db = kv_db_new("crm", s_stmts);
    int up = kv_db_ensure(db) == 0;
    KVT_OK(up, "pipeline: connected as the crm role");
    if (up) {
        test_order_and_one_transaction(db);
        test_failure(db);
        test_inside_transaction(db);
        test_lost_connection(db);
    }
    kv_db_destroy(&db);
    return kvt_done();
}
