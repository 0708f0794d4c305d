//! `memory.add(..., infer => true)`: extract facts, embed them in one batch,
//! compare each with the most similar current memories of its scope, and
//! apply ADD / UPDATE / DELETE / NONE with history, all in the caller's
//! transaction. Also session summaries (`memory_type => 'summary'`).
//!
//! Order of work: everything that may wait on the network (extraction,
//! embedding, the LLM's decision) happens before the per-scope lock.
//! - built-in provider: decisions are local and cheap, so the lock is taken
//!   first and candidates are read under it;
//! - LLM provider: candidates are read and decided on without a lock; then,
//!   inside a subtransaction, the lock is taken and the scope's write
//!   version (memory.scope_stats, read before the candidates) compared: the
//!   same means nothing was written to the scope meanwhile. Otherwise (or on
//!   a 0.0.1 schema) the candidates are read again. Unchanged: keep the lock
//!   and apply. Changed (a concurrent add
//!   touched them): roll the subtransaction back, which releases the lock,
//!   and decide again. After `ROUNDS` such rounds the decision is made under
//!   the lock, so a busy scope still makes progress.

use super::{add, graph, scope_sql, CURRENT};
use crate::embed::{self, Embedded};
use crate::error::{raise, report, OrRaise};
use crate::gucs;
use crate::llm::{self, Provider};
use crate::timing;
use crate::types::varvec::VectorArg;
use crate::xact::SubXact;
use memory_core::categories::{self, Category};
use memory_core::conflict::{self, Candidate, Event};
use memory_core::extract;
use memory_core::llm as proto;
use memory_core::messages::{self, Message, Scope};
use memory_core::speaker;
use memory_core::vector;
use memory_core::Error;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode, Uuid};
use serde_json::{json, Value};
use std::time::Instant;

/// Memories compared with each new fact.
const CANDIDATES: usize = 5;
/// Optimistic rounds before the LLM decides under the lock.
const ROUNDS: usize = 3;
/// Metadata key of a per-call category list (taken out of the stored metadata).
pub const CATEGORIES_KEY: &str = "custom_categories";

/// Options of one add that shape the rows written.
pub struct AddOptions<'a> {
    pub scope: Scope,
    pub metadata: Option<JsonB>,
    pub memory_type: &'a str,
    pub prompt: Option<&'a str>,
    pub expiration_date: Option<TimestampWithTimeZone>,
    pub timestamp: Option<TimestampWithTimeZone>,
    pub app_id: Option<&'a str>,
    pub categories: Vec<Category>,
}

/// The category list of a call: `metadata.custom_categories` (removed from
/// the metadata that is stored), else `memory.custom_categories`, else the
/// default set.
pub fn split_categories(metadata: Option<JsonB>) -> (Option<JsonB>, Vec<Category>) {
    if let Some(JsonB(Value::Object(mut o))) = metadata {
        if let Some(list) = o.remove(CATEGORIES_KEY) {
            let cats = categories::parse_json(&list).or_raise();
            return (Some(JsonB(Value::Object(o))), cats);
        }
        return (Some(JsonB(Value::Object(o))), configured_categories());
    }
    (metadata, configured_categories())
}

fn configured_categories() -> Vec<Category> {
    match gucs::text(&gucs::CUSTOM_CATEGORIES) {
        Some(s) => categories::parse_setting(&s).or_raise(),
        None => categories::defaults(),
    }
}

/// A fact to store, from either provider.
pub struct NewFact {
    pub text: String,
    pub role: String,
    pub actor_id: Option<String>,
    pub categories: Vec<String>,
}

fn builtin_only(prompt: Option<&str>) {
    if prompt.is_some() {
        raise(
            Error::invalid_parameter("prompt needs an LLM provider")
                .detail("The built-in extractor follows fixed rules and cannot take a prompt.")
                .hint(
                    "Leave prompt out with memory.llm = 'builtin', or use memory.llm = 'openai'.",
                ),
        );
    }
}

/// The actor of the user's messages when they all have the same one.
fn user_actor(msgs: &[Message]) -> Option<String> {
    let mut actors = msgs
        .iter()
        .filter(|m| m.role == "user")
        .map(|m| m.actor_id.clone());
    let first = actors.next().flatten()?;
    actors
        .all(|a| a.as_deref() == Some(&first))
        .then_some(first)
}

