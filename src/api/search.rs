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
use super::{check_top_k, filter_clause, scope_sql, CURRENT, MEMORY_JSON};
use crate::embed;
use crate::error::{raise, OrRaise};
use crate::gucs;
use crate::types::varvec::VectorArg;
use memory_core::decay::{self, Decay};
use memory_core::messages::Scope;
use memory_core::rank::{self, Channels, Corpus, Fusion, Weights};
use memory_core::speaker;
use memory_core::timeq;
use memory_core::vector;
use memory_core::Error;
use pgrx::datum::DatumWithOid;
use pgrx::datum::Interval;
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

/// The tier a channel reads: hot rows keep an f32 embedding (and sit in any
/// `memory_hnsw` index on it), cold rows an f16 copy in `embedding_half`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Hot,
    Cold,
}

impl Tier {
    fn sql(self) -> &'static str {
        match self {
            Tier::Hot => "'hot'",
            Tier::Cold => "'cold'",
        }
    }
}

/// The query's embedding, computed once per search.
struct QueryVector {
    embedder: String,
    values: std::rc::Rc<Vec<f32>>,
}

impl QueryVector {
    /// Start embedding the query and check that the searched set was embedded
    /// by the same embedder (while the embedding is computed).
    fn start(q: &Query, text: &str) -> embed::PendingQuery {
        let pending = embed::start_query(text);
        let name = pending.embedder().to_string();
        // Memories embedded by another embedder cannot be compared with the
        // query (`embed::other_embedder_sql`).
        let other = crate::plans::one::<JsonB>(
            &embed::other_embedder_sql(&q.clause, &format!("{CURRENT} AND"), q.next(1)),
            &q.with(vec![name.clone().into()]),
        );
        if let Some(JsonB(Value::String(o))) = other {
            embed::mixed(&o, &name);
        }
        pending
    }

    fn finish(pending: embed::PendingQuery) -> QueryVector {
        let (embedder, values) = pending.finish();
        QueryVector { embedder, values }
    }

    fn arg(&self) -> DatumWithOid<'static> {
        super::vector_arg(&self.values)
    }
}

