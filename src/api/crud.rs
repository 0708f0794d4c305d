//! Reading and maintaining memories by id and by scope: get, get_all, update,
//! delete, delete_all, history, reset (design §5, §5a).
//!
//! The by-id functions take optional scope arguments (an extension of Mem0's
//! signatures): when given, a row outside that scope is treated as absent, so
//! an application can fence every call, not only listings.

use super::graph;
use super::{
    check_top_k, filter_clause, is_superuser, metadata_object, not_found, query_json, scope_sql,
    CURRENT, MEMORY_JSON,
};
use crate::embed;
use crate::error::{raise, report, OrRaise};
use memory_core::messages::{self, Scope};
use memory_core::vector;
use memory_core::Error;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode, Uuid};

fn id_and_scope(
    memory_id: Uuid,
    user_id: Option<&str>,
    agent_id: Option<&str>,
    run_id: Option<&str>,
) -> (Vec<DatumWithOid<'static>>, String) {
    let scope = Scope::new(user_id, agent_id, run_id, false).or_raise();
    let mut args: Vec<DatumWithOid<'static>> = vec![memory_id.into()];
    let clause = scope_sql("m", &scope, &mut args);
    (args, clause)
}

/// One memory by id (current or superseded), or NULL when absent or expired.
#[pg_extern]
fn get(
    memory_id: Uuid,
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
) -> Option<JsonB> {
    let (args, clause) = id_and_scope(memory_id, user_id, agent_id, run_id);
    query_json(
        &format!(
            "SELECT {MEMORY_JSON} FROM memory.memories m WHERE m.id = $1 AND {clause}
               AND (m.expires_at IS NULL OR m.expires_at > statement_timestamp())"
        ),
        &args,
    )
}

/// Current memories of a scope, newest first: `{"results": [...]}`.
#[pg_extern]
fn get_all(
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
    filters: default!(Option<JsonB>, "NULL"),
    top_k: default!(i32, 100),
) -> JsonB {
    check_top_k(top_k);
    let scope = Scope::new(user_id, agent_id, run_id, false).or_raise();
    let mut args = Vec::new();
    let clause = filter_clause(&scope, filters.as_ref(), &mut args, "memory.get_all");
    args.push((top_k as i64).into());
    let sql = format!(
        "SELECT jsonb_build_object('results', coalesce(jsonb_agg(j ORDER BY created_at DESC, id), '[]'::jsonb))
         FROM (SELECT {MEMORY_JSON} AS j, m.created_at, m.id
               FROM memory.memories m
               WHERE {CURRENT} AND {clause}
               ORDER BY m.created_at DESC, m.id
               LIMIT ${}) page",
        args.len()
    );
    query_json(&sql, &args).unwrap_or_else(|| JsonB(serde_json::json!({"results": []})))
}

/// Largest page of `get_all_page`.
const MAX_PAGE_SIZE: i32 = 1000;

/// One page of `get_all`, newest first, with the number of all matching
/// memories: `{"count", "results"}`. Only the page's rows become JSON, so a
/// page of a 10k-memory scope costs little more than counting it (the REST
/// listing and the memory browser page with it).
#[pg_extern]
fn get_all_page(
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
    filters: default!(Option<JsonB>, "NULL"),
    page: default!(i32, 1),
    page_size: default!(i32, 100),
) -> JsonB {
    if page < 1 {
        raise(
            Error::invalid_parameter(format!("page must be at least 1, not {page}"))
                .hint("Pages are numbered from 1."),
        );
    }
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        raise(
            Error::invalid_parameter(format!(
                "page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}"
            ))
            .hint("Ask for smaller pages."),
        );
    }
    let scope = Scope::new(user_id, agent_id, run_id, false).or_raise();
    let mut args = Vec::new();
    let clause = filter_clause(&scope, filters.as_ref(), &mut args, "memory.get_all_page");
    args.push(i64::from(page_size).into());
    args.push(((i64::from(page) - 1) * i64::from(page_size)).into());
    let (limit, offset) = (args.len() - 1, args.len());
    let sql = format!(
        "WITH f AS MATERIALIZED (
             SELECT m.id, m.created_at FROM memory.memories m WHERE {CURRENT} AND {clause})
         SELECT jsonb_build_object(
             'count', (SELECT count(*) FROM f),
             'results', coalesce((
                 SELECT jsonb_agg({MEMORY_JSON} ORDER BY p.created_at DESC, p.id)
                 FROM (SELECT f.id, f.created_at FROM f ORDER BY f.created_at DESC, f.id
                       LIMIT ${limit} OFFSET ${offset}) p
                 JOIN memory.memories m ON m.id = p.id), '[]'::jsonb))"
    );
    query_json(&sql, &args).unwrap_or_else(|| JsonB(serde_json::json!({"count": 0, "results": []})))
}

