//! The Model Context Protocol at `/mcp` (design §7b): streamable HTTP in its
//! stateless form. Each POST carries one JSON-RPC message (or a batch) and
//! gets one JSON reply; notifications get 202. No session id is issued, so
//! there is no server-to-client stream (GET and DELETE answer 405).
//!
//! The tools call the same code as the REST routes, with the same key in
//! `Authorization` and the same scoping: a user key acts for its user, a
//! project key for the `user_id` a call names, an admin key for anyone.

use crate::error::{ApiError, ApiResult};
use crate::request::{opt_int, opt_str, Body, Object};
use crate::routes;
use crate::session::{api_key, Session};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Protocol revisions this endpoint speaks; the last is offered to a client
/// asking for one it does not know.
const VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

const INSTRUCTIONS: &str = "Long-term memory in PostgreSQL (memory_ext). Search before \
answering questions about the user; add facts worth remembering. With a project key, pass \
user_id on every call.";

fn rpc_error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

fn rpc_result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// The scope properties every tool takes.
fn scope_props(props: &mut Map<String, Value>) {
    for (key, what) in [
        (
            "user_id",
            "the user the memories belong to (required with a project key)",
        ),
        ("agent_id", "the agent the memories belong to"),
        ("run_id", "the run (session) the memories belong to"),
    ] {
        props.insert(key.into(), json!({"type": "string", "description": what}));
    }
}

fn tool(
    name: &str,
    title: &str,
    description: &str,
    extra: Value,
    required: &[&str],
    read_only: bool,
    destructive: bool,
) -> Value {
    let mut props = Map::new();
    if let Value::Object(o) = extra {
        props.extend(o);
    }
    scope_props(&mut props);
    json!({
        "name": name,
        "title": title,
        "description": description,
        "inputSchema": {"type": "object", "properties": props, "required": required},
        "annotations": {
            "title": title,
            "readOnlyHint": read_only,
            "destructiveHint": destructive,
            "idempotentHint": read_only,
            "openWorldHint": false
        }
    })
}

pub fn tools() -> Value {
    let filters = json!({"type": "object",
        "description": "Mem0 filters, e.g. {\"categories\": {\"contains\": \"food\"}} or {\"user_id\": {\"in\": [\"a\", \"b\"]}}"});
    json!([
        tool(
            "add_memories",
            "Add memories",
            "Remember what a message says: facts are extracted from the text and merged with \
             what is already known (added, updated or deleted). Returns the changes.",
            json!({
                "text": {"type": "string", "description": "what the user said or what to remember"},
                "metadata": {"type": "object", "description": "stored with each memory"},
                "infer": {"type": "boolean", "description": "extract facts (default true); false stores the text as it is"}
            }),
            &["text"],
            false,
            false,
        ),
        tool(
            "search_memory",
            "Search memories",
            "Find the memories most relevant to a query (meaning, keywords and the \
             knowledge graph, fused), best first.",
            json!({
                "query": {"type": "string", "description": "what to look for"},
                "filters": filters.clone(),
                "top_k": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "how many (default 10)"}
            }),
            &["query"],
            true,
            false,
        ),
        tool(
            "list_memories",
            "List memories",
            "List the current memories of a scope, newest first.",
            json!({
                "filters": filters,
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "most memories returned (default 100)"}
            }),
            &[],
            true,
            false,
        ),
        tool(
            "delete_memory",
            "Delete a memory",
            "Delete one memory by its id (its history is kept).",
            json!({"memory_id": {"type": "string", "description": "the memory's id (a uuid)"}}),
            &["memory_id"],
            false,
            true,
        ),
        tool(
            "delete_all_memories",
            "Delete all memories of a scope",
            "Delete every memory of a user, agent or run.",
            json!({}),
            &[],
            false,
            true,
        ),
    ])
}

/// Copy the given keys of `args` into a new object.
fn pick(args: &Object, keys: &[&str]) -> Object {
    keys.iter()
        .filter_map(|k| args.get(*k).map(|v| ((*k).to_string(), v.clone())))
        .collect()
}

const SCOPE: [&str; 3] = ["user_id", "agent_id", "run_id"];

