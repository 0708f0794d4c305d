//! Who said a memory, and whether a query names them.
//!
//! A question about a person ("what does Anna do to relax?") is most often
//! answered by something that person said, not by the turns of the people
//! talking to them. A memory's speaker is its `actor_id` (the `name` of the
//! message it came from) or, for text written as a transcript line, the
//! label before the colon: `Anna: I took up pottery` or `王伟：…`. A label
//! is one to three words, each starting with a capital letter (or a letter
//! of a script without case), at most 40 characters, followed by a colon
//! and a space (or a full-width colon). A search then lifts the memories
//! whose speaker the query names (see `rank::SPEAKER_BOOST`): a speaker
//! word of three or more letters among the query's words, or, in a script
//! written without spaces, anywhere in the query.

/// The speaker label at the start of a transcript line, if any.
pub fn label(text: &str) -> Option<&str> {
    let t = text.trim_start();
    let (end, sep_len) = t
        .char_indices()
        .take(41)
        .find(|(_, c)| *c == ':' || *c == '：')
        .map(|(i, c)| (i, c.len_utf8()))?;
    let head = t[..end].trim_end();
    let rest = &t[end + sep_len..];
    let fullwidth = sep_len > 1;
    if head.is_empty() || !(fullwidth || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    let words: Vec<&str> = head.split_whitespace().collect();
    if words.len() > 3 {
        return None;
    }
    let word_ok = |w: &str| {
        let mut cs = w.chars();
        let first_ok = cs
            .next()
            .is_some_and(|c| c.is_uppercase() || (c.is_alphabetic() && !c.is_lowercase()));
        first_ok
            && w.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '\'' | '-' | '’'))
    };
    words.iter().all(|w| word_ok(w)).then_some(head)
}

/// The words of a query, lower-cased, for `Query::names`.
pub struct Query {
    lower: String,
    words: Vec<String>,
}

/// Letters of scripts written without spaces between words.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF | 0x0E00..=0x0E7F)
}

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

impl Query {
    pub fn new(text: &str) -> Query {
        let lower = text.to_lowercase();
        let mut ws: Vec<String> = words(&lower).map(str::to_string).collect();
        ws.sort();
        ws.dedup();
        Query { lower, words: ws }
    }

    /// Whether the query names `speaker` (an actor id or a label).
    pub fn names(&self, speaker: &str) -> bool {
        let s = speaker.to_lowercase();
        let named = words(&s).any(|w| {
            if w.chars().any(unspaced) {
                w.chars().count() >= 2 && self.lower.contains(w)
            } else {
                w.chars().count() >= 3 && self.words.binary_search_by(|q| q.as_str().cmp(w)).is_ok()
            }
        });
        named
    }

    /// Whether some word of the query could name a speaker at all (saves the
    /// lookup when none can).
    pub fn may_name(&self) -> bool {
        self.words
            .iter()
            .any(|w| w.chars().count() >= 3 || w.chars().any(unspaced))
    }
}

/// Who said a message, for telling a reply from a continuation: its actor
/// id, else its transcript label, else its role; lower-cased.
pub fn turn(role: Option<&str>, actor_id: Option<&str>, text: &str) -> String {
    actor_id
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .or_else(|| label(text))
        .or(role)
        .unwrap_or("")
        .to_lowercase()
}

/// Whether a message said by `now` answers one said by `before` (see
/// `turn`): a change of speaker. Only a reply takes the message before it
/// as its context; one speaker's next sentence stands on its own (it is
/// still a neighbour). A user who adds facts one at a time ("I moved to
/// Lisbon", then "I am allergic to nuts") has no reply in it, and blending
/// two unrelated facts would only blur both.
pub fn replies(before: &str, now: &str) -> bool {
    before != now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_of_transcript_lines() {
        assert_eq!(label("Anna: I took up pottery"), Some("Anna"));
        assert_eq!(label("  Dr. Ruth Weiss: take two"), Some("Dr. Ruth Weiss"));
        assert_eq!(label("王伟：我喜欢喝茶"), Some("王伟"));
        assert_eq!(label("José-Luis: hola"), Some("José-Luis"));
        // not labels
        assert_eq!(label("I went there: it was fun"), None);
        assert_eq!(label("the plan: go"), None);
        assert_eq!(label("Meeting at 10:30 today"), None);
        assert_eq!(label("https://example.com"), None);
        assert_eq!(label("Anna:no space"), None);
        assert_eq!(label("Anna Maria Sofia Lopez: hi"), None);
        assert_eq!(label("no colon here"), None);
        assert_eq!(label(": empty"), None);
        assert_eq!(
            label("A very long first line without any colon until here: x"),
            None
        );
    }

    #[test]
    fn turns_tell_replies_from_continuations() {
        let anna = turn(Some("user"), None, "Anna: I took up pottery");
        let ben = turn(Some("user"), None, "Ben: since when?");
        assert_eq!(anna, "anna");
        assert!(replies(&anna, &ben));
        assert!(!replies(
            &anna,
            &turn(Some("user"), Some(" Anna "), "it is fun")
        ));
        // Without names, the role decides.
        let user = turn(Some("user"), None, "I moved to Lisbon");
        assert!(!replies(
            &user,
            &turn(Some("user"), None, "I am allergic to nuts")
        ));
        assert!(replies(
            &user,
            &turn(Some("assistant"), None, "Welcome to Lisbon!")
        ));
        // The actor id wins over a label and the role.
        assert_eq!(turn(Some("user"), Some("Cleo"), "Anna: hi"), "cleo");
        assert_eq!(turn(None, Some(""), "no label"), "");
    }

    #[test]
    fn queries_name_speakers() {
        let q = Query::new("What does Anna's brother do to relax?");
        assert!(q.names("Anna"));
        assert!(q.names("anna"));
        assert!(q.names("Anna Lopez"));
        assert!(!q.names("Ann"));
        assert!(!q.names("Bob"));
        // short words never count (titles, initials)
        assert!(!Query::new("what did dr say").names("Dr"));
        assert!(Query::new("王伟喜欢什么？").names("王伟"));
        assert!(!Query::new("李娜喜欢什么？").names("王伟"));
        assert!(Query::new("where does anna live").may_name());
        assert!(!Query::new("is it ok").may_name());
    }
}
