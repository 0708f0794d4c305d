//! The Mem0 platform endpoints (design §7a), each a thin call of the
//! extension's SQL functions with parameters (never request text in SQL).

use crate::error::{ApiError, ApiResult};
use crate::request::{
    listing_filters, named_users, object, opt_bool, opt_f64, opt_int, opt_object, opt_str,
    other_user, query_map, Body, Object, Scope,
};
use crate::session::{Principal, Session};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

type St = State<Arc<AppState>>;
type Reply = ApiResult<Json<Value>>;

/// Most memories one batch call may name (Mem0's limit).
const MAX_BATCH: usize = 1000;
/// Largest page of a listing.
const MAX_PAGE_SIZE: i64 = 1000;

// `expiration_date` is Mem0's YYYY-MM-DD (the memory is kept through that
// day, UTC) or a full timestamp; `timestamp` is Unix seconds.
const EXPIRES: &str = "CASE WHEN $9::text ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
                THEN (($9::text)::date + 1)::timestamp AT TIME ZONE 'UTC'
                ELSE ($9::text)::timestamptz END";

fn add_sql(function: &str, with_app: bool) -> String {
    format!(
        "SELECT memory.{function}($1::jsonb, user_id => $2::text, agent_id => $3::text,
                run_id => $4::text, metadata => $5::jsonb, infer => $6::boolean,
                memory_type => $7::text, prompt => $8::text,
                expiration_date => {EXPIRES}, \"timestamp\" => to_timestamp($10::float8){}",
        if with_app {
            ", app_id => $11::text)"
        } else {
            ")"
        }
    )
}

// ------------------------------------------------------------------ ping

pub async fn ping(State(st): St, headers: HeaderMap) -> Reply {
    let s = Session::open(&st, &headers).await?;
    let p = s.principal.clone();
    s.commit().await?;
    Ok(Json(json!({
        "status": "ok",
        "message": "pong",
        "org_id": st.org_id,
        "project_id": p.key_name,
        "user_email": Value::Null,
        "user_id": p.user_id,
        "key_type": p.kind(),
    })))
}

pub async fn health(State(st): St) -> Reply {
    let client = st.pool.get().await?;
    client.simple_query("SELECT 1").await?;
    Ok(Json(json!({"status": "ok"})))
}

// ------------------------------------------------------------------ add

pub async fn add(State(st): St, headers: HeaderMap, body: Body) -> Reply {
    let m = object(body, st.body_limit)?;
    Ok(Json(add_value(&st, &headers, m).await?))
}

/// `add` for a parsed body (REST and the MCP tool).
pub async fn add_value(st: &AppState, headers: &HeaderMap, m: Object) -> ApiResult<Value> {
    let messages = match m.get("messages") {
        None | Some(Value::Null) => return Err(ApiError::bad_request("'messages' is required")),
        Some(v) => v.clone(),
    };
    let mut scope = Scope::from_object(&m)?;
    if let Some(f) = opt_object(&m, "filters")? {
        scope.merge_add_filters(&f)?;
    }
    let mut metadata = opt_object(&m, "metadata")?;
    // Mem0's custom_categories travel as metadata.custom_categories, which
    // the extension reads (and does not store).
    if let Some(cats) = m.get("custom_categories").filter(|v| !v.is_null()) {
        let md = metadata.get_or_insert_with(Object::new);
        md.entry("custom_categories")
            .or_insert_with(|| cats.clone());
    }
    let infer = opt_bool(&m, "infer")?.unwrap_or(true);
    let memory_type = opt_str(&m, "memory_type")?;
    let prompt = opt_str(&m, "custom_instructions")?;
    let expiration = opt_str(&m, "expiration_date")?;
    let timestamp = opt_f64(&m, "timestamp")?;
    let async_mode = opt_bool(&m, "async_mode")?.unwrap_or(false);

    let s = Session::open(st, headers).await?;
    scope.fence(&s.principal)?;
    s.act_for(&named_users(&scope, None)).await?;
    let metadata = metadata.map(Value::Object);
    let app = scope.app_id.clone();
    let function = if async_mode { "add_async" } else { "add" };
    let sql = add_sql(function, app.is_some());
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
        &messages,
        &scope.user_id,
        &scope.agent_id,
        &scope.run_id,
        &metadata,
        &infer,
        &memory_type,
        &prompt,
        &expiration,
        &timestamp,
    ];
    if app.is_some() {
        params.push(&app);
    }
    let out = s.json(&sql, &params).await?;
    s.commit().await?;
    Ok(out.unwrap_or_else(|| json!({"results": []})))
}

