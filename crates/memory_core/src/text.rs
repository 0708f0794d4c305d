//! Keyword terms that work in any language. PostgreSQL's text search gives
//! stemmed lexemes for languages with spaces; Chinese, Japanese and Korean
//! text has no spaces, so its runs of ideographs/kana/hangul are indexed as
//! overlapping character bigrams (a lone character as itself). The bigrams
//! are merged into the memory's tsvector and into the query's terms.

/// Is `c` written without spaces between words (CJK ideographs, kana, hangul)?
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // CJK extensions B..
}

/// CJK terms of `text` in order of appearance (duplicates kept: they count
/// as term frequency).
pub fn cjk_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut Vec<String>| {
        match run.len() {
            0 => {}
            1 => out.push(run[0].to_string()),
            _ => out.extend(run.windows(2).map(|w| w.iter().collect::<String>())),
        }
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The CJK terms as a tsvector literal (`'茶叶':1 '叶子':2,5`), positions
/// counted from `first_position`; empty when there are none.
pub fn cjk_tsvector(text: &str, first_position: usize) -> String {
    let terms = cjk_terms(text);
    let mut positions: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, t) in terms.into_iter().enumerate() {
        // tsvector positions stop at 16383.
        let pos = (first_position + i).min(16383);
        match positions.iter_mut().find(|(term, _)| *term == t) {
            Some((_, p)) => p.push(pos),
            None => positions.push((t, vec![pos])),
        }
    }
    positions
        .iter()
        .map(|(t, p)| {
            let ps: Vec<String> = p.iter().take(256).map(usize::to_string).collect();
            format!(
                "'{}':{}",
                t.replace('\'', "''").replace('\\', "\\\\"),
                ps.join(",")
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigrams_for_cjk_runs() {
        assert_eq!(
            cjk_terms("我喜欢喝茶"),
            vec!["我喜", "喜欢", "欢喝", "喝茶"]
        );
        assert_eq!(cjk_terms("茶"), vec!["茶"]);
        assert_eq!(cjk_terms("I like 绿茶 and 茶."), vec!["绿茶", "茶"]);
        assert_eq!(cjk_terms("私は東京"), vec!["私は", "は東", "東京"]);
        assert_eq!(cjk_terms("커피를"), vec!["커피", "피를"]);
        assert!(cjk_terms("plain English, Español, Deutsch").is_empty());
    }

    #[test]
    fn tsvector_literal_counts_repeats() {
        assert_eq!(cjk_tsvector("茶茶茶", 1), "'茶茶':1,2");
        assert_eq!(cjk_tsvector("喝茶，喝茶", 10), "'喝茶':10,11");
        assert_eq!(cjk_tsvector("hello", 1), "");
    }
}
