//! Whether two facts say the same thing in other words, by their content
//! words: each fact becomes a set of content tokens (function words, light
//! verbs and intensifiers dropped; the words of one predicate family, such
//! as love / enjoy / like / "big fan" or allergic / allergy, mapped to one
//! token; negation kept as a token of its own), and two facts are
//! paraphrases when every token of each matches a token of the other.
//! Tokens match when equal or when they differ only by an inflection
//! ("nurse" / "nursing", "corro" / "correr", "Erdnüsse" / "Erdnuss").
//!
//! This is the word half of the paraphrase test; `conflict::decide` adds an
//! embedding similarity floor, so that two facts must both share their
//! content and lie close in meaning. Facts that share words but differ in
//! one ("allergic to peanuts" / "allergic to cats", "sister lives in
//! Berlin" / "brother lives in Berlin") keep an unmatched token and stay
//! two facts. English, Spanish and German words, and Chinese by character.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

/// Words that carry no content of their own here: pronouns, articles,
/// prepositions, copulas and auxiliaries, light verbs ("go running",
/// "salgo a correr"), intensifiers ("really", "a big fan") and generic
/// nouns that only name a category ("my favourite kind of music").
const STOP: &[&str] = &[
    // English
    "i", "i'm", "im", "me", "my", "mine", "myself", "am", "is", "are", "was", "were", "be", "been",
    "being", "a", "an", "the", "of", "to", "in", "at", "on", "by", "as", "for", "and", "it",
    "that", "this", "there", "really", "very", "big", "huge", "so", "much", "quite", "just", "go",
    "goes", "going", "went", "where", "kind", "type", "sort", "what", "own", "owns", "have", "has",
    "had", "got", "music", "food", "sport", "sports", "drink", "car", "thing", "things", "stuff",
    "genre", "do", "does", "did", // Spanish
    "yo", "mi", "mis", "el", "la", "lo", "los", "las", "un", "una", "unos", "unas", "de", "del",
    "al", "en", "con", "por", "para", "y", "que", "soy", "es", "son", "estoy", "está", "esta",
    "tengo", "tiene", "muy", "mucho", "mucha", "todo", "todos", "todas", "salgo", "sale", "voy",
    "va", "ya", "se", // German
    "ich", "mich", "mir", "mein", "meine", "meinen", "meinem", "meiner", "bin", "ist", "sind",
    "habe", "hat", "haben", "eine", "ein", "einen", "einem", "einer", "der", "die", "das", "den",
    "dem", "des", "gegen", "im", "am", "an", "auf", "zu", "zum", "zur", "sehr", "gehe", "geht",
    "gern", "gerne", "und",
];

/// Predicate families: each word maps to the family's token.
const FAMILIES: &[(&str, &[&str])] = &[
    (
        "~like",
        &[
            "love",
            "loves",
            "loved",
            "loving",
            "enjoy",
            "enjoys",
            "enjoyed",
            "like",
            "likes",
            "liked",
            "fan",
            "fond",
            "favourite",
            "favorite",
            "adore",
            "adores",
            "encanta",
            "encantan",
            "gusta",
            "gustan",
            "amo",
            "adoro",
            "mag",
            "mögen",
            "moegen",
            "liebe",
            "lieben",
            "liebt",
            "mochte",
        ],
    ),
    (
        "~live",
        &[
            "live", "lives", "living", "lived", "home", "reside", "resides", "vivo", "vive",
            "vivir", "wohne", "wohnt", "wohnen", "lebe", "lebt", "leben",
        ],
    ),
    (
        "~work",
        &[
            "work", "works", "working", "worked", "job", "employed", "employer", "trabajo",
            "trabaja", "trabajar", "arbeite", "arbeitet", "arbeiten", "beruf",
        ],
    ),
    (
        "~allergy",
        &[
            "allergic",
            "allergy",
            "allergies",
            "alérgico",
            "alérgica",
            "alergico",
            "alergica",
            "alergia",
            "alergias",
            "allergisch",
            "allergie",
            "allergien",
        ],
    ),
    (
        "~name",
        &[
            "name", "named", "called", "llama", "llamado", "llamada", "heißt", "heisst", "namens",
        ],
    ),
    (
        "~not",
        &[
            "not", "no", "never", "don't", "doesn't", "didn't", "dont", "doesnt", "didnt", "isn't",
            "anymore", "longer", "nunca", "nicht", "kein", "keine", "keinen", "mehr",
        ],
    ),
];

/// Endings two inflections of one word may differ by.
const ENDINGS: &[&str] = &[
    "", "s", "es", "e", "ing", "ning", "ming", "ed", "d", "er", "en", "n", "o", "a", "os", "as",
    "ar", "ir",
];

