-- webhooks schema: the tenant-wide delivery log of the console
-- (webhooks.log, services/webhooks/console_ops.c: GET
-- /api/v1/webhooks/deliveries, newest first across a tenant's endpoints).

CREATE INDEX deliveries_tenant ON deliveries (tenant_id, id DESC);
COMMENT ON INDEX deliveries_tenant IS
    'hook_log_list / _count: a tenant''s delivery log across its endpoints, newest first';