/// Facts in `msgs`, from the configured provider (one LLM call for openai).
pub fn extract_facts(
    msgs: &[Message],
    prompt: Option<&str>,
    cats: &[Category],
    scope: Option<&Scope>,
) -> Vec<NewFact> {
    match llm::provider() {
        Provider::Builtin => {
            builtin_only(prompt);
            let transcript = |m: &Message| scope.is_some_and(|s| other_speaker(m, s));
            extract::extract_with(msgs, false, &transcript)
                .into_iter()
                .map(|f| NewFact {
                    categories: categories::tag(&f.text, cats),
                    text: f.text,
                    role: f.role,
                    actor_id: f.actor_id,
                })
                .collect()
        }
        Provider::OpenAi => {
            let request = proto::extraction_messages(
                prompt.unwrap_or(llm::EXTRACT_FACTS),
                llm::EXTRACT_FORMAT,
                cats,
                &llm::today(),
                msgs,
            );
            let facts = llm::ask("extraction", request, |c| proto::parse_facts(c, cats));
            let actor = user_actor(msgs);
            facts
                .into_iter()
                .map(|f| NewFact {
                    categories: if f.tagged {
                        f.categories
                    } else {
                        categories::tag(&f.text, cats)
                    },
                    text: f.text,
                    role: "user".into(),
                    actor_id: actor.clone(),
                })
                .collect()
        }
    }
}

/// `memory.extract`: the facts in `messages`, without writing anything.
#[pg_extern]
fn extract(messages: Option<JsonB>, prompt: default!(Option<&str>, "NULL")) -> JsonB {
    let msgs = match messages {
        Some(m) => messages::parse_json(&m.0).or_raise(),
        None => raise(Error::invalid_parameter("messages must not be null")),
    };
    let facts: Vec<String> = extract_facts(&msgs, prompt, &configured_categories(), None)
        .into_iter()
        .map(|f| f.text)
        .collect();
    JsonB(json!({ "facts": facts }))
}

/// One memory the decisions work on: a stored one or one added in this call.
#[derive(Clone, PartialEq)]
struct Entry {
    id: Uuid,
    text: String,
    embedding: Vec<f32>,
    immutable: bool,
    alive: bool,
    stored: bool,
}

/// The content of a row to write.
#[derive(Clone)]
struct Written {
    text: String,
    embedding: Vec<f32>,
    role: Option<String>,
    actor_id: Option<String>,
    categories: Vec<String>,
}

impl Written {
    fn of(f: &NewFact, embedding: &[f32]) -> Self {
        Written {
            text: f.text.clone(),
            embedding: embedding.to_vec(),
            role: Some(f.role.clone()),
            actor_id: f.actor_id.clone(),
            categories: f.categories.clone(),
        }
    }
}

/// What will be written.
enum Action {
    Add {
        id: Uuid,
        w: Written,
        reason: String,
    },
    Update {
        id: Uuid,
        old: String,
        w: Written,
        reason: String,
    },
    Delete {
        id: Uuid,
        old: String,
        reason: String,
    },
}

pub fn scope_key(scope: &Scope) -> String {
    format!(
        "memory_ext:{}|{}|{}",
        scope.user_id.as_deref().unwrap_or(""),
        scope.agent_id.as_deref().unwrap_or(""),
        scope.run_id.as_deref().unwrap_or("")
    )
}

/// The short per-scope lock, released at the end of the transaction (or of
/// the subtransaction it was taken in, when that is rolled back).
fn lock_scope(scope: &Scope) {
    crate::plans::run(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[scope_key(scope).into()],
    );
}

