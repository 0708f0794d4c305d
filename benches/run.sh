#!/usr/bin/env bash
# make bench: benchmarks that print ratios against a baseline measured in the
# same run. Not part of CI; timings are never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== distance kernels (memory_core::vector) vs a scalar loop, one core"
cargo bench -q -p memory_core --bench distance
