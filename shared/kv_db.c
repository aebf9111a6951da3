/*
 * kv_db.c -- one PostgreSQL connection of one service: connect as the
 * service's own role, prepare every statement of its table, run them by
 * name, track the transaction, reconnect after a server restart, and apply
 * the service's migrations.
 *
 * Failures are logged here, once, with every diagnostic field PostgreSQL
 * gives (GNU Taler's habit), but never with parameter values: they may hold
 * a phone number or an e-mail.  For the same reason the DETAIL of an
 * integrity violation ("Key (phone)=(...)") and quoted values in messages
 * are redacted.  A statement that fails because the connection was lost
 * outside a transaction is retried once on a fresh connection; inside a
 * transaction the caller must roll back, as the transaction is gone.
 *
 * The outer transaction (kv_db_outer_begin) is the service runtime's: while
 * it is open, a handler's BEGIN / COMMIT / ROLLBACK become SAVEPOINT /
 * RELEASE / ROLLBACK TO of one savepoint, so a handler written for its own
 * transactions runs unchanged inside the runtime's (kv_idem.c says why).
 */
#include "kv_db.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"
#include "kv_metrics.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_DB_DEFAULT_URL "postgresql://127.0.0.1:54320/kaivox"

struct kv_db {
    char service[64];          /* "scheduling" */
    const kv_stmt_t *stmts;    /* borrowed; ends with {NULL, NULL} */
    const kv_stmt_t *extra;    /* borrowed; the runtime's table, or NULL */
    PGconn *conn;              /* NULL when never connected / given up */
    int prepared;              /* statements prepared on this conn */
    int in_tx;                 /* BEGIN sent, no COMMIT/ROLLBACK yet */
    int outer;                 /* that BEGIN was kv_db_outer_begin's */
    int nested;                /* inside it, the handler's savepoint is open */
    int conn_err;              /* last failure was a lost connection */
    char sqlstate[6];          /* last failure's SQLSTATE, "" if none */
    char constraint[64];       /* last failure's constraint, "" if none */
    int connected_once;        /* a later connect is a reconnect */
};

/* Metrics (kv_db_metrics_init); NULL: not recorded. */
static kv_metric_t *s_m_errors, *s_m_latency;
static kv_series_t *s_m_reconnects, *s_m_connect_failed;

void kv_db_metrics_init(void)
{
    s_m_errors = kv_counter_new("kaivox_db_errors_total",
        "Failed database statements, by SQLSTATE class (08: connection, 23: integrity, ...).",
        "class");
    s_m_latency = kv_histogram_new("kaivox_db_query_duration_seconds",
        "Time a prepared statement took, by statement name.", "statement",
        kv_metric_latency_buckets, kv_metric_latency_nbuckets);
    s_m_reconnects = kv_metric_series(kv_counter_new("kaivox_db_reconnects_total",
        "Database connections opened again after one was lost or closed.", NULL), NULL);
    s_m_connect_failed = kv_metric_series(kv_counter_new("kaivox_db_connect_failures_total",
        "Attempts to connect to the database that failed.", NULL), NULL);
    kv_metric_series(s_m_errors, KV_LABELS("08"));
}

/* Counts one failed statement under its SQLSTATE class. */
static void s_count_error(const char *sqlstate)
{
    char cls[3] = "XX";
    if (sqlstate && isalnum((unsigned char)sqlstate[0]) && isalnum((unsigned char)sqlstate[1])) {
        cls[0] = sqlstate[0];
        cls[1] = sqlstate[1];
    }
    kv_metric_inc(s_m_errors, KV_LABELS(cls));
}

kv_db_t *kv_db_new(const char *service, const kv_stmt_t *stmts)
{
    assert(service && *service);
    kv_db_t *db = kv_calloc(1, sizeof *db);
    snprintf(db->service, sizeof db->service, "%s", service);
    db->stmts = stmts;
    return db;
}

void kv_db_destroy(kv_db_t **pdb)
{
    if (!pdb || !*pdb)
        return;
    kv_db_t *db = *pdb;
    if (db->conn)
        PQfinish(db->conn);
    free(db);
    *pdb = NULL;
}