/// Rows (id, memory, immutable, embedding as real[] or NULL) as entries,
/// first occurrence of each id kept.
fn read_entries(sql: &str, args: &[DatumWithOid<'_>]) -> Vec<Entry> {
    Spi::connect(|c| {
        let rows = c.select(sql, None, args).or_raise();
        let mut entries: Vec<Entry> = Vec::new();
        for r in rows {
            let Some(id) = r.get::<Uuid>(1).or_raise() else {
                continue;
            };
            if entries.iter().any(|e| e.id == id) {
                continue;
            }
            entries.push(Entry {
                id,
                text: r.get::<String>(2).or_raise().unwrap_or_default(),
                immutable: r.get::<bool>(3).or_raise().unwrap_or(false),
                embedding: r.get::<Vec<f32>>(4).or_raise().unwrap_or_default(),
                alive: true,
                stored: true,
            });
        }
        entries
    })
}

/// Current memories of the scope most similar to any of the facts: the
/// `CANDIDATES` nearest per fact, in one statement (each fact's search can
/// use a `memory_hnsw` index). Their vectors are read only when the
/// decisions need them (built-in provider).
fn load_candidates(
    scope: &Scope,
    embedded: &Embedded,
    with_vectors: bool,
    shape: ScopeShape,
) -> Vec<Entry> {
    if !shape.cold && shape.hot.is_some_and(|n| n <= SMALL_CANDIDATE_SCOPE) {
        return load_candidates_small(scope, embedded, with_vectors);
    }
    if !shape.cold && !super::has_vector_index() {
        return load_candidates_one_pass(scope, embedded, with_vectors);
    }
    load_candidates_scans(scope, embedded, with_vectors, shape.cold)
}

/// `load_candidates` by one sorted scan per fact (a `memory_hnsw` index can
/// serve each), with the cold tier's f16 copies when `cold`.
fn load_candidates_scans(
    scope: &Scope,
    embedded: &Embedded,
    with_vectors: bool,
    cold: bool,
) -> Vec<Entry> {
    let mut args: Vec<DatumWithOid<'static>> = Vec::new();
    let clause = scope_sql("m", scope, &mut args);
    let queries: Vec<String> = embedded.vectors.iter().map(|v| vector::format(v)).collect();
    args.push(queries.into());
    args.push(embedded.embedder.clone().into());
    let vectors = if with_vectors {
        "c.embedding::real[]"
    } else {
        "NULL::real[]"
    };
    // The cold tier's f16 copies have no index: scanned only when the scope
    // has cold memories at all (`scope_shape`).
    let cold_part = if cold {
        format!(
            "
                 UNION ALL
                 (SELECT m.id, m.memory, m.immutable, m.embedding_half::memory.vector,
                         m.embedding_half OPERATOR(memory.<=>) f.v::memory.halfvec
                  FROM memory.memories m
                  WHERE {CURRENT} AND {clause} AND m.tier = 'cold' AND m.embedder = ${e}::text
                    AND m.embedding_half IS NOT NULL AND m.memory_type <> 'summary'
                  ORDER BY 5
                  LIMIT {CANDIDATES})",
            e = args.len(),
        )
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT c.id, c.memory, c.immutable, {vectors}
         FROM unnest(${q}::text[]::memory.vector[]) WITH ORDINALITY AS f(v, k)
         CROSS JOIN LATERAL (
             SELECT u.id, u.memory, u.immutable, u.embedding FROM (
                 (SELECT m.id, m.memory, m.immutable, m.embedding,
                         m.embedding OPERATOR(memory.<=>) f.v AS d
                  FROM memory.memories m
                  WHERE {CURRENT} AND {clause} AND m.embedder = ${e}::text AND m.embedding IS NOT NULL
                    AND m.memory_type <> 'summary'
                  ORDER BY m.embedding OPERATOR(memory.<=>) f.v
                  LIMIT {CANDIDATES})
{cold_part}) u
             ORDER BY u.d
             LIMIT {CANDIDATES}) c
         ORDER BY f.k",
        q = args.len() - 1,
        e = args.len(),
    );
    read_entries(&sql, &args)
}

/// What an add needs to know of its scope before reading candidates.
#[derive(Clone, Copy)]
struct ScopeShape {
    /// Whether it holds any cold memory (the candidates' cold branch is
    /// skipped without one).
    cold: bool,
    /// Its hot memories without an expiry date, as memory.scope_stats
    /// keeps them (None on a 0.0.1 schema).
    hot: Option<i64>,
}

/// The scope's `ScopeShape`, in one read: from memory.scope_stats and the
/// scope's expiring memories when the schema keeps them, else a scan that
/// stops at the first cold memory (all of the scope without one).
fn scope_shape(scope: &Scope) -> ScopeShape {
    let mut args: Vec<DatumWithOid<'static>> = Vec::new();
    let clause = scope_sql("m", scope, &mut args);
    let sql = if super::scope_stats_kept() {
        format!(
            "SELECT EXISTS (SELECT 1 FROM memory.scope_stats s
                            WHERE {stats} AND s.tier = 'cold' AND s.docs > 0)
                 OR EXISTS (SELECT 1 FROM memory.memories m
                            WHERE {CURRENT} AND {clause} AND m.expires_at IS NOT NULL
                              AND m.tier = 'cold'),
                    (SELECT coalesce(sum(s.docs), 0)::int8 FROM memory.scope_stats s
                     WHERE {stats} AND s.tier = 'hot')",
            stats = scope_sql("s", scope, &mut Vec::new()),
        )
    } else {
        format!(
            "SELECT EXISTS (SELECT 1 FROM memory.memories m
                            WHERE {CURRENT} AND {clause} AND m.tier = 'cold'), NULL::int8"
        )
    };
    Spi::connect(|c| {
        let row = crate::plans::select(c, &sql, &args).first();
        ScopeShape {
            cold: row.get::<bool>(1).or_raise().unwrap_or(true),
            hot: row.get::<i64>(2).or_raise(),
        }
    })
}

/// Up to this many hot memories (and none cold), an add reads the scope's
/// vectors once and picks every fact's candidates here, instead of one
/// sorted scan of the scope per fact.
const SMALL_CANDIDATE_SCOPE: i64 = 3000;