// ------------------------------------------------------------------ search

const SEARCH_SQL: &str = "SELECT memory.search($1::text, user_id => $2::text, agent_id => $3::text,
        run_id => $4::text, filters => $5::jsonb, top_k => $6::int, threshold => $7::real,
        keyword_search => $8::boolean, explain => $9::boolean)";

pub async fn search(State(st): St, headers: HeaderMap, body: Body) -> Reply {
    let m = object(body, st.body_limit)?;
    Ok(Json(search_value(&st, &headers, m).await?))
}

/// `search` for a parsed body (REST and the MCP tool).
pub async fn search_value(st: &AppState, headers: &HeaderMap, m: Object) -> ApiResult<Value> {
    let query = match opt_str(&m, "query")? {
        Some(q) if !q.trim().is_empty() => q,
        _ => return Err(ApiError::bad_request("'query' must be a non-empty string")),
    };
    let top_k = opt_int(&m, "top_k", 1, 1000)?.unwrap_or(10) as i32;
    let threshold = opt_f64(&m, "threshold")?.map(|t| t as f32);
    let keyword = opt_bool(&m, "keyword_search")?.unwrap_or(true);
    // Not Mem0's: each hit's rank and score per channel (the memory browser
    // shows them).
    let explain = opt_bool(&m, "explain")?.unwrap_or(false);
    let fields = match m.get("fields") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Some(a.clone()),
        Some(_) => return Err(ApiError::bad_request("'fields' must be a list of strings")),
    };
    let mut scope = Scope::from_object(&m)?;

    let s = Session::open(st, headers).await?;
    scope.fence(&s.principal)?;
    let filters = listing_filters(&m, &scope, &s.principal)?;
    s.act_for(&named_users(&scope, filters.as_ref())).await?;
    let out = s
        .json(
            SEARCH_SQL,
            &[
                &query,
                &scope.user_id,
                &scope.agent_id,
                &scope.run_id,
                &filters,
                &top_k,
                &threshold,
                &keyword,
                &explain,
            ],
        )
        .await?;
    s.commit().await?;
    let mut out = out.unwrap_or_else(|| json!({"results": []}));
    if let (Some(fields), Some(Value::Array(results))) = (fields, out.get_mut("results")) {
        for r in results.iter_mut() {
            if let Value::Object(o) = r {
                o.retain(|k, _| k == "id" || fields.iter().any(|f| f.as_str() == Some(k)));
            }
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------ get_all

const GET_ALL_SQL: &str = "SELECT memory.get_all_page(user_id => $1::text, agent_id => $2::text,
        run_id => $3::text, filters => $4::jsonb, page => $5::int, page_size => $6::int)";

pub async fn get_all(
    st: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    m: &Object,
    query: &[(String, String)],
) -> Reply {
    let pairs = query.to_vec();
    let query = &query_map(pairs.clone());
    let page = opt_int(query, "page", 1, i64::from(i32::MAX))?
        .or(opt_int(m, "page", 1, i64::from(i32::MAX))?)
        .unwrap_or(1);
    let size = opt_int(query, "page_size", 1, MAX_PAGE_SIZE)?
        .or(opt_int(m, "page_size", 1, MAX_PAGE_SIZE)?)
        .unwrap_or(100);
    let mut scope = Scope::from_object(m)?;
    let s = Session::open(st, headers).await?;
    scope.fence(&s.principal)?;
    let filters = listing_filters(m, &scope, &s.principal)?;
    s.act_for(&named_users(&scope, filters.as_ref())).await?;
    let (page_no, page_size) = (page as i32, size as i32);
    let out = s
        .json(
            GET_ALL_SQL,
            &[
                &scope.user_id,
                &scope.agent_id,
                &scope.run_id,
                &filters,
                &page_no,
                &page_size,
            ],
        )
        .await?;
    s.commit().await?;
    let mut out = out.unwrap_or_else(|| json!({"count": 0, "results": []}));
    let count = out.get("count").and_then(Value::as_i64).unwrap_or(0);
    let link = |p: i64| {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        // The same query string (the scope of GET /v1/memories/) with the
        // other page.
        let mut q: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "page" && k != "page_size")
            .cloned()
            .collect();
        q.push(("page".into(), p.to_string()));
        q.push(("page_size".into(), size.to_string()));
        let q = serde_urlencoded::to_string(&q).unwrap_or_default();
        Value::String(format!("http://{host}{}?{q}", uri.path()))
    };
    let next = if page * size < count {
        link(page + 1)
    } else {
        Value::Null
    };
    let previous = if page > 1 {
        link(page - 1)
    } else {
        Value::Null
    };
    if let Value::Object(o) = &mut out {
        o.insert("next".into(), next);
        o.insert("previous".into(), previous);
    }
    Ok(Json(out))
}