/// Replace a memory's text (and metadata when given), keeping its id; the old
/// text goes to history as an 'UPDATE'. `expiration_date` sets a new expiry;
/// `'infinity'` removes it; NULL keeps it. The memory moves to the hot tier.
#[pg_extern]
fn update(
    memory_id: Uuid,
    data: Option<&str>,
    metadata: default!(Option<JsonB>, "NULL"),
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
    expiration_date: default!(Option<TimestampWithTimeZone>, "NULL"),
) -> JsonB {
    let data = match data {
        Some(d) if !d.trim().is_empty() => d,
        _ => raise(
            Error::invalid_parameter("data must not be empty")
                .hint("Pass the new text of the memory; use memory.delete to remove it."),
        ),
    };
    let metadata = metadata_object(metadata);
    // The embedder runs before any row is locked.
    let embedded = embed::embed(&[data]);
    let (mut args, clause) = id_and_scope(memory_id, user_id, agent_id, run_id);
    let row = query_json(
        &format!(
            "SELECT jsonb_build_object('immutable', m.immutable, 'current', m.valid_to IS NULL,
                    'user_id', m.user_id, 'agent_id', m.agent_id, 'run_id', m.run_id)
             FROM memory.memories m WHERE m.id = $1 AND {clause} FOR UPDATE"
        ),
        &args,
    )
    .unwrap_or_else(|| not_found(&memory_id));
    if row.0["immutable"] == serde_json::Value::Bool(true) {
        report(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("memory {memory_id} is immutable"),
            Some("It was added with immutable = true.".into()),
            Some("Delete it and add the new fact instead.".into()),
        );
    }
    if row.0["current"] != serde_json::Value::Bool(true) {
        report(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("memory {memory_id} is no longer current"),
            Some("It was superseded; its text is kept for history only.".into()),
            None,
        );
    }
    let own = Scope::new(
        row.0["user_id"].as_str(),
        row.0["agent_id"].as_str(),
        row.0["run_id"].as_str(),
        false,
    )
    .or_raise();
    embed::check_scope_embedder(&own, &embedded.embedder);
    let n = args.len();
    args.push(data.to_string().into());
    args.push(messages::normalize(data).into());
    args.push(metadata.into());
    args.push(vector::format(&embedded.vectors[0]).into());
    args.push(embedded.embedder.into());
    args.push(expiration_date.into());
    let sql = format!(
        "WITH old AS (
            SELECT m.id, m.memory, m.actor_id, m.role, m.user_id, m.agent_id, m.run_id, m.updated_at
            FROM memory.memories m WHERE m.id = $1 AND {clause}
         ), upd AS (
            UPDATE memory.memories m
               SET memory = ${a}, hash = md5(${b}), metadata = coalesce(${c}::jsonb, m.metadata),
                   embedding = ${d}::memory.vector, embedder = ${e},
                   tier = 'hot', embedding_half = NULL, context_embedding = NULL,
                   expires_at = CASE WHEN ${x}::timestamptz IS NULL THEN m.expires_at
                                     WHEN ${x}::timestamptz = 'infinity' THEN NULL
                                     ELSE ${x}::timestamptz END,
                   updated_at = clock_timestamp()
              FROM old WHERE m.id = old.id
            RETURNING m.*
         ), hist AS (
            INSERT INTO memory.history
                (memory_id, old_memory, new_memory, event, actor_id, role, user_id, agent_id, run_id,
                 created_at, updated_at)
            SELECT old.id, old.memory, upd.memory, 'UPDATE', old.actor_id, old.role,
                   old.user_id, old.agent_id, old.run_id, old.updated_at, upd.updated_at
            FROM old JOIN upd USING (id)
         )
         SELECT {MEMORY_JSON} FROM upd m",
        a = n + 1,
        b = n + 2,
        c = n + 3,
        d = n + 4,
        e = n + 5,
        x = n + 6,
    );
    let out = query_json(&sql, &args).unwrap_or_else(|| not_found(&memory_id));
    // The graph follows the new text: the old edges end, the new ones start.
    let mut changes = graph::Changes::default();
    graph::unlink(&[memory_id], None, &mut changes);
    graph::link(&own, memory_id, data, None, &mut changes);
    out
}

/// CTE `hist` writing a 'DELETE' history row for each row of CTE `del`.
const HISTORY_OF_DEL: &str = "hist AS (
            INSERT INTO memory.history
                (memory_id, old_memory, event, actor_id, role, user_id, agent_id, run_id,
                 created_at, updated_at, is_deleted)
            SELECT id, memory, 'DELETE', actor_id, role, user_id, agent_id, run_id,
                   updated_at, clock_timestamp(), true
            FROM del
         )";

/// Remove a memory; true when it existed. History keeps a 'DELETE' row, and
/// graph edges drawn from it stop being valid.
#[pg_extern]
fn delete(
    memory_id: Uuid,
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
) -> bool {
    let (args, clause) = id_and_scope(memory_id, user_id, agent_id, run_id);
    let sql = format!(
        "WITH del AS (
            DELETE FROM memory.memories m WHERE m.id = $1 AND {clause} RETURNING m.*
         ), {HISTORY_OF_DEL}, edges AS (
            UPDATE memory.relations r SET valid_to = clock_timestamp()
              FROM del WHERE r.memory_id = del.id AND r.valid_to IS NULL
         )
         SELECT to_jsonb(count(*) > 0) FROM del"
    );
    query_json(&sql, &args)
        .and_then(|j| j.0.as_bool())
        .unwrap_or(false)
}

