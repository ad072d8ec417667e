#!/bin/sh
# Creates Temporal's two databases on the compose Postgres, or migrates them to this image's schema
# version (what the deprecated auto-setup image did before starting its server). Idempotent.
set -eu
sql_tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"; } # password: SQL_PASSWORD
for db in temporal temporal_visibility; do
  schema=temporal
  [ "$db" = temporal_visibility ] && schema=visibility
  sql_tool --db "$db" create || true # already there
  sql_tool --db "$db" setup-schema -v 0.0 || true # already set up
  sql_tool --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$schema/versioned"
done
echo 'Temporal schema ready'
