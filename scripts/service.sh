#!/usr/bin/env bash
# Start or stop memory-server, the Mem0-compatible REST service (server/), in
# the background.
#   scripts/service.sh start|stop|status [pg_port] [http_port]
# It connects as postgres on localhost:<pg_port> to database $SERVICE_DB
# (default memory_demo) and listens on 127.0.0.1:<http_port> (default 28816).
# The pid file and log are target/memory-server-<http_port>.{pid,log}.
source "$(dirname "$0")/common.sh"

cmd="${1:-status}"
pg_port="${2:-$DEMO_PORT}"
http_port="${3:-28816}"
db="${SERVICE_DB:-memory_demo}"
export CARGO_TARGET_DIR="${REPO}/target/server"
bin="${CARGO_TARGET_DIR}/release/memory-server"
pidfile="${REPO}/target/memory-server-${http_port}.pid"
log="${REPO}/target/memory-server-${http_port}.log"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "$cmd" in
start)
    if running; then
        say "memory-server already running on port ${http_port} (pid $(cat "$pidfile"))"
        exit 0
    fi
    say "building memory-server (release profile; the first build takes a few minutes)"
    (cd "$REPO" && cargo build -q --release -p memory-server --bin memory-server)
    say "starting memory-server on 127.0.0.1:${http_port} (database ${db} on port ${pg_port})"
    DATABASE_URL="host=localhost port=${pg_port} user=postgres dbname=${db}" \
        MEMORY_SERVER_LISTEN="127.0.0.1:${http_port}" \
        nohup "$bin" >"$log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
        if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${http_port}/healthz', timeout=1)" 2>/dev/null; then
            exit 0
        fi
        running || { tail -n 20 "$log"; echo "memory-server exited (log: $log)" >&2; exit 1; }
        sleep 0.1
    done
    echo "memory-server did not answer /healthz in 10 s (log: $log)" >&2
    exit 1
    ;;
stop)
    if running; then
        say "stopping memory-server on port ${http_port}"
        pid="$(cat "$pidfile")"
        kill -TERM "$pid"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$pidfile"
    ;;
status)
    if running; then echo "memory-server running (pid $(cat "$pidfile"), port ${http_port})"; else echo "memory-server not running"; fi
    ;;
*)
    echo "usage: $0 start|stop|status [pg_port] [http_port]" >&2
    exit 2
    ;;
esac
