//! Knowledge-graph edges read from facts: "Adam is John's father" →
//! (Adam) -father_of-> (John); "Lives in Paris" → (user) -lives_in-> (Paris).
//!
//! The rules are data (`RULES`): one regular expression per language and
//! shape of sentence, matched on a fact as the extractors write it (English
//! facts in the third person without subject, other languages as said).
//! Relation names are English snake_case whatever the language, so one graph
//! query works across languages; entity names stay as said.
//!
//! A fact with no subject is about the user: the caller names the user's
//! entity (its `user_id`). A relative without a name ("Sister lives in
//! Berlin") becomes an entity named by the relation word, linked to the
//! user ("sister" -sister_of-> user).

use regex::Regex;
use std::sync::OnceLock;

/// Kinds of entities.
pub const USER: &str = "user";
pub const PERSON: &str = "person";
pub const PET: &str = "pet";
pub const PLACE: &str = "place";
pub const ORGANIZATION: &str = "organization";
pub const THING: &str = "thing";

/// One end of an edge. `name` is `None` for the user (named by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: Option<String>,
    pub kind: &'static str,
}

impl Node {
    fn user() -> Node {
        Node {
            name: None,
            kind: USER,
        }
    }
    fn named(name: &str, kind: &'static str) -> Node {
        Node {
            name: Some(name.to_string()),
            kind,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub source: Node,
    pub relation: String,
    pub target: Node,
}

/// How a rule names the relation.
#[derive(Clone, Copy)]
enum Rel {
    /// Always this relation.
    Fixed(&'static str),
    /// The kinship word captured as `rel`, through `KIN`, + "_of".
    Kin,
}

/// One sentence shape. Groups: `s` (source name; absent = the subject of
/// the fact: a relative captured as `rel`, else the user), `t` (target
/// name; absent = the user), `rel` (a kinship word).
struct Rule {
    lang: &'static str,
    pattern: &'static str,
    relation: Rel,
    source: &'static str,
    target: &'static str,
}

// A capitalized name of one to three words ("Adam", "Anna Maria", "O'Neil").
macro_rules! name {
    () => {
        r"[\p{Lu}][\p{L}'\-]*(?: [\p{Lu}][\p{L}'\-]*){0,2}"
    };
}
// Kinship words of the English rules (their relation names are in KIN).
macro_rules! kin_en {
    () => {
        r"(?i:father|dad|mother|mom|mum|brother|sister|son|daughter|wife|husband|partner|friend|boyfriend|girlfriend|boss|manager|colleague|grandfather|grandpa|grandmother|grandma|uncle|aunt|cousin|fiance|fiancé|fiancée|neighbor|neighbour)"
    };
}
// The rest of a sentence, as the value of a place, employer or liking.
macro_rules! rest {
    () => {
        r"[^,.;!?。，]+?"
    };
}
// Words that end a value without belonging to it ("Paris now").
macro_rules! tail {
    () => {
        r"(?:\s+(?:now|currently|again|these days|since .*|for .*|last .*|this .*))?\s*[.!。]?$"
    };
}

static RULES: &[Rule] = &[
    // --- English ---
    Rule {
        lang: "en",
        pattern: concat!(
            r"^(?P<s>",
            name!(),
            r") is (?P<t>",
            name!(),
            r")'s (?P<rel>",
            kin_en!(),
            r")\s*[.!]?$"
        ),
        relation: Rel::Kin,
        source: PERSON,
        target: PERSON,
    },
    Rule {
        lang: "en",
        pattern: concat!(
            r"^(?P<rel>",
            kin_en!(),
            r")(?:'s name is| is named| is called| named| is) (?P<s>",
            name!(),
            r")\s*[.!]?$"
        ),
        relation: Rel::Kin,
        source: PERSON,
        target: USER,
    },
    Rule {
        lang: "en",
        pattern: concat!(
            r"^(?:(?P<rel>",
            kin_en!(),
            r") )?(?:(?P<s>",
            name!(),
            r") )?(?i:lives|is living|moved|has moved|relocated|is moving)(?: back)? (?:in|to) (?P<t>",
            rest!(),
            r")",
            tail!()
        ),
        relation: Rel::Fixed("lives_in"),
        source: PERSON,
        target: PLACE,
    },
    Rule {
        lang: "en",
        pattern: concat!(
            r"^(?:(?P<rel>",
            kin_en!(),
            r") )?(?:(?P<s>",
            name!(),
            r") )?(?i:works|is working|started working|started a new job|got a job|works as (?:a |an )?[^,.;]+?)(?: now)? (?:at|for) (?P<t>",
            rest!(),
            r")",
            tail!()
        ),
        relation: Rel::Fixed("works_at"),
        source: PERSON,
        target: ORGANIZATION,
    },
    // A career change said indirectly: "Changed careers and now I work as a
    // nurse at the city hospital".
    Rule {
        lang: "en",
        pattern: concat!(
            r"^(?i:(?:changed|switched) (?:careers?|jobs?)|got a new job|started a new job|left [^,.;]+?)",
            r"(?i:,? and)?(?i: now)?(?i: I)? (?i:works?|is working|started working) (?i:as (?:a |an )?[^,.;]+? )?(?i:at|for) (?P<t>",
            rest!(),
            r")",
            tail!()
        ),
        relation: Rel::Fixed("works_at"),
        source: PERSON,
        target: ORGANIZATION,
    },
    Rule {
        lang: "en",
        pattern: concat!(
            r"^(?:(?P<s>",
            name!(),
            r") )?(?i:is married to|married) (?P<t>",
            name!(),
            r")",
            tail!()
        ),
        relation: Rel::Fixed("married_to"),
        source: PERSON,
        target: PERSON,
    },
    Rule {
        lang: "en",
        pattern: concat!(
            r"^(?i:has|owns|adopted|got)(?i: a| an)? (?i:dog|cat|puppy|kitten|bird|parrot|hamster|rabbit|horse|fish|turtle|pet)(?i: named| called) (?P<t>",
            name!(),
            r")",
            tail!()
        ),
        relation: Rel::Fixed("owns"),
        source: USER,
        target: PET,
    },
    Rule {
        lang: "en",
        pattern: concat!(
            r"^(?:(?P<s>",
            name!(),
            r") )?(?i:likes|loves|enjoys|adores|prefers) (?P<t>",
            rest!(),
            r")",
            tail!()
        ),
        relation: Rel::Fixed("likes"),
        source: PERSON,
        target: THING,
    },
    Rule {
        lang: "en",
        pattern: concat!(
            r"^(?:(?P<s>",
            name!(),
            r") )?(?i:is allergic to) (?P<t>",
            rest!(),
            r")",
            tail!()
        ),
        relation: Rel::Fixed("allergic_to"),
        source: PERSON,
        target: THING,
    },
    Rule {
        lang: "en",
        pattern: concat!(
            r"^(?P<s>",
            name!(),
            r") (?i:knows|is friends with) (?P<t>",
            name!(),
            r")\s*[.!]?$"
        ),
        relation: Rel::Fixed("knows"),
        source: PERSON,
        target: PERSON,
    },
    // --- Spanish ---
    Rule {
        lang: "es",
        pattern: concat!(
            r"^(?P<s>",
            name!(),
            r") es (?:el|la|su) (?P<rel>(?i:padre|madre|papá|mamá|hermano|hermana|hijo|hija|esposo|esposa|marido|mujer|abuelo|abuela|tío|tía|primo|prima|amigo|amiga|novio|novia|jefe|jefa)) de (?P<t>",
            name!(),
            r")\s*[.!]?$"
        ),
        relation: Rel::Kin,
        source: PERSON,
        target: PERSON,
    },
    Rule {
        lang: "es",
        pattern: concat!(
            r"^(?:(?P<s>",
            name!(),
            r") )?(?i:vivo|vive|vivimos|me mudé|me he mudado|se mudó) (?:en|a) (?P<t>",
            rest!(),
            r")\s*[.!]?$"
        ),
        relation: Rel::Fixed("lives_in"),
        source: PERSON,
        target: PLACE,
    },
    Rule {
        lang: "es",
        pattern: concat!(
            r"^(?:(?P<s>",
            name!(),
            r") )?(?i:trabajo|trabaja) (?:en|para) (?P<t>",
            rest!(),
            r")\s*[.!]?$"
        ),
        relation: Rel::Fixed("works_at"),
        source: PERSON,
        target: ORGANIZATION,
    },
    // --- German ---
    Rule {
        lang: "de",
        pattern: concat!(
            r"^(?P<s>",
            name!(),
            r") ist (?:der|die) (?P<rel>(?i:vater|mutter|bruder|schwester|sohn|tochter|mann|frau|ehemann|ehefrau|großvater|großmutter|opa|oma|onkel|tante|freund|freundin|chef|chefin)) (?:von )?(?P<t>",
            name!(),
            r")\s*[.!]?$"
        ),
        relation: Rel::Kin,
        source: PERSON,
        target: PERSON,
    },
    Rule {
        lang: "de",
        pattern: concat!(
            r"^(?:Ich|(?P<s>",
            name!(),
            r")) (?i:wohne|wohnt|lebe|lebt) (?:jetzt )?in (?P<t>",
            rest!(),
            r")\s*[.!]?$"
        ),
        relation: Rel::Fixed("lives_in"),
        source: PERSON,
        target: PLACE,
    },
    Rule {
        lang: "de",
        pattern: concat!(
            r"^(?:Ich|(?P<s>",
            name!(),
            r")) (?i:arbeite|arbeitet) (?:jetzt )?(?:bei|für) (?P<t>",
            rest!(),
            r")\s*[.!]?$"
        ),
        relation: Rel::Fixed("works_at"),
        source: PERSON,
        target: ORGANIZATION,
    },
    // --- Chinese ---
    Rule {
        lang: "zh",
        pattern: r"^(?P<s>\p{Han}{1,8}?)是(?P<t>\p{Han}{1,8}?)的(?P<rel>父亲|爸爸|母亲|妈妈|哥哥|姐姐|弟弟|妹妹|儿子|女儿|妻子|丈夫|朋友|爷爷|奶奶|老板)[。！]?$",
        relation: Rel::Kin,
        source: PERSON,
        target: PERSON,
    },
    Rule {
        lang: "zh",
        pattern: r"^(?:我|(?P<s>\p{Han}{1,8}?))(?:现在)?(?:住在|搬到了|搬到)(?P<t>[^，。！]+?)[。！]?$",
        relation: Rel::Fixed("lives_in"),
        source: PERSON,
        target: PLACE,
    },
    Rule {
        lang: "zh",
        pattern: r"^(?:我|(?P<s>\p{Han}{1,8}?))在(?P<t>[^，。！]+?)工作[。！]?$",
        relation: Rel::Fixed("works_at"),
        source: PERSON,
        target: ORGANIZATION,
    },
];

/// Kinship words (any language) → the English relation stem.
static KIN: &[(&str, &str)] = &[
    ("father", "father"),
    ("dad", "father"),
    ("mother", "mother"),
    ("mom", "mother"),
    ("mum", "mother"),
    ("brother", "brother"),
    ("sister", "sister"),
    ("son", "son"),
    ("daughter", "daughter"),
    ("wife", "wife"),
    ("husband", "husband"),
    ("partner", "partner"),
    ("friend", "friend"),
    ("boyfriend", "boyfriend"),
    ("girlfriend", "girlfriend"),
    ("boss", "boss"),
    ("manager", "boss"),
    ("colleague", "colleague"),
    ("grandfather", "grandfather"),
    ("grandpa", "grandfather"),
    ("grandmother", "grandmother"),
    ("grandma", "grandmother"),
    ("uncle", "uncle"),
    ("aunt", "aunt"),
    ("cousin", "cousin"),
    ("fiance", "fiance"),
    ("fiancé", "fiance"),
    ("fiancée", "fiance"),
    ("neighbor", "neighbor"),
    ("neighbour", "neighbor"),
    // Spanish
    ("padre", "father"),
    ("papá", "father"),
    ("madre", "mother"),
    ("mamá", "mother"),
    ("hermano", "brother"),
    ("hermana", "sister"),
    ("hijo", "son"),
    ("hija", "daughter"),
    ("esposo", "husband"),
    ("marido", "husband"),
    ("esposa", "wife"),
    ("mujer", "wife"),
    ("abuelo", "grandfather"),
    ("abuela", "grandmother"),
    ("tío", "uncle"),
    ("tía", "aunt"),
    ("primo", "cousin"),
    ("prima", "cousin"),
    ("amigo", "friend"),
    ("amiga", "friend"),
    ("novio", "boyfriend"),
    ("novia", "girlfriend"),
    ("jefe", "boss"),
    ("jefa", "boss"),
    // German
    ("vater", "father"),
    ("mutter", "mother"),
    ("bruder", "brother"),
    ("schwester", "sister"),
    ("sohn", "son"),
    ("tochter", "daughter"),
    ("mann", "husband"),
    ("ehemann", "husband"),
    ("frau", "wife"),
    ("ehefrau", "wife"),
    ("großvater", "grandfather"),
    ("opa", "grandfather"),
    ("großmutter", "grandmother"),
    ("oma", "grandmother"),
    ("onkel", "uncle"),
    ("tante", "aunt"),
    ("freund", "friend"),
    ("freundin", "friend"),
    ("chef", "boss"),
    ("chefin", "boss"),
    // Chinese
    ("父亲", "father"),
    ("爸爸", "father"),
    ("母亲", "mother"),
    ("妈妈", "mother"),
    ("哥哥", "brother"),
    ("弟弟", "brother"),
    ("姐姐", "sister"),
    ("妹妹", "sister"),
    ("儿子", "son"),
    ("女儿", "daughter"),
    ("妻子", "wife"),
    ("丈夫", "husband"),
    ("朋友", "friend"),
    ("爷爷", "grandfather"),
    ("奶奶", "grandmother"),
    ("老板", "boss"),
];

/// Relations a source holds with one target at a time: a new target
/// supersedes the old edge ("moved to Berlin" ends "lives in Paris").
static FUNCTIONAL: &[&str] = &["lives_in", "works_at", "married_to"];

fn compiled() -> &'static [(usize, Regex)] {
    static C: OnceLock<Vec<(usize, Regex)>> = OnceLock::new();
    C.get_or_init(|| {
        RULES
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Regex::new(r.pattern).ok().map(|re| (i, re)))
            .collect()
    })
}

fn kin(word: &str) -> Option<&'static str> {
    let w = word.to_lowercase();
    KIN.iter().find(|(k, _)| *k == w).map(|(_, v)| *v)
}

