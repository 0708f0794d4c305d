//! Date expressions in search queries ("on 3 June, 2023", "in May 2023",
//! "in 2022", "the week before 16 November 2023", "last May", "yesterday")
//! turned into calendar spans that the time channel of a search matches
//! against the memories' `valid_from` (when what they say happened, which
//! `add(..., "timestamp" => ...)` sets).
//!
//! Each span carries a weight: the more precise the expression, the more a
//! memory inside it is worth (a day 1.0, a week 0.7, a month 0.5, a year
//! 0.25). Relative expressions count from `today`. English month names (and
//! their three-letter forms); anything else is left to the other channels.

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
            .then_some(Date { year, month, day })
    }
    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        let (y, m, d) = (self.year as i64, self.month as i64, self.day as i64);
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    }
    pub fn from_days(z: i64) -> Date {
        let z = z + 719468;
        let era = z.div_euclid(146097);
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + if month <= 2 { 1 } else { 0 }) as i32;
        Date { year, month, day }
    }
    pub fn plus_days(self, n: i64) -> Date {
        Date::from_days(self.days() + n)
    }
    /// ISO form, `YYYY-MM-DD`.
    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// How precise a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Day,
    Week,
    Month,
    Year,
}

impl Precision {
    pub fn weight(self) -> f64 {
        match self {
            Precision::Day => 1.0,
            Precision::Week => 0.7,
            Precision::Month => 0.5,
            Precision::Year => 0.25,
        }
    }
}

/// `[from, to)` in calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: Date,
    pub to: Date,
    pub precision: Precision,
}