/// Vector channel over one tier: (id, cosine similarity), best first. The hot
/// tier is ordered by the f32 column (an index scan when a `memory_hnsw`
/// index covers it), the cold one by an exact scan of the scope's f16 copies.
fn vector_channel(
    q: &Query,
    qv: &QueryVector,
    tier: Tier,
    depth: i64,
    small: Option<&ScopeVectors>,
    context: &mut HashMap<Uuid, f64>,
) -> Vec<(Uuid, f64)> {
    if tier == Tier::Hot && gucs::SEARCH_CONTEXT.get() {
        if let Some(hits) = small.and_then(|all| all.channel(qv, depth, context)) {
            return hits;
        }
        return vector_channel_with_context(q, qv, depth, context);
    }
    let column = match tier {
        Tier::Hot => "m.embedding",
        Tier::Cold => "m.embedding_half",
    };
    let cast = match tier {
        Tier::Hot => "",
        Tier::Cold => "::memory.halfvec",
    };
    let sql = format!(
        "SELECT m.id, 1 - ({column} OPERATOR(memory.<=>) ${v}{cast}) AS sim
         FROM memory.memories m
         WHERE {CURRENT} AND {} AND m.tier = {tier} AND m.embedder = ${n}::text
           AND {column} IS NOT NULL
         ORDER BY {column} OPERATOR(memory.<=>) ${v}{cast}
         LIMIT ${l}",
        q.clause,
        tier = tier.sql(),
        v = q.next(1),
        n = q.next(2),
        l = q.next(3),
    );
    Spi::connect(|c| {
        // Planned per call, not kept: the best plan (an exact scan of a
        // small scope, the index for a large one) depends on the scope.
        let rows = c
            .select(
                &sql,
                None,
                &q.with(vec![qv.arg(), qv.embedder.clone().into(), depth.into()]),
            )
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

/// Vector channel over the hot tier with conversation context: the
/// candidates nearest by their own embedding and those nearest by their
/// context embedding (the message before, joined with this one), each
/// scored by `rank::context_similarity`. `context` receives the context
/// similarities, for `explain`.
fn vector_channel_with_context(
    q: &Query,
    qv: &QueryVector,
    depth: i64,
    context: &mut HashMap<Uuid, f64>,
) -> Vec<(Uuid, f64)> {
    let sql = if super::has_vector_index() {
        vector_context_sql_ordered(q)
    } else {
        // No index to walk: one pass computes both similarities of every
        // hot memory; the two best-by lists are cut from it.
        format!(
            "WITH s AS MATERIALIZED (
                SELECT m.id, m.embedding OPERATOR(memory.<=>) ${v} AS own,
                       m.context_embedding OPERATOR(memory.<=>) ${v} AS ctx
                FROM memory.memories m
                WHERE {CURRENT} AND {clause} AND m.tier = 'hot' AND m.embedder = ${n}::text
                  AND m.embedding IS NOT NULL)
             SELECT id, 1 - own, 1 - ctx FROM (
                (SELECT id, own, ctx FROM s ORDER BY own, id LIMIT ${l})
                UNION
                (SELECT id, own, ctx FROM s WHERE ctx IS NOT NULL ORDER BY ctx, id LIMIT ${l})) u",
            clause = q.clause,
            v = q.next(1),
            n = q.next(2),
            l = q.next(3),
        )
    };
    let finite = |x: Option<f64>| x.filter(|s| s.is_finite());
    let mut out: Vec<(Uuid, f64)> = Spi::connect(|c| {
        // Planned per call, not kept: the best plan (an exact scan of a
        // small scope, the index for a large one) depends on the scope.
        let rows = c
            .select(
                &sql,
                None,
                &q.with(vec![qv.arg(), qv.embedder.clone().into(), depth.into()]),
            )
            .or_raise();
        rows.filter_map(|r| {
            let id = r.get::<Uuid>(1).or_raise()?;
            let own = finite(r.get::<f64>(2).or_raise()).unwrap_or(0.0);
            let ctx = finite(r.get::<f64>(3).or_raise());
            if let Some(c) = ctx {
                context.insert(id, c);
            }
            Some((id, rank::context_similarity(own, ctx)))
        })
        .collect()
    });
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out.truncate(depth as usize);
    out
}

/// `vector_channel_with_context`'s statement when an index may serve it:
/// two sorted reads (by each vector), joined.
fn vector_context_sql_ordered(q: &Query) -> String {
    format!(
        "WITH c AS (
            (SELECT m.id FROM memory.memories m
             WHERE {CURRENT} AND {clause} AND m.tier = 'hot' AND m.embedder = ${n}::text
               AND m.embedding IS NOT NULL
             ORDER BY m.embedding OPERATOR(memory.<=>) ${v} LIMIT ${l})
            UNION
            (SELECT m.id FROM memory.memories m
             WHERE {CURRENT} AND {clause} AND m.tier = 'hot' AND m.embedder = ${n}::text
               AND m.context_embedding IS NOT NULL
             ORDER BY m.context_embedding OPERATOR(memory.<=>) ${v} LIMIT ${l}))
         SELECT m.id, 1 - (m.embedding OPERATOR(memory.<=>) ${v}),
                1 - (m.context_embedding OPERATOR(memory.<=>) ${v})
         FROM c JOIN memory.memories m ON m.id = c.id",
        clause = q.clause,
        v = q.next(1),
        n = q.next(2),
        l = q.next(3),
    )
}

/// Up to this many memories in the searched set, the vector channel with
/// context reads the scope once, both similarities of every hot memory, and
/// picks the candidates here: cheaper than two sorted scans and a join.
const SMALL_VECTOR_SCOPE: f64 = 1000.0;

/// The hot memories of a small searched set with both their vectors, read
/// while the query is being embedded (`SMALL_VECTOR_SCOPE`); or, when its
/// embedding was already known (a cached query, WordLlama), their
/// similarities to it, computed from the rows' vectors where they lie.
enum ScopeVectors {
    Kept(Vec<ScopeVector>),
    Scored(std::rc::Rc<Vec<f32>>, Vec<ScopeSims>),
}

/// A memory's id, embedding and context embedding.
type ScopeVector = (Uuid, Option<Vec<f32>>, Option<Vec<f32>>);

/// A memory's id and the query's similarity to its embedding and to its
/// context embedding (None without one, or of other dimensions).
type ScopeSims = (Uuid, Option<f64>, Option<f64>);

fn similarity(v: &[f32], query: &[f32]) -> Option<f64> {
    Some(v)
        .filter(|v| v.len() == query.len())
        .map(|v| 1.0 - vector::cosine_distance(v, query))
        .filter(|s| s.is_finite())
}

impl ScopeVectors {
    /// None read yet: scored against `query` when it is known, else kept.
    fn empty(query: Option<std::rc::Rc<Vec<f32>>>) -> ScopeVectors {
        match query {
            Some(query) => ScopeVectors::Scored(query, Vec::new()),
            None => ScopeVectors::Kept(Vec::new()),
        }
    }

    /// The row's vectors in columns `e` (embedding) and `e + 1` (context).
    fn push(&mut self, id: Uuid, r: &crate::plans::Row<'_>, e: usize) {
        let embedding = r.get::<VectorArg>(e);
        let context = r.get::<VectorArg>(e + 1);
        match self {
            ScopeVectors::Scored(query, rows) => {
                let sim = |v: Option<VectorArg>| v.and_then(|v| similarity(v.as_slice(), query));
                rows.push((id, sim(embedding), sim(context)));
            }
            ScopeVectors::Kept(rows) => {
                let copy = |v: Option<VectorArg>| v.map(|v| v.as_slice().to_vec());
                rows.push((id, copy(embedding), copy(context)));
            }
        }
    }

    /// `vector_channel_with_context` over these memories: the same candidates
    /// (the `depth` nearest by their own embedding and the `depth` nearest by
    /// their context embedding) and the same scores.
    fn channel(
        &self,
        qv: &QueryVector,
        depth: i64,
        context: &mut HashMap<Uuid, f64>,
    ) -> Option<Vec<(Uuid, f64)>> {
        let computed: Vec<ScopeSims>;
        let rows = match self {
            ScopeVectors::Scored(query, rows) if **query == *qv.values => rows,
            // scored against another vector: the caller reads the channel
            ScopeVectors::Scored(..) => return None,
            ScopeVectors::Kept(kept) => {
                let sim =
                    |v: &Option<Vec<f32>>| v.as_deref().and_then(|v| similarity(v, &qv.values));
                computed = kept
                    .iter()
                    .map(|(id, e, c)| (*id, sim(e), sim(c)))
                    .collect();
                &computed
            }
        };
        Some(
            rank::context_candidates(rows, depth.max(0) as usize)
                .into_iter()
                .map(|(id, score, ctx)| {
                    if let Some(c) = ctx {
                        context.insert(id, c);
                    }
                    (id, score)
                })
                .collect(),
        )
    }
}

/// Documents the keyword channel reads in one statement at most.
const KEYWORD_MATCHES: i64 = 5000;

/// The query's lexemes for the keyword channel (distinct, sorted), their
/// tsquery terms and the disjunction of them; None when it has none.
struct Terms {
    lexemes: Vec<String>,
    quoted: Vec<String>,
    any: String,
}

fn query_terms(text: &str) -> Option<Terms> {
    let config = gucs::text(&gucs::TEXT_SEARCH_CONFIG).unwrap_or_else(|| "english".into());
    let lexemes: Vec<String> = crate::plans::one::<Vec<String>>(
        "SELECT coalesce(array_agg(DISTINCT lexeme ORDER BY lexeme), '{}')
         FROM unnest(to_tsvector($1::regconfig, $2) || memory.cjk_terms($2)::tsvector)",
        &[config.into(), text.to_string().into()],
    )
    .unwrap_or_default();
    if lexemes.is_empty() {
        return None;
    }
    let quoted: Vec<String> = lexemes.iter().map(|t| tsquery_term(t)).collect();
    let any = quoted.join(" | ");
    Some(Terms {
        lexemes,
        quoted,
        any,
    })
}

/// The corpus statistics of the searched set (both tiers, so hot and cold
/// scores are comparable) and whether it holds a cold memory. A searched
/// set that is a scope (no filters) takes them from memory.scope_stats,
/// kept by the write path, plus its memories with an expiry date; a
/// filtered one counts its rows.
fn keyword_stats(q: &Query) -> (Corpus, bool) {
    let sql = match q.filters {
        None if super::scope_stats_kept() => format!(
            "SELECT (k.docs + e.docs)::float8,
                    CASE WHEN k.docs + e.docs > 0
                         THEN (k.len + e.len)::float8 / (k.docs + e.docs) ELSE 0 END,
                    k.cold OR e.cold
             FROM (SELECT coalesce(sum(s.docs), 0) AS docs, coalesce(sum(s.total_len), 0) AS len,
                          coalesce(bool_or(s.tier = 'cold' AND s.docs > 0), false) AS cold
                   FROM memory.scope_stats s WHERE {}) k,
                  (SELECT count(*) AS docs, coalesce(sum(m.fts_len), 0) AS len,
                          coalesce(bool_or(m.tier = 'cold'), false) AS cold
                   FROM memory.memories m
                   WHERE {CURRENT} AND {clause} AND m.expires_at IS NOT NULL) e",
            // The same $n as q.clause, which is this scope's clause alone.
            scope_sql("s", &q.scope, &mut Vec::new()),
            clause = q.clause,
        ),
        _ => format!(
            "SELECT count(*)::float8, coalesce(avg(m.fts_len), 0)::float8,
                    count(*) FILTER (WHERE m.tier = 'cold') > 0
             FROM memory.memories m WHERE {CURRENT} AND {clause}",
            clause = q.clause,
        ),
    };
    Spi::connect(|c| {
        let mut rows = crate::plans::rows(c, &sql, &q.with(vec![]));
        if rows.len() == 0 {
            return (
                Corpus {
                    docs: 0.0,
                    avg_len: 0.0,
                },
                false,
            );
        }
        let r = rows.row(0);
        (
            Corpus {
                docs: r.get::<f64>(1).unwrap_or(0.0),
                avg_len: r.get::<f64>(2).unwrap_or(0.0),
            },
            r.get::<bool>(3).unwrap_or(false),
        )
    })
}

/// A document matching a query term: id, length, whether cold, and the
/// frequency of each of the query's lexemes in it.
type Posting = (Uuid, f64, bool, Vec<f64>);

/// The postings of a searched set too large to read whole
/// (`SMALL_SCOPE`), through the GIN index on the tsvectors.
fn indexed_postings(q: &Query, terms: &Terms) -> Vec<Posting> {
    let sql = format!(
        "SELECT m.id, m.fts_len::float8, m.tier = 'cold', m.fts::text
         FROM memory.memories m
         WHERE {CURRENT} AND {clause} AND m.fts @@ ${any}::tsquery
         LIMIT {KEYWORD_MATCHES}",
        clause = q.clause,
        any = q.next(1),
    );
    Spi::connect(|c| {
        let mut rows = crate::plans::rows(c, &sql, &q.with(vec![terms.any.clone().into()]));
        (0..rows.len())
            .filter_map(|i| {
                let r = rows.row(i);
                Some((
                    r.get::<Uuid>(1)?,
                    r.get::<f64>(2).unwrap_or(0.0),
                    r.get::<bool>(3).unwrap_or(false),
                    memory_core::text::tsvector_tfs(r.get::<&str>(4).unwrap_or(""), &terms.lexemes),
                ))
            })
            .collect()
    })
}

/// Keyword channel of both tiers from the searched set's postings: (id,
/// BM25) best first for the hot and the cold tier. Document frequencies are
/// counted over the postings; only when they reach `KEYWORD_MATCHES` (the
/// index read stopped there) does a statement count them in SQL.
fn keyword_lists(
    q: &Query,
    terms: &Terms,
    (corpus, has_cold): (Corpus, bool),
    docs: Vec<Posting>,
    depth: i64,
) -> KeywordLists {
    let dfs: Vec<f64> = if (docs.len() as i64) < KEYWORD_MATCHES {
        (0..terms.lexemes.len())
            .map(|i| docs.iter().filter(|d| d.3[i] > 0.0).count() as f64)
            .collect()
    } else {
        crate::plans::one::<Vec<f64>>(
            &format!(
                "SELECT array(SELECT (SELECT count(*) FROM memory.memories m
                                      WHERE {CURRENT} AND {} AND m.fts @@ t::tsquery)::float8
                              FROM unnest(${}::text[]) WITH ORDINALITY AS u(t, o) ORDER BY o)",
                q.clause,
                q.next(1)
            ),
            &q.with(vec![terms.quoted.clone().into()]),
        )
        .unwrap_or_default()
    };
    let mut hot: Vec<(Uuid, f64)> = Vec::new();
    let mut cold: Vec<(Uuid, f64)> = Vec::new();
    for (id, len, is_cold, tfs) in docs {
        let score = rank::bm25(corpus, &dfs, len, &tfs);
        if is_cold {
            cold.push((id, score));
        } else {
            hot.push((id, score));
        }
    }
    for list in [&mut hot, &mut cold] {
        list.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        list.truncate(depth as usize);
    }
    KeywordLists {
        hot,
        cold,
        has_cold,
    }
}

