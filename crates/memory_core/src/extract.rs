//! The built-in fact extractor (offline, deterministic).
//!
//! From each user message (and, when asked, the assistant's) it keeps the
//! sentences in which people say something about themselves or the people
//! close to them: identity, preferences, plans, relationships, possessions,
//! places, work, health. Questions, greetings and small talk are dropped.
//! Facts stay in the language they were said in (no translation).
//!
//! Convention for English (Mem0's): the first-person subject is dropped and
//! the verb put in the third person: "I am vegetarian" → "Is vegetarian",
//! "I live in Paris" → "Lives in Paris", "My sister lives in Berlin" →
//! "Sister lives in Berlin", "My name is Ana" → "Name is Ana". Other
//! languages keep the sentence as said ("Soy vegetariana", "我住在北京").
//!
//! The word lists are data (`RULES`), one entry per language.

use crate::messages::Message;
use crate::text::is_cjk;
use regex::Regex;
use std::sync::OnceLock;

/// Words of one language that drive the keep/drop decision.
pub struct LanguageRules {
    pub lang: &'static str,
    /// Words (lowercase) marking the speaker or their circle.
    pub self_markers: &'static [&'static str],
    /// Whole sentences (lowercase, without punctuation) that are small talk.
    pub chit_chat: &'static [&'static str],
    /// Sentence starts (lowercase) that make a question.
    pub question_starts: &'static [&'static str],
    /// Kinship words: a sentence naming a family tie is kept even without
    /// a first-person word ("Adam is John's father").
    pub kinship: &'static [&'static str],
}

pub static RULES: &[LanguageRules] = &[
    LanguageRules {
        lang: "en",
        self_markers: &[
            "i", "i'm", "i've", "i'll", "i'd", "my", "me", "mine", "we", "we're", "our", "im",
            "ive",
        ],
        chit_chat: &[
            "hi",
            "hello",
            "hey",
            "thanks",
            "thank you",
            "ok",
            "okay",
            "bye",
            "goodbye",
            "good night",
            "good morning",
            "see you",
            "see you tomorrow",
            "talk later",
            "haha",
            "lol",
            "nice",
            "cool",
            "great",
            "sure",
            "yes",
            "no",
            "i see",
            "i agree",
            "i don't know",
            "i dont know",
            "i'm fine",
            "i am fine",
            "i'm good",
            "i am good",
            "i'm exhausted",
            "i am tired",
            "i'm tired",
            "me too",
            "i think so",
            "i guess",
            "i understand",
        ],
        question_starts: &[
            "what",
            "where",
            "when",
            "who",
            "whom",
            "whose",
            "why",
            "how",
            "which",
            "can you",
            "could you",
            "would you",
            "will you",
            "do you",
            "did you",
            "are you",
            "is it",
            "is there",
            "should i",
            "can i",
            "could i",
            "may i",
            "do i",
            "am i",
            "shall",
        ],
        kinship: &[
            "father",
            "mother",
            "sister",
            "brother",
            "son",
            "daughter",
            "wife",
            "husband",
            "grandfather",
            "grandmother",
            "uncle",
            "aunt",
            "cousin",
            "parents",
            "fiancé",
            "fiancée",
            "girlfriend",
            "boyfriend",
        ],
    },
    LanguageRules {
        lang: "es",
        self_markers: &[
            "yo", "mi", "mis", "me", "conmigo", "soy", "estoy", "tengo", "vivo", "trabajo",
            "nosotros", "nuestro", "nuestra", "mío", "mía",
        ],
        chit_chat: &[
            "hola",
            "gracias",
            "muchas gracias",
            "adiós",
            "adios",
            "buenas noches",
            "buenos días",
            "buenos dias",
            "vale",
            "ok gracias",
            "hasta luego",
            "jaja",
            "que calor hace hoy",
        ],
        question_starts: &[
            "qué", "que ", "dónde", "donde", "cuándo", "cuando", "quién", "quien", "por qué",
            "cómo", "cuál", "¿",
        ],
        kinship: &[
            "padre", "madre", "hermano", "hermana", "hijo", "hija", "esposa", "esposo", "abuelo",
            "abuela", "tío", "tía",
        ],
    },
    LanguageRules {
        lang: "de",
        self_markers: &[
            "ich", "mein", "meine", "meinen", "meinem", "meiner", "mir", "mich", "wir", "unser",
            "unsere",
        ],
        chit_chat: &[
            "hallo",
            "danke",
            "danke schön",
            "tschüss",
            "tschuss",
            "gute nacht",
            "guten morgen",
            "ok danke",
            "bis später",
            "haha",
            "ja",
            "nein",
        ],
        question_starts: &[
            "was",
            "wo",
            "wann",
            "wer",
            "warum",
            "wie",
            "welche",
            "welcher",
            "kannst du",
            "können sie",
        ],
        kinship: &[
            "vater",
            "mutter",
            "bruder",
            "schwester",
            "sohn",
            "tochter",
            "frau",
            "mann",
            "großvater",
            "großmutter",
            "onkel",
            "tante",
        ],
    },
    LanguageRules {
        lang: "zh",
        self_markers: &["我", "我们", "咱们"],
        chit_chat: &[
            "你好",
            "谢谢",
            "再见",
            "晚安",
            "好的",
            "哈哈",
            "早上好",
            "没事",
            "嗯",
        ],
        question_starts: &["什么", "哪", "谁", "为什么", "怎么", "是不是", "能不能"],
        kinship: &[
            "父亲", "母亲", "爸爸", "妈妈", "哥哥", "姐姐", "弟弟", "妹妹", "儿子", "女儿", "妻子",
            "丈夫", "爷爷", "奶奶",
        ],
    },
];

