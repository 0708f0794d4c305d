#!/usr/bin/env bash
# make test: everything CI checks, from a fresh machine.
source "$(dirname "$0")/common.sh"
cd "$REPO"
start=$(date +%s)

"$REPO/scripts/setup.sh"
"$REPO/scripts/models.sh"

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy (warnings are errors)"
cargo clippy --all-targets --workspace -- -D warnings

say "unit tests of the pure modules"
cargo test -p memory_core

say "in-database tests (cargo pgrx test)"
# The test build loads the built-in models from the system share directory.
"$REPO/scripts/install.sh" --models-only
base="$(pg_base)"
as_root mkdir -p "${base}/pgrx-test"
as_root chown postgres "${base}/pgrx-test"
as_root rm -rf "${base}/pgrx-test/data"
cargo pgrx test pg${PG_MAJOR} --runas postgres --pgdata "${base}/pgrx-test/data"

# cargo pgrx test installed its test build; put the regular build back. The
# debug profile is used (dependencies and the numeric core are optimized in
# it, see Cargo.toml): a release build with LTO would double CI time.
"$REPO/scripts/install.sh" --debug

say "end-to-end SQL tests against a real server (port ${TEST_PORT})"
"$REPO/scripts/regress.sh"

say "REST service: mem0ai client and HTTP tests (tests/service.sh)"
bash "$REPO/tests/service.sh"

say "all tests passed in $(( $(date +%s) - start )) s"
