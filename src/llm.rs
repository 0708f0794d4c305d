//! Calls to an OpenAI-compatible chat endpoint (`memory.llm = 'openai'`).
//!
//! Transport faults (429, 5xx, dropped connections, a reply without a
//! message) are retried once by `http::Request`; an answer that fails the
//! protocol's validation (invented ids, malformed JSON, missing fields) is
//! sent back to the model once with the reason, and a second bad answer is
//! an error (58000) that rolls the statement back. Prompts are text files in
//! `src/prompts/`.

use crate::error::report;
use crate::gucs;
use crate::http::Request;
use crate::timing::{self, Wait};
use memory_core::llm;
use pgrx::PgSqlErrorCode;
use serde_json::{json, Value};
use std::time::Duration;

pub const EXTRACT_FACTS: &str = include_str!("prompts/extract_facts.txt");
pub const EXTRACT_FORMAT: &str = include_str!("prompts/extract_format.txt");
pub const SUMMARY: &str = include_str!("prompts/summary.txt");
pub const SUMMARY_FORMAT: &str = include_str!("prompts/summary_format.txt");
pub const DECIDE: &str = include_str!("prompts/decide.txt");

/// Who extracts facts and decides conflicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Builtin,
    OpenAi,
}

/// The provider `memory.llm` names.
pub fn provider() -> Provider {
    let name = gucs::text(&gucs::LLM).unwrap_or_else(|| "builtin".into());
    match name.trim().to_ascii_lowercase().as_str() {
        "builtin" => Provider::Builtin,
        "openai" => Provider::OpenAi,
        _ => report(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown memory.llm \"{name}\""),
            None,
            Some("memory.llm is builtin or openai.".into()),
        ),
    }
}

fn send(messages: &[Value]) -> String {
    let model = gucs::text(&gucs::LLM_MODEL).unwrap_or_else(|| "gpt-4o-mini".into());
    let mut body = json!({"model": model, "messages": messages, "temperature": 0});
    if gucs::LLM_JSON_MODE.get() {
        body["response_format"] = json!({"type": "json_object"});
    }
    let key = gucs::text(&gucs::LLM_API_KEY);
    let base = gucs::text(&gucs::LLM_URL).unwrap_or_default();
    let request = Request {
        setting: "memory.llm_url",
        base_url: &base,
        path: "/chat/completions",
        api_key: key.as_deref(),
        body,
        timeout: Duration::from_millis(gucs::LLM_TIMEOUT_MS.get().max(1) as u64),
    };
    let reply = timing::measure(Wait::Llm, || {
        request.send(|v| llm::reply_content(v).map(|_| ()))
    });
    // `send` only returns replies that passed the check above.
    llm::reply_content(&reply).unwrap_or_default()
}

/// Ask the model and validate its answer with `parse`; a rejected answer is
/// returned to the model once with the reason.
pub fn ask<T>(
    purpose: &str,
    mut messages: Vec<Value>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> T {
    let answer = send(&messages);
    let why = match parse(&answer) {
        Ok(v) => return v,
        Err(why) => why,
    };
    pgrx::debug1!("memory_ext: the {purpose} answer was rejected ({why}); asking once more");
    messages.extend(llm::correction(&answer, &why));
    let again = send(&messages);
    match parse(&again) {
        Ok(v) => v,
        Err(why) => report(
            PgSqlErrorCode::ERRCODE_SYSTEM_ERROR,
            format!("the LLM's {purpose} answer was unusable, also after one retry"),
            Some(why),
            Some("Nothing was written. Check memory.llm_model; the model must follow the JSON format of the prompt.".into()),
        ),
    }
}

/// Today's date for the prompts (the session's time zone).
pub fn today() -> String {
    crate::plans::one::<String>("SELECT to_char(now(), 'YYYY-MM-DD')", &[]).unwrap_or_default()
}