/// `POST /v3/memories/` (and /v2/): filters in the body, pages in the query.
pub async fn get_all_body(
    State(st): St,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<Vec<(String, String)>>,
    body: Body,
) -> Reply {
    let m = object(body, st.body_limit)?;
    get_all(&st, &headers, &uri, &m, &q).await
}

/// `GET /v1/memories/?user_id=...` (clients 0.1.x): all in the query.
pub async fn get_all_query(
    State(st): St,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<Vec<(String, String)>>,
) -> Reply {
    let m = query_map(q.clone());
    if m.contains_key("filters") {
        return Err(ApiError::bad_request(
            "filters in the query string are not supported; POST /v3/memories/ with a JSON body",
        ));
    }
    get_all(&st, &headers, &uri, &m, &q).await
}

// ------------------------------------------------------------------ by id

fn memory_not_found() -> ApiError {
    ApiError::not_found("Memory not found.")
}

const GET_SQL: &str = "SELECT memory.get($1::text::uuid, user_id => $2::text)";

type QueryPairs = Query<Vec<(String, String)>>;

/// The user a request about memories by id acts for: a user key's own, or
/// `?user_id=`; the extension then finds the memories only within that
/// user. A project key that names no user acts for the owners of the
/// memories `ids` (Mem0's client sends no user with these calls): the
/// request is fenced to exactly those users. With no ids (an agent, run or
/// app deleted by name) a project key must name the user.
async fn by_id_user(
    s: &Session,
    q: Vec<(String, String)>,
    ids: &[&str],
) -> ApiResult<Option<String>> {
    let requested = opt_str(&query_map(q), "user_id")?.filter(|u| !u.is_empty());
    if let Some(bound) = &s.principal.user_id {
        if requested.as_ref().is_some_and(|u| u != bound) {
            return Err(other_user());
        }
        return Ok(Some(bound.clone()));
    }
    if requested.is_none() && !s.principal.admin && !ids.is_empty() {
        let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let owners: Vec<String> = s
            .query(OWNERS_SQL, &[&ids])
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        if owners.is_empty() {
            return Err(memory_not_found());
        }
        s.act_for(&owners).await?;
        return Ok(None);
    }
    s.act_for(&requested.iter().cloned().collect::<Vec<_>>())
        .await?;
    Ok(requested)
}

const OWNERS_SQL: &str = "SELECT memory.memory_owners($1::text[]::uuid[])";

pub async fn get_memory(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): QueryPairs,
) -> Reply {
    let s = Session::open(&st, &headers).await?;
    let user = by_id_user(&s, q, &[&id]).await?;
    let out = s.json(GET_SQL, &[&id, &user]).await?;
    s.commit().await?;
    out.map(Json).ok_or_else(memory_not_found)
}