void kv_db_add_stmts(kv_db_t *db, const kv_stmt_t *extra)
{
    assert(!db->prepared);
    db->extra = extra;
}

const char *kv_db_service(const kv_db_t *db) { return db->service; }
const char *kv_db_sqlstate(const kv_db_t *db) { return db->sqlstate; }
const char *kv_db_constraint(const kv_db_t *db) { return db->constraint; }
int kv_db_conn_error(const kv_db_t *db) { return db->conn_err; }

PGconn *kv_db_conn(kv_db_t *db)
{
    return (db->conn && PQstatus(db->conn) == CONNECTION_OK) ? db->conn : NULL;
}

static void s_clear_error(kv_db_t *db)
{
    db->sqlstate[0] = '\0';
    db->constraint[0] = '\0';
    db->conn_err = 0;
}

/* Copies src into dst (size n), single-line, cut at "=(" (a key's values
 * follow) and at " contains (" (a failing row follows), and, when quotes
 * is set, with every '...' or "..." quoted part replaced by "?". */
static void s_redact(char *dst, size_t n, const char *src, int quotes)
{
    size_t o = 0;
    if (!src)
        src = "";
    for (const char *p = src; *p && o + 20 < n; p++) {
        if (quotes && (*p == '"' || *p == '\'')) {
            const char *q = strchr(p + 1, *p);
            dst[o++] = *p;
            dst[o++] = '?';
            dst[o++] = *p;
            if (!q)
                break;
            p = q;
        } else if (p[0] == '=' && p[1] == '(') {
            memcpy(dst + o, "=(...)", 6);
            o += 6;
            break;
        } else if (strncmp(p, " contains (", 11) == 0) {
            memcpy(dst + o, " contains (...)", 15);
            o += 15;
            break;
        } else if (*p == '\n' || *p == '\t' || *p == '\r') {
            if (o > 0 && dst[o - 1] != ' ')
                dst[o++] = ' ';
        } else {
            dst[o++] = *p;
        }
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
}

static const char *s_field(const PGresult *r, int code)
{
    const char *v = r ? PQresultErrorField(r, code) : NULL;
    return v ? v : "";
}

/* True for SQLSTATEs that mean the connection or server went away. */
static int s_is_conn_state(const char *st)
{
    return strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
           strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0;
}

/* Records and logs a failed result r (may be NULL) of what (a statement
 * name or a short description). */
static void s_fail(kv_db_t *db, const char *req_id, const char *what, const PGresult *r)
{
    const char *st = s_field(r, PG_DIAG_SQLSTATE);
    int bad = !db->conn || PQstatus(db->conn) == CONNECTION_BAD;
    if (!*st && bad)
        st = "08006";
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s", st);
    snprintf(db->constraint, sizeof db->constraint, "%s", s_field(r, PG_DIAG_CONSTRAINT_NAME));
    db->conn_err = bad || s_is_conn_state(st);
    s_count_error(st);

    char primary[512], detail[512], hint[256], context[512];
    const char *pm = s_field(r, PG_DIAG_MESSAGE_PRIMARY);
    if (!*pm && db->conn)
        pm = PQerrorMessage(db->conn);
    /* data exceptions (class 22) quote the offending value in the message;
     * elsewhere quotes hold identifiers, which are worth keeping */
    s_redact(primary, sizeof primary, pm, strncmp(st, "22", 2) == 0);
    /* integrity violations echo the key's values or the row in DETAIL */
    s_redact(detail, sizeof detail, s_field(r, PG_DIAG_MESSAGE_DETAIL),
             strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0);
    s_redact(hint, sizeof hint, s_field(r, PG_DIAG_MESSAGE_HINT), 0);
    s_redact(context, sizeof context, s_field(r, PG_DIAG_CONTEXT), 1);

    kv_log(strncmp(st, "23", 2) == 0 ? KV_LOG_WARN : KV_LOG_ERROR, req_id,
           "db %s failed: severity=%s sqlstate=%s message=\"%s\" detail=\"%s\" hint=\"%s\" "
           "schema=%s table=%s column=%s datatype=%s constraint=%s position=%s "
           "internal_position=%s context=\"%s\" source=%s:%s in_tx=%d",
           what, s_field(r, PG_DIAG_SEVERITY), st, primary, detail, hint,
           s_field(r, PG_DIAG_SCHEMA_NAME), s_field(r, PG_DIAG_TABLE_NAME),
           s_field(r, PG_DIAG_COLUMN_NAME), s_field(r, PG_DIAG_DATATYPE_NAME),
           db->constraint, s_field(r, PG_DIAG_STATEMENT_POSITION),
           s_field(r, PG_DIAG_INTERNAL_POSITION), context,
           s_field(r, PG_DIAG_SOURCE_FILE), s_field(r, PG_DIAG_SOURCE_LINE), db->in_tx);
}

/* Routes server NOTICEs through kv_log instead of libpq's raw stderr
 * print, so every line on stderr stays JSON. */
static void s_notice(void *arg, const PGresult *r)
{
    kv_db_t *db = arg;
    char msg[512];
    s_redact(msg, sizeof msg, s_field(r, PG_DIAG_MESSAGE_PRIMARY), 0);
    kv_debug(NULL, "db %s notice: %s %s", db->service, s_field(r, PG_DIAG_SQLSTATE), msg);
}

const char *kv_db_gssencmode_default(const char *url)
{
    const char *env = getenv("PGGSSENCMODE"), *svc = getenv("PGSERVICE");
    if (env || svc || !url)   /* set at all, even empty: libpq reads it */
        return NULL;
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    PQfreemem(err);
    if (!opts)
        return NULL;
    const char *def = "disable";
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (o->val &&
            (strcmp(o->keyword, "gssencmode") == 0 || strcmp(o->keyword, "service") == 0))
            def = NULL;
    }
    PQconninfoFree(opts);
    return def;
}