/// Chinese: phrases mapped to a family token, then characters dropped.
const CJK_FAMILIES: &[(&str, &str)] = &[
    ("不再", "~not"),
    ("不", "~not"),
    ("没", "~not"),
    ("喜欢", "~like"),
    ("热爱", "~like"),
    ("爱", "~like"),
    ("居住", "~live"),
    ("生活", "~live"),
    ("住", "~live"),
    ("工作", "~work"),
    ("上班", "~work"),
    ("过敏", "~allergy"),
    ("叫", "~name"),
];
const CJK_STOP: &str = "我你他她它的了很都去在是也就还会呢吧啊着过一个";
/// Chinese phrases that only place a fact in time ("already", "now").
const CJK_DROP: &[&str] = &["已经", "现在", "一直", "目前"];

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x9fff | 0xf900..=0xfaff)
}

fn fold(w: &str) -> String {
    w.to_lowercase()
        .replace('ü', "u")
        .replace('ö', "o")
        .replace('ä', "a")
        .replace('ß', "ss")
        .replace('’', "'")
}

/// The word lists folded once: family word → token, stop words, and the
/// family words long enough to end a compound (in `FAMILIES` order).
struct Lexicon {
    family: HashMap<String, &'static str>,
    stop: HashSet<String>,
    compounds: Vec<(String, &'static str)>,
}

fn lexicon() -> &'static Lexicon {
    static LEX: OnceLock<Lexicon> = OnceLock::new();
    LEX.get_or_init(|| {
        let mut family = HashMap::new();
        let mut compounds = Vec::new();
        for (token, words) in FAMILIES {
            for w in *words {
                let w = fold(w);
                if w.len() >= 6 {
                    compounds.push((w.clone(), *token));
                }
                family.entry(w).or_insert(*token);
            }
        }
        Lexicon {
            family,
            stop: STOP.iter().map(|w| fold(w)).collect(),
            compounds,
        }
    })
}

/// The content tokens of a fact.
pub fn content(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let lower = text.to_lowercase();
    // "doesn't eat meat" is what being vegetarian means.
    let lower = lower
        .replace("don't eat meat", "vegetarian")
        .replace("doesn't eat meat", "vegetarian")
        .replace("do not eat meat", "vegetarian")
        .replace("does not eat meat", "vegetarian");
    // Chinese first: family phrases, then the remaining characters.
    let mut rest = String::with_capacity(lower.len());
    let mut cjk = String::new();
    for c in lower.chars() {
        if is_cjk(c) {
            cjk.push(c);
            rest.push(' ');
        } else {
            rest.push(c);
        }
    }
    if !cjk.is_empty() {
        let mut s = cjk;
        for phrase in CJK_DROP {
            s = s.replace(phrase, " ");
        }
        for (phrase, token) in CJK_FAMILIES {
            if s.contains(phrase) {
                out.insert(token.to_string());
                s = s.replace(phrase, " ");
            }
        }
        for c in s.chars().filter(|c| is_cjk(*c) && !CJK_STOP.contains(*c)) {
            out.insert(c.to_string());
        }
    }
    let lex = lexicon();
    for raw in rest.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’')) {
        let w = fold(raw.trim_matches('\''));
        if w.is_empty() {
            continue;
        }
        if let Some(token) = lex.family.get(&w) {
            out.insert(token.to_string());
            continue;
        }
        if lex.stop.contains(&w) {
            continue;
        }
        // German compounds ending in a family word: "Erdnussallergie".
        if let Some((token, stem)) = lex.compounds.iter().find_map(|(x, t)| {
            (w.len() > x.len() + 2)
                .then(|| w.strip_suffix(x.as_str()).map(|s| (t, s.to_string())))
                .flatten()
        }) {
            out.insert(token.to_string());
            out.insert(stem);
            continue;
        }
        out.insert(w);
    }
    out
}

/// Two words are one when equal, or when they share a stem of at least
/// three letters and each continues it with an inflection ending.
fn same_word(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if a.starts_with('~') || b.starts_with('~') {
        return false;
    }
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    // Try the longest shared stem and one letter shorter ("corr|o" /
    // "corr|er" share "corr"; "hik|e" / "hik|ing" share "hik").
    (common.saturating_sub(1)..=common).rev().any(|n| {
        n >= 3 && {
            let ra: String = a.chars().skip(n).collect();
            let rb: String = b.chars().skip(n).collect();
            ENDINGS.contains(&ra.as_str()) && ENDINGS.contains(&rb.as_str())
        }
    })
}

