#!/usr/bin/env python3
"""memory_hnsw against an exact scan and, when it is installed on the server,
pgvector's hnsw: same data, same parameters, same run.

Data shapes (--shape, or --shape all for each in turn), all deterministic:
- clustered: mixtures of 4 of 100 random centres plus a little isotropic
  noise (the shape this bench started with).
- lowrank: 1,000 cluster centres in a random rank-32 subspace, points
  spread around their centre inside the subspace, plus isotropic noise.
- minilm: real 384-d MiniLM embeddings of sentences made from templates
  (subjects, verbs, objects, times; 50,000 distinct by default), embedded
  here by memory.embed, so the run includes the embedding time.
Users have skewed sizes (a handful of rows up to thousands), queries come
from the same distribution, ground truth is exact. Prints build time, index
size, recall@10 and single-client QPS per ef_search, filtered-query
completeness, and the ratios memory_hnsw / pgvector. Timings are measured
inside the server (PL/pgSQL loop, clock_timestamp around each query).
"""
import argparse
import json
import subprocess
import time

DB = "memory_bench_hnsw"


def psql(port, sql, db=DB):
    out = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "localhost", "-p", str(port),
         "-U", "postgres", "-d", db],
        input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"psql failed:\n{out.stderr}\n--- sql ---\n{sql[:2000]}")
    return out.stdout.strip()


def timed(port, sql):
    t = time.perf_counter()
    psql(port, sql)
    return time.perf_counter() - t


SHAPE_CLUSTERED = """
CREATE TABLE centres AS
  SELECT c, array(SELECT (random() * 2 - 1)::real FROM generate_series(1, {dims}) d WHERE c > 0) AS v
  FROM generate_series(1, 100) c;
-- Each vector mixes a main centre with three others (random weights) plus
-- a little isotropic noise: structure of low intrinsic dimension, as real
-- embeddings have, rather than pure isotropic noise (where all neighbours
-- are nearly equidistant and recall measures float rounding).
CREATE FUNCTION pg_temp.sample(seed int) RETURNS memory.vector LANGUAGE sql AS $$
  SELECT memory.l2_normalize(array(
           SELECT (a.v[d] + w.w2 * b.v[d] + w.w3 * c.v[d] + w.w4 * e.v[d] + (random() - 0.5) * {noise})::real
           FROM generate_series(1, {dims}) d)::memory.vector({dims}))
  FROM (SELECT random() * 0.6 AS w2, random() * 0.4 AS w3, random() * 0.3 AS w4,
               1 + (seed * 7919) % 100 AS ca, 1 + floor(random() * 100)::int AS cb,
               1 + floor(random() * 100)::int AS cc, 1 + floor(random() * 100)::int AS ce) w
  JOIN centres a ON a.c = w.ca JOIN centres b ON b.c = w.cb
  JOIN centres c ON c.c = w.cc JOIN centres e ON e.c = w.ce
$$;
"""

# A rank-32 basis, 1,000 centres as combinations of it; a point is its
# centre plus a spread along two basis directions plus isotropic noise, as
# strong as the spread (at 30k rows both indexes need ef_search 20 or more
# for recall@10 0.95: neither trivially separable clusters nor noise).
SHAPE_LOWRANK = """
CREATE TABLE basis AS
  SELECT b, array(SELECT (random() * 2 - 1)::real FROM generate_series(1, {dims}) d WHERE b > 0) AS v
  FROM generate_series(1, 32) b;
CREATE TABLE weights AS
  SELECT c, b, (random() * 2 - 1) * 0.3 AS w FROM generate_series(1, 1000) c, generate_series(1, 32) b;
CREATE TABLE centres AS
  SELECT cc.c, array(SELECT sum(w.w * bs.v[d])::real
                     FROM generate_series(1, {dims}) d, weights w JOIN basis bs ON bs.b = w.b
                     WHERE w.c = cc.c GROUP BY d ORDER BY d) AS v
  FROM generate_series(1, 1000) cc(c);
CREATE FUNCTION pg_temp.sample(seed int) RETURNS memory.vector LANGUAGE sql AS $$
  SELECT memory.l2_normalize(array(
           SELECT (a.v[d] + w.s1 * b1.v[d] + w.s2 * b2.v[d] + (random() - 0.5) * {noise})::real
           FROM generate_series(1, {dims}) d)::memory.vector({dims}))
  FROM (SELECT (random() - 0.5) * 1.2 AS s1, (random() - 0.5) * 1.2 AS s2,
               1 + (seed * 7919) % 1000 AS ca, 1 + floor(random() * 32)::int AS cb1,
               1 + floor(random() * 32)::int AS cb2) w
  JOIN centres a ON a.c = w.ca JOIN basis b1 ON b1.b = w.cb1 JOIN basis b2 ON b2.b = w.cb2
$$;
"""