/// `$5`: NULL keeps the expiry, 'infinity' removes it, else a date
/// (kept through that day, UTC) or a timestamp.
const UPDATE_SQL: &str =
    "SELECT memory.update($1::text::uuid, $2::text, metadata => $3::jsonb, user_id => $4::text,
            expiration_date => CASE WHEN $5::text IS NULL THEN NULL
                                    WHEN $5::text = 'infinity' THEN 'infinity'::timestamptz
                                    WHEN $5::text ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
                                    THEN (($5::text)::date + 1)::timestamp AT TIME ZONE 'UTC'
                                    ELSE ($5::text)::timestamptz END)";

/// Update one memory inside an open session: new text and/or metadata.
async fn update_one(s: &Session, user: &Option<String>, id: &str, m: &Object) -> ApiResult<Value> {
    if m.contains_key("timestamp") {
        return Err(ApiError::bad_request(
            "'timestamp' cannot be changed by an update on this server; add the memory again with it",
        ));
    }
    // Absent: unchanged; null: no expiry any more; else the new expiry.
    let expiration: Option<String> =
        match m.get("expiration_date") {
            None => None,
            Some(Value::Null) => Some("infinity".to_string()),
            Some(Value::String(d)) if !d.trim().is_empty() && d != "infinity" => Some(d.clone()),
            Some(_) => return Err(ApiError::bad_request(
                "'expiration_date' must be a date (YYYY-MM-DD), a timestamp, or null to remove it",
            )),
        };
    let metadata = opt_object(m, "metadata")?.map(Value::Object);
    let text = match opt_str(m, "text")? {
        Some(t) => t,
        None if metadata.is_some() || expiration.is_some() => {
            // Metadata or expiry only: keep the text.
            let current = s
                .json(GET_SQL, &[&id, user])
                .await?
                .ok_or_else(memory_not_found)?;
            current
                .get("memory")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(memory_not_found)?
        }
        None => {
            return Err(ApiError::bad_request(
                "give 'text', 'metadata' and/or 'expiration_date' to update a memory",
            ))
        }
    };
    s.json(UPDATE_SQL, &[&id, &text, &metadata, user, &expiration])
        .await?
        .ok_or_else(memory_not_found)
}

pub async fn update_memory(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): QueryPairs,
    body: Body,
) -> Reply {
    let m = object(body, st.body_limit)?;
    let s = Session::open(&st, &headers).await?;
    let user = by_id_user(&s, q, &[&id]).await?;
    let out = update_one(&s, &user, &id, &m).await?;
    s.commit().await?;
    Ok(Json(out))
}

const DELETE_SQL: &str = "SELECT memory.delete($1::text::uuid, user_id => $2::text)";

async fn delete_one(s: &Session, user: &Option<String>, id: &str) -> ApiResult<()> {
    let rows = s.query(DELETE_SQL, &[&id, user]).await?;
    let deleted: Option<bool> = match rows.first() {
        Some(r) => r.try_get(0)?,
        None => None,
    };
    if deleted == Some(true) {
        Ok(())
    } else {
        Err(memory_not_found())
    }
}

pub async fn delete_memory(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): QueryPairs,
) -> Reply {
    Ok(Json(delete_memory_value(&st, &headers, &id, q).await?))
}

/// Delete one memory by id (`q`: the query string, for `user_id`).
pub async fn delete_memory_value(
    st: &AppState,
    headers: &HeaderMap,
    id: &str,
    q: Vec<(String, String)>,
) -> ApiResult<Value> {
    let s = Session::open(st, headers).await?;
    let user = by_id_user(&s, q, &[id]).await?;
    delete_one(&s, &user, id).await?;
    s.commit().await?;
    Ok(json!({"message": "Memory deleted successfully!"}))
}

const HISTORY_SQL: &str = "SELECT memory.history($1::text::uuid, user_id => $2::text)";

pub async fn history(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): QueryPairs,
) -> Reply {
    let s = Session::open(&st, &headers).await?;
    let user = by_id_user(&s, q, &[&id]).await?;
    let out = s.json(HISTORY_SQL, &[&id, &user]).await?;
    s.commit().await?;
    Ok(Json(out.unwrap_or_else(|| json!([]))))
}

