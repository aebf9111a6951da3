/*
 * kv_db.h -- one PostgreSQL connection of one service, with its prepared
 * statements, reconnection, and the migration runner.
 *
 * A service connects as its own role (kaivox_<service>) with search_path
 * "<service>, public": it sees its own schema and the extensions, nobody
 * else's tables.  Every statement is named and prepared at connect time from
 * a static table; handlers run them by name with $n parameters only.  A
 * kv_db_t belongs to one thread.
 */
#ifndef KV_DB_H
#define KV_DB_H

#include <libpq-fe.h>

typedef struct {
    const char *name;   /* e.g. "services_list" */
    const char *sql;    /* with $1..$n placeholders */
} kv_stmt_t;

typedef struct kv_db kv_db_t;

/* A connection for service (role kaivox_<service>, schema <service>) to
 * KAIVOX_DATABASE_URL (default postgresql://127.0.0.1:54320/kaivox).  The
 * password is KAIVOX_<SERVICE>_DB_PASSWORD when set.  stmts ends with a
 * {NULL, NULL} entry and must outlive the connection.  Does not connect yet.
 * Caller owns the result. */
kv_db_t *kv_db_new(const char *service, const kv_stmt_t *stmts);
void kv_db_destroy(kv_db_t **pdb);

/* The gssencmode a connection to url (a libpq URL or key=value string)
 * passes when the user configured none: "disable", or NULL to leave
 * libpq's own default.  libpq's default, "prefer", asks Kerberos for a
 * credential cache at every connect even where no Kerberos exists, which
 * loads its configuration and leaves ~0.7 MB of libkrb5/libgssapi pages
 * resident in every process (docs/architecture.md "Performance").  NULL
 * (the user's choice stands) when url sets gssencmode or names a service
 * (a pg_service.conf entry may set it), when PGGSSENCMODE or PGSERVICE is
 * in the environment (even empty), or when url does not parse (libpq then
 * reports it).
 * Reads the environment. */
const char *kv_db_gssencmode_default(const char *url);

/* A second statement table, the runtime's own (kv_idem_stmts), prepared
 * with the service's at every (re)connection.  Same rules as stmts; names
 * must not clash.  Call before the first kv_db_ensure. */
void kv_db_add_stmts(kv_db_t *db, const kv_stmt_t *extra);

/* Connects (or reconnects after a failure) and prepares every statement.
 * Cheap when already connected.  0 or -1 (logged). */
int kv_db_ensure(kv_db_t *db);

/* Registers the database metrics (kv_metrics.h) every kv_db_t of the
 * process then records: kaivox_db_errors_total{class} (SQLSTATE class),
 * kaivox_db_reconnects_total, kaivox_db_connect_failures_total and
 * kaivox_db_query_duration_seconds{statement}.  Without this call nothing
 * is recorded.  Call once from main() before threads start. */
void kv_db_metrics_init(void);

/* Runs the named prepared statement with n text parameters (NULL = SQL
 * NULL).  Returns the result on PGRES_COMMAND_OK / PGRES_TUPLES_OK: the
 * caller owns it (PQclear).  Returns NULL on any error, after logging every
 * diagnostic field PostgreSQL gave, with req_id; kv_db_sqlstate() then tells
 * which.  When the connection was lost outside a transaction, reconnects and
 * retries once. */
PGresult *kv_db_exec(kv_db_t *db, const char *req_id, const char *stmt,
                     int n, const char *const *params);

/* Like kv_db_exec but for statements that return nothing of interest:
 * 0 or -1. */
int kv_db_run(kv_db_t *db, const char *req_id, const char *stmt,
              int n, const char *const *params);

/* Transactions.  0 or -1.  kv_db_rollback is safe to call when no
 * transaction is open.
 *
 * Inside an outer transaction (below) these nest instead: kv_db_begin
 * opens a savepoint, kv_db_commit releases it -- its changes become part of
 * the outer transaction, which nobody else sees before kv_db_outer_commit
 * -- and kv_db_rollback rolls back to it, or does nothing when none is open
 * (the outer transaction is not the handler's to end).  A release that
 * fails (the savepoint's transaction had failed) rolls back to it, as a
 * failed COMMIT rolls back.  One level only: kv_db_begin while a
 * transaction (or savepoint) of the caller is open is a programming error,
 * as it always was. */
int kv_db_begin(kv_db_t *db, const char *req_id);
int kv_db_commit(kv_db_t *db, const char *req_id);
void kv_db_rollback(kv_db_t *db, const char *req_id);

