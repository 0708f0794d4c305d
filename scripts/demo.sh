#!/usr/bin/env bash
# make demo: install everything, start the server on port 28815, create
# database memory_demo with the extension and run examples/demo.sql.
source "$(dirname "$0")/common.sh"
"$REPO/scripts/setup.sh"
"$REPO/scripts/install.sh"
"$REPO/scripts/server.sh" start "$DEMO_PORT"

psql_demo() { psql -X -h localhost -p "$DEMO_PORT" -U postgres "$@"; }
if ! psql_demo -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'memory_demo'" | grep -q 1; then
    psql_demo -d postgres -qc "CREATE DATABASE memory_demo"
fi
# A fresh extension each run, so the demo prints the same story twice.
psql_demo -d memory_demo -q -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS memory_ext CASCADE;
CREATE EXTENSION memory_ext;
ALTER DATABASE memory_demo SET search_path = "\$user", public, memory;
SQL
say "running examples/demo.sql"
psql_demo -d memory_demo -v ON_ERROR_STOP=1 -f "$REPO/examples/demo.sql"
say "the server keeps running: 'make psql' opens a session, 'make stop' stops it"