/// A fact found in the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub text: String,
    pub role: String,
    pub actor_id: Option<String>,
}

fn words_lower(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '"' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Split text into sentences (., !, ?, 。, ！, ？, ;, new lines) and English
/// "…, and I …" coordinations.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        let end = match c {
            '!' | '?' | '。' | '！' | '？' | ';' | '\n' => true,
            // "Big news: I got married" holds the fact after the colon.
            ':' | '：' => chars.get(i + 1).is_none_or(|n| n.is_whitespace()),
            // A period ends a sentence unless it sits inside a number (3.5)
            // or closes an abbreviation or an initial ("St. Mary", "J. Smith").
            '.' => {
                let in_number = i > 0
                    && chars[i - 1].is_ascii_digit()
                    && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
                !(in_number || ends_with_abbreviation(&cur[..cur.len() - 1]))
            }
            _ => false,
        };
        if end {
            push_sentence(&mut out, &cur);
            cur.clear();
        }
    }
    push_sentence(&mut out, &cur);
    out
}

fn ends_with_abbreviation(before: &str) -> bool {
    const ABBREVIATIONS: &[&str] = &[
        "st", "mr", "mrs", "ms", "dr", "prof", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "mt",
        "ave", "co", "inc", "ltd",
    ];
    let word: String = before
        .chars()
        .rev()
        .take_while(|c| !c.is_whitespace())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let w = word.to_lowercase();
    ABBREVIATIONS.contains(&w.as_str())
        || (word.chars().count() == 1 && word.chars().all(char::is_uppercase))
}

/// Conjunctions that may join two facts: split when a first-person word
/// follows ("I am vegetarian and I live in Paris", "Soy vegetariana y vivo
/// en Madrid", "我住在北京，我喜欢茶").
const CONJUNCTIONS: &[&str] = &[
    ", and ", " and ", ", but ", " but ", " y ", " pero ", " und ", " aber ", "，", "、",
];

fn push_sentence(out: &mut Vec<String>, s: &str) {
    let t = s.trim();
    let lower = t.to_lowercase();
    let conjunctions = if opens_condition(&lower) {
        &[][..]
    } else {
        CONJUNCTIONS
    };
    for conj in conjunctions {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(conj).map(|p| p + from) {
            let after = &lower[pos + conj.len()..];
            let next = after
                .split(|c: char| c.is_whitespace() || c == ',')
                .next()
                .unwrap_or_default();
            let first_person = RULES.iter().any(|r| {
                r.self_markers.contains(&next)
                    || (r.lang == "zh" && r.self_markers.iter().any(|m| after.starts_with(m)))
            });
            if first_person && t.is_char_boundary(pos) && t.is_char_boundary(pos + conj.len()) {
                push_sentence(out, &t[..pos]);
                push_sentence(out, &t[pos + conj.len()..]);
                return;
            }
            from = pos + conj.len();
        }
    }
    let t = t.trim_end_matches([',', '，']).trim();
    if !t.is_empty() {
        out.push(t.to_string());
    }
}

fn detect_rules(sentence: &str) -> &'static LanguageRules {
    if sentence.chars().any(is_cjk) {
        return &RULES[3];
    }
    let w = words_lower(sentence);
    let score = |r: &LanguageRules| {
        w.iter()
            .filter(|x| r.self_markers.contains(&x.as_str()))
            .count()
    };
    let best = RULES[..3]
        .iter()
        .max_by_key(|r| (score(r), r.lang == "en"))
        .unwrap_or(&RULES[0]);
    if score(best) == 0 {
        &RULES[0]
    } else {
        best
    }
}

