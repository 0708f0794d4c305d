//! The users row-level security lets a request see (design §8):
//! `memory.current_user_id` holds one user id, or a JSON array of user ids
//! when a project key acts for several users at once (design §7b).

/// The users named by a `memory.current_user_id` value. Unset or empty is
/// nobody. A value that starts with `[` is read as a JSON array of strings
/// (write one user whose id starts with `[` as a one-element array); any
/// other value is one user id, taken verbatim.
pub fn parse_users(value: Option<&str>) -> Result<Vec<String>, String> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(Vec::new());
    };
    if !v.trim_start().starts_with('[') {
        return Ok(vec![v.to_string()]);
    }
    let parsed: Vec<serde_json::Value> = serde_json::from_str(v)
        .map_err(|e| format!("a value starting with '[' must be a JSON array of user ids: {e}"))?;
    parsed
        .into_iter()
        .map(|u| match u {
            serde_json::Value::String(s) if !s.is_empty() => Ok(s),
            other => Err(format!(
                "every element must be a non-empty string, not {other}"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_user_or_a_list() {
        assert_eq!(parse_users(None).unwrap(), Vec::<String>::new());
        assert_eq!(parse_users(Some("")).unwrap(), Vec::<String>::new());
        assert_eq!(parse_users(Some("alice")).unwrap(), vec!["alice"]);
        // Commas and spaces are part of a single id.
        assert_eq!(parse_users(Some("a, b")).unwrap(), vec!["a, b"]);
        assert_eq!(
            parse_users(Some(r#"["alice", "bob"]"#)).unwrap(),
            vec!["alice", "bob"]
        );
        assert_eq!(parse_users(Some("[]")).unwrap(), Vec::<String>::new());
        assert_eq!(parse_users(Some(r#"["[x"]"#)).unwrap(), vec!["[x"]);
        assert!(parse_users(Some("[alice")).is_err());
        assert!(parse_users(Some("[1]")).is_err());
        assert!(parse_users(Some(r#"[""]"#)).is_err());
        assert!(parse_users(Some(r#"[null]"#)).is_err());
    }
}
