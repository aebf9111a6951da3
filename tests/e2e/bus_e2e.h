/*
 * bus_e2e.h -- helpers of the bus end-to-end tests (tests/e2e/test_bus_*.c):
 * a fake worker that speaks the worker side of proto/bus.md by hand (so a
 * test can make it answer wrongly, hold a request or announce what it
 * likes), raw frames to the broker, /readyz readers, a steady mixed load
 * over HTTP from several threads, and stack helpers (an extra instance
 * started with extra settings, waiting for its workers).  Header-only
 * (static functions) like the other e2e helpers.
 */
#ifndef BUS_E2E_H
#define BUS_E2E_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "gw_e2e.h"
#include "kv_env.h"
#include "kv_log.h"

/* ---- time --------------------------------------------------------------- */

static inline double bus_now(void)   /* seconds, monotonic */
{
    return (double)kv_mono_ns() / 1e9;
}

static inline const char *bus_endpoint(void)
{
    return kvt_env("KAIVOX_BUS_ENDPOINT", "tcp://127.0.0.1:18070");
}

/* ---- a fake worker ---------------------------------------------------------- */

typedef struct {
    void *sock;                  /* DEALER to the broker */
    double heartbeat_at;         /* next heartbeat due (bus_now) */
    kv_msg_t *req;               /* the last REQUEST received, owned */
    kv_hdr_t hdr;                /* its header */
    int disconnects;             /* DISCONNECTs received */
    int withdraw_acks;           /* WITHDRAW acknowledgements received */
} bus_fake_t;

/* A fake worker of service that sent READY with the JSON frame info
 * (NULL: without it), presenting service's own bus key (the test stack's
 * key directory has one for every service and for "kvt-legacy").  Caller
 * owns it (bus_fake_close). */
static inline bus_fake_t *bus_fake_new(void *zmq, const char *service, const char *info)
{
    bus_fake_t *f = calloc(1, sizeof *f);
    f->sock = kv_msg_socket(zmq, ZMQ_DEALER);
    gw_bus_keys();
    kv_curve_client_as(f->sock, service);   /* the service's own key */
    zmq_connect(f->sock, bus_endpoint());
    kv_msg_t *m = kv_bus_ready_info(service, info);
    kv_msg_send(m, f->sock);
    kv_msg_destroy(&m);
    f->heartbeat_at = bus_now() + 1.0;
    return f;
}

/* READY's JSON frame for a fake instance: ops is a comma-separated list,
 * each name optionally followed by ":r" for read-only.  Caller frees. */
static inline char *bus_fake_info(int v, const char *instance, int workers, const char *ops)
{
    char *s = malloc(4096);
    size_t o = (size_t)snprintf(s, 4096, "{\"v\":%d,\"instance\":\"%s\",\"workers\":%d,\"ops\":[",
                                v, instance, workers);
    char ro[1024] = "";
    size_t ro_o = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", ops);
    int first = 1;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *colon = strchr(tok, ':');
        if (colon)
            *colon = '\0';
        o += (size_t)snprintf(s + o, 4096 - o, "%s\"%s\"", first ? "" : ",", tok);
        if (colon && colon[1] == 'r')
            ro_o += (size_t)snprintf(ro + ro_o, sizeof ro - ro_o, "%s\"%s\"", ro_o ? "," : "", tok);
        first = 0;
    }
    snprintf(s + o, 4096 - o, "],\"read_only\":[%s]}", ro);
    return s;
}

/* Sends a heartbeat when one is due. */
static inline void bus_fake_heartbeat(bus_fake_t *f)
{
    if (bus_now() >= f->heartbeat_at) {
        kv_msg_t *hb = kv_bus_heartbeat();
        kv_msg_send(hb, f->sock);
        kv_msg_destroy(&hb);
        f->heartbeat_at = bus_now() + 1.0;
    }
}

/* Reads what the broker sends for at most ms, heartbeating; returns 1 as
 * soon as a REQUEST arrived (in f->req / f->hdr), else 0.  With stop_on
 * set, also returns 1 when that command arrived. */
