/*
 * gw_db.h -- the gateway's SQL: its statement table, the per-thread
 * connection, and the start-up reads of the key secret and legacy set.
 *
 * The admin listener's thread gets its own kv_db_t on first use, created
 * lazily and closed when the thread exits, so a request never opens a
 * connection and no two threads share one; the key lookup thread
 * (gw_auth.c) has its own.
 */
#ifndef GW_DB_H
#define GW_DB_H

#include "gw_keys.h"
#include "kv_db.h"

/* The gateway's named statements (see gw_db.c), {NULL, NULL} terminated. */
extern const kv_stmt_t gw_db_stmts[];

/* This thread's connection, connected and prepared; NULL when the database
 * cannot be reached right now (logged).  Owned by the thread: do not
 * destroy. */
kv_db_t *gw_db_thread(void);

/* Reads the non-revoked legacy keys' digests into out (initialised by
 * the caller; sealed here).  0, or -1 when the database cannot be asked
 * (logged). */
int gw_db_legacy_keys(kv_db_t *db, gw_keyset_t *out);

/* Start-up: makes sure the deployment's key secret exists (the first
 * gateway to start creates it, see sql/gateway/002_keyed_checksum.sql),
 * reads it into secret and the legacy set into legacy (initialised by the
 * caller).  Opens and closes its own connection.  0, or -1 (logged). */
int gw_db_key_secret(unsigned char secret[GW_KEY_SECRET_LEN], gw_keyset_t *legacy);

#endif
