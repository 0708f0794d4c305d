//! `memory.add(..., infer => true)` with the built-in provider: extract facts,
//! embed them in one batch, then, under a short per-scope lock, compare each
//! with the most similar current memories of its scope and apply ADD /
//! UPDATE / DELETE / NONE with history, all in the caller's transaction.
//!
//! Order of work: extraction and embedding (which may call the network)
//! happen before the lock; candidates are read after it, so two sessions
//! adding to one scope see each other's committed facts and never leave
//! duplicates side by side.

use super::{query_json, scope_sql, CURRENT};
use crate::embed::{self, Embedded};
use crate::error::{raise, report, OrRaise};
use crate::gucs;
use memory_core::conflict::{self, Candidate, Event};
use memory_core::extract::{self, Fact};
use memory_core::messages::{self, Message, Scope};
use memory_core::vector;
use memory_core::Error;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode, Uuid};
use serde_json::{json, Value};

/// Memories compared with each new fact.
const CANDIDATES: usize = 5;

/// Options of one add that shape the rows written.
pub struct AddOptions<'a> {
    pub scope: Scope,
    pub metadata: Option<JsonB>,
    pub memory_type: &'a str,
    pub prompt: Option<&'a str>,
    pub expiration_date: Option<TimestampWithTimeZone>,
    pub timestamp: Option<TimestampWithTimeZone>,
    pub app_id: Option<&'a str>,
}

/// The configured provider; only the built-in one exists so far.
fn check_provider(prompt: Option<&str>) {
    let llm = gucs::text(&gucs::LLM).unwrap_or_else(|| "builtin".into());
    match llm.as_str() {
        "builtin" => {}
        "openai" => report(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "memory.llm = 'openai' is not available yet",
            Some("Only the built-in rule-based extractor is implemented in this version.".into()),
            Some("SET memory.llm = 'builtin'.".into()),
        ),
        other => raise(
            Error::invalid_parameter(format!("unknown memory.llm \"{other}\""))
                .hint("memory.llm is builtin or openai."),
        ),
    }
    if prompt.is_some() {
        raise(
            Error::invalid_parameter("prompt needs an LLM provider")
                .detail("The built-in extractor follows fixed rules and cannot take a prompt.")
                .hint("Leave prompt out with memory.llm = 'builtin'."),
        );
    }
}

/// Facts the built-in extractor finds in `msgs`.
pub fn extract_facts(msgs: &[Message], prompt: Option<&str>) -> Vec<Fact> {
    check_provider(prompt);
    extract::extract(msgs, false)
}

/// `memory.extract`: the facts in `messages`, without writing anything.
#[pg_extern]
fn extract(messages: Option<JsonB>, prompt: default!(Option<&str>, "NULL")) -> JsonB {
    let msgs = match messages {
        Some(m) => messages::parse_json(&m.0).or_raise(),
        None => raise(Error::invalid_parameter("messages must not be null")),
    };
    let facts: Vec<String> = extract_facts(&msgs, prompt)
        .into_iter()
        .map(|f| f.text)
        .collect();
    JsonB(json!({ "facts": facts }))
}

/// One memory the decisions work on: a stored one or one added in this call.
struct Entry {
    id: Uuid,
    text: String,
    embedding: Vec<f32>,
    immutable: bool,
    alive: bool,
    stored: bool,
}

/// What will be written.
enum Action {
    Add {
        id: Uuid,
        fact: usize,
        reason: String,
    },
    Update {
        id: Uuid,
        old: String,
        fact: usize,
        reason: String,
    },
    Delete {
        id: Uuid,
        old: String,
        reason: String,
    },
}

fn scope_key(scope: &Scope) -> String {
    format!(
        "memory_ext:{}|{}|{}",
        scope.user_id.as_deref().unwrap_or(""),
        scope.agent_id.as_deref().unwrap_or(""),
        scope.run_id.as_deref().unwrap_or("")
    )
}