/// `load_candidates` over a small scope without cold memories: the same
/// candidates (the `CANDIDATES` nearest per fact, facts in order, each
/// memory once), by exact cosine distance (undefined ones last, as in SQL).
fn load_candidates_small(scope: &Scope, embedded: &Embedded, with_vectors: bool) -> Vec<Entry> {
    let mut args: Vec<DatumWithOid<'static>> = Vec::new();
    let clause = scope_sql("m", scope, &mut args);
    args.push(embedded.embedder.clone().into());
    let sql = format!(
        "SELECT m.id, m.memory, m.immutable, m.embedding FROM memory.memories m
         WHERE {CURRENT} AND {clause} AND m.embedder = ${e}::text AND m.embedding IS NOT NULL
           AND m.memory_type <> 'summary'",
        e = args.len(),
    );
    let facts = embedded.vectors.len();
    Spi::connect(|c| {
        // Every row's distance to each fact is computed from its borrowed
        // vector; text and vector are read for the chosen rows only.
        let mut rows = crate::plans::rows(c, &sql, &args);
        let mut ids = Vec::with_capacity(rows.len());
        let mut distances = Vec::with_capacity(rows.len() * facts);
        for i in 0..rows.len() {
            let r = rows.row(i);
            let id = r.get::<Uuid>(1);
            let v = r.get::<VectorArg>(4).filter(|_| id.is_some());
            for fv in &embedded.vectors {
                distances.push(
                    v.as_ref()
                        .filter(|v| v.dims() == fv.len())
                        .map(|v| vector::cosine_distance(v.as_slice(), fv)),
                );
            }
            ids.push(id);
        }
        let mut entries: Vec<Entry> = Vec::new();
        for f in 0..facts {
            let mut near: Vec<(f64, usize)> = (0..rows.len())
                .filter_map(|k| distances[k * facts + f].map(|d| (d, k)))
                .collect();
            near.sort_by(|a, b| a.0.total_cmp(&b.0).then(ids[a.1].cmp(&ids[b.1])));
            for (_, k) in near.into_iter().take(CANDIDATES) {
                let Some(id) = ids[k] else { continue };
                if entries.iter().any(|e| e.id == id) {
                    continue;
                }
                let r = rows.row(k);
                entries.push(Entry {
                    id,
                    text: r.get::<String>(2).unwrap_or_default(),
                    immutable: r.get::<bool>(3).unwrap_or(false),
                    embedding: if with_vectors {
                        r.get::<VectorArg>(4)
                            .map(|v| v.as_slice().to_vec())
                            .unwrap_or_default()
                    } else {
                        Vec::new()
                    },
                    alive: true,
                    stored: true,
                });
            }
        }
        entries
    })
}

/// `load_candidates` over a scope without cold memories and without a
/// vector index, too large to read whole: one pass computes every memory's
/// distance to each fact (narrow rows, no vectors moved), each fact's
/// nearest are cut from it, and only those rows are read. The per-fact
/// sorted scans would each read the whole scope.
fn load_candidates_one_pass(scope: &Scope, embedded: &Embedded, with_vectors: bool) -> Vec<Entry> {
    let mut args: Vec<DatumWithOid<'static>> = Vec::new();
    let clause = scope_sql("m", scope, &mut args);
    args.push(embedded.embedder.clone().into());
    let e = args.len();
    let mut distances = Vec::new();
    let mut picks = Vec::new();
    for (k, v) in embedded.vectors.iter().enumerate() {
        args.push(super::vector_arg(v));
        distances.push(format!(
            "m.embedding OPERATOR(memory.<=>) ${} AS d{k}",
            args.len()
        ));
        picks.push(format!(
            "(SELECT {k} AS k, d.id, d.d{k} AS dist FROM d ORDER BY d.d{k}, d.id LIMIT {CANDIDATES})"
        ));
    }
    let vectors = if with_vectors {
        "m.embedding::real[]"
    } else {
        "NULL::real[]"
    };
    let sql = format!(
        "WITH d AS MATERIALIZED (
            SELECT m.id, {distances}
            FROM memory.memories m
            WHERE {CURRENT} AND {clause} AND m.embedder = ${e}::text AND m.embedding IS NOT NULL
              AND m.memory_type <> 'summary'),
         pick AS ({picks})
         SELECT m.id, m.memory, m.immutable, {vectors}
         FROM pick JOIN memory.memories m ON m.id = pick.id
         ORDER BY pick.k, pick.dist, pick.id",
        distances = distances.join(", "),
        picks = picks.join(" UNION ALL "),
    );
    read_entries(&sql, &args)
}

