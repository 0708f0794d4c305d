//! Conflict resolution of the built-in pipeline: a new fact against the most
//! similar current memories of its scope becomes ADD, UPDATE, DELETE or NONE.
//!
//! Decision order:
//! 1. the same normalized text as a candidate → NONE (exact duplicate);
//! 2. an explicit negation of an attribute of the same subject ("I no longer
//!    have a dog", "I quit my job") → DELETE the candidate holding it;
//! 3. the same subject and attribute with another value ("single" →
//!    "married", a new city, employer, age, diet, name) → UPDATE that
//!    candidate; with the same value → NONE (said again in other words);
//! 4. for simple English facts (`proposition`): the same claim in other
//!    words ("Loves hiking" / "Enjoys hiking") → NONE; its negation
//!    ("Doesn't play tennis anymore", "Quit smoking") → DELETE; a denied
//!    claim said again → UPDATE;
//! 5. in any language, the same content words as a candidate with a
//!    negation on one side only ("Ya no me gusta el café") → DELETE it (or
//!    UPDATE it when the candidate was the negated one);
//! 6. the same content words as a candidate (`paraphrase`: function words
//!    dropped, predicate families such as love / enjoy / like merged,
//!    inflections matched) with embedding similarity ≥ `PARAPHRASE_FLOOR`,
//!    or similarity ≥ `NEAR_DUPLICATE` alone → NONE;
//! 7. otherwise ADD.
//!
//! Immutable candidates are never updated or deleted: the fact is added
//! beside them instead (UPDATE) or ignored (DELETE).
//!
//! Attributes are data: `ATTRIBUTES` holds one regular expression per
//! language and attribute, matched on the fact text (English facts in their
//! normalized third-person form, other languages as said). The subject is
//! the user unless the fact opens with a relative ("Sister lives in Berlin"),
//! so facts about other people never overwrite the user's own.

use crate::extract::{normalize_fact, subject_of};
use crate::messages::normalize;
use crate::paraphrase;
use crate::proposition;
use regex::Regex;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Cosine similarity above which a new fact repeats a memory in other
/// words. Chosen on MiniLM: paraphrases of one fact score 0.90–0.98,
/// related but different facts ("likes tea" / "likes coffee") 0.6–0.85.
pub const NEAR_DUPLICATE: f32 = 0.92;

/// Cosine similarity a candidate needs, beside the same content words
/// (`paraphrase`), to be the same fact said again: MiniLM puts restated
/// facts ("Works as a nurse" / "Job is nursing") at 0.55-0.9.
pub const PARAPHRASE_FLOOR: f32 = 0.5;

/// One attribute rule. `value` captures the value; a negation rule deletes
/// the attribute (its `value`, when captured, must match the held value for
/// multi-valued attributes such as pets).
pub struct Attribute {
    pub lang: &'static str,
    pub name: &'static str,
    pub pattern: &'static str,
    pub negation: bool,
}

