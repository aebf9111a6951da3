/*
 * gw_work.c -- the console workers (see gw_work.h).
 *
 * A job is in one place at a time: a queue (light or heavy, under w->mu),
 * a worker (state S_RUNNING), the done list (under w->mu), and, from
 * submission until it is released, the loop thread's in-flight list, which
 * only the loop thread touches.  A job that waits too long is answered by
 * gw_work_tick: taken out of its queue and released at once when it never
 * started, else marked answered, and released without a second done() when
 * its worker hands it back.
 */
#include "gw_work.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gw_db.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"

enum { S_QUEUED = 0, S_RUNNING, S_FINISHED };

#define S_MAX_THREADS 16

typedef struct {
    gw_job_t *head, *tail;
} s_fifo_t;

struct gw_work {
    pthread_mutex_t mu;          /* guards light, heavy, done, heavy_running,
                                    queued, stop and every job's state */
    pthread_cond_t cv;           /* a job arrived, or stop */
    s_fifo_t light, heavy;       /* waiting jobs */
    gw_job_t *done;              /* finished, for the loop thread (LIFO) */
    int queued;                  /* jobs in both queues */
    int queue_max;
    int heavy_running;
    int stop;
    int nthreads;
    pthread_t threads[S_MAX_THREADS];
    int started;                 /* threads started */
    int efd;
    gw_job_t *inflight;          /* loop thread only */
};

static void s_push(s_fifo_t *q, gw_job_t *j)
{
    j->queue_next = NULL;
    if (q->tail)
        q->tail->queue_next = j;
    else
        q->head = j;
    q->tail = j;
}

static gw_job_t *s_pop(s_fifo_t *q)
{
    gw_job_t *j = q->head;
    if (j) {
        q->head = j->queue_next;
        if (!q->head)
            q->tail = NULL;
        j->queue_next = NULL;
    }
    return j;
}

/* Removes j from q; 1 when it was there. */
static int s_unlink(s_fifo_t *q, gw_job_t *j)
{
    gw_job_t *prev = NULL;
    for (gw_job_t *x = q->head; x; prev = x, x = x->queue_next) {
        if (x != j)
            continue;
        if (prev)
            prev->queue_next = x->queue_next;
        else
            q->head = x->queue_next;
        if (q->tail == x)
            q->tail = prev;
        x->queue_next = NULL;
        return 1;
    }
    return 0;
}

static void s_poke(gw_work_t *w)
{
    uint64_t one = 1;
    if (write(w->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        kv_warn(NULL, "console workers: eventfd write: %s", strerror(errno));
}

static void *s_thread(void *arg)
{
    gw_work_t *w = arg;
    kv_db_t *db = kv_db_new("gateway", gw_db_stmts);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        gw_job_t *j = NULL;
        while (!w->stop) {
            j = s_pop(&w->light);
            if (!j && w->heavy_running < w->nthreads - 1 && (j = s_pop(&w->heavy)) != NULL)
                w->heavy_running++;
            if (j)
                break;
            pthread_cond_wait(&w->cv, &w->mu);
        }
        if (!j)
            break;
        w->queued--;
        j->state = S_RUNNING;
        pthread_mutex_unlock(&w->mu);

        j->run(j, kv_db_ensure(db) == 0 ? db : NULL);

        pthread_mutex_lock(&w->mu);
        if (j->heavy)
            w->heavy_running--;
        j->state = S_FINISHED;
        j->queue_next = w->done;
        w->done = j;
        /* a heavy slot may be free again: another worker may take one */
        pthread_cond_broadcast(&w->cv);
        s_poke(w);
    }
    pthread_mutex_unlock(&w->mu);
    kv_db_destroy(&db);
    return NULL;
}

gw_work_t *gw_work_new(int threads, int queue_max)
{
    if (threads < 2)
        threads = 2;
    if (threads > S_MAX_THREADS)
        threads = S_MAX_THREADS;
    gw_work_t *w = kv_calloc(1, sizeof *w);
    w->nthreads = threads;
    w->queue_max = queue_max > 0 ? queue_max : 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        kv_error(NULL, "console workers: eventfd: %s", strerror(errno));
        gw_work_destroy(&w);
        return NULL;
    }
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&w->threads[i], NULL, s_thread, w) != 0) {
            kv_error(NULL, "console workers: cannot start a thread");
            gw_work_destroy(&w);
            return NULL;
        }
        w->started++;
    }
    return w;
}

/* Unlinks j from the in-flight list and releases it. */
static void s_release(gw_work_t *w, gw_job_t *j)
{
    gw_job_t **pp = &w->inflight;
    while (*pp && *pp != j)
        pp = &(*pp)->inflight_next;
    if (*pp)
        *pp = j->inflight_next;
    if (j->release)
        j->release(j);
    else
        free(j);
}

void gw_work_on_wake(gw_work_t *w)
{
    uint64_t v;
    if (read(w->efd, &v, sizeof v) < 0 && errno != EAGAIN)
        kv_warn(NULL, "console workers: eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&w->mu);
    gw_job_t *list = w->done;
    w->done = NULL;
    pthread_mutex_unlock(&w->mu);
    while (list) {
        gw_job_t *j = list;
        list = j->queue_next;
        if (!j->answered) {
            j->answered = 1;
            j->done(j, GW_WORK_OK);
        }
        s_release(w, j);
    }
}

int gw_work_tick(gw_work_t *w)
{
    int n = 0;
    int64_t now = kv_mono_ms();
    gw_job_t *j = w->inflight;
    while (j) {
        gw_job_t *next = j->inflight_next;
        if (!j->answered && now - j->submitted_ms >= j->wait_ms) {
            pthread_mutex_lock(&w->mu);
            int never_ran = j->state == S_QUEUED &&
                            (s_unlink(&w->light, j) || s_unlink(&w->heavy, j));
            if (never_ran)
                w->queued--;
            pthread_mutex_unlock(&w->mu);
            kv_warn(NULL, "console job unanswered after %d ms: 503", j->wait_ms);
            j->answered = 1;
            j->done(j, GW_WORK_UNAVAILABLE);
            n++;
            if (never_ran)
                s_release(w, j);
        }
        j = next;
    }
    return n;
}

int gw_work_submit(gw_work_t *w, gw_job_t *j)
{
    pthread_mutex_lock(&w->mu);
    if (w->stop || w->queued >= w->queue_max) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    j->submitted_ms = kv_mono_ms();
    if (j->wait_ms <= 0)
        j->wait_ms = 5000;
    j->state = S_QUEUED;
    j->answered = 0;
    s_push(j->heavy ? &w->heavy : &w->light, j);
    w->queued++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    j->inflight_next = w->inflight;
    w->inflight = j;
    return 0;
}

int gw_work_wake_fd(const gw_work_t *w)
{
    return w->efd;
}

void gw_work_destroy(gw_work_t **pw)
{
    if (!pw || !*pw)
        return;
    gw_work_t *w = *pw;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->started; i++)
        pthread_join(w->threads[i], NULL);
    if (w->efd >= 0)
        gw_work_on_wake(w);          /* what finished */
    while (w->inflight) {            /* what never ran */
        gw_job_t *j = w->inflight;
        if (!j->answered) {
            j->answered = 1;
            j->done(j, GW_WORK_UNAVAILABLE);
        }
        s_release(w, j);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    if (w->efd >= 0)
        close(w->efd);
    free(w);
    *pw = NULL;
}
