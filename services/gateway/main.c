/*
 * main.c -- kaivox-gateway: wires the broker, the event proxy, the key
 * cache, the rate limiter and the two HTTP listeners, then waits for
 * SIGINT/SIGTERM.
 *
 *   kaivox-gateway                 run (settings from KAIVOX_* variables)
 *   kaivox-gateway --print-routes  print "METHOD PATTERN SERVICE OP" of every public route
 *
 * The main thread becomes the event loop (gw_loop.c): public HTTP, broker
 * and key lookup answers on one thread.  Beside it run the key lookup
 * thread (gw_auth.c), the console workers (gw_work.c), the event proxy
 * thread (gw_events.c), the ZAP handler's thread (kv_curve.c: it admits
 * the services' CURVE keys), the admin listener's thread and ZeroMQ's I/O
 * thread.
 *
 * Shutdown order matters: the loop drains first (see gw_loop.h), then the
 * broker gate closes (admin forwards get 503 at once), the broker is
 * destroyed (every pending request is answered, which resumes its
 * suspended connection), and only then the daemons stop, because
 * libmicrohttpd must not be stopped with suspended connections.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <zmq.h>

#include "gw_admin.h"
#include "gw_auth.h"
#include "gw_broker.h"
#include "gw_console.h"
#include "gw_db.h"
#include "gw_http.h"
#include "gw_iplimit.h"
#include "gw_keys.h"
#include "gw_loop.h"
#include "gw_poll.h"
#include "gw_password.h"
#include "gw_ratelimit.h"
#include "gw_routes.h"
#include "kv_curve.h"
#include "kv_db.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"

#include <openssl/crypto.h>

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: kaivox-gateway [--print-routes | --help]\n"
            "  Runs the KaiVox API gateway.  Settings are KAIVOX_* environment\n"
            "  variables (see README.md): KAIVOX_HTTP_ADDR/PORT, KAIVOX_HTTP_MAX_CONNECTIONS[_PER_IP],\n"
            "  KAIVOX_HTTP_HEADER_TIMEOUT_MS, KAIVOX_HTTP_BODY_TIMEOUT_MS, KAIVOX_AUTH_FAIL_LIMIT,\n"
            "  KAIVOX_ADMIN_ADDR/PORT/TOKEN, KAIVOX_BUS_ENDPOINT, KAIVOX_DATABASE_URL, ...\n"
            "  --print-routes  prints \"METHOD PATTERN SERVICE OP\" for every public route and exits\n"
            "                  (\"gateway local\" for the routes the gateway serves itself).\n");
}

/* Applies the gateway's migrations, retrying while the database comes up
 * (at most wait_s seconds).  0 or -1. */
static int s_migrate(int wait_s)
{
    static const kv_stmt_t none[] = { { NULL, NULL } };
    int64_t until = kv_mono_ms() + (int64_t)wait_s * 1000;
    int delay_ms = 100;
    for (;;) {
        kv_db_t *db = kv_db_new("gateway", none);
        int rc = kv_db_migrate(db);
        kv_db_destroy(&db);
        if (rc == 0)
            return 0;
        if (kv_mono_ms() + delay_ms > until)
            return -1;
        kv_warn(NULL, "migrations failed, retrying in %d ms", delay_ms);
        usleep((useconds_t)delay_ms * 1000);
        if (delay_ms < 2000)
            delay_ms *= 2;
    }
}

