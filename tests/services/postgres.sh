#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster on 127.0.0.1, run by the unprivileged
# `postgres` user in a temp dir. Source it: it exports PARTWAY_TEST_POSTGRES_URL and
# PARTWAY_PG_DIR; call `postgres_stop` when done.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PARTWAY_PG_DIR=$(mktemp -d /tmp/partway-pg.XXXXXX)
chown postgres "$PARTWAY_PG_DIR"
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run_as_postgres() { su postgres -s /bin/sh -c "$*"; }
run_as_postgres "$PGBIN/initdb -D $PARTWAY_PG_DIR/data -A trust -U postgres >/dev/null"
run_as_postgres "$PGBIN/pg_ctl -D $PARTWAY_PG_DIR/data -l $PARTWAY_PG_DIR/log -w \
  -o \"-c listen_addresses=127.0.0.1 -p $PGPORT -k $PARTWAY_PG_DIR -c fsync=off\" start >/dev/null"
export PARTWAY_PG_DIR
export PARTWAY_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
postgres_stop() {
  run_as_postgres "$PGBIN/pg_ctl -D $PARTWAY_PG_DIR/data -m fast -w stop >/dev/null" || true
  rm -rf "$PARTWAY_PG_DIR"
}
echo "postgres: $PARTWAY_TEST_POSTGRES_URL"
