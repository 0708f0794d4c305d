#!/usr/bin/env python3
"""LoCoMo evidence recall through memory_ext's SQL API (issue #17).

Every turn of a conversation is stored with
    memory.add('<speaker>: <text>', user_id => <one user per conversation>,
               metadata => {"dia_id": ...}, infer => false,
               "timestamp" => <the session's date-time>)
(and, for the inference rows, as one user message named after the speaker with
infer => true), then every question of categories 1-4 is asked with
memory.search(question, user_id => ..., top_k => 20). recall@k is the share of
a question's gold evidence turns among the first k results (by the dia_id in
their metadata), hit@k whether any is; both are averaged over questions.

Only the development conversations are used (conv-26, conv-41, conv-43,
conv-47, conv-49); the other five are held out and never read. The data
(CC BY-NC 4.0) is read from $LOCOMO_JSON and never committed.

Usage: LOCOMO_JSON=/path/locomo10.json run.py [--port 28815] [--quick]
"""
import argparse
import json
import os
import re
import statistics
import sys
import time
from datetime import datetime

try:
    import psycopg
except ImportError:
    sys.exit("benches/locomo needs psycopg 3: pip install 'psycopg[binary]'")

DEV = ["conv-26", "conv-41", "conv-43", "conv-47", "conv-49"]
DB = "memory_bench_locomo"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
KS = (5, 10, 20)

HOW_TO_GET = """LOCOMO_JSON is not set or names no file. LoCoMo is public (CC BY-NC 4.0):
  git clone <the snap-research/LoCoMo repository> && export LOCOMO_JSON=$PWD/LoCoMo/data/locomo10.json
It is read from there and never copied into this repository."""

# Rows of the table: (name, users to search (verbatim or inferred), SETs, search arguments).
# The ablation rows switch one feature off each, with everything else default.
ROWS = [
    ("default", "verbatim", [], ""),
    ("vector channel alone", "verbatim", [], "keyword_search => false, graph => false"),
    ("keyword channel alone", "verbatim", [], "vector_weight => 0, graph => false"),
    ("graph off", "verbatim", [], "graph => false"),
    ("- conversation context", "verbatim", ["SET memory.search_context = off"], ""),
    ("- neighbour expansion", "verbatim", ["SET memory.search_neighbors = 0"], ""),
    ("- time terms and dates", "verbatim", ["SET memory.search_time = off"], ""),
    ("- speaker named by the query", "verbatim", ["SET memory.search_speaker = off"], ""),
    ("- calibrated fusion (old max-scaled)", "verbatim", ["SET memory.fusion = 'max'"], ""),
    ("RRF", "verbatim", [], "fusion => 'rrf'"),
    ("old default (all features off)", "verbatim",
     ["SET memory.search_context = off", "SET memory.search_neighbors = 0",
      "SET memory.search_time = off", "SET memory.search_speaker = off",
      "SET memory.fusion = 'max'",
      "SET memory.vector_weight = 0.7", "SET memory.keyword_weight = 0.3"], ""),
    ("infer => true, default", "inferred", [], ""),
    ("infer => true, vector alone", "inferred", [], "keyword_search => false, graph => false"),
    ("infer => true, keyword alone", "inferred", [], "vector_weight => 0, graph => false"),
]


def norm_id(raw):
    """LoCoMo evidence ids as D<session>:<turn>; stray spaces, colons and
    zero padding repaired; None when it is not an id."""
    m = re.fullmatch(r"\s*D\s*:?\s*0*(\d+)\s*:\s*0*(\d+)\s*", raw)
    return f"D{m.group(1)}:{m.group(2)}" if m else None


def evidence(qa, turns):
    out = []
    for e in qa.get("evidence", []):
        for part in re.split(r"[;,]|\s(?=D)", e):
            i = norm_id(part)
            if i and i in turns and i not in out:
                out.append(i)
    return out


def session_time(s):
    return datetime.strptime(s.strip(), "%I:%M %p on %d %B, %Y").strftime("%Y-%m-%d %H:%M:00+00")