/// Run one tool; an error of the call itself (bad arguments, not found, a
/// refused scope) is the tool's result with `isError`, as MCP asks.
async fn call_tool(
    st: &AppState,
    headers: &HeaderMap,
    name: &str,
    args: &Object,
) -> ApiResult<Value> {
    match name {
        "add_memories" => {
            let text = opt_str(args, "text")?
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| ApiError::bad_request("'text' must be a non-empty string"))?;
            let mut m = pick(
                args,
                &["metadata", "infer", "user_id", "agent_id", "run_id"],
            );
            m.insert("messages".into(), Value::String(text));
            routes::add_value(st, headers, m).await
        }
        "search_memory" => {
            let m = pick(
                args,
                &["query", "filters", "top_k", "user_id", "agent_id", "run_id"],
            );
            routes::search_value(st, headers, m).await
        }
        "list_memories" => {
            let limit = opt_int(args, "limit", 1, 1000)?.unwrap_or(100);
            let m = pick(args, &["filters", "user_id", "agent_id", "run_id"]);
            let q = vec![("page_size".to_string(), limit.to_string())];
            let uri = Uri::from_static("/mcp");
            Ok(routes::get_all(st, headers, &uri, &m, &q).await?.0)
        }
        "delete_memory" => {
            let id = opt_str(args, "memory_id")?
                .ok_or_else(|| ApiError::bad_request("'memory_id' is required"))?;
            let q = opt_str(args, "user_id")?
                .map(|u| vec![("user_id".to_string(), u)])
                .unwrap_or_default();
            routes::delete_memory_value(st, headers, &id, q).await
        }
        "delete_all_memories" => {
            let m = pick(args, &SCOPE);
            routes::delete_all_value(st, headers, &m).await
        }
        _ => Err(ApiError::not_found(format!("unknown tool '{name}'"))),
    }
}

fn known_tool(name: &str) -> bool {
    matches!(
        name,
        "add_memories"
            | "search_memory"
            | "list_memories"
            | "delete_memory"
            | "delete_all_memories"
    )
}

/// What one JSON-RPC message gets back: a reply, nothing (a notification or
/// a response), or an HTTP error for the whole request (a key refused).
enum Outcome {
    Reply(Value),
    Nothing,
    Http(ApiError),
}

async fn handle_message(st: &AppState, headers: &HeaderMap, msg: &Value) -> Outcome {
    let Value::Object(o) = msg else {
        return Outcome::Reply(rpc_error(
            Value::Null,
            INVALID_REQUEST,
            "a JSON-RPC message must be an object",
        ));
    };
    let id = o.get("id").cloned();
    let Some(method) = o.get("method").and_then(Value::as_str) else {
        // A response or an error from the client: nothing asked of us.
        return Outcome::Nothing;
    };
    if o.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Outcome::Reply(rpc_error(
            id.unwrap_or(Value::Null),
            INVALID_REQUEST,
            "'jsonrpc' must be \"2.0\"",
        ));
    }
    // Every message is authenticated: a tool call by the session that runs
    // it, anything else here (one lookup by the key's hash).
    if method != "tools/call" {
        if let Err(e) = check_key(st, headers).await {
            return Outcome::Http(e);
        }
    }
    let Some(id) = id else {
        // notifications/initialized, notifications/cancelled, ...
        return Outcome::Nothing;
    };
    let params = match o.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => {
            return Outcome::Reply(rpc_error(id, INVALID_PARAMS, "'params' must be an object"))
        }
    };
    match method {
        "initialize" => {
            let asked = params
                .get("protocolVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            let version = if VERSIONS.contains(&asked) {
                asked
            } else {
                VERSIONS[VERSIONS.len() - 1]
            };
            Outcome::Reply(rpc_result(
                id,
                json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": false}},
                    "serverInfo": {"name": "memory-server", "title": "memory_ext", "version": env!("CARGO_PKG_VERSION")},
                    "instructions": INSTRUCTIONS
                }),
            ))
        }
        "ping" => Outcome::Reply(rpc_result(id, json!({}))),
        "tools/list" => Outcome::Reply(rpc_result(id, json!({"tools": tools()}))),
        "tools/call" => {
            let Some(name) = params.get("name").and_then(Value::as_str) else {
                return Outcome::Reply(rpc_error(id, INVALID_PARAMS, "'name' is required"));
            };
            if !known_tool(name) {
                return Outcome::Reply(rpc_error(
                    id,
                    INVALID_PARAMS,
                    format!("unknown tool '{name}'"),
                ));
            }
            let args = match params.get("arguments") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(a)) => a.clone(),
                Some(_) => {
                    return Outcome::Reply(rpc_error(
                        id,
                        INVALID_PARAMS,
                        "'arguments' must be an object",
                    ))
                }
            };
            match call_tool(st, headers, name, &args).await {
                Ok(v) => {
                    let text = serde_json::to_string(&v).unwrap_or_default();
                    let mut result =
                        json!({"content": [{"type": "text", "text": text}], "isError": false});
                    if v.is_object() {
                        result["structuredContent"] = v;
                    }
                    Outcome::Reply(rpc_result(id, result))
                }
                // A key refused or the database away: the request fails as a
                // whole, like the REST call would.
                Err(e)
                    if e.status == StatusCode::UNAUTHORIZED
                        || e.status == StatusCode::SERVICE_UNAVAILABLE =>
                {
                    Outcome::Http(e)
                }
                Err(e) => Outcome::Reply(rpc_result(
                    id,
                    json!({"content": [{"type": "text", "text": e.detail}], "isError": true}),
                )),
            }
        }
        other => Outcome::Reply(rpc_error(
            id,
            METHOD_NOT_FOUND,
            format!("method '{other}' not found"),
        )),
    }
}

