//! What a simple English fact says, for conflict resolution beyond the
//! attribute table: who (`extract::subject_of`), whether it is negated, the
//! predicate (a verb lemma, or a family of verbs that say the same thing)
//! and its object, with articles and time adverbials dropped.
//!
//! "Plays tennis every Sunday" and "Doesn't play tennis anymore" are the
//! same proposition with opposite polarity; "Loves hiking" and "Enjoys
//! hiking", or "Is allergic to peanuts" and "Has an allergy to peanuts",
//! the same one said in other words; "Is allergic to peanuts" and "Is
//! allergic to shellfish" two different ones. Facts this does not read
//! (other languages, a named speaker's line, longer clauses) give None and
//! are left to the attribute table and the embedding similarity.

use crate::extract::subject_of;

/// A fact read as subject, polarity, predicate and object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    pub subject: String,
    pub negated: bool,
    pub predicate: String,
    pub object: String,
}

impl Prop {
    /// The same subject, predicate and object, whatever the polarity.
    pub fn same_claim(&self, other: &Prop) -> bool {
        self.subject == other.subject
            && self.predicate == other.predicate
            && self.object == other.object
    }

    /// The activity a claim is about: liking an activity ("Loves playing
    /// chess") is about the activity itself (play, chess); any other claim
    /// is its predicate and object.
    fn activity(&self) -> (String, String) {
        if self.predicate == "like" {
            let mut words = self.object.split(' ');
            if let Some(first) = words.next().filter(|w| w.len() > 4 && w.ends_with("ing")) {
                let rest: Vec<&str> = words.collect();
                return (verb_key(first, Form::Gerund), rest.join(" "));
            }
        }
        (self.predicate.clone(), self.object.clone())
    }

    /// The other fact denies this one: the same claim with the opposite
    /// polarity, or an activity given up that this one liked ("Gave up
    /// playing chess" against "Loves playing chess"), or taken up again.
    pub fn opposes(&self, other: &Prop) -> bool {
        self.negated != other.negated
            && self.subject == other.subject
            && (self.same_claim(other) || self.activity() == other.activity())
    }
}

/// Negations followed by a verb's base form ("doesn't play").
const NEG_BASE: &[&[&str]] = &[
    &["doesn't"],
    &["does", "not"],
    &["don't"],
    &["do", "not"],
    &["didn't"],
    &["did", "not"],
    &["cannot"],
    &["can't"],
];
/// Negations followed by a conjugated verb ("no longer plays").
const NEG_FINITE: &[&[&str]] = &[&["no", "longer"], &["never"]];
/// Negations followed by a gerund ("stopped playing", "quit smoking").
const NEG_GERUND: &[&[&str]] = &[
    &["stopped"],
    &["has", "stopped"],
    &["quit"],
    &["has", "quit"],
    &["gave", "up"],
    &["has", "given", "up"],
];
/// "Is not" / "isn't" / "is no longer": a negated "be".
const NEG_BE: &[&[&str]] = &[
    &["isn't"],
    &["is", "not"],
    &["is", "no", "longer"],
    &["hasn't"],
    &["has", "not"],
];

/// Words at either end that change when, not what.
const ADVERBS: &[&str] = &[
    "anymore",
    "now",
    "again",
    "still",
    "nowadays",
    "regularly",
    "often",
    "sometimes",
    "usually",
    "always",
    "really",
    "also",
    "too",
    "daily",
    "weekly",
    "much",
];
/// Words that date one occasion. Dropped only after a verb of stopping
/// ("Quit smoking last year" is the habit's end; "Didn't smoke yesterday"
/// is one day, not a denial of "Smokes").
const EPISODE_ADVERBS: &[&str] = &[
    "yesterday",
    "today",
    "tonight",
    "recently",
    "lately",
    "already",
];
const TIME_NOUNS: &[&str] = &[
    "day",
    "week",
    "month",
    "year",
    "morning",
    "evening",
    "night",
    "weekend",
    "weekends",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mondays",
    "tuesdays",
    "wednesdays",
    "thursdays",
    "fridays",
    "saturdays",
    "sundays",
    "days",
    "weeks",
    "months",
    "years",
];
const DETERMINERS: &[&str] = &[
    "a", "an", "the", "my", "his", "her", "their", "our", "some", "any",
];

/// Verb families that state the same proposition.
fn family(key: &str) -> &str {
    match key {
        "lov" | "enjoy" | "lik" | "ador" => "like",
        "hat" | "dislik" | "detest" | "loath" => "dislike",
        _ => key,
    }
}