/// Conditionals and hedged plans: "If I won the lottery I would live in
/// Hawaii", "I might move to Rome someday", "Si tuviera dinero viviría en
/// Ibiza", "Wenn ich reich wäre, würde ich in Zürich wohnen",
/// "如果我有钱，我会住在香港". They say what is not (or not yet) so, and the
/// user's own facts are not to be taken from them.
pub fn is_hypothetical(sentence: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(concat!(
            r"(?i)\bif\b.*\b(?:would|could)\b|\bif\b.*\w'd\b|\b(?:would|'d)\b.*\bif\b",
            r"|\b(?:might|may|maybe|perhaps)\b.*\b(?:someday|some day|one day|eventually)\b",
            r"|\bsi\b.*\b\w+(?:ría|rías|ríamos|rían)\b",
            r"|\b(?:quizás|quizá|tal vez)\b.*\balgún día\b",
            r"|\bwenn\b.*\b(?:würde|würden|wäre|wären|hätte|hätten)\b",
            r"|\bvielleicht\b.*\beines tages\b",
            r"|(?:如果|要是|假如).*(?:会|就)|也许.*有一天",
        ))
        .expect("hypothetical pattern")
    });
    re.is_match(sentence)
}

/// A conditional is kept whole (not split at a conjunction), so that its
/// consequence ("我会住在香港") is not read as a fact of its own.
fn opens_condition(lower: &str) -> bool {
    ["if ", "si ", "wenn ", "如果", "要是", "假如"]
        .iter()
        .any(|c| lower.starts_with(c) || lower.contains(&format!(" {c}")))
}

/// Is this sentence worth remembering?
pub fn is_fact(sentence: &str) -> bool {
    let s = sentence.trim();
    if is_hypothetical(s) {
        return false;
    }
    let rules = detect_rules(s);
    let lower = s.to_lowercase();
    let bare: String = lower
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '\'' || is_cjk(*c))
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if bare.is_empty() || s.ends_with('?') || s.ends_with('？') || s.starts_with('¿') {
        return false;
    }
    if RULES.iter().any(|r| r.chit_chat.contains(&bare.as_str())) {
        return false;
    }
    if rules.question_starts.iter().any(|q| {
        bare.starts_with(q)
            && (q.ends_with(' ') || bare[q.len()..].starts_with(' ') || rules.lang == "zh")
    }) {
        return false;
    }
    if rules.lang == "zh" {
        let n = s.chars().filter(|c| is_cjk(*c)).count();
        let about = rules
            .self_markers
            .iter()
            .chain(rules.kinship)
            .any(|m| s.contains(m));
        return n >= 3 && about && !s.ends_with('吗');
    }
    let w = words_lower(s);
    if w.len() < 2 {
        return false;
    }
    let possessive_kin = |x: &String| {
        let base = x.trim_end_matches("'s");
        RULES.iter().any(|r| r.kinship.contains(&base))
    };
    w.iter().any(|x| rules.self_markers.contains(&x.as_str()))
        || w.iter().any(possessive_kin)
        || named_subject(s)
        || (rules.lang == "en" && (subjectless_statement(&w) || names_someone(s, &w)))
}

/// Chat drops the subject: "Got married last week", "Been busy with
/// work", "Researching adoption agencies", "Thinking about a new job". A
/// statement of at least three words that opens with a past or -ing verb
/// speaks about its speaker.
fn subjectless_statement(w: &[String]) -> bool {
    const OPENING_VERBS: &[&str] = &[
        "been",
        "got",
        "went",
        "had",
        "did",
        "made",
        "started",
        "finished",
        "bought",
        "took",
        "tried",
        "saw",
        "found",
        "visited",
        "joined",
        "moved",
        "learned",
        "met",
        "won",
        "lost",
        "gonna",
        "planning",
        "thinking",
        "working",
        "trying",
        "looking",
        "getting",
        "going",
        "heading",
        "hoping",
        "considering",
        "researching",
        "learning",
        "reading",
        "watching",
        "playing",
        "training",
        "practicing",
        "volunteering",
        "studying",
    ];
    w.len() >= 3
        && w.first()
            .is_some_and(|f| OPENING_VERBS.contains(&f.as_str()))
}

/// Words that open a greeting or a reaction rather than a statement.
const GREETINGS: &[&str] = &[
    "thanks",
    "thank",
    "hey",
    "hi",
    "hello",
    "wow",
    "yeah",
    "yes",
    "no",
    "oh",
    "bye",
    "congrats",
    "congratulations",
    "sure",
    "absolutely",
    "awesome",
    "great",
    "haha",
    "aww",
    "omg",
];

