/*
 * main.c -- kaivox-webhooks: webhook endpoints, event intake and signed
 * delivery.
 *
 * Wires the operations of endpoints.c and deliveries.c and the statements
 * of db.c into the common service runtime (kv_service.h), which applies
 * sql/webhooks migrations, runs the API workers and serves the bus until
 * SIGINT/SIGTERM.  The background function runs the threads of the
 * webhook pipeline: the intake (intake.c) and the janitor (janitor.c) in
 * threads of their own, the deliverer (deliver.c) in the runtime's
 * background thread.  The resolver thread (resolve.c) runs for the whole
 * life of the process, API workers and deliverer both use it.
 */
#include "hook.h"
#include "resolve.h"

#include <pthread.h>

#include <curl/curl.h>

#include "kv_log.h"

/* Operation names and flags live in the registry (proto/kv_ops.h). */
static const kv_op_t s_ops[] = {
    { KV_OP(WEBHOOKS_LIST),       hook_op_list },
    { KV_OP(WEBHOOKS_CREATE),     hook_op_create },
    { KV_OP(WEBHOOKS_GET),        hook_op_get },
    { KV_OP(WEBHOOKS_UPDATE),     hook_op_update },
    { KV_OP(WEBHOOKS_DELETE),     hook_op_delete },
    { KV_OP(WEBHOOKS_DELIVERIES), hook_op_deliveries },
    { KV_OP(WEBHOOKS_REDELIVER),  hook_op_redeliver },
    { KV_OP(WEBHOOKS_ROTATE_SECRET), hook_op_rotate_secret },
    { KV_OP(WEBHOOKS_TEST),       hook_op_test },
    { KV_OP(WEBHOOKS_LOG),        hook_op_log },
    { NULL, NULL }
};

static void *s_intake_thread(void *arg)
{
    hook_intake_run(arg);
    return NULL;
}

static void *s_janitor_thread(void *arg)
{
    (void)arg;
    hook_janitor_run();
    return NULL;
}

/* The runtime's background thread: intake and janitor beside, deliverer
 * here; all return soon after kv_service_stopping(). */
static void s_background(void *arg)
{
    (void)arg;
    hook_deliverer_t *d = hook_deliverer_new();
    pthread_t intake, janitor;
    int started = pthread_create(&intake, NULL, s_intake_thread, d) == 0;
    if (!started)
        kv_error(NULL, "webhooks: cannot start the intake thread");
    int jstarted = pthread_create(&janitor, NULL, s_janitor_thread, NULL) == 0;
    if (!jstarted)
        kv_error(NULL, "webhooks: cannot start the janitor thread");
    hook_deliverer_run(d);
    if (started)
        pthread_join(intake, NULL);
    if (jstarted)
        pthread_join(janitor, NULL);
    hook_deliverer_destroy(&d);
}

static const kv_service_def_t s_def = {
    .name = KV_SVC_WEBHOOKS,
    .ops = s_ops,
    .stmts = hook_stmts,
    .producer = 0,
    .background = s_background,
};

int main(int argc, char **argv)
{
    kv_log_init(KV_SVC_WEBHOOKS);
    hook_config_load();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        kv_error(NULL, "webhooks: curl_global_init failed");
        return 1;
    }
    if (hook_resolver_start() != 0)
        return 2;
    int rc = kv_service_run(&s_def, argc, argv);
    hook_resolver_stop();
    curl_global_cleanup();
    return rc;
}
