#!/usr/bin/env bash
# make bench: benchmarks that print ratios or tables measured in one run. Not
# part of CI; timings are never asserted. Uses the demo server (port 28815),
# in a separate database.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

echo "== distance kernels (memory_core::vector) vs a scalar loop, one core"
cargo bench -q -p memory_core --bench distance


"$REPO/scripts/setup.sh"
"$REPO/scripts/install.sh"
"$REPO/scripts/server.sh" start "$DEMO_PORT"

echo
echo "== query embedding latency, one core (memory_core::embed)"
MEMORY_EXT_MODELS="$REPO/target/models" cargo bench -q -p memory_core --bench embed

echo
echo "== retrieval quality (benches/retrieval)"
python3 benches/retrieval/run.py --port "$DEMO_PORT"

echo
echo "== built-in inference on the labelled phrasing corpus (benches/phrasing)"
python3 benches/phrasing/run.py --port "$DEMO_PORT"

echo
echo "== LoCoMo evidence recall, development conversations (benches/locomo; ~15 min)"
if [ -n "${LOCOMO_JSON:-}" ] && [ -f "$LOCOMO_JSON" ]; then
    python3 -c "import psycopg" 2>/dev/null || pip install -q 'psycopg[binary]==3.2.3'
    python3 benches/locomo/run.py --port "$DEMO_PORT"
else
    echo "skipped: set LOCOMO_JSON to LoCoMo's data/locomo10.json (public, CC BY-NC 4.0; never committed here)"
fi

echo
psql -X -q -h localhost -p "$DEMO_PORT" -U postgres -d postgres \
    -c "DROP DATABASE IF EXISTS memory_bench" -c "CREATE DATABASE memory_bench"
psql -X -h localhost -p "$DEMO_PORT" -U postgres -d memory_bench -f benches/search.sql

echo
psql -X -h localhost -p "$DEMO_PORT" -U postgres -d memory_bench -f benches/add.sql

echo
python3 benches/llm_add.py --port "$DEMO_PORT"

echo
psql -X -h localhost -p "$DEMO_PORT" -U postgres -d memory_bench -f benches/graph.sql

echo
echo "== memory_hnsw under churn, with pgvector when installed (benches/churn.py; ~4 min)"
python3 benches/churn.py --port "$DEMO_PORT"

echo
echo "== memory_hnsw vs exact scan and pgvector hnsw, three data shapes (benches/hnsw.py; ~30 min)"
if [ -n "${HNSW_N:-}" ]; then
    python3 benches/hnsw.py --port "$DEMO_PORT" --shape all --n "$HNSW_N"
else
    python3 benches/hnsw.py --port "$DEMO_PORT" --shape all
fi

echo
echo "== hot/cold tiering: 1M memories, 90 % cold (benches/tiering.py; ~10 min)"
python3 benches/tiering.py --port "$DEMO_PORT" --n "${TIERING_N:-1000000}"

echo
bash benches/http.sh "$DEMO_PORT" 28826