static inline int bus_fake_pump(bus_fake_t *f, int ms, int stop_on)
{
    double until = bus_now() + ms / 1000.0;
    for (;;) {
        bus_fake_heartbeat(f);
        double left = until - bus_now();
        if (left <= 0)
            return 0;
        kv_msg_t *m = kv_msg_recv(f->sock, left > 0.1 ? 100 : (int)(left * 1000) + 1);
        if (!m)
            continue;
        kv_bus_frame_t fr;
        int cmd = -1;
        if (kv_bus_parse(m, KV_BUS_AT_WORKER, &fr) == KV_BUS_OK)
            cmd = fr.cmd;
        if (cmd == KV_CMD_REQUEST) {
            kv_msg_destroy(&f->req);
            f->req = m;
            kv_hdr_decode(fr.header, fr.header_len, 0, &f->hdr);
            return 1;
        }
        if (cmd == KV_CMD_DISCONNECT)
            f->disconnects++;
        if (cmd == KV_CMD_WITHDRAW)
            f->withdraw_acks++;
        kv_msg_destroy(&m);
        if (stop_on && cmd == stop_on)
            return 1;
    }
}

/* Answers the last request with status and body[0..len) (a header text
 * of our own when hdr_text is not NULL). */
static inline void bus_fake_reply_raw(bus_fake_t *f, const char *hdr_text, int status,
                                      const char *body, size_t len)
{
    size_t rlen;
    const char *ret = kv_msg_data(f->req, 2, &rlen);
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    snprintf(h.id, sizeof h.id, "%s", f->hdr.id);
    h.status = status;
    char *t = hdr_text ? strdup(hdr_text) : kv_hdr_encode(&h, 1);
    kv_msg_t *m = kv_bus_envelope(KV_CMD_REPLY, ret, rlen, t, strlen(t), body, len);
    kv_msg_send(m, f->sock);
    kv_msg_destroy(&m);
    free(t);
}

static inline void bus_fake_reply(bus_fake_t *f, int status, const char *body)
{
    bus_fake_reply_raw(f, NULL, status, body, strlen(body));
}

static inline void bus_fake_send_cmd(bus_fake_t *f, kv_msg_t *(*make)(void))
{
    kv_msg_t *m = make();
    kv_msg_send(m, f->sock);
    kv_msg_destroy(&m);
}

/* Says goodbye (unless bye is 0) and frees f. */
static inline void bus_fake_close(bus_fake_t **pf, int bye)
{
    bus_fake_t *f = *pf;
    if (!f)
        return;
    if (bye) {
        bus_fake_send_cmd(f, kv_bus_disconnect);
        int linger = 500;
        zmq_setsockopt(f->sock, ZMQ_LINGER, &linger, sizeof linger);
    }
    zmq_close(f->sock);
    kv_msg_destroy(&f->req);
    free(f);
    *pf = NULL;
}

/* ---- calls through the broker ------------------------------------------------ */

/* One call of service.op as a system call of tenant (0: none) with a
 * timeout; *secs gets its duration; *out the envelope (caller owns). */
static inline int bus_call(kv_client_t *c, int64_t tenant, const char *service, const char *op,
                           int timeout_ms, double *secs, json_t **out)
{
    char rid[33];
    kv_bus_new_id(rid);
    json_t *o = NULL;
    double t0 = bus_now();
    int st = kv_client_call_tenant(c, rid, tenant, service, op, NULL, NULL, timeout_ms, &o);
    if (secs)
        *secs = bus_now() - t0;
    if (out)
        *out = o;
    else
        json_decref(o);
    return st;
}

/* ---- readiness ------------------------------------------------------------------ */

/* /readyz: its status, and the workers of service (-1 when absent). */
static inline long bus_readyz(const char *service, long long *workers, json_t **body)
{
    kvt_resp_t r = gw_get_with("/readyz", NULL);
    json_t *data = json_object_get(r.json, "data");
    json_t *w = json_object_get(data ? data : r.json, "workers");
    json_t *n = json_object_get(w, service);
    if (workers)
        *workers = json_is_integer(n) ? json_integer_value(n) : -1;
    if (body)
        *body = json_incref(r.json);
    long st = r.status;
    kvt_resp_free(&r);
    return st;
}