/// What `keyword_lists` found.
struct KeywordLists {
    hot: Vec<(Uuid, f64)>,
    cold: Vec<(Uuid, f64)>,
    /// Whether the searched set holds a cold memory (true when unknown).
    has_cold: bool,
}

impl KeywordLists {
    fn unknown() -> KeywordLists {
        KeywordLists {
            hot: Vec::new(),
            cold: Vec::new(),
            has_cold: true,
        }
    }
}

struct Hit {
    id: Uuid,
    score: f64,
    channels: Channels,
    boosts: Boosts,
    decay: Option<decay::Parts>,
    tier: Option<String>,
}

/// What conversation context, time and neighbours added to a hit.
#[derive(Default, Clone, Copy)]
struct Boosts {
    /// Similarity of the context embedding to the query.
    context_similarity: Option<f64>,
    /// BM25 gained from the message before.
    context_keyword: f64,
    /// Gained for lying in a span the query names.
    time: f64,
    /// Gained for being said by someone the query names.
    speaker: f64,
    /// Gained from the best conversation neighbour.
    neighbors: f64,
}

/// Channel lists of one search, best first in each.
#[derive(Default)]
struct Lists {
    vector: Vec<(Uuid, f64)>,
    keyword: Vec<(Uuid, f64)>,
    graph: Vec<(Uuid, f64)>,
    /// Context similarities of vector candidates that have one.
    context: HashMap<Uuid, f64>,
}