/// Authenticate without doing anything else.
async fn check_key(st: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    api_key(headers)?;
    Session::open(st, headers).await?.commit().await
}

/// A browser page of another site must not reach a local server (DNS
/// rebinding): an `Origin`, when sent, must be the service's own host or a
/// loopback name.
fn origin_allowed(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host_of = |s: &str| -> String {
        let rest = s.split_once("://").map_or(s, |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or("");
        if let Some(stripped) = authority.strip_prefix('[') {
            stripped
                .split(']')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
        } else {
            authority
                .split(':')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
        }
    };
    let origin_host = host_of(origin);
    if matches!(origin_host.as_str(), "localhost" | "127.0.0.1" | "::1") {
        return true;
    }
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| host_of(h) == origin_host)
}

fn json_reply(status: StatusCode, v: Value) -> Response {
    (status, Json(v)).into_response()
}

/// `POST /mcp`.
pub async fn post(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    if !origin_allowed(&headers) {
        return ApiError::forbidden("requests from this Origin are not accepted").into_response();
    }
    if let Some(v) = headers.get("mcp-protocol-version") {
        let v = v.to_str().unwrap_or("");
        if !VERSIONS.contains(&v) {
            return ApiError::bad_request(format!(
                "unsupported MCP-Protocol-Version '{v}' (this server speaks {})",
                VERSIONS.join(", ")
            ))
            .into_response();
        }
    }
    if let Err(e) = api_key(&headers) {
        return e.into_response();
    }
    let bytes = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body over the limit of {} bytes", st.body_limit),
            )
            .into_response()
        }
        Err(e) => return ApiError::bad_request(e.body_text()).into_response(),
    };
    let msg: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return json_reply(
                StatusCode::BAD_REQUEST,
                rpc_error(Value::Null, PARSE_ERROR, format!("parse error: {e}")),
            )
        }
    };
    match &msg {
        Value::Array(batch) if batch.is_empty() => json_reply(
            StatusCode::BAD_REQUEST,
            rpc_error(Value::Null, INVALID_REQUEST, "an empty batch"),
        ),
        Value::Array(batch) => {
            let mut replies = Vec::new();
            for m in batch {
                match handle_message(&st, &headers, m).await {
                    Outcome::Reply(r) => replies.push(r),
                    Outcome::Nothing => {}
                    Outcome::Http(e) => return e.into_response(),
                }
            }
            if replies.is_empty() {
                StatusCode::ACCEPTED.into_response()
            } else {
                json_reply(StatusCode::OK, Value::Array(replies))
            }
        }
        m => match handle_message(&st, &headers, m).await {
            Outcome::Reply(r) => json_reply(StatusCode::OK, r),
            Outcome::Nothing => StatusCode::ACCEPTED.into_response(),
            Outcome::Http(e) => e.into_response(),
        },
    }
}

/// `GET` and `DELETE /mcp`: no server-initiated stream and no sessions.
pub async fn not_allowed() -> Response {
    let mut r = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this MCP endpoint is stateless: POST JSON-RPC messages",
    )
    .into_response();
    r.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_described() {
        let t = tools();
        let names: Vec<&str> = t
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "add_memories",
                "search_memory",
                "list_memories",
                "delete_memory",
                "delete_all_memories"
            ]
        );
        assert!(names.iter().all(|n| known_tool(n)));
        assert_eq!(t[0]["inputSchema"]["required"], json!(["text"]));
        assert_eq!(
            t[1]["inputSchema"]["properties"]["user_id"]["type"],
            "string"
        );
    }

    #[test]
    fn origins() {
        let mut h = HeaderMap::new();
        assert!(origin_allowed(&h));
        h.insert(header::ORIGIN, "http://localhost:3000".parse().unwrap());
        assert!(origin_allowed(&h));
        h.insert(header::ORIGIN, "http://[::1]:3000".parse().unwrap());
        assert!(origin_allowed(&h));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!origin_allowed(&h));
        h.insert(header::HOST, "evil.example".parse().unwrap());
        assert!(origin_allowed(&h));
        h.insert(header::HOST, "memory.internal:28816".parse().unwrap());
        assert!(!origin_allowed(&h));
    }
}
