#!/usr/bin/env bash
# Tests of the REST service (server/, design §7a), run at the end of make test:
# a fresh PostgreSQL on port 28822 (28820 is the standby of tests/standby.sh;
# the extension installed system-wide),
# tenant isolation on, a non-superuser role with two keys (users alice and
# bob), memory-server on port 28821, and tests/service_client.py driving it
# with the official mem0ai client (pinned, in a venv cached under target/)
# and with raw HTTP; then tests/mcp_client.py drives the MCP endpoint with
# the official mcp client package (pinned, in its own venv), and
# tests/ui_client.py the memory browser at /ui/ with Debian's chromium and a
# pinned selenium. The built-in embedder and extractor: no network.
# SERVICE_TESTS picks parts (default "rest mcp ui load").
source "$(dirname "$0")/../scripts/common.sh"
cd "$REPO"

PG_PORT="${SERVICE_PG_PORT:-28822}"
HTTP_PORT="${SERVICE_HTTP_PORT:-28821}"
DB=memory_service
MEM0_VERSION=2.2.1
MCP_VERSION=1.30.0
SELENIUM_VERSION=4.50.0
PARTS=" ${SERVICE_TESTS:-rest mcp ui load} "
part() { [[ "$PARTS" == *" $1 "* ]]; }
export CARGO_TARGET_DIR="${REPO}/target/server"
BIN="${CARGO_TARGET_DIR}/debug/memory-server"
VENV="${REPO}/target/service-venv"
MCP_VENV="${REPO}/target/mcp-venv"
UI_VENV="${REPO}/target/ui-venv"
SHOTS="${REPO}/target/ui-screens"
LOG="${REPO}/target/service-test.log"
pid=""

cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    "$REPO/scripts/server.sh" stop "$PG_PORT" >/dev/null 2>&1 || true
}
trap cleanup EXIT

say "building memory-server and its unit tests"
cargo build -q -p memory-server --bins
cargo test -q -p memory-server

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    say "installing python3-venv"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('mem0ai') == '$MEM0_VERSION'" 2>/dev/null; then
    say "installing mem0ai==$MEM0_VERSION into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "mem0ai==$MEM0_VERSION"
fi
if ! "$MCP_VENV/bin/python" -c "import importlib.metadata as m; assert m.version('mcp') == '$MCP_VERSION'" 2>/dev/null; then
    say "installing mcp==$MCP_VERSION into $MCP_VENV"
    rm -rf "$MCP_VENV"
    python3 -m venv "$MCP_VENV"
    "$MCP_VENV/bin/pip" install -q --disable-pip-version-check "mcp==$MCP_VERSION"
fi

if part ui; then
    # The browser and its driver from Debian (no downloaded browser build);
    # selenium is told where both are, so it fetches nothing either.
    if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
        say "installing chromium and chromium-driver"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
    fi
    if ! "$UI_VENV/bin/python" -c "import importlib.metadata as m; assert m.version('selenium') == '$SELENIUM_VERSION'" 2>/dev/null; then
        say "installing selenium==$SELENIUM_VERSION into $UI_VENV"
        rm -rf "$UI_VENV"
        python3 -m venv "$UI_VENV"
        "$UI_VENV/bin/pip" install -q --disable-pip-version-check "selenium==$SELENIUM_VERSION"
    fi
fi

# A fresh cluster each run.
"$REPO/scripts/server.sh" stop "$PG_PORT" >/dev/null 2>&1 || true
as_root rm -rf "$(pg_base)/${PG_PORT}"
"$REPO/scripts/server.sh" start "$PG_PORT"
# The background worker that runs queued adds (memory.add_async) needs the
# library preloaded and this database listed; both take a restart. (Until
# the database exists the worker retries its start.)
as_postgres sh -c "printf \"shared_preload_libraries = 'memory_ext'\nmemory.worker_databases = '${DB}'\nmemory.worker_naptime_ms = 50\n\" >> '$(pg_base)/${PG_PORT}/postgresql.conf'"
"$REPO/scripts/server.sh" stop "$PG_PORT"
"$REPO/scripts/server.sh" start "$PG_PORT"
psql_t() { psql -X -q -h localhost -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_t -d postgres -c "CREATE DATABASE $DB"
psql_t -d "$DB" -c "SET client_min_messages = warning; CREATE EXTENSION memory_ext"
psql_t -d "$DB" <<'SQL'
SELECT memory.enable_tenant_isolation();
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'memory_tenant') THEN
        CREATE ROLE memory_tenant NOLOGIN;
    END IF;