# Items and queries of the generated shapes, from their pg_temp.sample.
SAMPLED = """
CREATE TABLE items AS
  SELECT i AS id, floor({users} * power(random(), 3))::int AS user_id,
         pg_temp.sample(i)::memory.vector({dims}) AS emb
  FROM generate_series(1, {n}) i;
CREATE TABLE queries AS
  SELECT q AS qid,
         (SELECT user_id FROM items WHERE id = 1 + (q * 104729) % {n}) AS user_id,
         pg_temp.sample(q * 31)::memory.vector({dims}) AS v
  FROM generate_series(1, {nq}) q;
"""

# Sentences from templates: every combination is a distinct text; items and
# queries are drawn from disjoint ranks of an order by the md5 of each text.
SHAPE_MINILM = """
SET memory.embedder = 'minilm';
CREATE TABLE subj(i, w) AS SELECT row_number() OVER (), w FROM unnest(string_to_array(
  'I|My sister|My brother|Our manager|The landlord|My doctor|Grandma|My best friend|The team|My wife|My husband|The neighbour|My son|My daughter|Our teacher|The coach', '|')) w;
CREATE TABLE verb(i, w) AS SELECT row_number() OVER (), w FROM unnest(string_to_array(
  'booked|cancelled|loves|hates|recommended|forgot about|paid for|complained about|asked about|moved|started|finished|postponed|is learning|sold|bought|fixed|visited', '|')) w;
CREATE TABLE obj(i, w) AS SELECT row_number() OVER (), w FROM unnest(string_to_array(
  'a flight to Lisbon|the piano lessons|a table at the Thai place|the marathon training|the dentist appointment|a new road bike|the rent|the kitchen renovation|Spanish classes|the jazz concert|a trip to the mountains|the insurance claim|a vegan cookbook|the car service|the wedding venue|a puppy|the garden shed|the tax return|a yoga course|the project deadline|tickets for the football match|a birthday cake|the hospital visit|a coffee machine', '|')) w;
CREATE TABLE tail(i, w) AS SELECT row_number() OVER (), w FROM unnest(string_to_array(
  'last week|yesterday|this morning|for next month|again|on Friday|after work|before the holidays|for the kids|with a friend|in March|twice already|at the weekend|on short notice|for our anniversary|without telling anyone', '|')) w;
CREATE TABLE sentences AS
  SELECT row_number() OVER (ORDER BY md5(s.w || v.w || o.w || t.w)) AS k, s.w || ' ' || v.w || ' ' || o.w || ' ' || t.w AS txt
  FROM subj s, verb v, obj o, tail t;
CREATE TABLE items AS
  SELECT k::int AS id, floor({users} * power(((k * 2654435761) % 1000003) / 1000003.0, 3))::int AS user_id,
         memory.embed(txt)::memory.vector({dims}) AS emb
  FROM sentences WHERE k <= {n};
CREATE TABLE queries AS
  SELECT q AS qid,
         (SELECT user_id FROM items WHERE id = 1 + (q * 104729) % {n}) AS user_id,
         memory.embed(txt)::memory.vector({dims}) AS v
  FROM (SELECT k - {n} AS q, txt FROM sentences WHERE k > {n} AND k <= {n} + {nq}) s;
"""