/* Polls /readyz until it answers 200 with want workers of service, at
 * most ms; returns the workers seen last. */
static inline long long bus_wait_workers(const char *service, long long want, int ms)
{
    long long n = -1;
    double until = bus_now() + ms / 1000.0;
    for (;;) {
        long st = bus_readyz(service, &n, NULL);
        if (st == 200 && n == want)
            return n;
        if (bus_now() > until)
            return n;
        kvt_sleep_ms(100);
    }
}

/* Workers of one instance of service, read once the stack is ready. */
static inline long long bus_per_instance(const char *service)
{
    long long n = -1;
    for (int i = 0; i < 100 && (bus_readyz(service, &n, NULL) != 200 || n <= 0); i++)
        kvt_sleep_ms(100);
    return n;
}

/* Runs "$KVT_STACK start NAME --instance N" with extra environment
 * settings env ("A=1 B=2", may be NULL) for that process only. */
static inline int bus_start(const char *name, int instance, const char *env)
{
    char args[512], buf[1024];
    char *saved[8] = { 0 };
    char names[8][64];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", env ? env : "");
    for (char *tok = strtok(buf, " "); tok && n < 8; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        snprintf(names[n], sizeof names[n], "%s", tok);
        const char *old = getenv(tok);
        saved[n] = old ? strdup(old) : NULL;
        setenv(tok, eq + 1, 1);
        n++;
    }
    snprintf(args, sizeof args, "start %s --instance %d", name, instance);
    int rc = kvt_stack(args);
    for (int i = 0; i < n; i++) {
        if (saved[i]) {
            setenv(names[i], saved[i], 1);
            free(saved[i]);
        } else {
            unsetenv(names[i]);
        }
    }
    return rc;
}

static inline int bus_stack(const char *cmd, const char *name, int instance)
{
    char args[256];
    snprintf(args, sizeof args, "%s %s --instance %d", cmd, name, instance);
    return kvt_stack(args);
}

/* True when the process log var/log/<stem>.log contains needle. */
static inline int bus_log_has(const char *stem, const char *needle)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/log/%s.log", kvt_env("KAIVOX_VAR_DIR", "var"), stem);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[8192];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* How many lines of the process log var/log/<stem>.log contain needle. */
static inline int bus_log_count(const char *stem, const char *needle)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/log/%s.log", kvt_env("KAIVOX_VAR_DIR", "var"), stem);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* ---- a steady mixed load ------------------------------------------------------------ */

#define BUS_LOAD_THREADS 8

typedef struct {
    char key[64];                /* this thread's tenant's key (rate limits are per key) */
    long long customer;          /* a customer of that tenant */
    int index;
    atomic_long sent, failed;
    char first_failure[256];
} bus_load_thread_t;

typedef struct {
    atomic_int stop;
    int per_thread_ms;           /* pause between two requests of a thread */
    const char *only;            /* NULL: every tier; else "scheduling", "crm", ... */
    bus_load_thread_t t[BUS_LOAD_THREADS];
    pthread_t th[BUS_LOAD_THREADS];
} bus_load_t;

/* One request of the mix: i chooses which.  Returns 1 when it succeeded
 * (2xx), 0 (and fills why) when not. */
