#!/usr/bin/env python3
"""Hot/cold tiering at scale (issue #9): N memories (default 1M) over U users,
90 % of them idle for a year. The same searches run twice on the same data:

  untiered  every memory hot, one memory_hnsw index over all N vectors;
  tiered    after CALL memory.maintain(): 90 % cold (f16 copies, outside the
            index), the index rebuilt over the hot 10 %.

Reported: index sizes, table size, maintain() time, and server-side search
latency p50/p95 (vector-only and hybrid), plus tiered searches that also read
the cold tier (include_cold). Timings are taken inside the server with
clock_timestamp() around each memory.search call.

Vectors come from the stub embedder (tests/stub_openai.py, model stub-64: a
64-dimension signed hash of the words), so memories are generated in SQL with
exactly the vectors the stub would give their text, and queries (two words of
an existing memory) are embedded by the stub at search time over loopback.
"""
import argparse
import os
import socket
import subprocess
import sys
import time

DB = "memory_bench_tiering"
DIMS = 64


def psql(port, sql, db=DB):
    out = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "localhost", "-p", str(port),
         "-U", "postgres", "-d", db],
        input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"psql failed:\n{out.stderr[-3000:]}")
    return out.stdout.strip()


def timed(port, sql):
    t = time.time()
    psql(port, sql)
    return time.time() - t


SETUP = """
SET memory.embedder = 'openai';
SET memory.embedding_url = 'http://127.0.0.1:{stub}/v1';
SET memory.embedding_model = 'stub-{dims}';
"""

# Words kw0..kw{V-1} with the stub's vector for each: a signed one-hot at
# md5(word) mod dims (sign from bit 8). A memory is four words; its vector is
# the sum of theirs (cosine needs no normalisation).
GENERATE = """
CREATE TABLE words AS
SELECT i AS id, w,
       (SELECT array_agg(CASE WHEN d = ('x' || right(md5(w), 2))::bit(8)::int % {dims}
                              THEN CASE WHEN ('x' || substr(md5(w), 30, 1))::bit(4)::int % 2 = 1
                                        THEN 1.0 ELSE -1.0 END
                              ELSE 0.0 END::real ORDER BY d)
        FROM generate_series(0, {dims} - 1) d) AS v
FROM generate_series(0, {v} - 1) i, LATERAL (SELECT 'kw' || i AS w) x;
ALTER TABLE words ADD PRIMARY KEY (id);
ALTER TABLE memory.memories DISABLE TRIGGER memories_keywords;
"""

CHUNK = """
INSERT INTO memory.memories (memory, hash, user_id, embedding, embedder, fts, fts_len,
                             created_at, updated_at, valid_from)
SELECT t.txt, md5(t.txt), 'u' || (i % {users}),
       (SELECT array_agg(a + b + c + d2 ORDER BY o)
        FROM unnest(w1.v, w2.v, w3.v, w4.v) WITH ORDINALITY AS u(a, b, c, d2, o))::memory.vector,
       'openai:stub-{dims}', to_tsvector('english', t.txt), 4,
       ts, ts, ts
FROM generate_series({lo}, {hi}) i
JOIN words w1 ON w1.id = abs(hashint4(i * 4)) % {v}
JOIN words w2 ON w2.id = abs(hashint4(i * 4 + 1)) % {v}
JOIN words w3 ON w3.id = abs(hashint4(i * 4 + 2)) % {v}
JOIN words w4 ON w4.id = abs(hashint4(i * 4 + 3)) % {v}
CROSS JOIN LATERAL (SELECT w1.w || ' ' || w2.w || ' ' || w3.w || ' ' || w4.w || ' n' || i AS txt,
                           now() - CASE WHEN abs(hashint4(-i)) % 10 = 0 THEN interval '1 day'
                                        ELSE interval '365 days' END AS ts) t;
"""

INDEX = """
CREATE INDEX memories_hot_hnsw ON memory.memories
    USING memory_hnsw (embedding memory.vector_cosine_ops) WITH (m = 8, ef_construction = 32)
    WHERE embedder = 'openai:stub-{dims}';
"""

# One search per query: server-side milliseconds, percentiles.
SEARCHES = """
CREATE TEMP TABLE lat (ms float8);
DO $$
DECLARE t timestamptz; q record; r jsonb; n int := 0; found int := 0;
BEGIN
    FOR q IN SELECT * FROM queries ORDER BY id LOOP
        t := clock_timestamp();
        r := memory.search(q.txt, user_id => q.user_id, top_k => 10, graph => false,
                           keyword_search => {keyword}, include_cold => {cold});
        INSERT INTO lat VALUES (extract(epoch FROM clock_timestamp() - t) * 1000);
    END LOOP;
END $$;
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) || ' ' ||
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 2) FROM lat;
"""