SETUP_HEAD = """
SET max_parallel_workers_per_gather = 0;
SELECT setseed(0.4242);
"""

SETUP_TAIL = """
CREATE INDEX items_user_idx ON items (user_id);
ANALYZE items;
ALTER TABLE queries ADD COLUMN truth int[], ADD COLUMN ftruth int[], ADD COLUMN fcount int;
-- Query vectors stay inline: a query row with its truths and both vectors
-- passes the 2 kB toast threshold, and a vector moved out of line is
-- fetched from the toast table again at every row of a filtered exact scan
-- (which penalised whichever index's column the toaster happened to pick).
ALTER TABLE queries ALTER COLUMN v SET STORAGE PLAIN;
SET enable_indexscan = off;
UPDATE queries q SET
  truth = (SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY emb OPERATOR(memory.<=>) q.v LIMIT 10) s),
  ftruth = (SELECT coalesce(array_agg(id), '{{}}') FROM (SELECT id FROM items WHERE user_id = q.user_id
                                         ORDER BY emb OPERATOR(memory.<=>) q.v LIMIT 10) s),
  fcount = (SELECT count(*) FROM items WHERE user_id = q.user_id);
"""

PGVECTOR = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE items_pg AS SELECT id, user_id, (emb::real[])::public.vector({dims}) AS emb FROM items;
CREATE INDEX items_pg_user_idx ON items_pg (user_id);
ALTER TABLE queries ADD COLUMN vp public.vector({dims});
ALTER TABLE queries ALTER COLUMN vp SET STORAGE PLAIN;
UPDATE queries SET vp = (v::real[])::public.vector({dims});
ANALYZE items_pg;
"""

# One function per table: operators and types differ. {op} is the distance
# operator, {tab} the table, {vcol} the query column, {guc} the ef setting.
RUN = """
CREATE OR REPLACE FUNCTION bench_{name}(ef int, filtered bool) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE q record; got int[]; hits int := 0; want int := 0; rows_ok int := 0; n int := 0;
        t0 timestamptz; total float8 := 0; lat float8[] := '{{}}';
BEGIN
  PERFORM set_config('{guc}', ef::text, true);
  FOR q IN SELECT * FROM queries ORDER BY qid LOOP
    t0 := clock_timestamp();
    IF filtered THEN
      SELECT coalesce(array_agg(id), '{{}}') INTO got FROM (SELECT id FROM {tab} WHERE user_id = q.user_id
                                             ORDER BY emb {op} q.{vcol} LIMIT 10) s;
    ELSE
      SELECT array_agg(id) INTO got FROM (SELECT id FROM {tab} ORDER BY emb {op} q.{vcol} LIMIT 10) s;
    END IF;
    lat := lat || extract(epoch FROM clock_timestamp() - t0)::float8 * 1000;
    n := n + 1;
    IF filtered THEN
      hits := hits + (SELECT count(*) FROM unnest(got) g WHERE g = ANY(q.ftruth));
      want := want + least(q.fcount, 10);
      rows_ok := rows_ok + (cardinality(got) = least(q.fcount, 10))::int;
    ELSE
      hits := hits + (SELECT count(*) FROM unnest(got) g WHERE g = ANY(q.truth));
      want := want + 10;
    END IF;
  END LOOP;
  SELECT sum(x) INTO total FROM unnest(lat) x;
  RETURN jsonb_build_object(
    'qps', n / (total / 1000), 'recall', hits::float8 / greatest(want, 1),
    'full_k', rows_ok::float8 / n,
    'p50', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(lat) x),
    'p95', (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY x) FROM unnest(lat) x));
