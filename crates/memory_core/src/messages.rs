//! Mem0 messages and scopes: what `memory.add` accepts, validated before any
//! write.
//!
//! `messages` is either a plain string (one user message) or Mem0's list
//! `[{"role": "user", "content": "...", "name": "..."}]`; a single message
//! object and a JSON string are accepted too. `name` becomes the actor id.
//! System messages carry instructions, not facts, and are skipped (as Mem0
//! does). Anything else malformed is an error, never silently dropped.

use crate::error::{Error, Kind, Result};
use serde_json::Value;

/// Longest message content accepted (bytes).
pub const MAX_CONTENT_BYTES: usize = 1 << 20;
/// Most messages in one call.
pub const MAX_MESSAGES: usize = 10_000;
/// Longest scope id (bytes).
pub const MAX_SCOPE_BYTES: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: String,
    pub content: String,
    pub actor_id: Option<String>,
}

const ROLES: [&str; 4] = ["user", "assistant", "system", "tool"];

/// Parse the JSON form of `messages`.
pub fn parse_json(value: &Value) -> Result<Vec<Message>> {
    let items: Vec<&Value> = match value {
        Value::String(s) => return from_text(s),
        Value::Object(_) => vec![value],
        Value::Array(list) => list.iter().collect(),
        _ => {
            return Err(Error::invalid_parameter(
                "messages must be a string or a list of {\"role\", \"content\"} objects",
            )
            .hint("Pass '[{\"role\":\"user\",\"content\":\"I like tea\"}]'::jsonb or plain text."))
        }
    };
    if items.len() > MAX_MESSAGES {
        return Err(Error::new(
            Kind::LimitExceeded,
            format!("too many messages: at most {MAX_MESSAGES} per call"),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let n = i + 1;
        let obj = item.as_object().ok_or_else(|| {
            Error::invalid_parameter(format!("message {n} is not an object"))
                .hint("Each message looks like {\"role\": \"user\", \"content\": \"...\"}.")
        })?;
        let role = match obj.get("role") {
            Some(Value::String(r)) if ROLES.contains(&r.as_str()) => r.clone(),
            Some(Value::String(r)) => {
                return Err(Error::invalid_parameter(format!(
                    "message {n} has an unknown role \"{}\"",
                    r.chars().take(40).collect::<String>()
                ))
                .hint("Roles are user, assistant, system and tool."))
            }
            None => {
                return Err(
                    Error::invalid_parameter(format!("message {n} has no \"role\"")).hint(
                        "Each message looks like {\"role\": \"user\", \"content\": \"...\"}.",
                    ),
                )
            }
            Some(_) => {
                return Err(Error::invalid_parameter(format!(
                    "message {n} has a \"role\" that is not a string"
                )))
            }
        };
        let content = match obj.get("content") {
            Some(Value::String(c)) => c.clone(),
            None | Some(Value::Null) => {
                return Err(Error::invalid_parameter(format!(
                    "message {n} has no \"content\""
                )))
            }
            Some(_) => {
                return Err(Error::invalid_parameter(format!(
                    "message {n} has a \"content\" that is not a string"
                ))
                .hint("Only text content is supported."))
            }
        };
        let actor_id = match obj.get("name") {
            Some(Value::String(a)) if !a.trim().is_empty() => Some(a.trim().to_string()),
            None | Some(Value::Null) => None,
            Some(Value::String(_)) => None,
            Some(_) => {
                return Err(Error::invalid_parameter(format!(
                    "message {n} has a \"name\" that is not a string"
                )))
            }
        };
        check_content(&content, n)?;
        out.push(Message {
            role,
            content,
            actor_id,
        });
    }
    Ok(out)
}

/// A plain string is one user message.
pub fn from_text(text: &str) -> Result<Vec<Message>> {
    check_content(text, 1)?;
    Ok(vec![Message {
        role: "user".to_string(),
        content: text.to_string(),
        actor_id: None,
    }])
}

fn check_content(content: &str, n: usize) -> Result<()> {
    if content.len() > MAX_CONTENT_BYTES {
        return Err(Error::new(
            Kind::LimitExceeded,
            format!("message {n} is longer than {MAX_CONTENT_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The messages worth storing verbatim: not system messages, not blank.
pub fn storable(messages: &[Message]) -> Result<Vec<&Message>> {
    let kept: Vec<&Message> = messages
        .iter()
        .filter(|m| m.role != "system" && !m.content.trim().is_empty())
        .collect();
    if kept.is_empty() {
        return Err(
            Error::invalid_parameter("messages contain nothing to remember")
                .detail("Every message is empty or a system message.")
                .hint("Pass at least one user or assistant message with text."),
        );
    }
    Ok(kept)
}

/// The three fences of a memory (design §3) plus Mem0's optional app_id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub run_id: Option<String>,
}

impl Scope {
    /// Validate scope arguments: empty strings are refused, and when
    /// `required` at least one of the three must be set.
    pub fn new(
        user_id: Option<&str>,
        agent_id: Option<&str>,
        run_id: Option<&str>,
        required: bool,
    ) -> Result<Scope> {
        let check = |name: &str, v: Option<&str>| -> Result<Option<String>> {
            match v {
                None => Ok(None),
                Some(s) if s.trim().is_empty() => Err(Error::invalid_parameter(format!(
                    "{name} must not be empty"
                ))
                .hint(format!("Pass NULL to leave {name} out."))),
                Some(s) if s.len() > MAX_SCOPE_BYTES => Err(Error::new(
                    Kind::LimitExceeded,
                    format!("{name} is longer than {MAX_SCOPE_BYTES} bytes"),
                )),
                Some(s) => Ok(Some(s.to_string())),
            }
        };
        let scope = Scope {
            user_id: check("user_id", user_id)?,
            agent_id: check("agent_id", agent_id)?,
            run_id: check("run_id", run_id)?,
        };
        if required && scope.is_empty() {
            return Err(Error::invalid_parameter("a scope is required")
                .detail("None of user_id, agent_id and run_id was given.")
                .hint("Pass user_id, agent_id or run_id, e.g. user_id => 'alice'."));
        }
        Ok(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.user_id.is_none() && self.agent_id.is_none() && self.run_id.is_none()
    }
}

/// Normalized form of a fact for exact-duplicate detection: Unicode
/// lowercase, whitespace collapsed, trailing sentence punctuation dropped.
pub fn normalize(text: &str) -> String {
    let lowered = text.to_lowercase();
    let collapsed = lowered.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .trim_end_matches(['.', '!', '。', '！', ' '])
        .to_string()
}

/// Allowed values of `memory_type`.
pub const MEMORY_TYPES: [&str; 4] = ["semantic", "episodic", "procedural", "summary"];

pub fn check_memory_type(t: &str) -> Result<()> {
    if MEMORY_TYPES.contains(&t) {
        Ok(())
    } else {
        Err(Error::invalid_parameter(format!(
            "unknown memory_type \"{}\"",
            t.chars().take(40).collect::<String>()
        ))
        .hint("memory_type is one of semantic, episodic, procedural, summary."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mem0_message_list() {
        let m = parse_json(&json!([
            {"role": "user", "content": "I like tea", "name": "alice"},
            {"role": "assistant", "content": "Noted."},
            {"role": "system", "content": "be nice"}
        ]))
        .unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].actor_id.as_deref(), Some("alice"));
        assert_eq!(storable(&m).unwrap().len(), 2);
    }

    #[test]
    fn string_and_single_object() {
        assert_eq!(parse_json(&json!("hello")).unwrap()[0].role, "user");
        assert_eq!(
            parse_json(&json!({"role": "assistant", "content": "x"}))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn malformed_messages_are_errors() {
        for bad in [
            json!(5),
            json!(null),
            json!([1]),
            json!([{"content": "x"}]),
            json!([{"role": "user"}]),
            json!([{"role": "boss", "content": "x"}]),
            json!([{"role": "user", "content": 5}]),
            json!([{"role": 1, "content": "x"}]),
            json!([{"role": "user", "content": "x", "name": 3}]),
        ] {
            assert_eq!(
                parse_json(&bad).unwrap_err().kind,
                Kind::InvalidParameter,
                "{bad}"
            );
        }
    }

    #[test]
    fn nothing_to_store() {
        let m = parse_json(
            &json!([{"role": "system", "content": "x"}, {"role": "user", "content": "  "}]),
        )
        .unwrap();
        assert!(storable(&m).is_err());
        assert!(storable(&parse_json(&json!([])).unwrap()).is_err());
    }

    #[test]
    fn scopes() {
        assert!(Scope::new(None, None, None, true).is_err());
        assert!(Scope::new(None, None, None, false).unwrap().is_empty());
        assert!(Scope::new(Some(""), None, None, false).is_err());
        assert!(Scope::new(Some(" "), Some("a"), None, true).is_err());
        let s = Scope::new(None, Some("bot"), None, true).unwrap();
        assert_eq!(s.agent_id.as_deref(), Some("bot"));
        let long = "x".repeat(MAX_SCOPE_BYTES + 1);
        assert_eq!(
            Scope::new(Some(&long), None, None, true).unwrap_err().kind,
            Kind::LimitExceeded
        );
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize("  Likes   TEA. "), "likes tea");
        assert_eq!(normalize("Ich mag Tee!"), "ich mag tee");
        assert_eq!(normalize("喜欢喝茶。"), "喜欢喝茶");
        assert_eq!(normalize("ÄPFEL"), "äpfel");
    }

    #[test]
    fn memory_types() {
        assert!(check_memory_type("semantic").is_ok());
        assert!(check_memory_type("facts").is_err());
    }
}
