#!/usr/bin/env bash
# seed-calls.sh -- fills one tenant with many synthetic calls, for measuring
# GET /api/v1/calls at scale (README.md, "Calls at 1,000,000 rows").
#
# Inserts N calls (default 1,000,000) straight into calls.calls with one
# generate_series statement, as a PostgreSQL superuser (the service's own
# role would do too, but the seed must not go through the API: a million
# find-or-create round trips to crm are not what is being measured), then
# VACUUM ANALYZE so that the planner and index-only scans see the real table.
# The calls are spread evenly over the DAYS days before now (default 365),
# roughly 20 % of them missed (duration < 15 s), sentiments cycling through
# positive / neutral / negative / none, caller phones from a pool of 50,000.
# No transcripts, no events: the list never reads either.
#
# Usage: scripts/seed-calls.sh --tenant ID [--count N] [--days D] [CONNINFO]
#   CONNINFO  superuser connection to the KaiVox database; default
#             postgresql://postgres@127.0.0.1:${KAIVOX_PG_PORT:-54320}/${KAIVOX_DB_NAME:-kaivox}
#
# Example (the tenant and key come from kaivoxctl or the admin API):
#   scripts/seed-calls.sh --tenant 3
#   time curl -s -H "Authorization: Bearer $KEY" \
#     "http://127.0.0.1:8080/api/v1/calls?missed=true&from_date=2026-01-01&to_date=2026-01-31"
set -euo pipefail

TENANT=""
COUNT=1000000
DAYS=365
CONNINFO="postgresql://postgres@127.0.0.1:${KAIVOX_PG_PORT:-54320}/${KAIVOX_DB_NAME:-kaivox}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --tenant) TENANT="$2"; shift 2 ;;
        --count) COUNT="$2"; shift 2 ;;
        --days) DAYS="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) CONNINFO="$1"; shift ;;
    esac
done
[[ "$TENANT" =~ ^[0-9]+$ ]] || { echo "seed-calls.sh: --tenant ID is required (a number)" >&2; exit 2; }
[[ "$COUNT" =~ ^[0-9]+$ ]] || { echo "seed-calls.sh: --count must be a number" >&2; exit 2; }
[[ "$DAYS" =~ ^[0-9]+$ && "$DAYS" -ge 1 ]] || { echo "seed-calls.sh: --days must be >= 1" >&2; exit 2; }

# Values travel as psql variables, quoted by psql itself (:'x'), never
# spliced into the SQL text by this script.
psql -X -q -v ON_ERROR_STOP=1 --no-password -d "$CONNINFO" \
     -v tenant="$TENANT" -v n="$COUNT" -v days="$DAYS" <<'SQL'
\timing on
INSERT INTO calls.calls (tenant_id, external_id, caller_phone, caller_name, customer_id,
                         direction, started_at, ended_at, duration_seconds, outcome,
                         sentiment, quality_score, summary, recording_url, created_at)
SELECT :'tenant'::bigint,
       NULL,
       '+1555' || lpad((g % 50000)::text, 7, '0'),
       'Seed caller ' || (g % 50000),
       NULL,
       CASE WHEN g % 7 = 0 THEN 'outbound' ELSE 'inbound' END,
       t.started,
       t.started + make_interval(secs => t.dur),
       t.dur,
       CASE WHEN t.dur < 15 THEN 'missed'
            ELSE (ARRAY['booked', 'answered', 'voicemail', 'transferred'])[1 + g % 4] END,
       (ARRAY['positive', 'neutral', 'negative', NULL])[1 + g % 4],
       (g * 37) % 101,
       'Synthetic call ' || g,
       NULL,
       t.started + make_interval(secs => t.dur)
  FROM generate_series(1, :'n'::bigint) AS g
 CROSS JOIN LATERAL (
       SELECT now() - make_interval(secs => (g::double precision / :'n'::bigint)
                                             * :'days'::int * 86400) AS started,
              -- about one call in five is missed (under 15 s)
              CASE WHEN g % 5 = 0 THEN (g / 5) % 15 ELSE 15 + (g * 7919) % 900 END::int AS dur
       ) AS t;
VACUUM ANALYZE calls.calls;
SELECT count(*) AS calls, count(*) FILTER (WHERE missed) AS missed
  FROM calls.calls WHERE tenant_id = :'tenant'::bigint;
SQL
