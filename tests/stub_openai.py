#!/usr/bin/env python3
"""A scripted OpenAI-compatible stub for the failure-path tests, on 127.0.0.1.

POST /v1/embeddings behaves according to the requested model:
  stub-<n>          n-dimensional deterministic embeddings (hashed words), e.g. stub-8
  stub-500          HTTP 500 every time
  stub-flaky        HTTP 500 on every odd request, success on every even one
  stub-429          HTTP 429 every time
  stub-401          HTTP 401 (not retried)
  stub-malformed    a body that is not JSON
  stub-slow         answers after 5 seconds
  stub-wrongcount   one embedding fewer than inputs
  stub-null         an embedding containing null
  stub-ragged       embeddings of different lengths
POST /v1/chat/completions is a scripted "LLM", see chat() below: a tiny
rule-based model (llm-basic) that answers the extraction, decision and
summary prompts, and failing variants (llm-invent, llm-500, ...).

Every request is appended as one JSON line to the log file given on the
command line (path, model, input count, authorization header present; for
chat requests also the kind of request and the messages sent).

Usage: stub_openai.py <port> <log file>
"""
import hashlib
import json
import math
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNTS = {}


def embedding(text, dims):
    v = [0.0] * dims
    for word in text.lower().split():
        h = int(hashlib.md5(word.strip(".,!?").encode()).hexdigest(), 16)
        v[h % dims] += 1.0 if (h >> 8) % 2 else -1.0
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / n for x in v] if any(v) else [1.0 / math.sqrt(dims)] * dims


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, raw=False):
        data = body.encode() if raw else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        try:
            req = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.reply(400, {"error": {"message": "bad json"}})
        model = str(req.get("model", ""))
        inputs = req.get("input", [])
        if isinstance(inputs, str):
            inputs = [inputs]
        with LOCK:
            COUNTS[model] = COUNTS.get(model, 0) + 1
            n = COUNTS[model]
            entry = {"path": self.path, "model": model, "inputs": len(inputs),
                     "auth": "Authorization" in self.headers}
            if self.path == "/v1/chat/completions":
                entry["kind"] = kind_of(req.get("messages", []))
                entry["messages"] = req.get("messages", [])
                entry["json_mode"] = "response_format" in req
                entry["n"] = n
            with open(LOG, "a") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        if self.path == "/v1/chat/completions":
            return self.chat(model, req.get("messages", []), n)
        if self.path != "/v1/embeddings":
            return self.reply(404, {"error": {"message": "unknown path"}})
        if model == "stub-500" or (model == "stub-flaky" and n % 2 == 1):
            return self.reply(500, {"error": {"message": "internal error"}})
        if model == "stub-429":
            return self.reply(429, {"error": {"message": "rate limited"}})
        if model == "stub-401":
            return self.reply(401, {"error": {"message": "invalid api key"}})
        if model == "stub-malformed":
            return self.reply(200, "this is not json", raw=True)
        if model == "stub-slow":
            time.sleep(5)
        dims = 8
        if model.startswith("stub-") and model[5:].isdigit():
            dims = int(model[5:])
        data = [{"object": "embedding", "index": i, "embedding": embedding(t, dims)}
                for i, t in enumerate(inputs)]
        if model == "stub-wrongcount":
            data = data[:-1]
        if model == "stub-null" and data:
            data[0]["embedding"][0] = None
        if model == "stub-ragged" and len(data) > 1:
            data[1]["embedding"] = data[1]["embedding"][:-1]
        self.reply(200, {"object": "list", "data": data, "model": model})

    def chat(self, model, messages, n):
        """Answer one chat request the way the model name says."""
        kind = kind_of(messages)
        corrected = any(m.get("role") == "assistant" for m in messages)
        if model == "llm-500":
            return self.reply(500, {"error": {"message": "internal error"}})
        if model == "llm-429":
            return self.reply(429, {"error": {"message": "rate limited"}})
        if model == "llm-slow":
            time.sleep(5)
        finish = "stop"
        if model == "llm-length":
            finish = "length"
        if model == "llm-malformed" or (model == "llm-malformed-once" and not corrected):
            content = 'Sure! Here are the facts: {"facts": ['
        elif kind == "extract":
            content = json.dumps({"facts": extract(messages)}, ensure_ascii=False)
        elif kind == "summary":
            content = json.dumps({"summary": summarize(messages)}, ensure_ascii=False)
        else:
            answer = decide(messages)
            if model == "llm-invent" or (model == "llm-invent-once" and not corrected):
                answer = [{"id": "42", "text": "Invented", "event": "UPDATE"}]
            if model == "llm-notext":
                answer = [{"id": "0", "event": "UPDATE"}]
            content = json.dumps({"memory": answer}, ensure_ascii=False)
        self.reply(200, {"id": "chatcmpl-stub", "object": "chat.completion", "model": model,
                         "choices": [{"index": 0, "finish_reason": finish,
                                      "message": {"role": "assistant", "content": content}}]})


