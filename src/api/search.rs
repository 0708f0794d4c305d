//! `memory.search` / `memory.search_rows`: hybrid retrieval (design §7).
//!
//! Both channels are restricted to the scope, the filters and the current
//! rows first. The vector channel ranks by cosine similarity to the query's
//! embedding (exact scan within the scope until the index access method
//! lands); the keyword channel takes the GIN candidates of an OR of the
//! query's terms and scores them with BM25 in Rust (memory_core::rank). The
//! channels are fused score-aware (or by RRF), `threshold` cuts on the fused
//! score, and the returned rows get their access statistics bumped without
//! waiting on writers (SKIP LOCKED).

use super::graph;
use super::{check_top_k, filter_clause, query_json, CURRENT, MEMORY_JSON};
use crate::embed;
use crate::error::{raise, OrRaise};
use crate::gucs;
use crate::types::varvec::{VecOut, VectorOut};
use memory_core::messages::Scope;
use memory_core::rank::{self, Channels, Corpus, Fusion, Weights};
use memory_core::Error;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use std::collections::HashMap;

/// CJK character bigrams of `text` as a tsvector literal (see memory_core::text).
#[pg_extern(immutable, strict, parallel_safe)]
fn cjk_terms(text: &str) -> String {
    memory_core::text::cjk_tsvector(text, 1)
}

/// Candidates each channel contributes before fusion.
fn channel_depth(top_k: i32) -> i64 {
    (top_k as i64 * 5).clamp(50, 1000)
}

fn vector_oid() -> pg_sys::Oid {
    Spi::get_one::<pg_sys::Oid>("SELECT 'memory.vector'::regtype::oid")
        .or_raise()
        .unwrap_or(pg_sys::InvalidOid)
}

/// Quote a lexeme for tsquery input.
fn tsquery_term(lexeme: &str) -> String {
    format!("'{}'", lexeme.replace('\\', "\\\\").replace('\'', "''"))
}

/// The searched set: scope and filters, compiled afresh for each statement
/// (SPI arguments cannot be shared between statements).
struct Query<'a> {
    scope: Scope,
    filters: Option<&'a JsonB>,
    clause: String,
    n_args: usize,
}