/// "Their name is Luna", "One of them, Daisy, is a Labrador", "She moved to
/// Ohio": a statement of at least four words that names someone or
/// somewhere (a capitalised word past the first that is not the vocative of
/// a greeting, "Thanks, Caroline").
fn names_someone(s: &str, w: &[String]) -> bool {
    if w.len() < 4 || w.first().is_some_and(|f| GREETINGS.contains(&f.as_str())) {
        return false;
    }
    s.split_whitespace().skip(1).any(|t| {
        let t = t.trim_matches(|c: char| !c.is_alphanumeric());
        t.len() > 1
            && t.chars().next().is_some_and(char::is_uppercase)
            && t.chars().skip(1).all(char::is_lowercase)
            && t != "I"
    })
}

/// "John is sick", "Anna works at Siemens": a sentence whose subject is a
/// name (a capitalised word that is not a common sentence opener).
fn named_subject(s: &str) -> bool {
    const OPENERS: &[&str] = &[
        "The", "This", "That", "It", "There", "These", "Those", "He", "She", "They", "You", "What",
        "A", "An",
    ];
    const VERBS: &[&str] = &[
        "is", "was", "has", "had", "lives", "works", "got", "loves", "likes", "hates", "moved",
        "studies", "needs", "became",
    ];
    let mut it = s.split_whitespace();
    let (Some(first), Some(second)) = (it.next(), it.next()) else {
        return false;
    };
    first.chars().next().is_some_and(char::is_uppercase)
        && first.chars().all(|c| c.is_alphabetic() || c == '-')
        && !OPENERS.contains(&first)
        && VERBS.contains(&second)
}

const MODALS: &[&str] = &[
    "can", "can't", "cannot", "will", "would", "should", "could", "might", "must", "may", "shall",
];
const ADVERBS: &[&str] = &[
    "really",
    "also",
    "still",
    "just",
    "usually",
    "always",
    "often",
    "never",
    "sometimes",
    "recently",
    "finally",
    "actually",
    "no longer",
    "now",
    "currently",
];
const RELATIVES: &[&str] = &[
    "sister",
    "brother",
    "mother",
    "mom",
    "mum",
    "father",
    "dad",
    "wife",
    "husband",
    "partner",
    "son",
    "daughter",
    "friend",
    "boyfriend",
    "girlfriend",
    "boss",
    "manager",
    "grandmother",
    "grandfather",
    "grandma",
    "grandpa",
    "aunt",
    "uncle",
    "cousin",
    "kids",
    "children",
    "parents",
    "family",
    "colleague",
    "fiance",
    "fiancé",
    "fiancée",
    "roommate",
    "neighbour",
    "neighbor",
];