pub static ATTRIBUTES: &[Attribute] = &[
    // English (normalized third-person facts)
    Attribute {
        lang: "en",
        name: "marital_status",
        pattern: r"(?i)\b(?:is|am|got)(?: now| just)? (?P<value>single|married|divorced|engaged|widowed|separated)\b",
        negation: false,
    },
    Attribute {
        lang: "en",
        name: "residence",
        pattern: r"(?i)\b(?:lives|is living|moved|has moved|relocated|lives now)(?: back)? (?:in|to) (?P<value>[^,.;]+)",
        negation: false,
    },
    Attribute {
        lang: "en",
        name: "employer",
        pattern: r"(?i)\b(?:works|is working|started working|has started working|started a new job|got a job)(?: now)? (?:at|for) (?P<value>[^,.;]+)",
        negation: false,
    },
    // "Works as a nurse at the city hospital", also inside a longer fact
    // ("Changed careers and now I work as a nurse at ...").
    Attribute {
        lang: "en",
        name: "employer",
        pattern: r"(?i)\b(?:works|work|is working|started working) as (?:a |an )?[^,.;]+? (?:at|for) (?P<value>[^,.;]+)",
        negation: false,
    },
    Attribute {
        lang: "en",
        name: "job",
        pattern: r"(?i)\b(?:works|work|is working|started working) as (?:a |an )?(?P<value>[^,.;]+?)(?: (?:at|for|in) [^,.;]+)?(?:[,.;]|$)",
        negation: false,
    },
    Attribute {
        lang: "en",
        name: "age",
        pattern: r"(?i)\b(?:is|turned) (?P<value>\d{1,3})(?: years old)?\b",
        negation: false,
    },
    Attribute {
        lang: "en",
        name: "diet",
        pattern: r"(?i)\bis (?:a |an )?(?P<value>vegetarian|vegan|pescatarian)\b",
        negation: false,
    },
    Attribute {
        lang: "en",
        name: "pet",
        pattern: r"(?i)\bhas (?:a|an|one|two|three|\d+) (?:[a-z]+ )?(?P<value>dog|cat|parrot|rabbit|hamster|horse|fish|puppy|kitten|turtle|bird)s?\b",
        negation: false,
    },
    Attribute {
        lang: "en",
        name: "name",
        pattern: r"(?i)^(?:name is|is called|goes by) (?P<value>[^,.;]+)",
        negation: false,
    },
    Attribute {
        lang: "en",
        name: "pet",
        pattern: r"(?i)\b(?:no longer has|does not have|doesn't have|gave away|lost|sold)(?: a| an| my| the)? (?:[a-z]+ )?(?P<value>dog|cat|parrot|rabbit|hamster|horse|fish|puppy|kitten|turtle|bird)\b",
        negation: true,
    },
    Attribute {
        lang: "en",
        name: "pet",
        pattern: r"(?i)^(?P<value>dog|cat|parrot|rabbit|hamster|horse|puppy|kitten|turtle|bird)(?: [a-z]+)? (?:died|passed away|ran away)",
        negation: true,
    },
    Attribute {
        lang: "en",
        name: "residence",
        pattern: r"(?i)\b(?:no longer lives|doesn't live|does not live)(?: in)?\b",
        negation: true,
    },
    Attribute {
        lang: "en",
        name: "employer",
        pattern: r"(?i)\b(?:no longer works|quit (?:my|the|his|her) job|left (?:my|the|his|her) job|got fired|was laid off|retired)\b",
        negation: true,
    },
    Attribute {
        lang: "en",
        name: "diet",
        pattern: r"(?i)\b(?:is not|is no longer|isn't|stopped being) (?:a |an )?(?:vegetarian|vegan|pescatarian)\b|\beats meat again\b",
        negation: true,
    },
    // Spanish
    Attribute {
        lang: "es",
        name: "marital_status",
        pattern: r"(?i)\b(?:estoy|soy) (?P<value>casad[oa]|solter[oa]|divorciad[oa]|viud[oa]|prometid[oa])\b",
        negation: false,
    },
    Attribute {
        lang: "es",
        name: "marital_status",
        pattern: r"(?i)\bme (?P<value>casé|divorcié|comprometí)\b",
        negation: false,
    },
    Attribute {
        lang: "es",
        name: "residence",
        pattern: r"(?i)\b(?:vivo|ahora vivo) en (?P<value>[^,.;]+)|\bme mudé a (?P<value2>[^,.;]+)",
        negation: false,
    },
    Attribute {
        lang: "es",
        name: "employer",
        pattern: r"(?i)\btrabajo (?:en|para) (?P<value>[^,.;]+)",
        negation: false,
    },
    Attribute {
        lang: "es",
        name: "job",
        pattern: r"(?i)\b(?:ahora )?trabajo (?:como|de) (?P<value>[^,.;]+?)(?: (?:en|para) [^,.;]+)?(?:[,.;]|$)",
        negation: false,
    },
    Attribute {
        lang: "es",
        name: "age",
        pattern: r"(?i)\btengo (?P<value>\d{1,3}) años\b",
        negation: false,
    },
    Attribute {
        lang: "es",
        name: "diet",
        pattern: r"(?i)\bsoy (?P<value>vegetarian[oa]|vegan[oa])\b",
        negation: false,
    },
    Attribute {
        lang: "es",
        name: "pet",
        pattern: r"(?i)\btengo (?:un|una|dos|tres) (?P<value>perro|gato)s?\b",
        negation: false,
    },
    Attribute {
        lang: "es",
        name: "name",
        pattern: r"(?i)\b(?:me llamo|mi nombre es) (?P<value>[^,.;]+)",
        negation: false,
    },
    Attribute {
        lang: "es",
        name: "pet",
        pattern: r"(?i)\bya no tengo (?:un |una |mi )?(?P<value>perro|gato)\b",
        negation: true,
    },
    Attribute {
        lang: "es",
        name: "residence",
        pattern: r"(?i)\bya no vivo en\b",
        negation: true,
    },
    Attribute {
        lang: "es",
        name: "employer",
        pattern: r"(?i)\bya no trabajo\b|\bdejé mi trabajo\b",
        negation: true,
    },
    Attribute {
        lang: "es",
        name: "diet",
        pattern: r"(?i)\bya no soy (?:vegetarian[oa]|vegan[oa])\b",
        negation: true,
    },
    // German
    Attribute {
        lang: "de",
        name: "marital_status",
        pattern: r"(?i)\bich bin (?:jetzt |seit kurzem )?(?P<value>verheiratet|ledig|single|geschieden|verlobt|verwitwet)\b",
        negation: false,
    },
    Attribute {
        lang: "de",
        name: "marital_status",
        pattern: r"(?i)\bich habe (?P<value>geheiratet)\b",
        negation: false,
    },
    Attribute {
        lang: "de",
        name: "residence",
        pattern: r"(?i)\bich (?:wohne|lebe) (?:jetzt |seit [^,.;]+ )?in (?P<value>[^,.;]+)|\bich bin nach (?P<value2>[^,.;]+?) gezogen",
        negation: false,
    },
    Attribute {
        lang: "de",
        name: "employer",
        pattern: r"(?i)\bich arbeite\b[^,.;]*?\bbei (?P<value>[^,.;]+)",
        negation: false,
    },
    Attribute {
        lang: "de",
        name: "job",
        pattern: r"(?i)\bich arbeite (?:jetzt |seit [^,.;]+ )?als (?P<value>[^,.;]+?)(?: (?:bei|in|für) [^,.;]+)?(?:[,.;]|$)",
        negation: false,
    },
    Attribute {
        lang: "de",
        name: "age",
        pattern: r"(?i)\bich bin (?P<value>\d{1,3}) jahre alt\b",
        negation: false,
    },
    Attribute {
        lang: "de",
        name: "diet",
        pattern: r"(?i)\bich bin (?P<value>vegetarier(?:in)?|veganer(?:in)?)\b",
        negation: false,
    },
    Attribute {
        lang: "de",
        name: "pet",
        pattern: r"(?i)\bich habe (?:einen|eine|zwei|drei) (?P<value>hund|katze)",
        negation: false,
    },
    Attribute {
        lang: "de",
        name: "name",
        pattern: r"(?i)\b(?:ich heiße|mein name ist) (?P<value>[^,.;]+)",
        negation: false,
    },
    Attribute {
        lang: "de",
        name: "pet",
        pattern: r"(?i)\bich habe (?:keinen|keine) (?P<value>hund|katze) mehr\b",
        negation: true,
    },
    Attribute {
        lang: "de",
        name: "residence",
        pattern: r"(?i)\bich wohne nicht mehr\b",
        negation: true,
    },
    Attribute {
        lang: "de",
        name: "employer",
        pattern: r"(?i)\bich arbeite nicht mehr\b|\bich habe (?:meinen job|meine stelle) gekündigt\b",
        negation: true,
    },
    Attribute {
        lang: "de",
        name: "diet",
        pattern: r"(?i)\bich bin (?:kein(?:e)? (?:vegetarier(?:in)?|veganer(?:in)?) mehr|nicht mehr (?:vegetarisch|vegan))\b",
        negation: true,
    },
    // Chinese
    Attribute {
        lang: "zh",
        name: "marital_status",
        pattern: r"我(?:已经|刚|是)?(?P<value>结婚|离婚|单身|订婚)",
        negation: false,
    },
    Attribute {
        lang: "zh",
        name: "residence",
        pattern: r"我(?:现在)?住在(?P<value>[^，。,；]+)|我搬到了?(?P<value2>[^，。,；]+)",
        negation: false,
    },
    Attribute {
        lang: "zh",
        name: "employer",
        pattern: r"我(?:现在)?在(?P<value>[^，。,；]+?)(?:工作|上班)",
        negation: false,
    },
    Attribute {
        lang: "zh",
        name: "job",
        pattern: r"我(?:现在)?(?:是|当)(?:一名|一个|个)?(?P<value>老师|教师|医生|护士|律师|工程师|程序员|学生|会计|厨师|司机|警察|记者|设计师|经理|服务员|演员|作家)了?",
        negation: false,
    },
    Attribute {
        lang: "zh",
        name: "age",
        pattern: r"我(?:今年)?(?P<value>\d{1,3})岁",
        negation: false,
    },
    Attribute {
        lang: "zh",
        name: "diet",
        pattern: r"我(?:是)?(?P<value>素食者|吃素)",
        negation: false,
    },
    Attribute {
        lang: "zh",
        name: "pet",
        pattern: r"我(?:养了|有)(?:一只|一条|两只)(?P<value>狗|猫)",
        negation: false,
    },
    Attribute {
        lang: "zh",
        name: "name",
        pattern: r"我(?:叫|的名字是)(?P<value>[^，。,；]+)",
        negation: false,
    },
    Attribute {
        lang: "zh",
        name: "pet",
        pattern: r"我(?:不再|已经不|没有再)养(?P<value>狗|猫)",
        negation: true,
    },
    Attribute {
        lang: "zh",
        name: "residence",
        pattern: r"我不再住在",
        negation: true,
    },
    Attribute {
        lang: "zh",
        name: "employer",
        pattern: r"我(?:辞职了|不再在[^，。,；]+工作)",
        negation: true,
    },
];

