//! Reading Mem0 request bodies and query strings: lenient about keys the
//! service does not know (clients of each generation send extras), strict
//! about the types of the keys it uses.

use crate::error::{ApiError, ApiResult};
use crate::session::Principal;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};

pub type Body = Result<Bytes, BytesRejection>;
pub type Object = Map<String, Value>;

/// The body as a JSON object; an empty body is `{}`.
pub fn object(body: Body, limit: usize) -> ApiResult<Object> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body over the limit of {limit} bytes"),
            )
        } else {
            ApiError::bad_request(e.body_text())
        }
    })?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request(
            "the request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(format!("malformed JSON: {e}"))),
    }
}

fn wrong_type(key: &str, expected: &str) -> ApiError {
    ApiError::bad_request(format!("'{key}' must be {expected}"))
}

/// A string field; null or absent is None. Numbers are taken as their text
/// (ids sent as numbers by loosely typed clients).
pub fn opt_str(m: &Object, key: &str) -> ApiResult<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(wrong_type(key, "a string")),
    }
}

pub fn opt_bool(m: &Object, key: &str) -> ApiResult<Option<bool>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(_) => Err(wrong_type(key, "a boolean")),
    }
}

pub fn opt_f64(m: &Object, key: &str) -> ApiResult<Option<f64>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| wrong_type(key, "a number")),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| wrong_type(key, "a number")),
        Some(_) => Err(wrong_type(key, "a number")),
    }
}

pub fn opt_int(m: &Object, key: &str, min: i64, max: i64) -> ApiResult<Option<i64>> {
    let v = match m.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match v {
        Some(i) if (min..=max).contains(&i) => Ok(Some(i)),
        _ => Err(ApiError::bad_request(format!(
            "'{key}' must be an integer from {min} to {max}"
        ))),
    }
}

/// An object field (null or absent is None).
pub fn opt_object(m: &Object, key: &str) -> ApiResult<Option<Object>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o.clone())),
        Some(_) => Err(wrong_type(key, "a JSON object")),
    }
}

/// A query string as a map (the last value of a repeated key wins).
pub fn query_map(q: Vec<(String, String)>) -> Object {
    q.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
}

/// The three fences and Mem0's app_id.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub run_id: Option<String>,
    pub app_id: Option<String>,
}

const SCOPE_KEYS: [&str; 4] = ["user_id", "agent_id", "run_id", "app_id"];

impl Scope {
    /// Scope keys at the top level of a body or query string.
    pub fn from_object(m: &Object) -> ApiResult<Scope> {
        Ok(Scope {
            user_id: opt_str(m, "user_id")?,
            agent_id: opt_str(m, "agent_id")?,
            run_id: opt_str(m, "run_id")?,
            app_id: opt_str(m, "app_id")?,
        })
    }

    /// `add` takes the scope inside `filters` too (mem0ai 2.x sends it
    /// there): only plain scope keys are allowed in that object.
    pub fn merge_add_filters(&mut self, filters: &Object) -> ApiResult<()> {
        for key in filters.keys() {
            if !SCOPE_KEYS.contains(&key.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "unknown field '{key}' in filters of add: only user_id, agent_id, run_id and app_id are allowed"
                )));
            }
        }
        let other = Scope::from_object(filters)?;
        for (mine, theirs, key) in [
            (&mut self.user_id, other.user_id, "user_id"),
            (&mut self.agent_id, other.agent_id, "agent_id"),
            (&mut self.run_id, other.run_id, "run_id"),
            (&mut self.app_id, other.app_id, "app_id"),
        ] {
            match (mine.as_ref(), theirs) {
                (Some(a), Some(b)) if *a != b => {
                    return Err(ApiError::bad_request(format!(
                        "'{key}' differs between the body and its filters"
                    )))
                }
                (None, Some(b)) => *mine = Some(b),
                _ => {}
            }
        }
        Ok(())
    }

    pub fn has_fence(&self) -> bool {
        self.user_id.is_some() || self.agent_id.is_some() || self.run_id.is_some()
    }

    /// A key bound to a user acts for that user only: another user_id is
    /// refused (403), a missing one is filled in.
    pub fn fence(&mut self, p: &Principal) -> ApiResult<()> {
        if let Some(bound) = &p.user_id {
            match &self.user_id {
                Some(u) if u != bound => return Err(other_user()),
                Some(_) => {}
                None => self.user_id = Some(bound.clone()),
            }
        }
        Ok(())
    }
}

pub fn other_user() -> ApiError {
    ApiError::forbidden("this API key is bound to another user_id")
}

/// The users a filter names: the values of every `user_id` condition that
/// is a plain value, `eq` or `in`, at any depth outside `metadata` (`"*"`,
/// `ne` and `nin` name nobody).
pub fn filter_users(v: &Value) -> Vec<String> {
    fn named(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s != "*" => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Array(a) => a.iter().for_each(|x| named(x, out)),
            Value::Object(o) => {
                for (k, x) in o {
                    if k == "eq" || k == "in" {
                        named(x, out);
                    }
                }
            }
            _ => {}
        }
    }
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    if k == "user_id" {
                        named(x, out);
                    } else if k != "metadata" {
                        // Mem0's nested metadata form names metadata keys.
                        walk(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    out
}

/// Refuse filters that name a user other than the key's own (row-level
/// security would show nothing of it anyway; the 403 says why).
pub fn check_filter_users(v: &Value, p: &Principal) -> ApiResult<()> {
    match &p.user_id {
        Some(bound) if filter_users(v).iter().any(|u| u != bound) => Err(other_user()),
        _ => Ok(()),
    }
}

/// The users a request names: its scope's user_id and those of its filters.
pub fn named_users(scope: &Scope, filters: Option<&Value>) -> Vec<String> {
    let mut users: Vec<String> = scope.user_id.iter().cloned().collect();
    if let Some(f) = filters {
        users.extend(filter_users(f));
    }
    users
}

/// AND of filter parts (None when there are none).
pub fn and_all(mut parts: Vec<Value>) -> Option<Value> {
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(json!({ "AND": parts })),
    }
}

