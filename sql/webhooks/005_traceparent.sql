-- 005_traceparent.sql -- the W3C trace context an event was created under
-- (README.md, "Metrics and tracing"): the traceparent of the span that
-- made the event ("00-<trace>-<span>-<flags>"), or NULL when none.  The
-- deliverer sends each attempt's request with a traceparent of the same
-- trace and a new span id, so a webhook a tenant receives can be followed
-- back to the API request that caused it.  Additive: older instances
-- neither write nor read it.
ALTER TABLE events ADD COLUMN traceparent text
    CHECK (traceparent IS NULL OR traceparent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
COMMENT ON COLUMN events.traceparent IS
    'W3C traceparent of the span that created the event; deliveries continue its trace';
