/*
 * config.c -- the webhooks service's KAIVOX_WEBHOOK_* settings, read once
 * at start-up into the read-only hook_config, and the small pure checks
 * that go with them (retry schedule syntax, the event type list).
 */
#include "hook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_env.h"
#include "kv_log.h"

hook_config_t hook_config = {
    .retry_s = { 60, 300, 1800 }, .nretry = 3, .timeout_ms = 10000,
    .allow = HOOK_ALLOW_PUBLIC, .poll_ms = 250, .max_inflight = 256,
    .endpoint_max = 16, .tenant_max = 64, .catchup_ms = 5000, .max_endpoints = 20,
    .secret_overlap_s = 86400, .dns_timeout_ms = 2000, .dns_servers = NULL,
    .dns_api_max = 3, .retention_days = 30, .prune_s = 60,
};

static const char *const s_types[HOOK_EVENT_TYPES] = {
    "appointment.created", "appointment.cancelled", "call.ended", "call.missed",
    "appointment.rescheduled",
};

int hook_event_index(const char *type)
{
    for (int i = 0; i < HOOK_EVENT_TYPES; i++)
        if (strcmp(type, s_types[i]) == 0)
            return i;
    return -1;
}

const char *hook_event_name(int k)
{
    return k >= 0 && k < HOOK_EVENT_TYPES ? s_types[k] : "";
}

int hook_parse_schedule(const char *s, int out[HOOK_RETRY_MAX])
{
    int n = 0;
    const char *p = s;
    if (!*p)
        return 0;
    for (;;) {
        long v = 0;
        int digits = 0;
        while (*p == ' ')
            p++;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            if (v > 604800)
                return -1;
            p++;
            digits++;
        }
        while (*p == ' ')
            p++;
        if (!digits || n == HOOK_RETRY_MAX)
            return -1;
        out[n++] = (int)v;
        if (*p == '\0')
            return n;
        if (*p != ',')
            return -1;
        p++;
    }
}

void hook_config_load(void)
{
    const char *sched = kv_env_str("KAIVOX_WEBHOOK_RETRY_SCHEDULE", "60,300,1800");
    int n = hook_parse_schedule(sched, hook_config.retry_s);
    if (n < 0) {
        kv_error(NULL, "KAIVOX_WEBHOOK_RETRY_SCHEDULE must be up to %d comma-separated "
                 "whole numbers of seconds", HOOK_RETRY_MAX);
        exit(2);
    }
    hook_config.nretry = n;
    hook_config.timeout_ms = (int)kv_env_int("KAIVOX_WEBHOOK_TIMEOUT_MS", 10000, 100, 120000);
    hook_config.poll_ms = (int)kv_env_int("KAIVOX_WEBHOOK_POLL_MS", 250, 10, 60000);
    hook_config.max_inflight = (int)kv_env_int("KAIVOX_WEBHOOK_CONCURRENCY", 256, 1, 10000);
    hook_config.endpoint_max = (int)kv_env_int("KAIVOX_WEBHOOK_ENDPOINT_CONCURRENCY", 16, 1, 10000);
    hook_config.tenant_max = (int)kv_env_int("KAIVOX_WEBHOOK_TENANT_CONCURRENCY", 64, 1, 10000);
    hook_config.catchup_ms = (int)kv_env_int("KAIVOX_WEBHOOK_CATCHUP_MS", 5000, 100, 3600000);
    hook_config.max_endpoints = (int)kv_env_int("KAIVOX_WEBHOOK_MAX_ENDPOINTS", 20, 1, 1000);
    hook_config.secret_overlap_s = (int)kv_env_int("KAIVOX_WEBHOOK_SECRET_OVERLAP_S", 86400, 0,
                                                   30 * 86400);
    hook_config.dns_timeout_ms = (int)kv_env_int("KAIVOX_WEBHOOK_DNS_TIMEOUT_MS", 2000, 100, 30000);
    const char *servers = kv_env_str("KAIVOX_WEBHOOK_DNS_SERVERS", "");
    hook_config.dns_servers = servers[0] ? servers : NULL;
    int workers = (int)kv_env_int("KAIVOX_WORKERS", 4, 1, 256);
    hook_config.dns_api_max = workers > 1 ? workers - 1 : 1;
    hook_config.retention_days = (int)kv_env_int("KAIVOX_RETENTION_DAYS", 30, 1, 3650);
    hook_config.prune_s = (int)kv_env_int("KAIVOX_RETENTION_PRUNE_S", 60, 1, 86400);
    hook_config.allow = hook_allow_from_env();
}