# The scripted LLM. It is deliberately simple: enough to drive the pipeline
# through every decision kind in the tests, not a language model.
FIRST_PERSON = [
    (r"^I no longer have (.+)$", "No longer has {}"),
    (r"^I am (.+)$", "Is {}"),
    (r"^I'm (.+)$", "Is {}"),
    (r"^I live in (.+)$", "Lives in {}"),
    (r"^I moved to (.+)$", "Lives in {}"),
    (r"^I work (at|for) (.+)$", "Works at {1}"),
    (r"^I have (.+)$", "Has {}"),
    (r"^I like (.+)$", "Likes {}"),
    (r"^I love (.+)$", "Likes {}"),
]
MARITAL = {"single", "married", "divorced", "engaged", "widowed"}


def kind_of(messages):
    users = [m.get("content", "") for m in messages if m.get("role") == "user"]
    first = users[0] if users else ""
    if first.startswith("Summary so far:"):
        return "summary"
    try:
        if "existing_memories" in json.loads(first):
            return "decide"
    except ValueError:
        pass
    return "extract"


def user_lines(text):
    out = []
    for line in text.splitlines():
        who, _, content = line.partition(": ")
        if who.split(" ")[0] == "user" and content:
            out.append(content)
    return out


def third_person(sentence):
    for pattern, template in FIRST_PERSON:
        m = re.match(pattern, sentence, re.IGNORECASE)
        if m:
            groups = m.groups()
            return template.format(*groups) if "{1}" in template else template.format(groups[-1])
    return sentence


def extract(messages):
    system = "\n".join(m.get("content", "") for m in messages if m.get("role") == "system")
    allowed = re.findall(r"^- ([a-z_]+)", system, re.MULTILINE)
    transcript = next(m["content"] for m in messages if m.get("role") == "user")
    facts = []
    for content in user_lines(transcript):
        for sentence in re.split(r"(?<=[.!?。])\s*", content):
            sentence = sentence.strip().rstrip(".!。")
            if not sentence or sentence.endswith("?") or sentence.lower() in ("hi", "hello", "thanks"):
                continue
            text = third_person(sentence)
            cats = [c for c in allowed if c.rstrip("s") in text.lower()]
            # A category that is not on the list: the extension must drop it.
            facts.append({"text": text, "categories": cats + ["not_a_listed_category"]})
    return facts


def summarize(messages):
    text = next(m["content"] for m in messages if m.get("role") == "user")
    previous = text.split("\n")[1]
    new = " ".join(user_lines(text.split("New messages:\n", 1)[1]))
    return new if previous == "(none)" else previous + " " + new


def decide(messages):
    data = json.loads(next(m["content"] for m in messages if m.get("role") == "user"))
    existing = data["existing_memories"]
    answer = []
    for fact in data["new_facts"]:
        low = fact.lower()
        first = low.split(" ")[0]
        event = None
        for e in existing:
            old = e["text"].lower()
            if old == low:
                event = {"id": e["id"], "text": e["text"], "event": "NONE"}
            elif low.startswith("no longer has ") and old == "has " + low[len("no longer has "):]:
                event = {"id": e["id"], "text": e["text"], "event": "DELETE"}
            elif (first in ("lives", "works") and old.split(" ")[0] == first) or (
                    low.split(" ")[-1] in MARITAL and old.split(" ")[-1] in MARITAL):
                event = {"id": e["id"], "text": fact, "event": "UPDATE", "old_memory": e["text"]}
            if event:
                break
        answer.append(event or {"id": str(len(existing) + len(answer)), "text": fact, "event": "ADD"})
    return answer


if __name__ == "__main__":
    port, LOG = int(sys.argv[1]), sys.argv[2]
    open(LOG, "w").close()
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
