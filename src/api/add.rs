//! `memory.add`: store conversation messages as memories.
//!
//! With `infer => false` each user/assistant message is stored verbatim, in
//! order, with its role and actor, a history row 'ADD' each, all in one
//! statement (so nothing is half-written). With `infer => true` (the
//! default) the messages go through fact extraction and conflict resolution
//! (`infer.rs`).

use super::{infer, metadata_object, query_json, CURRENT};
use crate::embed;
use crate::error::{raise, report, OrRaise};
use crate::gucs;
use crate::types::varvec::VectorOut;
use memory_core::categories;
use memory_core::messages::{self, Message, Scope};
use memory_core::speaker;
use memory_core::vector;
use memory_core::Error;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode, Uuid};

const INSERT_VERBATIM: &str = "
WITH input AS (
    SELECT gen_random_uuid() AS id, t.content, t.role, t.actor_id, t.norm, t.embedding, t.tags,
           t.context, t.ord
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $13::text[], $15::text[], $17::text[])
         WITH ORDINALITY AS t(content, role, actor_id, norm, embedding, tags, context, ord)
), stamped AS (
    SELECT i.*, coalesce($10::timestamptz, clock_timestamp()) AS at,
           coalesce(lag(i.id) OVER (ORDER BY i.ord), $16::uuid) AS context_id
    FROM input i ORDER BY i.ord
), ins AS (
    INSERT INTO memory.memories AS m
        (id, memory, hash, user_id, agent_id, run_id, app_id, actor_id, role, metadata,
         memory_type, expires_at, created_at, updated_at, valid_from, embedding, embedder, categories,
         context_id, context_embedding)
    SELECT s.id, s.content, md5(s.norm), $5, $6, $7, $8, s.actor_id, s.role,
           coalesce($9::jsonb, '{}'), $11, $12, s.at, s.at, s.at, s.embedding::memory.vector, $14,
           ARRAY(SELECT jsonb_array_elements_text(s.tags::jsonb)),
           s.context_id, s.context::memory.vector
    FROM stamped s ORDER BY s.ord
    RETURNING m.id, m.memory, m.actor_id, m.role, m.user_id, m.agent_id, m.run_id, m.created_at
), hist AS (
    INSERT INTO memory.history
        (memory_id, new_memory, event, actor_id, role, user_id, agent_id, run_id, created_at, updated_at)
    SELECT id, memory, 'ADD', actor_id, role, user_id, agent_id, run_id, created_at, created_at
    FROM ins
)
SELECT jsonb_build_object(
    'results', coalesce(jsonb_agg(
        jsonb_build_object('id', ins.id, 'memory', ins.memory, 'event', 'ADD')
        || jsonb_strip_nulls(jsonb_build_object('actor_id', ins.actor_id, 'role', ins.role))
        ORDER BY input.ord), '[]'::jsonb),
    'relations', jsonb_build_object('added_entities', '[]'::jsonb, 'deleted_entities', '[]'::jsonb))
FROM ins JOIN input USING (id)";

/// The memory a new message continues: its id, its embedding (None when
/// it is cold) and who said it (`speaker::turn`).
pub struct Tail {
    pub id: Uuid,
    pub embedding: Option<Vec<f32>>,
    pub turn: String,
}

/// The memory a new message of `scope` follows in its conversation: the
/// latest current memory of exactly this scope written at or before `at`
/// (the add's "timestamp", else now), within `memory.conversation_window`,
/// or at any time before in the same run. Summaries are never context.
pub fn conversation_tail(scope: &Scope, at: Option<TimestampWithTimeZone>) -> Option<Tail> {
    let window = gucs::CONVERSATION_WINDOW_S.get();
    if window == 0 && scope.run_id.is_none() {
        return None;
    }
    // The latest row is found first (an index scan backwards over the
    // scope's created_at), and only its embedding is read. The scope's
    // columns are compared by shape (`= $n` or `IS NULL`), so the kept plan
    // uses the index whatever the values.
    let mut args: Vec<DatumWithOid<'static>> = Vec::new();
    let mut exact = Vec::new();
    for (col, value) in [
        ("user_id", &scope.user_id),
        ("agent_id", &scope.agent_id),
        ("run_id", &scope.run_id),
    ] {
        match value {
            Some(v) => {
                args.push(v.clone().into());
                exact.push(format!("m.{col} = ${}::text", args.len()));
            }
            None => exact.push(format!("m.{col} IS NULL")),
        }
    }
    args.push(at.into());
    args.push(window.into());
    let (at_n, window_n) = (args.len() - 1, args.len());
    let within = if scope.run_id.is_some() {
        String::new()
    } else {
        format!(
            "AND m.created_at >= coalesce(${at_n}::timestamptz, clock_timestamp())
                                   - make_interval(secs => ${window_n}::int)"
        )
    };
    let sql = format!(
        "SELECT l.id, l.embedding, l.role, l.actor_id, left(l.memory, 64)
         FROM memory.memories l
         WHERE l.id = (
            SELECT m.id FROM memory.memories m
            WHERE {exact} AND {CURRENT} AND m.memory_type <> 'summary'
              AND m.created_at <= coalesce(${at_n}::timestamptz, clock_timestamp())
              {within}
            ORDER BY m.created_at DESC, m.seq DESC LIMIT 1)",
        exact = exact.join(" AND "),
    );
    Spi::connect(|c| {
        let rows = crate::plans::select(c, &sql, &args);
        rows.into_iter().next().and_then(|r| {
            let role = r.get::<&str>(3).or_raise();
            let actor = r.get::<&str>(4).or_raise();
            let text = r.get::<&str>(5).or_raise().unwrap_or("");
            Some(Tail {
                id: r.get::<Uuid>(1).or_raise()?,
                embedding: r.get::<VectorOut>(2).or_raise().map(|v| v.0),
                turn: speaker::turn(role, actor, text),
            })
        })
    })
}