fn third_person(verb: &str) -> String {
    let v = verb.to_lowercase();
    let irregular = match v.as_str() {
        "am" | "'m" => Some("is"),
        "have" | "'ve" => Some("has"),
        "do" => Some("does"),
        "don't" | "dont" => Some("doesn't"),
        "go" => Some("goes"),
        "was" | "were" => Some("was"),
        "'ll" => Some("will"),
        "'d" => Some("would"),
        "haven't" => Some("hasn't"),
        "am not" => Some("is not"),
        _ => None,
    };
    if let Some(i) = irregular {
        return i.to_string();
    }
    if MODALS.contains(&v.as_str()) || v.ends_with("ed") || v.ends_with("n't") {
        return v;
    }
    const PAST: &[&str] = &[
        "got",
        "went",
        "had",
        "made",
        "took",
        "bought",
        "left",
        "met",
        "began",
        "became",
        "broke",
        "gave",
        "sold",
        "quit",
        "ran",
        "found",
        "lost",
        "saw",
        "came",
        "grew",
        "won",
        "wrote",
        "taught",
        "thought",
        "felt",
        "kept",
        "spent",
        "put",
        "set",
        "cut",
        "paid",
        "said",
        "did",
        "heard",
        "built",
        "sent",
        "told",
        "held",
        "brought",
        "caught",
        "drove",
        "flew",
        "ate",
        "drank",
        "swam",
        "wore",
        "chose",
        "forgot",
        "woke",
        "fell",
        "rode",
        "knew",
        "slept",
        "understood",
        "stood",
        "meant",
        "learnt",
        "fed",
        "led",
        "read",
        "hurt",
        "let",
        "hit",
    ];
    if PAST.contains(&v.as_str()) {
        return v;
    }
    if v.ends_with('s')
        || v.ends_with("sh")
        || v.ends_with("ch")
        || v.ends_with('x')
        || v.ends_with('z')
        || v.ends_with('o')
    {
        return format!("{v}es");
    }
    if v.ends_with('y')
        && v.len() > 1
        && !"aeiou".contains(v.chars().nth(v.len() - 2).unwrap_or('a'))
    {
        return format!("{}ies", &v[..v.len() - 1]);
    }
    format!("{v}s")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Words that open a sentence without carrying the fact ("Sadly, I …").
const OPENERS: &[&str] = &[
    "sadly",
    "well",
    "so",
    "actually",
    "oh",
    "btw",
    "by the way",
    "also",
    "and",
    "but",
    "anyway",
    "honestly",
    "fun fact",
    "guess what",
    "yes",
    "yeah",
    "ok",
    "okay",
    "hey",
    "hi",
    "hello",
    "now",
    "finally",
    "luckily",
    "unfortunately",
    "oh well",
    "just so you know",
    "fyi",
];

fn strip_openers(s: &str) -> &str {
    let mut rest = s.trim();
    loop {
        let lower = rest.to_lowercase();
        let Some(o) = OPENERS.iter().find(|o| {
            lower.starts_with(*o)
                && lower[o.len()..].starts_with([',', ' ', '!'])
                && rest.is_char_boundary(o.len())
        }) else {
            return rest;
        };
        rest = rest[o.len()..].trim_start_matches([',', ' ', '!']);
    }
}

/// The fact form of an English first-person sentence (see the module docs);
/// other sentences are returned trimmed, without final punctuation.
pub fn normalize_fact(sentence: &str) -> String {
    let s = strip_openers(sentence)
        .trim_end_matches(['.', '!', '。', '！', ';', ':'])
        .trim();
    let lower = s.to_lowercase();
    // "I'm", "I've", "I'll", "I'd" and "I " openings.
    let rest = if let Some(r) = strip_ci(s, &lower, "i'm ").or_else(|| strip_ci(s, &lower, "im ")) {
        Some(format!("is {r}"))
    } else if let Some(r) = strip_ci(s, &lower, "i've ") {
        Some(format!("has {r}"))
    } else if let Some(r) = strip_ci(s, &lower, "i'll ") {
        Some(format!("will {r}"))
    } else if let Some(r) = strip_ci(s, &lower, "i'd ") {
        Some(format!("would {r}"))
    } else if let Some(r) = strip_ci(s, &lower, "i ") {
        Some(conjugate_first(r))
    } else {
        strip_ci(s, &lower, "my ").map(str::to_string)
    };
    match rest {
        Some(r) if !r.trim().is_empty() => {
            name_statement(r.trim()).unwrap_or_else(|| capitalize(r.trim()))
        }
        _ => capitalize(s),
    }
}

/// "I am Alice" → "Name is Alice": "is" followed by one or two capitalised
/// words that do not look like a nationality or language ("Italian",
/// "Chinese", "British", "Thai").
fn name_statement(rest: &str) -> Option<String> {
    let name = rest.strip_prefix("is ")?;
    let words: Vec<&str> = name.split_whitespace().collect();
    let looks_like_name = !words.is_empty()
        && words.len() <= 2
        && words.iter().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars()
                    .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
        })
        && !["an", "ese", "ish", "ic", "i", "ch"]
            .iter()
            .any(|suffix| words[0].ends_with(suffix));
    looks_like_name.then(|| format!("Name is {name}"))
}

fn strip_ci<'a>(s: &'a str, lower: &str, prefix: &str) -> Option<&'a str> {
    if lower.starts_with(prefix) && s.is_char_boundary(prefix.len()) {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// "really like tea" → "really likes tea"; "no longer have a dog" → "no longer has a dog".
fn conjugate_first(rest: &str) -> String {
    let lower = rest.to_lowercase();
    for adv in ADVERBS {
        if let Some(after) = strip_ci(rest, &lower, &format!("{adv} ")) {
            return format!("{adv} {}", conjugate_first(after));
        }
    }
    if let Some(after) = strip_ci(rest, &lower, "am not ") {
        return format!("is not {after}");
    }
    let mut parts = rest.splitn(2, ' ');
    let verb = parts.next().unwrap_or_default();
    let tail = parts.next().unwrap_or_default();
    let v = third_person(verb);
    if tail.is_empty() {
        v
    } else {
        format!("{v} {tail}")
    }
}

/// A fact said by a named speaker who is not the scope's user, as stored:
/// `"<name>: <fact>"` ("Caroline: Went to a support group yesterday"), so it
/// keeps who it is about and never conflicts with another speaker's facts.
pub fn attributed(name: &str, fact: &str) -> String {
    let name = name.trim();
    if name.is_empty() || speaker_of(fact).is_some() {
        return fact.to_string();
    }
    format!("{name}: {fact}")
}

/// The speaker prefix of an attributed fact and the rest: `("Caroline",
/// "Lives in Paris")` for "Caroline: Lives in Paris". A prefix is at most
/// three words of letters (a name), not a sentence ending in a colon.
pub fn speaker_of(fact: &str) -> Option<(&str, &str)> {
    let (name, rest) = fact.split_once(": ")?;
    let words: Vec<&str> = name.split_whitespace().collect();
    let is_name = !words.is_empty()
        && words.len() <= 3
        && words.iter().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars()
                    .all(|c| c.is_alphabetic() || c == '-' || c == '\'' || c == '.')
        });
    (is_name && !rest.trim().is_empty()).then_some((name, rest))
}

