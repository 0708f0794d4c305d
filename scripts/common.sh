# Shared settings of the memory_ext scripts; sourced, not run.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_MAJOR=15
PGBIN="/usr/lib/postgresql/${PG_MAJOR}/bin"
PG_CONFIG="${PGBIN}/pg_config"
DEMO_PORT="${DEMO_PORT:-28815}"
TEST_PORT="${TEST_PORT:-28817}"
export PATH="${HOME}/.cargo/bin:${PATH}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Run a command as root (apt) whether or not we are root already.
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Run a command as the postgres system user (initdb refuses root).
as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        sudo -u postgres "$@"
    fi
}

# Where server data directories live: inside the repository's ignored
# target/ when the postgres user can reach it, otherwise under /var/tmp.
pg_base() {
    local base="${REPO}/target/pg"
    mkdir -p "${REPO}/target"
    if as_postgres test -x "${REPO}/target" 2>/dev/null; then
        mkdir -p "$base"
    else
        base="/var/tmp/memory_ext-$(echo "$REPO" | md5sum | cut -c1-8)"
        as_root mkdir -p "$base"
    fi
    as_root chown postgres "$base"
    echo "$base"
}
