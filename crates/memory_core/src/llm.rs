//! The protocol spoken with an OpenAI-compatible chat model: the messages of
//! the two calls of an inferred `add` (extraction, decision) and of a session
//! summary, and strict validation of the answers.
//!
//! Candidates are shown to the model with small integer ids ("0", "1", …),
//! never uuids, so it has nothing long to copy and an invented id is caught
//! here. Every check returns a message meant to be sent back to the model
//! once ("your answer was rejected because …") before the add fails.

use crate::categories::{self, Category};
use crate::messages::{Message, MAX_CONTENT_BYTES};
use serde_json::{json, Map, Value};

/// Most facts one extraction may return.
pub const MAX_FACTS: usize = 200;

/// A fact the model extracted.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub text: String,
    /// Only categories of the allowed list, as spelled there.
    pub categories: Vec<String>,
    /// Did the model tag it (otherwise the built-in tagger does)?
    pub tagged: bool,
}

/// An existing memory as the decision call sees it.
#[derive(Debug, Clone)]
pub struct Shown<'a> {
    pub text: &'a str,
    pub immutable: bool,
}

/// One decision of the model, ids already mapped back to candidate indexes.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Add { text: String },
    Update { target: usize, text: String },
    Delete { target: usize },
}

/// A chat message for the request body.
pub fn message(role: &str, content: impl Into<String>) -> Value {
    json!({"role": role, "content": content.into()})
}

/// The conversation as the model reads it: one line per message, with the
/// speaker's name when the message has one.
pub fn transcript(msgs: &[Message]) -> String {
    let mut out = String::new();
    for m in msgs {
        let who = match &m.actor_id {
            Some(a) => format!("{} ({a})", m.role),
            None => m.role.clone(),
        };
        out.push_str(&who);
        out.push_str(": ");
        out.push_str(m.content.trim());
        out.push('\n');
    }
    out
}