/// The languages the rules cover.
pub fn languages() -> Vec<&'static str> {
    let mut l: Vec<&'static str> = RULES.iter().map(|r| r.lang).collect();
    l.dedup();
    l
}

/// Whether `relation` admits one current target per source.
pub fn functional(relation: &str) -> bool {
    FUNCTIONAL.contains(&relation)
}

/// The key entities are de-duplicated by: case-folded, inner whitespace
/// collapsed, a leading article dropped.
pub fn normalize_name(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let skip = usize::from(
        words.len() > 1
            && matches!(
                words[0],
                "the" | "a" | "an" | "el" | "la" | "der" | "die" | "das"
            ),
    );
    words[skip..].join(" ")
}

/// Whether two names are variants of one entity: the same normalized name,
/// or a diminutive of it ("Johnny"/"John", "Katie"/"Kate", "Tommy"/"Tom").
pub fn same_entity(a: &str, b: &str) -> bool {
    let (a, b) = (normalize_name(a), normalize_name(b));
    if a == b {
        return true;
    }
    let (short, long) = if a.chars().count() <= b.chars().count() {
        (a, b)
    } else {
        (b, a)
    };
    if short.chars().count() < 3 || short.contains(' ') || long.contains(' ') {
        return false;
    }
    let stem = short.trim_end_matches('e');
    ["y", "ie", "ny", "my", "ty", "ey", "i"]
        .iter()
        .any(|suffix| {
            long.strip_suffix(suffix).is_some_and(|base| {
                base == short
                    || base == stem
                    || base.strip_suffix(stem.chars().last().unwrap_or(' ')) == Some(stem)
            })
        })
}

