#!/usr/bin/env python3
"""memory.add with memory.llm = 'openai' against the scripted stub
(tests/stub_openai.py, started here on 127.0.0.1): the time an add spends
outside its model calls, i.e. our own work (extraction of the transcript,
candidate search, validation, the lock, the writes).

Each inferred add logs one DEBUG1 line with its total time and the time spent
in LLM and embedding calls (src/timing.rs); this script runs the adds in one
psql session with client_min_messages = debug1 and reads those lines.
Embeddings come from the stub too (openai:stub-384), so every model call is a
loopback HTTP call and "other" is what the extension itself adds.
Existing memories in the scope get random unit vectors.
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time

DB = "memory_bench_llm"
LINE = re.compile(r"memory_ext: add: total ([\d.]+) ms; llm (\d+) calls ([\d.]+) ms; "
                  r"embed (\d+) calls ([\d.]+) ms; other ([\d.]+) ms")


def psql(port, sql, db=DB, options=None):
    env = dict(os.environ)
    if options:
        env["PGOPTIONS"] = options
    out = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "localhost", "-p", str(port),
         "-U", "postgres", "-d", db],
        input=sql, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"psql failed:\n{out.stderr[-3000:]}")
    return out.stdout, out.stderr


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=28815)
    ap.add_argument("--stub-port", type=int, default=28819)
    ap.add_argument("--adds", type=int, default=200)
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    log = f"/tmp/memory_ext_bench_stub_{args.stub_port}.log"
    stub = subprocess.Popen([sys.executable, os.path.join(here, "..", "tests", "stub_openai.py"),
                             str(args.stub_port), log])
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", args.stub_port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        psql(args.port, f"DROP DATABASE IF EXISTS {DB}", db="postgres")
        psql(args.port, f"CREATE DATABASE {DB}", db="postgres")
        psql(args.port, "CREATE EXTENSION memory_ext")
        options = (f"-c memory.llm=openai -c memory.llm_url=http://127.0.0.1:{args.stub_port}/v1 "
                   f"-c memory.llm_model=llm-basic -c memory.embedder=openai "
                   f"-c memory.embedding_url=http://127.0.0.1:{args.stub_port}/v1 "
                   f"-c memory.embedding_model=stub-384 -c client_min_messages=debug1")
        print(f"== memory.add with the stub LLM: {args.adds} adds per row, one session; "
              "2 LLM calls + 1 embedding call each (loopback)")
        print(f"{'existing':>8} | {'index':>11} | {'total p50':>9} | {'total p95':>9} | {'models p50':>10} | "
              f"{'other p50':>9} | {'other p95':>9} | {'llm calls/add':>13}")
        for existing, index in ((1000, False), (10000, False), (10000, True), (100000, True)):
            psql(args.port, f"""
                SELECT memory.reset();
                INSERT INTO memory.memories (memory, user_id, embedding, embedder)
                SELECT 'Background fact number ' || g, 'big',
                       (SELECT memory.l2_normalize(array_agg(random() - 0.5)::real[]::memory.vector)
                        FROM generate_series(1, 384) WHERE g > 0), 'openai:stub-384'
                FROM generate_series(1, {existing}) g;
                ANALYZE memory.memories;""")
            if index:
                psql(args.port, """
                    CREATE INDEX bench_hnsw ON memory.memories
                        USING memory_hnsw (embedding memory.vector_cosine_ops) WHERE embedder = 'openai:stub-384';
                    ANALYZE memory.memories;""")
            stmts = "".join(
                f"SELECT memory.add('I live in city {i}. I like dish {i}.', user_id => 'big') \\g /dev/null\n"
                for i in range(args.adds))
            _, err = psql(args.port, "SET client_min_messages = debug1;\n" + stmts, options=options)
            rows = [tuple(float(x) for x in m.groups()) for m in LINE.finditer(err)]
            if len(rows) != args.adds:
                raise SystemExit(f"expected {args.adds} timing lines, found {len(rows)}:\n{err[-2000:]}")
            total = [r[0] for r in rows]
            models = [r[2] + r[4] for r in rows]
            other = [r[5] for r in rows]
            calls = statistics.mean(r[1] for r in rows)
            print(f"{existing:>8} | {'memory_hnsw' if index else 'exact scan':>11} | {pct(total, 50):>6.2f} ms | {pct(total, 95):>6.2f} ms | "
                  f"{pct(models, 50):>7.2f} ms | {pct(other, 50):>6.2f} ms | {pct(other, 95):>6.2f} ms | "
                  f"{calls:>13.2f}")
            psql(args.port, "SELECT memory.reset(); DROP INDEX IF EXISTS memory.bench_hnsw")
    finally:
        stub.terminate()


if __name__ == "__main__":
    main()