impl Span {
    pub fn weight(&self) -> f64 {
        self.precision.weight()
    }
    fn day(d: Date) -> Span {
        Span {
            from: d,
            to: d.plus_days(1),
            precision: Precision::Day,
        }
    }
    fn month(year: i32, month: u32) -> Span {
        let from = Date {
            year,
            month,
            day: 1,
        };
        Span {
            from,
            to: from.plus_days(days_in_month(year, month) as i64),
            precision: Precision::Month,
        }
    }
    fn year(year: i32) -> Span {
        Span {
            from: Date {
                year,
                month: 1,
                day: 1,
            },
            to: Date {
                year: year + 1,
                month: 1,
                day: 1,
            },
            precision: Precision::Year,
        }
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_of(w: &str) -> Option<u32> {
    let w = w.trim_end_matches('.');
    if let Some(i) = MONTHS.iter().position(|m| *m == w) {
        return Some(i as u32 + 1);
    }
    const SHORT: [&str; 12] = [
        "jan", "feb", "mar", "apr", "", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if w == "sept" {
        return Some(9);
    }
    SHORT
        .iter()
        .position(|m| !m.is_empty() && *m == w)
        .map(|i| i as u32 + 1)
}

/// Words before a month name that make it one even without a day or year
/// next to it ("in June", "last May"); "may" and "march" need one of these
/// or a number next to them.
const MONTH_CUES: &[&str] = &[
    "in", "during", "since", "last", "this", "early", "late", "mid", "until", "by", "before",
    "after", "of", "next",
];

fn day_of(w: &str) -> Option<u32> {
    let digits = w
        .trim_end_matches("st")
        .trim_end_matches("nd")
        .trim_end_matches("rd")
        .trim_end_matches("th");
    let d: u32 = digits.parse().ok()?;
    (1..=31).contains(&d).then_some(d)
}

fn year_of(w: &str) -> Option<i32> {
    let y: i32 = w.trim_end_matches("s").parse().ok()?;
    (w.len() == 4 && (1900..=2199).contains(&y)).then_some(y)
}

/// Lowercase words of the query, with digits kept apart from letters only
/// where they are written together with punctuation ("1,2023" → "1", "2023").
fn tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches('\'').to_string())
        .collect()
}

/// The spans a query names, most precise first, without duplicates.
pub fn spans(text: &str, today: Date) -> Vec<Span> {
    let w = tokens(text);
    let mut out: Vec<Span> = Vec::new();
    let mut used = vec![false; w.len()];
    let push = |out: &mut Vec<Span>, s: Span| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    // Explicit dates: "13 october 2023", "october 13 2023", "13th of october, 2023",
    // "october 2023", "october 13" (the year of the nearest such date before today).
    let mut i = 0;
    while i < w.len() {
        if let Some(m) = month_of(&w[i]) {
            let cue = i > 0 && MONTH_CUES.contains(&w[i - 1].as_str());
            let numbered = (i > 0 && day_of(&w[i - 1]).is_some())
                || w.get(i + 1)
                    .is_some_and(|x| day_of(x).is_some() || year_of(x).is_some());
            if !cue && !numbered {
                i += 1;
                continue;
            }
            let before_day = i
                .checked_sub(1)
                .and_then(|j| day_of(&w[j]).map(|d| (j, d)))
                .or_else(|| {
                    (i >= 2 && w[i - 1] == "of")
                        .then(|| day_of(&w[i - 2]).map(|d| (i - 2, d)))
                        .flatten()
                });
            let after_day = w.get(i + 1).and_then(|x| day_of(x)).map(|d| (i + 1, d));
            let (day, last) = match (before_day, after_day) {
                (Some((_, d)), _) => (Some(d), i),
                (None, Some((j, d))) => (Some(d), j),
                _ => (None, i),
            };
            let year = w.get(last + 1).and_then(|x| year_of(x));
            let year_given = year.is_some();
            let year = year.unwrap_or_else(|| {
                // the most recent such month (or day) not after today
                let this = today.year;
                let d = day.unwrap_or(1);
                match Date::new(this, m, d.min(days_in_month(this, m))) {
                    Some(x) if x <= today => this,
                    _ => this - 1,
                }
            });
            let start = before_day.map_or(i, |(j, _)| j);
            let end = if year_given { last + 1 } else { last };
            for u in used.iter_mut().take(end + 1).skip(start) {
                *u = true;
            }
            match day.and_then(|d| Date::new(year, m, d)) {
                Some(d) => {
                    // "the week before 16 november", "two weeks before ..."
                    let back = relative_before(&w[..start]);
                    match back {
                        Some(days) => push(
                            &mut out,
                            Span {
                                from: d.plus_days(-days),
                                to: d.plus_days(1),
                                precision: Precision::Week,
                            },
                        ),
                        None => push(&mut out, Span::day(d)),
                    }
                }
                None => push(&mut out, Span::month(year, m)),
            }
            i = end + 1;
            continue;
        }
        i += 1;
    }
    // Bare years: "in 2022".
    for (k, x) in w.iter().enumerate() {
        if used[k] {
            continue;
        }
        if let Some(y) = year_of(x) {
            push(&mut out, Span::year(y));
        }
    }
    // Relative expressions.
    let joined = format!(" {} ", w.join(" "));
    let has = |p: &str| joined.contains(&format!(" {p} "));
    if has("yesterday") {
        push(&mut out, Span::day(today.plus_days(-1)));
    }
    if has("today") {
        push(&mut out, Span::day(today));
    }
    if has("last week") || has("past week") {
        push(
            &mut out,
            Span {
                from: today.plus_days(-7),
                to: today.plus_days(1),
                precision: Precision::Week,
            },
        );
    }
    if has("last month") {
        let (y, m) = if today.month == 1 {
            (today.year - 1, 12)
        } else {
            (today.year, today.month - 1)
        };
        push(&mut out, Span::month(y, m));
    }
    if has("this month") {
        push(&mut out, Span::month(today.year, today.month));
    }
    if has("last year") {
        push(&mut out, Span::year(today.year - 1));
    }
    if has("this year") {
        push(&mut out, Span::year(today.year));
    }
    out.sort_by(|a, b| b.weight().total_cmp(&a.weight()));
    out
}

/// "the week before", "two weeks before", "the weekend before", "the day
/// before" right before a date: how many days back the span reaches.
fn relative_before(words: &[String]) -> Option<i64> {
    let n = words.len();
    if n < 2 || words[n - 1] != "before" {
        return None;
    }
    let unit = match words[n - 2].as_str() {
        "day" => 1,
        "weekend" => 3,
        "week" | "weeks" => 7,
        "month" | "months" => 30,
        _ => return None,
    };
    let count = match words.get(n.wrapping_sub(3)).map(String::as_str) {
        Some("two") | Some("2") => 2,
        Some("three") | Some("3") => 3,
        Some("few") | Some("couple") => 3,
        _ => 1,
    };
    Some(unit * count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> Date {
        Date::new(y, m, dd).unwrap()
    }

    const TODAY: Date = Date {
        year: 2024,
        month: 3,
        day: 15,
    };

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(d(1970, 1, 1).days(), 0);
        assert_eq!(d(2000, 3, 1).days(), 11017);
        for z in [-1000, 0, 59, 60, 11016, 19500, 20000] {
            assert_eq!(Date::from_days(z).days(), z);
        }
        assert_eq!(d(2023, 12, 31).plus_days(1), d(2024, 1, 1));
        assert_eq!(d(2024, 2, 28).plus_days(1), d(2024, 2, 29));
        assert!(Date::new(2023, 2, 29).is_none());
    }

    #[test]
    fn explicit_days_in_common_forms() {
        for q in [
            "What did she paint on 13 October, 2023?",
            "what did she paint on October 13, 2023",
            "on 13th October 2023",
            "as mentioned on the 13th of October, 2023",
            "Oct 13 2023",
        ] {
            let s = spans(q, TODAY);
            assert_eq!(s.len(), 1, "{q}: {s:?}");
            assert_eq!(s[0].from, d(2023, 10, 13), "{q}");
            assert_eq!(s[0].to, d(2023, 10, 14), "{q}");
            assert_eq!(s[0].precision, Precision::Day);
        }
        let s = spans("forest picture shared on December 1,2023", TODAY);
        assert_eq!(s[0].from, d(2023, 12, 1));
    }

    #[test]
    fn months_and_years() {
        let s = spans("What did Maria donate in December 2023?", TODAY);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].from, s[0].to), (d(2023, 12, 1), d(2024, 1, 1)));
        assert_eq!(s[0].precision, Precision::Month);
        let s = spans("How many times did she go to the beach in 2023?", TODAY);
        assert_eq!((s[0].from, s[0].to), (d(2023, 1, 1), d(2024, 1, 1)));
        assert_eq!(s[0].precision, Precision::Year);
        // a month without a year: the latest one not after today
        let s = spans("When did she go camping in June?", TODAY);
        assert_eq!(s[0].from, d(2023, 6, 1));
        let s = spans("what happened in march", TODAY);
        assert_eq!(s[0].from, d(2024, 3, 1));
    }

    #[test]
    fn spans_before_a_date() {
        let s = spans("Where was Tim in the week before 16 November 2023?", TODAY);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].from, s[0].to), (d(2023, 11, 9), d(2023, 11, 17)));
        assert_eq!(s[0].precision, Precision::Week);
        let s = spans("the puppy she got two weeks before August 11, 2023", TODAY);
        assert_eq!(s[0].from, d(2023, 7, 28));
    }

    #[test]
    fn relative_expressions_count_from_today() {
        let s = spans("what did I eat yesterday", TODAY);
        assert_eq!(s[0], Span::day(d(2024, 3, 14)));
        let s = spans("books I read last month", TODAY);
        assert_eq!(s[0], Span::month(2024, 2));
        let s = spans("trips last year", TODAY);
        assert_eq!(s[0], Span::year(2023));
        let s = spans("what did we talk about last week", TODAY);
        assert_eq!(s[0].from, d(2024, 3, 8));
    }

    #[test]
    fn ordinary_words_are_not_dates() {
        for q in [
            "May I ask what she likes?",
            "what does she march for",
            "he has 2 kids and 2000 dollars",
            "is she married",
            "the 3 of them",
        ] {
            let s = spans(q, TODAY);
            assert!(
                s.iter().all(|x| x.precision == Precision::Year),
                "{q}: {s:?}"
            );
        }
        assert!(spans("May I ask what she likes?", TODAY).is_empty());
        assert!(spans("what does she march for", TODAY).is_empty());
        assert!(spans("the 3 of them", TODAY).is_empty());
    }
}
