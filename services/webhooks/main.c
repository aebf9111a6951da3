/*
 * main.c -- kaivox-webhooks: webhook endpoints, event intake and signed
 * delivery.
 *
 * Wires the operations of endpoints.c and deliveries.c and the statements
 * of db.c into the common service runtime (kv_service.h), which applies
 * sql/webhooks migrations, runs the API workers and serves the bus until
 * SIGINT/SIGTERM.  The background function runs the two threads of the
 * webhook pipeline: the intake (intake.c) in a thread of its own, the
 * deliverer (deliver.c) in the runtime's background thread.
 */
#include "hook.h"

#include <pthread.h>

#include <curl/curl.h>

#include "kv_log.h"

static const kv_op_t s_ops[] = {
    { "webhooks.list", hook_op_list, 0 },
    { "webhooks.create", hook_op_create, 0 },
    { "webhooks.get", hook_op_get, 0 },
    { "webhooks.update", hook_op_update, 0 },
    { "webhooks.delete", hook_op_delete, 0 },
    { "webhooks.deliveries", hook_op_deliveries, 0 },
    { "webhooks.redeliver", hook_op_redeliver, 0 },
    { "webhooks.test", hook_op_test, 0 },
    { "webhooks.log", hook_op_log, 0 },
    { NULL, NULL, 0 }
};

static void *s_intake_thread(void *arg)
{
    hook_intake_run(arg);
    return NULL;
}

/* The runtime's background thread: intake beside, deliverer here; both
 * return soon after kv_service_stopping(). */
static void s_background(void *arg)
{
    (void)arg;
    hook_deliverer_t *d = hook_deliverer_new();
    pthread_t intake;
    int started = pthread_create(&intake, NULL, s_intake_thread, d) == 0;
    if (!started)
        kv_error(NULL, "webhooks: cannot start the intake thread");
    hook_deliverer_run(d);
    if (started)
        pthread_join(intake, NULL);
    hook_deliverer_destroy(&d);
}

static const kv_service_def_t s_def = {
    .name = KV_SVC_WEBHOOKS,
    .ops = s_ops,
    .stmts = hook_stmts,
    .producer = 0,
    .background = s_background,
};

int main(void)
{
    kv_log_init(KV_SVC_WEBHOOKS);
    hook_config_load();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        kv_error(NULL, "webhooks: curl_global_init failed");
        return 1;
    }
    int rc = kv_service_run(&s_def);
    curl_global_cleanup();
    return rc;
}