// ------------------------------------------------------------------ delete_all

const DELETE_ALL_SQL: &str =
    "SELECT memory.delete_all(user_id => $1::text, agent_id => $2::text, run_id => $3::text)";
const DELETE_ENTITY_SQL: &str =
    "SELECT memory.delete_entity($1::text, $2::text, user_id => $3::text)";

/// `DELETE /v1/memories/?user_id=...`: the scope must be in the query; a
/// wildcard or `filters` is never a scope.
pub async fn delete_all(
    State(st): St,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Reply {
    Ok(Json(delete_all_value(&st, &headers, &query_map(q)).await?))
}

/// `delete_all` for a scope given as an object (REST query string, MCP
/// arguments).
pub async fn delete_all_value(st: &AppState, headers: &HeaderMap, m: &Object) -> ApiResult<Value> {
    let mut scope = Scope::from_object(m)?;
    for v in [
        &scope.user_id,
        &scope.agent_id,
        &scope.run_id,
        &scope.app_id,
    ]
    .into_iter()
    .flatten()
    {
        if v.trim().is_empty() || v == "*" {
            return Err(ApiError::bad_request(
                "delete_all needs a concrete user_id, agent_id, run_id or app_id (no wildcard)",
            ));
        }
    }
    if !scope.has_fence() && scope.app_id.is_none() {
        return Err(ApiError::bad_request(
            "delete_all needs a scope: user_id, agent_id, run_id or app_id as query parameters",
        ));
    }
    let s = Session::open(st, headers).await?;
    scope.fence(&s.principal)?;
    s.act_for(&named_users(&scope, None)).await?;
    let rows = if let Some(app) = &scope.app_id {
        if scope.agent_id.is_some() || scope.run_id.is_some() {
            return Err(ApiError::bad_request(
                "delete_all by app_id takes no agent_id or run_id",
            ));
        }
        s.query(DELETE_ENTITY_SQL, &[&"app", app, &scope.user_id])
            .await?
    } else {
        s.query(
            DELETE_ALL_SQL,
            &[&scope.user_id, &scope.agent_id, &scope.run_id],
        )
        .await?
    };
    let n: i64 = match rows.first() {
        Some(r) => r.try_get::<_, Option<i64>>(0)?.unwrap_or(0),
        None => 0,
    };
    s.commit().await?;
    Ok(json!({"message": "Memories deleted successfully!", "deleted": n}))
}

// ------------------------------------------------------------------ entities

/// Mem0's users (and agents, runs, apps) with memories: a user key's own;
/// a project key's within the users of `?user_id=` (repeatable) or, naming
/// none, over every user (names and counts only); an admin key's all.
pub async fn entities(State(st): St, headers: HeaderMap, Query(q): QueryPairs) -> Reply {
    let users: Vec<String> = q
        .into_iter()
        .filter(|(k, v)| k == "user_id" && !v.is_empty())
        .map(|(_, v)| v)
        .collect();
    let s = Session::open(&st, &headers).await?;
    let sql = if users.is_empty() && s.principal.kind() == "project" {
        "SELECT memory.project_entities()"
    } else {
        s.act_for(&users).await?;
        "SELECT memory.list_entities()"
    };
    let out = s.json(sql, &[]).await?;
    s.commit().await?;
    Ok(Json(
        out.unwrap_or_else(|| json!({"count": 0, "results": []})),
    ))
}

pub async fn delete_entity(
    State(st): St,
    headers: HeaderMap,
    Path((kind, name)): Path<(String, String)>,
    Query(q): QueryPairs,
) -> Reply {
    let s = Session::open(&st, &headers).await?;
    let p: Principal = s.principal.clone();
    if kind == "user" && p.user_id.as_ref().is_some_and(|u| *u != name) {
        return Err(other_user());
    }
    // A user is its own scope; an agent, run or app is deleted within the
    // key's user or `?user_id=`.
    let user = if kind == "user" {
        s.act_for(std::slice::from_ref(&name)).await?;
        p.user_id.clone()
    } else {
        by_id_user(&s, q, &[]).await?
    };
    let rows = s.query(DELETE_ENTITY_SQL, &[&kind, &name, &user]).await?;
    let n: i64 = match rows.first() {
        Some(r) => r.try_get::<_, Option<i64>>(0)?.unwrap_or(0),
        None => 0,
    };
    s.commit().await?;
    Ok(Json(
        json!({"message": "Entity deleted successfully.", "deleted": n}),
    ))
}

// ------------------------------------------------------------------ graph

const GRAPH_SQL: &str = "SELECT memory.graph(user_id => $1::text, agent_id => $2::text,
        run_id => $3::text, as_of => $4::text::timestamptz, max_relations => $5::int)";

