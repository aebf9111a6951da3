#!/usr/bin/env bash
# Runs once, when the postgres container initialises its data directory
# (/docker-entrypoint-initdb.d): KaiVox's database, roles, schemas and
# extensions via scripts/db-bootstrap.sh, as the image's superuser over the
# temporary server's unix socket.  The service roles get the passwords from
# KAIVOX_<SVC>_DB_PASSWORD.  db-bootstrap.sh is run through bash, so it works
# even when the mounted checkout lost its executable bits.
set -euo pipefail
bash /kaivox-scripts/db-bootstrap.sh --db "${KAIVOX_DB_NAME:-kaivox}" \
    "host=/var/run/postgresql user=${POSTGRES_USER:-postgres} dbname=postgres"