/// One memory's place in its conversation, its day and its speaker.
#[derive(Clone)]
struct Link {
    context_id: Option<Uuid>,
    /// Days since 1970-01-01 of valid_from, in the session's time zone.
    day: i64,
    /// Its actor_id, else the label of a transcript line (`speaker::label`).
    speaker: Option<String>,
    /// Its role, which tells who said it when `speaker` does not.
    role: Option<String>,
}

impl Link {
    /// Whether this memory replies to `before` (`speaker::replies`).
    fn replies_to(&self, before: &Link) -> bool {
        let said_by = |l: &Link| speaker::turn(l.role.as_deref(), l.speaker.as_deref(), "");
        speaker::replies(&said_by(before), &said_by(self))
    }
}

/// How conversation context, neighbours and time take part in one search.
struct Extras {
    context: bool,
    neighbors: f64,
    spans: Vec<timeq::Span>,
    /// Links of the whole searched set, when it is small.
    scope_links: Option<HashMap<Uuid, Link>>,
    /// The query's words, when speaker matching is on and one may name a speaker.
    speaker: Option<speaker::Query>,
}

impl Extras {
    fn links_needed(&self) -> bool {
        self.context || self.neighbors > 0.0 || !self.spans.is_empty() || self.speaker.is_some()
    }
}

/// The candidates, the memories said right before and after them (and,
/// with `two`, those two turns away), with their links, restricted to the
/// searched set (scope, filters, current rows): one statement, each step an
/// index lookup by id or by context_id.
fn links(q: &Query, ids: &[Uuid], two: bool, extras: &Extras) -> HashMap<Uuid, Link> {
    if let Some(all) = &extras.scope_links {
        return links_in_small_scope(all, ids, two);
    }
    let sql = format!(
        "WITH h1 AS (
            SELECT m.id FROM memory.memories m
            WHERE {CURRENT} AND {clause} AND m.id IN (
                SELECT c.id FROM memory.memories c WHERE c.context_id = ANY(${x}::uuid[])
                UNION ALL
                SELECT c.context_id FROM memory.memories c WHERE c.id = ANY(${x}::uuid[]))),
         h2 AS (
            SELECT c.id FROM memory.memories c WHERE ${two}::bool AND c.context_id IN (SELECT id FROM h1)
            UNION ALL
            SELECT c.context_id FROM memory.memories c WHERE ${two}::bool AND c.id IN (SELECT id FROM h1))
         SELECT {LINK_COLUMNS}
         FROM memory.memories m
         WHERE {CURRENT} AND {clause}
           AND m.id IN (SELECT unnest(${x}::uuid[]) UNION SELECT id FROM h1 UNION SELECT id FROM h2)",
        clause = q.clause,
        x = q.next(1),
        two = q.next(2),
    );
    read_links(&sql, &q.with(vec![ids.to_vec().into(), two.into()]))
}