impl<'a> Query<'a> {
    fn new(scope: Scope, filters: Option<&'a JsonB>) -> Query<'a> {
        let mut args = Vec::new();
        let clause = filter_clause(&scope, filters, &mut args, "memory.search");
        Query {
            scope,
            filters,
            clause,
            n_args: args.len(),
        }
    }
    /// The filter's arguments followed by `extra`.
    fn with(&self, extra: Vec<DatumWithOid<'static>>) -> Vec<DatumWithOid<'static>> {
        let mut args = Vec::new();
        filter_clause(&self.scope, self.filters, &mut args, "memory.search");
        args.extend(extra);
        args
    }
    /// Number of the k-th extra argument.
    fn next(&self, k: usize) -> usize {
        self.n_args + k
    }
}

/// Vector channel: (id, cosine similarity), best first.
fn vector_channel(q: &Query, text: &str, depth: i64) -> Vec<(Uuid, f64)> {
    let e = embed::embed(&[text]);
    let name = e.embedder.clone();
    let qv = VecOut(e.vectors.into_iter().next().unwrap_or_default());
    // Memories embedded by another embedder cannot be compared with the query.
    let other = query_json(
        &format!(
            "SELECT to_jsonb(m.embedder) FROM memory.memories m
             WHERE {CURRENT} AND {} AND m.embedding IS NOT NULL
               AND (m.embedder IS NULL OR m.embedder < ${n}::text OR m.embedder > ${n}::text) LIMIT 1",
            q.clause,
            n = q.next(1)
        ),
        &q.with(vec![name.clone().into()]),
    );
    if let Some(JsonB(Value::String(o))) = other {
        embed::mixed(&o, &name);
    }
    // SAFETY: the datum is a freshly built memory.vector value.
    let qarg = unsafe { DatumWithOid::new(qv as VectorOut, vector_oid()) };
    let sql = format!(
        "SELECT m.id, 1 - (m.embedding OPERATOR(memory.<=>) ${v}) AS sim
         FROM memory.memories m
         WHERE {CURRENT} AND {} AND m.embedder = ${n}::text AND m.embedding IS NOT NULL
         ORDER BY m.embedding OPERATOR(memory.<=>) ${v}
         LIMIT ${l}",
        q.clause,
        v = q.next(1),
        n = q.next(2),
        l = q.next(3),
    );
    Spi::connect(|c| {
        let rows = c
            .select(&sql, None, &q.with(vec![qarg, name.into(), depth.into()]))
            .or_raise();
        rows.map(|r| {
            let id = r
                .get::<Uuid>(1)
                .or_raise()
                .unwrap_or_else(|| Uuid::from_bytes([0; 16]));
            let sim = r.get::<f64>(2).or_raise().unwrap_or(f64::NAN);
            (id, if sim.is_finite() { sim } else { 0.0 })
        })
        .collect()
    })
}

/// Keyword channel: (id, BM25), best first.
fn keyword_channel(q: &Query, text: &str, depth: i64) -> Vec<(Uuid, f64)> {
    let config = gucs::text(&gucs::TEXT_SEARCH_CONFIG).unwrap_or_else(|| "english".into());
    let terms: Vec<String> = Spi::get_one_with_args::<Vec<String>>(
        "SELECT coalesce(array_agg(DISTINCT lexeme ORDER BY lexeme), '{}')
         FROM unnest(to_tsvector($1::regconfig, $2) || memory.cjk_terms($2)::tsvector)",
        &[config.into(), text.to_string().into()],
    )
    .or_raise()
    .unwrap_or_default();
    if terms.is_empty() {
        return Vec::new();
    }
    let quoted: Vec<String> = terms.iter().map(|t| tsquery_term(t)).collect();
    let any = quoted.join(" | ");
    // Corpus statistics and document frequencies over the searched set.
    let stats = query_json(
        &format!(
            "WITH docs AS (SELECT m.fts, m.fts_len FROM memory.memories m WHERE {CURRENT} AND {})
             SELECT jsonb_build_object(
                'n', (SELECT count(*) FROM docs),
                'avgdl', (SELECT coalesce(avg(fts_len), 0) FROM docs),
                'df', (SELECT jsonb_agg((SELECT count(*) FROM docs WHERE docs.fts @@ t::tsquery) ORDER BY o)
                       FROM unnest(${}::text[]) WITH ORDINALITY AS u(t, o)))",
            q.clause,
            q.next(1)
        ),
        &q.with(vec![quoted.clone().into()]),
    )
    .map(|j| j.0)
    .unwrap_or(Value::Null);
    let corpus = Corpus {
        docs: stats["n"].as_f64().unwrap_or(0.0),
        avg_len: stats["avgdl"].as_f64().unwrap_or(0.0),
    };
    let dfs: Vec<f64> = stats["df"]
        .as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(0.0)).collect())
        .unwrap_or_default();
    let sql = format!(
        "SELECT m.id, m.fts_len,
                array(SELECT coalesce((SELECT coalesce(array_length(x.positions, 1), 1)
                                       FROM unnest(m.fts) x WHERE x.lexeme = t), 0)::float8
                      FROM unnest(${terms}::text[]) WITH ORDINALITY AS u(t, o) ORDER BY o)
         FROM memory.memories m
         WHERE {CURRENT} AND {} AND m.fts @@ ${any}::tsquery
         LIMIT 5000",
        q.clause,
        terms = q.next(1),
        any = q.next(2),
    );
    let mut scored: Vec<(Uuid, f64)> = Spi::connect(|c| {
        let rows = c
            .select(&sql, None, &q.with(vec![terms.clone().into(), any.into()]))
            .or_raise();
        rows.map(|r| {
            let id = r
                .get::<Uuid>(1)
                .or_raise()
                .unwrap_or_else(|| Uuid::from_bytes([0; 16]));
            let len = r.get::<i32>(2).or_raise().unwrap_or(0) as f64;
            let tfs = r.get::<Vec<f64>>(3).or_raise().unwrap_or_default();
            (id, rank::bm25(corpus, &dfs, len, &tfs))
        })
        .collect()
    });
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(depth as usize);
    scored
}

