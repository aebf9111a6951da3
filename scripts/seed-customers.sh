#!/usr/bin/env bash
# seed-customers.sh -- fills one tenant with many synthetic customers, for
# measuring GET /api/v1/customers (search, filters, deep pages) at scale.
#
# Inserts COUNT customers straight into crm.customers with one
# generate_series INSERT, then VACUUM ANALYZEs the table (statistics and the
# visibility map, as autovacuum would in a live system).  The trigram GIN
# indexes are built with fastupdate = off (steady search latency); for the
# bulk load they are switched to fastupdate = on, flushed by the VACUUM, and
# switched back, which makes 100,000 rows take seconds instead of minutes.
# Names come from 40 x 40 common first/last names (so a name search matches a
# realistic share of rows), phones are unique "+1" + 10 digits spread over
# the whole range, e-mails first.last<n>@<one of 5 domains>, segments,
# pipeline stages and sources cycle, created_at spreads over two years.
# Phones already present in the tenant are skipped (ON CONFLICT DO NOTHING),
# so running it twice does not fail.
#
# Usage: scripts/seed-customers.sh --tenant ID [--count N] [CONNINFO]
#   --tenant ID  the tenant (e.g. from `kaivoxctl tenant create`)
#   --count N    how many customers (default 100000)
#   CONNINFO     a superuser (or kaivox_crm) connection to the KaiVox
#                database; default $KAIVOX_DB_SUPERUSER_URL, else
#                postgresql://postgres@127.0.0.1:${KAIVOX_PG_PORT:-54320}/${KAIVOX_DB_NAME:-kaivox}
#
# Example (the embedded cluster of `make up`, then a timed search):
#   scripts/seed-customers.sh --tenant 1
#   curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $KEY" \
#     'http://127.0.0.1:8080/api/v1/customers?search=lee'
set -euo pipefail

TENANT=""
COUNT=100000
CONNINFO="${KAIVOX_DB_SUPERUSER_URL:-postgresql://postgres@127.0.0.1:${KAIVOX_PG_PORT:-54320}/${KAIVOX_DB_NAME:-kaivox}}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --tenant) TENANT="${2:-}"; shift 2 ;;
        --count) COUNT="${2:-}"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) CONNINFO="$1"; shift ;;
    esac
done
[[ "$TENANT" =~ ^[1-9][0-9]{0,17}$ ]] || { echo "seed-customers: --tenant ID (a positive integer) is required" >&2; exit 2; }
[[ "$COUNT" =~ ^[1-9][0-9]{0,7}$ ]] || { echo "seed-customers: --count must be 1..99999999" >&2; exit 2; }

# Values travel as psql variables, never spliced into SQL by this script.
psql -X -q -v ON_ERROR_STOP=1 --no-password -d "$CONNINFO" \
     -v "tenant=$TENANT" -v "count=$COUNT" <<'SQL'
\timing on
ALTER INDEX crm.customers_name_trgm_idx SET (fastupdate = on);
ALTER INDEX crm.customers_email_trgm_idx SET (fastupdate = on);
ALTER INDEX crm.customers_phone_digits_trgm_idx SET (fastupdate = on);
WITH first(n, v) AS (
    SELECT ordinality - 1, v FROM unnest(ARRAY[
        'Ann','Bob','Carla','Dan','Eve','Frank','Gail','Hugo','Ines','Jack',
        'Kate','Liam','Maria','Noah','Olga','Paul','Quinn','Rosa','Sam','Tara',
        'Uma','Victor','Wendy','Xavier','Yara','Zack','Amir','Beatriz','Chen','Dmitri',
        'Elena','Farah','Giorgio','Hana','Ivan','Jun','Kofi','Lucia','Mateo','Nadia'])
        WITH ORDINALITY AS t(v, ordinality)),
last(n, v) AS (
    SELECT ordinality - 1, v FROM unnest(ARRAY[
        'Lee','Stone','Garcia','Smith','Johnson','Brown','Jones','Miller','Davis','Wilson',
        'Moore','Taylor','Anderson','Thomas','Jackson','White','Harris','Martin','Thompson','Young',
        'King','Wright','Lopez','Hill','Scott','Green','Adams','Baker','Nelson','Carter',
        'Mitchell','Perez','Roberts','Turner','Phillips','Campbell','Parker','Evans','Edwards','Collins'])
        WITH ORDINALITY AS t(v, ordinality)),
s AS (SELECT g AS i FROM generate_series(1, :count::int) AS g)
INSERT INTO crm.customers (tenant_id, name, phone, email, segment, pipeline_stage, notes,
                           source, created_at, updated_at)
SELECT :tenant::bigint,
       f.v || ' ' || l.v,
       '+1' || (2000000000 + (s.i::bigint * 7919) % 8000000000)::text,
       CASE WHEN s.i % 10 = 0 THEN NULL
            ELSE lower(f.v) || '.' || lower(l.v) || s.i || '@' ||
                 (ARRAY['example.com','mail.test','shop.io','corp.example','inbox.test'])[s.i % 5 + 1]
       END,
       (ARRAY['lead','active','inactive','vip'])[s.i % 4 + 1],
       (ARRAY['new','contacted','qualified','proposal','won','lost'])[s.i % 6 + 1],
       CASE WHEN s.i % 7 = 0 THEN 'seeded customer ' || s.i END,
       (ARRAY['api','walk_in','phone'])[s.i % 3 + 1],
       now() - make_interval(secs => (s.i * 631) % (2 * 365 * 86400)),
       now()
  FROM s
  JOIN first f ON f.n = s.i % 40
  JOIN last l ON l.n = (s.i / 40) % 40
ON CONFLICT (tenant_id, phone) DO NOTHING;
VACUUM ANALYZE crm.customers;
ALTER INDEX crm.customers_name_trgm_idx SET (fastupdate = off);
ALTER INDEX crm.customers_email_trgm_idx SET (fastupdate = off);
ALTER INDEX crm.customers_phone_digits_trgm_idx SET (fastupdate = off);
SELECT count(*) AS customers_of_tenant FROM crm.customers WHERE tenant_id = :tenant::bigint;
SQL
