//! Memory lifecycle (issue #9): expiry, hot/cold tiering and statistics.
//!
//! - Expired memories (`expires_at` passed) are invisible at once (every read
//!   filters them) and purged in batches: the row goes, history keeps a
//!   'DELETE' row with reason 'expired', the graph edges drawn from it end.
//! - Tiering: a memory neither written nor returned by a search for
//!   `memory.cold_after` (and any superseded memory) moves to the cold tier:
//!   its f32 embedding is replaced by an f16 copy in `embedding_half`, so it
//!   leaves every `memory_hnsw` index on `embedding` and takes half the
//!   space. Searches reach it by an exact scan of the scope's cold rows; a
//!   search that returns it promotes it back (see api::search).
//! - Each batch locks its rows with SKIP LOCKED, so maintenance never waits
//!   for an add or a search and they never wait long for it;
//!   `CALL memory.maintain()` commits after every batch.

use crate::error::{raise, OrRaise};
use crate::gucs;
use memory_core::messages::Scope;
use memory_core::Error;
use pgrx::datum::Interval;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};

fn batch_size(batch: Option<i32>) -> i64 {
    let b = batch.unwrap_or_else(|| gucs::MAINTENANCE_BATCH.get());
    if b < 1 {
        raise(
            Error::invalid_parameter(format!("batch must be at least 1, not {b}"))
                .hint("Pass a positive batch size, or leave it NULL for memory.maintenance_batch."),
        );
    }
    b as i64
}

/// The idle time after which memories go cold, in seconds: the argument,
/// else `memory.cold_after`; None when tiering is off (GUC empty).
fn cold_after_seconds(cold_after: Option<Interval>) -> Option<f64> {
    let s = gucs::interval_seconds(cold_after, &gucs::COLD_AFTER)?;
    if !(s.is_finite() && s > 0.0) {
        raise(
            Error::invalid_parameter(format!(
                "cold_after must be a positive interval, not {s} seconds"
            ))
            .hint(
                "Use an interval such as '30 days'; an empty memory.cold_after turns tiering off.",
            ),
        );
    }
    Some(s)
}

/// Delete up to `batch` expired memories (all scopes visible to the caller);
/// returns how many. History keeps a 'DELETE' row (reason 'expired') and the
/// graph edges drawn from them end.
#[pg_extern]
fn purge_expired(batch: default!(Option<i32>, "NULL")) -> i64 {
    let n = batch_size(batch);
    Spi::get_one_with_args::<i64>(
        "WITH victims AS (
            SELECT m.id FROM memory.memories m
            WHERE m.expires_at <= statement_timestamp()
            ORDER BY m.expires_at
            LIMIT $1
            FOR UPDATE SKIP LOCKED
         ), del AS (
            DELETE FROM memory.memories m USING victims v WHERE m.id = v.id RETURNING m.*
         ), hist AS (
            INSERT INTO memory.history
                (memory_id, old_memory, event, actor_id, role, user_id, agent_id, run_id,
                 created_at, updated_at, is_deleted, reason)
            SELECT id, memory, 'DELETE', actor_id, role, user_id, agent_id, run_id,
                   updated_at, clock_timestamp(), true, 'expired'
            FROM del
         ), edges AS (
            UPDATE memory.relations r SET valid_to = greatest(r.valid_from, clock_timestamp())
              FROM del WHERE r.memory_id = del.id AND r.valid_to IS NULL
         )
         SELECT count(*) FROM del",
        &[n.into()],
    )
    .or_raise()
    .unwrap_or(0)
}

/// Ids of the hot memories due for the cold tier: superseded ones, and
/// current ones neither written nor returned for `cold_after`. One scan, so
/// that `memory.maintain` can then move them in short batches.
#[pg_extern]
fn cold_candidates(cold_after: default!(Option<Interval>, "NULL")) -> Vec<Uuid> {
    let Some(seconds) = cold_after_seconds(cold_after) else {
        return Vec::new();
    };
    Spi::get_one_with_args::<Vec<Uuid>>(
        "SELECT coalesce(array_agg(m.id), '{}') FROM memory.memories m
         WHERE m.tier = 'hot'
           AND (m.valid_to IS NOT NULL
                OR greatest(m.updated_at, m.last_accessed_at)
                   < statement_timestamp() - make_interval(secs => $1))",
        &[seconds.into()],
    )
    .or_raise()
    .unwrap_or_default()
}

/// Move the given memories to the cold tier when they are still due (rows
/// used meanwhile, or locked by a writer, stay hot); returns how many moved.
#[pg_extern]
fn move_to_cold(ids: Vec<Uuid>, cold_after: default!(Option<Interval>, "NULL")) -> i64 {
    let Some(seconds) = cold_after_seconds(cold_after) else {
        return 0;
    };
    Spi::get_one_with_args::<i64>(
        "WITH due AS (
            SELECT m.id FROM memory.memories m
            WHERE m.id = ANY($1::uuid[]) AND m.tier = 'hot'
              AND (m.valid_to IS NOT NULL
                   OR greatest(m.updated_at, m.last_accessed_at)
                      < statement_timestamp() - make_interval(secs => $2))
            FOR UPDATE SKIP LOCKED
         ), moved AS (
            UPDATE memory.memories m
               SET tier = 'cold', embedding_half = m.embedding::memory.halfvec, embedding = NULL,
                   context_embedding = NULL
              FROM due WHERE m.id = due.id
            RETURNING 1
         )
         SELECT count(*) FROM moved",
        &[ids.into(), seconds.into()],
    )
    .or_raise()
    .unwrap_or(0)
}