/// Rows (id, context_id, day, actor_id, start of the text, role) of a links
/// statement, by id.
fn read_links(sql: &str, args: &[DatumWithOid<'static>]) -> HashMap<Uuid, Link> {
    Spi::connect(|c| {
        let mut rows = crate::plans::rows(c, sql, args);
        (0..rows.len())
            .filter_map(|i| {
                let r = rows.row(i);
                Some((r.get::<Uuid>(1)?, link_of(&r)))
            })
            .collect()
    })
}

/// The link in columns 2..6 of a links row.
fn link_of(r: &crate::plans::Row<'_>) -> Link {
    let actor = r.get::<&str>(4);
    let text = r.get::<&str>(5).unwrap_or("");
    Link {
        context_id: r.get::<Uuid>(2),
        day: r.get::<i64>(3).unwrap_or(0),
        speaker: actor.or_else(|| speaker::label(text)).map(str::to_string),
        role: r.get::<String>(6),
    }
}

/// The columns of a links row, for the memories `m`.
const LINK_COLUMNS: &str = "m.id, m.context_id, (m.valid_from::date - date '1970-01-01')::int8,
                m.actor_id, left(m.memory, 64), m.role";

/// Up to this many memories, a search reads the whole searched set in one
/// pass (`scan_scope`): its keyword postings by testing each row rather
/// than through the GIN index, and its links rather than looking the
/// candidates' up one by one.
const SMALL_SCOPE: f64 = 3000.0;

/// What one pass over a small searched set (`SMALL_SCOPE`) read.
#[derive(Default)]
struct ScopeScan {
    /// The links of every memory in the set.
    links: Option<HashMap<Uuid, Link>>,
    /// Its hot memories' vectors (or their similarities to the query).
    vectors: Option<ScopeVectors>,
    /// The keyword channel's postings: the memories matching a term.
    postings: Option<Vec<Posting>>,
}

/// Read a small searched set once for whichever of its links, its vectors
/// (`vectors`: the query's embedder, and its embedding when already known)
/// and its keyword postings (`terms`) the search needs. Postings come from
/// testing each row (`IS TRUE` keeps the GIN index out): the index's
/// posting lists span every tenant, so a common term would cost a small
/// scope as much as a large one.
fn scan_scope(
    q: &Query,
    links: bool,
    vectors: Option<(&str, Option<std::rc::Rc<Vec<f32>>>)>,
    terms: Option<&Terms>,
) -> ScopeScan {
    let mut extra: Vec<DatumWithOid<'static>> = Vec::new();
    let link_columns = if links {
        LINK_COLUMNS.to_string()
    } else {
        "m.id, NULL::uuid, NULL::int8, NULL::text, NULL::text, NULL::text".to_string()
    };
    let (vector_columns, lateral) = match &vectors {
        Some((embedder, _)) => {
            extra.push(embedder.to_string().into());
            (
                "v.hot, CASE WHEN v.hot THEN m.embedding END,
                 CASE WHEN v.hot THEN m.context_embedding END"
                    .to_string(),
                format!(
                    ", LATERAL (SELECT m.tier = 'hot' AND m.embedder = ${}::text
                                       AND m.embedding IS NOT NULL AS hot) v",
                    q.next(extra.len())
                ),
            )
        }
        None => (
            "false, NULL::memory.vector, NULL::memory.vector".to_string(),
            String::new(),
        ),
    };
    let match_column = match terms {
        Some(t) => {
            extra.push(t.any.clone().into());
            format!(
                "CASE WHEN (m.fts @@ ${}::tsquery) IS TRUE THEN m.fts::text END",
                q.next(extra.len())
            )
        }
        None => "NULL::text".to_string(),
    };
    let sql = format!(
        "SELECT {link_columns}, {vector_columns}, m.fts_len::float8, m.tier = 'cold', {match_column}
         FROM memory.memories m{lateral}
         WHERE {CURRENT} AND {clause}",
        clause = q.clause,
    );
    let mut out = ScopeScan {
        links: links.then(HashMap::new),
        vectors: None,
        postings: terms.map(|_| Vec::new()),
    };
    let mut read_vectors = vectors.map(|(_, ready)| ScopeVectors::empty(ready));
    Spi::connect(|c| {
        let mut rows = crate::plans::rows(c, &sql, &q.with(extra));
        for i in 0..rows.len() {
            let r = rows.row(i);
            let Some(id) = r.get::<Uuid>(1) else {
                continue;
            };
            if let Some(links) = out.links.as_mut() {
                links.insert(id, link_of(&r));
            }
            if let Some(read) = read_vectors.as_mut() {
                if r.get::<bool>(7) == Some(true) {
                    read.push(id, &r, 8);
                }
            }
            if let (Some(postings), Some(t)) = (out.postings.as_mut(), terms) {
                if let Some(fts) = r.get::<&str>(12) {
                    postings.push((
                        id,
                        r.get::<f64>(10).unwrap_or(0.0),
                        r.get::<bool>(11).unwrap_or(false),
                        memory_core::text::tsvector_tfs(fts, &t.lexemes),
                    ));
                }
            }
        }
    });
    out.vectors = read_vectors;
    out
}

/// `links` from the searched set's links (read by `scan_scope`), the steps taken here.
fn links_in_small_scope(all: &HashMap<Uuid, Link>, ids: &[Uuid], two: bool) -> HashMap<Uuid, Link> {
    let mut next: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (id, link) in all {
        if let Some(p) = link.context_id.filter(|p| all.contains_key(p)) {
            next.entry(p).or_default().push(*id);
        }
    }
    let step = |from: &[Uuid]| -> Vec<Uuid> {
        from.iter()
            .flat_map(|id| {
                let before = all
                    .get(id)
                    .and_then(|l| l.context_id)
                    .filter(|p| all.contains_key(p));
                next.get(id).into_iter().flatten().copied().chain(before)
            })
            .collect()
    };
    let h1 = step(ids);
    let h2 = if two { step(&h1) } else { Vec::new() };
    ids.iter()
        .chain(&h1)
        .chain(&h2)
        .filter_map(|id| all.get(id).map(|l| (*id, l.clone())))
        .collect()
}

/// Spans of the query's date expressions, when time matching is on.
fn query_spans(text: &str) -> Vec<timeq::Span> {
    if !gucs::SEARCH_TIME.get() {
        return Vec::new();
    }
    let today = crate::plans::one::<i64>("SELECT (current_date - date '1970-01-01')::int8", &[])
        .unwrap_or(0);
    timeq::spans(text, timeq::Date::from_days(today))
}