END $$;
SELECT memory.grant_tenant_access('memory_tenant');
SQL
key_a="$(psql_t -d "$DB" -Atc "SELECT memory.create_api_key('service-alice', 'memory_tenant', 'alice')")"
key_b="$(psql_t -d "$DB" -Atc "SELECT memory.create_api_key('service-bob', 'memory_tenant', 'bob')")"
key_p="$(psql_t -d "$DB" -Atc "SELECT memory.create_api_key('service-mcp-project', 'memory_tenant')")"

say "starting memory-server on 127.0.0.1:${HTTP_PORT}"
"$BIN" --listen "127.0.0.1:${HTTP_PORT}" \
    --database-url "host=localhost port=${PG_PORT} user=postgres dbname=${DB}" \
    --pool-size 4 --body-limit 65536 >"$LOG" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    if python3 - "$HTTP_PORT" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1)
PY
    kill -0 "$pid" 2>/dev/null || { cat "$LOG"; echo "memory-server exited" >&2; exit 1; }
    sleep 0.1
done

status=0
if part rest; then
say "REST service tests (mem0ai $MEM0_VERSION client and raw HTTP)"
MEM0_TELEMETRY=false "$VENV/bin/python" tests/service_client.py \
    --url "http://127.0.0.1:${HTTP_PORT}" --key-a "$key_a" --key-b "$key_b" \
    --pg-port "$PG_PORT" --repo "$REPO" --db "$DB" || status=$?
fi
if part mcp; then
say "MCP endpoint tests (mcp $MCP_VERSION client)"
"$MCP_VENV/bin/python" tests/mcp_client.py \
    --url "http://127.0.0.1:${HTTP_PORT}" --key-a "$key_a" --project-key "$key_p" || status=$?
fi
if part ui; then
say "memory browser tests (chromium, selenium $SELENIUM_VERSION); screenshots in ${SHOTS}"
# The REST tests above leave memories behind: a clean database for these.
psql_t -d "$DB" -c "DELETE FROM memory.memories WHERE user_id IN ('alice', 'bob', 'carol', 'bulk')" \
    -c "DELETE FROM memory.entities WHERE user_id IN ('alice', 'bob', 'carol', 'bulk')" >/dev/null
rm -rf "$SHOTS"
"$UI_VENV/bin/python" tests/ui_client.py \
    --url "http://127.0.0.1:${HTTP_PORT}" --key-a "$key_a" --key-b "$key_b" --project-key "$key_p" \
    --pg-port "$PG_PORT" --db "$DB" --shots "$SHOTS" || status=$?
fi
if part load; then
say "load with a fault: 32 clients (a project key, one user each) for 12 s, the database restarted at 4 s"
acked="${REPO}/target/load-acked.txt"
rm -f "$acked"
"${CARGO_TARGET_DIR}/debug/memory-load" --url "http://127.0.0.1:${HTTP_PORT}" --key "$key_p" \
    --clients 32 --seconds 12 --timeout 30 --fault-at 4 \
    --fault-cmd "bash '$REPO/scripts/server.sh' stop $PG_PORT >/dev/null && bash '$REPO/scripts/server.sh' start $PG_PORT >/dev/null" \
    --acked "$acked" --check || status=$?
# Every add answered 200 is in the database after the restart.
missing="$(psql_t -d "$DB" -At <<SQL
CREATE TEMP TABLE acked (id uuid);
\copy acked FROM '${acked}'
SELECT format('%s acknowledged, %s missing', count(*),
              count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM memory.memories m WHERE m.id = a.id)))
FROM acked a;
SQL
)"
echo "  after the restart: ${missing}"
case "$missing" in
    *", 0 missing") [ "${missing%% *}" -gt 0 ] || { echo "FAIL: no add was acknowledged" >&2; status=1; } ;;
    *) echo "FAIL: acknowledged adds are missing" >&2; status=1 ;;
esac
fi
if grep -qF -e "$key_a" -e "$key_b" -e "$key_p" "$LOG"; then
    echo "FAIL: an API key appears in the service log" >&2
    status=1
fi
if [ "$status" != 0 ]; then
    echo "--- service log (last 40 lines)"
    tail -n 40 "$LOG"
fi
exit "$status"
