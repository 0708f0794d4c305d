#!/usr/bin/env python3
"""The built-in provider against a labelled phrasing corpus (issue #20):
crates/memory_core/tests/data/phrasing.jsonl, written by the team.

Each case: memories a user already has (added with inference, as the
built-in provider would store them), a new message, and the expected
outcome as a list of [event, k]: ["ADD", null] (a new fact, no existing
memory touched), ["UPDATE", k] or ["DELETE", k] (existing memory k is
superseded: either event on k counts, since a negation may be stored as an
update), ["NONE", k] (a restatement of k: nothing changes), or an empty
list (a question or a hypothetical: nothing stored).

A fifth of the cases (by a hash of their id) is set aside and must not be
used for tuning; figures are printed for the whole corpus and for that
fifth, with decision accuracy, false merges (a different fact collapsed
into an existing one), missed updates/deletes and stored duplicates.
  benches/phrasing/run.py [--port 28815] [--embedder minilm] [--show-failures]
                          [--db NAME] [--floor-accuracy 0.6 --max-false-merges 0.0]
With the floors (make test runs it so), it exits 1 when the accuracy on the
whole corpus falls below the floor or false merges rise above the ceiling.
"""
import argparse
import hashlib
import json
import os
import subprocess
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "crates", "memory_core", "tests", "data", "phrasing.jsonl")
DB = "memory_bench_phrasing"


def psql(port, sql, db=None):
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "localhost",
                          "-p", str(port), "-U", "postgres", "-d", db or DB],
                         input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"psql failed: {out.stderr}")
    return out.stdout.strip()


def held_out(case_id):
    return int(hashlib.md5(case_id.encode()).hexdigest(), 16) % 5 == 0


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def run_case(port, embedder, case):
    user = "ph-" + case["id"]
    parts = [f"SET memory.embedder = {lit(embedder)};",
             f"SELECT memory.delete_all(user_id => {lit(user)});"]
    for text in case["existing"]:
        parts.append(f"SELECT (SELECT coalesce(jsonb_agg(r->>'id'), '[]') FROM jsonb_array_elements("
                     f"memory.add({lit(text)}, user_id => {lit(user)})->'results') r "
                     f"WHERE r->>'event' = 'ADD');")
    parts.append(f"SELECT memory.add({lit(case['message'])}, user_id => {lit(user)})->'results';")
    lines = psql(port, "\n".join(parts)).splitlines()
    lines = [line for line in lines if line.strip() != ""]
    existing_ids = [json.loads(x) for x in lines[1:1 + len(case["existing"])]]
    events = json.loads(lines[-1]) if lines else []
    return existing_ids, events


def judge(case, existing_ids, events):
    """(correct, kinds of error) for one case."""
    touched = defaultdict(set)  # existing index -> events on it
    added = 0
    for e in events:
        ev = e.get("event")
        if ev == "ADD":
            added += 1
            continue
        for k, ids in enumerate(existing_ids):
            if e.get("id") in ids:
                touched[k].add(ev)
    errors = set()
    expect = case["expect"]
    want_add = any(ev == "ADD" for ev, _ in expect)
    supersede = {k for ev, k in expect if ev in ("UPDATE", "DELETE")}
    for k in supersede:
        if not touched.get(k, set()) & {"UPDATE", "DELETE"}:
            errors.add("missed update/delete")
    for k, evs in touched.items():
        if k not in supersede and evs & {"UPDATE", "DELETE"}:
            errors.add("false merge" if want_add else "wrong memory changed")
    if want_add and added == 0 and not errors:
        errors.add("false merge" if case["existing"] else "nothing stored")
    if not want_add and not supersede and added > 0:
        errors.add("duplicate stored" if expect else "stored a question or hypothetical")
    if supersede and added > 0 and not any(touched.get(k) for k in supersede):
        errors.add("missed update/delete")
    return not errors, errors