/* Opens a new connection (closing any old one); does not prepare.  0/-1. */
static int s_connect(kv_db_t *db)
{
    if (db->conn) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    db->prepared = 0;
    db->in_tx = 0;
    db->outer = 0;
    db->nested = 0;

    char user[96], appname[96], options[160], pwvar[128];
    snprintf(user, sizeof user, "kaivox_%s", db->service);
    snprintf(appname, sizeof appname, "kaivox-%s", db->service);
    snprintf(options, sizeof options, "-c search_path=%s,public", db->service);
    size_t i = 0;
    i += (size_t)snprintf(pwvar, sizeof pwvar, "KAIVOX_");
    for (const char *p = db->service; *p && i + 1 < sizeof pwvar; p++)
        pwvar[i++] = (char)toupper((unsigned char)*p);
    pwvar[i] = '\0';
    snprintf(pwvar + i, sizeof pwvar - i, "_DB_PASSWORD");

    const char *keys[9], *vals[9];
    int k = 0;
    const char *url = kv_env_str("KAIVOX_DATABASE_URL", KV_DB_DEFAULT_URL);
    const char *gss = kv_db_gssencmode_default(url);
    if (gss) {   /* before dbname: what the URL says would win anyway */
        keys[k] = "gssencmode";   vals[k++] = gss;
    }
    keys[k] = "dbname";           vals[k++] = url;
    keys[k] = "user";             vals[k++] = user;
    const char *pw = kv_env_str(pwvar, NULL);
    if (pw) {
        keys[k] = "password";     vals[k++] = pw;
    }
    keys[k] = "application_name"; vals[k++] = appname;
    keys[k] = "options";          vals[k++] = options;
    keys[k] = "connect_timeout";  vals[k++] = "3";
    keys[k] = NULL;               vals[k] = NULL;

    db->conn = PQconnectdbParams(keys, vals, 1);
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
        char msg[512];
        s_redact(msg, sizeof msg, db->conn ? PQerrorMessage(db->conn) : "out of memory", 0);
        kv_error(NULL, "db connect as %s failed: %s", user, msg);
        kv_series_add(s_m_connect_failed, 1);
        snprintf(db->sqlstate, sizeof db->sqlstate, "08006");
        db->constraint[0] = '\0';
        db->conn_err = 1;
        if (db->conn)
            PQfinish(db->conn);
        db->conn = NULL;
        return -1;
    }
    PQsetNoticeReceiver(db->conn, s_notice, db);
    if (db->connected_once)
        kv_series_add(s_m_reconnects, 1);
    db->connected_once = 1;
    return 0;
}

