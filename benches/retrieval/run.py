#!/usr/bin/env python3
"""Retrieval-quality benchmark: loads benches/retrieval/dataset.py into a
database through memory.add, asks every question through memory.search_rows
with each channel alone and with several fusions, and prints recall@1/3/5 (the
share of gold turns found in the top k, averaged over questions) and MRR: one
table for the one-person conversations, one for the group chats (with the
default minus speaker matching as an extra row).

Usage: run.py [--port 28815] [--embedders minilm,wordllama]
Needs the extension installed and a server on localhost (make demo starts one).
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from dataset import CONVERSATIONS, GROUP_CHATS, GROUP_QUESTIONS, QUESTIONS  # noqa: E402

DB = "memory_bench_retrieval"


def psql(port, sql, db=DB):
    out = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "localhost", "-p", str(port),
         "-U", "postgres", "-d", db, "-F", "\t"],
        input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    return out.stdout


def lit(s):
    return "'" + s.replace("'", "''") + "'"


CONFIGS = [
    ("vector only", "keyword_search => false"),
    ("keyword (BM25) only", "vector_weight => 0"),
    ("RRF, equal weights", "fusion => 'rrf', vector_weight => 0.5, keyword_weight => 0.5"),
    ("score fusion 0.7/0.3", "vector_weight => 0.7, keyword_weight => 0.3"),
    ("score fusion 0.6/0.4", "vector_weight => 0.6, keyword_weight => 0.4"),
    ("score fusion 0.5/0.5", "vector_weight => 0.5, keyword_weight => 0.5"),
    ("score fusion 0.4/0.6", "vector_weight => 0.4, keyword_weight => 0.6"),
    ("default settings", ""),
]


def chat_turns(user):
    """The memories of one user as stored (the gold answers are matched by text)."""
    if user in CONVERSATIONS:
        return CONVERSATIONS[user]
    kind, lines = GROUP_CHATS[user]
    return lines if kind == "labels" else [text for _, text in lines]


def chat_messages(user):
    if user in CONVERSATIONS:
        return [{"role": "user", "content": t} for t in CONVERSATIONS[user]]
    kind, lines = GROUP_CHATS[user]
    if kind == "labels":
        return [{"role": "user", "content": t} for t in lines]
    return [{"role": "user", "content": t, "name": who} for who, t in lines]


def table(port, embedder, title, questions, configs):
    """One SQL script for all questions × configs; prints R@1/3/5 and MRR."""
    sql = [f"SET memory.embedder = {lit(embedder)};"]
    for qi, (user, q, _) in enumerate(questions):
        for ci, (_, opts, sets) in enumerate(configs):
            extra = (", " + opts) if opts else ""
            sql += [f"SET {s};" for s in sets]
            sql.append(f"SELECT {qi}, {ci}, row_number() OVER (), memory FROM memory.search_rows("
                       f"{lit(q)}, user_id => {lit(user)}, top_k => 5{extra});")
            sql += [f"RESET {s.split('=')[0].strip()};" for s in sets]
    ranked = {}
    for line in psql(port, "\n".join(sql)).splitlines():
        qi, ci, r, memory = line.split("\t", 3)
        ranked.setdefault((int(qi), int(ci)), []).append(memory)
    print(f"\nembedder {embedder}, {title}: {len(questions)} questions")
    print(f"{'retriever':<28} {'R@1':>6} {'R@3':>6} {'R@5':>6} {'MRR':>6}")
    for ci, (name, _, _) in enumerate(configs):
        tot = {1: 0.0, 3: 0.0, 5: 0.0}
        mrr = 0.0
        for qi, (user, _, gold) in enumerate(questions):
            turns = chat_turns(user)
            gold_text = [turns[g] for g in gold]
            got = ranked.get((qi, ci), [])
            for k in tot:
                tot[k] += sum(1 for g in gold_text if g in got[:k]) / len(gold_text)
            first = next((i + 1 for i, m in enumerate(got) if m in gold_text), None)
            mrr += 1.0 / first if first else 0.0
        n = len(questions)
        print(f"{name:<28} {tot[1]/n:6.3f} {tot[3]/n:6.3f} {tot[5]/n:6.3f} {mrr/n:6.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", default=os.environ.get("DEMO_PORT", "28815"))
    ap.add_argument("--embedders", default="minilm,wordllama")
    args = ap.parse_args()
    psql(args.port, f"DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB};", db="postgres")
    psql(args.port, "CREATE EXTENSION memory_ext;")
    users = list(CONVERSATIONS) + list(GROUP_CHATS)
    print(f"{len(QUESTIONS)} questions over {sum(len(t) for t in CONVERSATIONS.values())} turns of "
          f"{len(CONVERSATIONS)} users; {len(GROUP_QUESTIONS)} over "
          f"{sum(len(c[1]) for c in GROUP_CHATS.values())} lines of {len(GROUP_CHATS)} group chats")
    configs = [(name, opts, []) for name, opts in CONFIGS]
    for embedder in args.embedders.split(","):
        load = [f"SET memory.embedder = {lit(embedder)};", "SELECT memory.reset();"]
        for user in users:
            msgs = json.dumps(chat_messages(user))
            load.append(f"SELECT memory.add({lit(msgs)}::jsonb, user_id => {lit(user)}, infer => false);")
        psql(args.port, "\n".join(load))
        table(args.port, embedder, "one-person conversations", QUESTIONS, configs)
        table(args.port, embedder, "group chats", GROUP_QUESTIONS,
              configs + [("default without speaker", "", ["memory.search_speaker = off"])])


if __name__ == "__main__":
    main()