fn compiled() -> &'static Vec<Regex> {
    static RE: OnceLock<Vec<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        ATTRIBUTES
            .iter()
            .map(|a| {
                Regex::new(a.pattern)
                    .unwrap_or_else(|e| panic!("bad attribute pattern {}: {e}", a.name))
            })
            .collect()
    })
}

/// What a fact says about an attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub subject: String,
    pub attribute: String,
    /// Canonical value (lowercase; pets mapped to English kinds).
    pub value: Option<String>,
    pub negation: bool,
}

/// Words after which a value is over ("Paris now", "Acme since 2020").
const VALUE_ENDS: &[&str] = &[
    "now", "again", "still", "too", "since", "for", "last", "this", "next", "recently", "in",
    "from", "ahora", "desde", "hace", "jetzt", "seit",
];

fn canonical(attribute: &str, value: &str) -> String {
    let v = value
        .trim()
        .trim_end_matches(['.', '!', '。'])
        .trim()
        .to_lowercase();
    let v = v
        .split_whitespace()
        .take_while(|w| !VALUE_ENDS.contains(w))
        .collect::<Vec<_>>()
        .join(" ");
    if attribute == "pet" {
        return match v.as_str() {
            "perro" | "hund" | "狗" | "puppy" => "dog".into(),
            "gato" | "katze" | "猫" | "kitten" => "cat".into(),
            _ => v,
        };
    }
    if attribute == "marital_status" {
        return match v.as_str() {
            "casado" | "casada" | "casé" | "verheiratet" | "geheiratet" | "结婚" => {
                "married".into()
            }
            "soltero" | "soltera" | "ledig" | "单身" => "single".into(),
            "divorciado" | "divorciada" | "divorcié" | "geschieden" | "离婚" => {
                "divorced".into()
            }
            _ => v,
        };
    }
    v
}