int main(int argc, char **argv)
{
    int rc = 1;
    void *zctx = NULL;
    gw_broker_t *broker = NULL;
    gw_auth_t *auth = NULL;
    gw_ratelimit_t *rl = NULL;
    gw_authfail_t *authfail = NULL;
    gw_ratelimit_t *session_rl = NULL;
    gw_work_t *work = NULL;
    gw_server_t *http = NULL, *admin = NULL;
    gw_cidr_t *trusted = NULL;
    int ntrusted = 0;
    unsigned char secret[GW_KEY_SECRET_LEN];
    gw_keyset_t legacy;
    int loop_ok = 0;
    gw_keyset_init(&legacy);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--print-routes") == 0) {
            for (const gw_route_t *r = gw_routes; r->method; r++)   /* op NULL: served here */
                printf("%s %s %s %s\n", r->method, r->pattern, r->op ? r->op->service : "gateway",
                       r->op ? r->op->name : "local");
            return 0;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        s_usage(stderr);
        return 2;
    }

    kv_mem_configure();
    kv_log_init("gateway");
    if (kv_curve_init(KV_CURVE_GATEWAY) != 0)
        return 2;

    /* Every thread started from here on inherits this mask, so the
     * signals reach only the loop's signalfd. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    gw_http_cfg_t cfg = {
        .auth = NULL,
        .rl = NULL,
        .max_body = (size_t)kv_env_int("KAIVOX_MAX_BODY_BYTES", 1024 * 1024, 1024, INT32_MAX),
        .request_timeout_ms = (int)kv_env_int("KAIVOX_REQUEST_TIMEOUT_MS", 5000, 100, 600000),
    };
    int rate_limit = (int)kv_env_int("KAIVOX_RATE_LIMIT", 600, 1, 100000000);
    int auth_fail_limit = (int)kv_env_int("KAIVOX_AUTH_FAIL_LIMIT", 30, 0, 100000000);
    int cache_ttl = (int)kv_env_int("KAIVOX_KEY_CACHE_TTL_MS", 5000, 1, 3600000);
    gw_server_cfg_t hcfg = {
        .name = "http",
        .addr = kv_env_str("KAIVOX_HTTP_ADDR", "127.0.0.1"),
        .port = (int)kv_env_int("KAIVOX_HTTP_PORT", 8080, 1, 65535),
        .external = 1,
        .max_connections = (unsigned)kv_env_int("KAIVOX_HTTP_MAX_CONNECTIONS", 1024, 1, 65536),
        .timeout_s = (unsigned)kv_env_int("KAIVOX_HTTP_TIMEOUT_S", 30, 1, 3600),
        .max_per_ip = (unsigned)kv_env_int("KAIVOX_HTTP_MAX_CONNECTIONS_PER_IP", 64, 0, 65536),
        .header_timeout_ms = (int)kv_env_int("KAIVOX_HTTP_HEADER_TIMEOUT_MS", 20000, 0, 3600000),
        .body_timeout_ms = (int)kv_env_int("KAIVOX_HTTP_BODY_TIMEOUT_MS", 30000, 0, 3600000),
        .on_headers = gw_public_headers,
        .dispatch = gw_public_dispatch,
    };
    gw_server_cfg_t acfg = {
        .name = "admin",
        .addr = kv_env_str("KAIVOX_ADMIN_ADDR", "127.0.0.1"),
        .port = (int)kv_env_int("KAIVOX_ADMIN_PORT", 8081, 1, 65535),
        .external = 0,
        .max_connections = 64,
        .timeout_s = 30,
        .dispatch = gw_admin_dispatch,
    };
    int db_wait_s = (int)kv_env_int("KAIVOX_DB_WAIT_S", 30, 0, 3600);
    int console_workers = (int)kv_env_int("KAIVOX_CONSOLE_WORKERS", 3, 2, 16);
    static char console_url[512];
    {
        const char *a = hcfg.addr;
        int v6 = strchr(a, ':') != NULL;
        if (strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0)
            a = "127.0.0.1", v6 = 0;
        snprintf(console_url, sizeof console_url, "http://%s%s%s:%d/console/", v6 ? "[" : "",
                 a, v6 ? "]" : "", hcfg.port);
        const char *u = kv_env_str("KAIVOX_CONSOLE_URL", console_url);
        size_t n = strlen(u);
        if (n + 2 < sizeof console_url && u != console_url)
            snprintf(console_url, sizeof console_url, "%s%s", u, n && u[n - 1] == '/' ? "" : "/");
    }
    gw_console_cfg_t ccfg = {
        .idle_s = (int)kv_env_int("KAIVOX_SESSION_IDLE_S", 43200, 1, 31536000),
        .max_s = (int)kv_env_int("KAIVOX_SESSION_MAX_S", 604800, 1, 31536000),
        .signin_account_limit = (int)kv_env_int("KAIVOX_SIGNIN_ACCOUNT_LIMIT", 10, 0, 1000000),
        .signin_address_limit = (int)kv_env_int("KAIVOX_SIGNIN_ADDRESS_LIMIT", 50, 0, 1000000),
        .signin_window_s = (int)kv_env_int("KAIVOX_SIGNIN_WINDOW_S", 900, 1, 86400),
        .origins = kv_env_str("KAIVOX_CONSOLE_ORIGINS", ""),
        .cookie_secure = (int)kv_env_int("KAIVOX_CONSOLE_COOKIE_SECURE", 0, 0, 1),
        .console_url = console_url,
    };
    const char *console_dir = kv_env_str("KAIVOX_CONSOLE_DIR", "console");
    int drain_s = (int)kv_env_int("KAIVOX_DRAIN_S", 10, 1, 3600);
    int poll_us = (int)kv_env_int("KAIVOX_GATEWAY_POLL_US", 1000, 0, 100000);
    const char *poll_lock = kv_env_str("KAIVOX_GATEWAY_POLL_LOCK", GW_POLL_LOCK_DEFAULT);

    /* The largest body must fit in a bus frame with the rest of the bus
     * body around it (path parameters, query arguments). */
    if (cfg.max_body > GW_MAX_BODY_LIMIT) {
        kv_error(NULL, "KAIVOX_MAX_BODY_BYTES=%zu is more than the bus carries: at most %d "
                 "(the bus frame limit %d minus %d for the request's other fields)",
                 cfg.max_body, GW_MAX_BODY_LIMIT, KV_BODY_MAX, GW_BUS_ROOM);
        return 2;
    }

    if (gw_cidr_list_parse(kv_env_str("KAIVOX_HTTP_TRUSTED_PROXIES", ""), &trusted, &ntrusted) != 0) {
        kv_error(NULL, "KAIVOX_HTTP_TRUSTED_PROXIES must list IPv4/IPv6 addresses or networks "
                 "(a.b.c.d, a.b.c.d/n, x::y/n), separated by commas");
        return 2;
    }
    cfg.trusted = trusted;
    cfg.ntrusted = ntrusted;

    zctx = zmq_ctx_new();
    if (!zctx) {
        kv_error(NULL, "zmq_ctx_new failed");
        goto out;
    }
    /* before any bus socket binds: a CURVE server without its ZAP handler
     * would admit every key */
    if (kv_zap_start(zctx) != 0)
        goto out;
    if (s_migrate(db_wait_s) != 0) {
        kv_error(NULL, "cannot apply the gateway's migrations; giving up");
        goto out;
    }
    if (gw_db_key_secret(secret, &legacy) != 0) {
        kv_error(NULL, "cannot read the API key secret; giving up");
        goto out;
    }
    if (legacy.n > 0)
        kv_warn(NULL, "%zu legacy API keys (CRC checksum) are still active: kaivoxctl key list "
                "shows them as \"legacy\": true; replace and revoke them", legacy.n);
    broker = gw_broker_new(zctx);
    if (!broker) {
        kv_error(NULL, "cannot start the bus broker");
        goto out;
    }
    if (gw_events_start(zctx) != 0) {
        kv_error(NULL, "cannot start the event proxy");
        goto out;
    }

    if (gw_password_init() != 0) {
        kv_error(NULL, "cannot prepare password hashing (libargon2)");
        goto out;
    }
    if (gw_static_load(console_dir) != 0)
        kv_warn(NULL, "the console is not served: no files in KAIVOX_CONSOLE_DIR=%s", console_dir);
    work = gw_work_new(console_workers, 256);
    if (!work)
        goto out;
    session_rl = gw_ratelimit_new(rate_limit, 60);
    ccfg.work = work;
    ccfg.rl = session_rl;
    gw_console_configure(&ccfg);

    auth = gw_auth_new(cache_ttl, secret, &legacy);
    rl = gw_ratelimit_new(rate_limit, 60);
    authfail = gw_authfail_new(auth_fail_limit, 60);
    cfg.auth = auth;
    cfg.rl = rl;
    cfg.authfail = authfail;
    cfg.key_secret = secret;
    gw_http_configure(&cfg);
    gw_http_metrics_init();
    gw_http_set_broker(broker);

    http = gw_server_start(&hcfg);
    if (!http)
        goto out;
    if (gw_admin_configure(getenv("KAIVOX_ADMIN_TOKEN")) != 0) {
        kv_error(NULL, "admin listener NOT started: KAIVOX_ADMIN_TOKEN is unset or shorter "
                 "than %d characters", GW_ADMIN_TOKEN_MIN);
    } else {
        admin = gw_server_start(&acfg);
        if (!admin)
            goto out;
    }
    kv_info(NULL, "gateway ready");

    gw_loop_cfg_t lcfg = { http, broker, auth, work, drain_s * 1000, poll_us, poll_lock };
    loop_ok = gw_loop_run(&lcfg) == 0;
    rc = loop_ok ? 0 : 1;
out:
    gw_http_set_broker(NULL);
    gw_broker_destroy(&broker);   /* answers (and resumes) what was still waiting */
    gw_server_stop(&admin);
    gw_auth_destroy(&auth);       /* the same for key lookups */
    gw_work_destroy(&work);       /* and console jobs */
    for (int i = 0; http && i < 3; i++)
        gw_server_run(http);      /* lets those answers go out */
    gw_server_stop(&http);
    gw_ratelimit_destroy(&rl);
    gw_authfail_destroy(&authfail);
    gw_ratelimit_destroy(&session_rl);
    gw_static_free();
    gw_keyset_cleanup(&legacy);
    free(trusted);
    OPENSSL_cleanse(secret, sizeof secret);
    if (zctx)
        zmq_ctx_shutdown(zctx);   /* the event proxy thread ends with ETERM */
    kv_info(NULL, "gateway stopped");
    return rc;
}
