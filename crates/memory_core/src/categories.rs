//! Memory categories: the default set (the names Mem0's platform uses), custom
//! lists given per call or by setting, and the built-in tagger, a keyword
//! table per category and language.
//!
//! The built-in tagger is deliberately simple and predictable: a fact gets
//! every listed category one of whose keywords it contains (word prefixes for
//! alphabetic languages, substrings for Chinese), and `misc` when the list has
//! `misc` and nothing else matched. A custom category the table does not know
//! matches through the words of its own name and description.

use crate::error::{Error, Result};
use serde_json::Value;

/// Most categories one list may hold.
pub const MAX_CATEGORIES: usize = 100;
/// Longest category name, in characters.
pub const MAX_NAME: usize = 64;

/// A category a fact can be tagged with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub name: String,
    pub description: String,
}

/// Keywords of the default categories. English, Spanish and German entries
/// are lower-case word prefixes; Chinese ones are substrings.
const TABLE: &[(&str, &str, &[&str])] = &[
    (
        "personal_details",
        "name, age, birthday, nationality, languages, relationship status",
        &[
            "name",
            "named",
            "age",
            "years old",
            "born",
            "birthday",
            "single",
            "married",
            "divorced",
            "engaged",
            "widow",
            "nationality",
            "citizen",
            "speaks",
            "llamo",
            "nombre",
            "años",
            "soltero",
            "soltera",
            "casad",
            "cumpleaños",
            "heiße",
            "name",
            "jahre alt",
            "geboren",
            "ledig",
            "verheiratet",
            "geburtstag",
            "名字",
            "叫",
            "岁",
            "单身",
            "结婚",
            "生日",
        ],
    ),
    (
        "family",
        "relatives, partner, children and their lives",
        &[
            "mother",
            "father",
            "mom",
            "dad",
            "sister",
            "brother",
            "son",
            "daughter",
            "wife",
            "husband",
            "partner",
            "child",
            "kids",
            "parent",
            "grandm",
            "grandf",
            "uncle",
            "aunt",
            "cousin",
            "family",
            "madre",
            "padre",
            "herman",
            "hij",
            "esposa",
            "esposo",
            "familia",
            "abuel",
            "mutter",
            "vater",
            "schwester",
            "bruder",
            "sohn",
            "tochter",
            "frau",
            "ehemann",
            "kinder",
            "familie",
            "oma",
            "opa",
            "妈妈",
            "母亲",
            "爸爸",
            "父亲",
            "姐姐",
            "妹妹",
            "哥哥",
            "弟弟",
            "儿子",
            "女儿",
            "妻子",
            "丈夫",
            "孩子",
            "家人",
        ],
    ),
    (
        "professional_details",
        "job, employer, career, education, skills",
        &[
            "work",
            "job",
            "employ",
            "company",
            "engineer",
            "developer",
            "manager",
            "teacher",
            "doctor",
            "nurse",
            "career",
            "office",
            "colleague",
            "boss",
            "salary",
            "promot",
            "studies",
            "student",
            "university",
            "degree",
            "trabaj",
            "empresa",
            "oficina",
            "profesor",
            "ingenier",
            "arbeit",
            "firma",
            "beruf",
            "kolleg",
            "studier",
            "工作",
            "公司",
            "工程师",
            "老师",
            "医生",
            "同事",
            "大学",
        ],
    ),
    (
        "sports",
        "sports played or followed",
        &[
            "sport",
            "football",
            "soccer",
            "basketball",
            "tennis",
            "running",
            "runs",
            "marathon",
            "cycling",
            "swim",
            "yoga",
            "gym",
            "hiking",
            "climb",
            "ski",
            "golf",
            "fútbol",
            "futbol",
            "correr",
            "natación",
            "fußball",
            "fussball",
            "laufen",
            "schwimm",
            "wandern",
            "运动",
            "足球",
            "篮球",
            "网球",
            "跑步",
            "游泳",
            "瑜伽",
            "健身",
        ],
    ),
    (
        "travel",
        "trips, destinations, places visited or planned",
        &[
            "travel", "trip", "vacation", "holiday", "flight", "visit", "tour", "abroad", "viaj",
            "vacacion", "vuelo", "reise", "urlaub", "flug", "旅行", "旅游", "度假", "机票",
        ],
    ),
    (
        "food",
        "diet, favourite dishes, drinks, allergies to food",
        &[
            "food",
            "eat",
            "vegetarian",
            "vegan",
            "cook",
            "dish",
            "meal",
            "pizza",
            "pasta",
            "sushi",
            "coffee",
            "tea",
            "wine",
            "beer",
            "restaurant",
            "cuisine",
            "breakfast",
            "dinner",
            "lunch",
            "comida",
            "come",
            "vegetarian",
            "cocin",
            "café",
            "vino",
            "essen",
            "isst",
            "vegetarier",
            "kochen",
            "kaffee",
            "wein",
            "bier",
            "吃",
            "素食",
            "喝",
            "茶",
            "咖啡",
            "菜",
            "饭",
        ],
    ),
    (
        "music",
        "instruments, artists, genres, concerts",
        &[
            "music",
            "song",
            "band",
            "concert",
            "guitar",
            "piano",
            "violin",
            "drum",
            "sing",
            "jazz",
            "rock",
            "música",
            "musica",
            "canción",
            "guitarra",
            "musik",
            "lied",
            "gitarre",
            "klavier",
            "konzert",
            "音乐",
            "歌",
            "吉他",
            "钢琴",
            "演唱会",
        ],
    ),
    (
        "health",
        "conditions, allergies, medication, fitness and well-being",
        &[
            "health", "allerg", "sick", "ill", "disease", "diabet", "asthma", "medic", "pill",
            "doctor", "hospital", "pain", "injur", "pregnan", "sleep", "diet", "salud", "alergi",
            "enferm", "médic", "gesund", "allergi", "krank", "arzt", "schmerz", "健康", "过敏",
            "生病", "医院", "药", "疼",
        ],
    ),
    (
        "technology",
        "devices, software, programming, gadgets",
        &[
            "computer",
            "laptop",
            "phone",
            "software",
            "program",
            "coding",
            "code",
            "python",
            "rust",
            "javascript",
            "app",
            "gadget",
            "tecnolog",
            "ordenador",
            "móvil",
            "computer",
            "handy",
            "technik",
            "电脑",
            "手机",
            "编程",
            "软件",
            "科技",
        ],
    ),
    (
        "hobbies",
        "pastimes and leisure activities",
        &[
            "hobby",
            "hobbies",
            "read",
            "book",
            "paint",
            "draw",
            "garden",
            "photograph",
            "knit",
            "game",
            "gaming",
            "chess",
            "collect",
            "learning",
            "pasatiempo",
            "leer",
            "libro",
            "pintar",
            "jardín",
            "lesen",
            "buch",
            "malen",
            "garten",
            "spiel",
            "爱好",
            "读书",
            "看书",
            "画画",
            "摄影",
            "下棋",
            "游戏",
        ],
    ),
    (
        "fashion",
        "clothing, style, brands",
        &[
            "fashion", "cloth", "dress", "shoe", "wear", "style", "jacket", "moda", "ropa",
            "zapato", "mode", "kleid", "schuh", "时尚", "衣服", "鞋",
        ],
    ),
    (
        "entertainment",
        "films, series, shows, books as entertainment",
        &[
            "movie",
            "film",
            "series",
            "show",
            "netflix",
            "tv",
            "theater",
            "theatre",
            "anime",
            "película",
            "serie",
            "fernseh",
            "kino",
            "电影",
            "电视",
            "剧",
            "动漫",
        ],
    ),
    (
        "milestones",
        "life events: graduations, weddings, moves, births, new jobs",
        &[
            "graduat",
            "got married",
            "wedding",
            "moved",
            "new job",
            "promoted",
            "retired",
            "baby",
            "anniversary",
            "boda",
            "mudé",
            "me casé",
            "hochzeit",
            "umgezogen",
            "毕业",
            "婚礼",
            "搬到",
            "退休",
        ],
    ),
    (
        "user_preferences",
        "likes, dislikes and preferences",
        &[
            "like",
            "likes",
            "love",
            "loves",
            "prefer",
            "favorite",
            "favourite",
            "enjoy",
            "hate",
            "dislike",
            "gusta",
            "encanta",
            "prefier",
            "favorit",
            "mag",
            "liebe",
            "bevorzug",
            "lieblings",
            "喜欢",
            "爱",
            "讨厌",
            "最喜欢",
        ],
    ),
    ("misc", "anything that fits no other category", &[]),
];

