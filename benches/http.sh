#!/usr/bin/env bash
# REST service overhead (make bench): memory-server under loopback load (16
# clients) against search and add, and the same calls made directly in SQL
# (server/src/bin/memory-bench.rs); then load with a fault
# (server/src/bin/memory-load.rs): 64 clients, each a user of one project
# key, mixing adds and searches for 60 s with the database restarted at 30 s,
# and a check that every acknowledged add is in the database. Database memory_http_bench on the given
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
project_key="$(q -d "$db" -Atc "SELECT memory.create_api_key('bench-project', 'memory_bench_app')")"

cargo build -q -p memory-server --bins
trap 'bash scripts/service.sh stop "$pg_port" "$http_port"' EXIT
SERVICE_DB="$db" bash scripts/service.sh start "$pg_port" "$http_port"
echo "== REST service overhead: memory-server vs direct SQL, 16 clients on loopback"
MEMORY_BENCH_KEY="$key" "${CARGO_TARGET_DIR}/debug/memory-bench" \
    --url "http://127.0.0.1:${http_port}" \
    --database-url "host=localhost port=${pg_port} user=postgres dbname=${db}" \
    --role memory_bench_app --user bench_user --concurrency 16 "${@:3}"

echo "== load with a fault: 64 clients (one project key, a user each), 1 add : 3 searches, 60 s, database restarted at 30 s"
cargo build -q --release -p memory-server --bin memory-load
acked="$(mktemp)"
"${CARGO_TARGET_DIR}/release/memory-load" --url "http://127.0.0.1:${http_port}" --key "$project_key" \
    --clients 64 --seconds 60 --fault-at 30 --timeout 30 \
    --fault-cmd "bash '$REPO/scripts/server.sh' stop $pg_port >/dev/null && bash '$REPO/scripts/server.sh' start $pg_port >/dev/null" \
    --acked "$acked"
q -d "$db" -At <<SQL
CREATE TEMP TABLE acked (id uuid);
\copy acked FROM '${acked}'
SELECT format('  after the restart: %s adds acknowledged, %s of them missing', count(*),
              count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM memory.memories m WHERE m.id = a.id)))
FROM acked a;
SQL
rm -f "$acked"