/* Prepares every statement of both tables.  0/-1; on failure the
 * connection is closed so that the next try starts clean. */
static int s_prepare_all(kv_db_t *db)
{
    int n = 0;
    const kv_stmt_t *tables[2] = { db->stmts, db->extra };
    for (int t = 0; t < 2; t++) {
        for (const kv_stmt_t *s = tables[t]; s && s->name; s++, n++) {
            PGresult *r = PQprepare(db->conn, s->name, s->sql, 0, NULL);
            if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
                char what[160];
                snprintf(what, sizeof what, "prepare %s", s->name);
                s_fail(db, NULL, what, r);
                PQclear(r);
                PQfinish(db->conn);
                db->conn = NULL;
                db->prepared = 0;
                return -1;
            }
            PQclear(r);
        }
    }
    db->prepared = 1;
    kv_debug(NULL, "db connected as kaivox_%s, %d statements prepared", db->service, n);
    return 0;
}

int kv_db_ensure(kv_db_t *db)
{
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK && db->prepared)
        return 0;
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
        if (s_connect(db) != 0)
            return -1;
    }
    return s_prepare_all(db);
}

PGresult *kv_db_exec(kv_db_t *db, const char *req_id, const char *stmt,
                     int n, const char *const *params)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!db->in_tx && kv_db_ensure(db) != 0) {
            kv_error(req_id, "db %s not run: no connection", stmt);
            return NULL;
        }
        if (!db->conn) {   /* lost inside a transaction */
            snprintf(db->sqlstate, sizeof db->sqlstate, "08006");
            db->constraint[0] = '\0';
            db->conn_err = 1;
            kv_error(req_id, "db %s not run: connection lost in transaction", stmt);
            return NULL;
        }
        int64_t t0 = kv_mono_us();
        PGresult *r = PQexecPrepared(db->conn, stmt, n, params, NULL, NULL, 0);
        if (s_m_latency)   /* statement names are the code's constants: bounded */
            kv_metric_observe_us(s_m_latency, KV_LABELS(stmt), kv_mono_us() - t0);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            s_clear_error(db);
            return r;
        }
        if (PQstatus(db->conn) == CONNECTION_BAD && !db->in_tx && attempt == 0) {
            kv_warn(req_id, "db connection lost running %s; reconnecting and retrying once", stmt);
            PQclear(r);
            PQfinish(db->conn);
            db->conn = NULL;
            db->prepared = 0;
            continue;
        }
        s_fail(db, req_id, stmt, r);
        PQclear(r);
        return NULL;
    }
    return NULL;   /* not reached */
}

/* Sends calls[0..n) and a sync in pipeline mode and reads every result.
 * Returns n when all succeeded and the sync was answered (each
 * calls[i].res set), else the index of the first that failed with *err its
 * result (caller clears it; NULL when the connection broke before it
 * answered) and no res kept.  Leaves the connection out of pipeline mode
 * when it is still usable, and closes it (db->conn NULL) when not. */