/// The `filters` of a search or listing, with a top-level `app_id` and
/// Mem0's `categories` list folded in as conditions.
pub fn listing_filters(m: &Object, scope: &Scope, p: &Principal) -> ApiResult<Option<Value>> {
    let mut parts = Vec::new();
    if let Some(f) = opt_object(m, "filters")? {
        let f = Value::Object(f);
        check_filter_users(&f, p)?;
        parts.push(f);
    }
    if let Some(app) = &scope.app_id {
        parts.push(json!({ "app_id": app }));
    }
    match m.get("categories") {
        None | Some(Value::Null) => {}
        Some(Value::Array(c)) if c.iter().all(Value::is_string) => {
            if !c.is_empty() {
                parts.push(json!({ "categories": { "in": c } }));
            }
        }
        Some(_) => return Err(wrong_type("categories", "a list of strings")),
    }
    Ok(and_all(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(u: &str) -> Principal {
        Principal {
            key_name: "k".into(),
            user_id: Some(u.into()),
            admin: false,
        }
    }

    #[test]
    fn users_named_by_filters() {
        let f = json!({"OR": [{"user_id": "a"}, {"AND": [{"user_id": {"in": ["b", "c"]}}]}],
                       "agent_id": "x"});
        assert_eq!(filter_users(&f), vec!["a", "b", "c"]);
        assert_eq!(filter_users(&json!({"user_id": {"eq": "a"}})), vec!["a"]);
        assert!(filter_users(&json!({"user_id": "*"})).is_empty());
        assert!(filter_users(&json!({"user_id": {"ne": "a"}})).is_empty());
        assert!(filter_users(&json!({"user_id": {"nin": ["a"]}})).is_empty());
        assert!(filter_users(&json!({"metadata": {"user_id": "a"}})).is_empty());
        let scope = Scope {
            user_id: Some("z".into()),
            ..Scope::default()
        };
        assert_eq!(
            named_users(&scope, Some(&json!({"user_id": "a"}))),
            vec!["z", "a"]
        );
        assert!(named_users(&Scope::default(), None).is_empty());
    }

    #[test]
    fn filter_users_of_a_bound_key() {
        let p = bound("alice");
        assert!(check_filter_users(&json!({"user_id": "alice"}), &p).is_ok());
        assert!(check_filter_users(
            &json!({"AND": [{"user_id": "alice"}, {"agent_id": "x"}]}),
            &p
        )
        .is_ok());
        assert_eq!(
            check_filter_users(&json!({"OR": [{"user_id": "bob"}]}), &p)
                .unwrap_err()
                .status,
            StatusCode::FORBIDDEN
        );
        assert!(check_filter_users(&json!({"user_id": {"in": ["alice", "bob"]}}), &p).is_err());
        assert!(check_filter_users(&json!({"user_id": "*"}), &p).is_ok());
        let free = Principal {
            key_name: "k".into(),
            user_id: None,
            admin: false,
        };
        assert!(check_filter_users(&json!({"user_id": "bob"}), &free).is_ok());
    }

    #[test]
    fn scope_in_add_filters() {
        let mut s = Scope {
            user_id: Some("a".into()),
            ..Scope::default()
        };
        let f = json!({"user_id": "a", "agent_id": "b"});
        s.merge_add_filters(f.as_object().unwrap()).unwrap();
        assert_eq!(s.agent_id.as_deref(), Some("b"));
        let f = json!({"user_id": "z"});
        assert!(s.merge_add_filters(f.as_object().unwrap()).is_err());
        let f = json!({"metadata.x": 1});
        assert!(s.merge_add_filters(f.as_object().unwrap()).is_err());
    }

    #[test]
    fn fence_fills_and_refuses() {
        let mut s = Scope::default();
        s.fence(&bound("alice")).unwrap();
        assert_eq!(s.user_id.as_deref(), Some("alice"));
        let mut s = Scope {
            user_id: Some("bob".into()),
            ..Scope::default()
        };
        assert_eq!(
            s.fence(&bound("alice")).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn typed_fields() {
        let m = json!({"a": "x", "n": 5, "b": true, "bad": [1]});
        let m = m.as_object().unwrap();
        assert_eq!(opt_str(m, "a").unwrap().as_deref(), Some("x"));
        assert_eq!(opt_int(m, "n", 1, 10).unwrap(), Some(5));
        assert!(opt_int(m, "n", 6, 10).is_err());
        assert_eq!(opt_bool(m, "b").unwrap(), Some(true));
        assert!(opt_str(m, "bad").is_err());
        assert_eq!(opt_str(m, "missing").unwrap(), None);
    }
}
