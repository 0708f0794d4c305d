#!/usr/bin/env bash
# Build memory_ext in release mode and install it, with the built-in
# embedders' weights, into the system PostgreSQL.
#   scripts/install.sh [--debug]
source "$(dirname "$0")/common.sh"
cd "$REPO"
profile=(--release)
[ "${1:-}" = "--debug" ] && profile=()

"$REPO/scripts/models.sh"
share="$("$PG_CONFIG" --sharedir)/extension/memory_ext/models"
say "installing embedder weights into ${share}"
as_root mkdir -p "$share"
for m in minilm wordllama; do
    as_root mkdir -p "${share}/${m}"
    as_root cp -u "${REPO}/target/models/${m}/"* "${share}/${m}/"
done

say "building and installing memory_ext (${profile[*]:-debug})"
if [ "$(id -u)" = 0 ]; then
    cargo pgrx install "${profile[@]}" --pg-config "$PG_CONFIG"
else
    cargo pgrx install "${profile[@]}" --sudo --pg-config "$PG_CONFIG"
fi