static int s_pipeline_once(kv_db_t *db, kv_db_call_t *calls, int n, PGresult **err)
{
    PGconn *c = db->conn;
    int failed = n;
    *err = NULL;
    if (PQenterPipelineMode(c) != 1)
        return 0;
    int sent = 0;
    while (sent < n && PQsendQueryPrepared(c, calls[sent].stmt, calls[sent].n, calls[sent].params,
                                           NULL, NULL, 0) == 1)
        sent++;
    if (sent < n || PQpipelineSync(c) != 1) {
        /* cannot happen on a healthy connection (nothing is sent yet or the
         * socket failed): give up on it, the caller reconnects */
        failed = sent;
        goto broken;
    }
    for (int i = 0; i < n; i++) {
        /* one result per statement, then NULL */
        PGresult *r = PQgetResult(c);
        if (!r) {
            failed = failed < n ? failed : i;
            goto broken;
        }
        ExecStatusType st = PQresultStatus(r);
        if ((st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) && failed == n) {
            calls[i].res = r;
        } else if (failed == n) {
            failed = i;
            *err = r;
        } else {
            PQclear(r);      /* PGRES_PIPELINE_ABORTED after the failure */
        }
        PGresult *extra;
        while ((extra = PQgetResult(c)) != NULL) {
            ExecStatusType xs = PQresultStatus(extra);
            PQclear(extra);
            if (xs == PGRES_PIPELINE_SYNC) {   /* out of step: should not happen */
                failed = failed < n ? failed : i;
                goto broken;
            }
        }
    }
    PGresult *sync = PQgetResult(c);
    int synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    if (!synced || PQexitPipelineMode(c) != 1) {
        /* without the sync's answer the implicit transaction's commit is
         * not known to have happened: a failure of the last statement */
        failed = failed < n ? failed : n - 1;
        goto broken;
    }
    goto out;
broken:
    /* the connection is in an unknown state: drop it (a transaction open
     * on it is lost, which the caller's COMMIT reports) */
    PQfinish(db->conn);
    db->conn = NULL;
    db->prepared = 0;
out:
    if (failed < n)
        for (int i = 0; i < n; i++) {
            PQclear(calls[i].res);
            calls[i].res = NULL;
        }
    return failed;
}

int kv_db_pipeline(kv_db_t *db, const char *req_id, kv_db_call_t *calls, int n)
{
    for (int i = 0; i < n; i++)
        calls[i].res = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int was_tx = db->in_tx;
        if (!db->in_tx && kv_db_ensure(db) != 0) {
            kv_error(req_id, "db %s (pipeline of %d) not run: no connection", calls[0].stmt, n);
            return -1;
        }
        if (!db->conn) {   /* lost inside a transaction */
            snprintf(db->sqlstate, sizeof db->sqlstate, "08006");
            db->constraint[0] = '\0';
            db->conn_err = 1;
            kv_error(req_id, "db %s not run: connection lost in transaction", calls[0].stmt);
            return -1;
        }
        PGresult *err = NULL;
        int failed = s_pipeline_once(db, calls, n, &err);
        if (failed == n) {
            s_clear_error(db);
            return 0;
        }
        int lost = !db->conn || PQstatus(db->conn) == CONNECTION_BAD;
        if (lost && !was_tx && attempt == 0) {
            kv_warn(req_id, "db connection lost running %s; reconnecting and retrying once",
                    calls[failed].stmt);
            PQclear(err);
            if (db->conn) {
                PQfinish(db->conn);
                db->conn = NULL;
                db->prepared = 0;
            }
            continue;
        }
        s_fail(db, req_id, calls[failed].stmt, err);
        PQclear(err);
        return -1;
    }
    return -1;   /* not reached */
}

int kv_db_run(kv_db_t *db, const char *req_id, const char *stmt,
              int n, const char *const *params)
{
    PGresult *r = kv_db_exec(db, req_id, stmt, n, params);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* Runs a fixed transaction-control command on an open connection.
 * Returns 0 when it succeeded and, when want_tag is given, the command tag
 * equals it; -1 otherwise (logged). */
static int s_simple(kv_db_t *db, const char *req_id, const char *sql, const char *want_tag)
{
    PGresult *r = PQexec(db->conn, sql);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        s_fail(db, req_id, sql, r);
        PQclear(r);
        return -1;
    }
    int rc = 0;
    if (want_tag && strcmp(PQcmdStatus(r), want_tag) != 0) {
        /* COMMIT of a failed transaction answers ROLLBACK */
        snprintf(db->sqlstate, sizeof db->sqlstate, "25P02");
        db->constraint[0] = '\0';
        db->conn_err = 0;
        kv_error(req_id, "db %s ended as %s: the transaction had failed", sql, PQcmdStatus(r));
        rc = -1;
    }
    PQclear(r);
    return rc;
}

/* BEGIN, retrying once on a fresh connection when the old one was lost.
 * 0 or -1 (logged). */