def rates(rows):
    """(accuracy, false-merge rate, missed update/delete rate)."""
    n = len(rows)
    ok = sum(1 for r in rows if r["ok"])
    adds = [r for r in rows if any(ev == "ADD" for ev, _ in r["case"]["expect"]) and r["case"]["existing"]]
    sup = [r for r in rows if any(ev in ("UPDATE", "DELETE") for ev, _ in r["case"]["expect"])]
    fm = sum(1 for r in adds if "false merge" in r["errors"])
    mu = sum(1 for r in sup if "missed update/delete" in r["errors"])
    return ok / max(n, 1), fm / max(len(adds), 1), mu / max(len(sup), 1)


def report(title, rows):
    n = len(rows)
    if n == 0:
        return
    ok = sum(1 for r in rows if r["ok"])
    adds = [r for r in rows if any(ev == "ADD" for ev, _ in r["case"]["expect"]) and r["case"]["existing"]]
    sup = [r for r in rows if any(ev in ("UPDATE", "DELETE") for ev, _ in r["case"]["expect"])]
    fm = sum(1 for r in adds if "false merge" in r["errors"])
    mu = sum(1 for r in sup if "missed update/delete" in r["errors"])
    print(f"{title:<34} {n:>5} {100 * ok / n:>9.1f} % "
          f"{(100 * fm / len(adds)) if adds else 0:>11.1f} % ({fm}/{len(adds)}) "
          f"{(100 * mu / len(sup)) if sup else 0:>9.1f} % ({mu}/{len(sup)})")


def main():
    global DB
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=28815)
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--show-failures", action="store_true")
    ap.add_argument("--db", default=DB)
    ap.add_argument("--floor-accuracy", type=float, default=None)
    ap.add_argument("--max-false-merges", type=float, default=None)
    args = ap.parse_args()
    DB = args.db
    cases = [json.loads(line) for line in open(DATA) if line.strip()]
    psql(args.port, f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    psql(args.port, f"CREATE DATABASE {DB}", db="postgres")
    psql(args.port, "CREATE EXTENSION memory_ext;")
    rows = []
    for c in cases:
        existing_ids, events = run_case(args.port, args.embedder, c)
        ok, errors = judge(c, existing_ids, events)
        rows.append({"case": c, "ok": ok, "errors": errors, "events": events})
    print(f"phrasing corpus: {len(cases)} cases, built-in provider, embedder {args.embedder}")
    print(f"{'':34} {'cases':>5} {'accuracy':>11} {'false merges':>20} {'missed upd/del':>17}")
    report("all", rows)
    report("set-aside fifth (never tuned on)", [r for r in rows if held_out(r["case"]["id"])])
    report("tuning four fifths", [r for r in rows if not held_out(r["case"]["id"])])
    for lang in sorted({r["case"]["lang"] for r in rows}):
        report(f"  language {lang}", [r for r in rows if r["case"]["lang"] == lang])
    for kind in sorted({r["case"]["kind"] for r in rows}):
        report(f"  kind {kind}", [r for r in rows if r["case"]["kind"] == kind])
    if args.show_failures:
        print()
        for r in rows:
            if not r["ok"] and not held_out(r["case"]["id"]):
                evs = [(e.get("event"), e.get("memory")) for e in r["events"]]
                print(f"{r['case']['id']}: {sorted(r['errors'])}: {r['case']['message']!r} -> {evs}")
    psql(args.port, f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    acc, fm, _ = rates(rows)
    failed = []
    if args.floor_accuracy is not None and acc < args.floor_accuracy:
        failed.append(f"accuracy {acc:.3f} is below the floor {args.floor_accuracy}")
    if args.max_false_merges is not None and fm > args.max_false_merges:
        failed.append(f"false merges {fm:.3f} are above the ceiling {args.max_false_merges}")
    if failed:
        print("phrasing: FAIL: " + "; ".join(failed))
        raise SystemExit(1)
    if args.floor_accuracy is not None:
        print(f"phrasing: accuracy {acc:.3f} >= floor {args.floor_accuracy}, false merges {fm:.3f}")


if __name__ == "__main__":
    main()
