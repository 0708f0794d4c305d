#!/usr/bin/env bash
# Run tests/sql/*.sql against a fresh server and compare with
# tests/expected/*.out (pg_regress). Assumes the extension is installed.
source "$(dirname "$0")/common.sh"
cd "$REPO"

"$REPO/scripts/server.sh" stop "$TEST_PORT"
base="$(pg_base)"
as_root rm -rf "${base:?}/${TEST_PORT}"
"$REPO/scripts/server.sh" start "$TEST_PORT"
# The scripted OpenAI-compatible stub the failure-path tests talk to.
STUB_PORT="${STUB_PORT:-28818}"
python3 "$REPO/tests/stub_openai.py" "$STUB_PORT" "/tmp/memory_ext_stub_${STUB_PORT}.log" \
    2>"/tmp/memory_ext_stub_${STUB_PORT}.err" &
stub_pid=$!
trap 'kill $stub_pid 2>/dev/null; "$REPO/scripts/server.sh" stop "$TEST_PORT"' EXIT
for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $STUB_PORT), 0.2)" 2>/dev/null && break
    sleep 0.1
done

psql -X -q -h localhost -p "$TEST_PORT" -U postgres -d postgres \
    -c "DROP DATABASE IF EXISTS memory_regress" -c "CREATE DATABASE memory_regress"
psql -X -q -h localhost -p "$TEST_PORT" -U postgres -d memory_regress -c "CREATE EXTENSION memory_ext"
# The background worker (queued adds, maintenance) needs the library preloaded.
psql -X -q -h localhost -p "$TEST_PORT" -U postgres -d postgres -c "LOAD 'memory_ext'" \
    -c "ALTER SYSTEM SET shared_preload_libraries = 'memory_ext'" \
    -c "ALTER SYSTEM SET memory.worker_databases = 'memory_regress'" \
    -c "ALTER SYSTEM SET memory.worker_naptime_ms = 50"
"$REPO/scripts/server.sh" stop "$TEST_PORT"
"$REPO/scripts/server.sh" start "$TEST_PORT"

PG_REGRESS="$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress"
out="${REPO}/target/regress"
rm -rf "$out" && mkdir -p "$out"
tests=()
for f in tests/sql/*.sql; do tests+=("$(basename "$f" .sql)"); done

status=0
"$PG_REGRESS" --use-existing --host=localhost --port="$TEST_PORT" --user=postgres \
    --dbname=memory_regress --inputdir=tests --outputdir="$out" \
    --bindir="$PGBIN" "${tests[@]}" || status=$?
if [ "$status" -ne 0 ] && [ -f "$out/regression.diffs" ]; then
    cat "$out/regression.diffs"
fi
[ "$status" -eq 0 ] || exit "$status"

say "concurrency: 8 sessions adding overlapping facts to one user"
bash "$REPO/tests/concurrency.sh" "$TEST_PORT" memory_regress
say "concurrency with the stub LLM (decisions made outside the lock)"
bash "$REPO/tests/concurrency.sh" "$TEST_PORT" memory_regress "$STUB_PORT"

say "maintenance (expiry, tiering) concurrent with adds and searches"
bash "$REPO/tests/maintenance.sh" "$TEST_PORT" memory_regress

say "built-in inference on the labelled phrasing corpus (accuracy floor, false-merge ceiling)"
python3 "$REPO/benches/phrasing/run.py" --port "$TEST_PORT" --db memory_phrasing \
    --floor-accuracy 0.82 --max-false-merges 0.05

say "upgrade from 0.0.1 (ALTER EXTENSION memory_ext UPDATE)"
bash "$REPO/tests/upgrade.sh" "$TEST_PORT"

say "asynchronous adds: kill -9 of the server mid-job"
bash "$REPO/tests/queue_crash.sh" "$TEST_PORT" memory_regress "$STUB_PORT"

say "memory_hnsw on a hot standby"
bash "$REPO/tests/standby.sh" "$TEST_PORT" "$(( TEST_PORT + 6 ))"

say "memory_hnsw crash recovery (kill -9 of the server)"
bash "$REPO/tests/crash.sh" "$TEST_PORT"