/// A verb's key: its lemma without a final "e", so every form of one verb
/// gets one key ("smokes", "smoke", "smoking" → "smok").
fn verb_key(word: &str, form: Form) -> String {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric());
    let lemma = match form {
        Form::Base => w.to_string(),
        Form::Finite => match w {
            "has" => "have".into(),
            "is" | "are" | "am" => "be".into(),
            "does" => "do".into(),
            "goes" => "go".into(),
            _ if w.ends_with("ies") && w.len() > 4 => format!("{}y", &w[..w.len() - 3]),
            _ if ["ches", "shes", "sses", "xes", "zes", "oes"]
                .iter()
                .any(|s| w.ends_with(s)) =>
            {
                w[..w.len() - 2].to_string()
            }
            _ if w.ends_with('s') && !w.ends_with("ss") && w.len() > 2 => {
                w[..w.len() - 1].to_string()
            }
            _ => w.to_string(),
        },
        Form::Gerund => match w.strip_suffix("ing") {
            Some(stem) if stem.len() >= 2 => {
                let b = stem.as_bytes();
                let n = b.len();
                if n >= 3 && b[n - 1] == b[n - 2] && !matches!(b[n - 1], b'l' | b's' | b'z') {
                    stem[..n - 1].to_string()
                } else {
                    stem.to_string()
                }
            }
            _ => w.to_string(),
        },
    };
    lemma.strip_suffix('e').unwrap_or(&lemma).to_string()
}

#[derive(Clone, Copy)]
enum Form {
    Base,
    Finite,
    Gerund,
}

fn starts_with(words: &[String], prefix: &[&str]) -> bool {
    words.len() > prefix.len() && prefix.iter().zip(words).all(|(p, w)| *p == w)
}

/// Drop time adverbials and filler words at the end ("every Sunday",
/// "anymore", "these days", "on weekends") and at the start ("now", "still").
/// With `episode`, also the words that date one occasion ("last year",
/// "two years ago", "yesterday").
fn trim_adverbials(words: &mut Vec<String>, episode: bool) {
    loop {
        let n = words.len();
        if n == 0 {
            return;
        }
        let last = words[n - 1].as_str();
        if ADVERBS.contains(&last) || (episode && EPISODE_ADVERBS.contains(&last)) {
            words.pop();
        } else if n >= 2 && TIME_NOUNS.contains(&last) {
            let before = words[n - 2].as_str();
            let dated = matches!(before, "last" | "next" | "this");
            if matches!(
                before,
                "every" | "each" | "on" | "at" | "these" | "per" | "a"
            ) || (episode && dated)
            {
                words.truncate(n - 2);
            } else if n >= 3 && before == "the" && words[n - 3] == "in" {
                words.truncate(n - 3);
            } else {
                return;
            }
        } else if episode && last == "ago" && n >= 3 && TIME_NOUNS.contains(&words[n - 2].as_str())
        {
            // "two years ago", "a week ago"
            words.truncate(n - 3);
        } else if n >= 2
            && matches!(
                (words[n - 2].as_str(), last),
                ("any", "more") | ("any", "longer") | ("a", "lot") | ("as", "well")
            )
        {
            words.truncate(n - 2);
        } else {
            break;
        }
    }
    while words.first().is_some_and(|w| ADVERBS.contains(&w.as_str())) {
        words.remove(0);
    }
}

/// The object: the words after the predicate, determiners dropped.
fn object(words: &[String]) -> String {
    let mut w: Vec<&str> = words.iter().map(String::as_str).collect();
    while w.first().is_some_and(|x| DETERMINERS.contains(x)) {
        w.remove(0);
    }
    w.join(" ")
}