/// The attribute claims of a fact (English facts are normalized first, so a
/// memory stored verbatim as "I live in Paris" is understood too).
pub fn claims(text: &str) -> Vec<Claim> {
    let fact = normalize_fact(text);
    let subject = subject_of(&fact);
    let mut out: Vec<Claim> = Vec::new();
    for (a, re) in ATTRIBUTES.iter().zip(compiled()) {
        if let Some(c) = re.captures(&fact) {
            // Rules of other languages only see their own patterns' words,
            // so no language check is needed; subjects other than the user
            // are only known for English facts.
            if a.lang != "en" && subject != "user" {
                continue;
            }
            let value = c
                .name("value")
                .or_else(|| c.name("value2"))
                .map(|m| canonical(a.name, m.as_str()));
            let claim = Claim {
                subject: subject.clone(),
                attribute: a.name.to_string(),
                value,
                negation: a.negation,
            };
            // A negation outranks a positive reading of the same attribute
            // ("is no longer vegetarian" must not read as "is vegetarian").
            if claim.negation {
                out.retain(|o| o.attribute != claim.attribute);
                out.push(claim);
            } else if !out.iter().any(|o| o.attribute == claim.attribute) {
                out.push(claim);
            }
        }
    }
    out
}

/// An existing memory a new fact is compared with.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub text: String,
    /// Cosine similarity of its embedding to the new fact's.
    pub similarity: f32,
    pub immutable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Add,
    /// Replace candidate `target`'s text with the new fact.
    Update {
        target: usize,
    },
    /// Invalidate candidate `target`.
    Delete {
        target: usize,
    },
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub event: Event,
    pub reason: String,
}

fn decision(event: Event, reason: impl Into<String>) -> Decision {
    Decision {
        event,
        reason: reason.into(),
    }
}

/// Decide what a new fact does to the memories of its scope.
pub fn decide(fact: &str, candidates: &[Candidate]) -> Decision {
    let norm = normalize(&normalize_fact(fact));
    if let Some(i) = candidates
        .iter()
        .position(|c| normalize(&normalize_fact(&c.text)) == norm)
    {
        return decision(Event::None, format!("same as memory {}", i + 1));
    }
    let new_claims = claims(fact);
    // A negation of an attribute nobody holds is dropped, unless the fact
    // reverses a remembered claim (step 4).
    let mut unheld: Option<Decision> = None;
    for claim in &new_claims {
        // Candidates holding the same attribute of the same subject.
        let holders: Vec<(usize, Claim)> = candidates
            .iter()
            .enumerate()
            .flat_map(|(i, c)| claims(&c.text).into_iter().map(move |h| (i, h)))
            .filter(|(_, h)| {
                h.subject == claim.subject
                    && (h.attribute == claim.attribute
                        // Leaving one's job ends the occupation held too
                        // ("Quit my job" against "Works as a nurse").
                        || (claim.negation && claim.attribute == "employer" && h.attribute == "job"))
                    && !h.negation
            })
            .filter(|(_, h)| {
                // Multi-valued attributes (pets) concern one value at a time.
                claim.attribute != "pet" || claim.value.is_none() || claim.value == h.value
            })
            .collect();
        if claim.negation {
            if let Some((i, _)) = holders.iter().find(|(i, _)| !candidates[*i].immutable) {
                return decision(
                    Event::Delete { target: *i },
                    format!("negates the {} of {}", claim.attribute, claim.subject),
                );
            }
            if holders.is_empty() {
                unheld.get_or_insert_with(|| {
                    decision(
                        Event::None,
                        format!("negates a {} that is not remembered", claim.attribute),
                    )
                });
                continue;
            }
            return decision(
                Event::None,
                format!("negates immutable memory {}", holders[0].0 + 1),
            );
        }
        if let Some((i, _)) = holders.iter().find(|(_, h)| h.value == claim.value) {
            if claim.attribute != "pet" || candidates[*i].similarity >= NEAR_DUPLICATE {
                return decision(
                    Event::None,
                    format!("same {} as memory {}", claim.attribute, i + 1),
                );
            }
        }
        if claim.attribute == "pet" {
            continue;
        }
        if let Some((i, held)) = holders.iter().find(|(i, _)| !candidates[*i].immutable) {
            return decision(
                Event::Update { target: *i },
                format!(
                    "{} of {} changed from {} to {}",
                    claim.attribute,
                    claim.subject,
                    held.value.as_deref().unwrap_or("?"),
                    claim.value.as_deref().unwrap_or("?")
                ),
            );
        }
        if let Some((i, _)) = holders.first() {
            return decision(Event::Add, format!("memory {} is immutable", i + 1));
        }
    }
    if let Some(d) = decide_proposition(fact, candidates) {
        return d;
    }
    // Content words, read once for the steps below.
    let words = paraphrase::content(fact);
    let held: Vec<_> = candidates
        .iter()
        .map(|c| paraphrase::content(&c.text))
        .collect();
    if let Some(d) = decide_negation(&words, &held, candidates) {
        return d;
    }
    if let Some(d) = unheld {
        return d;
    }
    if let Some((i, c)) = closest(candidates, |i, c| {
        c.similarity >= PARAPHRASE_FLOOR && paraphrase::matches(&words, &held[i])
    }) {
        return decision(
            Event::None,
            format!(
                "says memory {} again in other words (similarity {:.2})",
                i + 1,
                c.similarity
            ),
        );
    }
    // MiniLM, an English model, puts Chinese sentences close together
    // whatever they say ("我妈妈住在广州" / "我住在广州"): there the
    // similarity alone never decides; the content words must match too.
    let cjk = fact.chars().any(crate::text::is_cjk);
    if let Some((i, c)) = closest(candidates, |i, c| {
        c.similarity >= NEAR_DUPLICATE && (!cjk || paraphrase::matches(&words, &held[i]))
    }) {
        return decision(
            Event::None,
            format!(
                "near duplicate of memory {} (similarity {:.2})",
                i + 1,
                c.similarity
            ),
        );
    }
    decision(Event::Add, "new fact")
}

