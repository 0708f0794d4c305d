#!/usr/bin/env bash
# Start or stop a PostgreSQL 15 server for the demo or the tests.
#   scripts/server.sh start|stop|status [port]
# Data lives in target/pg/<port> (owned by postgres), listening on localhost
# only, with trust authentication for local connections.
source "$(dirname "$0")/common.sh"

cmd="${1:-status}"
port="${2:-$DEMO_PORT}"
base="$(pg_base)"
data="${base}/${port}"
log="${base}/${port}.log"

case "$cmd" in
start)
    if [ ! -f "${data}/PG_VERSION" ]; then
        say "initializing a cluster in ${data}"
        as_postgres "${PGBIN}/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"${data}/postgresql.conf" <<CONF
listen_addresses = 'localhost'
port = ${port}
unix_socket_directories = ''
shared_buffers = 1GB
maintenance_work_mem = 512MB
fsync = off
CONF
    fi
    if as_postgres "${PGBIN}/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        say "server on port ${port} already running"
    else
        say "starting PostgreSQL ${PG_MAJOR} on localhost:${port}"
        as_postgres "${PGBIN}/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null
    fi
    ;;
stop)
    if [ -f "${data}/postmaster.pid" ]; then
        say "stopping the server on port ${port}"
        as_postgres "${PGBIN}/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
    fi
    ;;
status)
    as_postgres "${PGBIN}/pg_ctl" -D "$data" status || true
    ;;
*)
    echo "usage: $0 start|stop|status [port]" >&2
    exit 2
    ;;
esac
