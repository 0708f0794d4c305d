//! The knowledge graph of a scope: entities and relations drawn from the
//! memories `add` writes (rules in `memory_core::graph`), kept bi-temporal:
//! an edge whose memory is deleted or rewritten, or that a new edge of a
//! single-valued relation supersedes ("moved to Berlin" after "lives in
//! Paris"), gets `valid_to` and stays for `as_of` queries. Walks are SQL
//! (`memory.graph_edges`, `memory.neighbors`, `memory.paths`).
//!
//! Runs under the scope lock of the add that calls it.

use crate::error::OrRaise;
use memory_core::graph::{self, Edge, Node};
use memory_core::messages::Scope;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::Uuid;
use serde_json::{json, Value};

/// Edges added and ended by one add, in Mem0's shape.
#[derive(Default)]
pub struct Changes {
    pub added: Vec<Value>,
    pub deleted: Vec<Value>,
}

impl Changes {
    pub fn to_json(&self) -> Value {
        json!({"added_entities": self.added, "deleted_entities": self.deleted})
    }
}

fn triple(source: &str, relation: &str, target: &str) -> Value {
    json!({"source": source, "relationship": relation, "target": target})
}

fn scope_args(scope: &Scope) -> [DatumWithOid<'static>; 3] {
    [
        scope.user_id.clone().into(),
        scope.agent_id.clone().into(),
        scope.run_id.clone().into(),
    ]
}

/// The name of the user's own entity: the scope's user, else its agent or run.
fn user_name(scope: &Scope) -> String {
    scope
        .user_id
        .clone()
        .or_else(|| scope.agent_id.clone())
        .or_else(|| scope.run_id.clone())
        .unwrap_or_else(|| "user".into())
}

/// End the current edges drawn from `memory_ids` at `at`.
pub fn unlink(memory_ids: &[Uuid], at: Option<TimestampWithTimeZone>, out: &mut Changes) {
    if memory_ids.is_empty() {
        return;
    }
    Spi::connect_mut(|c| {
        let rows = crate::plans::update(
                c,
                "WITH ended AS (
                    UPDATE memory.relations r
                       SET valid_to = greatest(r.valid_from, coalesce($2::timestamptz, clock_timestamp()))
                     WHERE r.memory_id = ANY($1) AND r.valid_to IS NULL
                     RETURNING r.source_id, r.relation, r.target_id)
                 SELECT s.name, e.relation, t.name FROM ended e
                 JOIN memory.entities s ON s.id = e.source_id JOIN memory.entities t ON t.id = e.target_id",
                &[memory_ids.to_vec().into(), at.into()],
            );
        for r in rows {
            let s = r.get::<String>(1).or_raise().unwrap_or_default();
            let rel = r.get::<String>(2).or_raise().unwrap_or_default();
            let t = r.get::<String>(3).or_raise().unwrap_or_default();
            out.deleted.push(triple(&s, &rel, &t));
        }
    });
}

/// The id of the scope's entity for `name`: the same normalized name, else
/// a name variant of the same kind ("Johnny" for "John"), else a new one.
fn entity(scope: &Scope, name: &str, kind: &str) -> (Uuid, String) {
    let mut args: Vec<DatumWithOid<'static>> = scope_args(scope).into();
    args.push(graph::normalize_name(name).into());
    let found = Spi::connect(|c| {
        // One range of entities_scope_prefix_idx: the scope's entities with
        // the name's first three letters (IS NOT DISTINCT FROM would scan
        // every tenant's entities, LIKE every entity of the scope).
        let rows = crate::plans::select(
                c,
                "SELECT e.id, e.name, e.entity_type FROM memory.entities e
                 WHERE coalesce(e.user_id, '') = coalesce($1, '') AND coalesce(e.agent_id, '') = coalesce($2, '')
                   AND coalesce(e.run_id, '') = coalesce($3, '')
                   AND left(lower(e.name), 3) = left($4, 3)",
                &args,
            );
        let mut best: Option<(Uuid, String)> = None;
        for r in rows {
            let (Some(id), Some(n)) = (r.get::<Uuid>(1).or_raise(), r.get::<String>(2).or_raise())
            else {
                continue;
            };
            let same_kind = r.get::<String>(3).or_raise().as_deref() == Some(kind);
            if graph::normalize_name(&n) == graph::normalize_name(name) {
                return Some((id, n));
            }
            if same_kind && best.is_none() && graph::same_entity(&n, name) {
                best = Some((id, n));
            }
        }
        best
    });
    if let Some(hit) = found {
        return hit;
    }
    let mut args: Vec<DatumWithOid<'static>> = scope_args(scope).into();
    args.push(name.to_string().into());
    args.push(kind.to_string().into());
    let id = crate::plans::one_written::<Uuid>(
        "INSERT INTO memory.entities AS e (user_id, agent_id, run_id, name, entity_type)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (coalesce(user_id, ''), coalesce(agent_id, ''), coalesce(run_id, ''), lower(name))
         DO UPDATE SET updated_at = clock_timestamp()
         RETURNING e.id",
        &args,
    )
    .unwrap_or_else(|| Uuid::from_bytes([0; 16]));
    (id, name.to_string())
}

