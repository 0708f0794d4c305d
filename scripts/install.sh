#!/usr/bin/env bash
# Build memory_ext in release mode and install it into the system PostgreSQL.
source "$(dirname "$0")/common.sh"
cd "$REPO"
say "building and installing memory_ext (release)"
if [ "$(id -u)" = 0 ]; then
    cargo pgrx install --release --pg-config "$PG_CONFIG"
else
    cargo pgrx install --release --sudo --pg-config "$PG_CONFIG"
fi