impl Lists {
    /// Add the cold tier's candidates to the hot ones, each channel re-sorted.
    fn merge(&mut self, cold: Lists) {
        for (mine, theirs) in [
            (&mut self.vector, cold.vector),
            (&mut self.keyword, cold.keyword),
        ] {
            mine.extend(theirs);
            mine.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        self.context.extend(cold.context);
    }
}

/// What a candidate's decay is computed from: (age in seconds, uses, tier).
fn freshness(ids: &[Uuid]) -> HashMap<Uuid, (f64, i64, String)> {
    Spi::connect(|c| {
        let rows = crate::plans::select(
            c,
            "SELECT m.id,
                        extract(epoch FROM statement_timestamp()
                                - greatest(m.valid_from, m.updated_at, m.last_accessed_at))::float8,
                        m.access_count::int8, m.tier
                 FROM memory.memories m WHERE m.id = ANY($1::uuid[])",
            &[ids.to_vec().into()],
        );
        rows.filter_map(|r| {
            let id = r.get::<Uuid>(1).or_raise()?;
            Some((
                id,
                (
                    r.get::<f64>(2).or_raise().unwrap_or(0.0),
                    r.get::<i64>(3).or_raise().unwrap_or(0),
                    r.get::<String>(4).or_raise().unwrap_or_default(),
                ),
            ))
        })
        .collect()
    })
}

/// Fuse the channels, add the time and neighbour boosts, apply the decay
/// and the threshold; best first, all of them (the caller cuts to top_k).
/// `fresh` caches what the decay and `explain` read per candidate across
/// the hot and cold rankings.
#[allow(clippy::too_many_arguments)]
fn rank_lists(
    q: &Query,
    lists: &Lists,
    w: Weights,
    how: Fusion,
    extras: &Extras,
    decay: Option<Decay>,
    explain: bool,
    threshold: Option<f32>,
    fresh: &mut HashMap<Uuid, (f64, i64, String)>,
) -> Vec<Hit> {
    let mut ids: Vec<Uuid> = lists
        .vector
        .iter()
        .chain(&lists.keyword)
        .chain(&lists.graph)
        .map(|(id, _)| *id)
        .collect();
    ids.sort();
    ids.dedup();
    let linked = if extras.links_needed() && !ids.is_empty() {
        links(q, &ids, extras.neighbors > 0.0, extras)
    } else {
        HashMap::new()
    };
    // Keyword context: a reply gains a share of the BM25 of the message it
    // answers (which may bring in a memory without a term of its own).
    let mut context_keyword: HashMap<Uuid, f64> = HashMap::new();
    let keyword: Vec<(Uuid, f64)> = if extras.context && !lists.keyword.is_empty() {
        let bm25: HashMap<Uuid, f64> = lists.keyword.iter().copied().collect();
        let mut scored = bm25.clone();
        for (id, link) in &linked {
            // Only where the message before scored (few), is it asked
            // whether this one replies to it.
            let answered = link
                .context_id
                .filter(|p| bm25.contains_key(p))
                .filter(|p| linked.get(p).is_some_and(|b| link.replies_to(b)));
            if let Some(before) = answered.and_then(|p| bm25.get(&p)) {
                let gain = rank::CONTEXT_KEYWORD_SHARE * before;
                *scored.entry(*id).or_insert(0.0) += gain;
                context_keyword.insert(*id, gain);
            }
        }
        let mut v: Vec<(Uuid, f64)> = scored.into_iter().collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    } else {
        lists.keyword.clone()
    };
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    let mut cands: Vec<(Uuid, Channels)> = Vec::new();
    for (k, list) in [&lists.vector, &keyword, &lists.graph]
        .into_iter()
        .enumerate()
    {
        for (rank_pos, (id, s)) in list.iter().enumerate() {
            let i = *index.entry(*id).or_insert_with(|| {
                cands.push((*id, Channels::default()));
                cands.len() - 1
            });
            let slot = Some((*s, rank_pos + 1));
            match k {
                0 => cands[i].1.vector = slot,
                1 => cands[i].1.keyword = slot,
                _ => cands[i].1.graph = slot,
            }
        }
    }
    // Conversation neighbours of the candidates join them (no channel
    // score of their own, but a neighbour's lift).
    if extras.neighbors > 0.0 {
        let mut extra: Vec<&Uuid> = linked.keys().filter(|id| !index.contains_key(id)).collect();
        extra.sort();
        for id in extra {
            index.insert(*id, cands.len());
            cands.push((*id, Channels::default()));
        }
    }
    let chans: Vec<Channels> = cands.iter().map(|(_, c)| c.clone()).collect();
    let mut fused = rank::fuse(&chans, w, how);
    let mut boosts: Vec<Boosts> = cands
        .iter()
        .map(|(id, _)| Boosts {
            context_similarity: lists.context.get(id).copied(),
            context_keyword: context_keyword.get(id).copied().unwrap_or(0.0),
            ..Boosts::default()
        })
        .collect();
    if !extras.spans.is_empty() {
        for (i, (id, _)) in cands.iter().enumerate() {
            let Some(day) = linked.get(id).map(|l| l.day) else {
                continue;
            };
            let weight = extras
                .spans
                .iter()
                .filter(|s| s.from.days() <= day && day < s.to.days())
                .map(|s| s.weight())
                .fold(0.0, f64::max);
            boosts[i].time = rank::TIME_BOOST * how.unit_scale() * weight;
            fused[i] += boosts[i].time;
        }
    }
    if extras.neighbors > 0.0 {
        let mut near: Vec<Vec<usize>> = vec![Vec::new(); cands.len()];
        for (id, link) in &linked {
            if let (Some(&i), Some(&j)) = (
                index.get(id),
                link.context_id.as_ref().and_then(|p| index.get(p)),
            ) {
                near[i].push(j);
                near[j].push(i);
            }
        }
        let far = rank::two_away(&near);
        let lift = rank::neighbour_lift(&fused, &near, &far, extras.neighbors * how.unit_scale());
        for (i, l) in lift.into_iter().enumerate() {
            boosts[i].neighbors = l;
            fused[i] += l;
        }
    }
    // The speaker lift comes last: it belongs to the memory alone and is
    // not lent to the turns around it (the other side of the dialogue).
    if let Some(sq) = &extras.speaker {
        for (i, (id, _)) in cands.iter().enumerate() {
            let named = linked
                .get(id)
                .and_then(|l| l.speaker.as_deref())
                .is_some_and(|who| sq.names(who));
            if named {
                boosts[i].speaker = rank::SPEAKER_BOOST * how.unit_scale();
                fused[i] += boosts[i].speaker;
            }
        }
    }
    if decay.is_some() || explain {
        // Only candidates not read by an earlier ranking of this search.
        let ids: Vec<Uuid> = cands
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !fresh.contains_key(id))
            .collect();
        if !ids.is_empty() {
            fresh.extend(freshness(&ids));
        }
    }
    let mut hits: Vec<Hit> = cands
        .into_iter()
        .zip(fused)
        .zip(boosts)
        .map(|(((id, channels), f), boosts)| {
            let relevance = how.unit(f);
            let fr = fresh.get(&id);
            let parts = decay.map(|d| {
                let (age, uses) = fr.map_or((0.0, 0), |f| (f.0, f.1));
                d.apply(relevance, age, uses)
            });
            Hit {
                id,
                score: parts.map_or(relevance, |p| p.score),
                channels,
                boosts,
                decay: parts,
                tier: fr.map(|f| f.2.clone()),
            }
        })
        .filter(|h| threshold.is_none_or(|t| h.score >= t as f64))
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    hits
}