struct Hit {
    id: Uuid,
    score: f64,
    channels: Channels,
}

#[allow(clippy::too_many_arguments)]
fn run_search(
    query: Option<&str>,
    user_id: Option<&str>,
    agent_id: Option<&str>,
    run_id: Option<&str>,
    filters: Option<JsonB>,
    top_k: i32,
    threshold: Option<f32>,
    keyword_search: bool,
    graph: bool,
    vector_weight: Option<f64>,
    keyword_weight: Option<f64>,
    fusion: Option<&str>,
) -> (Vec<Hit>, Vec<Value>) {
    let text = match query {
        Some(t) if !t.trim().is_empty() => t,
        _ => raise(
            Error::invalid_parameter("query must not be empty")
                .hint("Pass the question to search for."),
        ),
    };
    check_top_k(top_k);
    let scope = Scope::new(user_id, agent_id, run_id, false).or_raise();
    let q = Query::new(scope, filters.as_ref());
    let weight = |given: Option<f64>, guc: f64, name: &str| -> f64 {
        let w = given.unwrap_or(guc);
        if !(0.0..=1.0).contains(&w) {
            raise(Error::invalid_parameter(format!(
                "{name} must be between 0 and 1, not {w}"
            )));
        }
        w
    };
    let mut w = Weights {
        vector: weight(vector_weight, gucs::VECTOR_WEIGHT.get(), "vector_weight"),
        keyword: weight(keyword_weight, gucs::KEYWORD_WEIGHT.get(), "keyword_weight"),
        graph: if graph { gucs::GRAPH_WEIGHT.get() } else { 0.0 },
    };
    if !keyword_search {
        w.keyword = 0.0;
    }
    let how_name = fusion
        .map(str::to_string)
        .or_else(|| gucs::text(&gucs::FUSION))
        .unwrap_or_else(|| "score".into());
    let how = Fusion::parse(&how_name).unwrap_or_else(|| {
        raise(
            Error::invalid_parameter(format!("unknown fusion \"{how_name}\""))
                .hint("Use score or rrf."),
        )
    });
    if w.vector + w.keyword <= 0.0 {
        raise(
            Error::invalid_parameter("every search channel has weight 0")
                .hint("Give vector_weight or keyword_weight a positive weight."),
        );
    }
    let depth = channel_depth(top_k);
    let vector = if w.vector > 0.0 {
        vector_channel(&q, text, depth)
    } else {
        Vec::new()
    };
    let keyword = if w.keyword > 0.0 {
        keyword_channel(&q, text, depth)
    } else {
        Vec::new()
    };
    let (linked, relations) = if graph {
        graph_channel(&q, text, depth)
    } else {
        (Vec::new(), Vec::new())
    };

    let mut index: HashMap<Uuid, usize> = HashMap::new();
    let mut cands: Vec<(Uuid, Channels)> = Vec::new();
    for (rank_pos, (id, s)) in vector.iter().enumerate() {
        let i = *index.entry(*id).or_insert_with(|| {
            cands.push((*id, Channels::default()));
            cands.len() - 1
        });
        cands[i].1.vector = Some((*s, rank_pos + 1));
    }
    for (rank_pos, (id, s)) in keyword.iter().enumerate() {
        let i = *index.entry(*id).or_insert_with(|| {
            cands.push((*id, Channels::default()));
            cands.len() - 1
        });
        cands[i].1.keyword = Some((*s, rank_pos + 1));
    }
    for (rank_pos, (id, s)) in linked.iter().enumerate() {
        let i = *index.entry(*id).or_insert_with(|| {
            cands.push((*id, Channels::default()));
            cands.len() - 1
        });
        cands[i].1.graph = Some((*s, rank_pos + 1));
    }
    let chans: Vec<Channels> = cands.iter().map(|(_, c)| c.clone()).collect();
    let scores = rank::fuse(&chans, w, how);
    let mut hits: Vec<Hit> = cands
        .into_iter()
        .zip(scores)
        .map(|((id, channels), score)| Hit {
            id,
            score,
            channels,
        })
        .filter(|h| threshold.is_none_or(|t| h.score >= t as f64))
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    hits.truncate(top_k as usize);
    (hits, relations)
}

