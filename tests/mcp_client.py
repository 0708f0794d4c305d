"""End-to-end tests of memory-server's MCP endpoint (design §7b) with the
official `mcp` Python client package (pinned by tests/service.sh), plus raw
HTTP checks of the transport. Run by tests/service.sh after the REST tests.
Usage:
  mcp_client.py --url URL --key-a KEY --project-key KEY
"""

import argparse
import asyncio
import json
import sys
import time
import traceback
import urllib.error
import urllib.request

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

ARGS = None
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


async def with_session(key, body):
    """Connect as a desktop agent would, initialize, run body(session)."""
    client = create_mcp_http_client(headers={"Authorization": f"Token {key}"})
    async with client:
        async with streamable_http_client(ARGS.url + "/mcp", http_client=client) as (read, write, _):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                return await body(session, init)


def payload(result):
    """The JSON a tool returned (its text content)."""
    eq(result.isError, False, f"tool error: {result.content[0].text if result.content else ''}")
    return json.loads(result.content[0].text)


def run(coro):
    return asyncio.run(coro)


@test
def user_key_tools():
    async def body(s, init):
        eq(init.serverInfo.name, "memory-server", "server name")
        eq(init.capabilities.tools is not None, True, "tools capability")
        names = sorted(t.name for t in (await s.list_tools()).tools)
        eq(names, ["add_memories", "delete_all_memories", "delete_memory", "list_memories",
                   "search_memory"], "tools")
        added = payload(await s.call_tool("add_memories", {"text": "I keep bees in Lisbon",
                                                              "infer": False}))
        eq([r["memory"] for r in added["results"]], ["I keep bees in Lisbon"], "added for alice")
        mid = added["results"][0]["id"]
        found = payload(await s.call_tool("search_memory", {"query": "bees", "top_k": 3}))
        eq(found["results"][0]["id"], mid, "found first")
        listed = payload(await s.call_tool("list_memories", {"limit": 10}))
        eq([r["memory"] for r in listed["results"]], ["I keep bees in Lisbon"], "listed")
        # Another user is refused, as in REST.
        other = await s.call_tool("search_memory", {"query": "bees", "user_id": "bob"})
        eq((other.isError, "another user_id" in other.content[0].text), (True, True), "other user")
        bad = await s.call_tool("list_memories", {"limit": 0})
        eq((bad.isError, "'limit'" in bad.content[0].text), (True, True), "bad argument")
        eq(payload(await s.call_tool("delete_memory", {"memory_id": mid}))["message"],
           "Memory deleted successfully!", "deleted")
        gone = await s.call_tool("delete_memory", {"memory_id": mid})
        eq((gone.isError, gone.content[0].text), (True, "Memory not found."), "deleted twice")
    run(with_session(ARGS.key_a, body))


@test
def project_key_names_users():
    async def body(s, init):
        refused = await s.call_tool("add_memories", {"text": "x", "infer": False})
        eq((refused.isError, "project key" in refused.content[0].text), (True, True), "no user")
        payload(await s.call_tool("add_memories", {"text": "I fly kites", "user_id": "mcp1",
                                                    "infer": False}))
        payload(await s.call_tool("add_memories", {"text": "I fly drones", "user_id": "mcp2",
                                                    "infer": False}))
        one = payload(await s.call_tool("search_memory", {"query": "fly", "user_id": "mcp1"}))
        eq([r["memory"] for r in one["results"]], ["I fly kites"], "one user")
        both = payload(await s.call_tool("list_memories",
                                         {"filters": {"user_id": {"in": ["mcp1", "mcp2"]}}}))
        eq(sorted(r["memory"] for r in both["results"]), ["I fly drones", "I fly kites"], "two users")
        for u in ("mcp1", "mcp2"):
            out = payload(await s.call_tool("delete_all_memories", {"user_id": u}))
            eq(out["deleted"], 1, f"delete_all {u}")
    run(with_session(ARGS.project_key, body))


@test
def wrong_key_fails_at_connection():
    try:
        run(with_session("m0x_" + "0" * 64, lambda s, i: asyncio.sleep(0)))
    except BaseException as e:  # the SDK raises from a task group
        if "401" not in repr(e) and "401" not in str(getattr(e, "exceptions", "")):
            raise AssertionError(f"expected a 401, got {e!r}")
        return
    raise AssertionError("a wrong key connected")


def http(method, body=None, raw=None, headers=None, key=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
         "Authorization": f"Token {key or ARGS.key_a}"}
    h.update(headers or {})
    req = urllib.request.Request(ARGS.url + "/mcp", data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    return status, (json.loads(text) if text else None)


@test
def transport():
    st, out = http("POST", raw=b'{"jsonrpc": "2.0", "id": 1, ')
    eq((st, out["error"]["code"]), (400, -32700), "parse error")
    st, out = http("POST", {"jsonrpc": "2.0", "id": 2, "method": "resources/list"})
    eq((st, out["error"]["code"]), (200, -32601), "unknown method")
    st, out = http("POST", {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                            "params": {"name": "forget_everything"}})
    eq((st, out["error"]["code"]), (200, -32602), "unknown tool")
    st, out = http("POST", {"jsonrpc": "2.0", "method": "notifications/initialized"})
    eq((st, out), (202, None), "notification")
    st, out = http("POST", [{"jsonrpc": "2.0", "id": 4, "method": "ping"},
                            {"jsonrpc": "2.0", "method": "notifications/initialized"}])
    eq((st, out), (200, [{"jsonrpc": "2.0", "id": 4, "result": {}}]), "batch")
    st, out = http("POST", {"jsonrpc": "2.0", "id": 5, "method": "ping"},
                   headers={"Origin": "https://evil.example"})
    eq(st, 403, "foreign origin")
    st, out = http("POST", {"jsonrpc": "2.0", "id": 6, "method": "ping"},
                   headers={"MCP-Protocol-Version": "1999-01-01"})
    eq(st, 400, "unknown protocol version")
    st, out = http("POST", {"jsonrpc": "2.0", "id": 7, "method": "ping"}, key="nope")
    eq(st, 401, "bad key")
    eq(http("GET")[0], 405, "no server stream")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--key-a", required=True)
    p.add_argument("--project-key", required=True)
    ARGS = p.parse_args()
    passed = failed = 0
    for t in TESTS:
        start = time.time()
        try:
            t()
            passed += 1
            print(f"ok    mcp {t.__name__} ({time.time() - start:.2f} s)", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL  mcp {t.__name__}", flush=True)
            traceback.print_exc()
    print(f"mcp: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