/// Read a fact; None when it is not a simple English clause.
pub fn of(fact: &str) -> Option<Prop> {
    if fact.contains(':') || !fact.is_ascii() {
        return None;
    }
    let subject = subject_of(fact);
    let mut words: Vec<String> = fact
        .to_lowercase()
        .replace(['’', '`'], "'")
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > 12 {
        return None;
    }
    // Clauses joined by "and", "but", "because" say more than one thing.
    if words.iter().any(|w| {
        matches!(
            w.as_str(),
            "and" | "but" | "because" | "so" | "while" | "although"
        )
    }) {
        return None;
    }
    if subject != "user" {
        if words[0] == "my" {
            words.remove(0);
        }
        words.remove(0);
    } else if matches!(words[0].as_str(), "i" | "user") {
        words.remove(0);
    }
    trim_adverbials(&mut words, false);
    if words.is_empty() {
        return None;
    }
    let (negated, form) = if let Some(p) = NEG_BE.iter().find(|p| starts_with(&words, p)) {
        // "Is not a nurse": a negated "be" with the rest as its object.
        words.drain(..p.len() - 1);
        words[0] = if p[0].starts_with("has") {
            "has".into()
        } else {
            "is".into()
        };
        (true, Form::Finite)
    } else if let Some(p) = NEG_BASE.iter().find(|p| starts_with(&words, p)) {
        words.drain(..p.len());
        (true, Form::Base)
    } else if let Some(p) = NEG_FINITE.iter().find(|p| starts_with(&words, p)) {
        words.drain(..p.len());
        (true, Form::Finite)
    } else if let Some(p) = NEG_GERUND.iter().find(|p| starts_with(&words, p)) {
        words.drain(..p.len());
        // A habit stopped at some date: the date says when, not what.
        trim_adverbials(&mut words, true);
        (true, Form::Gerund)
    } else {
        (false, Form::Finite)
    };
    let verb = words.first()?.clone();
    let mut rest: Vec<String> = words[1..].to_vec();
    let mut key = verb_key(&verb, form);
    // "Is allergic to X", "has an allergy to X", "has a X allergy".
    let joined = rest.join(" ");
    if key == "b" && joined.starts_with("allergic to ") {
        return Some(Prop {
            subject,
            negated,
            predicate: "allergic".into(),
            object: object(&rest[2..]),
        });
    }
    if key == "hav" {
        let r: Vec<&str> = rest.iter().map(String::as_str).collect();
        let allergy = r.iter().position(|w| matches!(*w, "allergy" | "allergies"));
        if let Some(i) = allergy {
            let obj: Vec<String> = if r.get(i + 1) == Some(&"to") {
                rest[i + 2..].to_vec()
            } else {
                rest[..i].to_vec()
            };
            return Some(Prop {
                subject,
                negated,
                predicate: "allergic".into(),
                object: object(&obj),
            });
        }
    }
    // "Is fond of X", "is into X", "is a (big) fan of X": the like family.
    if key == "b" {
        let r: Vec<&str> = rest.iter().map(String::as_str).collect();
        let like_at = match r.as_slice() {
            ["fond", "of", ..] | ["a", "fan", "of", ..] => Some(if r[0] == "fond" { 2 } else { 3 }),
            ["a", "big", "fan", "of", ..] | ["a", "huge", "fan", "of", ..] => Some(4),
            ["into", ..] => Some(1),
            _ => None,
        };
        if let Some(n) = like_at {
            key = "lik".into();
            rest = rest[n..].to_vec();
        }
    }
    if !verb.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(Prop {
        subject,
        negated,
        predicate: family(&key).to_string(),
        object: object(&rest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(fact: &str) -> Prop {
        of(fact).unwrap_or_else(|| panic!("no proposition in {fact:?}"))
    }

    #[test]
    fn polarity_forms_and_adverbials() {
        let pos = p("Plays tennis every Sunday");
        assert!(!pos.negated);
        assert_eq!(
            (pos.predicate.as_str(), pos.object.as_str()),
            ("play", "tennis")
        );
        for neg in [
            "Doesn't play tennis anymore",
            "Does not play tennis any more",
            "No longer plays tennis",
            "Stopped playing tennis",
            "Quit playing tennis",
            "Gave up playing tennis these days",
        ] {
            let n = p(neg);
            assert!(n.negated, "{neg}");
            assert!(n.same_claim(&pos), "{neg}: {n:?}");
        }
        assert!(p("Quit smoking").same_claim(&p("Smokes")));
        assert!(p("Stopped running on weekends").same_claim(&p("Runs")));
        assert!(p("Gave up hiking").same_claim(&p("Hikes a lot")));
        assert!(p("Studies French").same_claim(&p("Stopped studying French")));
        assert!(p("Quit smoking last year").same_claim(&p("Smokes")));
        assert!(p("Stopped running two years ago").same_claim(&p("Runs")));
        // One occasion is not the habit's end.
        assert!(!p("Didn't smoke yesterday").same_claim(&p("Smokes")));
        assert!(!p("Didn't swim last week").opposes(&p("Loves swimming")));
        assert!(p("Gave up playing chess").opposes(&p("Loves playing chess")));
        assert!(p("Enjoys swimming").opposes(&p("Doesn't swim anymore")));
        assert!(!p("Enjoys swimming").opposes(&p("Enjoys swimming")));
        assert!(!p("Gave up playing chess").opposes(&p("Loves playing golf")));
        assert!(!p("Sister gave up playing chess").opposes(&p("Loves playing chess")));
    }

    #[test]
    fn families_and_paraphrases() {
        assert!(p("Loves hiking").same_claim(&p("Enjoys hiking")));
        assert!(p("Likes jazz").same_claim(&p("Doesn't like jazz anymore")));
        assert!(p("Is a big fan of jazz").same_claim(&p("Loves jazz")));
        assert!(p("Is allergic to peanuts").same_claim(&p("Has an allergy to peanuts")));
        assert!(p("Has a peanut allergy").same_claim(&p("Is allergic to peanut")));
        assert!(p("Plays the piano").same_claim(&p("Plays piano")));
    }

    #[test]
    fn different_claims_stay_apart() {
        assert!(!p("Is allergic to peanuts").same_claim(&p("Is allergic to shellfish")));
        assert!(!p("Likes tea").same_claim(&p("Likes coffee")));
        assert!(!p("Likes tea").same_claim(&p("Hates tea")));
        assert!(!p("Sister plays tennis").same_claim(&p("Plays tennis")));
        assert!(!p("Plays tennis").same_claim(&p("Watches tennis")));
        assert_eq!(of("Changed careers and now works as a nurse"), None);
        assert_eq!(of("Maria: I love jazz"), None);
    }
}