/// Graph channel: entities the query names, their edges up to 2 hops, and
/// the current memories those edges came from, scored 1 / hops. Returns the
/// memories (best first) and the edges in Mem0's `relations` shape.
fn graph_channel(q: &Query, text: &str, depth: i64) -> (Vec<(Uuid, f64)>, Vec<Value>) {
    let names = graph::mentioned(&q.scope, text);
    if names.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let sql = format!(
        "WITH g AS (SELECT * FROM memory.graph_edges(${n}, ${u}, ${a}, ${r}, 2, NULL))
         SELECT 'edge', NULL::uuid, 0::float8, g.source, g.relation, g.destination FROM g
         UNION ALL
         (SELECT 'memory', m.id, max(1.0 / g.depth)::float8, NULL, NULL, NULL
          FROM g JOIN memory.memories m ON m.id = g.memory_id
          WHERE {CURRENT} AND {}
          GROUP BY m.id ORDER BY 3 DESC, m.id LIMIT ${l})",
        q.clause,
        n = q.next(1),
        u = q.next(2),
        a = q.next(3),
        r = q.next(4),
        l = q.next(5),
    );
    let args = q.with(vec![
        names.into(),
        q.scope.user_id.clone().into(),
        q.scope.agent_id.clone().into(),
        q.scope.run_id.clone().into(),
        depth.into(),
    ]);
    Spi::connect(|c| {
        let rows = c.select(&sql, None, &args).or_raise();
        let mut linked = Vec::new();
        let mut relations = Vec::new();
        for r in rows {
            if r.get::<String>(1).or_raise().as_deref() == Some("memory") {
                if let Some(id) = r.get::<Uuid>(2).or_raise() {
                    linked.push((id, r.get::<f64>(3).or_raise().unwrap_or(0.0)));
                }
            } else {
                let part = |k: usize| r.get::<String>(k).ok().flatten().unwrap_or_default();
                relations.push(
                    json!({"source": part(4), "relationship": part(5), "destination": part(6)}),
                );
            }
        }
        (linked, relations)
    })
}

fn explain_json(h: &Hit) -> Value {
    let part = |c: Option<(f64, usize)>| match c {
        Some((s, r)) => json!({"rank": r, "score": s}),
        None => Value::Null,
    };
    json!({"vector": part(h.channels.vector), "keyword": part(h.channels.keyword),
           "graph": part(h.channels.graph)})
}

/// Bump the access statistics of the hits, skipping rows a writer holds
/// (readers never wait for writers) and doing nothing on a standby or in a
/// read-only transaction.
fn bump_access(hits: &[Hit]) {
    // SAFETY: RecoveryInProgress reads shared state; XactReadOnly is the
    // backend's own transaction flag, read on the backend's thread.
    let read_only = unsafe { pg_sys::RecoveryInProgress() || pg_sys::XactReadOnly };
    if hits.is_empty() || read_only {
        return;
    }
    let ids: Vec<Uuid> = hits.iter().map(|h| h.id).collect();
    Spi::run_with_args(
        "UPDATE memory.memories m SET access_count = m.access_count + 1, last_accessed_at = now()
         WHERE m.id IN (SELECT id FROM memory.memories WHERE id = ANY($1::uuid[])
                        FOR UPDATE SKIP LOCKED)",
        &[ids.into()],
    )
    .or_raise();
}

/// Arguments `$1..$3` (ids, scores, explanations) that `HITS_SQL` joins on.
fn hit_args(hits: &[Hit], explain: bool) -> Vec<DatumWithOid<'static>> {
    let ids: Vec<Uuid> = hits.iter().map(|h| h.id).collect();
    let scores: Vec<f64> = hits.iter().map(|h| h.score).collect();
    let explains: Vec<Option<JsonB>> = hits
        .iter()
        .map(|h| explain.then(|| JsonB(explain_json(h))))
        .collect();
    vec![ids.into(), scores.into(), explains.into()]
}

/// The hits joined with their rows, in rank order (alias `m`, hit `h`).
const HITS_SQL: &str =
    "unnest($1::uuid[], $2::float8[], $3::jsonb[]) WITH ORDINALITY AS h(id, score, explain, ord)
     JOIN memory.memories m ON m.id = h.id";

