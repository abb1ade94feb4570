#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs a command with a throwaway PostgreSQL 15 cluster (pg_virtualenv, from
# postgresql-common; as root it runs the cluster as the postgres user) and
# AUTOFACT_TEST_POSTGRES set to a libpq URI of its admin database. The password
# reaches libpq through PGPASSWORD, as it would in production.
#   tests/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail
if ! command -v pg_virtualenv >/dev/null || [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
  echo "with-postgres: PostgreSQL 15 and postgresql-common are needed (scripts/install-deps installs them)" >&2
  exit 1
fi
exec pg_virtualenv -v 15 -o 'fsync=on' -o 'max_connections=300' sh -c \
  'AUTOFACT_TEST_POSTGRES="postgresql://$PGUSER@$PGHOST:$PGPORT/$PGDATABASE" exec "$@"' with-postgres "$@"
