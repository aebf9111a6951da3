#!/usr/bin/env bash
# db-bootstrap.sh -- prepares a PostgreSQL server for KaiVox, as a superuser,
# idempotently (safe to run on every start):
#
#   * the database (default kaivox) if missing;
#   * one LOGIN role per service, kaivox_<svc>, with the password from
#     KAIVOX_<SVC>_DB_PASSWORD when that is set;
#   * one schema per service, <svc>, owned by its role: each role has rights
#     on its own schema only;
#   * schema public closed to PUBLIC, USAGE granted to the five roles, and the
#     btree_gist and pg_trgm extensions created in it;
#   * CONNECT on the database for the five roles only.
#
# Tables are not created here: each service applies its own migrations
# (sql/<svc>/NNN_*.sql) at start-up.
#
# Usage: db-bootstrap.sh [--db NAME] [CONNINFO]
#   CONNINFO  superuser connection (URL or "key=value" string) to any
#             database of the server, e.g. postgresql://postgres@127.0.0.1:54320/postgres;
#             default: libpq's PG* environment (as in a postgres container's
#             /docker-entrypoint-initdb.d).
#   --db NAME the KaiVox database (default $KAIVOX_DB_NAME or kaivox).
set -euo pipefail

DB_NAME="${KAIVOX_DB_NAME:-kaivox}"
CONNINFO=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --db) DB_NAME="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) CONNINFO="$1"; shift ;;
    esac
done

SERVICES=(gateway scheduling crm calls webhooks)

PSQL=(psql -X -q -v ON_ERROR_STOP=1 --no-password)
if [[ -n "$CONNINFO" ]]; then
    PSQL+=(-d "$CONNINFO")
fi

# Passwords travel as psql variables (-v), quoted by psql itself with :'x',
# never spliced into SQL text by this script.
VARS=(-v "dbname=$DB_NAME")
for svc in "${SERVICES[@]}"; do
    var="KAIVOX_${svc^^}_DB_PASSWORD"
    VARS+=(-v "pw_${svc}=${!var:-}")
done

{
    cat <<'SQL'
SET client_min_messages = warning;
-- 1. the database
SELECT format('CREATE DATABASE %I', :'dbname')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname')
\gexec
SQL
    for svc in "${SERVICES[@]}"; do
        cat <<SQL
-- role kaivox_${svc}
SELECT 'CREATE ROLE kaivox_${svc} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kaivox_${svc}')
\gexec
ALTER ROLE kaivox_${svc} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
SELECT format('ALTER ROLE kaivox_${svc} PASSWORD %L', :'pw_${svc}')
 WHERE :'pw_${svc}' <> ''
\gexec
SQL
    done
    cat <<'SQL'
-- 2. inside the database
\connect :"dbname"
SET client_min_messages = warning;
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'dbname')
\gexec
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
SQL
    for svc in "${SERVICES[@]}"; do
        cat <<SQL
SELECT format('GRANT CONNECT ON DATABASE %I TO kaivox_${svc}', :'dbname')
\gexec
GRANT USAGE ON SCHEMA public TO kaivox_${svc};
CREATE SCHEMA IF NOT EXISTS ${svc} AUTHORIZATION kaivox_${svc};
ALTER SCHEMA ${svc} OWNER TO kaivox_${svc};
REVOKE ALL ON SCHEMA ${svc} FROM PUBLIC;
SELECT format('ALTER ROLE kaivox_${svc} IN DATABASE %I SET search_path = ${svc}, public', :'dbname')
\gexec
SQL
    done
} | "${PSQL[@]}" "${VARS[@]}" -f -