static int s_begin(kv_db_t *db, const char *req_id)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (kv_db_ensure(db) != 0)
            return -1;
        PGresult *r = PQexec(db->conn, "BEGIN");
        if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
            PQclear(r);
            s_clear_error(db);
            db->in_tx = 1;
            return 0;
        }
        if (PQstatus(db->conn) == CONNECTION_BAD && attempt == 0) {
            kv_warn(req_id, "db connection lost at BEGIN; reconnecting and retrying once");
            PQclear(r);
            PQfinish(db->conn);
            db->conn = NULL;
            db->prepared = 0;
            continue;
        }
        s_fail(db, req_id, "BEGIN", r);
        PQclear(r);
        return -1;
    }
    return -1;
}

/* The connection is gone inside a transaction: records it as the failure. */
static int s_lost_in_tx(kv_db_t *db, const char *req_id, const char *what)
{
    snprintf(db->sqlstate, sizeof db->sqlstate, "08006");
    db->constraint[0] = '\0';
    db->conn_err = 1;
    kv_error(req_id, "db %s impossible: connection lost in transaction", what);
    return -1;
}

/* Runs sql with the last failure's diagnostics kept (they say why the
 * caller rolls back). */
static void s_simple_keep_error(kv_db_t *db, const char *req_id, const char *sql)
{
    char st[6], cons[64];
    int ce = db->conn_err;
    memcpy(st, db->sqlstate, sizeof st);
    memcpy(cons, db->constraint, sizeof cons);
    (void)s_simple(db, req_id, sql, NULL);
    memcpy(db->sqlstate, st, sizeof st);
    memcpy(db->constraint, cons, sizeof cons);
    db->conn_err = ce;
}

#define S_SAVEPOINT        "SAVEPOINT kv_handler"
#define S_RELEASE          "RELEASE SAVEPOINT kv_handler"
#define S_ROLLBACK_TO      "ROLLBACK TO SAVEPOINT kv_handler; RELEASE SAVEPOINT kv_handler"

int kv_db_begin(kv_db_t *db, const char *req_id)
{
    if (db->outer) {
        if (db->nested) {
            kv_error(req_id, "db BEGIN while a transaction is open (programming error)");
            return -1;
        }
        if (!db->conn)
            return s_lost_in_tx(db, req_id, "SAVEPOINT");
        if (s_simple(db, req_id, S_SAVEPOINT, NULL) != 0)
            return -1;
        s_clear_error(db);
        db->nested = 1;
        return 0;
    }
    if (db->in_tx) {
        kv_error(req_id, "db BEGIN while a transaction is open (programming error)");
        return -1;
    }
    return s_begin(db, req_id);
}

int kv_db_commit(kv_db_t *db, const char *req_id)
{
    if (db->outer) {
        if (!db->nested) {
            kv_error(req_id, "db COMMIT without a transaction (programming error)");
            return -1;
        }
        db->nested = 0;
        if (!db->conn)
            return s_lost_in_tx(db, req_id, "RELEASE");
        if (s_simple(db, req_id, S_RELEASE, "RELEASE") == 0)
            return 0;
        /* as COMMIT of a failed transaction rolls it back: what the
         * savepoint holds is undone, the outer transaction goes on */
        if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
            s_simple_keep_error(db, req_id, S_ROLLBACK_TO);
        return -1;
    }
    if (!db->in_tx) {
        kv_error(req_id, "db COMMIT without a transaction (programming error)");
        return -1;
    }
    db->in_tx = 0;
    if (!db->conn)
        return s_lost_in_tx(db, req_id, "COMMIT");
    return s_simple(db, req_id, "COMMIT", "COMMIT");
}

void kv_db_rollback(kv_db_t *db, const char *req_id)
{
    if (db->outer) {
        /* the handler's savepoint, if any; the outer transaction is not
         * the handler's to end */
        int was = db->nested;
        db->nested = 0;
        if (was && db->conn && PQstatus(db->conn) == CONNECTION_OK)
            s_simple_keep_error(db, req_id, S_ROLLBACK_TO);
        return;
    }
    int was = db->in_tx;
    db->in_tx = 0;
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK)
        return;
    PGTransactionStatusType ts = PQtransactionStatus(db->conn);
    if (!was && ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR)
        return;
    /* keep the error of the statement that made us roll back */
    s_simple_keep_error(db, req_id, "ROLLBACK");
}