/// The decay of one search: the per-call half-life, else the GUC; none when
/// neither is set.
fn decay_settings(half_life: Option<Interval>) -> Option<Decay> {
    let seconds = gucs::interval_seconds(half_life, &gucs::DECAY_HALF_LIFE)?;
    let floor = gucs::DECAY_FLOOR.get();
    Some(Decay::new(seconds, floor).unwrap_or_else(|| {
        raise(
            Error::invalid_parameter(format!(
                "decay half-life must be a positive interval, not {seconds} seconds"
            ))
            .hint("Use an interval such as '30 days', or leave memory.decay_half_life empty to turn decay off."),
        )
    }))
}

/// Options of one search beyond the query and the scope.
struct Options<'a> {
    top_k: i32,
    threshold: Option<f32>,
    keyword_search: bool,
    graph: bool,
    explain: bool,
    vector_weight: Option<f64>,
    keyword_weight: Option<f64>,
    fusion: Option<&'a str>,
    include_cold: bool,
    decay_half_life: Option<Interval>,
}

fn run_search(
    query: Option<&str>,
    user_id: Option<&str>,
    agent_id: Option<&str>,
    run_id: Option<&str>,
    filters: Option<JsonB>,
    o: Options,
) -> (Vec<Hit>, Vec<Value>) {
    let text = match query {
        Some(t) if !t.trim().is_empty() => t,
        _ => raise(
            Error::invalid_parameter("query must not be empty")
                .hint("Pass the question to search for."),
        ),
    };
    check_top_k(o.top_k);
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
        vector: weight(o.vector_weight, gucs::VECTOR_WEIGHT.get(), "vector_weight"),
        keyword: weight(
            o.keyword_weight,
            gucs::KEYWORD_WEIGHT.get(),
            "keyword_weight",
        ),
        graph: if o.graph {
            gucs::GRAPH_WEIGHT.get()
        } else {
            0.0
        },
    };
    if !o.keyword_search {
        w.keyword = 0.0;
    }
    let how_name = o
        .fusion
        .map(str::to_string)
        .or_else(|| gucs::text(&gucs::FUSION))
        .unwrap_or_else(|| "score".into());
    let how = Fusion::parse(&how_name).unwrap_or_else(|| {
        raise(
            Error::invalid_parameter(format!("unknown fusion \"{how_name}\""))
                .hint("Use score, max or rrf."),
        )
    });
    if w.vector + w.keyword <= 0.0 {
        raise(
            Error::invalid_parameter("every search channel has weight 0")
                .hint("Give vector_weight or keyword_weight a positive weight."),
        );
    }
    let decay = decay_settings(o.decay_half_life);
    let depth = channel_depth(o.top_k);
    let mut extras = Extras {
        context: gucs::SEARCH_CONTEXT.get(),
        neighbors: gucs::SEARCH_NEIGHBORS.get(),
        spans: query_spans(text),
        scope_links: None,
        speaker: gucs::SEARCH_SPEAKER
            .get()
            .then(|| speaker::Query::new(text))
            .filter(speaker::Query::may_name),
    };
    // The query embedding (MiniLM's on a helper thread) is computed while
    // the keyword and graph channels run.
    let pending = (w.vector > 0.0).then(|| QueryVector::start(&q, text));
    // The keyword channel's terms and the searched set's statistics (which
    // also tell whether it has a cold tier at all; unknown without them).
    let terms = if w.keyword > 0.0 {
        query_terms(text)
    } else {
        None
    };
    let stats = terms.as_ref().map(|_| keyword_stats(&q));
    let docs = stats.map(|(c, _)| c.docs);
    let (graph_hits, relations) = if o.graph {
        graph_channel(&q, text, depth)
    } else {
        (Vec::new(), Vec::new())
    };
    // A small searched set is read once, while the query is still being
    // embedded: its keyword postings, and its links and vectors when the
    // search uses them.
    let small_vectors = pending
        .as_ref()
        .filter(|_| extras.context && docs.is_some_and(|n| n <= SMALL_VECTOR_SCOPE));
    let small_links = extras.links_needed() && docs.is_some_and(|n| n <= SMALL_SCOPE);
    let small_postings = docs.is_some_and(|n| n <= SMALL_SCOPE);
    let mut scan = if small_postings {
        scan_scope(
            &q,
            small_links,
            small_vectors.map(|p| (p.embedder(), p.ready())),
            terms.as_ref(),
        )
    } else {
        ScopeScan::default()
    };
    extras.scope_links = scan.links.take();
    let small = scan.vectors.take();
    let kw = match (&terms, stats) {
        (Some(t), Some(stats)) => {
            let postings = scan
                .postings
                .take()
                .unwrap_or_else(|| indexed_postings(&q, t));
            keyword_lists(&q, t, stats, postings, depth)
        }
        _ => KeywordLists::unknown(),
    };
    let qv = pending.map(QueryVector::finish);
    let has_cold = kw.has_cold;
    let mut keyword_of = [Some(kw.hot), Some(kw.cold)];
    let mut tier_lists = |tier: Tier| {
        let mut context = HashMap::new();
        Lists {
            vector: qv
                .as_ref()
                .map(|v| vector_channel(&q, v, tier, depth, small.as_ref(), &mut context))
                .unwrap_or_default(),
            keyword: keyword_of[(tier == Tier::Cold) as usize]
                .take()
                .unwrap_or_default(),
            graph: Vec::new(),
            context,
        }
    };
    // The hot tier first; the cold one only when asked or when the hot one
    // cannot fill top_k above the threshold.
    let mut lists = tier_lists(Tier::Hot);
    lists.graph = graph_hits;
    let mut fresh = HashMap::new();
    let rank = |lists: &Lists, fresh: &mut HashMap<Uuid, (f64, i64, String)>| {
        rank_lists(
            &q,
            lists,
            w,
            how,
            &extras,
            decay,
            o.explain,
            o.threshold,
            fresh,
        )
    };
    let mut hits = rank(&lists, &mut fresh);
    // A hot hit counts as an answer when it shares a term with the query, is
    // linked by the graph, or is similar enough to it; fused scores alone
    // cannot tell, since they are normalised to the best candidate present.
    let min_similarity = gucs::COLD_SEARCH_SIMILARITY.get();
    let answers = hits
        .iter()
        .filter(|h| {
            h.channels.keyword.is_some()
                || h.channels.graph.is_some()
                || h.channels.vector.is_some_and(|(s, _)| s >= min_similarity)
        })
        .count();
    if has_cold && (o.include_cold || answers < o.top_k as usize) {
        let cold = tier_lists(Tier::Cold);
        if !cold.vector.is_empty() || !cold.keyword.is_empty() {
            lists.merge(cold);
            hits = rank(&lists, &mut fresh);
        }
    }
    hits.truncate(o.top_k as usize);
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
        let rows = crate::plans::select(c, &sql, &args);
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
    let b = &h.boosts;
    let mut out = json!({"vector": part(h.channels.vector), "keyword": part(h.channels.keyword),
           "graph": part(h.channels.graph), "tier": h.tier,
           "context": {"vector": b.context_similarity, "keyword": b.context_keyword},
           "time": b.time, "speaker": b.speaker, "neighbors": b.neighbors});
    if let Some(d) = h.decay {
        out["decay"] = json!({"relevance": d.relevance, "age_days": d.age_days,
                              "access_count": d.access_count, "recency": d.recency,
                              "factor": d.factor});
    }
    out
}

