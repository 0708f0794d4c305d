"""End-to-end tests of memory-server (design §7a) with the official Mem0
client, unchanged (mem0ai 2.2.1), plus raw-HTTP checks of status codes and
error bodies, and a database restart while the service runs.

Run by tests/service.sh, which starts PostgreSQL, the service and creates
the keys. Usage:
  service_client.py --url URL --key-a KEY --key-b KEY --pg-port N --repo DIR --db NAME
"""

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
import uuid

os.environ["MEM0_TELEMETRY"] = "false"  # before importing mem0: no network

from mem0 import MemoryClient  # noqa: E402
from mem0.client.types import AddMemoryOptions  # noqa: E402
from mem0.exceptions import (  # noqa: E402
    AuthenticationError,
    MemoryNotFoundError,
    ValidationError,
)

ARGS = None
TESTS = []
STATE = {}


def test(fn):
    TESTS.append(fn)
    return fn


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def raises(exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc as e:
        return e
    raise AssertionError(f"{fn.__name__} did not raise {exc.__name__}")


def http(method, path, body=None, key="A", raw=None, headers=None):
    """(status, parsed JSON body, content type) of one request."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    h = {"Content-Type": "application/json"}
    if key == "A":
        h["Authorization"] = f"Token {ARGS.key_a}"
    elif key == "B":
        h["Authorization"] = f"Token {ARGS.key_b}"
    elif key is not None:
        h["Authorization"] = key
    h.update(headers or {})
    req = urllib.request.Request(ARGS.url + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            status, text, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, text, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
    return status, json.loads(text), ctype


def error_is(status_body, status, detail_part):
    st, body, ctype = status_body
    eq(st, status, "status")
    eq(ctype, "application/json", "content type")
    if detail_part not in body.get("detail", ""):
        raise AssertionError(f"detail {body!r} lacks {detail_part!r}")


def memories(listing):
    return sorted(r["memory"] for r in listing["results"])


# ------------------------------------------------------------------ the client


@test
def client_construction_pings():
    a = MemoryClient(host=ARGS.url, api_key=ARGS.key_a)
    eq(a.org_id, "memory_ext", "org_id")
    eq(a.project_id, "service-alice", "project_id")
    eq(a.user_email, None, "user_email")
    STATE["a"] = a
    STATE["b"] = MemoryClient(host=ARGS.url, api_key=ARGS.key_b)


@test
def wrong_key_refused_at_construction():
    e = raises(ValueError, MemoryClient, host=ARGS.url, api_key="m0x_" + "0" * 64)
    eq(str(e), "Error: Invalid API key.", "message")


@test
def add_with_inference():
    a = STATE["a"]
    out = a.add(
        [
            {"role": "user", "content": "Hi! I live in Paris and I am vegetarian."},
            {"role": "assistant", "content": "Noted."},
        ],
        user_id="alice",
        metadata={"topic": "life"},
    )
    eq(sorted((r["event"], r["memory"]) for r in out["results"]),
       [("ADD", "Is vegetarian"), ("ADD", "Lives in Paris")], "add results")
    STATE["paris"] = next(r["id"] for r in out["results"] if r["memory"] == "Lives in Paris")
    STATE["veg"] = next(r["id"] for r in out["results"] if r["memory"] == "Is vegetarian")


@test
def add_verbatim_and_scope_in_filters():
    a = STATE["a"]
    out = a.add("Remind me to call the plumber", user_id="alice", infer=False,
                metadata={"topic": "chores"})
    eq([r["memory"] for r in out["results"]], ["Remind me to call the plumber"], "verbatim")
    STATE["plumber"] = out["results"][0]["id"]
    out = a.add("Book the train to Lyon", AddMemoryOptions(
        filters={"user_id": "alice", "agent_id": "planner"}, infer=False))
    eq(len(out["results"]), 1, "one memory")
    got = a.get(out["results"][0]["id"])
    eq((got["user_id"], got["agent_id"]), ("alice", "planner"), "scope from filters")
    STATE["train"] = got["id"]


@test
def add_with_timestamp_and_expiration():
    a = STATE["a"]
    out = a.add("Visited Rome in 2020", user_id="alice", infer=False,
                timestamp=1600000000, expiration_date="2999-12-31")
    got = a.get(out["results"][0]["id"])
    eq(got["created_at"][:19], "2020-09-13T12:26:40", "created_at from timestamp")
    eq(got["expiration_date"][:19], "3000-01-01T00:00:00", "kept through 2999-12-31 UTC")
    # Already expired: stored, but listings skip it.
    out = a.add("Old coupon code", user_id="alice", infer=False, expiration_date="2000-01-01")
    STATE["expired"] = out["results"][0]["id"]
    STATE["rome"] = got["id"]


@test
def search_with_filters():
    a = STATE["a"]
    out = a.search("where does she live?", filters={"user_id": "alice"})
    eq(out["results"][0]["memory"], "Lives in Paris", "best hit")
    out = a.search("call", filters={"AND": [{"user_id": "alice"}, {"metadata.topic": "chores"}]})
    eq([r["memory"] for r in out["results"]], ["Remind me to call the plumber"], "metadata filter")
    out = a.search("train", filters={"AND": [{"user_id": "alice"}, {"agent_id": "planner"}]}, top_k=5)
    eq([r["memory"] for r in out["results"]], ["Book the train to Lyon"], "agent filter")
    out = a.search("Paris", filters={"user_id": "alice"}, top_k=1, fields=["memory"])
    eq(out["results"], [{"id": STATE["paris"], "memory": "Lives in Paris"}], "fields")


@test
def unknown_filter_field_is_a_validation_error():
    a = STATE["a"]
    raises(ValidationError, a.search, "x", filters={"user_id": "alice", "colour": "red"})
    raises(ValidationError, a.get_all, filters={"user_id": {"near": "alice"}})


@test
def get_all_pages():
    a = STATE["a"]
    out = a.get_all(filters={"user_id": "alice"})
    expected = ["Book the train to Lyon", "Is vegetarian", "Lives in Paris",
                "Remind me to call the plumber", "Visited Rome in 2020"]
    eq(memories(out), expected, "all current, expired one skipped")
    eq((out["count"], out["next"], out["previous"]), (5, None, None), "one page")
    p1 = a.get_all(filters={"user_id": "alice"}, page=1, page_size=2)
    p3 = a.get_all(filters={"user_id": "alice"}, page=3, page_size=2)
    eq((p1["count"], len(p1["results"]), p1["previous"]), (5, 2, None), "page 1")
    eq(p1["next"], ARGS.url + "/v3/memories/?page=2&page_size=2", "next link")
    eq((len(p3["results"]), p3["next"]), (1, None), "last page")
    eq(p3["previous"], ARGS.url + "/v3/memories/?page=2&page_size=2", "previous link")
    out = a.get_all(filters={"AND": [{"user_id": "alice"}, {"agent_id": "planner"}]})
    eq(memories(out), ["Book the train to Lyon"], "filtered listing")


@test
def get_update_history():
    a = STATE["a"]
    eq(a.get(STATE["paris"])["memory"], "Lives in Paris", "get")
    out = a.update(STATE["paris"], text="Lives in Berlin")
    eq((out["id"], out["memory"]), (STATE["paris"], "Lives in Berlin"), "update keeps id")
    out = a.update(STATE["paris"], metadata={"topic": "moves"})
    eq((out["memory"], out["metadata"]), ("Lives in Berlin", {"topic": "moves"}), "metadata only")
    out = a.update(STATE["paris"], expiration_date="2999-06-30")
    eq(out["expiration_date"][:19], "2999-07-01T00:00:00", "expiry set by update")
    out = a.update(STATE["paris"], expiration_date=None)
    eq(("expiration_date" in out, out["memory"]), (False, "Lives in Berlin"), "expiry removed by null")
    hist = a.history(STATE["paris"])
    eq([h["event"] for h in hist], ["ADD", "UPDATE", "UPDATE", "UPDATE", "UPDATE"], "history events")
    eq((hist[1]["old_memory"], hist[1]["new_memory"]), ("Lives in Paris", "Lives in Berlin"), "old text")


@test
def delete_one():
    a = STATE["a"]
    eq(a.delete(STATE["plumber"]), {"message": "Memory deleted successfully!"}, "delete")
    raises(MemoryNotFoundError, a.get, STATE["plumber"])
    raises(MemoryNotFoundError, a.delete, STATE["plumber"])
    eq([h["event"] for h in a.history(STATE["plumber"])], ["ADD", "DELETE"], "history kept")


@test
def batch_update_and_delete():
    a = STATE["a"]
    out = a.batch_update([{"memory_id": STATE["veg"], "text": "Is vegan"},
                          {"memory_id": STATE["rome"], "text": "Visited Rome and Naples in 2020"}])
    eq(out, {"message": "Successfully updated 2 memories"}, "batch update")
    eq(a.get(STATE["veg"])["memory"], "Is vegan", "updated")
    # All or nothing: one unknown id, nothing changes.
    raises(MemoryNotFoundError, a.batch_update,
           [{"memory_id": STATE["veg"], "text": "Eats fish"}, {"memory_id": str(uuid.uuid4()), "text": "x"}])
    eq(a.get(STATE["veg"])["memory"], "Is vegan", "rolled back")
    out = a.batch_delete([{"memory_id": STATE["rome"]}])
    eq(out, {"message": "Successfully deleted 1 memories"}, "batch delete")
    raises(MemoryNotFoundError, a.get, STATE["rome"])


@test
def users_lists_own_entities():
    a, b = STATE["a"], STATE["b"]
    b.add("I like green tea", user_id="bob", infer=False)
    mine = sorted((e["type"], e["name"], e["total_memories"]) for e in a.users()["results"])
    eq(mine, [("agent", "planner", 1), ("user", "alice", 3)], "alice's entities")
    theirs = sorted((e["type"], e["name"]) for e in b.users()["results"])
    eq(theirs, [("user", "bob")], "bob's entities")


@test
def tenant_b_cannot_read_a():
    a, b = STATE["a"], STATE["b"]
    raises(MemoryNotFoundError, b.get, STATE["paris"])
    raises(MemoryNotFoundError, b.delete, STATE["paris"])
    raises(MemoryNotFoundError, b.update, STATE["paris"], text="Lives in Rome")
    eq(b.history(STATE["paris"]), [], "no history across tenants")
    e = raises(AuthenticationError, b.search, "Berlin", filters={"user_id": "alice"})
    eq(e.message, "this API key is bound to another user_id", "403 detail")
    raises(AuthenticationError, b.get_all, filters={"OR": [{"user_id": "alice"}, {"user_id": "bob"}]})
    raises(AuthenticationError, b.add, "I live in Oslo", user_id="alice")
    raises(AuthenticationError, b.delete_all, user_id="alice")
    # Without naming a user, bob's key reads bob's memories only.
    out = b.search("Berlin tea", filters={"agent_id": "planner"})
    eq(out["results"], [], "agent filter stays inside bob")
    eq(memories(b.get_all(filters={"user_id": "bob"})), ["I like green tea"], "bob's own")
    eq(a.get(STATE["paris"])["memory"], "Lives in Berlin", "alice's memory intact")


@test
def async_add():
    a = STATE["a"]
    out = a.add("I play chess every Sunday", user_id="alice", async_mode=True)
    eq(len(out["results"]), 1, "one event")
    eq(out["results"][0]["status"], "PENDING", "queued")
    uuid.UUID(out["results"][0]["event_id"])
    deadline = time.time() + 90
    while time.time() < deadline:
        found = [m for m in memories(a.get_all(filters={"user_id": "alice"})) if "chess" in m]
        if found:
            eq(found, ["Plays chess every Sunday"], "async memory")
            return
        time.sleep(0.5)
    raise AssertionError("the queued add never appeared")


@test
def delete_all_and_delete_users():
    a, b = STATE["a"], STATE["b"]
    out = a.delete_all(user_id="alice")
    eq(out["message"], "Memories deleted successfully!", "delete_all")
    eq(a.get_all(filters={"user_id": "alice"})["count"], 0, "alice empty")
    eq(b.get_all(filters={"user_id": "bob"})["count"], 1, "bob untouched")
    eq(b.delete_users(user_id="bob"), {"message": "Entity deleted successfully."}, "delete_users")
    eq(b.get_all(filters={"user_id": "bob"})["count"], 0, "bob empty")
    eq(b.users()["results"], [], "no entities left")


# ------------------------------------------------------------------ raw HTTP


@test
def http_errors():
    error_is(http("POST", "/v3/memories/search/", raw=b'{"query": "x", '), 400, "malformed JSON")
    error_is(http("POST", "/v3/memories/add/", raw=b'[1, 2]'), 400, "must be a JSON object")
    error_is(http("POST", "/v3/memories/search/",
                  {"query": "x", "filters": {"AND": [{"user_id": "alice"}, {"shoe_size": 42}]}}),
             400, "shoe_size")
    error_is(http("POST", "/v3/memories/add/", raw=b'{"messages": "' + b"x" * 70000 + b'"}'),
             413, "over the limit of 65536 bytes")
    error_is(http("GET", "/v1/ping/", key=None), 401, "credentials were not provided")
    error_is(http("GET", "/v1/ping/", key="Token m0x_nope"), 401, "Invalid API key")
    error_is(http("GET", "/v1/ping/", key="Basic abc"), 401, "Token <api key>")
    error_is(http("GET", f"/v1/memories/{uuid.uuid4()}/"), 404, "Memory not found")
    error_is(http("PUT", f"/v1/memories/{uuid.uuid4()}/", {"text": "x"}), 404, "does not exist")
    error_is(http("GET", "/v1/memories/not-a-uuid/"), 400, "uuid")
    error_is(http("DELETE", "/v1/memories/"), 400, "needs a scope")
    error_is(http("DELETE", "/v1/memories/?filters=%7B%7D"), 400, "needs a scope")
    error_is(http("DELETE", "/v1/memories/?user_id=*"), 400, "no wildcard")
    error_is(http("GET", "/v1/nothing/here/"), 404, "Not found")
    error_is(http("PATCH", "/v1/batch/", {}), 405, "Method not allowed")
    error_is(http("POST", "/v3/memories/add/", {"messages": "I like jazz", "user_id": "bob"}),
             403, "bound to another user_id")
    error_is(http("POST", "/v3/memories/add/", {"messages": [{"role": "user"}]}), 400,
             'message 1 has no "content"')
    error_is(http("POST", "/v3/memories/search/", {"query": "  "}), 400, "'query'")
    error_is(http("PUT", "/v1/batch/", {"memories": []}), 400, "non-empty list")
    error_is(http("PUT", f"/v1/memories/{uuid.uuid4()}/", {"timestamp": 1}), 400, "'timestamp'")
    error_is(http("DELETE", "/v2/entities/planet/mars/"), 400, "unknown entity type")


@test
def http_old_paths_and_extras():
    # 1.x add: scope at the top level, async_mode false, extra keys ignored.
    st, out, ctype = http("POST", "/v1/memories/", {
        "messages": [{"role": "user", "content": "Call mom on Friday"}], "user_id": "alice",
        "infer": False, "async_mode": False, "org_id": "o", "project_id": "p",
        "output_format": "v1.1", "version": "v2"})
    eq((st, ctype, [r["memory"] for r in out["results"]]),
       (200, "application/json", ["Call mom on Friday"]), "POST /v1/memories/")
    mid = out["results"][0]["id"]
    for path in ("/v2/memories/search/", "/v1/memories/search/"):
        st, out, _ = http("POST", path, {"query": "mom", "user_id": "alice", "rerank": True})
        eq((st, [r["memory"] for r in out["results"]]), (200, ["Call mom on Friday"]), path)
    st, out, _ = http("POST", "/v2/memories/", {"filters": {"user_id": "alice"}})
    eq((st, out["count"], memories(out)), (200, 1, ["Call mom on Friday"]), "POST /v2/memories/")
    st, out, _ = http("GET", "/v1/memories/?user_id=alice&page_size=5")
    eq((st, out["count"], out["next"], memories(out)),
       (200, 1, None, ["Call mom on Friday"]), "GET /v1/memories/")
    http("POST", "/v1/memories/", {"messages": "Water the plants", "user_id": "alice", "infer": False})
    st, out, _ = http("GET", "/v1/memories/?user_id=alice&page_size=1&page=1")
    eq((st, out["count"], len(out["results"])), (200, 2, 1), "GET page 1 of 2")
    eq(out["next"], ARGS.url + "/v1/memories/?user_id=alice&page=2&page_size=1", "next keeps the scope")
    st, out, _ = http("GET", f"/v1/memories/{mid}/history/")
    eq((st, [h["event"] for h in out]), (200, ["ADD"]), "history")
    st, out, _ = http("DELETE", "/v1/memories/?user_id=alice")
    eq((st, out), (200, {"message": "Memories deleted successfully!", "deleted": 2}), "delete_all")
    st, out, _ = http("GET", "/healthz", key=None)
    eq((st, out), (200, {"status": "ok"}), "healthz")


@test
def malformed_request_sweep():
    """Wrong types, huge and deep bodies, bad UTF-8, odd headers and unknown
    routes: always a JSON 4xx, never a 5xx or a dropped connection."""
    deep = b"[" * 100000 + b"]" * 100000
    deep_filter = {"query": "x", "user_id": "alice", "filters": {}}
    f = deep_filter["filters"]
    for _ in range(120):
        f["AND"] = [{}]
        f = f["AND"][0]
    f["user_id"] = "alice"
    cases = [
        ("POST", "/v3/memories/add/", {"messages": 5, "user_id": "alice"}),
        ("POST", "/v3/memories/add/", {"messages": "x", "user_id": ["alice"]}),
        ("POST", "/v3/memories/add/", {"messages": "x", "metadata": [1]}),
        ("POST", "/v3/memories/add/", {"messages": "x", "infer": "maybe"}),
        ("POST", "/v3/memories/add/", {"messages": "a\u0000b", "user_id": "alice", "infer": False}),
        ("POST", "/v3/memories/add/", {"messages": "x", "expiration_date": "someday"}),
        ("POST", "/v3/memories/search/", {"query": {"text": "x"}}),
        ("POST", "/v3/memories/search/", {"query": "x", "top_k": "many"}),
        ("POST", "/v3/memories/search/", {"query": "x", "top_k": 10 ** 12}),
        ("POST", "/v3/memories/search/", {"query": "x", "filters": "user_id=alice"}),
        ("POST", "/v3/memories/search/", {"query": "x", "filters": {"user_id": {"gt": [1]}}}),
        ("POST", "/v3/memories/search/", deep_filter),
        ("POST", "/v3/memories/", {"filters": {"user_id": "alice"}, "page": -1}),
        ("PUT", "/v1/batch/", {"memories": [1, 2]}),
        ("DELETE", "/v1/batch/", {"memories": [{"memory_id": 5}]}),
        ("PUT", f"/v1/memories/{uuid.uuid4()}/", {"text": ["x"]}),
        ("POST", "/v3/memories/search/", b'{"query": "\xff\xfe", "user_id": "alice"}'),
        ("POST", "/v3/memories/add/", b"messages=hello&user_id=alice"),
        ("POST", "/v3/memories/add/", deep),
        ("POST", "/v3/memories/add/", b"x" * 200000),
        ("POST", "/mcp", b"x" * 200000),
        ("POST", "/mcp", deep),
        ("PUT", "/mcp", {}),
        ("GET", "/v1/memories/?user_id=%FF%FE", None),
        ("GET", "/v1/memories/?page=abc&user_id=alice", None),
        ("GET", "/v9/anything/", None),
        ("POST", "/v1/memories/%00/", {}),
        ("DELETE", "/v1/memories/?user_id=", None),
    ]
    wrong = []
    for method, path, body in cases:
        raw = body if isinstance(body, bytes) else None
        what = f"{method} {path} {str(body)[:60]!r}"
        try:
            st, out, ctype = http(method, path, None if raw is not None else body, raw=raw)
        except Exception as e:  # a dropped connection or a reply that is not JSON
            wrong.append(f"{what}: {e!r}")
            continue
        if not (400 <= st < 500) or ctype != "application/json" or "detail" not in out:
            wrong.append(f"{what}: {st} {ctype} {str(out)[:200]}")
    if wrong:
        raise AssertionError("\n".join(wrong))
    # A header that is not ASCII, and an empty key.
    for auth in ("Token \u00e9t\u00e9", "Token "):
        req = urllib.request.Request(ARGS.url + "/v1/ping/", method="GET")
        req.add_unredirected_header("Authorization", auth.encode("utf-8").decode("latin-1"))
        try:
            urllib.request.urlopen(req, timeout=30)
            raise AssertionError(f"{auth!r} accepted")
        except urllib.error.HTTPError as e:
            eq(e.code, 401, f"authorization {auth!r}")
    eq(http("GET", "/v1/ping/")[0], 200, "still serving")


def psql(sql):
    return subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "localhost",
         "-p", str(ARGS.pg_port), "-U", "postgres", "-d", ARGS.db, "-c", sql],
        check=True, capture_output=True, text=True).stdout.strip()


@test
def project_and_admin_keys():
    """Design §7b: a project key acts for the users each request names and
    the database fences the request to exactly them; an admin key's role
    bypasses row-level security."""
    proj = psql("SELECT memory.create_api_key('service-project', 'memory_tenant')")
    admin = psql("""DO $$ BEGIN
                        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'memory_admin') THEN
                            CREATE ROLE memory_admin NOLOGIN BYPASSRLS;
                        END IF;
                    END $$;
                    SELECT memory.grant_tenant_access('memory_admin');
                    SELECT memory.create_api_key('service-admin', 'memory_admin')""").splitlines()[-1]
    pk, ak = f"Token {proj}", f"Token {admin}"
    try:
        p = MemoryClient(host=ARGS.url, api_key=proj)
        eq(http("GET", "/v1/ping/", key=pk)[1]["key_type"], "project", "project key type")
        eq(http("GET", "/v1/ping/", key=ak)[1]["key_type"], "admin", "admin key type")
        eq(http("GET", "/v1/ping/")[1]["key_type"], "user", "user key type")
        pa = p.add("I like sailing", user_id="pa", infer=False)["results"][0]["id"]
        p.add("I like rowing", user_id="pb", infer=False)
        p.add("The crew meets on Tuesday", user_id="pb", agent_id="shared", infer=False)
        eq(memories(p.search("sailing rowing", filters={"user_id": "pa"})), ["I like sailing"],
           "one user")
        eq(memories(p.search("like", filters={"OR": [{"user_id": "pa"}, {"user_id": "pb"}]})),
           ["I like rowing", "I like sailing", "The crew meets on Tuesday"], "an OR of two users")
        eq(memories(p.get_all(filters={"user_id": {"in": ["pa", "pb"]}})),
           ["I like rowing", "I like sailing", "The crew meets on Tuesday"], "'in' over two users")
        # The database fences the request to the users it names: pb's memory
        # of agent 'shared' matches the filter but is not pa's.
        eq(memories(p.get_all(filters={"OR": [{"user_id": "pa"}, {"agent_id": "shared"}]})),
           ["I like sailing"], "fenced to pa")
        # Naming no user is refused.
        error_is(http("POST", "/v3/memories/search/", {"query": "x", "filters": {"agent_id": "shared"}},
                      key=pk), 400, "project key")
        error_is(http("POST", "/v3/memories/add/", {"messages": "x", "agent_id": "shared"}, key=pk),
                 400, "project key")
        # Calls by id (the client sends no user): fenced to the memories' owners.
        eq(p.get(pa)["memory"], "I like sailing", "get by id")
        eq(p.update(pa, text="I love sailing")["memory"], "I love sailing", "update by id")
        eq([h["event"] for h in p.history(pa)], ["ADD", "UPDATE"], "history by id")
        error_is(http("GET", f"/v1/memories/{pa}/?user_id=pb", key=pk), 404, "Memory not found")
        error_is(http("GET", f"/v1/memories/{uuid.uuid4()}/", key=pk), 404, "Memory not found")
        pb_ids = {r["memory"]: r["id"] for r in p.get_all(filters={"user_id": "pb"})["results"]}
        p.batch_update([{"memory_id": pa, "text": "I love sailing a lot"},
                        {"memory_id": pb_ids["I like rowing"], "text": "Rows on Sundays"}])
        eq(memories(p.get_all(filters={"user_id": {"in": ["pa", "pb"]}})),
           ["I love sailing a lot", "Rows on Sundays", "The crew meets on Tuesday"],
           "batch update across two users")
        # The users listing spans the project; ?user_id= narrows it.
        names = {e["name"] for e in p.users()["results"] if e["type"] == "user"}
        eq({"pa", "pb"} <= names, True, "project users")
        st, out, _ = http("GET", "/v1/entities/?user_id=pa", key=pk)
        eq((st, [(e["type"], e["name"]) for e in out["results"]]), (200, [("user", "pa")]), "entities of pa")
        # A user key still cannot reach pa; the admin key sees everyone.
        error_is(http("POST", "/v3/memories/search/", {"query": "sailing", "user_id": "pa"}), 403,
                 "bound to another user_id")
        st, out, _ = http("GET", "/v1/entities/", key=ak)
        names = {e["name"] for e in out["results"] if e["type"] == "user"}
        eq((st, {"pa", "pb"} <= names), (200, True), "admin lists all users")
        p.batch_delete([{"memory_id": pb_ids["The crew meets on Tuesday"]}])
        eq(p.get_all(filters={"user_id": "pb"})["count"], 1, "batch delete")
        p.delete(pa)
        eq(p.get_all(filters={"user_id": "pa"})["count"], 0, "delete by id")
        p.add("I like regattas", user_id="pa", infer=False)
        eq(p.delete_all(user_id="pa")["message"], "Memories deleted successfully!", "delete_all of pa")
        eq(p.get_all(filters={"user_id": "pb"})["count"], 1, "pb untouched")
        p.delete_users(user_id="pb")
        eq(p.get_all(filters={"user_id": "pb"})["count"], 0, "delete_users pb")
    finally:
        psql("SELECT memory.revoke_api_key('service-project'), memory.revoke_api_key('service-admin')")


@test
def key_lifecycle():
    key = psql("SELECT memory.create_api_key('service-temp', 'memory_tenant', 'carol')")
    eq((key[:4], len(key)), ("m0x_", 68), "key shape")
    st, out, _ = http("GET", "/v1/ping/", key=f"Token {key}")
    eq((st, out["project_id"], out["user_id"]), (200, "service-temp", "carol"), "new key works")
    eq(psql("SELECT prefix = left('%s', 12) AND key_hash = encode(sha256(convert_to('%s', 'UTF8')), 'hex')"
            " FROM memory.api_keys WHERE name = 'service-temp'" % (key, key)), "t", "only the hash is kept")
    eq(psql("SELECT memory.revoke_api_key('service-temp')"), "t", "revoked")
    error_is(http("GET", "/v1/ping/", key=f"Token {key}"), 401, "Invalid API key")
    e = subprocess.run(["psql", "-X", "-q", "-h", "localhost", "-p", str(ARGS.pg_port), "-U", "postgres",
                        "-d", ARGS.db, "-c", "SELECT memory.create_api_key('root', 'postgres')"],
                       capture_output=True, text=True)
    if e.returncode == 0 or "is a superuser" not in e.stderr:
        raise AssertionError(f"a superuser role was accepted: {e.stderr!r}")


@test
def database_restart():
    server = os.path.join(ARGS.repo, "scripts", "server.sh")
    eq(http("GET", "/v1/ping/")[0], 200, "before")
    subprocess.run(["bash", server, "stop", str(ARGS.pg_port)], check=True, stdout=subprocess.DEVNULL)
    try:
        error_is(http("GET", "/v1/ping/"), 503, "database is unavailable")
        error_is(http("POST", "/v3/memories/search/", {"query": "x", "user_id": "alice"}),
                 503, "database is unavailable")
    finally:
        subprocess.run(["bash", server, "start", str(ARGS.pg_port)], check=True,
                       stdout=subprocess.DEVNULL)
    st, out, _ = http("GET", "/v1/ping/")
    eq((st, out["project_id"]), (200, "service-alice"), "first request after the restart")
    st, out, _ = http("POST", "/v3/memories/add/",
                      {"messages": "Back after the restart", "user_id": "alice", "infer": False})
    eq((st, [r["memory"] for r in out["results"]]), (200, ["Back after the restart"]), "writes again")
    http("DELETE", "/v1/memories/?user_id=alice")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--key-a", required=True)
    p.add_argument("--key-b", required=True)
    p.add_argument("--pg-port", type=int, required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--db", required=True)
    ARGS = p.parse_args()
    passed = failed = 0
    for t in TESTS:
        start = time.time()
        try:
            t()
            passed += 1
            print(f"ok    {t.__name__} ({time.time() - start:.2f} s)", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL  {t.__name__}", flush=True)
            traceback.print_exc()
    print(f"service: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
