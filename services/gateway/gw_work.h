/*
 * gw_work.h -- the gateway's console workers: a few threads, each with its
 * own database connection, that run the console's jobs (session lookups,
 * sign-in, set-password, API key management) off the event loop.
 *
 * The loop thread must never wait for PostgreSQL or spend tens of
 * milliseconds hashing a password, so such work is a job: the loop thread
 * submits it and suspends the connection; a worker runs job->run(); the
 * loop thread is told through an eventfd (gw_work_wake_fd) and runs
 * job->done() there, which resumes the connection.  This is the pattern of
 * the key lookups (gw_auth.c), for work of any kind.
 *
 * Two kinds of job: light (a lookup, a few statements) and heavy (an
 * Argon2id hash or verification: ~50 ms of CPU and 19 MiB of memory).  At
 * most threads - 1 workers run heavy jobs at once, so a burst of sign-ins
 * never holds up the session lookups every console request needs.  A job
 * waits at most its wait_ms: then done() runs with GW_WORK_UNAVAILABLE
 * (503) and the job's outcome, when it comes, is dropped.  The queue is
 * bounded: a full queue refuses the job at once.
 */
#ifndef GW_WORK_H
#define GW_WORK_H

#include <stdint.h>

#include "kv_db.h"

typedef struct gw_work gw_work_t;
typedef struct gw_job gw_job_t;

enum {
    GW_WORK_OK = 0,              /* run() ran: its outcome is in the job */
    GW_WORK_UNAVAILABLE = -1,    /* it did not run in time, or the pool stopped */
};

/* One unit of work.  The submitter embeds it as the first member of its own
 * struct, fills the first five fields, and must not touch the job between
 * gw_work_submit() and done(). */
struct gw_job {
    /* Worker thread.  db is the worker's connection, connected and
     * prepared, or NULL when the database cannot be reached now.  Writes
     * its outcome into the job (never into anything the loop thread owns). */
    void (*run)(gw_job_t *j, kv_db_t *db);
    /* Loop thread, exactly once: GW_WORK_OK after run(), or
     * GW_WORK_UNAVAILABLE.  The job is still valid during the call. */
    void (*done)(gw_job_t *j, int rc);
    /* Frees the job once both run() (if it started) and done() are over;
     * NULL: free(j).  Runs on the loop thread. */
    void (*release)(gw_job_t *j);
    int heavy;                   /* 1: password hashing */
    int wait_ms;                 /* > 0: how long done() may wait for run() */

    /* The pool's own. */
    int64_t submitted_ms;
    int state;
    int answered;                /* done() ran */
    gw_job_t *queue_next;        /* queue or done list, under the pool's mutex */
    gw_job_t *inflight_next;     /* the loop thread's list */
};

/* Starts threads (>= 2) workers, each with its own database connection
 * (made on first use); queue_max bounds the jobs waiting.  The calling
 * thread is the loop thread.  Caller owns the result; NULL when a thread
 * cannot be started (logged). */
gw_work_t *gw_work_new(int threads, int queue_max);

/* Stops the workers (waiting for the jobs they run), then answers every job
 * not answered yet with GW_WORK_UNAVAILABLE and frees them: call on the
 * loop thread.  Frees *pw, sets it to NULL; safe on NULL. */
void gw_work_destroy(gw_work_t **pw);

/* Loop thread.  Queues j.  0, or -1 when the queue is full or the pool is
 * stopping (j untouched: the caller still owns it). */
int gw_work_submit(gw_work_t *w, gw_job_t *j);

/* Loop thread: the eventfd the workers poke, and what to do when it is
 * readable (runs done() of finished jobs). */
int gw_work_wake_fd(const gw_work_t *w);
void gw_work_on_wake(gw_work_t *w);

/* Loop thread.  Answers GW_WORK_UNAVAILABLE to jobs past their wait_ms;
 * call at least every few hundred ms.  Returns how many it answered. */
int gw_work_tick(gw_work_t *w);

#endif
