-- 004_outbox_traceparent.sql -- the W3C trace context an event was made
-- under (shared/kv_outbox.h; README.md, "Metrics and tracing"): the
-- traceparent of the request's span, or NULL when it had none.  It travels
-- with the event (PUB header and events.since) to the webhooks service,
-- whose deliveries continue the trace.  Additive: an older instance
-- neither writes nor reads it.
ALTER TABLE outbox ADD COLUMN traceparent text
    CHECK (traceparent IS NULL OR traceparent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