END $$;
"""


def run(port, name, ef, filtered=False, settings=""):
    return json.loads(psql(port, f"{settings}\nSELECT bench_{name}({ef}, {str(filtered).lower()});"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=28815)
    ap.add_argument("--shape", choices=["clustered", "lowrank", "minilm", "all"], default="clustered")
    ap.add_argument("--n", type=int, default=None,
                    help="rows (default 100,000; 50,000 for minilm, whose sentences are embedded here)")
    ap.add_argument("--dims", type=int, default=256, help="dimensions of the generated shapes")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--only-setup", action="store_true", help="stop after building the indexes")
    args = ap.parse_args()
    shapes = ["clustered", "lowrank", "minilm"] if args.shape == "all" else [args.shape]
    for k, shape in enumerate(shapes):
        if k:
            print()
        bench_shape(args, shape)


def bench_shape(args, shape):
    port = args.port
    n = args.n or (50_000 if shape == "minilm" else 100_000)
    dims = 384 if shape == "minilm" else args.dims
    psql(port, f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    psql(port, f"CREATE DATABASE {DB}", db="postgres")
    psql(port, "CREATE EXTENSION memory_ext;")
    have_pg = psql(port, "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") == "1"
    what = {"clustered": "clustered unit vectors (4 of 100 centres mixed, little noise)",
            "lowrank": "unit vectors around 1,000 centres in a rank-32 subspace, with noise",
            "minilm": "MiniLM embeddings of template sentences"}[shape]
    print(f"== shape {shape}: {n} x {dims}-d {what}, {args.users} users (skewed), "
          f"{args.queries} queries; m={args.m}, ef_construction={args.ef_construction}; "
          f"pgvector {'installed' if have_pg else 'not installed: memory_hnsw and exact scan only'}")
    data = {"clustered": SHAPE_CLUSTERED + SAMPLED, "lowrank": SHAPE_LOWRANK + SAMPLED,
            "minilm": SHAPE_MINILM}[shape]
    noise = 2.5 if shape == "lowrank" else 0.1
    t = timed(port, (SETUP_HEAD + data + SETUP_TAIL).format(
        dims=dims, n=n, nq=args.queries, users=args.users, noise=noise))
    print(f"generated data and exact ground truth in {t:.0f} s")
    fmt = dict(dims=dims)
    psql(port, RUN.format(name="mh", tab="items", op="OPERATOR(memory.<=>)", vcol="v",
                          guc="memory.hnsw_ef_search", **fmt))
    if have_pg:
        psql(port, PGVECTOR.format(**fmt))
        psql(port, RUN.format(name="pg", tab="items_pg", op="OPERATOR(public.<=>)", vcol="vp",
                              guc="hnsw.ef_search", **fmt))
    build = "SET maintenance_work_mem = '4GB'; SET max_parallel_maintenance_workers = 0;\n"
    w = f"WITH (m = {args.m}, ef_construction = {args.ef_construction})"
    res = {}
    res["mh_build"] = timed(port, build + f"CREATE INDEX items_mh ON items USING memory_hnsw (emb memory.vector_cosine_ops) {w};")
    res["mh_size"] = int(psql(port, "SELECT pg_relation_size('items_mh')"))
    if have_pg:
        res["pg_build"] = timed(port, build + f"CREATE INDEX items_pg_hnsw ON items_pg USING hnsw (emb public.vector_cosine_ops) {w};")
        res["pg_size"] = int(psql(port, "SELECT pg_relation_size('items_pg_hnsw')"))
    psql(port, "VACUUM ANALYZE items; " + ("VACUUM ANALYZE items_pg;" if have_pg else ""))

    if args.only_setup:
        return
    print()
    print(f"{'':18}{'build s':>10}{'size MB':>10}")
    print(f"{'memory_hnsw':18}{res['mh_build']:>10.1f}{res['mh_size'] / 2**20:>10.1f}")
    if have_pg:
        print(f"{'pgvector hnsw':18}{res['pg_build']:>10.1f}{res['pg_size'] / 2**20:>10.1f}")
        print(f"{'ratio':18}{res['mh_build'] / res['pg_build']:>10.2f}{res['mh_size'] / res['pg_size']:>10.2f}")

    # Warm both indexes and tables into shared buffers / OS cache.
    run(port, "mh", 40)
    if have_pg:
        run(port, "pg", 40)
    exact = run(port, "mh", 40, settings="SET enable_indexscan = off;")
    print()
    print(f"exact scan: {exact['qps']:.1f} QPS, p50 {exact['p50']:.2f} ms")
    print()
    print(f"{'ef_search':>9} | {'memory_hnsw recall':>18} {'QPS':>8} {'p95 ms':>7} | "
          f"{'pgvector recall':>15} {'QPS':>8} {'p95 ms':>7}")
    curve = {"mh": [], "pg": []}
    for ef in [10, 20, 40, 80, 160, 320]:
        a = run(port, "mh", ef)
        curve["mh"].append((a["recall"], a["qps"]))
        line = f"{ef:>9} | {a['recall']:>18.3f} {a['qps']:>8.0f} {a['p95']:>7.2f} |"
        if have_pg:
            b = run(port, "pg", ef)
            curve["pg"].append((b["recall"], b["qps"]))
            line += f" {b['recall']:>15.3f} {b['qps']:>8.0f} {b['p95']:>7.2f}"
        print(line)

    def best(name, target):
        return max([q for r, q in curve[name] if r >= target], default=0.0)

    # QPS at recall 0.95, or at the best recall both indexes reach.
    target = 0.95
    if have_pg:
        target = min(target, max(r for r, _ in curve["pg"]), max(r for r, _ in curve["mh"]))
    line = f"best QPS at recall@10 >= {target:.3f}: memory_hnsw {best('mh', target):.0f}"
    if have_pg and best("pg", target):
        line += f", pgvector {best('pg', target):.0f}, ratio {best('mh', target) / best('pg', target):.2f}"
    print(line + f"; memory_hnsw {best('mh', target) / exact['qps']:.0f}x the exact scan")
    if have_pg and target < 0.95:
        print(f"(pgvector's best recall@10 on this data is {max(r for r, _ in curve['pg']):.3f}; "
              f"memory_hnsw reaches {max(r for r, _ in curve['mh']):.3f})")

    print()
    print("filtered: WHERE user_id = <the query's user> ORDER BY emb <=> q LIMIT 10 (user sizes "
          + psql(port, "SELECT min(fcount) || '..' || max(fcount) FROM queries") + " rows)")
    print(f"{'':34}{'full k':>8}{'recall':>8}{'p50 ms':>8}{'p95 ms':>8}")
    modes = [("planner's choice", ""),
             ("forced through the index", "SET enable_sort = off; SET enable_seqscan = off; SET enable_bitmapscan = off;")]
    for label, settings in modes:
        a = run(port, "mh", 40, True, settings)
        print(f"{'memory_hnsw, ' + label:34}{a['full_k']:>8.2f}{a['recall']:>8.3f}{a['p50']:>8.2f}{a['p95']:>8.2f}")
        if have_pg:
            b = run(port, "pg", 40, True, settings)
            print(f"{'pgvector, ' + label:34}{b['full_k']:>8.2f}{b['recall']:>8.3f}{b['p50']:>8.2f}{b['p95']:>8.2f}")
            c = run(port, "pg", 40, True, settings + " SET hnsw.iterative_scan = relaxed_order;")
            print(f"{'pgvector iterative, ' + label:34}{c['full_k']:>8.2f}{c['recall']:>8.3f}{c['p50']:>8.2f}{c['p95']:>8.2f}")
    if not args.keep:
        psql(port, f"DROP DATABASE IF EXISTS {DB}", db="postgres")


if __name__ == "__main__":
    main()