/// Bump the access statistics of the hits and promote cold ones back to the
/// hot tier (their f16 copy becomes the f32 embedding again), skipping rows a
/// writer holds (readers never wait for writers) and doing nothing on a
/// standby or in a read-only transaction. A hot memory bumped less than
/// `memory.access_interval` ago is left alone: each bump writes a new version
/// of the whole row (too wide to stay on its page), with new entries in
/// every index, which the scans of later searches then wade through.
fn bump_access(hits: &[Hit]) {
    // SAFETY: RecoveryInProgress reads shared state; XactReadOnly is the
    // backend's own transaction flag, read on the backend's thread.
    let read_only = unsafe { pg_sys::RecoveryInProgress() || pg_sys::XactReadOnly };
    if hits.is_empty() || read_only || !may_update_memories() {
        return;
    }
    let ids: Vec<Uuid> = hits.iter().map(|h| h.id).collect();
    crate::plans::run(
        "UPDATE memory.memories m
            SET access_count = m.access_count + 1, last_accessed_at = now(), tier = 'hot',
                embedding = CASE WHEN m.tier = 'cold' THEN m.embedding_half::memory.vector
                                 ELSE m.embedding END,
                embedding_half = NULL
         WHERE m.id IN (SELECT id FROM memory.memories
                        WHERE id = ANY($1::uuid[])
                          AND (tier = 'cold' OR last_accessed_at IS NULL
                               OR last_accessed_at <= now() - make_interval(secs => $2))
                        FOR UPDATE SKIP LOCKED)",
        &[ids.into(), f64::from(gucs::ACCESS_INTERVAL_S.get()).into()],
    );
}

/// Whether the current role may update memory.memories: a role that may
/// only read searches without counting its hits' uses.
fn may_update_memories() -> bool {
    // SAFETY: catalog cache lookups by NUL-terminated names and an ACL check
    // of the current user; a missing schema or table gives InvalidOid,
    // which is reported as no privilege.
    unsafe {
        let nsp = pg_sys::get_namespace_oid(c"memory".as_ptr(), true);
        let rel = pg_sys::get_relname_relid(c"memories".as_ptr(), nsp);
        rel != pg_sys::InvalidOid
            && pg_sys::pg_class_aclcheck(
                rel,
                pg_sys::GetUserId(),
                pg_sys::ACL_UPDATE as pg_sys::AclMode,
            ) == pg_sys::AclResult::ACLCHECK_OK
    }
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
    include_cold: default!(bool, false),
    decay_half_life: default!(Option<Interval>, "NULL"),
) -> JsonB {
    let (hits, relations) = run_search(
        query,
        user_id,
        agent_id,
        run_id,
        filters,
        Options {
            top_k,
            threshold,
            keyword_search,
            graph,
            explain,
            vector_weight,
            keyword_weight,
            fusion,
            include_cold,
            decay_half_life,
        },
    );
    bump_access(&hits);
    let results = crate::plans::one::<JsonB>(
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
    include_cold: default!(bool, false),
    decay_half_life: default!(Option<Interval>, "NULL"),
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
        Options {
            top_k,
            threshold,
            keyword_search,
            graph,
            explain,
            vector_weight,
            keyword_weight,
            fusion,
            include_cold,
            decay_half_life,
        },
    );
    bump_access(&hits);
    let sql = format!(
        "SELECT m.id, m.memory, h.score::real, m.metadata, m.categories, m.created_at, m.updated_at,
                m.user_id, m.agent_id, m.run_id, h.explain
         FROM {HITS_SQL} ORDER BY h.ord"
    );
    let rows: Vec<_> = Spi::connect(|c| {
        let table = crate::plans::select(c, &sql, &hit_args(&hits, explain));
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