/// Move memories back to the hot tier (their f16 copy becomes the embedding);
/// returns how many moved. For a scope about to be searched heavily.
#[pg_extern]
fn promote(
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
) -> i64 {
    let scope = Scope::new(user_id, agent_id, run_id, true).or_raise();
    let mut args = Vec::new();
    let clause = super::scope_sql("m", &scope, &mut args);
    Spi::get_one_with_args::<i64>(
        &format!(
            "WITH moved AS (
                UPDATE memory.memories m
                   SET tier = 'hot', embedding = m.embedding_half::memory.vector,
                       embedding_half = NULL
                 WHERE {clause} AND m.tier = 'cold'
                RETURNING 1)
             SELECT count(*) FROM moved"
        ),
        &args,
    )
    .or_raise()
    .unwrap_or(0)
}

/// Counts and sizes per tier, for a scope or (no scope) every memory the
/// caller can see: `{"hot": {...}, "cold": {...}, "expired": n,
/// "superseded": n, "indexes": {...}}`. Sizes are the rows' on-disk bytes
/// (`pg_column_size`), embeddings counted separately; index sizes are those
/// of the whole table.
#[pg_extern]
fn stats(
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
) -> JsonB {
    let scope = Scope::new(user_id, agent_id, run_id, false).or_raise();
    let mut args = Vec::new();
    let clause = super::scope_sql("m", &scope, &mut args);
    let sql = format!(
        "WITH rows AS (
            SELECT m.tier, m.valid_to IS NOT NULL AS superseded,
                   m.expires_at <= statement_timestamp() AS expired,
                   pg_column_size(m.*)::int8 AS bytes,
                   coalesce(pg_column_size(m.embedding), pg_column_size(m.embedding_half), 0)::int8 AS vbytes
            FROM memory.memories m WHERE {clause}
         ), tiers AS (
            SELECT t.tier, count(r.tier) AS n,
                   count(r.tier) FILTER (WHERE NOT r.superseded AND r.expired IS NOT TRUE) AS current,
                   coalesce(sum(r.bytes), 0) AS bytes, coalesce(sum(r.vbytes), 0) AS vbytes
            FROM (VALUES ('hot'), ('cold')) AS t(tier) LEFT JOIN rows r ON r.tier = t.tier
            GROUP BY t.tier
         )
         SELECT jsonb_build_object(
            'hot', (SELECT jsonb_build_object('memories', n, 'current', current,
                                              'bytes', bytes, 'embedding_bytes', vbytes)
                    FROM tiers WHERE tier = 'hot'),
            'cold', (SELECT jsonb_build_object('memories', n, 'current', current,
                                               'bytes', bytes, 'embedding_bytes', vbytes)
                     FROM tiers WHERE tier = 'cold'),
            'superseded', (SELECT count(*) FROM rows WHERE superseded),
            'expired', (SELECT count(*) FROM rows WHERE expired),
            'indexes', (SELECT coalesce(jsonb_object_agg(c.relname, pg_relation_size(c.oid)), '{{}}')
                        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                        WHERE i.indrelid = 'memory.memories'::regclass))"
    );
    super::query_json(&sql, &args).unwrap_or(JsonB(serde_json::json!({})))
}

/// Delete up to `batch` finished jobs of `memory.add_async` (SUCCEEDED or
/// FAILED) older than `older_than`; returns how many. Their memories and
/// history are untouched; only the queue's record of the job goes.
#[pg_extern]
fn purge_jobs(
    older_than: default!(Interval, "'7 days'"),
    batch: default!(Option<i32>, "NULL"),
) -> i64 {
    let n = batch_size(batch);
    let seconds = older_than.as_micros() as f64 / 1e6;
    if !(seconds.is_finite() && seconds >= 0.0) {
        raise(
            Error::invalid_parameter("older_than must not be negative")
                .hint("Pass an interval such as '7 days'."),
        );
    }
    Spi::get_one_with_args::<i64>(
        "WITH old AS (
            SELECT j.id FROM memory.job_queue j
            WHERE j.status IN ('SUCCEEDED', 'FAILED')
              AND j.finished_at < clock_timestamp() - make_interval(secs => $1)
            ORDER BY j.finished_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
         ), del AS (
            DELETE FROM memory.job_queue q USING old WHERE q.id = old.id RETURNING 1
         )
         SELECT count(*) FROM del",
        &[seconds.into(), n.into()],
    )
    .or_raise()
    .unwrap_or(0)
}