/// Current memories of the scope most similar to any of the facts.
fn load_candidates(scope: &Scope, embedded: &Embedded) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for v in &embedded.vectors {
        let mut args: Vec<DatumWithOid<'static>> = Vec::new();
        let clause = scope_sql("m", scope, &mut args);
        args.push(vector::format(v).into());
        args.push(embedded.embedder.clone().into());
        let sql = format!(
            "SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'memory', memory, 'immutable', immutable,
                                                       'embedding', embedding::real[])), '[]')
             FROM (SELECT m.id, m.memory, m.immutable, m.embedding FROM memory.memories m
                   WHERE {CURRENT} AND {clause} AND m.embedder = ${e}::text AND m.embedding IS NOT NULL
                   ORDER BY m.embedding OPERATOR(memory.<=>) ${q}::memory.vector
                   LIMIT {CANDIDATES}) c",
            q = args.len() - 1,
            e = args.len(),
        );
        let rows = query_json(&sql, &args).map(|j| j.0).unwrap_or(Value::Null);
        for r in rows.as_array().into_iter().flatten() {
            let id = parse_uuid(r["id"].as_str().unwrap_or_default());
            if entries.iter().any(|e| e.id == id) {
                continue;
            }
            entries.push(Entry {
                id,
                text: r["memory"].as_str().unwrap_or_default().to_string(),
                embedding: r["embedding"]
                    .as_array()
                    .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(0.0) as f32).collect())
                    .unwrap_or_default(),
                immutable: r["immutable"].as_bool().unwrap_or(false),
                alive: true,
                stored: true,
            });
        }
    }
    entries
}

fn parse_uuid(s: &str) -> Uuid {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = hex
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    Uuid::from_bytes(bytes)
}

fn new_uuid() -> Uuid {
    let s = Spi::get_one::<Uuid>("SELECT gen_random_uuid()").or_raise();
    s.unwrap_or_else(|| Uuid::from_bytes([0; 16]))
}

