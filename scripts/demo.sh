#!/usr/bin/env bash
# make demo: install everything, start the server on port 28815, create
# database memory_demo with the extension and run examples/demo.sql.
source "$(dirname "$0")/common.sh"
"$REPO/scripts/setup.sh"
"$REPO/scripts/install.sh"
"$REPO/scripts/server.sh" start "$DEMO_PORT"

psql_demo() { psql -X -h localhost -p "$DEMO_PORT" -U postgres "$@"; }
# The background worker (asynchronous adds, maintenance) needs the library
# preloaded: configure it once and restart.
if [ "$(psql_demo -d postgres -Atc "SHOW shared_preload_libraries")" != memory_ext ]; then
    say "preloading memory_ext for its background worker (database memory_demo)"
    psql_demo -d postgres -q -c "LOAD 'memory_ext'" \
        -c "ALTER SYSTEM SET shared_preload_libraries = 'memory_ext'" \
        -c "ALTER SYSTEM SET memory.worker_databases = 'memory_demo'"
    "$REPO/scripts/server.sh" stop "$DEMO_PORT"
    "$REPO/scripts/server.sh" start "$DEMO_PORT"
fi
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

# The Mem0-compatible REST service on port 28816: tenant isolation on, a role
# for the service's requests, a user key acting as user alice and a project
# key acting for whichever users each request names (design §7b).
SERVICE_PORT="${SERVICE_PORT:-28816}"
psql_demo -d memory_demo -q -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
SELECT memory.enable_tenant_isolation();
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'memory_demo_app') THEN
        CREATE ROLE memory_demo_app NOLOGIN;
    END IF;
END $$;
SELECT memory.grant_tenant_access('memory_demo_app');
SQL
key="$(psql_demo -d memory_demo -Atc "SELECT memory.create_api_key('demo-alice', 'memory_demo_app', 'alice')")"
project_key="$(psql_demo -d memory_demo -Atc "SELECT memory.create_api_key('demo-project', 'memory_demo_app')")"
"$REPO/scripts/service.sh" stop "$DEMO_PORT" "$SERVICE_PORT"
SERVICE_DB=memory_demo "$REPO/scripts/service.sh" start "$DEMO_PORT" "$SERVICE_PORT"
say "REST service (Mem0 platform API) on http://127.0.0.1:${SERVICE_PORT}, key for user alice: ${key}"
cat <<EXAMPLE
  curl -s http://127.0.0.1:${SERVICE_PORT}/v3/memories/search/ \\
       -H 'Authorization: Token ${key}' -H 'Content-Type: application/json' \\
       -d '{"query": "where does alice live?", "filters": {"user_id": "alice"}}'
  # or, in Python: MemoryClient(host="http://127.0.0.1:${SERVICE_PORT}", api_key="${key}")
EXAMPLE
say "MCP endpoint for desktop agents: http://127.0.0.1:${SERVICE_PORT}/mcp (header Authorization: Token <key>)"
say "project key (acts for the user_id(s) each request names; the database fences each request to them): ${project_key}"
cat <<EXAMPLE
  curl -s http://127.0.0.1:${SERVICE_PORT}/v3/memories/search/ \\
       -H 'Authorization: Token ${project_key}' -H 'Content-Type: application/json' \\
       -d '{"query": "music", "filters": {"user_id": {"in": ["alice", "bob"]}}}'
EXAMPLE
say "memory browser: http://127.0.0.1:${SERVICE_PORT}/ui/ (sign in with either key above)"
say "the server keeps running: 'make psql' opens a session, 'make stop' stops it and the REST service"