/// Remove every memory of a scope (no cap), with a history row each, and the
/// scope's graph. Refuses to run without a scope.
#[pg_extern]
fn delete_all(
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
) -> i64 {
    let scope = Scope::new(user_id, agent_id, run_id, false).or_raise();
    if scope.is_empty() {
        raise(
            Error::invalid_parameter("memory.delete_all needs a scope")
                .detail("None of user_id, agent_id and run_id was given; refusing to delete everything.")
                .hint("Pass user_id, agent_id or run_id. A superuser can empty all tables with memory.reset()."),
        );
    }
    let mut args = Vec::new();
    let m_clause = scope_sql("m", &scope, &mut args);
    // Same parameters, other aliases: numbering restarts from the same point.
    let r_clause = scope_sql("r", &scope, &mut Vec::new());
    let e_clause = scope_sql("e", &scope, &mut Vec::new());
    let sql = format!(
        "WITH del AS (
            DELETE FROM memory.memories m WHERE {m_clause} RETURNING m.*
         ), {HISTORY_OF_DEL}, edges AS (
            DELETE FROM memory.relations r WHERE {r_clause}
         ), ents AS (
            DELETE FROM memory.entities e WHERE {e_clause}
         )
         SELECT to_jsonb(count(*)) FROM del"
    );
    query_json(&sql, &args)
        .and_then(|j| j.0.as_i64())
        .unwrap_or(0)
}

/// The history of one memory, oldest first; an empty list when unknown.
#[pg_extern]
fn history(
    memory_id: Uuid,
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
) -> JsonB {
    let (args, clause) = id_and_scope(memory_id, user_id, agent_id, run_id);
    let sql = format!(
        "SELECT coalesce(jsonb_agg(jsonb_build_object(
                'id', m.id, 'memory_id', m.memory_id, 'old_memory', m.old_memory,
                'new_memory', m.new_memory, 'event', m.event, 'actor_id', m.actor_id,
                'role', m.role, 'user_id', m.user_id, 'agent_id', m.agent_id, 'run_id', m.run_id,
                'created_at', m.created_at, 'updated_at', m.updated_at,
                'is_deleted', m.is_deleted, 'reason', m.reason) ORDER BY m.id), '[]'::jsonb)
         FROM memory.history m WHERE m.memory_id = $1 AND {clause}"
    );
    query_json(&sql, &args).unwrap_or_else(|| JsonB(serde_json::json!([])))
}

/// Empty every memory_ext table. Superuser only.
#[pg_extern]
fn reset() {
    if !is_superuser() {
        report(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "permission denied for memory.reset",
            Some("memory.reset() empties every tenant's memories.".into()),
            Some("Use memory.delete_all(user_id => ...) to remove one scope.".into()),
        );
    }
    Spi::run(
        "TRUNCATE memory.relations, memory.entities, memory.history, memory.memories RESTART IDENTITY",
    )
    .or_raise();
}

/// Re-embed every memory of a scope with the configured embedder (after
/// changing `memory.embedder`); returns the number of memories re-embedded.
#[pg_extern]
fn reembed(
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
) -> i64 {
    let scope = Scope::new(user_id, agent_id, run_id, true).or_raise();
    let mut args = Vec::new();
    let clause = scope_sql("m", &scope, &mut args);
    let rows: Vec<(Uuid, String)> = Spi::connect(|c| {
        let t = c
            .select(
                &format!(
                    "SELECT m.id, m.memory FROM memory.memories m WHERE {clause} ORDER BY m.id"
                ),
                None,
                &args,
            )
            .or_raise();
        t.filter_map(|r| {
            let id = r.get::<Uuid>(1).or_raise()?;
            Some((id, r.get::<String>(2).or_raise().unwrap_or_default()))
        })
        .collect()
    });
    for batch in rows.chunks(64) {
        let texts: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
        let e = embed::embed(&texts);
        let ids: Vec<Uuid> = batch.iter().map(|(id, _)| *id).collect();
        let vecs: Vec<String> = e.vectors.iter().map(|v| vector::format(v)).collect();
        Spi::run_with_args(
            "UPDATE memory.memories m
                SET embedding = CASE WHEN m.tier = 'hot' THEN u.v::memory.vector END,
                    embedding_half = CASE WHEN m.tier = 'cold' THEN u.v::memory.vector::memory.halfvec END,
                    embedder = $3, context_embedding = NULL
             FROM unnest($1::uuid[], $2::text[]) AS u(id, v) WHERE m.id = u.id",
            &[ids.into(), vecs.into(), e.embedder.into()],
        )
        .or_raise();
    }
    rows.len() as i64
}