/// The three ways of reading an add's candidates over `user_id`'s scope
/// (the in-memory pick of a small scope, the one pass over a large one and
/// the per-fact sorted scans), each as sorted "id text" lines, for the test
/// that they agree.
#[cfg(any(test, feature = "pg_test"))]
pub fn candidates_three_ways(user_id: &str, embedded: &Embedded) -> [Vec<String>; 3] {
    let scope = Scope::new(Some(user_id), None, None, false).or_raise();
    let lines = |entries: Vec<Entry>| {
        let mut v: Vec<String> = entries
            .into_iter()
            .map(|e| format!("{} {}", e.id, e.text))
            .collect();
        v.sort();
        v
    };
    [
        lines(load_candidates_small(&scope, embedded, true)),
        lines(load_candidates_one_pass(&scope, embedded, true)),
        lines(load_candidates_scans(&scope, embedded, true, false)),
    ]
}

/// The current summary of the scope's run (at most one).
fn load_summary(scope: &Scope) -> Vec<Entry> {
    let mut args: Vec<DatumWithOid<'static>> = Vec::new();
    let clause = scope_sql("m", scope, &mut args);
    let sql = format!(
        "SELECT m.id, m.memory, m.immutable, NULL::real[] FROM memory.memories m
         WHERE {CURRENT} AND {clause} AND m.memory_type = 'summary'
         ORDER BY m.updated_at DESC LIMIT 1"
    );
    read_entries(&sql, &args)
}

/// Two reads of the candidates show the same memories with the same texts.
fn same(a: &[Entry], b: &[Entry]) -> bool {
    let key = |v: &[Entry]| {
        let mut k: Vec<(String, String, bool)> = v
            .iter()
            .map(|e| (e.id.to_string(), e.text.clone(), e.immutable))
            .collect();
        k.sort();
        k
    };
    key(a) == key(b)
}

/// Decide without a lock, then take it and check nothing changed meanwhile
/// (see the module comment). Returns the plan made on the final candidates.
fn settle<P>(
    scope: &Scope,
    load: impl Fn() -> Vec<Entry>,
    mut prepare: impl FnMut(&[Entry]) -> P,
) -> P {
    for round in 1..=ROUNDS {
        // The scope's write version, read before the candidates: when it is
        // the same under the lock, nothing was written to the scope since,
        // and the candidates need no second read.
        let version = super::scope_version(scope);
        let seen = load();
        let plan = prepare(&seen);
        let sub = SubXact::begin();
        lock_scope(scope);
        let unchanged = version.is_some() && super::scope_version(scope) == version;
        if unchanged || same(&seen, &load()) {
            sub.commit();
            return plan;
        }
        sub.rollback();
        pgrx::debug1!(
            "memory_ext: the candidates changed while deciding (round {round}); deciding again"
        );
    }
    lock_scope(scope);
    let seen = load();
    prepare(&seen)
}

fn new_uuid() -> Uuid {
    let s = crate::plans::one::<Uuid>("SELECT gen_random_uuid()", &[]);
    s.unwrap_or_else(|| Uuid::from_bytes([0; 16]))
}