/// `same_content` for the content tokens of two facts.
pub fn matches(x: &BTreeSet<String>, y: &BTreeSet<String>) -> bool {
    !x.is_empty()
        && !y.is_empty()
        && x.iter().all(|w| y.iter().any(|v| same_word(w, v)))
        && y.iter().all(|w| x.iter().any(|v| same_word(w, v)))
}

/// Whether two facts say the same thing in other words (by content words
/// only; see the module comment).
pub fn same_content(a: &str, b: &str) -> bool {
    matches(&content(a), &content(b))
}

/// How fact `a` stands to fact `b` when both say the same thing but one of
/// them negates it ("Ya no me gusta el café" / "Me gusta el café", "Ich
/// trinke keinen Kaffee mehr" / "Ich trinke Kaffee"): `Some(true)` when `a`
/// denies `b`, `Some(false)` when `a` affirms what `b` denied, `None`
/// otherwise.
pub fn denies(a: &str, b: &str) -> Option<bool> {
    denies_content(&content(a), &content(b))
}

/// `denies` for the content tokens of two facts.
pub fn denies_content(x: &BTreeSet<String>, y: &BTreeSet<String>) -> Option<bool> {
    let (nx, ny) = (x.contains(NOT), y.contains(NOT));
    if nx == ny {
        return None;
    }
    let strip = |s: &BTreeSet<String>| -> BTreeSet<String> {
        s.iter().filter(|w| w.as_str() != NOT).cloned().collect()
    };
    matches(&strip(x), &strip(y)).then_some(nx)
}

const NOT: &str = "~not";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restated_facts_share_their_content() {
        for (a, b) in [
            ("Works as a nurse", "Job is nursing"),
            ("Lives in Paris", "Paris is where I live"),
            ("Loves hiking", "Really enjoys hiking"),
            ("Likes green tea", "Is a big fan of green tea"),
            ("Runs every Sunday", "Every Sunday goes running"),
            ("Is vegetarian", "Doesn't eat meat"),
            ("Dog is called Rex", "Rex is the name of dog"),
            ("Me gusta el té verde", "Me encanta el té verde"),
            (
                "Soy alérgico a los cacahuetes",
                "Tengo alergia a los cacahuetes",
            ),
            ("Ich mag grünen Tee", "Ich liebe grünen Tee"),
            (
                "Ich bin allergisch gegen Erdnüsse",
                "Ich habe eine Erdnussallergie",
            ),
            ("我住在北京", "我在北京生活"),
            ("我喜欢喝茶", "我很爱喝茶"),
            ("Works at Microsoft", "Is employed by Microsoft"),
            ("Lives in Chicago", "Chicago is my home"),
            ("Likes jazz", "Jazz is my favourite kind of music"),
            ("Corro todos los domingos", "Los domingos salgo a correr"),
        ] {
            assert!(
                same_content(a, b),
                "{a} / {b}: {:?} {:?}",
                content(a),
                content(b)
            );
        }
    }

    #[test]
    fn different_facts_keep_a_word_of_their_own() {
        for (a, b) in [
            ("Is allergic to peanuts", "Is allergic to cats"),
            ("Sister lives in Berlin", "Brother lives in Berlin"),
            ("Likes tea", "Likes team sports"),
            ("Likes tea", "Doesn't like tea"),
            ("Loves hiking", "Friend loves hiking"),
            ("Loves hiking", "Loves hiking in the Alps"),
            ("Works at Microsoft", "Works at Google"),
            ("我喜欢足球", "我喜欢篮球"),
            ("Ich wohne in Hamburg", "Ich wohne nicht mehr in Hamburg"),
            ("Has a cat", "Has a car"),
        ] {
            assert!(
                !same_content(a, b),
                "{a} / {b}: {:?} {:?}",
                content(a),
                content(b)
            );
        }
        assert!(!same_content("", "Likes tea"));
    }

    #[test]
    fn a_negation_denies_the_same_fact() {
        assert_eq!(
            denies("Ya no me gusta el café", "Me gusta el café"),
            Some(true)
        );
        assert_eq!(
            denies("Ich trinke keinen Kaffee mehr", "Ich trinke Kaffee"),
            Some(true)
        );
        assert_eq!(denies("我不再喜欢喝咖啡了", "我喜欢喝咖啡"), Some(true));
        assert_eq!(denies("我已经不在银行工作了", "我在银行工作"), Some(true));
        assert_eq!(
            denies("Me gusta el café", "No me gusta el café"),
            Some(false)
        );
        // Not the same fact, or no negation on either side.
        assert_eq!(denies("Ya no me gusta el té", "Me gusta el café"), None);
        assert_eq!(denies("Me encanta el café", "Me gusta el café"), None);
        assert_eq!(
            denies("No me gusta el café", "No me gusta nada el café"),
            None
        );
    }
}