/// The most similar candidate that passes `keep(index, candidate)`, with
/// its index.
fn closest(
    candidates: &[Candidate],
    keep: impl Fn(usize, &Candidate) -> bool,
) -> Option<(usize, &Candidate)> {
    candidates
        .iter()
        .enumerate()
        .filter(|(i, c)| keep(*i, c))
        .max_by(|a, b| a.1.similarity.total_cmp(&b.1.similarity))
}

/// Negation in any language, by content words (`paraphrase::denies`;
/// `words` and `held` are the content tokens of the fact and the candidates): the
/// closest candidate that says the same thing with the opposite polarity is
/// DELETEd when the new fact denies it, UPDATEd when the new fact affirms
/// what it denied. Immutable candidates are left alone.
fn decide_negation(
    words: &BTreeSet<String>,
    held: &[BTreeSet<String>],
    candidates: &[Candidate],
) -> Option<Decision> {
    let denies = |i: usize| paraphrase::denies_content(words, &held[i]);
    let (i, _) = closest(candidates, |i, c| {
        c.similarity >= PARAPHRASE_FLOOR && denies(i).is_some()
    })?;
    let denied = denies(i)?;
    Some(if candidates[i].immutable {
        decision(Event::Add, format!("memory {} is immutable", i + 1))
    } else if denied {
        decision(
            Event::Delete { target: i },
            format!("denies memory {}", i + 1),
        )
    } else {
        decision(
            Event::Update { target: i },
            format!("affirms what memory {} denied", i + 1),
        )
    })
}

