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
Every request is appended as one JSON line to the log file given on the
command line (path, model, input count, authorization header present).

Usage: stub_openai.py <port> <log file>
"""
import hashlib
import json
import math
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
            with open(LOG, "a") as f:
                f.write(json.dumps({"path": self.path, "model": model, "inputs": len(inputs),
                                    "auth": "Authorization" in self.headers}) + "\n")
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


if __name__ == "__main__":
    port, LOG = int(sys.argv[1]), sys.argv[2]
    open(LOG, "w").close()
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