fn clean_value(v: &str) -> Option<String> {
    let v = v.trim().trim_end_matches(['.', '!', '。', '！']).trim();
    let v = v
        .strip_prefix("the ")
        .or_else(|| v.strip_prefix("a "))
        .or_else(|| v.strip_prefix("an "))
        .unwrap_or(v);
    (!v.is_empty() && v.chars().count() <= 80).then(|| v.to_string())
}

/// The edges a fact states, in rule order; at most one rule applies.
pub fn edges(fact: &str) -> Vec<Edge> {
    let fact = fact.trim();
    for (i, re) in compiled() {
        let Some(c) = re.captures(fact) else {
            continue;
        };
        let rule = &RULES[*i];
        let rel_word = c.name("rel").map(|m| m.as_str());
        let relation = match rule.relation {
            Rel::Fixed(r) => r.to_string(),
            Rel::Kin => match rel_word.and_then(kin) {
                Some(k) => format!("{k}_of"),
                None => continue,
            },
        };
        let mut out = Vec::new();
        // The subject: a named source, else a relative of the user (named
        // by the relation word), else the user.
        let source = match (c.name("s"), rule.relation, rel_word) {
            (Some(s), _, _) => Node::named(
                s.as_str(),
                if rule.source == USER {
                    PERSON
                } else {
                    rule.source
                },
            ),
            (None, Rel::Fixed(_), Some(r)) => {
                let Some(k) = kin(r) else { continue };
                let relative = Node::named(&r.to_lowercase(), PERSON);
                out.push(Edge {
                    source: relative.clone(),
                    relation: format!("{k}_of"),
                    target: Node::user(),
                });
                relative
            }
            _ => Node::user(),
        };
        let target = match c.name("t") {
            Some(t) => match clean_value(t.as_str()) {
                Some(v) => Node::named(&v, rule.target),
                None => continue,
            },
            None => Node::user(),
        };
        if source == target {
            continue;
        }
        out.push(Edge {
            source,
            relation,
            target,
        });
        return out;
    }
    Vec::new()
}