fn node(scope: &Scope, n: &Node) -> (Uuid, String) {
    match &n.name {
        Some(name) => entity(scope, name, n.kind),
        None => entity(scope, &user_name(scope), graph::USER),
    }
}

fn add_edge(
    scope: &Scope,
    memory_id: Uuid,
    e: &Edge,
    at: Option<TimestampWithTimeZone>,
    out: &mut Changes,
) {
    let (sid, sname) = node(scope, &e.source);
    let (tid, tname) = node(scope, &e.target);
    if sid == tid {
        return;
    }
    let mut args: Vec<DatumWithOid<'static>> = vec![
        sid.into(),
        e.relation.clone().into(),
        tid.into(),
        memory_id.into(),
        at.into(),
        graph::functional(&e.relation).into(),
    ];
    args.extend(scope_args(scope));
    // One statement: nothing when the edge holds already; else end the
    // edges it supersedes and insert it.
    Spi::connect_mut(|c| {
        let rows = crate::plans::update(
                c,
                "WITH t AS (SELECT coalesce($5::timestamptz, clock_timestamp()) AS at),
                 held AS (
                    SELECT 1 FROM memory.relations r
                    WHERE r.source_id = $1 AND r.relation = $2 AND r.target_id = $3 AND r.valid_to IS NULL),
                 ended AS (
                    UPDATE memory.relations r SET valid_to = greatest(r.valid_from, t.at)
                    FROM t
                    WHERE $6 AND r.source_id = $1 AND r.relation = $2 AND r.target_id <> $3
                      AND r.valid_to IS NULL AND NOT EXISTS (SELECT 1 FROM held)
                    RETURNING r.target_id),
                 ins AS (
                    INSERT INTO memory.relations
                        (source_id, relation, target_id, memory_id, user_id, agent_id, run_id, valid_from)
                    SELECT $1, $2, $3, $4, $7, $8, $9, t.at FROM t
                    WHERE NOT EXISTS (SELECT 1 FROM held)
                    RETURNING id)
                 SELECT 'ended', n.name FROM ended JOIN memory.entities n ON n.id = ended.target_id
                 UNION ALL SELECT 'added', NULL FROM ins",
                &args,
            );
        for r in rows {
            match r.get::<String>(1).or_raise().as_deref() {
                Some("ended") => {
                    let old = r.get::<String>(2).or_raise().unwrap_or_default();
                    out.deleted.push(triple(&sname, &e.relation, &old));
                }
                _ => out.added.push(triple(&sname, &e.relation, &tname)),
            }
        }
    });
}

/// Draw the edges of `text`, written as memory `memory_id`.
pub fn link(
    scope: &Scope,
    memory_id: Uuid,
    text: &str,
    at: Option<TimestampWithTimeZone>,
    out: &mut Changes,
) {
    for e in graph::edges(text) {
        add_edge(scope, memory_id, &e, at, out);
    }
}

/// Entity names of the scope that `text` mentions.
pub fn mentioned(scope: &Scope, text: &str) -> Vec<String> {
    let mut args: Vec<DatumWithOid<'static>> = Vec::new();
    let clause = super::scope_sql("e", scope, &mut args);
    let sql = format!(
        "SELECT DISTINCT e.name FROM memory.entities e WHERE {clause} ORDER BY e.name LIMIT 10000"
    );
    let names: Vec<String> = Spi::connect(|c| {
        let rows = crate::plans::select(c, &sql, &args);
        rows.filter_map(|r| r.get::<String>(1).ok().flatten())
            .collect()
    });
    graph::mentioned(text, &names)
        .into_iter()
        .cloned()
        .collect()
}
