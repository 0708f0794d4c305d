#!/usr/bin/env bash
# REST service overhead (make bench): memory-server under loopback load (16
# clients) against search and add, and the same calls made directly in SQL
# (server/src/bin/memory-bench.rs). Database memory_http_bench on the given
# server (default the demo server, 28815), the service on port 28826.
#   benches/http.sh [pg_port] [http_port]
# Timings are printed, never asserted.
source "$(dirname "$0")/../scripts/common.sh"
cd "$REPO"
pg_port="${1:-$DEMO_PORT}"
http_port="${2:-28826}"
db=memory_http_bench
export CARGO_TARGET_DIR="${REPO}/target/server"

q() { psql -X -q -h localhost -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 "$@"; }
q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
q -d "$db" -c "SET client_min_messages = warning; CREATE EXTENSION memory_ext"
q -d "$db" <<'SQL'
SELECT memory.enable_tenant_isolation();
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'memory_bench_app') THEN
        CREATE ROLE memory_bench_app NOLOGIN;
    END IF;
END $$;
SELECT memory.grant_tenant_access('memory_bench_app');
SQL
key="$(q -d "$db" -Atc "SELECT memory.create_api_key('bench', 'memory_bench_app', 'bench_user')")"

cargo build -q -p memory-server --bins
trap 'bash scripts/service.sh stop "$pg_port" "$http_port"' EXIT
SERVICE_DB="$db" bash scripts/service.sh start "$pg_port" "$http_port"
echo "== REST service overhead: memory-server vs direct SQL, 16 clients on loopback"
MEMORY_BENCH_KEY="$key" "${CARGO_TARGET_DIR}/debug/memory-bench" \
    --url "http://127.0.0.1:${http_port}" \
    --database-url "host=localhost port=${pg_port} user=postgres dbname=${db}" \
    --role memory_bench_app --user bench_user --concurrency 16 "${@:3}"