int kv_db_outer_begin(kv_db_t *db, const char *req_id)
{
    if (db->in_tx) {
        kv_error(req_id, "db outer BEGIN while a transaction is open (programming error)");
        return -1;
    }
    if (s_begin(db, req_id) != 0)
        return -1;
    db->outer = 1;
    db->nested = 0;
    return 0;
}

int kv_db_outer_commit(kv_db_t *db, const char *req_id)
{
    if (!db->outer || db->nested) {
        kv_error(req_id, "db outer COMMIT %s (programming error)",
                 db->outer ? "with the handler's savepoint open" : "without an outer transaction");
        kv_db_outer_rollback(db, req_id);
        return -1;
    }
    db->outer = 0;
    return kv_db_commit(db, req_id);
}

void kv_db_outer_rollback(kv_db_t *db, const char *req_id)
{
    db->outer = 0;
    db->nested = 0;
    kv_db_rollback(db, req_id);
}

int kv_db_outer_open(const kv_db_t *db)
{
    return db->outer;
}

int kv_db_outer_ok(const kv_db_t *db)
{
    return db->outer && !db->nested && db->conn && PQstatus(db->conn) == CONNECTION_OK &&
           PQtransactionStatus(db->conn) == PQTRANS_INTRANS;
}

const char *kv_db_str(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    return PQgetvalue(r, row, col);
}

long long kv_db_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

const char *kv_db_i64_param(char buf[KV_DB_I64_LEN], long long v)
{
    snprintf(buf, KV_DB_I64_LEN, "%lld", v);
    return buf;
}

int kv_db_page(kv_db_t *db, const char *req_id,
               const char *count_stmt, int count_n, const char *const *count_params,
               const char *list_stmt, int list_n, const char *const *list_params,
               long long offset, long long *total, PGresult **rows)
{
    *rows = NULL;
    kv_db_call_t calls[2] = { { count_stmt, count_n, count_params, NULL },
                              { list_stmt, list_n, list_params, NULL } };
    if (kv_db_pipeline(db, req_id, calls, 2) != 0)
        return -1;
    *total = kv_db_i64(calls[0].res, 0, 0);
    PQclear(calls[0].res);
    if (offset >= *total) {
        PQclear(calls[1].res);
        return 0;
    }
    *rows = calls[1].res;
    return 0;
}

/* ---- migrations ------------------------------------------------------ */

/* Runs sql (a fixed or trusted text) with PQexecParams and up to one text
 * parameter; 0 on COMMAND_OK/TUPLES_OK, -1 (logged) otherwise.  *out, when
 * given, receives the result (caller clears). */
