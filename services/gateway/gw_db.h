/*
 * gw_db.h -- the gateway's SQL: its statement table and the per-thread
 * connection.
 *
 * Every HTTP thread (of both listeners) gets its own kv_db_t on first use,
 * created lazily and closed when the thread exits, so a request never opens
 * a connection and no two threads share one.
 */
#ifndef GW_DB_H
#define GW_DB_H

#include "kv_db.h"

/* The gateway's named statements (see gw_db.c), {NULL, NULL} terminated. */
extern const kv_stmt_t gw_db_stmts[];

/* This thread's connection, connected and prepared; NULL when the database
 * cannot be reached right now (logged).  Owned by the thread: do not
 * destroy. */
kv_db_t *gw_db_thread(void);

#endif
