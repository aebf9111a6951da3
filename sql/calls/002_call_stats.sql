-- 002_call_stats.sql -- GET /api/v1/calls/stats: a covering index so that
-- counting a year of a tenant's calls (how many, answered, missed, their
-- average duration) reads the index only, never the rows with their
-- summaries.
--
-- Run by kv_db_migrate in one transaction (no BEGIN/COMMIT here).

CREATE INDEX calls_tenant_started_stats_idx
    ON calls (tenant_id, started_at) INCLUDE (duration_seconds);
COMMENT ON INDEX calls_tenant_started_stats_idx IS
    'calls_stats: the calls of a tenant started in a range, with their durations (index-only)';