def load_data(path):
    if not path or not os.path.isfile(path):
        sys.exit(HOW_TO_GET)
    with open(path) as f:
        data = json.load(f)
    convs = []
    for s in data:
        if s["sample_id"] not in DEV:
            continue  # held out: never read further
        c = s["conversation"]
        turns = []  # (dia_id, speaker, text, timestamp)
        n = 1
        while f"session_{n}" in c:
            at = session_time(c[f"session_{n}_date_time"])
            for t in c[f"session_{n}"]:
                turns.append((norm_id(t["dia_id"]), t["speaker"], t["text"], at))
            n += 1
        ids = {t[0] for t in turns}
        qs = []
        for qa in s["qa"]:
            if qa.get("category") not in CATEGORIES:
                continue
            gold = evidence(qa, ids)
            if gold:
                qs.append((qa["question"], qa["category"], gold))
        convs.append((s["sample_id"], turns, qs))
    return convs


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", default=os.environ.get("DEMO_PORT", "28815"))
    ap.add_argument("--keep", action="store_true", help="reuse the loaded database")
    ap.add_argument("--reload-infer", action="store_true",
                    help="with --keep: add the inferred users again (after an extractor change)")
    ap.add_argument("--no-infer", action="store_true", help="skip the inference rows")
    ap.add_argument("--rows", default="", help="comma-separated row numbers to run")
    args = ap.parse_args()
    convs = load_data(os.environ.get("LOCOMO_JSON"))
    admin = f"host=localhost port={args.port} user=postgres dbname=postgres"
    dsn = f"host=localhost port={args.port} user=postgres dbname={DB}"
    add_ms = {"verbatim": [], "inferred": []}
    load = not args.keep or args.reload_infer
    if not args.keep:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {DB}")
            c.execute(f"CREATE DATABASE {DB}")
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("CREATE EXTENSION memory_ext")
    if load:
        with psycopg.connect(dsn, autocommit=True) as c:
            for name, turns, _ in convs:
                if args.keep:
                    c.execute("SELECT memory.delete_all(user_id => %s)", (name + "#infer",))
                for kind in ("verbatim", "inferred"):
                    if kind == "inferred" and args.no_infer:
                        continue
                    if kind == "verbatim" and args.keep:
                        continue
                    for dia, speaker, text, at in turns:
                        meta = json.dumps({"dia_id": dia})
                        t0 = time.perf_counter()
                        if kind == "verbatim":
                            c.execute("SELECT memory.add(%s::text, user_id => %s, metadata => %s::jsonb,"
                                      " infer => false, \"timestamp\" => %s::timestamptz)",
                                      (f"{speaker}: {text}", name, meta, at))
                        else:
                            msg = json.dumps([{"role": "user", "content": text, "name": speaker}])
                            c.execute("SELECT memory.add(%s::jsonb, user_id => %s, metadata => %s::jsonb,"
                                      " infer => true, \"timestamp\" => %s::timestamptz)",
                                      (msg, name + "#infer", meta, at))
                        add_ms[kind].append((time.perf_counter() - t0) * 1000)
            c.execute("ANALYZE")
    n_q = sum(len(q) for _, _, q in convs)
    print(f"LoCoMo development conversations {', '.join(DEV)}: {sum(len(t) for _, t, _ in convs)} turns, "
          f"{n_q} questions (categories 1-4)")
    for kind, xs in add_ms.items():
        if xs:
            print(f"add {kind}: p50 {pct(xs, 50):.1f} ms, p95 {pct(xs, 95):.1f} ms over {len(xs)} calls")
    if load and not args.no_infer:
        with psycopg.connect(dsn, autocommit=True) as c:
            for name, turns, _ in convs:
                n = c.execute("SELECT count(*) FROM memory.memories WHERE user_id = %s AND valid_to IS NULL",
                              (name + "#infer",)).fetchone()[0]
                dias = c.execute("SELECT count(DISTINCT metadata->>'dia_id') FROM memory.memories "
                                 "WHERE user_id = %s", (name + "#infer",)).fetchone()[0]
                print(f"  {name} inferred: {n} current memories from {dias} of {len(turns)} turns")

    rows = list(enumerate(ROWS))
    if args.rows:
        keep = {int(x) for x in args.rows.split(",")}
        rows = [r for r in rows if r[0] in keep]
    header = (f"{'#':>2} {'configuration':<38}" + "".join(f" {'R@' + str(k):>6}" for k in KS)
              + "".join(f" {'H@' + str(k):>6}" for k in KS)
              + "".join(f" {'R@10 c' + str(c):>8}" for c in CATEGORIES) + f" {'p50 ms':>7} {'p95 ms':>7}")
    print()
    print(header)
    for ri, (label, kind, sets, extra) in rows:
        if kind == "inferred" and args.no_infer:
            continue
        rec = {k: [] for k in KS}
        hit = {k: [] for k in KS}
        per_cat = {c: [] for c in CATEGORIES}
        lat = []
        with psycopg.connect(dsn, autocommit=True) as c:
            for s in sets:
                c.execute(s)
            sql = ("SELECT metadata->>'dia_id' FROM memory.search_rows(%s, user_id => %s, top_k => 20"
                   + (", " + extra if extra else "") + ")")
            for name, _, qs in convs:
                user = name if kind == "verbatim" else name + "#infer"
                for q, cat, gold in qs:
                    t0 = time.perf_counter()
                    got = [r[0] for r in c.execute(sql, (q, user)).fetchall()]
                    lat.append((time.perf_counter() - t0) * 1000)
                    for k in KS:
                        top = set(got[:k])
                        found = sum(1 for g in gold if g in top)
                        rec[k].append(found / len(gold))
                        hit[k].append(1.0 if found else 0.0)
                    per_cat[cat].append(sum(1 for g in gold if g in set(got[:10])) / len(gold))
        mean = statistics.fmean
        print(f"{ri:>2} {label:<38}" + "".join(f" {mean(rec[k]):6.3f}" for k in KS)
              + "".join(f" {mean(hit[k]):6.3f}" for k in KS)
              + "".join(f" {mean(per_cat[c]):8.3f}" for c in CATEGORIES)
              + f" {pct(lat, 50):7.1f} {pct(lat, 95):7.1f}", flush=True)
    print("\ncategories: " + ", ".join(f"c{k} {v}" for k, v in CATEGORIES.items())
          + "; latencies are client side, one connection, this machine")


if __name__ == "__main__":
    main()