fn category_lines(allowed: &[Category]) -> String {
    allowed
        .iter()
        .map(|c| {
            if c.description.is_empty() {
                format!("- {}", c.name)
            } else {
                format!("- {}: {}", c.name, c.description)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The messages of the extraction call: the policy (the built-in prompt or
/// the caller's), then the fixed answer format, then the conversation.
pub fn extraction_messages(
    policy: &str,
    format: &str,
    allowed: &[Category],
    today: &str,
    msgs: &[Message],
) -> Vec<Value> {
    let format = format
        .replace("{today}", today)
        .replace("{categories}", &category_lines(allowed));
    vec![
        message("system", policy.trim()),
        message("system", format.trim()),
        message("user", transcript(msgs)),
    ]
}

/// The messages of a session-summary call: previous summary and new turns.
pub fn summary_messages(
    policy: &str,
    format: &str,
    today: &str,
    previous: Option<&str>,
    msgs: &[Message],
) -> Vec<Value> {
    let input = format!(
        "Summary so far:\n{}\n\nNew messages:\n{}",
        previous.unwrap_or("(none)"),
        transcript(msgs)
    );
    vec![
        message("system", policy.trim()),
        message("system", format.replace("{today}", today).trim()),
        message("user", input),
    ]
}

/// The messages of the decision call: existing memories with integer ids and
/// the new facts, as one JSON document.
pub fn decision_messages(prompt: &str, existing: &[Shown<'_>], facts: &[String]) -> Vec<Value> {
    let listed: Vec<Value> = existing
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut o = json!({"id": i.to_string(), "text": e.text});
            if e.immutable {
                o["immutable"] = Value::Bool(true);
            }
            o
        })
        .collect();
    let input = json!({"existing_memories": listed, "new_facts": facts});
    vec![
        message("system", prompt.trim()),
        message("user", input.to_string()),
    ]
}

/// The follow-up after a rejected answer: the answer itself and why it was
/// rejected, so the model can correct it.
pub fn correction(answer: &str, why: &str) -> Vec<Value> {
    vec![
        message("assistant", answer),
        message(
            "user",
            format!(
                "Your answer was rejected: {why}. Answer again with the complete JSON object only, \
                 following the format exactly."
            ),
        ),
    ]
}

/// Models without a JSON mode often wrap the object in a Markdown fence.
pub fn strip_fences(s: &str) -> &str {
    let t = s.trim();
    if let Some(rest) = t.strip_prefix("```") {
        let rest = rest.strip_prefix("json").unwrap_or(rest);
        if let Some(body) = rest.trim_end().strip_suffix("```") {
            return body.trim();
        }
    }
    t
}

fn object(content: &str) -> Result<Map<String, Value>, String> {
    let text = strip_fences(content);
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err("the answer is JSON but not an object".into()),
        Err(e) => Err(format!("the answer is not valid JSON ({e})")),
    }
}

fn check_text(s: &str, what: &str) -> Result<String, String> {
    let t = s.trim();
    if t.len() > MAX_CONTENT_BYTES {
        return Err(format!("{what} is longer than {MAX_CONTENT_BYTES} bytes"));
    }
    Ok(t.to_string())
}

/// Validate an extraction answer: `{"facts": [...]}` where each fact is a
/// string or `{"text": "...", "categories": [...]}`.
pub fn parse_facts(content: &str, allowed: &[Category]) -> Result<Vec<Fact>, String> {
    let o = object(content)?;
    let list = o
        .get("facts")
        .ok_or("the object has no \"facts\" key")?
        .as_array()
        .ok_or("\"facts\" is not an array")?;
    if list.len() > MAX_FACTS {
        return Err(format!(
            "{} facts returned, at most {MAX_FACTS} are accepted",
            list.len()
        ));
    }
    let mut out: Vec<Fact> = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let (text, cats, tagged) = match f {
            Value::String(s) => (s.as_str(), Vec::new(), false),
            Value::Object(fo) => {
                let text = fo
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("fact {i} has no string \"text\""))?;
                let cats: Vec<String> = match fo.get("categories") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|c| {
                            c.as_str().map(str::to_string).ok_or_else(|| {
                                format!("fact {i} has a category that is not a string")
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    Some(_) => return Err(format!("\"categories\" of fact {i} is not an array")),
                };
                let tagged = fo.contains_key("categories");
                (text, cats, tagged)
            }
            _ => return Err(format!("fact {i} is neither a string nor an object")),
        };
        let text = check_text(text, &format!("fact {i}"))?;
        if text.is_empty() || out.iter().any(|o| o.text == text) {
            continue;
        }
        out.push(Fact {
            text,
            categories: categories::restrict(&cats, allowed),
            tagged,
        });
    }
    Ok(out)
}

/// Validate a summary answer: `{"summary": "..."}`, not empty.
pub fn parse_summary(content: &str) -> Result<String, String> {
    let o = object(content)?;
    let s = o
        .get("summary")
        .ok_or("the object has no \"summary\" key")?
        .as_str()
        .ok_or("\"summary\" is not a string")?;
    let s = check_text(s, "the summary")?;
    if s.is_empty() {
        return Err("the summary is empty".into());
    }
    Ok(s)
}

fn id_of(item: &Map<String, Value>, i: usize) -> Result<Option<String>, String> {
    match item.get("id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(format!(
            "the id of item {i} is neither a string nor a number"
        )),
    }
}

/// Validate a decision answer in Mem0's shape, `{"memory": [{"id", "text",
/// "event", "old_memory"}]}`, against the `n` memories shown.
///
/// ADD and UPDATE need a non-empty text; UPDATE and DELETE need an id from
/// the list; NONE changes nothing (its id, if any, is not used); one memory
/// cannot be both updated and deleted, or updated twice. `old_memory` is
/// informative and not checked.
pub fn parse_decisions(content: &str, n: usize) -> Result<Vec<Decision>, String> {
    let o = object(content)?;
    let list = o
        .get("memory")
        .ok_or("the object has no \"memory\" key")?
        .as_array()
        .ok_or("\"memory\" is not an array")?;
    let listed = || {
        if n == 0 {
            "no memories were listed".to_string()
        } else {
            format!("the listed ids are 0 to {}", n - 1)
        }
    };
    let mut out = Vec::new();
    let mut touched = vec![false; n];
    for (i, item) in list.iter().enumerate() {
        let item = item
            .as_object()
            .ok_or_else(|| format!("item {i} of \"memory\" is not an object"))?;
        let event = item
            .get("event")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("item {i} has no string \"event\""))?
            .trim()
            .to_ascii_uppercase();
        let text = match item.get("text") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(check_text(s, &format!("the text of item {i}"))?),
            Some(_) => return Err(format!("the text of item {i} is not a string")),
        };
        let needs_text = || match &text {
            Some(t) if !t.is_empty() => Ok(t.clone()),
            _ => Err(format!("item {i} ({event}) has no text")),
        };
        let mut target = || -> Result<usize, String> {
            let id = id_of(item, i)?.ok_or_else(|| format!("item {i} ({event}) has no id"))?;
            let k = id.parse::<usize>().ok().filter(|k| *k < n).ok_or_else(|| {
                format!(
                    "item {i} ({event}) refers to id \"{id}\", which is not listed ({})",
                    listed()
                )
            })?;
            if std::mem::replace(&mut touched[k], true) {
                return Err(format!("memory {k} is changed by more than one item"));
            }
            Ok(k)
        };
        match event.as_str() {
            "ADD" => out.push(Decision::Add {
                text: needs_text()?,
            }),
            "UPDATE" => {
                let text = needs_text()?;
                out.push(Decision::Update {
                    target: target()?,
                    text,
                });
            }
            "DELETE" => out.push(Decision::Delete { target: target()? }),
            "NONE" => {
                id_of(item, i)?;
            }
            other => {
                return Err(format!(
                    "item {i} has event \"{other}\"; it must be ADD, UPDATE, DELETE or NONE"
                ))
            }
        }
    }
    Ok(out)
}

