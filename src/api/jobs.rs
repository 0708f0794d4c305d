//! `memory.add_async`: queue an add for the background worker (issue #8).
//!
//! The call checks its arguments as `memory.add` would (so a bad request
//! fails at once, not later in the queue), stores them with the scope, the
//! caller's role and tenant and the settings that shape the pipeline, and
//! returns Mem0's pending answer `{"results": [{"status": "PENDING",
//! "event_id": …}]}`. The worker (src/worker.rs) or `CALL
//! memory.process_jobs()` runs the job later through `memory.run_job`
//! (sql/finalize.sql); `memory.jobs` shows its status.

use super::{add, infer, query_json};
use crate::error::OrRaise;
use memory_core::messages::{self, Message};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// Settings captured with a job and restored when it runs, so a queued add
/// behaves as the same call made at once. API keys are never stored: the
/// worker uses the server's.
const CAPTURED: [&str; 12] = [
    "memory.llm",
    "memory.llm_url",
    "memory.llm_model",
    "memory.llm_json_mode",
    "memory.llm_timeout_ms",
    "memory.embedder",
    "memory.embedding_url",
    "memory.embedding_model",
    "memory.custom_categories",
    "memory.text_search_config",
    "memory.decay_half_life",
    "memory.job_max_attempts",
];

#[allow(clippy::too_many_arguments)]
fn enqueue(
    raw: Value,
    msgs: Vec<Message>,
    user_id: Option<&str>,
    agent_id: Option<&str>,
    run_id: Option<&str>,
    metadata: Option<JsonB>,
    infer: bool,
    memory_type: Option<&str>,
    prompt: Option<&str>,
    expiration_date: Option<TimestampWithTimeZone>,
    timestamp: Option<TimestampWithTimeZone>,
    app_id: Option<&str>,
) -> JsonB {
    let (scope, metadata) =
        add::check_request(user_id, agent_id, run_id, metadata, memory_type, app_id);
    add::check_messages(&msgs, infer, prompt);
    let args = json!({
        "messages": raw,
        "metadata": metadata.map(|m| m.0),
        "infer": infer,
        "memory_type": memory_type,
        "prompt": prompt,
        "app_id": app_id,
    });
    // Endpoint URLs are superuser-only settings: captured only from a
    // superuser's session (which may have SET them); other roles' jobs use
    // the server's configuration, as their own calls do.
    let su = super::is_superuser();
    let captured: Vec<String> = CAPTURED
        .iter()
        .filter(|s| su || !s.ends_with("_url"))
        .map(|s| s.to_string())
        .collect();
    let out = query_json(
        "WITH s AS (
            SELECT coalesce(jsonb_object_agg(k, current_setting(k, true))
                            FILTER (WHERE current_setting(k, true) IS NOT NULL), '{}') AS settings
            FROM unnest($6::text[]) AS k
         ), ins AS (
            INSERT INTO memory.job_queue
                (user_id, agent_id, run_id, scope_key, args, settings, max_attempts)
            SELECT $1, $2, $3, $4,
                   $5::jsonb || jsonb_strip_nulls(jsonb_build_object(
                       'expiration_date', $7::timestamptz, 'timestamp', $8::timestamptz)),
                   s.settings, coalesce((s.settings->>'memory.job_max_attempts')::int, 5)
            FROM s
            RETURNING id)
         SELECT jsonb_build_object('results', jsonb_build_array(
                    jsonb_build_object('message', 'Memory processing has been queued for background execution',
                                       'status', 'PENDING', 'event_id', id)))
         FROM ins",
        &[
            scope.user_id.clone().into(),
            scope.agent_id.clone().into(),
            scope.run_id.clone().into(),
            infer::scope_key(&scope).into(),
            JsonB(args).into(),
            captured.into(),
            expiration_date.into(),
            timestamp.into(),
        ],
    );
    out.unwrap_or_else(|| JsonB(json!({"results": []})))
}

/// Queue an add (messages as a Mem0 list, a message object or a JSON string);
/// same arguments as `memory.add`.
#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "add_async")]
fn add_async_jsonb(
    messages: Option<JsonB>,
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
    metadata: default!(Option<JsonB>, "NULL"),
    infer: default!(bool, true),
    memory_type: default!(Option<&str>, "NULL"),
    prompt: default!(Option<&str>, "NULL"),
    expiration_date: default!(Option<TimestampWithTimeZone>, "NULL"),
    timestamp: default!(Option<TimestampWithTimeZone>, "NULL"),
    app_id: default!(Option<&str>, "NULL"),
) -> JsonB {
    let raw = messages.map(|j| j.0).unwrap_or(Value::Null);
    let msgs = messages::parse_json(&raw).or_raise();
    enqueue(
        raw,
        msgs,
        user_id,
        agent_id,
        run_id,
        metadata,
        infer,
        memory_type,
        prompt,
        expiration_date,
        timestamp,
        app_id,
    )
}

/// Queue an add of one plain-text user message.
#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "add_async")]
fn add_async_text(
    messages: Option<&str>,
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    run_id: default!(Option<&str>, "NULL"),
    metadata: default!(Option<JsonB>, "NULL"),
    infer: default!(bool, true),
    memory_type: default!(Option<&str>, "NULL"),
    prompt: default!(Option<&str>, "NULL"),
    expiration_date: default!(Option<TimestampWithTimeZone>, "NULL"),
    timestamp: default!(Option<TimestampWithTimeZone>, "NULL"),
    app_id: default!(Option<&str>, "NULL"),
) -> JsonB {
    let text = messages.unwrap_or_default();
    let msgs = messages::from_text(text).or_raise();
    enqueue(
        Value::String(text.to_string()),
        msgs,
        user_id,
        agent_id,
        run_id,
        metadata,
        infer,
        memory_type,
        prompt,
        expiration_date,
        timestamp,
        app_id,
    )
}