/// Search the memories of a scope: `{"results": [...], "relations": []}`,
/// best first; `score` in [0, 1], higher is better.
#[allow(clippy::too_many_arguments)]
#[pg_extern]
fn search(
    query: Option<&str>,
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
    filters: default!(Option<JsonB>, "NULL"),
    top_k: default!(i32, 10),
    threshold: default!(Option<f32>, "NULL"),
    keyword_search: default!(bool, true),
    graph: default!(bool, true),
    explain: default!(bool, false),
    vector_weight: default!(Option<f64>, "NULL"),
    keyword_weight: default!(Option<f64>, "NULL"),
    fusion: default!(Option<&str>, "NULL"),
) -> JsonB {
    let (hits, relations) = run_search(
        query,
        user_id,
        agent_id,
        run_id,
        filters,
        top_k,
        threshold,
        keyword_search,
        graph,
        vector_weight,
        keyword_weight,
        fusion,
    );
    bump_access(&hits);
    let results = query_json(
        &format!(
            "SELECT coalesce(jsonb_agg({MEMORY_JSON} || jsonb_build_object('score', h.score)
                                 || jsonb_strip_nulls(jsonb_build_object('explain', h.explain))
                                 ORDER BY h.ord), '[]'::jsonb)
             FROM {HITS_SQL}"
        ),
        &hit_args(&hits, explain),
    )
    .map(|j| j.0)
    .unwrap_or_else(|| json!([]));
    let mut out = json!({ "results": results });
    if graph {
        out["relations"] = Value::Array(relations);
    }
    JsonB(out)
}

/// `memory.search` as rows, for SQL users.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
#[pg_extern]
fn search_rows(
    query: Option<&str>,
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
    filters: default!(Option<JsonB>, "NULL"),
    top_k: default!(i32, 10),
    threshold: default!(Option<f32>, "NULL"),
    keyword_search: default!(bool, true),
    graph: default!(bool, true),
    explain: default!(bool, false),
    vector_weight: default!(Option<f64>, "NULL"),
    keyword_weight: default!(Option<f64>, "NULL"),
    fusion: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(id, Uuid),
        name!(memory, String),
        name!(score, f32),
        name!(metadata, JsonB),
        name!(categories, Vec<String>),
        name!(created_at, Option<TimestampWithTimeZone>),
        name!(updated_at, Option<TimestampWithTimeZone>),
        name!(user_id, Option<String>),
        name!(agent_id, Option<String>),
        name!(run_id, Option<String>),
        name!(explain, Option<JsonB>),
    ),
> {
    let (hits, _) = run_search(
        query,
        user_id,
        agent_id,
        run_id,
        filters,
        top_k,
        threshold,
        keyword_search,
        graph,
        vector_weight,
        keyword_weight,
        fusion,
    );
    bump_access(&hits);
    let sql = format!(
        "SELECT m.id, m.memory, h.score::real, m.metadata, m.categories, m.created_at, m.updated_at,
                m.user_id, m.agent_id, m.run_id, h.explain
         FROM {HITS_SQL} ORDER BY h.ord"
    );
    let rows: Vec<_> = Spi::connect(|c| {
        let table = c.select(&sql, None, &hit_args(&hits, explain)).or_raise();
        table
            .map(|r| {
                (
                    r.get::<Uuid>(1)
                        .or_raise()
                        .unwrap_or_else(|| Uuid::from_bytes([0; 16])),
                    r.get::<String>(2).or_raise().unwrap_or_default(),
                    r.get::<f32>(3).or_raise().unwrap_or(0.0),
                    r.get::<JsonB>(4).or_raise().unwrap_or(JsonB(json!({}))),
                    r.get::<Vec<String>>(5).or_raise().unwrap_or_default(),
                    r.get::<TimestampWithTimeZone>(6).or_raise(),
                    r.get::<TimestampWithTimeZone>(7).or_raise(),
                    r.get::<String>(8).or_raise(),
                    r.get::<String>(9).or_raise(),
                    r.get::<String>(10).or_raise(),
                    r.get::<JsonB>(11).or_raise(),
                )
            })
            .collect()
    });
    TableIterator::new(rows)
}