/// Is the sentence about someone close to the user ("My sister …")? For an
/// attributed fact, the speaker ("caroline", "caroline/sister").
pub fn subject_of(fact_text: &str) -> String {
    if let Some((name, rest)) = speaker_of(fact_text) {
        let inner = subject_of(rest);
        let name = name.to_lowercase();
        return if inner == "user" {
            name
        } else {
            format!("{name}/{inner}")
        };
    }
    let lower = fact_text.to_lowercase();
    // A qualifier before the relative: "Best friend lives in Leeds",
    // "Older sister is a nurse".
    const QUALIFIERS: &[&str] = &[
        "best", "older", "younger", "oldest", "youngest", "little", "big", "baby", "twin", "ex",
        "step", "late", "new", "old", "close",
    ];
    let mut words = lower
        .trim_start_matches("my ")
        .split(|c: char| !c.is_alphanumeric() && c != 'é')
        .filter(|w| !w.is_empty());
    let mut first = words.next().unwrap_or_default();
    if QUALIFIERS.contains(&first) {
        if let Some(next) = words.next().filter(|w| RELATIVES.contains(w)) {
            first = next;
        }
    }
    let first = first.to_string();
    if RELATIVES.contains(&first.as_str()) {
        first
    } else {
        "user".to_string()
    }
}

/// Looser than `is_fact`, for what a named speaker says in a conversation
/// kept for someone else (a transcript, where anything said may later be
/// asked about): every English statement of four words or more that is not a
/// question and does not open with a greeting or a reaction.
pub fn is_statement(sentence: &str) -> bool {
    if is_fact(sentence) {
        return true;
    }
    const MORE_REACTIONS: &[&str] = &[
        "sounds",
        "good",
        "nice",
        "cool",
        "glad",
        "that's",
        "thats",
        "totally",
        "definitely",
        "agreed",
        "same",
        "let's",
        "lets",
        "keep",
        "take",
        "have",
        "enjoy",
        "hope",
    ];
    let s = sentence.trim();
    let rules = detect_rules(s);
    let w = words_lower(s);
    let question = s.ends_with('?')
        || rules
            .question_starts
            .iter()
            .any(|q| w.join(" ").starts_with(&format!("{q} ")));
    rules.lang == "en"
        && !question
        && w.len() >= 4
        && w.first().is_some_and(|f| {
            !GREETINGS.contains(&f.as_str()) && !MORE_REACTIONS.contains(&f.as_str())
        })
}

/// Extract facts from messages. Assistant messages count only when
/// `include_assistant` (the assistant confirming something the user said).
pub fn extract(messages: &[Message], include_assistant: bool) -> Vec<Fact> {
    extract_with(messages, include_assistant, &|_| false)
}