/// `GET /v1/graph/?user_id=...` (not Mem0's): the scope's entities and
/// relations valid at `as_of` (a timestamp; now when absent), at most
/// `max_relations` (default 1000).
pub async fn graph(State(st): St, headers: HeaderMap, Query(q): QueryPairs) -> Reply {
    let m = query_map(q);
    let mut scope = Scope::from_object(&m)?;
    let as_of = opt_str(&m, "as_of")?.filter(|t| !t.trim().is_empty());
    let max = opt_int(&m, "max_relations", 1, 10_000)?.unwrap_or(1000) as i32;
    let s = Session::open(&st, &headers).await?;
    scope.fence(&s.principal)?;
    if !scope.has_fence() {
        return Err(ApiError::bad_request(
            "the graph needs a scope: user_id, agent_id or run_id as query parameters",
        ));
    }
    s.act_for(&named_users(&scope, None)).await?;
    let out = s
        .json(
            GRAPH_SQL,
            &[&scope.user_id, &scope.agent_id, &scope.run_id, &as_of, &max],
        )
        .await?;
    s.commit().await?;
    Ok(Json(out.unwrap_or_else(
        || json!({"entities": [], "relations": []}),
    )))
}

// ------------------------------------------------------------------ batch

fn batch_items(m: &Object) -> ApiResult<Vec<(String, Object)>> {
    let list = match m.get("memories") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => {
            return Err(ApiError::bad_request(
                "'memories' must be a non-empty list of {\"memory_id\": ...}",
            ))
        }
    };
    if list.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_BATCH} memories per batch"),
        ));
    }
    list.iter()
        .map(|item| {
            let o = item.as_object().ok_or_else(|| {
                ApiError::bad_request("each entry of 'memories' must be an object")
            })?;
            let id = opt_str(o, "memory_id")?
                .ok_or_else(|| ApiError::bad_request("each entry needs a 'memory_id'"))?;
            Ok((id, o.clone()))
        })
        .collect()
}

/// `PUT /v1/batch/`: all updates in one transaction (all or nothing).
pub async fn batch_update(
    State(st): St,
    headers: HeaderMap,
    Query(q): QueryPairs,
    body: Body,
) -> Reply {
    let m = object(body, st.body_limit)?;
    let items = batch_items(&m)?;
    let s = Session::open(&st, &headers).await?;
    let ids: Vec<&str> = items.iter().map(|(id, _)| id.as_str()).collect();
    let user = by_id_user(&s, q, &ids).await?;
    for (id, o) in &items {
        update_one(&s, &user, id, o).await?;
    }
    s.commit().await?;
    Ok(Json(json!({
        "message": format!("Successfully updated {} memories", items.len())
    })))
}

/// `DELETE /v1/batch/` (JSON body): all deletes in one transaction.
pub async fn batch_delete(
    State(st): St,
    headers: HeaderMap,
    Query(q): QueryPairs,
    body: Body,
) -> Reply {
    let m = object(body, st.body_limit)?;
    let items = batch_items(&m)?;
    let s = Session::open(&st, &headers).await?;
    let ids: Vec<&str> = items.iter().map(|(id, _)| id.as_str()).collect();
    let user = by_id_user(&s, q, &ids).await?;
    for (id, _) in &items {
        delete_one(&s, &user, id).await?;
    }
    s.commit().await?;
    Ok(Json(json!({
        "message": format!("Successfully deleted {} memories", items.len())
    })))
}
