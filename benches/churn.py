#!/usr/bin/env python3
"""memory_hnsw under churn, side by side with pgvector's hnsw when it is
installed: an index of N vectors loses a tenth of its rows and gets them
back (the same vectors under new ids, so the data and its difficulty stay
the same) in each of ten rounds, with a VACUUM between delete and insert,
as a busy memory table does. Prints, per index, its size and recall@10 at
ef_search 40 fresh, after the churn, and after a REINDEX, and the ratios
churned / rebuilt (the target: size within 1.2x, recall within 0.01).

Uses the generated shapes of benches/hnsw.py (lowrank by default).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hnsw  # noqa: E402

DB = "memory_bench_churn"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=28815)
    ap.add_argument("--shape", choices=["clustered", "lowrank"], default="lowrank")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--dims", type=int, default=128)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    # hnsw.py's helpers, pointed at this bench's own database.
    hnsw.psql.__defaults__ = (DB,)
    port, n = args.port, args.n
    psql = hnsw.psql
    psql(port, f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    psql(port, f"CREATE DATABASE {DB}", db="postgres")
    psql(port, "CREATE EXTENSION memory_ext;")
    have_pg = psql(port, "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") == "1"
    data = {"clustered": hnsw.SHAPE_CLUSTERED, "lowrank": hnsw.SHAPE_LOWRANK}[args.shape] + hnsw.SAMPLED
    noise = 2.5 if args.shape == "lowrank" else 0.1
    t = hnsw.timed(port, (hnsw.SETUP_HEAD + data + hnsw.SETUP_TAIL).format(
        dims=args.dims, n=n, nq=args.queries, users=1000, noise=noise))
    print(f"== churn: {n} x {args.dims}-d ({args.shape}), {args.rounds} rounds of 10 % deleted, "
          f"VACUUM, re-inserted; m={args.m}, ef_construction={args.ef_construction}; "
          f"pgvector {'installed' if have_pg else 'not installed'} (data in {t:.0f} s)")
    fmt = dict(dims=args.dims)
    psql(port, hnsw.RUN.format(name="mh", tab="items", op="OPERATOR(memory.<=>)", vcol="v",
                               guc="memory.hnsw_ef_search", **fmt))
    indexes = [("memory_hnsw", "items", "items_mh", "mh",
                "USING memory_hnsw (emb memory.vector_cosine_ops)")]
    if have_pg:
        psql(port, hnsw.PGVECTOR.format(**fmt))
        psql(port, hnsw.RUN.format(name="pg", tab="items_pg", op="OPERATOR(public.<=>)", vcol="vp",
                                   guc="hnsw.ef_search", **fmt))
        indexes.append(("pgvector hnsw", "items_pg", "items_pg_hnsw", "pg",
                        "USING hnsw (emb public.vector_cosine_ops)"))
    w = f"WITH (m = {args.m}, ef_construction = {args.ef_construction})"
    for _, tab, idx, _, using in indexes:
        psql(port, f"SET maintenance_work_mem = '2GB'; SET max_parallel_maintenance_workers = 0;"
                   f"CREATE INDEX {idx} ON {tab} {using} {w}; VACUUM ANALYZE {tab};")

    def truth():
        # Exact answers over the rows now in the tables (the same vectors
        # in both; ids change when rows come back).
        psql(port, """SET enable_indexscan = off; SET max_parallel_workers_per_gather = 0;
            UPDATE queries q SET truth = (SELECT array_agg(id) FROM (SELECT id FROM items
                ORDER BY emb OPERATOR(memory.<=>) q.v LIMIT 10) s);""")

    def measure(name, idx):
        size = int(psql(port, f"SELECT pg_relation_size('{idx}')"))
        hnsw.run(port, name, 40)  # warm
        r = hnsw.run(port, name, 40)
        return size, r["recall"], r["qps"]

    res = {k: {} for *_, k, _ in indexes}
    for label, tab, idx, name, _ in indexes:
        res[name]["fresh"] = measure(name, idx)
    t0 = time.perf_counter()
    churn_s = {name: 0.0 for *_, name, _ in indexes}
    for r in range(args.rounds):
        # The same rows leave both tables; they come back with new ids
        # (both tables get the same ids, so one truth serves both).
        psql(port, f"""CREATE TABLE gone AS SELECT * FROM items WHERE (id::bigint * 7919 + {r}) % 10 = 0;""")
        for label, tab, idx, name, _ in indexes:
            t1 = time.perf_counter()
            psql(port, f"DELETE FROM {tab} WHERE id IN (SELECT id FROM gone); VACUUM {tab};")
            if tab == "items":
                psql(port, f"INSERT INTO items SELECT id + {(r + 1) * 10 * n}, user_id, emb FROM gone;")
            else:
                psql(port, f"INSERT INTO items_pg SELECT id + {(r + 1) * 10 * n}, user_id, "
                           f"(emb::real[])::public.vector({args.dims}) FROM gone;")
            churn_s[name] += time.perf_counter() - t1
        psql(port, "DROP TABLE gone;")
    psql(port, "VACUUM ANALYZE items;" + (" VACUUM ANALYZE items_pg;" if have_pg else ""))
    truth()
    for label, tab, idx, name, _ in indexes:
        res[name]["churned"] = measure(name, idx)
        psql(port, f"REINDEX INDEX {idx};")
        res[name]["rebuilt"] = measure(name, idx)
    total = time.perf_counter() - t0

    print()
    print(f"{'':16}{'state':>10}{'size MB':>10}{'recall@10':>11}{'QPS':>8}")
    for label, _, _, name, _ in indexes:
        for state in ["fresh", "churned", "rebuilt"]:
            size, rec, qps = res[name][state]
            print(f"{label:16}{state:>10}{size / 2**20:>10.1f}{rec:>11.3f}{qps:>8.0f}")
    print()
    for label, _, _, name, _ in indexes:
        c, b = res[name]["churned"], res[name]["rebuilt"]
        print(f"{label}: churned / rebuilt size {c[0] / b[0]:.2f}x, recall {c[1] - b[1]:+.3f}; "
              f"{args.rounds} rounds of delete + VACUUM + insert took {churn_s[name]:.1f} s")
    print(f"(whole churn phase {total:.0f} s)")
    if not args.keep:
        psql(port, f"DROP DATABASE IF EXISTS {DB}", db="postgres")


if __name__ == "__main__":
    main()