static int s_mig_exec(kv_db_t *db, const char *what, const char *sql,
                      const char *param, PGresult **out)
{
    const char *params[1] = { param };
    PGresult *r = param ? PQexecParams(db->conn, sql, 1, NULL, params, NULL, NULL, 0)
                        : PQexec(db->conn, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        s_fail(db, NULL, what, r);
        PQclear(r);
        return -1;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

static int s_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole file; caller owns the result.  NULL on error (logged). */
static char *s_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        kv_error(NULL, "migration %s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 8192, len = 0;
    char *buf = kv_malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            cap *= 2;
            buf = kv_realloc(buf, cap);
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        kv_error(NULL, "migration %s: read error", path);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        kv_error(NULL, "migration %s: contains a NUL byte", path);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Applies one migration file inside its own transaction, unless the schema
 * has it already.  0/-1. */
static int s_apply(kv_db_t *db, const char *dir, const char *name)
{
    int rc = -1;
    PGresult *r = NULL;
    char *path = kv_asprintf("%s/%s", dir, name);
    char *text = NULL;

    if (s_mig_exec(db, "migration lookup",
                   "SELECT 1 FROM schema_migrations WHERE version = $1", name, &r) != 0)
        goto out;
    if (PQntuples(r) > 0) {
        rc = 0;   /* already applied */
        goto out;
    }
    text = s_read_file(path);
    if (!text)
        goto out;
    if (s_mig_exec(db, "migration BEGIN", "BEGIN", NULL, NULL) != 0)
        goto out;
    char what[300];
    snprintf(what, sizeof what, "migration %s", name);
    if (s_mig_exec(db, what, text, NULL, NULL) != 0 ||
        s_mig_exec(db, "migration record",
                   "INSERT INTO schema_migrations (version) VALUES ($1)", name, NULL) != 0 ||
        s_mig_exec(db, "migration COMMIT", "COMMIT", NULL, NULL) != 0) {
        PQclear(PQexec(db->conn, "ROLLBACK"));
        goto out;
    }
    kv_info(NULL, "migration %s/%s applied", db->service, name);
    rc = 0;
out:
    PQclear(r);
    free(text);
    free(path);
    return rc;
}

/* Logs the migrations the schema has and this build does not: a newer
 * version of the service applied them.  That is expected during a rolling
 * upgrade, and harmless because migrations only expand (docs/upgrades.md):
 * this version keeps working on the larger schema.  0, or -1 when the
 * table cannot be read. */
static int s_newer(kv_db_t *db, char **names, size_t count)
{
    PGresult *r = NULL;
    if (s_mig_exec(db, "migration list", "SELECT version FROM schema_migrations ORDER BY version",
                   NULL, &r) != 0)
        return -1;
    int unknown = 0;
    const char *last = NULL;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *v = PQgetvalue(r, i, 0);
        if (!bsearch(&v, names, count, sizeof *names, s_cmp_names)) {
            unknown++;
            last = v;
        }
    }
    if (unknown)
        kv_info(NULL, "schema %s has %d migration(s) this build does not know (the newest: %s): "
                "applied by a newer version; running on the expanded schema", db->service,
                unknown, last);
    PQclear(r);
    return 0;
}

int kv_db_migrate(kv_db_t *db)
{
    int rc = -1;
    int locked = 0;
    char **names = NULL;
    size_t count = 0, cap = 0;
    DIR *d = NULL;
    char *dir = kv_asprintf("%s/%s", kv_env_str("KAIVOX_SQL_DIR", "sql"), db->service);
    char *lockkey = kv_asprintf("kaivox_migrate_%s", db->service);

    if (db->in_tx) {
        kv_error(NULL, "migrations cannot run inside a transaction");
        goto out;
    }
    if ((!db->conn || PQstatus(db->conn) != CONNECTION_OK) && s_connect(db) != 0)
        goto out;

    d = opendir(dir);
    if (!d) {
        kv_error(NULL, "migrations: cannot open directory %s: %s", dir, strerror(errno));
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || e->d_name[0] == '.' || strcmp(e->d_name + len - 4, ".sql") != 0)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            names = kv_realloc(names, cap * sizeof *names);
        }
        names[count++] = kv_strdup(e->d_name);
    }
    qsort(names, count, sizeof *names, s_cmp_names);

    if (s_mig_exec(db, "migration lock", "SELECT pg_advisory_lock(hashtext($1))",
                   lockkey, NULL) != 0)
        goto out;
    locked = 1;
    if (s_mig_exec(db, "migration table",
                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   "version text PRIMARY KEY, "
                   "applied_at timestamptz NOT NULL DEFAULT now())", NULL, NULL) != 0)
        goto out;
    for (size_t i = 0; i < count; i++) {
        if (s_apply(db, dir, names[i]) != 0)
            goto out;
    }
    if (s_newer(db, names, count) != 0)
        goto out;
    rc = 0;
out:
    if (locked && db->conn && PQstatus(db->conn) == CONNECTION_OK)
        (void)s_mig_exec(db, "migration unlock", "SELECT pg_advisory_unlock(hashtext($1))",
                         lockkey, NULL);
    if (rc != 0)
        kv_error(NULL, "migrations of %s failed", db->service);
    if (d)
        closedir(d);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    free(lockkey);
    free(dir);
    return rc;
}