/// Entity names `text` mentions, among `names` (case-insensitive, whole
/// words for alphabetic names, substrings for CJK ones); diminutives count.
pub fn mentioned<'a>(text: &str, names: &'a [String]) -> Vec<&'a String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_end_matches("'s"))
        .collect();
    names
        .iter()
        .filter(|n| {
            let n_low = normalize_name(n);
            if n_low.is_empty() {
                return false;
            }
            if n_low
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
            {
                return lower.contains(&n_low);
            }
            let parts: Vec<&str> = n_low.split(' ').collect();
            if parts.len() > 1 {
                return words.windows(parts.len()).any(|w| w == parts.as_slice());
            }
            words.iter().any(|w| *w == n_low || same_entity(w, &n_low))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(fact: &str) -> Vec<String> {
        edges(fact)
            .iter()
            .map(|e| {
                format!(
                    "{}:{} -{}-> {}:{}",
                    e.source.name.as_deref().unwrap_or("USER"),
                    e.source.kind,
                    e.relation,
                    e.target.name.as_deref().unwrap_or("USER"),
                    e.target.kind
                )
            })
            .collect()
    }

    #[test]
    fn every_rule_compiles() {
        assert_eq!(compiled().len(), RULES.len());
        assert_eq!(languages(), ["en", "es", "de", "zh"]);
        for lang in languages() {
            assert!(
                RULES.iter().filter(|r| r.lang == lang).count() >= 3,
                "{lang}"
            );
        }
    }

    #[test]
    fn kinship() {
        assert_eq!(
            show("Adam is John's father"),
            ["Adam:person -father_of-> John:person"]
        );
        assert_eq!(
            show("Mary is Adam's mother."),
            ["Mary:person -mother_of-> Adam:person"]
        );
        assert_eq!(
            show("Sister is named Anna"),
            ["Anna:person -sister_of-> USER:user"]
        );
        assert_eq!(
            show("Adam es el padre de Juan"),
            ["Adam:person -father_of-> Juan:person"]
        );
        assert_eq!(
            show("Adam ist der Vater von Johann"),
            ["Adam:person -father_of-> Johann:person"]
        );
        assert_eq!(
            show("亚当是约翰的父亲"),
            ["亚当:person -father_of-> 约翰:person"]
        );
        assert_eq!(
            show("亚当是约翰的父亲。"),
            ["亚当:person -father_of-> 约翰:person"]
        );
    }

    #[test]
    fn places_work_pets_likes() {
        assert_eq!(
            show("Lives in Paris"),
            ["USER:user -lives_in-> Paris:place"]
        );
        assert_eq!(
            show("Moved to Berlin last month"),
            ["USER:user -lives_in-> Berlin:place"]
        );
        assert_eq!(
            show("Alice lives in Paris"),
            ["Alice:person -lives_in-> Paris:place"]
        );
        assert_eq!(
            show("Alice moved to Berlin"),
            ["Alice:person -lives_in-> Berlin:place"]
        );
        assert_eq!(
            show("Sister lives in Berlin"),
            [
                "sister:person -sister_of-> USER:user",
                "sister:person -lives_in-> Berlin:place"
            ]
        );
        assert_eq!(
            show("Works at Acme Corp"),
            ["USER:user -works_at-> Acme Corp:organization"]
        );
        assert_eq!(
            show("Works as a nurse at St Mary Hospital"),
            ["USER:user -works_at-> St Mary Hospital:organization"]
        );
        assert_eq!(
            show("Changed careers and now I work as a nurse at the city hospital"),
            ["USER:user -works_at-> city hospital:organization"]
        );
        assert_eq!(show("Has a dog named Rex"), ["USER:user -owns-> Rex:pet"]);
        assert_eq!(
            show("Likes green tea"),
            ["USER:user -likes-> green tea:thing"]
        );
        assert_eq!(
            show("Is allergic to peanuts"),
            ["USER:user -allergic_to-> peanuts:thing"]
        );
        assert_eq!(show("Anna knows Ben"), ["Anna:person -knows-> Ben:person"]);
        assert_eq!(
            show("Vivo en Madrid"),
            ["USER:user -lives_in-> Madrid:place"]
        );
        assert_eq!(
            show("Ich wohne in Köln"),
            ["USER:user -lives_in-> Köln:place"]
        );
        assert_eq!(
            show("Ich arbeite bei Siemens"),
            ["USER:user -works_at-> Siemens:organization"]
        );
        assert_eq!(show("我住在北京"), ["USER:user -lives_in-> 北京:place"]);
        assert_eq!(
            show("约翰住在上海。"),
            ["约翰:person -lives_in-> 上海:place"]
        );
    }

    #[test]
    fn no_edge_from_plain_statements() {
        for fact in [
            "Is vegetarian",
            "John is sick",
            "Is single",
            "Got married last month",
            "Plays tennis",
            "Hola",
        ] {
            assert!(edges(fact).is_empty(), "{fact}: {:?}", show(fact));
        }
    }

    #[test]
    fn names_and_variants() {
        assert_eq!(normalize_name("  The   Louvre "), "louvre");
        assert!(same_entity("John", "john"));
        assert!(same_entity("Johnny", "John"));
        assert!(same_entity("Katie", "Kate"));
        assert!(same_entity("Tommy", "Tom"));
        assert!(!same_entity("Jo", "Joy"));
        assert!(!same_entity("John", "Jane"));
        assert!(!same_entity("Ann", "Annika"));
        assert!(functional("lives_in") && !functional("father_of"));
    }

    #[test]
    fn mentions() {
        let names: Vec<String> = ["John", "Adam", "New York", "约翰", "Al"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            mentioned("John is sick, who should I tell?", &names),
            [&names[0]]
        );
        assert_eq!(
            mentioned("What about Johnny's school?", &names),
            [&names[0]]
        );
        assert_eq!(mentioned("flights to new york", &names), [&names[2]]);
        assert_eq!(mentioned("约翰生病了", &names), [&names[3]]);
        assert!(mentioned("Always late", &names).is_empty());
    }
}

#[cfg(test)]
mod from_messages {
    use super::*;
    use crate::extract::extract;
    use crate::messages::Message;

    fn facts_and_edges(text: &str) -> Vec<(String, usize)> {
        let msg = Message {
            role: "user".into(),
            content: text.into(),
            actor_id: None,
        };
        extract(&[msg], false)
            .into_iter()
            .map(|f| {
                let n = edges(&f.text).len();
                (f.text, n)
            })
            .collect()
    }

    #[test]
    fn extractor_output_feeds_the_rules() {
        for (text, want) in [
            ("Adam is John's father.", 1),
            ("John is sick.", 0),
            ("I live in Paris and I work at Acme.", 2),
            ("My sister lives in Berlin.", 2),
            ("I have a dog named Rex.", 1),
            ("亚当是约翰的父亲。", 1),
            ("Adam es el padre de Juan.", 1),
            ("Ich wohne in Köln.", 1),
        ] {
            let got = facts_and_edges(text);
            let total: usize = got.iter().map(|(_, n)| n).sum();
            assert_eq!(total, want, "{text}: {got:?}");
        }
    }
}
