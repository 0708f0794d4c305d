#!/usr/bin/env bash
# Install what building and testing memory_ext needs on a fresh Debian 12
# machine. Idempotent: skips whatever is already there.
source "$(dirname "$0")/common.sh"

packages=(postgresql-${PG_MAJOR} postgresql-server-dev-${PG_MAJOR} sudo clang libclang-dev pkg-config make)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! cargo pgrx --version 2>/dev/null | grep -q ' 0\.18\.0'; then
    say "installing cargo-pgrx 0.18.0 (about 5 minutes)"
    cargo install cargo-pgrx --version 0.18.0 --locked
fi

if ! grep -q "^pg${PG_MAJOR} = \"${PG_CONFIG}\"" "${HOME}/.pgrx/config.toml" 2>/dev/null; then
    say "pointing pgrx at the system PostgreSQL ${PG_MAJOR}"
    cargo pgrx init --pg${PG_MAJOR} "${PG_CONFIG}"
fi