/// Step 4 of `decide` for simple English facts (`proposition`): the same
/// claim as a candidate, said in other words, is NONE; its negation
/// ("Doesn't play tennis anymore", "Quit smoking", "Gave up playing chess"
/// against "Loves playing chess") DELETEs the candidate;
/// a positive claim that a candidate denied ("Eats meat again" after
/// "Doesn't eat meat") UPDATEs it. Immutable candidates are left alone.
fn decide_proposition(fact: &str, candidates: &[Candidate]) -> Option<Decision> {
    let new = proposition::of(fact)?;
    let (i, held) = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| proposition::of(&c.text).map(|p| (i, p)))
        .find(|(_, p)| p.same_claim(&new) || p.opposes(&new))?;
    let what = if new.object.is_empty() {
        new.predicate.clone()
    } else {
        format!("{} {}", new.predicate, new.object)
    };
    Some(if held.negated == new.negated {
        decision(Event::None, format!("says memory {} again ({what})", i + 1))
    } else if candidates[i].immutable {
        decision(Event::Add, format!("memory {} is immutable", i + 1))
    } else if new.negated {
        decision(
            Event::Delete { target: i },
            format!("no longer true: {what}"),
        )
    } else {
        decision(Event::Update { target: i }, format!("true again: {what}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::extract;
    use crate::messages::Message;

    fn jaccard(a: &str, b: &str) -> f32 {
        let wa: std::collections::HashSet<String> =
            normalize(a).split(' ').map(str::to_string).collect();
        let wb: std::collections::HashSet<String> =
            normalize(b).split(' ').map(str::to_string).collect();
        wa.intersection(&wb).count() as f32 / wa.union(&wb).count().max(1) as f32
    }

    /// Run the built-in pipeline over messages; returns the current memories
    /// and the events in order.
    fn run(messages: &[&str]) -> (Vec<String>, Vec<String>) {
        let mut state: Vec<String> = Vec::new();
        let mut events = Vec::new();
        for m in messages {
            let msg = Message {
                role: "user".into(),
                content: m.to_string(),
                actor_id: None,
            };
            for f in extract(&[msg], false) {
                let cands: Vec<Candidate> = state
                    .iter()
                    .map(|t| Candidate {
                        text: t.clone(),
                        similarity: jaccard(t, &f.text),
                        immutable: false,
                    })
                    .collect();
                let d = decide(&f.text, &cands);
                match d.event {
                    Event::Add => {
                        state.push(f.text.clone());
                        events.push("ADD".to_string());
                    }
                    Event::Update { target } => {
                        state[target] = f.text.clone();
                        events.push("UPDATE".to_string());
                    }
                    Event::Delete { target } => {
                        state.remove(target);
                        events.push("DELETE".to_string());
                    }
                    Event::None => events.push("NONE".to_string()),
                }
            }
        }
        (state, events)
    }

    fn check(messages: &[&str], expected_state: &[&str], expected_events: &[&str]) {
        let (state, events) = run(messages);
        assert_eq!(state, expected_state, "state after {messages:?}");
        assert_eq!(events, expected_events, "events of {messages:?}");
    }

    #[test]
    fn english_updates() {
        check(
            &["I am single.", "I got married last week."],
            &["Got married last week"],
            &["ADD", "UPDATE"],
        );
        check(
            &["I'm married", "I am divorced now"],
            &["Is divorced now"],
            &["ADD", "UPDATE"],
        );
        check(
            &["I live in Paris", "I moved to Berlin"],
            &["Moved to Berlin"],
            &["ADD", "UPDATE"],
        );
        check(
            &["I live in Paris", "I live in Paris now, still"],
            &["Lives in Paris"],
            &["ADD", "NONE"],
        );
        check(
            &["I work at Acme", "I started working at Initech"],
            &["Started working at Initech"],
            &["ADD", "UPDATE"],
        );
        check(
            &["I work as a nurse", "I work as a doctor"],
            &["Works as a doctor"],
            &["ADD", "UPDATE"],
        );
        check(
            &["I am 30 years old", "I turned 31"],
            &["Turned 31"],
            &["ADD", "UPDATE"],
        );
        check(
            &["I'm vegetarian", "I am vegan"],
            &["Is vegan"],
            &["ADD", "UPDATE"],
        );
        check(
            &["My name is Jon", "My name is John"],
            &["Name is John"],
            &["ADD", "UPDATE"],
        );
        check(
            &["I am 30 years old", "I am 30 years old."],
            &["Is 30 years old"],
            &["ADD", "NONE"],
        );
    }

    #[test]
    fn english_deletes() {
        check(
            &["I have a dog named Rex", "I no longer have a dog"],
            &[],
            &["ADD", "DELETE"],
        );
        check(
            &["I have a dog", "My dog died last month"],
            &[],
            &["ADD", "DELETE"],
        );
        check(
            &["I have a cat", "I no longer have a dog"],
            &["Has a cat"],
            &["ADD", "NONE"],
        );
        check(
            &["I work at Acme", "I quit my job at Acme"],
            &[],
            &["ADD", "DELETE"],
        );
        check(
            &["I am vegetarian", "I'm no longer vegetarian"],
            &[],
            &["ADD", "DELETE"],
        );
        check(
            &["I live in Rome", "I no longer live in Rome"],
            &[],
            &["ADD", "DELETE"],
        );
        check(&["I no longer have a dog"], &[], &["NONE"]);
    }

    #[test]
    fn unrelated_facts_both_stay() {
        check(
            &["I like tea", "I like hiking"],
            &["Likes tea", "Likes hiking"],
            &["ADD", "ADD"],
        );
        check(
            &["I have a dog", "I have a cat"],
            &["Has a dog", "Has a cat"],
            &["ADD", "ADD"],
        );
        check(
            &["I live in Paris", "I work at Airbus"],
            &["Lives in Paris", "Works at Airbus"],
            &["ADD", "ADD"],
        );
        check(
            &["I am vegetarian", "I am allergic to nuts"],
            &["Is vegetarian", "Is allergic to nuts"],
            &["ADD", "ADD"],
        );
        check(
            &["I am married", "I am 40 years old"],
            &["Is married", "Is 40 years old"],
            &["ADD", "ADD"],
        );
    }

    #[test]
    fn other_people_do_not_overwrite_the_user() {
        check(
            &["I live in Paris", "My sister lives in Berlin"],
            &["Lives in Paris", "Sister lives in Berlin"],
            &["ADD", "ADD"],
        );
        check(
            &["My sister lives in Berlin", "My sister moved to Munich"],
            &["Sister moved to Munich"],
            &["ADD", "UPDATE"],
        );
        check(
            &["I am single", "My brother is married"],
            &["Is single", "Brother is married"],
            &["ADD", "ADD"],
        );
        check(
            &["I work at Acme", "My wife works at Google"],
            &["Works at Acme", "Wife works at Google"],
            &["ADD", "ADD"],
        );
        check(
            &["I have a dog", "My friend no longer has a dog"],
            &["Has a dog"],
            &["ADD", "NONE"],
        );
    }

    #[test]
    fn spanish() {
        check(
            &["Estoy soltera.", "Me casé en junio."],
            &["Me casé en junio"],
            &["ADD", "UPDATE"],
        );
        check(
            &["Vivo en Madrid", "Me mudé a Sevilla"],
            &["Me mudé a Sevilla"],
            &["ADD", "UPDATE"],
        );
        check(
            &["Tengo un perro", "Ya no tengo perro"],
            &[],
            &["ADD", "DELETE"],
        );
        check(
            &["Trabajo en Telefónica", "Trabajo para Inditex"],
            &["Trabajo para Inditex"],
            &["ADD", "UPDATE"],
        );
        check(
            &["Soy vegetariana", "Me gusta el cine"],
            &["Soy vegetariana", "Me gusta el cine"],
            &["ADD", "ADD"],
        );
        check(
            &["Tengo 25 años", "Tengo 26 años"],
            &["Tengo 26 años"],
            &["ADD", "UPDATE"],
        );
        check(
            &["Mi hermana vive en Sevilla", "Vivo en Madrid"],
            &["Mi hermana vive en Sevilla", "Vivo en Madrid"],
            &["ADD", "ADD"],
        );
    }

    #[test]
    fn german() {
        check(
            &["Ich bin ledig.", "Ich bin jetzt verheiratet."],
            &["Ich bin jetzt verheiratet"],
            &["ADD", "UPDATE"],
        );
        check(
            &["Ich wohne in Hamburg", "Ich bin nach München gezogen"],
            &["Ich bin nach München gezogen"],
            &["ADD", "UPDATE"],
        );
        check(
            &["Ich habe einen Hund", "Ich habe keinen Hund mehr"],
            &[],
            &["ADD", "DELETE"],
        );
        check(
            &["Ich arbeite bei Siemens", "Ich arbeite bei Bosch"],
            &["Ich arbeite bei Bosch"],
            &["ADD", "UPDATE"],
        );
        check(
            &["Ich bin Vegetarierin", "Ich bin keine Vegetarierin mehr"],
            &[],
            &["ADD", "DELETE"],
        );
        check(
            &["Ich heiße Jonas", "Ich mag Kaffee"],
            &["Ich heiße Jonas", "Ich mag Kaffee"],
            &["ADD", "ADD"],
        );
        check(
            &["Ich bin 40 Jahre alt", "Ich bin 41 Jahre alt"],
            &["Ich bin 41 Jahre alt"],
            &["ADD", "UPDATE"],
        );
    }

    #[test]
    fn chinese() {
        check(
            &["我是单身。", "我结婚了。"],
            &["我结婚了"],
            &["ADD", "UPDATE"],
        );
        check(
            &["我住在北京", "我搬到了上海"],
            &["我搬到了上海"],
            &["ADD", "UPDATE"],
        );
        check(&["我养了一只狗", "我不再养狗了"], &[], &["ADD", "DELETE"]);
        check(
            &["我在腾讯工作", "我在阿里巴巴工作"],
            &["我在阿里巴巴工作"],
            &["ADD", "UPDATE"],
        );
        check(
            &["我喜欢喝绿茶", "我住在北京"],
            &["我喜欢喝绿茶", "我住在北京"],
            &["ADD", "ADD"],
        );
        check(
            &["我今年30岁", "我今年31岁"],
            &["我今年31岁"],
            &["ADD", "UPDATE"],
        );
        check(&["我叫小明", "我叫小明。"], &["我叫小明"], &["ADD", "NONE"]);
    }

    #[test]
    fn occupations_change_in_every_language() {
        let event = |fact: &str, held: &str| {
            decide(
                fact,
                &[Candidate {
                    text: held.into(),
                    similarity: 0.7,
                    immutable: false,
                }],
            )
            .event
        };
        let update = Event::Update { target: 0 };
        assert_eq!(
            event("Ahora trabajo como profesora", "Trabajo como enfermera"),
            update
        );
        assert_eq!(
            event("Ich arbeite jetzt als Lehrer", "Ich arbeite als Koch"),
            update
        );
        assert_eq!(event("我现在是老师了", "我是护士"), update);
        assert_eq!(
            event("Quit my job as a nurse", "Works as a nurse"),
            Event::Delete { target: 0 }
        );
        // Another person's job, or the same job said again, changes nothing.
        assert_eq!(
            event("Trabajo como enfermera", "Trabajo como enfermera en Madrid"),
            Event::None
        );
        assert_eq!(
            event("Mi hermano trabaja como abogado", "Trabajo como enfermera"),
            Event::Add
        );
    }

    #[test]
    fn duplicates_and_near_duplicates() {
        check(
            &["I love sushi", "I love sushi!"],
            &["Loves sushi"],
            &["ADD", "NONE"],
        );
        check(
            &["I LOVE SUSHI", "i love   sushi"],
            &["Loves SUSHI"],
            &["ADD", "NONE"],
        );
        let near = decide(
            "Really loves green tea",
            &[Candidate {
                text: "Loves green tea".into(),
                similarity: 0.95,
                immutable: false,
            }],
        );
        assert_eq!(near.event, Event::None);
        // Chinese facts with different content words stay apart even when
        // the (English) embedding model puts them close.
        let zh = |text: &str, similarity: f32| {
            decide(
                "我喜欢喝酒",
                &[Candidate {
                    text: text.into(),
                    similarity,
                    immutable: false,
                }],
            )
            .event
        };
        assert_eq!(zh("我喜欢喝茶", 0.95), Event::Add);
        let mother = decide(
            "我妈妈住在广州",
            &[Candidate {
                text: "我住在广州".into(),
                similarity: 0.95,
                immutable: false,
            }],
        );
        assert_eq!(mother.event, Event::Add);
        // A qualified relative is not the user: no residence of the user's
        // is said again.
        let friend = decide(
            "Best friend lives in Leeds too",
            &[Candidate {
                text: "Lives in Leeds".into(),
                similarity: 0.8,
                immutable: false,
            }],
        );
        assert_eq!(friend.event, Event::Add);
        assert_eq!(zh("我很爱喝酒", 0.95), Event::None);
        let far = decide(
            "Loves coffee",
            &[Candidate {
                text: "Loves green tea".into(),
                similarity: 0.7,
                immutable: false,
            }],
        );
        assert_eq!(far.event, Event::Add);
    }

    #[test]
    fn immutable_memories_are_never_changed() {
        let held = [Candidate {
            text: "Lives in Paris".into(),
            similarity: 0.6,
            immutable: true,
        }];
        assert_eq!(decide("Lives in Berlin", &held).event, Event::Add);
        assert_eq!(decide("No longer lives in Paris", &held).event, Event::None);
        let pet = [Candidate {
            text: "Has a dog".into(),
            similarity: 0.6,
            immutable: true,
        }];
        assert_eq!(decide("No longer has a dog", &pet).event, Event::None);
    }

    #[test]
    fn claims_read_verbatim_memories_too() {
        let c = claims("I live in Paris");
        assert_eq!(c[0].attribute, "residence");
        assert_eq!(c[0].value.as_deref(), Some("paris"));
        assert_eq!(claims("Sister Anna lives in Berlin")[0].subject, "sister");
        let neg = claims("No longer has a dog");
        assert_eq!(neg.len(), 1);
        assert!(neg[0].negation);
        assert_eq!(claims("Tengo un perro")[0].value.as_deref(), Some("dog"));
        assert!(claims("Likes tea").is_empty());
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(compiled().len(), ATTRIBUTES.len());
    }

    /// The cases of issue #20 that the attribute table alone missed.
    #[test]
    fn negations_paraphrases_and_indirect_changes() {
        check(
            &[
                "I work at Acme.",
                "I changed careers and now I work as a nurse at the city hospital.",
            ],
            &["Changed careers and now I work as a nurse at the city hospital"],
            &["ADD", "UPDATE"],
        );
        check(
            &[
                "I play tennis every Sunday.",
                "I don't play tennis anymore.",
            ],
            &[],
            &["ADD", "DELETE"],
        );
        check(&["I smoke.", "I quit smoking."], &[], &["ADD", "DELETE"]);
        check(
            &[
                "I like jazz.",
                "I don't like jazz anymore.",
                "I love jazz again.",
            ],
            &["Loves jazz again"],
            &["ADD", "DELETE", "ADD"],
        );
        check(
            &["I don't eat meat.", "I eat meat again."],
            &["Eats meat again"],
            &["ADD", "UPDATE"],
        );
        check(
            &["I love hiking.", "I enjoy hiking."],
            &["Loves hiking"],
            &["ADD", "NONE"],
        );
        check(
            &["I am allergic to peanuts.", "I have an allergy to peanuts."],
            &["Is allergic to peanuts"],
            &["ADD", "NONE"],
        );
        // Different claims stay apart: two allergies, one person's and a
        // relative's habit.
        check(
            &["I am allergic to peanuts.", "I am allergic to shellfish."],
            &["Is allergic to peanuts", "Is allergic to shellfish"],
            &["ADD", "ADD"],
        );
        check(
            &["My sister plays tennis.", "I don't play tennis."],
            &["Sister plays tennis", "Doesn't play tennis"],
            &["ADD", "ADD"],
        );
    }
}