def search_stats(port, stub, keyword, cold):
    setup = SETUP.format(stub=stub, dims=DIMS)
    out = psql(port, setup + SEARCHES.format(keyword=keyword, cold=cold))
    p50, p95 = out.split()[-2:]
    return float(p50), float(p95)


def sizes(port):
    return psql(port, """
        SELECT pg_relation_size('memory.memories_hot_hnsw') || ' ' ||
               pg_total_relation_size('memory.memories') || ' ' ||
               (SELECT count(*) FROM memory.memories WHERE tier = 'hot') || ' ' ||
               (SELECT count(*) FROM memory.memories WHERE tier = 'cold')""").split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=28815)
    ap.add_argument("--stub-port", type=int, default=28829)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--words", type=int, default=500)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="keep the database for inspection")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    stub = subprocess.Popen([sys.executable, os.path.join(here, "..", "tests", "stub_openai.py"),
                             str(args.stub_port), f"/tmp/memory_ext_bench_stub_{args.stub_port}.log"])
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", args.stub_port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        run(args)
    finally:
        stub.terminate()


def run(args):
    port = args.port
    psql(port, f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    psql(port, f"CREATE DATABASE {DB}", db="postgres")
    psql(port, "CREATE EXTENSION memory_ext")
    fmt = dict(dims=DIMS, v=args.words, users=args.users)
    psql(port, GENERATE.format(**fmt))
    t = time.time()
    step = 100_000
    for lo in range(1, args.n + 1, step):
        psql(port, CHUNK.format(lo=lo, hi=min(args.n, lo + step - 1), **fmt))
    psql(port, "ALTER TABLE memory.memories ENABLE TRIGGER memories_keywords; VACUUM ANALYZE memory.memories;")
    print(f"{args.n} memories over {args.users} users generated in {time.time() - t:.0f} s "
          f"(90 % idle for a year, {DIMS}-d stub vectors)")
    # Queries: two words of a memory of the user, half of them from hot memories.
    psql(port, f"""
        CREATE TABLE queries AS
        SELECT row_number() OVER () AS id, m.user_id, split_part(m.memory, ' ', 1) || ' ' || split_part(m.memory, ' ', 3) AS txt
        FROM (SELECT * FROM memory.memories ORDER BY md5(id::text) LIMIT {args.queries}) m;""")

    rows = []
    build = timed(port, INDEX.format(**fmt))
    idx, table, hot, cold = sizes(port)
    print(f"untiered: index over {hot} vectors built in {build:.0f} s: {int(idx) / 2**20:.0f} MiB; "
          f"table with indexes {int(table) / 2**20:.0f} MiB")
    rows.append(("untiered, vector only", *search_stats(port, args.stub_port, "false", "false")))
    rows.append(("untiered, hybrid", *search_stats(port, args.stub_port, "true", "false")))

    # Reset what the searches touched so the tiering sees the generated ages.
    psql(port, "UPDATE memory.memories SET last_accessed_at = NULL, access_count = 0 WHERE last_accessed_at IS NOT NULL")
    t = time.time()
    report = psql(port, "CALL memory.maintain(10000, '30 days')")
    maint = time.time() - t
    psql(port, "VACUUM ANALYZE memory.memories")
    rebuild = timed(port, "REINDEX INDEX memory.memories_hot_hnsw")
    idx2, table2, hot2, cold2 = sizes(port)
    print(f"maintain(): {report} in {maint:.0f} s; hot index rebuilt over {hot2} vectors "
          f"in {rebuild:.0f} s: {int(idx2) / 2**20:.0f} MiB ({int(idx) / int(idx2):.1f}x smaller); "
          f"table with indexes {int(table2) / 2**20:.0f} MiB; {cold2} cold")
    rows.append(("tiered, vector only (hot path)", *search_stats(port, args.stub_port, "false", "false")))
    rows.append(("tiered, hybrid (hot path)", *search_stats(port, args.stub_port, "true", "false")))
    rows.append(("tiered, vector only, include_cold", *search_stats(port, args.stub_port, "false", "true")))
    print()
    print(f"{'search (top_k 10, server-side)':38} {'p50 ms':>8} {'p95 ms':>8}")
    for name, p50, p95 in rows:
        print(f"{name:38} {p50:8.2f} {p95:8.2f}")
    base = rows[0]
    hotv = rows[2]
    print(f"hot-path vector search vs untiered: p50 {base[1] / hotv[1]:.2f}x, p95 {base[2] / hotv[2]:.2f}x faster")
    if not args.keep:
        psql(port, f"DROP DATABASE {DB}", db="postgres")


if __name__ == "__main__":
    main()
