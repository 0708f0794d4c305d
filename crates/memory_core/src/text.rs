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

/// Frequency of each of `terms` in a tsvector given in PostgreSQL's text
/// form (`'bike':3,7 'cat' 'it''s':2A`): the number of positions, 1 for a
/// lexeme stored without positions, 0 when absent. Reading the text form
/// lets the keyword channel score a document without unnesting its
/// tsvector once per term in SQL.
pub fn tsvector_tfs(tsvector: &str, terms: &[String]) -> Vec<f64> {
    let mut tfs = vec![0.0; terms.len()];
    let mut chars = tsvector.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ').is_some() {}
        if chars.next() != Some('\'') {
            break;
        }
        let mut lexeme = String::new();
        loop {
            match chars.next() {
                Some('\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                    lexeme.push('\'');
                }
                Some('\'') | None => break,
                Some('\\') => {
                    if let Some(c) = chars.next() {
                        lexeme.push(c);
                    }
                }
                Some(c) => lexeme.push(c),
            }
        }
        let mut positions = 0usize;
        if chars.next_if(|c| *c == ':').is_some() {
            positions = 1;
            while let Some(c) = chars.next_if(|c| *c != ' ') {
                if c == ',' {
                    positions += 1;
                }
            }
        }
        if let Some(i) = terms.iter().position(|t| *t == lexeme) {
            tfs[i] = positions.max(1) as f64;
        }
    }
    tfs
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

    #[test]
    fn tsvector_term_frequencies() {
        let terms: Vec<String> = ["bike", "cat", "it's", "a\\b", "dog", "自行"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let tv = "'a\\\\b':4 'bike':3,7,9B 'cat' 'it''s':2A '自行':5,6";
        assert_eq!(tsvector_tfs(tv, &terms), vec![3.0, 1.0, 1.0, 1.0, 0.0, 2.0]);
        assert_eq!(tsvector_tfs("", &terms), vec![0.0; 6]);
    }
}