fn null_messages() -> ! {
    report(
        PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        "messages must not be null",
        None,
        Some("Pass the conversation as text or as a jsonb list of messages.".into()),
    )
}

/// The checks `memory.add` and `memory.add_async` share: the scope (one is
/// required), metadata an object, a known memory_type, a non-empty app_id.
pub fn check_request(
    user_id: Option<&str>,
    agent_id: Option<&str>,
    run_id: Option<&str>,
    metadata: Option<JsonB>,
    memory_type: Option<&str>,
    app_id: Option<&str>,
) -> (Scope, Option<JsonB>) {
    let scope = Scope::new(user_id, agent_id, run_id, true).or_raise();
    let metadata = metadata_object(metadata);
    messages::check_memory_type(memory_type.unwrap_or("semantic")).or_raise();
    if app_id.is_some_and(|a| a.trim().is_empty()) {
        raise(
            Error::invalid_parameter("app_id must not be empty")
                .hint("Pass NULL to leave app_id out."),
        );
    }
    (scope, metadata)
}

/// The messages an add takes (design §5a: empty input is 22023): with
/// inference, some text in any message; verbatim, at least one storable
/// message (and no custom prompt), which are returned (none with inference).
pub fn check_messages<'m>(
    msgs: &'m [Message],
    infer: bool,
    prompt: Option<&str>,
) -> Vec<&'m Message> {
    if infer {
        if msgs.iter().all(|m| m.content.trim().is_empty()) {
            raise(
                Error::invalid_parameter("messages hold no text")
                    .hint("Pass the conversation: at least one message with content."),
            );
        }
        Vec::new()
    } else {
        check_verbatim_prompt(prompt);
        messages::storable(msgs).or_raise()
    }
}

/// A custom prompt only steers inference.
fn check_verbatim_prompt(prompt: Option<&str>) {
    if prompt.is_some() {
        raise(
            Error::invalid_parameter("prompt applies only to inference")
                .hint("Leave prompt out when infer => false: messages are stored verbatim."),
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn add_messages(
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
    let (scope, metadata) = check_request(user_id, agent_id, run_id, metadata, memory_type, app_id);
    let memory_type = memory_type.unwrap_or("semantic");
    let (metadata, categories) = infer::split_categories(metadata);
    let kept = check_messages(&msgs, infer, prompt);
    if infer {
        return infer::add_inferred(
            msgs,
            infer::AddOptions {
                scope,
                metadata,
                memory_type,
                prompt,
                expiration_date,
                timestamp,
                app_id,
                categories,
            },
        );
    }

    let contents: Vec<String> = kept.iter().map(|m| m.content.clone()).collect();
    let roles: Vec<String> = kept.iter().map(|m| m.role.clone()).collect();
    let actors: Vec<Option<String>> = kept.iter().map(|m| m.actor_id.clone()).collect();
    let tags: Vec<String> = kept
        .iter()
        .map(|m| serde_json::Value::from(categories::tag(&m.content, &categories)).to_string())
        .collect();
    let norms: Vec<String> = kept
        .iter()
        .map(|m| messages::normalize(&m.content))
        .collect();
    // Embeddings first: a failing embedder leaves nothing written.
    let texts: Vec<&str> = kept.iter().map(|m| m.content.as_str()).collect();
    let embedded = embed::embed(&texts);
    embed::check_scope_embedder(&scope, &embedded.embedder);
    let vectors: Vec<String> = embedded.vectors.iter().map(|v| vector::format(v)).collect();
    // The conversation these messages continue, and each reply's context
    // vector: its own joined with that of the message it answers.
    let tail = conversation_tail(&scope, timestamp);
    let turns: Vec<String> = kept
        .iter()
        .map(|m| speaker::turn(Some(&m.role), m.actor_id.as_deref(), &m.content))
        .collect();
    let context_vectors: Vec<Option<String>> = (0..kept.len())
        .map(|k| {
            let before = match k {
                0 => tail
                    .as_ref()
                    .and_then(|t| Some((t.embedding.as_deref()?, t.turn.as_str()))),
                _ => Some((embedded.vectors[k - 1].as_slice(), turns[k - 1].as_str())),
            };
            before
                .filter(|(_, said_by)| speaker::replies(said_by, &turns[k]))
                .and_then(|(b, _)| vector::context_vector(b, &embedded.vectors[k]))
                .map(|v| vector::format(&v))
        })
        .collect();
    let args: Vec<DatumWithOid<'static>> = vec![
        contents.into(),
        roles.into(),
        actors.into(),
        norms.into(),
        scope.user_id.into(),
        scope.agent_id.into(),
        scope.run_id.into(),
        app_id.map(str::to_string).into(),
        metadata.into(),
        timestamp.into(),
        memory_type.to_string().into(),
        expiration_date.into(),
        vectors.into(),
        embedded.embedder.into(),
        tags.into(),
        tail.map(|t| t.id).into(),
        context_vectors.into(),
    ];
    query_json(INSERT_VERBATIM, &args).unwrap_or_else(|| JsonB(serde_json::json!({"results": []})))
}

/// Add memories from a Mem0 messages list (or a single message object, or a
/// JSON string).
#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "add")]
fn add_jsonb(
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
    let msgs = messages::parse_json(&messages.unwrap_or_else(|| null_messages()).0).or_raise();
    add_messages(
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

/// Add memories from plain text: one user message.
#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "add")]
fn add_text(
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
    let msgs = messages::from_text(messages.unwrap_or_else(|| null_messages())).or_raise();
    add_messages(
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