/// The `content` of the first choice of a chat completion reply.
pub fn reply_content(reply: &Value) -> Result<String, String> {
    let choice = reply
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or("the reply has no choices")?;
    if choice.get("finish_reason").and_then(Value::as_str) == Some("length") {
        return Err("the answer was cut off at the model's token limit".into());
    }
    choice
        .pointer("/message/content")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| "the first choice has no message content".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats() -> Vec<Category> {
        categories::parse_setting("food, travel").unwrap()
    }

    #[test]
    fn facts_strings_and_objects() {
        let f = parse_facts(r#"{"facts": ["Is vegetarian", {"text": "Visits Rome", "categories": ["TRAVEL", "x"]}]}"#, &cats()).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].text, "Is vegetarian");
        assert!(!f[0].tagged);
        assert_eq!(f[1].categories, ["travel"]);
        assert!(f[1].tagged);
        // fenced, duplicates and blanks dropped
        let f = parse_facts("```json\n{\"facts\": [\"a\", \"a\", \"  \"]}\n```", &[]).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(parse_facts(r#"{"facts": []}"#, &[]).unwrap().len(), 0);
    }

    #[test]
    fn facts_rejected() {
        assert!(parse_facts("not json", &[])
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(parse_facts("[1]", &[])
            .unwrap_err()
            .contains("not an object"));
        assert!(parse_facts(r#"{"fact": []}"#, &[])
            .unwrap_err()
            .contains("no \"facts\""));
        assert!(parse_facts(r#"{"facts": "x"}"#, &[]).is_err());
        assert!(parse_facts(r#"{"facts": [3]}"#, &[]).is_err());
        assert!(parse_facts(r#"{"facts": [{"txt": "a"}]}"#, &[]).is_err());
        assert!(parse_facts(r#"{"facts": [{"text": "a", "categories": "food"}]}"#, &[]).is_err());
    }

    #[test]
    fn decisions_happy_path() {
        let d = parse_decisions(
            r#"{"memory": [
                {"id": "0", "text": "Is married", "event": "UPDATE", "old_memory": "Is single"},
                {"id": 1, "text": "Has a dog", "event": "DELETE"},
                {"id": "2", "text": "Likes tea", "event": "NONE"},
                {"id": "7", "text": "Lives in Lyon", "event": "ADD"},
                {"text": "Plays chess", "event": "add"}]}"#,
            3,
        )
        .unwrap();
        assert_eq!(
            d,
            vec![
                Decision::Update {
                    target: 0,
                    text: "Is married".into()
                },
                Decision::Delete { target: 1 },
                Decision::Add {
                    text: "Lives in Lyon".into()
                },
                Decision::Add {
                    text: "Plays chess".into()
                },
            ]
        );
        assert_eq!(parse_decisions(r#"{"memory": []}"#, 0).unwrap(), vec![]);
    }

    #[test]
    fn decisions_rejected() {
        let bad = |s: &str, n: usize| parse_decisions(s, n).unwrap_err();
        assert!(bad(
            r#"{"memory": [{"id": "5", "text": "x", "event": "UPDATE"}]}"#,
            2
        )
        .contains("not listed (the listed ids are 0 to 1)"));
        assert!(
            bad(r#"{"memory": [{"id": "3f2a-uuid", "event": "DELETE"}]}"#, 2)
                .contains("not listed")
        );
        assert!(bad(r#"{"memory": [{"id": "0", "event": "DELETE"}]}"#, 0)
            .contains("no memories were listed"));
        assert!(bad(r#"{"memory": [{"id": "0", "event": "UPDATE"}]}"#, 1).contains("has no text"));
        assert!(bad(
            r#"{"memory": [{"id": "0", "text": "", "event": "UPDATE"}]}"#,
            1
        )
        .contains("has no text"));
        assert!(bad(r#"{"memory": [{"event": "ADD"}]}"#, 1).contains("has no text"));
        assert!(bad(
            r#"{"memory": [{"id": "0", "text": "a", "event": "MERGE"}]}"#,
            1
        )
        .contains("MERGE"));
        assert!(bad(r#"{"memory": [{"id": "0", "text": "a"}]}"#, 1).contains("no string \"event\""));
        assert!(bad(r#"{"memory": [{"event": "DELETE"}]}"#, 1).contains("has no id"));
        assert!(bad(r#"{"memory": [{"id": "0", "event": "DELETE"}, {"id": "0", "text": "b", "event": "UPDATE"}]}"#, 1)
            .contains("more than one item"));
        assert!(bad(r#"{"memories": []}"#, 1).contains("no \"memory\""));
        assert!(bad(r#"{"memory": {}}"#, 1).contains("not an array"));
        assert!(bad(r#"{"memory": ["ADD"]}"#, 1).contains("not an object"));
        assert!(bad(r#"{"memory": [{"id": [0], "event": "DELETE"}]}"#, 1).contains("neither"));
        assert!(bad("{\"memory\": [", 1).contains("not valid JSON"));
    }

    #[test]
    fn summary() {
        assert_eq!(
            parse_summary(r#"{"summary": " Planned a trip. "}"#).unwrap(),
            "Planned a trip."
        );
        assert!(parse_summary(r#"{"summary": ""}"#).is_err());
        assert!(parse_summary(r#"{"text": "x"}"#).is_err());
    }

    #[test]
    fn envelope() {
        let r = json!({"choices": [{"message": {"role": "assistant", "content": "{}"}, "finish_reason": "stop"}]});
        assert_eq!(reply_content(&r).unwrap(), "{}");
        assert!(reply_content(&json!({"choices": []})).is_err());
        assert!(reply_content(&json!({"choices": [{"message": {}}]})).is_err());
        let cut = json!({"choices": [{"message": {"content": "{\"facts\": ["}, "finish_reason": "length"}]});
        assert!(reply_content(&cut).unwrap_err().contains("token limit"));
    }

    #[test]
    fn requests_use_integer_ids() {
        let shown = [
            Shown {
                text: "Is single",
                immutable: false,
            },
            Shown {
                text: "Name is Ann",
                immutable: true,
            },
        ];
        let m = decision_messages("decide", &shown, &["Is married".to_string()]);
        let body: Value = serde_json::from_str(m[1]["content"].as_str().unwrap()).unwrap();
        assert_eq!(
            body["existing_memories"][0],
            json!({"id": "0", "text": "Is single"})
        );
        assert_eq!(
            body["existing_memories"][1],
            json!({"id": "1", "text": "Name is Ann", "immutable": true})
        );
        assert_eq!(body["new_facts"], json!(["Is married"]));
        let msgs = vec![Message {
            role: "user".into(),
            content: "Hi, I'm Ann".into(),
            actor_id: Some("ann".into()),
        }];
        let e = extraction_messages(
            "policy",
            "today {today}\n{categories}",
            &cats(),
            "2026-01-02",
            &msgs,
        );
        assert_eq!(e[1]["content"], "today 2026-01-02\n- food\n- travel");
        assert_eq!(e[2]["content"], "user (ann): Hi, I'm Ann\n");
    }
}
