#!/usr/bin/env bash
# Build memory_ext and install it, with the built-in embedders' weights, into
# the system PostgreSQL.
#   scripts/install.sh               release build
#   scripts/install.sh --debug       debug profile (what the tests use)
#   scripts/install.sh --models-only only the weights
source "$(dirname "$0")/common.sh"
cd "$REPO"
mode="${1:-}"

"$REPO/scripts/models.sh"
share="$("$PG_CONFIG" --sharedir)/extension/memory_ext/models"
say "installing embedder weights into ${share}"
as_root mkdir -p "$share"
as_root cp -ru "${REPO}/target/models/." "$share/"
[ "$mode" = "--models-only" ] && exit 0

profile=(--release)
[ "$mode" = "--debug" ] && profile=()
say "building and installing memory_ext (${profile[*]:-debug})"
if [ "$(id -u)" = 0 ]; then
    cargo pgrx install "${profile[@]}" --pg-config "$PG_CONFIG"
else
    cargo pgrx install "${profile[@]}" --sudo --pg-config "$PG_CONFIG"
fi