/// `extract`, keeping every statement (`is_statement`) of the messages for
/// which `transcript` holds: a named speaker other than the scope's user.
pub fn extract_with(
    messages: &[Message],
    include_assistant: bool,
    transcript: &dyn Fn(&Message) -> bool,
) -> Vec<Fact> {
    let mut out: Vec<Fact> = Vec::new();
    for m in messages {
        let keep_role = m.role == "user" || (include_assistant && m.role == "assistant");
        if !keep_role {
            continue;
        }
        let loose = transcript(m);
        for s in sentences(&m.content) {
            if !(if loose { is_statement(&s) } else { is_fact(&s) }) {
                continue;
            }
            let text = normalize_fact(&s);
            let norm = crate::messages::normalize(&text);
            if out
                .iter()
                .any(|f| crate::messages::normalize(&f.text) == norm)
            {
                continue;
            }
            out.push(Fact {
                text,
                role: m.role.clone(),
                actor_id: m.actor_id.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> Message {
        Message {
            role: "user".into(),
            content: s.into(),
            actor_id: None,
        }
    }

    fn facts(s: &str) -> Vec<String> {
        extract(&[user(s)], false)
            .into_iter()
            .map(|f| f.text)
            .collect()
    }

    #[test]
    fn english_first_person_becomes_facts() {
        let cases = [
            ("I am vegetarian.", "Is vegetarian"),
            ("I'm a nurse at St. Mary's", "Is a nurse at St. Mary's"),
            ("I live in Paris", "Lives in Paris"),
            ("I work at Acme Corp.", "Works at Acme Corp"),
            ("I have a dog named Rex.", "Has a dog named Rex"),
            ("My name is John", "Name is John"),
            (
                "My sister Anna lives in Berlin",
                "Sister Anna lives in Berlin",
            ),
            ("I got married last spring", "Got married last spring"),
            ("I really love green tea", "Really loves green tea"),
            ("I no longer have a dog", "No longer has a dog"),
            ("I moved to Berlin in 2023", "Moved to Berlin in 2023"),
            ("I'm 30 years old", "Is 30 years old"),
            ("I am Alice", "Name is Alice"),
            ("I'm Maria Lopez", "Name is Maria Lopez"),
            ("I am Italian", "Is Italian"),
            ("I've been to Japan twice", "Has been to Japan twice"),
            ("I watch movies every Friday", "Watches movies every Friday"),
            (
                "I study medicine in Edinburgh",
                "Studies medicine in Edinburgh",
            ),
            ("I don't eat pork", "Doesn't eat pork"),
            (
                "I want to buy a pink unicorn gift for my daughter",
                "Wants to buy a pink unicorn gift for my daughter",
            ),
            ("I am allergic to peanuts", "Is allergic to peanuts"),
            ("I'll start a new job in May", "Will start a new job in May"),
            ("I can't eat gluten", "Can't eat gluten"),
        ];
        for (input, expected) in cases {
            assert_eq!(facts(input), vec![expected.to_string()], "{input}");
        }
    }

    #[test]
    fn drops_questions_greetings_and_small_talk() {
        for s in [
            "Hi!",
            "Hello there?",
            "Thanks",
            "What is the capital of France?",
            "Can you help me?",
            "ok",
            "haha",
            "Good night!",
            "Where should I go this weekend?",
            "Do you know a good café?",
            "I see",
            "The weather is nice today.",
            "That joke was terrible.",
            "Hola",
            "¿Dónde vives?",
            "Danke",
            "Wie geht es dir?",
            "你好",
            "你住在哪里？",
            "谢谢",
            "I'm fine",
            "me too",
            "Thanks, Caroline, that is so kind of you.",
            "Wow, Maria, how cute!",
            "Sounds like a plan.",
        ] {
            assert!(facts(s).is_empty(), "{s} gave {:?}", facts(s));
        }
    }

    #[test]
    fn drops_conditionals_and_hedged_plans() {
        for s in [
            "If I won the lottery I would live in Hawaii",
            "I'd live by the sea if I could",
            "I might move to Rome someday",
            "Si tuviera dinero viviría en Ibiza",
            "Wenn ich reich wäre, würde ich in Zürich wohnen",
            "如果我有钱，我会住在香港",
        ] {
            assert!(is_hypothetical(s), "{s}");
            let facts = extract(&[user(s)], false);
            assert!(facts.is_empty(), "{s}: {facts:?}");
        }
        for s in [
            "I live in Paris",
            "I would like a window seat",
            "I moved to Rome last year",
            "Vivo en Madrid",
            "我住在北京，我喜欢茶",
        ] {
            assert!(!is_hypothetical(s), "{s}");
        }
        assert_eq!(extract(&[user("我住在北京，我喜欢茶")], false).len(), 2);
    }

    #[test]
    fn splits_sentences_and_coordinations() {
        assert_eq!(
            facts("Hi! I am vegetarian and I live in Paris. What about you?"),
            vec!["Is vegetarian", "Lives in Paris"]
        );
        assert_eq!(
            facts("I paid 3.50 euros for my coffee."),
            vec!["Paid 3.50 euros for my coffee"]
        );
        assert_eq!(
            facts("I like tea; I hate coffee"),
            vec!["Likes tea", "Hates coffee"]
        );
    }

    #[test]
    fn keeps_other_languages_as_said() {
        assert_eq!(
            facts("Soy vegetariana y vivo en Madrid."),
            vec!["Soy vegetariana", "Vivo en Madrid"]
        );
        assert_eq!(
            facts("Me gustan el té y el café"),
            vec!["Me gustan el té y el café"]
        );
        assert_eq!(
            facts("Ich wohne in Hamburg und ich arbeite bei Bosch"),
            vec!["Ich wohne in Hamburg", "Ich arbeite bei Bosch"]
        );
        assert_eq!(
            facts("我住在北京，我喜欢喝茶"),
            vec!["我住在北京", "我喜欢喝茶"]
        );
        assert_eq!(facts("I like tea and coffee"), vec!["Likes tea and coffee"]);
        assert_eq!(
            facts("Mi hermana vive en Sevilla"),
            vec!["Mi hermana vive en Sevilla"]
        );
        assert_eq!(
            facts("Ich arbeite seit drei Jahren bei Siemens."),
            vec!["Ich arbeite seit drei Jahren bei Siemens"]
        );
        assert_eq!(
            facts("Meine Schwester wohnt in Hamburg"),
            vec!["Meine Schwester wohnt in Hamburg"]
        );
        assert_eq!(
            facts("我住在北京。我喜欢喝绿茶。"),
            vec!["我住在北京", "我喜欢喝绿茶"]
        );
        assert_eq!(
            facts("亚当是约翰的父亲"),
            vec!["亚当是约翰的父亲"],
            "a family tie"
        );
        assert_eq!(
            facts("Adam is John's father."),
            vec!["Adam is John's father"]
        );
        assert_eq!(facts("John is sick"), vec!["John is sick"]);
        assert_eq!(
            facts("Carlos es el padre de Ana"),
            vec!["Carlos es el padre de Ana"]
        );
        assert_eq!(facts("It is raining"), Vec::<String>::new());
    }

    #[test]
    fn assistant_only_when_asked_and_duplicates_collapsed() {
        let msgs = vec![
            user("I love sushi. I love sushi!"),
            Message {
                role: "assistant".into(),
                content: "I will remember that you love sushi.".into(),
                actor_id: None,
            },
            Message {
                role: "system".into(),
                content: "I am a system prompt".into(),
                actor_id: None,
            },
        ];
        let f: Vec<String> = extract(&msgs, false).into_iter().map(|f| f.text).collect();
        assert_eq!(f, vec!["Loves sushi"]);
        assert_eq!(extract(&msgs, true).len(), 2);
    }

    #[test]
    fn subjects() {
        assert_eq!(subject_of("Sister Anna lives in Berlin"), "sister");
        assert_eq!(subject_of("Lives in Paris"), "user");
        assert_eq!(
            subject_of("My dog is called Rex"),
            "user",
            "pets are the user's"
        );
    }

    #[test]
    fn facts_of_named_speakers_keep_the_speaker() {
        assert_eq!(
            attributed("Caroline", "Went to a support group yesterday"),
            "Caroline: Went to a support group yesterday"
        );
        assert_eq!(
            attributed("Caroline", "Caroline: Lives in Paris"),
            "Caroline: Lives in Paris",
            "never twice"
        );
        assert_eq!(attributed(" ", "Lives in Paris"), "Lives in Paris");
        assert_eq!(subject_of("Caroline: Lives in Paris"), "caroline");
        assert_eq!(
            subject_of("Caroline: Sister lives in Berlin"),
            "caroline/sister"
        );
        assert_eq!(subject_of("Lives in Paris"), "user");
        assert!(speaker_of("Note to self: buy milk").is_none());
        assert!(speaker_of("Reminder: call mom").is_some_and(|(n, _)| n == "Reminder"));
    }

    #[test]
    fn chat_statements_without_a_subject_or_about_someone_named() {
        for (said, kept) in [
            ("Got married last week!", "Got married last week"),
            (
                "Researching adoption agencies for my future family.",
                "Researching adoption agencies for my future family",
            ),
            ("Been busy with the new job.", "Been busy with the new job"),
            ("Their name is Luna.", "Their name is Luna"),
            (
                "One of them, Daisy, is a Labrador.",
                "One of them, Daisy, is a Labrador",
            ),
        ] {
            assert_eq!(facts(said), vec![kept.to_string()], "{said}");
        }
        assert!(facts("Going?").is_empty());
        assert!(facts("Got it.").is_empty(), "too short to say anything");
    }

    #[test]
    fn transcripts_keep_every_statement() {
        let m = |s: &str| Message {
            role: "user".into(),
            content: s.into(),
            actor_id: Some("Sam".into()),
        };
        let all = |s: &str| {
            extract_with(&[m(s)], false, &|_| true)
                .into_iter()
                .map(|f| f.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            all("Fitting into the new team's style of play was a challenge. Wow, so cool! Did you go?"),
            vec!["Fitting into the new team's style of play was a challenge".to_string()]
        );
        assert!(facts("Fitting into the new team's style of play was a challenge.").is_empty());
        assert!(all("Sounds like a really great plan.").is_empty());
    }
}