/// Built-in decisions: every fact in order against the working set; later
/// facts see the effect of earlier ones ("I am single. Now I am married.").
fn plan_builtin(facts: &[NewFact], vectors: &[Vec<f32>], entries: &mut Vec<Entry>) -> Vec<Action> {
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
        let w = Written::of(fact, fv);
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
                    w,
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
                        w,
                        reason: d.reason,
                    });
                } else {
                    // Added earlier in this call: the addition carries the new text.
                    for a in actions.iter_mut() {
                        if let Action::Add { id, w: added, .. } = a {
                            if *id == e.id {
                                *added = w.clone();
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

fn same_text(a: &str, b: &str) -> bool {
    messages::normalize(a) == messages::normalize(b)
}

/// LLM decisions (call 2) on `entries`, turned into actions. Texts the model
/// wrote itself are embedded here, still before the lock. Guards that do not
/// depend on judgement: an ADD of a text already stored or already added is
/// dropped, an UPDATE to the same text is nothing, immutable memories are
/// never changed (an UPDATE of one adds its new text instead).
fn plan_llm(
    facts: &[NewFact],
    vectors: &[Vec<f32>],
    entries: &[Entry],
    cats: &[Category],
) -> Vec<Action> {
    let decisions = if entries.is_empty() {
        facts
            .iter()
            .map(|f| proto::Decision::Add {
                text: f.text.clone(),
            })
            .collect()
    } else {
        let shown: Vec<proto::Shown<'_>> = entries
            .iter()
            .map(|e| proto::Shown {
                text: &e.text,
                immutable: e.immutable,
            })
            .collect();
        let texts: Vec<String> = facts.iter().map(|f| f.text.clone()).collect();
        let request = proto::decision_messages(llm::DECIDE, &shown, &texts);
        llm::ask("decision", request, |c| {
            proto::parse_decisions(c, entries.len())
        })
    };
    let reason = |what: &str| format!("LLM decision: {what}");
    let mut actions: Vec<Action> = Vec::new();
    let mut unembedded: Vec<usize> = Vec::new();
    let mut written = |text: &str, actions_len: usize| -> Written {
        match facts.iter().position(|f| same_text(&f.text, text)) {
            Some(i) => Written {
                text: text.trim().to_string(),
                ..Written::of(&facts[i], &vectors[i])
            },
            None => {
                unembedded.push(actions_len);
                Written {
                    text: text.trim().to_string(),
                    embedding: Vec::new(),
                    role: Some("user".into()),
                    actor_id: facts.first().and_then(|f| f.actor_id.clone()),
                    categories: categories::tag(text, cats),
                }
            }
        }
    };
    let known = |text: &str, actions: &[Action]| {
        entries.iter().any(|e| same_text(&e.text, text))
            || actions.iter().any(|a| match a {
                Action::Add { w, .. } | Action::Update { w, .. } => same_text(&w.text, text),
                Action::Delete { .. } => false,
            })
    };
    for d in decisions {
        match d {
            proto::Decision::Add { text } => {
                if !known(&text, &actions) {
                    let w = written(&text, actions.len());
                    actions.push(Action::Add {
                        id: new_uuid(),
                        w,
                        reason: reason("new fact"),
                    });
                }
            }
            proto::Decision::Update { target, text } => {
                let e = &entries[target];
                if same_text(&e.text, &text) {
                    continue;
                }
                if e.immutable {
                    if !known(&text, &actions) {
                        let w = written(&text, actions.len());
                        actions.push(Action::Add {
                            id: new_uuid(),
                            w,
                            reason: reason("update of an immutable memory, kept as a new memory"),
                        });
                    }
                    continue;
                }
                let w = written(&text, actions.len());
                actions.push(Action::Update {
                    id: e.id,
                    old: e.text.clone(),
                    w,
                    reason: reason("updates the memory"),
                });
            }
            proto::Decision::Delete { target } => {
                let e = &entries[target];
                if !e.immutable {
                    actions.push(Action::Delete {
                        id: e.id,
                        old: e.text.clone(),
                        reason: reason("no longer true"),
                    });
                }
            }
        }
    }
    if !unembedded.is_empty() {
        let texts: Vec<String> = unembedded
            .iter()
            .filter_map(|&k| match &actions[k] {
                Action::Add { w, .. } | Action::Update { w, .. } => Some(w.text.clone()),
                Action::Delete { .. } => None,
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut vectors = embed::embed(&refs).vectors.into_iter();
        for &k in &unembedded {
            if let Action::Add { w, .. } | Action::Update { w, .. } = &mut actions[k] {
                w.embedding = vectors.next().unwrap_or_default();
            }
        }
    }
    actions
}

fn empty_result() -> Value {
    json!({"results": [], "relations": {"added_entities": [], "deleted_entities": []}})
}

/// Run the whole inference pipeline for one `memory.add`.
pub fn add_inferred(msgs: Vec<Message>, o: AddOptions<'_>) -> JsonB {
    let start = Instant::now();
    timing::take();
    let out = if o.memory_type == "summary" {
        add_summary(&msgs, &o)
    } else {
        add_facts(&msgs, &o)
    };
    pgrx::debug1!(
        "memory_ext: add: {}",
        timing::summary(start.elapsed(), &timing::take())
    );
    out
}

/// A user message from a named speaker who is not the scope's user
/// ("Caroline" in a conversation kept for another user_id): a transcript,
/// whose statements are kept with the speaker's name.
fn other_speaker(m: &Message, scope: &Scope) -> bool {
    let Some(name) = m.actor_id.as_deref().map(str::trim) else {
        return false;
    };
    m.role == "user"
        && !name.is_empty()
        && !scope
            .user_id
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(name))
}

/// Facts of other speakers keep the speaker's name.
fn name_speakers(facts: &mut [NewFact], scope: &Scope) {
    for f in facts.iter_mut() {
        let Some(name) = f.actor_id.clone() else {
            continue;
        };
        let msg = Message {
            role: f.role.clone(),
            content: String::new(),
            actor_id: Some(name.clone()),
        };
        if other_speaker(&msg, scope) {
            f.text = extract::attributed(&name, &f.text);
        }
    }
}

fn add_facts(msgs: &[Message], o: &AddOptions<'_>) -> JsonB {
    let provider = llm::provider();
    let mut facts = extract_facts(msgs, o.prompt, &o.categories, Some(&o.scope));
    if provider == Provider::Builtin {
        name_speakers(&mut facts, &o.scope);
    }
    if facts.is_empty() {
        return JsonB(empty_result());
    }
    // Network-bound work first, no lock held.
    let texts: Vec<&str> = facts.iter().map(|f| f.text.as_str()).collect();
    let embedded = embed::embed(&texts);
    embed::check_scope_embedder(&o.scope, &embedded.embedder);

    let actions = match provider {
        Provider::Builtin => {
            lock_scope(&o.scope);
            let shape = scope_shape(&o.scope);
            let mut entries = load_candidates(&o.scope, &embedded, true, shape);
            plan_builtin(&facts, &embedded.vectors, &mut entries)
        }
        Provider::OpenAi => settle(
            &o.scope,
            // Read once, before the lock: a memory tiered while deciding
            // changes the hot candidates, which the check under the lock sees.
            {
                let (shape, embedded) = (scope_shape(&o.scope), &embedded);
                move || load_candidates(&o.scope, embedded, false, shape)
            },
            |entries| plan_llm(&facts, &embedded.vectors, entries, &o.categories),
        ),
    };
    finish(&actions, &embedded.embedder, o, true)
}

/// Write the actions, then (for facts, not summaries) the graph edges of
/// the memories written: edges of rewritten or deleted memories end, the
/// new texts' edges are drawn.
fn finish(actions: &[Action], embedder: &str, o: &AddOptions<'_>, with_graph: bool) -> JsonB {
    // New facts continue the scope's conversation, in the order they were
    // said: each follows the one before it (the first, the scope's latest
    // memory within memory.conversation_window), as verbatim messages do.
    let mut before = if with_graph {
        add::conversation_tail(&o.scope, o.timestamp)
    } else {
        None
    };
    let results: Vec<Value> = actions
        .iter()
        .map(|a| match a {
            Action::Add { id, w, .. } if with_graph => {
                let turn = speaker::turn(w.role.as_deref(), w.actor_id.as_deref(), &w.text);
                let context = before.take().map(|t| {
                    let cv = t
                        .embedding
                        .filter(|_| speaker::replies(&t.turn, &turn))
                        .and_then(|v| vector::context_vector(&v, &w.embedding))
                        .map(|c| vector::format(&c));
                    (t.id, cv)
                });
                before = Some(add::Tail {
                    id: *id,
                    embedding: Some(w.embedding.clone()),
                    turn,
                });
                apply(a, embedder, o, context)
            }
            _ => apply(a, embedder, o, None),
        })
        .collect();
    let mut out = empty_result();
    out["results"] = Value::Array(results);
    if with_graph {
        let mut changes = graph::Changes::default();
        let ended: Vec<Uuid> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Update { id, .. } | Action::Delete { id, .. } => Some(*id),
                Action::Add { .. } => None,
            })
            .collect();
        graph::unlink(&ended, o.timestamp, &mut changes);
        for a in actions {
            if let Action::Add { id, w, .. } | Action::Update { id, w, .. } = a {
                graph::link(&o.scope, *id, &w.text, o.timestamp, &mut changes);
            }
        }
        out["relations"] = changes.to_json();
    }
    JsonB(out)
}

/// `memory_type => 'summary'`: one summary memory per run, rewritten by the
/// LLM from the previous summary and the new messages (one call); the
/// previous summary is updated in place (same id, old text in history).
fn add_summary(msgs: &[Message], o: &AddOptions<'_>) -> JsonB {
    if llm::provider() != Provider::OpenAi {
        report(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "session summaries need an LLM provider",
            Some("The built-in extractor keeps single facts; it does not write summaries.".into()),
            Some("SET memory.llm = 'openai' (with memory.llm_url), or add the facts with the default memory_type.".into()),
        );
    }
    if o.scope.run_id.is_none() {
        raise(
            Error::invalid_parameter("a session summary needs run_id")
                .detail("memory_type => 'summary' keeps one summary per run.")
                .hint("Pass the session's id as run_id."),
        );
    }
    let embedder = embed::current_name();
    embed::check_scope_embedder(&o.scope, &embedder);
    let actions = settle(
        &o.scope,
        || load_summary(&o.scope),
        |prev| {
            let request = proto::summary_messages(
                o.prompt.unwrap_or(llm::SUMMARY),
                llm::SUMMARY_FORMAT,
                &llm::today(),
                prev.first().map(|e| e.text.as_str()),
                msgs,
            );
            let text = llm::ask("summary", request, proto::parse_summary);
            let w = Written {
                embedding: embed::embed(&[text.as_str()])
                    .vectors
                    .pop()
                    .unwrap_or_default(),
                role: Some("user".into()),
                actor_id: user_actor(msgs),
                categories: categories::tag(&text, &o.categories),
                text,
            };
            match prev.first() {
                Some(e) if e.text == w.text => vec![],
                Some(e) => vec![Action::Update {
                    id: e.id,
                    old: e.text.clone(),
                    w,
                    reason: "session summary rewritten with the new messages".into(),
                }],
                None => vec![Action::Add {
                    id: new_uuid(),
                    w,
                    reason: "first summary of the session".into(),
                }],
            }
        },
    );
    finish(&actions, &embedder, o, false)
}

/// Write one action; `context` is the conversation link of an added fact
/// (the memory before it, and its context vector).
fn apply(
    a: &Action,
    embedder: &str,
    o: &AddOptions<'_>,
    context: Option<(Uuid, Option<String>)>,
) -> Value {
    match a {
        Action::Add { id, w, reason } => {
            let args: Vec<DatumWithOid<'static>> = vec![
                (*id).into(),
                w.text.clone().into(),
                messages::normalize(&w.text).into(),
                o.scope.user_id.clone().into(),
                o.scope.agent_id.clone().into(),
                o.scope.run_id.clone().into(),
                o.app_id.map(str::to_string).into(),
                w.actor_id.clone().into(),
                w.role.clone().into(),
                o.metadata.as_ref().map(|m| JsonB(m.0.clone())).into(),
                o.memory_type.to_string().into(),
                o.expiration_date.into(),
                o.timestamp.into(),
                super::vector_arg(&w.embedding),
                embedder.to_string().into(),
                reason.clone().into(),
                w.categories.clone().into(),
                context.as_ref().map(|c| c.0).into(),
                context.and_then(|c| c.1).into(),
            ];
            crate::plans::run(
                "WITH ins AS (
                    INSERT INTO memory.memories AS m
                        (id, memory, hash, user_id, agent_id, run_id, app_id, actor_id, role, metadata,
                         memory_type, expires_at, created_at, updated_at, valid_from, embedding, embedder,
                         categories, context_id, context_embedding)
                    SELECT $1, $2, md5($3), $4, $5, $6, $7, $8, $9, coalesce($10::jsonb, '{}'), $11, $12,
                           t.at, t.at, t.at, $14::memory.vector, $15, $17::text[], $18::uuid,
                           $19::memory.vector
                    FROM (SELECT coalesce($13::timestamptz, clock_timestamp()) AS at) t
                    RETURNING m.*)
                 INSERT INTO memory.history
                    (memory_id, new_memory, event, actor_id, role, user_id, agent_id, run_id, created_at,
                     updated_at, reason)
                 SELECT id, memory, 'ADD', actor_id, role, user_id, agent_id, run_id, created_at, created_at, $16
                 FROM ins",
                &args,
            );
            json!({"id": id.to_string(), "memory": w.text, "event": "ADD"})
        }
        Action::Update { id, old, w, reason } => {
            crate::plans::run(
                "WITH old AS (SELECT m.updated_at, m.memory FROM memory.memories m WHERE m.id = $1),
                 upd AS (
                    UPDATE memory.memories m SET memory = $2, hash = md5($3), embedding = $4::memory.vector,
                           embedder = $5, updated_at = clock_timestamp(), tier = 'hot',
                           embedding_half = NULL, context_embedding = NULL,
                           categories = CASE WHEN cardinality($9::text[]) > 0 THEN $9::text[]
                                             ELSE m.categories END
                    WHERE m.id = $1 RETURNING m.*)
                 INSERT INTO memory.history
                    (memory_id, old_memory, new_memory, event, actor_id, role, user_id, agent_id, run_id,
                     created_at, updated_at, reason)
                 SELECT upd.id, old.memory, upd.memory, 'UPDATE', $6, $7, upd.user_id, upd.agent_id,
                        upd.run_id, old.updated_at, upd.updated_at, $8
                 FROM upd, old",
                &[
                    (*id).into(),
                    w.text.clone().into(),
                    messages::normalize(&w.text).into(),
                    super::vector_arg(&w.embedding),
                    embedder.to_string().into(),
                    w.actor_id.clone().into(),
                    w.role.clone().into(),
                    reason.clone().into(),
                    w.categories.clone().into(),
                ],
            );
            json!({"id": id.to_string(), "memory": w.text, "event": "UPDATE", "previous_memory": old})
        }
        Action::Delete { id, old, reason } => {
            crate::plans::run(
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
            );
            json!({"id": id.to_string(), "memory": old, "event": "DELETE", "previous_memory": old})
        }
    }
}