/// Decide every fact in order against the working set; later facts see the
/// effect of earlier ones ("I am single. Now I am married.").
fn plan(facts: &[Fact], vectors: &[Vec<f32>], entries: &mut Vec<Entry>) -> Vec<Action> {
    let mut actions = Vec::new();
    for (i, fact) in facts.iter().enumerate() {
        let fv = &vectors[i];
        let mut ranked: Vec<(usize, f32)> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.alive)
            .map(|(k, e)| (k, vector::dot(fv, &e.embedding)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked.truncate(CANDIDATES);
        let cands: Vec<Candidate> = ranked
            .iter()
            .map(|(k, sim)| Candidate {
                text: entries[*k].text.clone(),
                similarity: *sim,
                immutable: entries[*k].immutable,
            })
            .collect();
        let d = conflict::decide(&fact.text, &cands);
        match d.event {
            Event::Add => {
                let id = new_uuid();
                entries.push(Entry {
                    id,
                    text: fact.text.clone(),
                    embedding: fv.clone(),
                    immutable: false,
                    alive: true,
                    stored: false,
                });
                actions.push(Action::Add {
                    id,
                    fact: i,
                    reason: d.reason,
                });
            }
            Event::Update { target } => {
                let e = &mut entries[ranked[target].0];
                let old = std::mem::replace(&mut e.text, fact.text.clone());
                e.embedding = fv.clone();
                if e.stored {
                    actions.push(Action::Update {
                        id: e.id,
                        old,
                        fact: i,
                        reason: d.reason,
                    });
                } else {
                    // Added earlier in this call: the addition carries the new text.
                    for a in actions.iter_mut() {
                        if let Action::Add { id, fact, .. } = a {
                            if *id == e.id {
                                *fact = i;
                            }
                        }
                    }
                }
            }
            Event::Delete { target } => {
                let e = &mut entries[ranked[target].0];
                e.alive = false;
                if e.stored {
                    actions.push(Action::Delete {
                        id: e.id,
                        old: e.text.clone(),
                        reason: d.reason,
                    });
                } else {
                    let gone = e.id;
                    actions.retain(|a| !matches!(a, Action::Add { id, .. } if *id == gone));
                }
            }
            Event::None => {}
        }
    }
    actions
}

/// Run the whole inference pipeline for one `memory.add`.
pub fn add_inferred(msgs: Vec<Message>, o: AddOptions<'_>) -> JsonB {
    let facts = extract_facts(&msgs, o.prompt);
    let empty = json!({"results": [], "relations": {"added_entities": [], "deleted_entities": []}});
    if facts.is_empty() {
        return JsonB(empty);
    }
    // Network-bound work first, no lock held.
    let texts: Vec<&str> = facts.iter().map(|f| f.text.as_str()).collect();
    let embedded = embed::embed(&texts);
    embed::check_scope_embedder(&o.scope, &embedded.embedder);

    // Short per-scope lock, released at the end of the caller's transaction.
    Spi::run_with_args(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[scope_key(&o.scope).into()],
    )
    .or_raise();
    let mut entries = load_candidates(&o.scope, &embedded);
    let actions = plan(&facts, &embedded.vectors, &mut entries);

    let mut results = Vec::new();
    for a in &actions {
        results.push(apply(a, &facts, &embedded, &o));
    }
    let mut out = empty;
    out["results"] = Value::Array(results);
    JsonB(out)
}

fn apply(a: &Action, facts: &[Fact], embedded: &Embedded, o: &AddOptions<'_>) -> Value {
    let emb = |i: usize| vector::format(&embedded.vectors[i]);
    match a {
        Action::Add { id, fact, reason } => {
            let f = &facts[*fact];
            let args: Vec<DatumWithOid<'static>> = vec![
                (*id).into(),
                f.text.clone().into(),
                messages::normalize(&f.text).into(),
                o.scope.user_id.clone().into(),
                o.scope.agent_id.clone().into(),
                o.scope.run_id.clone().into(),
                o.app_id.map(str::to_string).into(),
                f.actor_id.clone().into(),
                f.role.clone().into(),
                o.metadata.as_ref().map(|m| JsonB(m.0.clone())).into(),
                o.memory_type.to_string().into(),
                o.expiration_date.into(),
                o.timestamp.into(),
                emb(*fact).into(),
                embedded.embedder.clone().into(),
                reason.clone().into(),
            ];
            Spi::run_with_args(
                "WITH ins AS (
                    INSERT INTO memory.memories AS m
                        (id, memory, hash, user_id, agent_id, run_id, app_id, actor_id, role, metadata,
                         memory_type, expires_at, created_at, updated_at, valid_from, embedding, embedder)
                    SELECT $1, $2, md5($3), $4, $5, $6, $7, $8, $9, coalesce($10::jsonb, '{}'), $11, $12,
                           t.at, t.at, t.at, $14::memory.vector, $15
                    FROM (SELECT coalesce($13::timestamptz, clock_timestamp()) AS at) t
                    RETURNING m.*)
                 INSERT INTO memory.history
                    (memory_id, new_memory, event, actor_id, role, user_id, agent_id, run_id, created_at,
                     updated_at, reason)
                 SELECT id, memory, 'ADD', actor_id, role, user_id, agent_id, run_id, created_at, created_at, $16
                 FROM ins",
                &args,
            )
            .or_raise();
            json!({"id": id.to_string(), "memory": f.text, "event": "ADD"})
        }
        Action::Update {
            id,
            old,
            fact,
            reason,
        } => {
            let f = &facts[*fact];
            Spi::run_with_args(
                "WITH old AS (SELECT m.updated_at, m.memory FROM memory.memories m WHERE m.id = $1),
                 upd AS (
                    UPDATE memory.memories m SET memory = $2, hash = md5($3), embedding = $4::memory.vector,
                           embedder = $5, updated_at = clock_timestamp()
                    WHERE m.id = $1 RETURNING m.*)
                 INSERT INTO memory.history
                    (memory_id, old_memory, new_memory, event, actor_id, role, user_id, agent_id, run_id,
                     created_at, updated_at, reason)
                 SELECT upd.id, old.memory, upd.memory, 'UPDATE', $6, $7, upd.user_id, upd.agent_id,
                        upd.run_id, old.updated_at, upd.updated_at, $8
                 FROM upd, old",
                &[
                    (*id).into(),
                    f.text.clone().into(),
                    messages::normalize(&f.text).into(),
                    emb(*fact).into(),
                    embedded.embedder.clone().into(),
                    f.actor_id.clone().into(),
                    f.role.clone().into(),
                    reason.clone().into(),
                ],
            )
            .or_raise();
            json!({"id": id.to_string(), "memory": f.text, "event": "UPDATE", "previous_memory": old})
        }
        Action::Delete { id, old, reason } => {
            Spi::run_with_args(
                "WITH del AS (
                    UPDATE memory.memories m
                       SET valid_to = greatest(m.valid_from, coalesce($2::timestamptz, clock_timestamp()))
                     WHERE m.id = $1 RETURNING m.*)
                 INSERT INTO memory.history
                    (memory_id, old_memory, event, actor_id, role, user_id, agent_id, run_id,
                     created_at, updated_at, is_deleted, reason)
                 SELECT id, memory, 'DELETE', actor_id, role, user_id, agent_id, run_id,
                        updated_at, valid_to, true, $3
                 FROM del",
                &[(*id).into(), o.timestamp.into(), reason.clone().into()],
            )
            .or_raise();
            json!({"id": id.to_string(), "memory": old, "event": "DELETE", "previous_memory": old})
        }
    }
}