/// The default categories, used when no custom list is given.
pub fn defaults() -> Vec<Category> {
    TABLE
        .iter()
        .map(|(n, d, _)| Category {
            name: n.to_string(),
            description: d.to_string(),
        })
        .collect()
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_parameter(message).hint(
        "Custom categories are a list of names, or of {\"name\": \"description\"} objects as Mem0 takes them.",
    )
}

fn category(name: &str, description: &str) -> Result<Category> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("a category name must not be empty"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(invalid(format!(
            "category name \"{}…\" is longer than {MAX_NAME} characters",
            name.chars().take(20).collect::<String>()
        )));
    }
    Ok(Category {
        name: name.to_string(),
        description: description.trim().to_string(),
    })
}

fn finish(list: Vec<Category>) -> Result<Vec<Category>> {
    if list.len() > MAX_CATEGORIES {
        return Err(invalid(format!(
            "{} categories given, at most {MAX_CATEGORIES} are allowed",
            list.len()
        )));
    }
    let mut out: Vec<Category> = Vec::new();
    for c in list {
        if !out.iter().any(|o| o.name.eq_ignore_ascii_case(&c.name)) {
            out.push(c);
        }
    }
    Ok(out)
}

/// A custom list in JSON: `["food", "travel"]`, Mem0's
/// `[{"food": "meals and diet"}, …]`, or `[{"name": …, "description": …}]`.
pub fn parse_json(value: &Value) -> Result<Vec<Category>> {
    let items = value
        .as_array()
        .ok_or_else(|| invalid("custom categories must be a JSON array"))?;
    let mut list = Vec::new();
    for item in items {
        match item {
            Value::String(s) => list.push(category(s, "")?),
            Value::Object(o) if o.contains_key("name") => {
                let name = o["name"]
                    .as_str()
                    .ok_or_else(|| invalid("a category's \"name\" must be a string"))?;
                let description = o.get("description").and_then(Value::as_str).unwrap_or("");
                list.push(category(name, description)?);
            }
            Value::Object(o) if o.len() == 1 => {
                let (name, d) = o.iter().next().ok_or_else(|| invalid("empty category"))?;
                let description = d
                    .as_str()
                    .ok_or_else(|| invalid("a category's description must be a string"))?;
                list.push(category(name, description)?);
            }
            _ => {
                return Err(invalid(
                    "each custom category must be a name or a one-key object",
                ))
            }
        }
    }
    finish(list)
}