/* The outer transaction: the service runtime runs a write that carries an
 * Idempotency-Key (kv_idem.h) inside one transaction of its own, so that
 * the handler's changes and the key's record commit together.  The handler
 * does not know: its kv_db_begin/commit/rollback nest as said above, and
 * its statements outside them run in the outer transaction too.
 * kv_db_outer_begin: 0 or -1 (logged; the connection is retried once, as
 * kv_db_begin does); a programming error while any transaction is open.
 * kv_db_outer_commit: 0 or -1 (the transaction is over either way); a
 * savepoint still open is a programming error (roll it back first).
 * kv_db_outer_rollback: ends it, whatever its state; safe when none is
 * open. */
int kv_db_outer_begin(kv_db_t *db, const char *req_id);
int kv_db_outer_commit(kv_db_t *db, const char *req_id);
void kv_db_outer_rollback(kv_db_t *db, const char *req_id);
/* 1 while an outer transaction is open. */
int kv_db_outer_open(const kv_db_t *db);
/* 1 while an outer transaction is open, no savepoint of the handler is,
 * and the transaction can still commit (no statement of it failed outside
 * a savepoint that was rolled back). */
int kv_db_outer_ok(const kv_db_t *db);

/* SQLSTATE of the last failed statement ("" if none, "08006" and friends
 * for connection trouble). */
const char *kv_db_sqlstate(const kv_db_t *db);
/* Name of the constraint the last failure violated ("" if none). */
const char *kv_db_constraint(const kv_db_t *db);
/* True when the last failure was a lost connection / server shutdown. */
int kv_db_conn_error(const kv_db_t *db);

/* The service name given to kv_db_new (e.g. "scheduling"). */
const char *kv_db_service(const kv_db_t *db);

/* The raw connection (for the migration runner and PQescape-free
 * utilities); NULL when not connected. */
PGconn *kv_db_conn(kv_db_t *db);

/* Applies sql/<service>/NNN_*.sql files that are not yet recorded in
 * <service>.schema_migrations, in name order, each in its own transaction,
 * holding a session advisory lock so that two instances starting together
 * apply each file once.  The directory is $KAIVOX_SQL_DIR/<service>
 * (default ./sql/<service>).  Migrations recorded in the table that this
 * build has no file for (a newer version applied them: expand/contract,
 * docs/upgrades.md) are not an error; they are logged once.
 * 0 or -1 (logged).  Call it before the first
 * kv_db_ensure on a fresh database: it connects by itself without
 * preparing the statements (whose tables it creates); the next
 * kv_db_ensure prepares them. */
int kv_db_migrate(kv_db_t *db);

/* Room for any 64-bit integer in decimal, sign and NUL included. */
#define KV_DB_I64_LEN 24

/* Formats v in decimal into buf, for use as a text statement parameter;
 * returns buf. */
const char *kv_db_i64_param(char buf[KV_DB_I64_LEN], long long v);

/* One statement of kv_db_pipeline: its name and text parameters, and
 * the result it returned (the caller owns it). */
typedef struct {
    const char *stmt;
    int n;
    const char *const *params;
    PGresult *res;
} kv_db_call_t;

/* Runs the prepared statements calls[0..n) (n >= 1) in one round trip to
 * PostgreSQL (libpq's pipeline mode), in order.  Outside a transaction
 * they run as one implicit transaction (one snapshot; set_config(..., true)
 * of one holds for the next; a failure undoes the others); inside one they
 * are part of it.  Returns 0 with every calls[i].res set (the caller owns
 * them: PQclear), or -1 with none set, the first failure recorded and
 * logged as kv_db_exec does (kv_db_sqlstate, kv_db_conn_error).  A
 * connection lost outside a transaction is reopened and the pipeline sent
 * again once, as kv_db_exec does. */
int kv_db_pipeline(kv_db_t *db, const char *req_id, kv_db_call_t *calls, int n);

/* One page of a list: runs count_stmt (the total in row 0, column 0) and
 * list_stmt in one round trip (kv_db_pipeline).  Returns 0 with *total
 * set and *rows the page (NULL when the page is past the end: it would be
 * empty); the caller owns *rows (PQclear).  Returns -1 when a statement
 * failed (logged; kv_db_conn_error tells which kind), *rows then NULL. */
int kv_db_page(kv_db_t *db, const char *req_id,
               const char *count_stmt, int count_n, const char *const *count_params,
               const char *list_stmt, int list_n, const char *const *list_params,
               long long offset, long long *total, PGresult **rows);

/* Convenience accessors for result cells. */
const char *kv_db_str(const PGresult *r, int row, int col);   /* NULL if SQL NULL */
long long kv_db_i64(const PGresult *r, int row, int col);     /* 0 if NULL */

#define KV_SQLSTATE_UNIQUE      "23505"
#define KV_SQLSTATE_EXCLUSION   "23P01"
#define KV_SQLSTATE_FOREIGN_KEY "23503"
#define KV_SQLSTATE_CHECK       "23514"

#endif