static inline int bus_load_one(bus_load_thread_t *t, const char *only, long i, char *why, size_t n)
{
    static const char *const kinds[] = {
        "scheduling", "crm", "crm", "calls", "calls", "webhooks", "scheduling", "crm"
    };
    const char *kind = only ? only : kinds[i % 8];
    kvt_resp_t r;
    char body[512];
    long u = (long)t->index * 100000000L + i;
    if (strcmp(kind, "scheduling") == 0) {
        r = kvt_api(t->key, "GET", i % 2 ? "/api/v1/services" : "/api/v1/staff", NULL);
    } else if (strcmp(kind, "crm") == 0) {
        if (i % 3 == 0) {
            snprintf(body, sizeof body, "{\"name\":\"Load %ld\",\"phone\":\"+1%010ld\"}", u,
                     5550000000L + u % 1000000000L);
            r = kvt_api(t->key, "POST", "/api/v1/customers", body);
        } else {
            char path[64];
            snprintf(path, sizeof path, "/api/v1/customers/%lld", t->customer);
            r = kvt_api(t->key, "GET", i % 3 == 1 ? path : "/api/v1/customers", NULL);
        }
    } else if (strcmp(kind, "calls") == 0) {
        if (i % 2 == 0) {
            /* a write that also calls crm (find_or_create) over the bus */
            snprintf(body, sizeof body,
                     "{\"external_id\":\"load-%ld\",\"caller_phone\":\"+1%010ld\",\"direction\":\"inbound\","
                     "\"started_at\":\"2026-03-10T10:00:00Z\",\"ended_at\":\"2026-03-10T10:01:00Z\"}",
                     u, 5560000000L + u % 1000000000L);
            r = kvt_api(t->key, "POST", "/api/v1/calls", body);
        } else {
            r = kvt_api(t->key, "GET", "/api/v1/calls", NULL);
        }
    } else {
        r = kvt_api(t->key, "GET", "/api/v1/webhooks", NULL);
    }
    int ok = r.status >= 200 && r.status < 300;
    if (!ok)
        snprintf(why, n, "%s -> %ld %.150s", kind, r.status, r.body ? r.body : "");
    kvt_resp_free(&r);
    return ok;
}

static inline void *bus_load_run(void *arg)
{
    bus_load_t *l = *(bus_load_t **)arg;
    bus_load_thread_t *t = (bus_load_thread_t *)((bus_load_t **)arg)[1];
    for (long i = 0; !atomic_load(&l->stop); i++) {
        char why[256];
        atomic_fetch_add(&t->sent, 1);
        if (!bus_load_one(t, l->only, i, why, sizeof why)) {
            if (atomic_fetch_add(&t->failed, 1) == 0)
                snprintf(t->first_failure, sizeof t->first_failure, "%s", why);
        }
        kvt_sleep_ms(l->per_thread_ms);
    }
    free(arg);
    return NULL;
}

/* Prepares the tenants of a load (one per thread).  0 or -1. */
static inline int bus_load_init(bus_load_t *l, const char *prefix, int rate_per_s, const char *only)
{
    memset(l, 0, sizeof *l);
    l->only = only;
    l->per_thread_ms = 1000 * BUS_LOAD_THREADS / (rate_per_s > 0 ? rate_per_s : 50);
    for (int i = 0; i < BUS_LOAD_THREADS; i++) {
        int64_t tid;
        char name[64];
        snprintf(name, sizeof name, "%s-%d", prefix, i);
        if (kvt_tenant(name, NULL, &tid, l->t[i].key) != 0)
            return -1;
        l->t[i].index = i;
        char body[128];
        snprintf(body, sizeof body, "{\"name\":\"Regular %d\",\"phone\":\"+1555%07d\"}", i, 1000000 + i);
        kvt_resp_t r = kvt_api(l->t[i].key, "POST", "/api/v1/customers", body);
        json_t *id = json_object_get(json_object_get(r.json, "data"), "id");
        l->t[i].customer = json_is_integer(id) ? json_integer_value(id) : 1;
        kvt_resp_free(&r);
    }
    return 0;
}

static inline void bus_load_start(bus_load_t *l)
{
    for (int i = 0; i < BUS_LOAD_THREADS; i++) {
        void **arg = malloc(2 * sizeof *arg);
        arg[0] = l;
        arg[1] = &l->t[i];
        pthread_create(&l->th[i], NULL, bus_load_run, arg);
    }
}

/* Stops the load; returns the failures, *sent the requests sent. */
static inline long bus_load_stop(bus_load_t *l, long *sent, char *first, size_t n)
{
    atomic_store(&l->stop, 1);
    long failed = 0, total = 0;
    if (first && n)
        first[0] = '\0';
    for (int i = 0; i < BUS_LOAD_THREADS; i++) {
        pthread_join(l->th[i], NULL);
        total += atomic_load(&l->t[i].sent);
        long f = atomic_load(&l->t[i].failed);
        if (f && first && !first[0])
            snprintf(first, n, "%s", l->t[i].first_failure);
        failed += f;
    }
    if (sent)
        *sent = total;
    return failed;
}

#endif