/// A list from the `memory.custom_categories` setting: names separated by
/// commas, each optionally followed by `: description`.
pub fn parse_setting(text: &str) -> Result<Vec<Category>> {
    let mut list = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, description) = part.split_once(':').unwrap_or((part, ""));
        list.push(category(name, description)?);
    }
    finish(list)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xac00..=0xd7af)
}

/// Does `text` (lower-cased) contain `keyword` as a word prefix (or, for a
/// keyword in Chinese/Japanese/Korean script, anywhere)?
fn mentions(text: &str, keyword: &str) -> bool {
    if keyword.chars().any(is_cjk) {
        return text.contains(keyword);
    }
    let mut from = 0;
    while let Some(pos) = text[from..].find(keyword) {
        let at = from + pos;
        let before = text[..at].chars().next_back();
        if before.is_none_or(|c| !c.is_alphanumeric()) {
            return true;
        }
        from = at + keyword.len();
    }
    false
}

/// Words of a custom category's name and description that identify it.
fn own_keywords(c: &Category) -> Vec<String> {
    const SKIP: &[&str] = &[
        "and", "or", "the", "of", "for", "with", "about", "their", "other",
    ];
    format!("{} {}", c.name, c.description)
        .to_lowercase()
        .split(|ch: char| !ch.is_alphanumeric() && !is_cjk(ch))
        .filter(|w| w.chars().count() >= 3 || w.chars().any(is_cjk))
        .filter(|w| !SKIP.contains(w))
        .map(|w| {
            // A crude stem so "pets" also finds "pet" and "traveling" "travel".
            let trimmed = w.trim_end_matches("ing").trim_end_matches('s');
            if trimmed.chars().count() >= 3 {
                trimmed.to_string()
            } else {
                w.to_string()
            }
        })
        .collect()
}

