-- webhooks schema, version 2: the deliverer claims fairly per endpoint
-- (hook_claim: at most KAIVOX_WEBHOOK_ENDPOINT_CONCURRENCY of one endpoint
-- held by an instance), so it looks up due deliveries endpoint by endpoint
-- instead of in one global due order.

CREATE INDEX deliveries_pending_endpoint ON deliveries (endpoint_id, next_attempt_at, id)
    WHERE status = 'pending';
COMMENT ON INDEX deliveries_pending_endpoint IS
    'hook_claim: the endpoints with pending deliveries (a skip scan over endpoint_id), then each one''s due deliveries, oldest first, up to its share';

-- Only hook_claim read it, in the global due order it no longer uses.
DROP INDEX deliveries_due;