/// The categories of `allowed` that `fact` belongs to, in list order.
pub fn tag(fact: &str, allowed: &[Category]) -> Vec<String> {
    let text = fact.to_lowercase();
    let mut out = Vec::new();
    for c in allowed {
        let known = TABLE
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(&c.name));
        let hit = match known {
            Some((_, _, words)) => words.iter().any(|k| mentions(&text, k)),
            None => own_keywords(c).iter().any(|k| mentions(&text, k)),
        };
        if hit && c.name != "misc" {
            out.push(c.name.clone());
        }
    }
    if out.is_empty() {
        if let Some(m) = allowed.iter().find(|c| c.name.eq_ignore_ascii_case("misc")) {
            out.push(m.name.clone());
        }
    }
    out
}

/// Keep the categories an LLM returned that are in `allowed`, spelled as
/// listed; unknown names are dropped (tags are not ids: nothing to retry).
pub fn restrict(given: &[String], allowed: &[Category]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in given {
        if let Some(c) = allowed
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(g.trim()))
        {
            if !out.contains(&c.name) {
                out.push(c.name.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(fact: &str) -> Vec<String> {
        tag(fact, &defaults())
    }

    #[test]
    fn default_tags() {
        assert_eq!(names("Is vegetarian"), ["food"]);
        assert_eq!(
            names("Works at Google as an engineer"),
            ["professional_details"]
        );
        assert_eq!(names("Sister lives in Berlin"), ["family"]);
        assert!(names("Loves playing the guitar").contains(&"music".to_string()));
        assert!(names("Loves playing the guitar").contains(&"user_preferences".to_string()));
        assert_eq!(names("Is allergic to peanuts"), ["health"]);
        assert_eq!(names("Planning a trip to Japan in May"), ["travel"]);
        assert_eq!(names("The sky was grey"), ["misc"]);
    }

    #[test]
    fn other_languages() {
        assert_eq!(tag("Soy vegetariana", &defaults()), ["food"]);
        assert_eq!(
            tag("Ich arbeite bei Siemens", &defaults()),
            ["professional_details"]
        );
        assert_eq!(tag("我对花生过敏", &defaults()), ["health"]);
        assert!(tag("我喜欢喝绿茶", &defaults()).contains(&"food".to_string()));
    }

    #[test]
    fn word_prefix_not_substring() {
        // "tea" must not match inside "steak", "ill" not inside "will".
        assert_eq!(names("Will grill a steak"), ["misc"]);
        assert!(!mentions("will go", "ill"));
        assert!(mentions("drinks green tea daily", "tea"));
        assert!(!mentions("a steak", "tea"));
    }

    #[test]
    fn custom_lists() {
        let cats = parse_json(&json!([{"pets": "animals the user keeps"}, "food", {"name": "finance", "description": "money, savings"}])).unwrap();
        assert_eq!(cats.len(), 3);
        assert_eq!(tag("Has a dog and two cats as pets", &cats), ["pets"]);
        assert_eq!(tag("Saves money for a house", &cats), ["finance"]);
        assert_eq!(tag("Is vegetarian", &cats), ["food"]);
        assert!(
            tag("Lives in Paris", &cats).is_empty(),
            "no misc unless listed"
        );
        let s = parse_setting("work: job and career, food ,  travel").unwrap();
        assert_eq!(
            s.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["work", "food", "travel"]
        );
        assert_eq!(s[0].description, "job and career");
        assert!(parse_json(&json!("food")).is_err());
        assert!(parse_json(&json!([1])).is_err());
        assert!(parse_json(&json!([""])).is_err());
        assert!(parse_setting(&"x,".repeat(101)).is_err());
        assert_eq!(parse_json(&json!(["Food", "food"])).unwrap().len(), 1);
    }

    #[test]
    fn restrict_to_allowed() {
        let cats = parse_setting("food,travel").unwrap();
        let got = restrict(&["FOOD".into(), "sports".into(), "food".into()], &cats);
        assert_eq!(got, ["food"]);
    }
}
